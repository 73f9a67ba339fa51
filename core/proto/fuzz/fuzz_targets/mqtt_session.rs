//! An MQTT client session against a broker the fuzzer plays: each input byte pair is an
//! operation (publish, subscribe, answer or not answer what the client sent, send messages and
//! their retransmissions, lose the connection, refuse or resume the session, let time pass,
//! pause reading), for both protocol versions. Small outbox and window bounds, so the fuzzer
//! reaches them.
//!
//! Two modes, chosen by the first byte. In the *structured* mode the broker follows the protocol
//! (though it may stay silent, refuse, forget its session or cut the connection at any time);
//! in the *raw* mode it may also send arbitrary bytes, so only the invariants that hold whatever
//! a server sends are checked.
//!
//! Invariants:
//! - nothing panics (both modes);
//! - a publish ends at most once: one `PublishDone` or `Dropped` per id (both modes);
//! - the inflight window and the outbox stay within their bounds (both modes);
//! - a QoS 2 message is delivered at most once while the broker keeps the session (structured);
//! - once the broker turns honest, every publish ends and every request is answered
//!   (structured).
#![no_main]

use std::collections::{BTreeMap, HashMap, HashSet};

use libfuzzer_sys::fuzz_target;
use nomq_proto::endpoint::SeededRandom;
use nomq_proto::frame::Qos;
use nomq_proto::mqtt::codec::{Ack, ConnAck, Properties, Publish, ReasonPacket, SubAck, SubscriptionOptions};
use nomq_proto::mqtt::session::{Event, Message, SessionConfig, State};
use nomq_proto::mqtt::{Packet, ProtocolVersion, ReasonCode, Session, decode};

const MAX_INFLIGHT: u16 = 4;
const MAX_OUTBOX: usize = 8;
const MAX_OUTBOX_BYTES: usize = 512;
/// Topic and payload of the largest message `client_publish` makes.
const LARGEST_MESSAGE: usize = 3 + 11 + 63 * 4;

struct Harness {
    s: Session,
    v: ProtocolVersion,
    raw_mode: bool,
    now: u64,
    /// A transport is open (the client was told to connect).
    open: bool,
    /// What the client sent and the broker has not answered yet.
    unacked_publishes: BTreeMap<u16, Qos>,
    unacked_pubrels: HashSet<u16>,
    unacked_requests: BTreeMap<u16, (bool, usize)>,
    /// Broker → client QoS 2 messages not released yet: id → payload.
    unreleased: BTreeMap<u16, Vec<u8>>,
    next_broker_id: u16,
    /// Payloads the broker sent at QoS 2, and how often each was delivered.
    qos2_payloads: HashSet<Vec<u8>>,
    delivered: HashMap<Vec<u8>, usize>,
    published: HashSet<u64>,
    ended: HashSet<u64>,
    requests: HashSet<u64>,
    answered: HashSet<u64>,
    counter: u32,
    pings: usize,
}

impl Harness {
    fn new(v: ProtocolVersion, raw_mode: bool) -> Self {
        let mut config = SessionConfig::new(v, "fuzz");
        config.clean_start = false;
        config.keep_alive = 5;
        config.session_expiry_interval = 3600;
        config.max_inflight = MAX_INFLIGHT;
        config.max_outbox_messages = MAX_OUTBOX;
        config.max_outbox_bytes = MAX_OUTBOX_BYTES;
        config.topic_alias_maximum = 4;
        config.auto_topic_alias = true;
        config.maximum_packet_size = 4096;
        let mut s = Session::new(config, Box::new(SeededRandom::new(3)));
        s.start(0);
        Harness {
            s,
            v,
            raw_mode,
            now: 0,
            open: false,
            unacked_publishes: BTreeMap::new(),
            unacked_pubrels: HashSet::new(),
            unacked_requests: BTreeMap::new(),
            unreleased: BTreeMap::new(),
            next_broker_id: 1,
            qos2_payloads: HashSet::new(),
            delivered: HashMap::new(),
            published: HashSet::new(),
            ended: HashSet::new(),
            requests: HashSet::new(),
            answered: HashSet::new(),
            counter: 0,
            pings: 0,
        }
    }

