//! Peers heard from: liveness events and heartbeat rate limiting (nomq-v1 §22.4).

use alloc::collections::BTreeMap;
use core::net::SocketAddr;

use crate::time::MonoMillis;

#[derive(Debug)]
struct Peer {
    session_id: u32,
    last_heard: MonoMillis,
    last_answer: Option<MonoMillis>,
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
        self.map.insert(addr, Peer { session_id, last_heard: now, last_answer: None });
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
