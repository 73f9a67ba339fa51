//! Time as the sans-IO cores take it: two clocks, as two types, so that the compiler keeps them
//! apart.
//!
//! - [`UnixMillis`] is wall-clock time, milliseconds since the Unix epoch. NoMQ packets carry
//!   it (the v1 and v2 timestamp fields) and receivers check it against their own (the
//!   acceptance window). It is only meaningful when the clocks of both peers are set (NTP,
//!   SNTP, an RTC), and it may jump when they are.
//! - [`MonoMillis`] is monotonic time, milliseconds since an arbitrary origin (boot, process
//!   start): only differences matter, and it never goes back. Every timer runs on it:
//!   retransmissions, expiry, housekeeping, `poll_timeout`/`handle_timeout`.
//!
//! [`Now`] carries a reading of both, for the calls that need both.
//!
//! The core never reads a clock: the driver does (`SystemTime` and `Instant` in Rust,
//! `clock_gettime(CLOCK_REALTIME)` and `clock_gettime(CLOCK_MONOTONIC)` in C, `gettimeofday`
//! and `esp_timer_get_time` on ESP-IDF) and passes the readings in.

/// Wall-clock time: milliseconds since the Unix epoch (1970-01-01T00:00:00Z). What NoMQ
/// packets carry; never used for timers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub u64);

/// Monotonic time: milliseconds since an arbitrary origin fixed for the life of the caller's
/// clock. What every timer runs on; never sealed into a packet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonoMillis(pub u64);

impl MonoMillis {
    /// `ms` milliseconds later, saturating at `u64::MAX` (a deadline that never comes).
    #[must_use]
    pub const fn saturating_add(self, ms: u64) -> MonoMillis {
        MonoMillis(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self`; 0 when `earlier` is not earlier.
    #[must_use]
    pub const fn saturating_since(self, earlier: MonoMillis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Both clocks, read at the same moment, for the calls that use both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Now {
    /// Wall-clock time, for packet timestamps and their acceptance window.
    pub unix: UnixMillis,
    /// Monotonic time, for timers.
    pub mono: MonoMillis,
}

impl Now {
    /// A reading of both clocks.
    pub const fn new(unix: UnixMillis, mono: MonoMillis) -> Now {
        Now { unix, mono }
    }
}