    fn send(&mut self, p: Packet<'_>) {
        if !self.open {
            return;
        }
        let mut buf = vec![0u8; p.encoded_len(self.v)];
        if p.encode(self.v, &mut buf).is_ok() {
            self.s.handle_bytes(self.now, &buf);
        }
    }

    /// Reads the client's events and what it wrote, keeping the broker's view.
    fn flush(&mut self) {
        while let Some(e) = self.s.poll_event() {
            match e {
                Event::OpenTransport => {
                    self.open = true;
                    let _ = self.s.connect(self.now);
                }
                Event::Disconnected(_) => self.open = false,
                Event::Message(m) => {
                    let n = self.delivered.entry(m.payload.clone()).or_insert(0);
                    *n += 1;
                    if !self.raw_mode && self.qos2_payloads.contains(&m.payload) {
                        assert_eq!(*n, 1, "QoS 2 message delivered twice within one broker session");
                    }
                }
                Event::PublishDone { id, .. } | Event::Dropped { id } => {
                    assert!(self.published.contains(&id.0), "an outcome for an unknown publish");
                    assert!(self.ended.insert(id.0), "a publish ended twice");
                }
                Event::Subscribed { id, .. } | Event::Unsubscribed { id, .. } => {
                    assert!(self.requests.contains(&id.0), "an answer for an unknown request");
                    assert!(self.answered.insert(id.0), "a request answered twice");
                }
                Event::Connected { .. } | Event::AuthChallenge { .. } => {}
            }
        }
        let bytes = self.s.transmit().to_vec();
        self.s.transmitted(self.now, bytes.len());
        if !self.open {
            return;
        }
        let mut rest = &bytes[..];
        while let Ok(Some((p, n))) = decode(rest, self.v, u32::MAX) {
            match p {
                Packet::Connect(c) => {
                    if c.clean_start {
                        self.forget_broker_session();
                    }
                }
                Packet::Publish(p) => {
                    if let Some(id) = p.packet_id {
                        self.unacked_publishes.insert(id, p.qos);
                    }
                }
                Packet::PubRel(a) => {
                    self.unacked_pubrels.insert(a.packet_id);
                }
                Packet::Subscribe(r) => {
                    self.unacked_requests.insert(r.packet_id, (true, r.filters.len()));
                }
                Packet::Unsubscribe(r) => {
                    self.unacked_requests.insert(r.packet_id, (false, r.filters.len()));
                }
                Packet::PingReq => self.pings += 1,
                _ => {}
            }
            rest = &rest[n..];
        }
        // A publish is refused while the outbox is full; a lost session puts the inflight ones
        // back in front of it (already accepted, so never dropped), hence the sums. One message
        // larger than the byte bound is accepted into an empty outbox.
        let m = self.s.metrics();
        let inflight = usize::from(MAX_INFLIGHT);
        assert!(m.inflight <= inflight, "inflight {}", m.inflight);
        assert!(m.queued_messages <= MAX_OUTBOX + inflight, "outbox {}", m.queued_messages);
        let bytes_bound = MAX_OUTBOX_BYTES + (inflight + 1) * LARGEST_MESSAGE;
        assert!(m.queued_bytes <= bytes_bound, "outbox bytes {}", m.queued_bytes);
    }

    /// The broker lost (or never had) the session: nothing of it is retransmitted.
    fn forget_broker_session(&mut self) {
        self.unacked_publishes.clear();
        self.unacked_pubrels.clear();
        self.unacked_requests.clear();
        self.unreleased.clear();
        // Payloads of the old session may be delivered again in a new one (a new message).
        self.delivered.retain(|p, _| !self.qos2_payloads.contains(p));
        self.qos2_payloads.clear();
    }

