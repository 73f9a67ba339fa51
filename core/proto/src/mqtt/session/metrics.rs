//! Counters and gauges of a client session, readable at any time (`Session::metrics`).

/// Session metrics: counters since creation, gauges of the current state. `#[repr(C)]`: the
/// C header's `nomq_mqtt_metrics`.
#[repr(C)]
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

impl Metrics {
    /// Every counter and gauge with its name, in declaration order: bindings list them from
    /// here (the Python metrics dict), so none is forgotten.
    pub fn fields(&self) -> [(&'static str, u64); 9] {
        [
            ("sent", self.sent),
            ("received", self.received),
            ("retransmitted", self.retransmitted),
            ("reconnects", self.reconnects),
            ("dropped", self.dropped),
            ("duplicates", self.duplicates),
            ("inflight", self.inflight as u64),
            ("queued_messages", self.queued_messages as u64),
            ("queued_bytes", self.queued_bytes as u64),
        ]
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    #[test]
    fn fields_name_every_metric() {
        let fields = super::Metrics::default().fields();
        assert_eq!(fields.len() * 8, core::mem::size_of::<super::Metrics>());
    }
}
