//! Building and writing packets: CONNECT, the outbox pump (Receive Maximum, topic aliases,
//! message expiry), and resending after a reconnect (MQTT 5.0 §4.4).

use alloc::string::String;
use alloc::vec::Vec;

use super::config::{Message, SessionConfig};
use super::event::{Event, PublishOutcome};
use super::outbox::{Inflight, Queued, Stage};
use super::{RequestKind, Session, State, TX_HIGH_WATER, aliases};
use crate::frame::Qos;
use crate::mqtt::codec::{Ack, Connect, Properties, Publish, Subscribe, Unsubscribe, Will};
use crate::mqtt::{MqttError, Packet, ProtocolVersion, ReasonCode};

pub(super) fn connect_packet(c: &SessionConfig) -> Connect<'_> {
    let v5 = c.version == ProtocolVersion::V5;
    let properties = if v5 {
        Properties {
            session_expiry_interval: (c.session_expiry_interval > 0).then_some(c.session_expiry_interval),
            receive_maximum: (c.receive_maximum < u16::MAX).then_some(c.receive_maximum.max(1)),
            maximum_packet_size: Some(c.maximum_packet_size.max(1)),
            topic_alias_maximum: (c.topic_alias_maximum > 0).then_some(c.topic_alias_maximum),
            user_properties: c.user_properties.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
            authentication_method: c.authentication_method.as_deref(),
            authentication_data: c.authentication_method.as_ref().and(c.authentication_data.as_deref()),
            ..Properties::default()
        }
    } else {
        Properties::default()
    };
    let will = c.will.as_ref().map(|w| Will {
        topic: &w.message.topic,
        payload: &w.message.payload,
        qos: w.message.qos,
        retain: w.message.retain,
        properties: if v5 {
            Properties { will_delay_interval: w.delay_interval, ..w.message.properties.borrowed() }
        } else {
            Properties::default()
        },
    });
    Connect {
        protocol: c.version,
        clean_start: c.clean_start,
        keep_alive: c.keep_alive,
        client_id: &c.client_id,
        will,
        username: c.username.as_deref(),
        password: c.password.as_deref(),
        properties,
    }
}

/// The PUBLISH for `m`; properties only in 5.0.
fn publish_packet<'m>(
    c: &SessionConfig,
    m: &'m Message,
    packet_id: Option<u16>,
    dup: bool,
    topic: &'m str,
    alias: Option<u16>,
    expiry: Option<u32>,
) -> Publish<'m> {
    let properties = match c.version {
        ProtocolVersion::V5 => {
            Properties { topic_alias: alias, message_expiry_interval: expiry, ..m.properties.borrowed() }
        }
        ProtocolVersion::V311 => Properties::default(),
    };
    Publish { dup, qos: m.qos, retain: m.retain, topic, packet_id, payload: &m.payload, properties }
}

/// Checks a message can be encoded for this session's version (topic, properties, strings)
/// and returns its encoded size without an alias (what a Maximum Packet Size applies to). The
/// check is done once, here: the session writes the message later without checking again.
pub(super) fn check_message(c: &SessionConfig, m: &Message) -> Result<usize, MqttError> {
    let id = (m.qos != Qos::AtMostOnce).then_some(1);
    let expiry = m.properties.message_expiry_interval;
    let packet = Packet::Publish(publish_packet(c, m, id, false, &m.topic, None, expiry));
    packet.check(c.version)?;
    Ok(packet.encoded_len(c.version))
}