    fn connack(&mut self, arg: u8) {
        let present = arg & 1 != 0;
        if !present {
            self.forget_broker_session();
        }
        let reason = if arg & 0x0e == 0x0e { ReasonCode(0x87) } else { ReasonCode::SUCCESS };
        let mut properties = Properties::default();
        if self.v == ProtocolVersion::V5 {
            if arg & 0x10 != 0 {
                properties.receive_maximum = Some(u16::from(arg >> 6) + 1);
            }
            if arg & 0x20 != 0 {
                properties.maximum_qos = Some(arg >> 7);
            }
        }
        self.send(Packet::ConnAck(ConnAck { session_present: present, reason, properties }));
    }

    fn ack_publish(&mut self, arg: u8) {
        let Some((&id, &qos)) = self.unacked_publishes.iter().nth(usize::from(arg >> 2) % self.unacked_publishes.len().max(1))
        else {
            return;
        };
        let reason = if arg & 3 == 3 && self.v == ProtocolVersion::V5 { ReasonCode(0x80) } else { ReasonCode::SUCCESS };
        let ack = Ack { packet_id: id, reason, properties: Properties::default() };
        self.unacked_publishes.remove(&id);
        match qos {
            Qos::AtLeastOnce => self.send(Packet::PubAck(ack)),
            _ => self.send(Packet::PubRec(ack)),
        }
    }

    fn complete(&mut self, arg: u8) {
        let Some(&id) = self.unacked_pubrels.iter().nth(usize::from(arg) % self.unacked_pubrels.len().max(1)) else {
            return;
        };
        self.unacked_pubrels.remove(&id);
        self.send(Packet::PubComp(Ack::new(id)));
    }

    fn broker_publish(&mut self, arg: u8) {
        let qos = Qos::from_u8(arg % 3).expect("0, 1 and 2 are QoS levels");
        // A retransmission of an unreleased QoS 2 message, or a new message.
        if arg & 0x80 != 0 && !self.unreleased.is_empty() {
            let (&id, payload) = self.unreleased.iter().nth(usize::from(arg >> 2) % self.unreleased.len()).unwrap();
            let payload = payload.clone();
            self.send(Packet::Publish(Publish {
                dup: true,
                qos: Qos::ExactlyOnce,
                retain: false,
                topic: "t/a",
                packet_id: Some(id),
                payload: &payload,
                properties: Properties::default(),
            }));
            return;
        }
        self.counter += 1;
        let payload = format!("b{}", self.counter).into_bytes();
        let packet_id = if qos == Qos::AtMostOnce {
            None
        } else {
            // Ids in use by unreleased messages are skipped, as a broker does.
            let mut id = self.next_broker_id;
            while self.unreleased.contains_key(&id) || id == 0 {
                id = id.wrapping_add(1);
            }
            self.next_broker_id = id.wrapping_add(1);
            Some(id)
        };
        if qos == Qos::ExactlyOnce {
            self.qos2_payloads.insert(payload.clone());
            self.unreleased.insert(packet_id.unwrap(), payload.clone());
        }
        self.send(Packet::Publish(Publish {
            dup: false,
            qos,
            retain: false,
            topic: "t/a",
            packet_id,
            payload: &payload,
            properties: Properties::default(),
        }));
    }

    fn release(&mut self, arg: u8) {
        let Some(&id) = self.unreleased.keys().nth(usize::from(arg) % self.unreleased.len().max(1)) else {
            return;
        };
        self.unreleased.remove(&id);
        self.send(Packet::PubRel(Ack::new(id)));
    }

    fn answer_request(&mut self, arg: u8) {
        let Some((&id, &(subscribe, n))) = self.unacked_requests.iter().next() else { return };
        self.unacked_requests.remove(&id);
        let code = if arg & 1 != 0 { ReasonCode(0x80) } else { ReasonCode::SUCCESS };
        let ack = SubAck { packet_id: id, reasons: vec![code; n], properties: Properties::default() };
        if subscribe {
            self.send(Packet::SubAck(ack));
        } else {
            self.send(Packet::UnsubAck(ack));
        }
    }

