//! `handle_datagram`: authenticate, then dispatch by packet type (nomq-v1 §9.2 and §11 with the
//! §22 defects fixed; nomq-v2 "Receiving" and "Exchanges").

use core::net::SocketAddr;

use super::event::{Event, Message, PublishOutcome};
use super::inbound::{Limits, Status};
use super::outbound::Stage;
use super::peers::Budget;
use super::transmit::Outgoing;
use super::{Endpoint, canonical};
use crate::error::{Error, FrameError};
use crate::frame::{Header, PacketType, Qos, V1Publish, Version};
use crate::time::{MonoMillis, Now, UnixMillis};

impl Endpoint {
    /// Feeds one datagram received from `from` at `now`: its timestamp is checked against
    /// `now.unix` (the acceptance window), while `now.mono` dates what it updates (peers, the
    /// duplicate cache, retransmission schedules). Bad datagrams are counted in
    /// [`Stats`](super::Stats) and otherwise ignored; nothing here can fail or panic.
    pub fn handle_datagram(&mut self, now: Now, from: SocketAddr, datagram: &[u8]) {
        self.stats.datagrams_in += 1;
        let from = canonical(from);
        // The plaintext borrows the scratch buffer while `self` is updated.
        let mut scratch = core::mem::take(&mut self.scratch);
        match self.codec.open(datagram, now.unix.0, &mut scratch) {
            Ok(opened) => self.dispatch(now.mono, from, opened.header, opened.plaintext),
            Err(e) => self.count_rejection(e),
        }
        self.scratch = scratch;
    }

    fn count_rejection(&mut self, e: Error) {
        let s = &mut self.stats;
        match e {
            Error::Frame(FrameError::AuthFailed) => s.rejected_auth += 1,
            Error::Frame(FrameError::Stale) => s.rejected_stale += 1,
            Error::Frame(FrameError::UnsupportedVersion(_)) => s.rejected_version += 1,
            _ => s.rejected_malformed += 1,
        }
    }

    fn dispatch(&mut self, now: MonoMillis, from: SocketAddr, h: Header, plaintext: &[u8]) {
        let heard = self.peers.heard(from, h.session_id, now, self.config.max_peers);
        if heard.evicted.is_some() {
            self.unreported_peer_evictions += 1;
        }
        if heard.alive {
            self.push_info(Event::PeerAlive { addr: from, session_id: h.session_id });
        }
        match h.kind {
            PacketType::Publish => self.on_publish(now, from, &h, plaintext),
            PacketType::Ack => self.on_ack(from, &h),
            PacketType::PubRec => self.on_pubrec(now, from, &h),
            PacketType::PubRel => self.on_pubrel(now, from, &h),
            PacketType::PubComp => self.on_pubcomp(from, &h),
            PacketType::Subscribe => self.on_subscribe(now, from, &h, plaintext),
            PacketType::Heartbeat => self.on_heartbeat(now, from, &h),
            // Nothing to do: subscriptions are local in NoMQ (v1 §12).
            PacketType::Unsubscribe => {}
        }
    }

