//! Timers: retransmission and expiry of tracked publishes, and table housekeeping.

use super::event::{Dropped, Event, PublishOutcome};
use super::transmit::Outgoing;
use super::{Endpoint, HOUSEKEEPING_MS};
use crate::time::MonoMillis;

impl Endpoint {
    /// When `handle_timeout` should next be called, on the monotonic clock, if anything is
    /// scheduled. Inputs and mutators may move it: read it again after each.
    pub fn poll_timeout(&self) -> Option<MonoMillis> {
        let housekeeping = (!self.inbound_is_idle()).then_some(self.next_housekeeping);
        match (self.outbound.next_deadline(), housekeeping) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs what is due at `now` (monotonic): retransmissions (exponential backoff with
    /// jitter), expiry of publishes whose ttl ran out, and housekeeping of the bounded tables.
    /// Early or repeated calls are harmless: only what is due runs.
    pub fn handle_timeout(&mut self, now: MonoMillis) {
        let due: alloc::vec::Vec<u32> = self
            .outbound
            .entries
            .iter()
            .filter(|(_, p)| p.next_retry <= now || p.expires_at <= now)
            .map(|(id, _)| *id)
            .collect();
        for packet_id in due {
            let delay_random = self.random.next_u32();
            let Some(p) = self.outbound.entries.get_mut(&packet_id) else {
                continue;
            };
            if p.expires_at <= now {
                let id = p.id;
                self.outbound.entries.remove(&packet_id);
                self.stats.expired += 1;
                self.events.push_back(Event::PublishDone { id, outcome: PublishOutcome::Expired });
                continue;
            }
            p.retries += 1;
            let delay = super::outbound::retry_delay(
                self.config.initial_retry_ms,
                self.config.max_retry_ms,
                p.retries,
                delay_random,
            );
            p.next_retry = now.saturating_add(delay);
            self.stats.retransmitted += 1;
            self.queue_reply(Outgoing::Tracked { packet_id });
        }
        if now >= self.next_housekeeping {
            self.next_housekeeping = now.saturating_add(HOUSEKEEPING_MS);
            self.housekeeping(now);
        }
        self.report_drops();
    }

    fn housekeeping(&mut self, now: MonoMillis) {
        // Two windows after the last sighting a copy is stale anyway (see inbound.rs).
        self.inbound.prune(now, self.config.window_ms.saturating_mul(2));
        self.retained.expire(now);
        let mut lost = alloc::vec::Vec::new();
        self.peers.expire(now, self.config.peer_timeout_ms, |addr| lost.push(addr));
        for addr in lost {
            self.push_info(Event::PeerLost { addr });
        }
    }

    /// Turns each drop counter into one event, once the event queue has room.
    pub(super) fn report_drops(&mut self) {
        let max = self.config.max_events;
        let events = &mut self.events;
        let mut report = |counter: &mut u64, event: fn(u64) -> Dropped| {
            if *counter > 0 && events.len() < max {
                events.push_back(Event::Dropped(event(core::mem::take(counter))));
            }
        };
        report(&mut self.unreported_refusals, |count| Dropped::Inbound { count });
        report(&mut self.unreported_transmit_drops, |count| Dropped::Transmits { count });
        report(&mut self.unreported_peer_evictions, |count| Dropped::Peers { count });
    }

    fn inbound_is_idle(&self) -> bool {
        self.inbound.len() == 0
            && self.retained.is_empty()
            && self.peers.is_empty()
            && self.unreported_refusals == 0
            && self.unreported_transmit_drops == 0
            && self.unreported_peer_evictions == 0
    }
}