    fn client_publish(&mut self, arg: u8) {
        let qos = Qos::from_u8(arg % 3).expect("0, 1 and 2 are QoS levels");
        self.counter += 1;
        let mut payload = format!("c{}", self.counter).into_bytes();
        payload.resize(payload.len() + usize::from(arg >> 2) * 4, b'.');
        let topic = if arg & 0x40 != 0 { "t/a" } else { "t/b" };
        if let Ok(id) = self.s.publish(self.now, Message::new(topic, payload, qos, arg & 0x80 != 0)) {
            assert!(self.published.insert(id.0), "publish id reused");
        }
    }

    fn client_request(&mut self, arg: u8) {
        let r = if arg & 1 == 0 {
            self.s.subscribe(self.now, vec![("t/#".into(), SubscriptionOptions::qos(Qos::ExactlyOnce))], None)
        } else {
            self.s.unsubscribe(self.now, vec!["t/#".into()])
        };
        if let Ok(id) = r {
            self.requests.insert(id.0);
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        if self.s.poll_timeout().is_some_and(|t| t <= self.now) {
            self.s.handle_timeout(self.now);
        }
    }

    fn op(&mut self, op: u8, arg: u8, raw: &[u8]) {
        match op % 16 {
            0 | 1 => self.client_publish(arg),
            2 => self.client_request(arg),
            3 => self.connack(arg),
            4 | 5 => self.ack_publish(arg),
            6 => self.complete(arg),
            7 | 8 => self.broker_publish(arg),
            9 => self.release(arg),
            10 => self.answer_request(arg),
            11 => {
                if self.open {
                    self.open = false;
                    self.s.connection_lost(self.now);
                }
            }
            12 => self.advance(u64::from(arg) * 100),
            13 => self.send(Packet::PingResp),
            14 => self.s.set_reading_paused(arg & 1 != 0),
            _ => {
                if self.raw_mode {
                    self.s.handle_bytes(self.now, raw);
                } else if self.v == ProtocolVersion::V5 {
                    self.send(Packet::Disconnect(ReasonPacket { reason: ReasonCode(0x8b), properties: Properties::default() }));
                }
            }
        }
        self.flush();
    }

    /// The broker turns honest and keeps its session: every publish must end and every request
    /// be answered.
    fn heal(&mut self) {
        self.s.set_reading_paused(false);
        for _ in 0..2_000 {
            self.flush();
            if self.open && self.s.state() == State::Connecting {
                self.connack(1);
            }
            if self.open && self.s.state() == State::Connected {
                while !self.unacked_publishes.is_empty() {
                    self.ack_publish(0);
                    self.flush();
                }
                while !self.unacked_pubrels.is_empty() {
                    self.complete(0);
                    self.flush();
                }
                while !self.unacked_requests.is_empty() {
                    self.answer_request(0);
                    self.flush();
                }
                while !self.unreleased.is_empty() {
                    self.release(0);
                    self.flush();
                }
                if self.pings > 0 {
                    self.pings = 0;
                    self.send(Packet::PingResp);
                }
            }
            let done = self.published.len() == self.ended.len() && self.requests.len() == self.answered.len();
            if done {
                return;
            }
            self.advance(500);
        }
        panic!(
            "after healing: {} of {} publishes ended, {} of {} requests answered, state {:?}",
            self.ended.len(),
            self.published.len(),
            self.answered.len(),
            self.requests.len(),
            self.s.state()
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, script)) = data.split_first() else { return };
    let v = if first & 1 == 0 { ProtocolVersion::V311 } else { ProtocolVersion::V5 };
    let raw_mode = first & 2 != 0;
    let mut h = Harness::new(v, raw_mode);
    h.flush();
    let mut rest = script;
    while let [op, arg, tail @ ..] = rest {
        if op % 16 == 15 && raw_mode {
            let len = usize::from(*arg).min(tail.len());
            h.op(*op, *arg, &tail[..len]);
            rest = &tail[len..];
        } else {
            h.op(*op, *arg, &[]);
            rest = tail;
        }
    }
    if !raw_mode {
        h.heal();
    }
});
