//! Received bytes: decoding and what each packet means for the session.

use alloc::vec::Vec;

use super::config::{Message, MessageProperties};
use super::event::{Disconnect, Event, PublishOutcome};
use super::outbox::Stage;
use super::timers::Timer;
use super::{RequestKind, ServerLimits, Session, State};
use crate::frame::Qos;
use crate::mqtt::codec::{Ack, ConnAck, Properties, Publish, ReasonPacket, SubAck};
use crate::mqtt::{MqttError, Packet, ProtocolVersion, ReasonCode, decode};

impl Session {
    /// Feeds bytes received from the transport. Complete packets are handled at once; a
    /// partial one waits for more bytes. Bytes that break the protocol end the connection
    /// ([`Event::Disconnected`] with the error; a 5.0 DISCONNECT says why).
    pub fn handle_bytes(&mut self, now: u64, bytes: &[u8]) {
        if !self.state.has_transport() {
            return;
        }
        self.rx.extend_from_slice(bytes);
        let rx = core::mem::take(&mut self.rx);
        let mut used = 0;
        while self.state.has_transport() {
            match decode(&rx[used..], self.config.version, self.config.maximum_packet_size) {
                Ok(Some((packet, n))) => {
                    used += n;
                    self.on_packet(now, packet);
                }
                Ok(None) => break,
                Err(e) => {
                    self.protocol_error(now, e);
                    break;
                }
            }
        }
        if self.state.has_transport() {
            self.rx = rx;
            self.rx.drain(..used);
        }
        self.pump(now);
    }

    fn on_packet(&mut self, now: u64, packet: Packet<'_>) {
        match (self.state, packet) {
            (State::Connecting, Packet::ConnAck(c)) => self.on_connack(now, c),
            (State::Connecting, Packet::Auth(a)) | (State::Connected, Packet::Auth(a)) => {
                self.on_auth(now, a)
            }
            (State::Connected, Packet::Publish(p)) => self.on_publish(now, p),
            (State::Connected, Packet::PubAck(a)) => self.on_ack(now, a, Stage::Ack),
            (State::Connected, Packet::PubRec(a)) => self.on_ack(now, a, Stage::Rec),
            (State::Connected, Packet::PubComp(a)) => self.on_ack(now, a, Stage::Comp),
            (State::Connected, Packet::PubRel(a)) => self.on_pubrel(now, a),
            (State::Connected, Packet::SubAck(s)) => self.on_suback(s, true),
            (State::Connected, Packet::UnsubAck(s)) => self.on_suback(s, false),
            (State::Connected, Packet::PingResp) => self.timers.stop(Timer::PingResponse),
            (_, Packet::Disconnect(d)) => self.close(now, Disconnect::ByServer(d.reason)),
            _ => self
                .protocol_error(now, MqttError::Protocol("packet not expected from a server in this state")),
        }
    }

    fn on_connack(&mut self, now: u64, c: ConnAck<'_>) {
        if c.reason != ReasonCode::SUCCESS {
            self.close(now, Disconnect::Refused(c.reason));
            return;
        }
        let p = &c.properties;
        self.server = ServerLimits {
            receive_maximum: p.receive_maximum.unwrap_or(u16::MAX),
            maximum_packet_size: p.maximum_packet_size.unwrap_or(self.server.maximum_packet_size),
            topic_alias_maximum: p.topic_alias_maximum.unwrap_or(0),
            keep_alive: p.server_keep_alive.unwrap_or(self.config.keep_alive),
            maximum_qos: match p.maximum_qos {
                Some(0) => Qos::AtMostOnce,
                Some(1) => Qos::AtLeastOnce,
                _ => Qos::ExactlyOnce,
            },
            retain_available: p.retain_available != Some(0),
        };
        if let Some(id) = p.assigned_client_identifier {
            // Later connections must present it to resume this session (§3.2.2.3.7).
            self.config.client_id = alloc::string::String::from(id);
        }
        self.connected(now);
        if self.connected_before {
            self.metrics.reconnects += 1;
        }
        self.connected_before = true;
        // Clean Start is for the first connection: later ones resume this session, so QoS 1/2
        // exchanges in flight carry over instead of being sent again as new (§3.1.2.4, §4.4).
        // A 3.1.1 session without a client id cannot be resumed (§3.1.3-7).
        if self.config.version == crate::mqtt::ProtocolVersion::V5 || !self.config.client_id.is_empty() {
            self.config.clean_start = false;
        }
        self.resume(now, c.session_present);
        self.events.push_back(Event::Connected { session_present: c.session_present });
    }

    fn on_publish(&mut self, now: u64, p: Publish<'_>) {
        let Some(topic) =
            self.incoming_aliases.resolve(p.topic, p.properties.topic_alias, self.config.topic_alias_maximum)
        else {
            self.protocol_error(now, MqttError::InvalidTopicAlias);
            return;
        };
        if let Some(pid) = p.packet_id {
            if p.qos == Qos::ExactlyOnce && !self.awaiting_release.insert(pid) {
                // Already delivered; the server resends because our PUBREC was lost (§4.3.3).
                self.metrics.duplicates += 1;
                let _ = self.write(now, &Packet::PubRec(Ack::new(pid)));
                return;
            }
        }
        self.metrics.received += 1;
        let message = Message {
            topic,
            payload: p.payload.to_vec(),
            qos: p.qos,
            retain: p.retain,
            properties: MessageProperties::from_borrowed(&Properties { topic_alias: None, ..p.properties }),
        };
        self.events.push_back(Event::Message(message));
        let answer = match (p.qos, p.packet_id) {
            (Qos::AtLeastOnce, Some(pid)) => Packet::PubAck(Ack::new(pid)),
            (Qos::ExactlyOnce, Some(pid)) => Packet::PubRec(Ack::new(pid)),
            _ => return,
        };
        let _ = self.write(now, &answer);
    }

