//! Messages waiting to be sent (bounded, with a policy) and QoS 1/2 messages in flight.

use alloc::collections::{BTreeMap, VecDeque};

use super::config::Message;
use super::event::PublishId;

/// A message waiting for a connection and a free slot of the server's Receive Maximum.
#[derive(Debug)]
pub(super) struct Queued {
    pub(super) id: PublishId,
    pub(super) message: Message,
    /// When it entered the outbox (for the message expiry interval).
    pub(super) since: u64,
}

/// Where an inflight message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// QoS 1, PUBLISH written, waiting for PUBACK.
    Ack,
    /// QoS 2, PUBLISH written, waiting for PUBREC.
    Rec,
    /// QoS 2, PUBREL written, waiting for PUBCOMP.
    Comp,
}

#[derive(Debug)]
pub(super) struct Inflight {
    pub(super) id: PublishId,
    pub(super) message: Message,
    pub(super) stage: Stage,
    /// Order in which it was first written: resent in that order after a reconnect.
    pub(super) sequence: u64,
}

#[derive(Debug, Default)]
pub(super) struct Outbox {
    pub(super) queue: VecDeque<Queued>,
    pub(super) bytes: usize,
    /// By packet id.
    pub(super) inflight: BTreeMap<u16, Inflight>,
    next_packet_id: u16,
}

impl Outbox {
    pub(super) fn push_back(&mut self, q: Queued) {
        self.bytes += q.message.size();
        self.queue.push_back(q);
    }

    pub(super) fn push_front(&mut self, q: Queued) {
        self.bytes += q.message.size();
        self.queue.push_front(q);
    }

    pub(super) fn pop_front(&mut self) -> Option<Queued> {
        let q = self.queue.pop_front()?;
        self.bytes -= q.message.size();
        Some(q)
    }

    /// A packet id not used by an inflight message nor by `busy` (pending SUBSCRIBE and
    /// UNSUBSCRIBE ids). Ids are 1..=65535 (§2.2.1).
    pub(super) fn packet_id(&mut self, busy: impl Fn(u16) -> bool) -> Option<u16> {
        for _ in 0..u16::MAX {
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            let id = self.next_packet_id;
            if !self.inflight.contains_key(&id) && !busy(id) {
                return Some(id);
            }
        }
        None
    }
}
