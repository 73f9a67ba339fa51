//! Received PUBLISH packets, remembered by (session id, packet id) for duplicate and replay
//! suppression and for the receiver half of QoS 2 (nomq-v1 §15, §22.5, §22.9; v2 "Receiving" 4).
//!
//! One mechanism serves both versions: a replayed datagram carries the same session id and
//! packet id as the original (both authenticated), and so does a retransmission. The address is
//! not part of the key, so a replay from another address is caught too. An entry lives until
//! two windows after its last sighting: by then a replayed copy is refused as stale, and a
//! retransmitting sender (whose backoff is capped below the window) has stopped.

use alloc::collections::BTreeMap;

/// Receiver state of a remembered PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// Delivered (QoS 0/1, or QoS 2 after PUBREL).
    Delivered,
    /// QoS 2: delivered and PUBREC sent; waiting for PUBREL.
    AwaitRel,
}

#[derive(Debug)]
pub(super) struct Entry {
    pub(super) state: Seen,
    pub(super) last_seen: u64,
}

#[derive(Debug, Default)]
pub(super) struct Inbound {
    entries: BTreeMap<(u32, u32), Entry>,
}

impl Inbound {
    pub(super) fn get_mut(&mut self, session_id: u32, packet_id: u32) -> Option<&mut Entry> {
        self.entries.get_mut(&(session_id, packet_id))
    }

    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(super) fn insert(&mut self, session_id: u32, packet_id: u32, entry: Entry) {
        self.entries.insert((session_id, packet_id), entry);
    }

    /// Forgets entries not seen for `horizon_ms`.
    pub(super) fn prune(&mut self, now: u64, horizon_ms: u64) {
        self.entries.retain(|_, e| now.saturating_sub(e.last_seen) <= horizon_ms);
    }
}