    fn on_pubrel(&mut self, now: u64, a: Ack<'_>) {
        let known = self.awaiting_release.remove(&a.packet_id);
        // A 5.0 server learns whether we knew the id; 3.1.1 only gets a plain PUBCOMP.
        let mut comp = Ack::new(a.packet_id);
        if !known && self.config.version == ProtocolVersion::V5 {
            comp.reason = ReasonCode::PACKET_ID_NOT_FOUND;
        }
        let _ = self.write(now, &Packet::PubComp(comp));
    }

    /// PUBACK (expects `Stage::Ack`), PUBREC (`Rec`) or PUBCOMP (`Comp`).
    fn on_ack(&mut self, now: u64, a: Ack<'_>, expected: Stage) {
        let Some(entry) = self.outbox.inflight.get_mut(&a.packet_id) else {
            // Late or duplicated: answer a PUBREC anyway so the server can finish (§4.3.3).
            if expected == Stage::Rec {
                let _ = self.write(now, &Packet::PubRel(Ack::new(a.packet_id)));
            }
            return;
        };
        match (entry.stage, expected) {
            (Stage::Rec, Stage::Rec) if !a.reason.is_error() => {
                entry.stage = Stage::Comp;
                if self.window_closed {
                    // Sent with others by `pump`, one write for many.
                    self.unreleased.push(a.packet_id);
                } else {
                    let _ = self.write(now, &Packet::PubRel(Ack::new(a.packet_id)));
                }
                return;
            }
            // A duplicate PUBREC after a resend: repeat PUBREL.
            (Stage::Comp, Stage::Rec) => {
                let _ = self.write(now, &Packet::PubRel(Ack::new(a.packet_id)));
                return;
            }
            (Stage::Ack, Stage::Ack) | (Stage::Rec, Stage::Rec) | (Stage::Comp, Stage::Comp) => {}
            _ => {
                self.protocol_error(now, MqttError::Protocol("acknowledgement of the wrong kind"));
                return;
            }
        }
        // PUBCOMP 0x92 "packet identifier not found" answers a PUBREL resent after a reconnect
        // for a message the server had completed already: delivered, not refused (§3.7.2.1).
        let completed_before = expected == Stage::Comp && a.reason == ReasonCode::PACKET_ID_NOT_FOUND;
        let outcome = if a.reason.is_error() && !completed_before {
            PublishOutcome::Refused(a.reason)
        } else {
            PublishOutcome::Confirmed(a.reason)
        };
        if let Some(done) = self.outbox.inflight.remove(&a.packet_id) {
            self.events.push_back(Event::PublishDone { id: done.id, outcome });
        }
    }

    fn on_suback(&mut self, s: SubAck<'_>, subscribe: bool) {
        let Some(request) = self.pending_requests.remove(&s.packet_id) else { return };
        match request.kind {
            RequestKind::Subscribe { filters, subscription_identifier } if subscribe => {
                for ((filter, options), reason) in filters.into_iter().zip(&s.reasons) {
                    if !reason.is_error() {
                        self.subscriptions.insert(filter, (options, subscription_identifier));
                    }
                }
            }
            RequestKind::Unsubscribe { .. } if !subscribe => {}
            _ => return,
        }
        let Some(id) = request.id else { return };
        let reasons: Vec<ReasonCode> = s.reasons;
        self.events.push_back(if subscribe {
            Event::Subscribed { id, reasons }
        } else {
            Event::Unsubscribed { id, reasons }
        });
    }

    /// §4.12: a server may send AUTH only to a client that named a method in CONNECT, and only
    /// with that method.
    fn on_auth(&mut self, now: u64, a: ReasonPacket<'_>) {
        let asked = self.config.authentication_method.as_deref();
        if asked.is_none() || a.properties.authentication_method != asked {
            return self.protocol_error(now, MqttError::Protocol("AUTH for a method we did not ask for"));
        }
        let data = a.properties.authentication_data.unwrap_or_default().to_vec();
        self.events.push_back(Event::AuthChallenge { reason: a.reason, data });
    }

    /// Ends the connection over bad bytes; a 5.0 server is told why (§4.13).
    fn protocol_error(&mut self, now: u64, e: MqttError) {
        if self.config.version == ProtocolVersion::V5 {
            let reason = match e {
                MqttError::PacketTooLarge => ReasonCode::PACKET_TOO_LARGE,
                MqttError::InvalidTopicAlias => ReasonCode::TOPIC_ALIAS_INVALID,
                MqttError::Protocol(_) => ReasonCode::PROTOCOL_ERROR,
                _ => ReasonCode::MALFORMED_PACKET,
            };
            let _ = self
                .write(now, &Packet::Disconnect(ReasonPacket { reason, properties: Properties::default() }));
        }
        self.close(now, Disconnect::ProtocolError(e));
    }
}
