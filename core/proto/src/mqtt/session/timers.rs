//! The session's timers in one table: each is a deadline on the caller's monotonic clock or
//! unset, and `poll_timeout` is the earliest. Firing one is `Session::handle_timeout`'s work.

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Timer {
    /// Waiting to reconnect: when it fires the session asks for a transport
    /// ([`super::Event::OpenTransport`]). Armed with the backoff after a connection ends.
    Reconnect,
    /// From asking for a transport (or writing CONNECT) to CONNACK: past it, the attempt is
    /// abandoned ([`super::Disconnect::ConnectTimeout`]).
    Connect,
    /// The keep alive since our last packet: PINGREQ is due (MQTT 5.0 §3.1.2.10).
    KeepAlive,
    /// PINGREQ written, PINGRESP not yet received: past it the connection is dead.
    PingResponse,
}

impl Timer {
    const ALL: [Timer; 4] = [Timer::Reconnect, Timer::Connect, Timer::KeepAlive, Timer::PingResponse];
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Default)]
pub(super) struct Timers([Option<u64>; 4]);

impl Timers {
    /// Arms `timer` for `after_ms` from `now`. Saturating: an absurd duration from a caller's
    /// configuration (or a clock near its end) means "never", not a deadline wrapped into the
    /// past that would fire at once, over and over.
    pub(super) fn arm(&mut self, timer: Timer, now: u64, after_ms: u64) {
        self.0[timer as usize] = Some(now.saturating_add(after_ms));
    }

    pub(super) fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }

    pub(super) fn get(&self, timer: Timer) -> Option<u64> {
        self.0[timer as usize]
    }

    /// Whether `timer` is armed and due at `now`.
    pub(super) fn expired(&self, timer: Timer, now: u64) -> bool {
        self.get(timer).is_some_and(|at| at <= now)
    }

    /// The earliest deadline.
    pub(super) fn next(&self) -> Option<u64> {
        self.0.iter().flatten().copied().min()
    }

    /// Stops every timer of a connection (all but `Reconnect`).
    pub(super) fn stop_connection(&mut self) {
        for t in Timer::ALL {
            if t != Timer::Reconnect {
                self.stop(t);
            }
        }
    }
}

/// Reconnection backoff: the delay before attempt `n` is drawn uniformly from 0 to
/// `min(max, initial * 2^n)` ("full jitter"), so a fleet that lost its broker spreads its
/// reconnects instead of arriving in waves. `n` counts attempts since the last connection
/// that stayed up for the stable period, so a server that accepts and then drops connections
/// sees them spaced ever wider, not one every few milliseconds.
#[derive(Debug, Clone, Default)]
pub(super) struct Backoff {
    /// Attempts since the last stable connection.
    pub(super) attempt: u32,
}

impl Backoff {
    /// The ceiling for the next attempt.
    pub(super) fn ceiling(&self, initial_ms: u64, max_ms: u64) -> u64 {
        initial_ms.saturating_mul(1u64 << self.attempt.min(32)).min(max_ms)
    }

    /// The delay before the next attempt from 32 random bits, and counts the attempt.
    pub(super) fn next_delay(&mut self, initial_ms: u64, max_ms: u64, random: u32) -> u64 {
        let ceiling = self.ceiling(initial_ms, max_ms);
        self.attempt = self.attempt.saturating_add(1);
        // A uniform draw from 0..=ceiling: (ceiling + 1) * r / 2^32, without division.
        (((u128::from(ceiling) + 1) * u128::from(random)) >> 32) as u64
    }
}
