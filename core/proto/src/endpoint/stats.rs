//! Counters an endpoint keeps; read them at any time with `Endpoint::stats`.

/// Endpoint counters since creation. `#[repr(C)]`: the C header's `nomq_endpoint_stats`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams handed to `handle_datagram`.
    pub datagrams_in: u64,
    /// Datagrams produced by `poll_transmit`.
    pub datagrams_out: u64,
    /// Refused: not a well-formed packet.
    pub rejected_malformed: u64,
    /// Refused: another protocol version.
    pub rejected_version: u64,
    /// Refused: authentication or padding failure (wrong keys, tampering, corruption).
    pub rejected_auth: u64,
    /// Refused: timestamp outside the window (replay or clock skew).
    pub rejected_stale: u64,
    /// Authentic PUBLISH on a channel not subscribed here (dropped, not answered).
    pub unknown_channel: u64,
    /// Authentic but invalid content (QoS 3, bad inner header, bad channel name).
    pub invalid: u64,
    /// Duplicates and replays suppressed (answered again where QoS asks for it).
    pub duplicates: u64,
    /// PUBLISH ids below a sequential sender's replay window: refused as possible replays.
    pub too_old: u64,
    /// Messages delivered to the application.
    pub delivered: u64,
    /// PUBLISH packets refused unanswered because a bound was reached.
    pub refused_full: u64,
    /// `publish` calls accepted.
    pub published: u64,
    /// Retransmissions of PUBLISH and PUBREL.
    pub retransmitted: u64,
    /// QoS 1/2 publishes confirmed.
    pub confirmed: u64,
    /// Publishes whose ttl ran out unconfirmed.
    pub expired: u64,
    /// Confirmations matching nothing pending (late duplicates, or for another node).
    pub unmatched_replies: u64,
    /// Heartbeats answered.
    pub heartbeats_answered: u64,
    /// Informational events (peer liveness, evictions) not queued because the event queue
    /// was full.
    pub events_discarded: u64,
    /// Answers not sent because the peer used up its answer budget: repeated PUBRELs and
    /// SUBSCRIBEs with retained messages, past the per-peer rate (replies to recorded packets
    /// replayed with a victim's source address stay small and rare).
    pub answers_limited: u64,
}

impl Stats {
    /// Every counter with its name, in declaration order: bindings list them from here (the
    /// Python stats dict), so none is forgotten.
    pub fn fields(&self) -> [(&'static str, u64); 20] {
        [
            ("datagrams_in", self.datagrams_in),
            ("datagrams_out", self.datagrams_out),
            ("rejected_malformed", self.rejected_malformed),
            ("rejected_version", self.rejected_version),
            ("rejected_auth", self.rejected_auth),
            ("rejected_stale", self.rejected_stale),
            ("unknown_channel", self.unknown_channel),
            ("invalid", self.invalid),
            ("duplicates", self.duplicates),
            ("too_old", self.too_old),
            ("delivered", self.delivered),
            ("refused_full", self.refused_full),
            ("published", self.published),
            ("retransmitted", self.retransmitted),
            ("confirmed", self.confirmed),
            ("expired", self.expired),
            ("unmatched_replies", self.unmatched_replies),
            ("heartbeats_answered", self.heartbeats_answered),
            ("events_discarded", self.events_discarded),
            ("answers_limited", self.answers_limited),
        ]
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_name_every_counter() {
        let fields = super::Stats::default().fields();
        assert_eq!(fields.len() * 8, core::mem::size_of::<super::Stats>());
    }
}