impl Session {
    /// Moves what may be sent now into the transmit buffer: requests, then messages in order,
    /// within the server's Receive Maximum and while the transport keeps up.
    pub(super) fn pump(&mut self, now: u64) {
        if self.state != State::Connected {
            return;
        }
        while let Some(request) = self.unsent_requests.pop_front() {
            if self.send_request(now, request.clone()).is_err() {
                self.unsent_requests.push_front(request);
                break;
            }
        }
        let window = self.window();
        // Silly-window avoidance (`SessionConfig::refill_half_window`): once the window has
        // filled, places freed by acknowledgements are not refilled one by one, each costing a
        // write and a segment; when half the window is free, one write refills it. The server
        // keeps at least half a window of work meanwhile, so throughput is kept, and publishes
        // that never fill the window go at once.
        if self.window_closed && self.outbox.inflight.len() <= window - window / 2 {
            self.window_closed = false;
        }
        // PUBRELs held back while the window was closed go with the refill, once half a window
        // of them wait, or once no other PUBREC is to come (the server owes an answer to each
        // PUBLISH and PUBREL already sent, so holding always ends).
        if !self.unreleased.is_empty()
            && (!self.window_closed
                || self.unreleased.len() >= window / 2
                || !self.outbox.inflight.values().any(|e| e.stage == Stage::Rec))
        {
            for pid in core::mem::take(&mut self.unreleased) {
                let _ = self.write(now, &Packet::PubRel(Ack::new(pid)));
            }
        }
        while self.tx.len() < TX_HIGH_WATER {
            let Some(front) = self.outbox.queue.front() else { break };
            let tracked = front.message.qos != Qos::AtMostOnce;
            if tracked && self.outbox.inflight.len() >= window {
                self.window_closed = self.config.refill_half_window;
            }
            if tracked && (self.window_closed || self.outbox.inflight.len() >= window) {
                break;
            }
            let Some(q) = self.outbox.pop_front() else { break };
            self.send_queued(now, q);
        }
    }

    /// QoS 1/2 publishes in flight at most: ours and the server's limit.
    pub(super) fn window(&self) -> usize {
        usize::from(self.server.receive_maximum.min(self.config.max_inflight.max(1)))
    }

    fn send_queued(&mut self, now: u64, q: Queued) {
        // Queued before this server's limits were known (CONNACK): sending it would only get
        // the connection closed, and the message resent at every reconnect (§3.2.2.3.4-5).
        let unsupported = if q.message.qos > self.server.maximum_qos {
            Some(ReasonCode::QOS_NOT_SUPPORTED)
        } else if q.message.retain && !self.server.retain_available {
            Some(ReasonCode::RETAIN_NOT_SUPPORTED)
        } else {
            None
        };
        if let Some(reason) = unsupported {
            self.events.push_back(Event::PublishDone { id: q.id, outcome: PublishOutcome::Refused(reason) });
            return;
        }
        // The remaining expiry is what the server receives (§3.3.2.3.3).
        let expiry = match q.message.properties.message_expiry_interval {
            Some(interval) => {
                let waited = (now.saturating_sub(q.since) / 1000) as u32;
                if waited >= interval {
                    self.metrics.dropped += 1;
                    self.events.push_back(Event::PublishDone { id: q.id, outcome: PublishOutcome::Expired });
                    return;
                }
                Some(interval - waited)
            }
            None => None,
        };
        let packet_id = if q.message.qos == Qos::AtMostOnce {
            None
        } else {
            let pending = &self.pending_requests;
            match self.outbox.packet_id(|id| pending.contains_key(&id)) {
                Some(id) => Some(id),
                None => {
                    self.outbox.push_front(q);
                    return;
                }
            }
        };
        let max_alias = if self.config.auto_topic_alias { self.server.topic_alias_maximum } else { 0 };
        let (topic, alias) = match self.outgoing_aliases.assign(&q.message.topic, max_alias) {
            aliases::Use::Plain => (q.message.topic.as_str(), None),
            aliases::Use::Define(a) => (q.message.topic.as_str(), Some(a)),
            aliases::Use::Reuse(a) => ("", Some(a)),
        };
        let packet =
            Packet::Publish(publish_packet(&self.config, &q.message, packet_id, false, topic, alias, expiry));
        if let Err(e) = self.write_checked(now, &packet) {
            if alias.is_some() && !topic.is_empty() {
                self.outgoing_aliases.undefine(&q.message.topic);
            }
            // Checked at `publish`; a server limit learned since (CONNACK) can still refuse it.
            let reason = if matches!(e, crate::Error::Mqtt(MqttError::PacketTooLarge)) {
                ReasonCode::PACKET_TOO_LARGE
            } else {
                ReasonCode::UNSPECIFIED_ERROR
            };
            self.events.push_back(Event::PublishDone { id: q.id, outcome: PublishOutcome::Refused(reason) });
            return;
        }
        self.metrics.sent += 1;
        match packet_id {
            None => self.events.push_back(Event::PublishDone { id: q.id, outcome: PublishOutcome::Sent }),
            Some(pid) => {
                let stage = if q.message.qos == Qos::AtLeastOnce { Stage::Ack } else { Stage::Rec };
                let sequence = self.next_sequence;
                self.next_sequence += 1;
                self.outbox.inflight.insert(pid, Inflight { id: q.id, message: q.message, stage, sequence });
            }
        }
    }

