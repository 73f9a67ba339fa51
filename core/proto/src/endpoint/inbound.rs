//! Received PUBLISH ids, for duplicate and replay suppression and the receiver half of QoS 2
//! (nomq-v1 §15, §22.5, §22.9; nomq-v2 "Receiving" step 4).
//!
//! A replayed datagram carries the session id and packet id of the original (both
//! authenticated), and so does a retransmission, so `(session id, packet id)` is the key; the
//! source address is not part of it, so a replay from another address is caught too.
//!
//! Memory must not grow with the message rate. Per sender session:
//!
//! * **Sequential ids** (every v2 sender, and nomq's v1 senders, which count too: receivers
//!   treat the id as opaque): a sliding window of the last [`WINDOW`] ids as a bitmap, as in
//!   IPsec and DTLS anti-replay. Seen ids the window moves past are kept individually (in the
//!   same id budget as random ids, newest kept, forgotten two windows after they were last
//!   seen), so a late retransmission of one is recognised and answered and its sender stops.
//!   An id older than the window and not kept is refused as a possible replay; its sender (if
//!   it is a genuine late retransmission) gives up at the message's ttl and reports it
//!   unconfirmed, so nothing is lost silently.
//! * **Random ids** (reference v1 nodes, at reference rates): each id is remembered until two
//!   windows after it was last seen, when a recorded copy is refused as stale anyway.
//!
//! A *retransmission* is sealed again with a fresh timestamp, so the time window alone does not
//! make it stale: its sender retries until the message's ttl. A session that sent QoS 1 or 2
//! is therefore remembered until the longest ttl it used has passed since it was last seen
//! (and at least two windows): after a partition longer than the window, a retransmission is
//! still recognised, answered and not delivered again. A session whose
//!   ids turn out sequential ([`SEQUENTIAL_AFTER`] in a row) moves to the bitmap.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;

use crate::time::MonoMillis;

/// Ids tracked below the highest one of a sequential session.
pub(super) const WINDOW: u32 = 4096;
/// Consecutive near-sequential ids after which a session is treated as sequential. Random 32-bit
/// ids land within 64 above the previous maximum with probability 2^-26, so this never triggers
/// for them.
const SEQUENTIAL_AFTER: u8 = 16;
const WORDS: usize = (WINDOW / 64) as usize;

/// What is known of a packet id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    /// Never seen: deliver.
    New,
    /// Seen before: a retransmission or replay.
    Seen,
    /// Below a sequential session's window: cannot be told apart from a replay; refused.
    TooOld,
}

#[derive(Debug)]
struct Sequential {
    highest: u32,
    /// Bit `id % WINDOW` is set when `id` (within the window) was seen.
    bits: [u64; WORDS],
    /// Seen ids the window has moved past, with when: a late retransmission of one is
    /// recognised (and answered again) instead of refused as too old, so its sender stops.
    /// Counted in the endpoint's id budget and forgotten like random ids.
    older: BTreeMap<u32, MonoMillis>,
}

impl Sequential {
    fn new(highest: u32) -> Self {
        Sequential { highest, bits: [0; WORDS], older: BTreeMap::new() }
    }

    fn status(&self, id: u32) -> Status {
        if id > self.highest {
            Status::New
        } else if self.highest - id >= WINDOW {
            if self.older.contains_key(&id) { Status::Seen } else { Status::TooOld }
        } else if self.bits[word(id)] & bit(id) != 0 {
            Status::Seen
        } else {
            Status::New
        }
    }

    /// Marks `id` seen. Seen ids the window moves past go to `older` while `budget` (ids
    /// remembered individually, endpoint-wide) is below `cap`.
    fn mark(&mut self, id: u32, now: MonoMillis, budget: &mut usize, cap: usize) {
        if id > self.highest {
            // Slots of the ids the window moves past now stand for new ids: the seen ones are
            // kept in `older`, then the slots cleared.
            for k in 1..=(id - self.highest).min(WINDOW) {
                let new = self.highest.wrapping_add(k);
                if self.bits[word(new)] & bit(new) != 0 {
                    if *budget < cap {
                        *budget += 1;
                    } else if self.older.pop_first().is_none() {
                        // The budget is used by other senders: this id is forgotten.
                        self.bits[word(new)] &= !bit(new);
                        continue;
                    }
                    // Full: the oldest of this sender's makes room for the newer.
                    self.older.insert(new.wrapping_sub(WINDOW), now);
                    self.bits[word(new)] &= !bit(new);
                }
            }
            self.highest = id;
        }
        self.bits[word(id)] |= bit(id);
    }
}

fn word(id: u32) -> usize {
    ((id % WINDOW) / 64) as usize
}

fn bit(id: u32) -> u64 {
    1 << (id % 64)
}

