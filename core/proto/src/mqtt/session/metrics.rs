//! Counters and gauges of a client session, readable at any time (`Session::metrics`).

/// Session metrics: counters since creation, gauges of the current state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Metrics {
    /// PUBLISH packets written (retransmissions included).
    pub sent: u64,
    /// PUBLISH packets received and delivered.
    pub received: u64,
    /// PUBLISH and PUBREL packets resent after a reconnect.
    pub retransmitted: u64,
    /// Successful connections after the first.
    pub reconnects: u64,
    /// Messages dropped by the outbox policy or expired while queued.
    pub dropped: u64,
    /// Duplicate QoS 2 PUBLISH packets suppressed.
    pub duplicates: u64,
    /// Gauge: QoS 1/2 publishes written and not yet confirmed.
    pub inflight: usize,
    /// Gauge: messages waiting in the outbox.
    pub queued_messages: usize,
    /// Gauge: bytes waiting in the outbox.
    pub queued_bytes: usize,
}