    fn on_publish(&mut self, now: MonoMillis, from: SocketAddr, h: &Header, plaintext: &[u8]) {
        // QoS 3 is invalid (v1 §22.19): dropped, not answered.
        let Some(qos) = h.flags.qos() else {
            self.stats.invalid += 1;
            return;
        };
        // Unsubscribed channels are dropped silently, as by the reference (§9.2 step 1).
        let Some(channel) = self.subscriptions.get(&h.channel) else {
            self.stats.unknown_channel += 1;
            return;
        };
        let payload = match self.config.version {
            Version::V1 => match V1Publish::decode(plaintext) {
                Ok(p) => p.text.as_bytes(),
                Err(_) => {
                    self.stats.invalid += 1;
                    return;
                }
            },
            Version::V2 => plaintext,
        };
        match self.inbound.status(h.session_id, h.packet_id) {
            Status::New => {}
            Status::Seen => {
                // A retransmission (our answer was lost) or a replay: never delivered twice, but
                // answered again so the sender can stop (v2 "Receiving" 4).
                self.inbound.touch(h.session_id, h.packet_id, now);
                self.stats.duplicates += 1;
                match qos {
                    Qos::AtLeastOnce => self.reply(from, PacketType::Ack, h),
                    Qos::ExactlyOnce if self.inbound.awaiting_release(h.session_id, h.packet_id) => {
                        self.reply(from, PacketType::PubRec, h)
                    }
                    _ => {}
                }
                return;
            }
            Status::TooOld => {
                self.stats.too_old += 1;
                return;
            }
        }
        let limits = Limits { sessions: self.config.max_sessions, ids: self.config.max_inbound };
        let sequential = self.config.version == Version::V2;
        // Its sender retransmits a QoS 1/2 PUBLISH, freshly sealed, until its ttl.
        let keep_ms = if qos == Qos::AtMostOnce { 0 } else { u64::from(h.ttl) * 1000 };
        let over_bytes = self.queued_messages > 0
            && self.queued_message_bytes + payload.len() > self.config.max_event_bytes;
        if self.events.len() >= self.config.max_events
            || over_bytes
            || !self.inbound.accept(
                h.session_id,
                h.packet_id,
                now,
                keep_ms,
                qos == Qos::ExactlyOnce,
                sequential,
                limits,
            )
        {
            // Refuse without an answer: the sender retransmits later, nothing is lost and no
            // remembered id is forgotten.
            self.stats.refused_full += 1;
            self.unreported_refusals += 1;
            return;
        }
        self.stats.delivered += 1;
        self.queued_messages += 1;
        self.queued_message_bytes += payload.len();
        self.events.push_back(Event::Message(Message {
            from,
            channel: channel.clone(),
            payload: payload.to_vec(),
            qos,
            retain: h.flags.retain(),
            priority: h.flags.priority(),
            session_id: h.session_id,
            packet_id: h.packet_id,
            timestamp: UnixMillis(h.timestamp_ms),
        }));
        match qos {
            Qos::AtMostOnce => {}
            Qos::AtLeastOnce => self.reply(from, PacketType::Ack, h),
            Qos::ExactlyOnce => self.reply(from, PacketType::PubRec, h),
        }
    }

    fn on_ack(&mut self, from: SocketAddr, h: &Header) {
        match self.outbound.entries.get(&h.packet_id) {
            Some(p) if p.stage == Stage::Ack && p.accepts_from(from) => self.confirm(h.packet_id),
            _ => self.stats.unmatched_replies += 1,
        }
    }

    fn on_pubrec(&mut self, now: MonoMillis, from: SocketAddr, h: &Header) {
        let first_retry = now.saturating_add(self.retry_delay(0));
        let Some(p) = self.outbound.entries.get_mut(&h.packet_id) else {
            self.stats.unmatched_replies += 1;
            return;
        };
        match p.stage {
            Stage::Rec if p.accepts_from(from) => {
                p.stage = Stage::Comp;
                p.peer = Some(from);
                p.retries = 0;
                p.next_retry = first_retry;
            }
            // A second PUBREC (our PUBLISH was retransmitted and answered again, or a replay):
            // the PUBREL's own retransmission timer answers it, so a replayed PUBREC makes
            // nothing leave at once.
            Stage::Comp if p.accepts_from(from) => {
                self.stats.duplicates += 1;
                return;
            }
            _ => {
                self.stats.unmatched_replies += 1;
                return;
            }
        }
        // Bounded like every reply (`max_transmits`): when full, the PUBREL waits for its
        // retransmission timer instead.
        self.queue_reply(Outgoing::Tracked { packet_id: h.packet_id });
    }