#[derive(Debug, Default)]
struct Session {
    last_seen: MonoMillis,
    /// How long after `last_seen` the session and its ids are kept: the longest retransmission
    /// horizon (ttl) its packets announced; the prune horizon when longer.
    keep_ms: u64,
    /// Boxed: the 512-byte window would otherwise sit inline in every slot of the sessions
    /// map's nodes (a B-tree node has room for 11), costing a firmware endpoint 6.6 KB for
    /// its first sender.
    sequential: Option<Box<Sequential>>,
    /// Random-id mode: id → last seen.
    ids: BTreeMap<u32, MonoMillis>,
    highest: u32,
    run: u8,
}

/// The duplicate cache of an endpoint.
#[derive(Debug, Default)]
pub(super) struct Inbound {
    sessions: BTreeMap<u32, Session>,
    /// Ids remembered in random-id mode, across sessions (bounded by `max_inbound`).
    random_ids: usize,
    /// QoS 2 messages delivered and answered with PUBREC, awaiting PUBREL: (session, id) → last
    /// seen, and how long to keep it after (the message's ttl).
    awaiting_release: BTreeMap<(u32, u32), (MonoMillis, u64)>,
}

/// Bounds of the cache.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub(super) sessions: usize,
    pub(super) ids: usize,
}

impl Inbound {
    pub(super) fn status(&self, session_id: u32, packet_id: u32) -> Status {
        let Some(s) = self.sessions.get(&session_id) else { return Status::New };
        match &s.sequential {
            Some(seq) => seq.status(packet_id),
            None if s.ids.contains_key(&packet_id) => Status::Seen,
            None => Status::New,
        }
    }

    /// Refreshes what a duplicate sighting keeps alive.
    pub(super) fn touch(&mut self, session_id: u32, packet_id: u32, now: MonoMillis) {
        if let Some(s) = self.sessions.get_mut(&session_id) {
            s.last_seen = now;
            if let Some(t) = s.ids.get_mut(&packet_id) {
                *t = now;
            }
            if let Some(t) = s.sequential.as_mut().and_then(|q| q.older.get_mut(&packet_id)) {
                *t = now;
            }
        }
        if let Some((t, _)) = self.awaiting_release.get_mut(&(session_id, packet_id)) {
            *t = now;
        }
    }

