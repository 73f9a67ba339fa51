//! Endpoint settings: protocol version, timers and the bound of every table (each configurable;
//! a full table refuses and reports, never grows).

use crate::frame::{DEFAULT_WINDOW_MS, InnerLayout, Version};

/// Largest v1 message text a reference node can receive: its 2048-byte receive buffer minus the
/// framing (nomq-v1 §17, §22.15).
pub const V1_MAX_TEXT: usize = 1919;

/// Largest v2 payload: one UDP datagram over IPv4 (65,507 bytes) minus the 89-byte overhead and
/// one padding block.
pub const V2_MAX_PAYLOAD: usize = 65_507 - 89 - 16;

/// How an [`Endpoint`](super::Endpoint) behaves. `EndpointConfig::new(version)` gives sensible
/// defaults; every field may be changed before the endpoint is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// Wire version (v1 talks to existing devices; v2 is the secure successor).
    pub version: Version,
    /// Timestamp acceptance window, ± milliseconds (v1 §9.1: 30 s).
    pub window_ms: u64,
    /// First retransmission delay of an unconfirmed PUBLISH or PUBREL.
    pub initial_retry_ms: u64,
    /// Cap of the exponential backoff. Kept below the window so a receiver still remembers the
    /// packet id of a retransmission (duplicate suppression).
    pub max_retry_ms: u64,
    /// Largest payload accepted by `publish` (v1: bytes of UTF-8 text), and by the receive
    /// path, whose buffer it sizes: a datagram too large to carry such a payload is refused
    /// (`rejected_malformed`). Firmware keeps it small; the host default is the version's limit.
    pub max_payload: usize,
    /// QoS 1/2 publishes awaiting confirmation; `publish` fails beyond it.
    pub max_pending: usize,
    /// Packet ids remembered individually for duplicate and replay suppression (senders with
    /// random ids, like reference nodes; sequential senders cost a fixed 512-byte window each),
    /// and QoS 2 messages awaiting PUBREL. When full, new PUBLISH packets are refused
    /// unanswered (the sender retries) rather than forgetting an entry, which would reopen the
    /// replay hole (§22.9).
    pub max_inbound: usize,
    /// Sender sessions tracked by the duplicate cache (each forgotten two windows after its
    /// last packet); a new session beyond it is refused until one ages out.
    pub max_sessions: usize,
    /// Local channel subscriptions.
    pub max_subscriptions: usize,
    /// Retained messages kept per channel (oldest evicted with an event).
    pub max_retained_per_channel: usize,
    /// Channels with retained messages (the oldest channel is evicted with an event).
    pub max_retained_channels: usize,
    /// Peers tracked for liveness and heartbeat rate limiting (least recently heard evicted).
    pub max_peers: usize,
    /// Undelivered events. When full, new PUBLISH packets are refused unanswered, so the
    /// application's slowness turns into retransmissions, never into lost messages; and while
    /// this many publish outcomes and peer events are unread, `publish` fails with
    /// `Full(Events)`.
    pub max_events: usize,
    /// Payload bytes of undelivered messages. Past it new PUBLISH packets are refused
    /// unanswered, as past `max_events` (one message larger than it still goes, alone).
    pub max_event_bytes: usize,
    /// Queued outgoing datagrams; replies beyond it are dropped (the peer retransmits).
    pub max_transmits: usize,
    /// A heartbeat from a peer is answered at most once per interval (v1 §22.4, v2 "Exchanges").
    pub heartbeat_interval_ms: u64,
    /// A peer not heard from for this long is reported lost.
    pub peer_timeout_ms: u64,
    /// v1 only: where PUBLISH texts sit (§22.1). `ReferenceListener` lets unmodified reference
    /// listeners deliver our messages; every nomq receiver accepts both.
    pub inner_layout: InnerLayout,
}

impl EndpointConfig {
    /// Defaults for `version`.
    pub fn new(version: Version) -> Self {
        EndpointConfig {
            version,
            window_ms: DEFAULT_WINDOW_MS,
            initial_retry_ms: 200,
            max_retry_ms: 8_000,
            max_payload: match version {
                Version::V1 => V1_MAX_TEXT,
                Version::V2 => V2_MAX_PAYLOAD,
            },
            max_pending: 1024,
            max_inbound: 16_384,
            max_sessions: 1024,
            max_subscriptions: 256,
            max_retained_per_channel: 5,
            max_retained_channels: 64,
            max_peers: 1024,
            max_events: 4096,
            max_event_bytes: 4 << 20,
            max_transmits: 4096,
            heartbeat_interval_ms: 30_000,
            peer_timeout_ms: 90_000,
            inner_layout: InnerLayout::Standard,
        }
    }

    /// Checks every value before an endpoint uses it, with the option's name and its rule:
    /// zero bounds, a payload limit over what the version can carry, timers of zero or over a
    /// day, or a retry cap the receiver's window would forget are refused.
    pub fn validate(&self) -> Result<(), crate::error::OptionError> {
        const DAY_MS: u64 = 86_400_000;
        let fail = |name, rule| Err(crate::error::OptionError { name, rule });
        let largest = match self.version {
            Version::V1 => V1_MAX_TEXT,
            Version::V2 => V2_MAX_PAYLOAD,
        };
        if self.max_payload == 0 || self.max_payload > largest {
            return fail("max_payload", "must be between 1 and what the version carries (v1 1919, v2 65402)");
        }
        if !(1..=DAY_MS).contains(&self.window_ms) {
            return fail("window_ms", "must be between 1 ms and one day");
        }
        if self.initial_retry_ms == 0 || self.initial_retry_ms > self.max_retry_ms {
            return fail("initial_retry_ms", "must be at least 1 ms and at most max_retry_ms");
        }
        if self.max_retry_ms >= self.window_ms {
            return fail("max_retry_ms", "must be below window_ms (receivers forget ids after the window)");
        }
        if !(1..=DAY_MS).contains(&self.heartbeat_interval_ms)
            || !(1..=DAY_MS).contains(&self.peer_timeout_ms)
        {
            return fail(
                "peer_timeout_ms",
                "heartbeat_interval_ms and peer_timeout_ms must be between 1 ms and one day",
            );
        }
        let bounds = [
            ("max_pending", self.max_pending),
            ("max_inbound", self.max_inbound),
            ("max_sessions", self.max_sessions),
            ("max_subscriptions", self.max_subscriptions),
            ("max_retained_channels", self.max_retained_channels),
            ("max_peers", self.max_peers),
            ("max_events", self.max_events),
            ("max_event_bytes", self.max_event_bytes),
            ("max_transmits", self.max_transmits),
        ];
        for (name, value) in bounds {
            if value == 0 {
                return fail(name, "must be at least 1");
            }
        }
        Ok(())
    }
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig::new(Version::V1)
    }
}

#[cfg(test)]
mod tests {
    use super::{EndpointConfig, Version};

    #[test]
    fn defaults_are_valid_and_zero_bounds_are_not() {
        for v in [Version::V1, Version::V2] {
            assert_eq!(EndpointConfig::new(v).validate(), Ok(()));
            let mut c = EndpointConfig::new(v);
            c.max_pending = 0;
            assert_eq!(c.validate().unwrap_err().name, "max_pending");
            let mut c = EndpointConfig::new(v);
            c.max_payload = 70_000;
            assert_eq!(c.validate().unwrap_err().name, "max_payload");
            let mut c = EndpointConfig::new(v);
            c.max_retry_ms = c.window_ms;
            assert_eq!(c.validate().unwrap_err().name, "max_retry_ms");
        }
    }
}