    fn on_pubrel(&mut self, now: MonoMillis, from: SocketAddr, h: &Header) {
        // Only a PUBREL for a QoS 2 message this node received is answered: an id it never saw
        // (a forgery cannot exist without the keys, but a replay of a PUBREL meant for another
        // node can) gets nothing.
        if self.inbound.status(h.session_id, h.packet_id) != Status::Seen {
            self.stats.unmatched_replies += 1;
            return;
        }
        self.inbound.touch(h.session_id, h.packet_id, now);
        if self.inbound.awaiting_release(h.session_id, h.packet_id) {
            self.inbound.release(h.session_id, h.packet_id);
        } else {
            // Released before: the PUBCOMP may have been lost (v1 §22.5), so it is repeated,
            // within the peer's answer budget (a replayed PUBREL is indistinguishable).
            self.stats.duplicates += 1;
            if !self.peers.may_draw(from, now, Budget::RepeatedPubComp) {
                self.stats.answers_limited += 1;
                return;
            }
        }
        self.reply(from, PacketType::PubComp, h);
    }

    fn on_pubcomp(&mut self, from: SocketAddr, h: &Header) {
        match self.outbound.entries.get(&h.packet_id) {
            Some(p) if p.stage == Stage::Comp && p.accepts_from(from) => self.confirm(h.packet_id),
            _ => self.stats.unmatched_replies += 1,
        }
    }

    fn on_subscribe(&mut self, now: MonoMillis, from: SocketAddr, h: &Header, plaintext: &[u8]) {
        let Ok(name) = core::str::from_utf8(plaintext) else {
            self.stats.invalid += 1;
            return;
        };
        if self.codec.channel_id(name) != h.channel {
            self.stats.invalid += 1;
            return;
        }
        // A replayed SUBSCRIBE (the same packet, from any source address) is not answered
        // again: retained messages would otherwise go, over and over, wherever an attacker
        // who recorded one points its source address.
        if !self.first_sighting(now, h) {
            return;
        }
        let retained = self.retained.messages(&h.channel, now);
        if retained.is_empty() {
            return;
        }
        if !self.peers.may_draw(from, now, Budget::Retained) {
            self.stats.answers_limited += 1;
            return;
        }
        for msg in retained {
            let packet_id = self.new_packet_id();
            self.queue_reply(Outgoing::Publish { to: from, packet_id, msg, done: None });
        }
    }

    fn on_heartbeat(&mut self, now: MonoMillis, from: SocketAddr, h: &Header) {
        // A replayed heartbeat is not answered; a v2 answer is never answered; otherwise at
        // most once per interval per peer, so two nodes cannot ping-pong (v1 §22.4).
        if !self.first_sighting(now, h) {
            return;
        }
        let is_answer = self.config.version == Version::V2 && h.flags.is_answer();
        if !is_answer && self.peers.may_answer(from, now, self.config.heartbeat_interval_ms) {
            self.stats.heartbeats_answered += 1;
            self.queue_reply(Outgoing::Heartbeat { to: from, answer: true });
        }
    }

    /// Records the packet id of a request that is not a PUBLISH (SUBSCRIBE, HEARTBEAT: each
    /// carries a fresh id of its sender's counter) in the duplicate cache; false for a replay,
    /// or when the cache is full (then it is refused unanswered, like a PUBLISH).
    fn first_sighting(&mut self, now: MonoMillis, h: &Header) -> bool {
        if self.inbound.status(h.session_id, h.packet_id) != Status::New {
            self.stats.duplicates += 1;
            return false;
        }
        let limits = Limits { sessions: self.config.max_sessions, ids: self.config.max_inbound };
        let sequential = self.config.version == Version::V2;
        if !self.inbound.accept(h.session_id, h.packet_id, now, 0, false, sequential, limits) {
            self.stats.refused_full += 1;
            return false;
        }
        true
    }

    fn reply(&mut self, to: SocketAddr, kind: PacketType, answered: &Header) {
        self.queue_reply(Outgoing::Reply {
            to,
            kind,
            packet_id: answered.packet_id,
            channel: answered.channel,
        });
    }

    fn confirm(&mut self, packet_id: u32) {
        if let Some(p) = self.outbound.entries.remove(&packet_id) {
            self.stats.confirmed += 1;
            self.events.push_back(Event::PublishDone { id: p.id, outcome: PublishOutcome::Confirmed });
        }
    }
}