    fn send_request(&mut self, now: u64, request: super::Request) -> Result<(), crate::Error> {
        let pending = &self.pending_requests;
        let Some(pid) = self.outbox.packet_id(|id| pending.contains_key(&id)) else {
            return Err(MqttError::Protocol("no free packet id").into());
        };
        match &request.kind {
            RequestKind::Subscribe { filters, subscription_identifier } => {
                let properties = match (self.config.version, subscription_identifier) {
                    (ProtocolVersion::V5, Some(id)) => {
                        Properties { subscription_identifiers: alloc::vec![*id], ..Properties::default() }
                    }
                    _ => Properties::default(),
                };
                let filters = filters.iter().map(|(f, o)| (f.as_str(), *o)).collect();
                self.write(now, &Packet::Subscribe(Subscribe { packet_id: pid, filters, properties }))?;
            }
            RequestKind::Unsubscribe { filters } => {
                let filters = filters.iter().map(String::as_str).collect();
                let packet = Unsubscribe { packet_id: pid, filters, properties: Properties::default() };
                self.write(now, &Packet::Unsubscribe(packet))?;
            }
        }
        self.pending_requests.insert(pid, request);
        Ok(())
    }

    /// After CONNACK: with the session present, resend every unacknowledged PUBLISH (DUP, same
    /// packet id, full topic) and PUBREL in their original order; without it, queue the
    /// unconfirmed messages again as new, complete those the server already took (PUBREC),
    /// and resubscribe (MQTT 5.0 §4.4, §3.2.2.1.2).
    pub(super) fn resume(&mut self, now: u64, session_present: bool) {
        let mut order: Vec<(u64, u16)> =
            self.outbox.inflight.iter().map(|(pid, e)| (e.sequence, *pid)).collect();
        order.sort_unstable();
        if session_present {
            for (_, pid) in order {
                let Some(entry) = self.outbox.inflight.get(&pid) else { continue };
                let packet = match entry.stage {
                    Stage::Comp => Packet::PubRel(Ack::new(pid)),
                    Stage::Ack | Stage::Rec => Packet::Publish(publish_packet(
                        &self.config,
                        &entry.message,
                        Some(pid),
                        true,
                        &entry.message.topic,
                        None,
                        entry.message.properties.message_expiry_interval,
                    )),
                };
                if super::encode_into(&mut self.tx, self.config.version, &packet).is_ok() {
                    self.wrote(now);
                    self.metrics.retransmitted += 1;
                }
            }
            return;
        }
        self.awaiting_release.clear();
        for (_, pid) in order.into_iter().rev() {
            let Some(entry) = self.outbox.inflight.remove(&pid) else { continue };
            if entry.stage == Stage::Comp {
                // Taken by the server, then its session lost: neither confirmed nor resent.
                self.events
                    .push_back(Event::PublishDone { id: entry.id, outcome: PublishOutcome::SessionLost });
            } else {
                self.outbox.push_front(Queued { id: entry.id, message: entry.message, since: now });
            }
        }
        let resubscribe: Vec<super::Request> = self
            .subscriptions
            .iter()
            .map(|(f, (o, sid))| super::Request {
                id: None,
                kind: RequestKind::Subscribe {
                    filters: alloc::vec![(f.clone(), *o)],
                    subscription_identifier: *sid,
                },
            })
            .collect();
        for r in resubscribe.into_iter().rev() {
            self.unsent_requests.push_front(r);
        }
    }
}