    /// Records a new id; false (and nothing recorded) when a bound forbids it, in which case
    /// the packet must be refused unanswered. `keep_ms`: how long its sender may retransmit it
    /// (the ttl of a QoS 1/2 PUBLISH, 0 otherwise); the session is kept at least that long
    /// after it was last seen.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn accept(
        &mut self,
        session_id: u32,
        packet_id: u32,
        now: MonoMillis,
        keep_ms: u64,
        qos2: bool,
        sequential: bool,
        limits: Limits,
    ) -> bool {
        if qos2 && self.awaiting_release.len() >= limits.ids {
            return false;
        }
        let known = self.sessions.contains_key(&session_id);
        if !known && self.sessions.len() >= limits.sessions {
            return false;
        }
        let random_ids = &mut self.random_ids;
        let s = self.sessions.entry(session_id).or_default();
        if s.sequential.is_none() && sequential {
            s.sequential = Some(Box::new(Sequential::new(packet_id)));
        }
        match &mut s.sequential {
            Some(seq) => seq.mark(packet_id, now, random_ids, limits.ids),
            None => {
                if *random_ids >= limits.ids {
                    if !known {
                        self.sessions.remove(&session_id);
                    }
                    return false;
                }
                // Near-sequential ids move the session to the bitmap (see the module docs).
                let near = packet_id > s.highest && packet_id - s.highest <= 64;
                s.run = if near || s.ids.is_empty() { s.run.saturating_add(1) } else { 0 };
                s.highest = s.highest.max(packet_id);
                s.ids.insert(packet_id, now);
                *random_ids += 1;
                if s.run >= SEQUENTIAL_AFTER {
                    let mut seq = Box::new(Sequential::new(s.highest));
                    *random_ids -= s.ids.len();
                    for id in s.ids.keys().copied().filter(|id| s.highest - id < WINDOW) {
                        seq.mark(id, now, random_ids, limits.ids);
                    }
                    s.ids.clear();
                    s.sequential = Some(seq);
                }
            }
        }
        s.last_seen = now;
        s.keep_ms = s.keep_ms.max(keep_ms);
        if qos2 {
            self.awaiting_release.insert((session_id, packet_id), (now, keep_ms));
        }
        true
    }

    /// QoS 2 receiver state of a seen id: true while PUBREL has not arrived.
    pub(super) fn awaiting_release(&self, session_id: u32, packet_id: u32) -> bool {
        self.awaiting_release.contains_key(&(session_id, packet_id))
    }

    /// PUBREL arrived: the message is released (v1 §11).
    pub(super) fn release(&mut self, session_id: u32, packet_id: u32) {
        self.awaiting_release.remove(&(session_id, packet_id));
    }

    /// Forgets what was not seen for `horizon_ms`, or for its session's retransmission horizon
    /// when longer.
    pub(super) fn prune(&mut self, now: MonoMillis, horizon_ms: u64) {
        let random_ids = &mut self.random_ids;
        self.sessions.retain(|_, s| {
            let keep = horizon_ms.max(s.keep_ms);
            let fresh = |t: &MonoMillis| now.saturating_since(*t) <= keep;
            let before = s.ids.len();
            s.ids.retain(|_, t| fresh(t));
            *random_ids -= before - s.ids.len();
            if let Some(seq) = &mut s.sequential {
                let before = seq.older.len();
                seq.older.retain(|_, t| fresh(t));
                *random_ids -= before - seq.older.len();
            }
            if fresh(&s.last_seen) {
                true
            } else {
                *random_ids -= s.ids.len() + s.sequential.as_ref().map_or(0, |q| q.older.len());
                false
            }
        });
        self.awaiting_release.retain(|_, (t, keep)| now.saturating_since(*t) <= horizon_ms.max(*keep));
    }

    /// Entries held: sessions, random-mode ids and QoS 2 states.
    pub(super) fn len(&self) -> usize {
        self.sessions.len() + self.random_ids + self.awaiting_release.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { sessions: 8, ids: 1000 };

    #[test]
    fn sequential_window_detects_duplicates_and_refuses_the_too_old() {
        let mut inb = Inbound::default();
        for id in 1..=10_000u32 {
            assert_eq!(inb.status(7, id), Status::New);
            assert!(inb.accept(7, id, MonoMillis(1), 0, false, true, LIMITS));
        }
        assert_eq!(inb.status(7, 10_000), Status::Seen);
        assert_eq!(inb.status(7, 10_000 - WINDOW + 1), Status::Seen);
        // Below the window, the newest seen ids are still known, as far as the id budget
        // (1000 here) goes: a late retransmission is answered, not refused.
        assert_eq!(inb.status(7, 10_000 - WINDOW), Status::Seen);
        assert_eq!(inb.status(7, 10_000 - WINDOW - 999), Status::Seen);
        assert_eq!(inb.status(7, 10_000 - WINDOW - 1000), Status::TooOld);
        assert_eq!(inb.status(7, 1), Status::TooOld);
        assert_eq!(inb.status(7, 10_001), Status::New);
        // Out of order within the window: a gap stays New until it arrives.
        assert!(inb.accept(7, 10_005, MonoMillis(1), 0, false, true, LIMITS));
        assert_eq!(inb.status(7, 10_003), Status::New);
        assert!(inb.accept(7, 10_003, MonoMillis(1), 0, false, true, LIMITS));
        assert_eq!(inb.status(7, 10_003), Status::Seen);
        assert_eq!(inb.len(), 1 + 1000, "one session and the id budget: bounded memory");
        // Forgotten like random ids, two windows after they were last seen.
        inb.prune(MonoMillis(1 + 60_001), 60_000);
        assert_eq!(inb.len(), 0);
    }

    #[test]
    fn random_ids_are_remembered_individually_and_bounded() {
        let mut inb = Inbound::default();
        let mut x = 0x1234_5678u32;
        let mut ids = alloc::vec::Vec::new();
        for _ in 0..1000 {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ids.push(x);
            assert!(inb.accept(9, x, MonoMillis(5), 0, false, false, LIMITS));
        }
        assert!(ids.iter().all(|id| inb.status(9, *id) == Status::Seen));
        assert!(
            !inb.accept(9, 42, MonoMillis(5), 0, false, false, LIMITS),
            "full: refused, nothing forgotten"
        );
        // A new session refused for lack of room leaves nothing behind, whatever the clock reads.
        assert!(!inb.accept(10, 42, MonoMillis(0), 0, false, false, LIMITS));
        assert_eq!(inb.sessions.len(), 1);
        inb.prune(MonoMillis(5 + 60_001), 60_000);
        assert_eq!(inb.len(), 0);
    }

    #[test]
    fn a_counting_v1_sender_moves_to_the_bitmap() {
        let mut inb = Inbound::default();
        for id in 500..(500 + u32::from(SEQUENTIAL_AFTER)) {
            assert!(inb.accept(3, id, MonoMillis(1), 0, false, false, LIMITS));
        }
        assert_eq!(inb.random_ids, 0, "ids moved into the bitmap");
        assert_eq!(inb.status(3, 500), Status::Seen);
        for id in 600..5000 {
            assert!(inb.accept(3, id, MonoMillis(1), 0, false, false, LIMITS));
        }
        // The session, and the ids below the window within the budget.
        assert!(inb.len() <= 1 + LIMITS.ids);
    }

    #[test]
    fn qos2_state_until_release_and_session_bound() {
        let mut inb = Inbound::default();
        assert!(inb.accept(1, 5, MonoMillis(1), 0, true, true, LIMITS));
        assert!(inb.awaiting_release(1, 5));
        inb.release(1, 5);
        assert!(!inb.awaiting_release(1, 5));
        assert_eq!(inb.status(1, 5), Status::Seen);
        for s in 2..=8 {
            assert!(inb.accept(s, 1, MonoMillis(1), 0, false, true, LIMITS));
        }
        assert!(!inb.accept(99, 1, MonoMillis(1), 0, false, true, LIMITS), "session table full");
    }
}
