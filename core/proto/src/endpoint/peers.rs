//! Peers heard from: liveness events and heartbeat rate limiting (nomq-v1 §22.4).

use alloc::collections::BTreeMap;
use core::net::SocketAddr;

use crate::time::MonoMillis;

/// Answers a peer may draw per [`BUDGET_PERIOD_MS`] beyond the one-for-one replies of new
/// packets: PUBCOMPs repeated for PUBRELs of already-released messages (the first PUBCOMP was
/// lost, v1 §22.5), and SUBSCRIBEs answered with retained messages. A genuine peer needs a few;
/// a stream of recorded packets replayed with a victim's source address gets no more.
pub(super) const ANSWER_BUDGET: u16 = 32;
/// The budget's refill period.
pub(super) const BUDGET_PERIOD_MS: u64 = 1_000;

/// What a budgeted answer is for (each has its own budget).
#[derive(Debug, Clone, Copy)]
pub(super) enum Budget {
    RepeatedPubComp,
    Retained,
}

#[derive(Debug)]
struct Peer {
    session_id: u32,
    last_heard: MonoMillis,
    last_answer: Option<MonoMillis>,
    /// Answers drawn in the current period, per [`Budget`], and when that period began.
    drawn: [u16; 2],
    period_start: MonoMillis,
}

/// What hearing from a peer changed.
#[derive(Debug, Default)]
pub(super) struct Heard {
    /// New peer, or a known one with a new session (it restarted).
    pub(super) alive: bool,
    /// The least recently heard peer, forgotten to make room.
    pub(super) evicted: Option<SocketAddr>,
}

#[derive(Debug, Default)]
pub(super) struct Peers {
    map: BTreeMap<SocketAddr, Peer>,
}

impl Peers {
    pub(super) fn heard(&mut self, addr: SocketAddr, session_id: u32, now: MonoMillis, max: usize) -> Heard {
        if let Some(p) = self.map.get_mut(&addr) {
            let restarted = p.session_id != session_id;
            p.session_id = session_id;
            p.last_heard = now;
            return Heard { alive: restarted, evicted: None };
        }
        let mut evicted = None;
        if self.map.len() >= max.max(1) {
            if let Some(oldest) = self.map.iter().min_by_key(|(_, p)| p.last_heard).map(|(a, _)| *a) {
                self.map.remove(&oldest);
                evicted = Some(oldest);
            }
        }
        self.map.insert(
            addr,
            Peer { session_id, last_heard: now, last_answer: None, drawn: [0; 2], period_start: now },
        );
        Heard { alive: true, evicted }
    }

    /// True (and recorded) when a heartbeat from `addr` may be answered now: at most once per
    /// `interval_ms` per peer, so two nodes can never ping-pong.
    pub(super) fn may_answer(&mut self, addr: SocketAddr, now: MonoMillis, interval_ms: u64) -> bool {
        let Some(p) = self.map.get_mut(&addr) else {
            return false;
        };
        if p.last_answer.is_some_and(|t| now.saturating_since(t) < interval_ms) {
            return false;
        }
        p.last_answer = Some(now);
        true
    }

    /// True (and counted) when `addr` has budget left for one more answer of `kind` this
    /// period (see [`ANSWER_BUDGET`]).
    pub(super) fn may_draw(&mut self, addr: SocketAddr, now: MonoMillis, kind: Budget) -> bool {
        let Some(p) = self.map.get_mut(&addr) else {
            return false;
        };
        if now.saturating_since(p.period_start) >= BUDGET_PERIOD_MS {
            p.period_start = now;
            p.drawn = [0; 2];
        }
        let drawn = &mut p.drawn[kind as usize];
        if *drawn >= ANSWER_BUDGET {
            return false;
        }
        *drawn += 1;
        true
    }

    /// Removes peers silent for `timeout_ms`, reporting each through `lost`.
    pub(super) fn expire(&mut self, now: MonoMillis, timeout_ms: u64, mut lost: impl FnMut(SocketAddr)) {
        self.map.retain(|addr, p| {
            let keep = now.saturating_since(p.last_heard) < timeout_ms;
            if !keep {
                lost(*addr);
            }
            keep
        });
    }

    pub(super) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}
