//! The MQTT client session against a scripted broker, without I/O: every QoS in both directions, Receive Maximum, resumption with and without a stored session, QoS 2
//! duplicate suppression, topic aliases both ways, keep alive, outbox bounds and policies,
//! message expiry, refused and malformed server input.

use nomq_proto::endpoint::SeededRandom;
use nomq_proto::frame::Qos;
use nomq_proto::mqtt::codec::{Ack, ConnAck, Properties, Publish, ReasonPacket, SubAck, SubscriptionOptions};
use nomq_proto::mqtt::session::{
    Disconnect, Event, Message, MessageProperties, OutboxPolicy, PublishOutcome, SessionConfig, State,
};
use nomq_proto::mqtt::{Packet, ProtocolVersion, ReasonCode, Session, decode};

use ProtocolVersion::{V5, V311};

/// What the session wrote, one encoded packet each; consumes the transmit buffer.
fn written(s: &mut Session, now: u64) -> Vec<Vec<u8>> {
    let bytes = s.transmit().to_vec();
    s.transmitted(now, bytes.len());
    let mut out = vec![];
    let mut rest = &bytes[..];
    while let Some((_, n)) = decode(rest, s.config().version, u32::MAX).unwrap() {
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
    }
    assert!(rest.is_empty());
    out
}

fn parse(bytes: &[u8], v: ProtocolVersion) -> Packet<'_> {
    decode(bytes, v, u32::MAX).unwrap().unwrap().0
}

fn feed(s: &mut Session, now: u64, p: Packet<'_>) {
    let v = s.config().version;
    let mut buf = vec![0u8; p.encoded_len(v)];
    p.encode(v, &mut buf).unwrap();
    s.handle_bytes(now, &buf);
}

fn events(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// A session with a fixed seed for the reconnect jitter.
fn session(config: SessionConfig) -> Session {
    Session::new(config, Box::new(SeededRandom::new(7)))
}

fn connack(present: bool, properties: Properties<'_>) -> Packet<'_> {
    Packet::ConnAck(ConnAck { session_present: present, reason: ReasonCode::SUCCESS, properties })
}

fn connected(v: ProtocolVersion, properties: Properties<'static>) -> Session {
    let mut s = session(SessionConfig::new(v, "test-client"));
    s.connect(0).unwrap();
    let sent = written(&mut s, 0);
    assert!(
        matches!(parse(&sent[0], v), Packet::Connect(c) if c.client_id == "test-client" && c.protocol == v)
    );
    feed(&mut s, 1, connack(false, properties));
    assert_eq!(events(&mut s), vec![Event::Connected { session_present: false }]);
    s
}

fn msg(topic: &str, payload: &str, qos: Qos) -> Message {
    Message::new(topic, payload.as_bytes().to_vec(), qos, false)
}

fn publish_ids(sent: &[Vec<u8>], v: ProtocolVersion) -> Vec<(Option<u16>, bool)> {
    sent.iter()
        .filter_map(|b| match parse(b, v) {
            Packet::Publish(p) => Some((p.packet_id, p.dup)),
            _ => None,
        })
        .collect()
}

#[test]
fn every_qos_outgoing_completes_in_both_versions() {
    for v in [V311, V5] {
        let mut s = connected(v, Properties::default());
        let q0 = s.publish(2, msg("a", "zero", Qos::AtMostOnce)).unwrap();
        let q1 = s.publish(2, msg("a", "one", Qos::AtLeastOnce)).unwrap();
        let q2 = s.publish(2, msg("a", "two", Qos::ExactlyOnce)).unwrap();
        let sent = written(&mut s, 3);
        let ids = publish_ids(&sent, v);
        assert_eq!(ids.len(), 3);
        let (p1, p2) = (ids[1].0.unwrap(), ids[2].0.unwrap());
        assert_eq!(events(&mut s), vec![Event::PublishDone { id: q0, outcome: PublishOutcome::Sent }]);
        feed(&mut s, 4, Packet::PubAck(Ack::new(p1)));
        feed(&mut s, 4, Packet::PubRec(Ack::new(p2)));
        let sent = written(&mut s, 5);
        assert!(matches!(parse(&sent[0], v), Packet::PubRel(a) if a.packet_id == p2));
        assert_eq!(s.metrics().inflight, 1);
        feed(&mut s, 6, Packet::PubComp(Ack::new(p2)));
        assert_eq!(
            events(&mut s),
            vec![
                Event::PublishDone { id: q1, outcome: PublishOutcome::Confirmed(ReasonCode::SUCCESS) },
                Event::PublishDone { id: q2, outcome: PublishOutcome::Confirmed(ReasonCode::SUCCESS) },
            ]
        );
        let m = s.metrics();
        assert_eq!((m.sent, m.inflight, m.queued_messages), (3, 0, 0));
    }
}

#[test]
fn incoming_qos2_is_delivered_once_until_pubrel() {
    for v in [V311, V5] {
        let mut s = connected(v, Properties::default());
        let publish = |dup| Publish {
            dup,
            qos: Qos::ExactlyOnce,
            retain: false,
            topic: "in",
            packet_id: Some(7),
            payload: b"x",
            properties: Properties::default(),
        };
        feed(&mut s, 2, Packet::Publish(publish(false)));
        feed(&mut s, 3, Packet::Publish(publish(true)));
        let got: Vec<Event> = events(&mut s);
        assert_eq!(got.len(), 1, "{v:?}: delivered once");
        assert!(
            matches!(&got[0], Event::Message(m) if m.topic == "in" && m.payload == b"x" && m.qos == Qos::ExactlyOnce)
        );
        let sent = written(&mut s, 3);
        assert!(
            sent.iter().all(|b| matches!(parse(b, v), Packet::PubRec(a) if a.packet_id == 7))
                && sent.len() == 2
        );
        feed(&mut s, 4, Packet::PubRel(Ack::new(7)));
        let sent = written(&mut s, 4);
        assert!(
            matches!(parse(&sent[0], v), Packet::PubComp(a) if a.packet_id == 7 && a.reason == ReasonCode::SUCCESS)
        );
        // After release the id is free: a new message with it is a new delivery.
        feed(&mut s, 5, Packet::Publish(publish(false)));
        assert_eq!(events(&mut s).len(), 1);
        assert_eq!(s.metrics().duplicates, 1);
        // QoS 1 in: delivered and acknowledged.
        feed(
            &mut s,
            6,
            Packet::Publish(Publish { qos: Qos::AtLeastOnce, packet_id: Some(9), ..publish(false) }),
        );
        assert_eq!(events(&mut s).len(), 1);
        assert!(
            written(&mut s, 6).iter().any(|b| matches!(parse(b, v), Packet::PubAck(a) if a.packet_id == 9))
        );
    }
}

/// A 3.1.1 session (no Receive Maximum) with our own inflight cap, connected.
fn connected_with_inflight(max_inflight: u16) -> Session {
    connected_with(SessionConfig { max_inflight, ..SessionConfig::new(V311, "c") })
}

fn connected_with(config: SessionConfig) -> Session {
    let mut s = session(config);
    s.connect(0).unwrap();
    written(&mut s, 0);
    feed(&mut s, 1, connack(false, Properties::default()));
    s
}

#[test]
fn our_own_inflight_cap_applies_without_a_receive_maximum() {
    let mut s = connected_with_inflight(3);
    for i in 0..10 {
        s.publish(2, msg("w", &i.to_string(), Qos::ExactlyOnce)).unwrap();
    }
    assert_eq!(publish_ids(&written(&mut s, 2), V311).len(), 3);
    assert_eq!(s.metrics().inflight, 3);
}

/// As `connected_with_inflight`, with `SessionConfig::refill_half_window` on.
fn refilling(max_inflight: u16) -> Session {
    connected_with(SessionConfig { max_inflight, refill_half_window: true, ..SessionConfig::new(V311, "c") })
}

#[test]
fn a_full_window_refills_half_a_window_at_a_time() {
    let mut s = refilling(10);
    for i in 0..30 {
        s.publish(2, msg("w", &i.to_string(), Qos::AtLeastOnce)).unwrap();
    }
    let sent = publish_ids(&written(&mut s, 2), V311);
    assert_eq!(sent.len(), 10, "a quiet connection fills the window at once");
    assert!(s.holding_back(), "the window is full and publishes wait");
    for (id, _) in &sent[..4] {
        feed(&mut s, 3, Packet::PubAck(Ack::new(id.unwrap())));
        assert!(written(&mut s, 3).is_empty(), "no refill while more than half is in flight");
        assert!(s.holding_back(), "the transport must acknowledge this read itself");
    }
    assert_eq!(s.completions_before_refill(), 1, "6 in flight; the window reopens at 5");
    feed(&mut s, 3, Packet::PubAck(Ack::new(sent[4].0.unwrap())));
    assert_eq!(publish_ids(&written(&mut s, 3), V311).len(), 5, "half a window in one write");
    assert_eq!(s.completions_before_refill(), 5);
    assert_eq!((s.metrics().inflight, s.metrics().queued_messages), (10, 15));
}

fn pubrel_ids(sent: &[Vec<u8>], v: ProtocolVersion) -> Vec<u16> {
    sent.iter()
        .filter_map(|b| match parse(b, v) {
            Packet::PubRel(a) => Some(a.packet_id),
            _ => None,
        })
        .collect()
}

#[test]
fn pubrels_wait_for_half_a_window_while_the_window_is_closed() {
    let mut s = refilling(10);
    for i in 0..30 {
        s.publish(2, msg("w", &i.to_string(), Qos::ExactlyOnce)).unwrap();
    }
    let sent = publish_ids(&written(&mut s, 2), V311);
    assert_eq!(sent.len(), 10);
    for (id, _) in &sent[..4] {
        feed(&mut s, 3, Packet::PubRec(Ack::new(id.unwrap())));
        assert!(written(&mut s, 3).is_empty(), "PUBREL held while the window is closed");
        assert!(s.holding_back());
    }
    feed(&mut s, 3, Packet::PubRec(Ack::new(sent[4].0.unwrap())));
    let ids: Vec<u16> = sent[..5].iter().map(|(id, _)| id.unwrap()).collect();
    assert_eq!(pubrel_ids(&written(&mut s, 3), V311), ids, "five PUBRELs in one write, in order");
    for id in &ids {
        feed(&mut s, 4, Packet::PubComp(Ack::new(*id)));
    }
    assert_eq!(publish_ids(&written(&mut s, 4), V311).len(), 5, "the window refills");
    assert_eq!(s.metrics().inflight, 10);
}

#[test]
fn held_pubrels_go_once_no_other_pubrec_is_to_come() {
    // Two QoS 2 publishes in a window otherwise filled with QoS 1 ones.
    let mut s = refilling(10);
    for i in 0..2 {
        s.publish(2, msg("w", &i.to_string(), Qos::ExactlyOnce)).unwrap();
    }
    for i in 0..20 {
        s.publish(2, msg("w", &i.to_string(), Qos::AtLeastOnce)).unwrap();
    }
    let sent = publish_ids(&written(&mut s, 2), V311);
    assert_eq!(sent.len(), 10);
    feed(&mut s, 3, Packet::PubRec(Ack::new(sent[0].0.unwrap())));
    assert!(written(&mut s, 3).is_empty());
    feed(&mut s, 3, Packet::PubRec(Ack::new(sent[1].0.unwrap())));
    assert_eq!(pubrel_ids(&written(&mut s, 3), V311), vec![sent[0].0.unwrap(), sent[1].0.unwrap()]);
}

#[test]
fn held_pubrels_are_resent_after_a_reconnect() {
    let mut s = refilling(10);
    for i in 0..20 {
        s.publish(2, msg("w", &i.to_string(), Qos::ExactlyOnce)).unwrap();
    }
    let sent = publish_ids(&written(&mut s, 2), V311);
    for (id, _) in &sent[..3] {
        feed(&mut s, 3, Packet::PubRec(Ack::new(id.unwrap())));
    }
    assert!(written(&mut s, 3).is_empty(), "three PUBRELs held");
    s.connection_lost(4);
    s.connect(4).unwrap();
    written(&mut s, 4);
    feed(&mut s, 5, connack(true, Properties::default()));
    let again = written(&mut s, 5);
    let held: Vec<u16> = sent[..3].iter().map(|(id, _)| id.unwrap()).collect();
    assert_eq!(pubrel_ids(&again, V311), held, "PUBREL for each message past PUBREC");
    assert_eq!(publish_ids(&again, V311).len(), 7, "the other seven resent");
    assert!(publish_ids(&again, V311).iter().all(|(_, dup)| *dup));
}

#[test]
fn without_refill_half_window_each_acknowledgement_refills_its_place() {
    let mut s = connected_with_inflight(10);
    for i in 0..30 {
        s.publish(2, msg("w", &i.to_string(), Qos::AtLeastOnce)).unwrap();
    }
    let sent = publish_ids(&written(&mut s, 2), V311);
    assert_eq!(sent.len(), 10);
    for (id, _) in &sent[..4] {
        feed(&mut s, 3, Packet::PubAck(Ack::new(id.unwrap())));
        assert_eq!(publish_ids(&written(&mut s, 3), V311).len(), 1, "one place, one publish");
        assert!(!s.holding_back());
    }
}

#[test]
fn receive_maximum_limits_the_inflight_window() {
    let mut s = connected(V5, Properties { receive_maximum: Some(2), ..Properties::default() });
    let ids: Vec<_> =
        (0..5).map(|i| s.publish(2, msg("w", &i.to_string(), Qos::AtLeastOnce)).unwrap()).collect();
    let sent = publish_ids(&written(&mut s, 2), V5);
    assert_eq!(sent.len(), 2, "only Receive Maximum in flight");
    assert_eq!(s.metrics().queued_messages, 3);
    feed(&mut s, 3, Packet::PubAck(Ack::new(sent[0].0.unwrap())));
    assert_eq!(publish_ids(&written(&mut s, 3), V5).len(), 1, "one slot freed, one more sent");
    assert_eq!(
        events(&mut s),
        vec![Event::PublishDone { id: ids[0], outcome: PublishOutcome::Confirmed(ReasonCode::SUCCESS) }]
    );
}

#[test]
fn resumed_session_resends_unacknowledged_with_dup_and_same_ids() {
    for v in [V311, V5] {
        let mut s = connected(v, Properties::default());
        for i in 0..3 {
            s.publish(2, msg("r", &i.to_string(), Qos::AtLeastOnce)).unwrap();
        }
        s.publish(2, msg("r", "two", Qos::ExactlyOnce)).unwrap();
        let first = publish_ids(&written(&mut s, 2), v);
        let qos2_id = first[3].0.unwrap();
        feed(&mut s, 3, Packet::PubAck(Ack::new(first[1].0.unwrap())));
        feed(&mut s, 3, Packet::PubRec(Ack::new(qos2_id)));
        written(&mut s, 3);
        events(&mut s);
        s.connection_lost(4);
        assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::TransportClosed)]);
        assert_eq!(s.state(), State::Disconnected);
        // Publishing while disconnected queues.
        s.publish(4, msg("r", "later", Qos::AtLeastOnce)).unwrap();
        s.set_clean_start(false);
        s.connect(5).unwrap();
        let connect = written(&mut s, 5);
        assert!(matches!(parse(&connect[0], v), Packet::Connect(c) if !c.clean_start));
        feed(&mut s, 6, connack(true, Properties::default()));
        let resent = written(&mut s, 6);
        let kinds: Vec<String> = resent
            .iter()
            .map(|b| match parse(b, v) {
                Packet::Publish(p) => format!("PUBLISH {} dup={}", p.packet_id.unwrap(), p.dup),
                Packet::PubRel(a) => format!("PUBREL {}", a.packet_id),
                other => format!("{other:?}"),
            })
            .collect();
        let (a, c) = (first[0].0.unwrap(), first[2].0.unwrap());
        assert_eq!(
            kinds[..3],
            [format!("PUBLISH {a} dup=true"), format!("PUBLISH {c} dup=true"), format!("PUBREL {qos2_id}")],
            "{v:?}"
        );
        assert!(kinds[3].ends_with("dup=false"), "the queued message follows as new: {kinds:?}");
        assert_eq!(s.metrics().retransmitted, 3);
        assert_eq!(s.metrics().reconnects, 1);
    }
}

#[test]
fn lost_session_requeues_as_new_and_resubscribes() {
    let v = V5;
    let mut s = connected(v, Properties::default());
    let sub = s
        .subscribe(1, vec![("sensors/#".into(), SubscriptionOptions::qos(Qos::AtLeastOnce))], Some(5))
        .unwrap();
    let sent = written(&mut s, 1);
    let Packet::Subscribe(sp) = parse(&sent[0], v) else { panic!("SUBSCRIBE expected") };
    assert_eq!(sp.properties.subscription_identifiers, vec![5]);
    feed(
        &mut s,
        2,
        Packet::SubAck(SubAck {
            packet_id: sp.packet_id,
            reasons: vec![ReasonCode::GRANTED_QOS_1],
            properties: Properties::default(),
        }),
    );
    assert_eq!(events(&mut s), vec![Event::Subscribed { id: sub, reasons: vec![ReasonCode::GRANTED_QOS_1] }]);
    let q1 = s.publish(3, msg("x", "1", Qos::AtLeastOnce)).unwrap();
    let q2 = s.publish(3, msg("x", "2", Qos::ExactlyOnce)).unwrap();
    let ids = publish_ids(&written(&mut s, 3), v);
    feed(&mut s, 4, Packet::PubRec(Ack::new(ids[1].0.unwrap())));
    written(&mut s, 4);
    s.connection_lost(5);
    s.connect(5).unwrap();
    written(&mut s, 5);
    feed(&mut s, 6, connack(false, Properties::default()));
    let sent = written(&mut s, 6);
    let packets: Vec<Packet<'_>> = sent.iter().map(|b| parse(b, v)).collect();
    assert!(
        matches!(&packets[0], Packet::Subscribe(p) if p.filters[0].0 == "sensors/#" && p.properties.subscription_identifiers == vec![5])
    );
    assert!(
        matches!(&packets[1], Packet::Publish(p) if !p.dup && p.payload == b"1"),
        "requeued as new: {packets:?}"
    );
    assert_eq!(packets.len(), 2, "the QoS 2 message the server had taken (PUBREC) is not resent");
    let evs = events(&mut s);
    assert!(
        evs.contains(&Event::PublishDone { id: q2, outcome: PublishOutcome::SessionLost }),
        "taken by the server (PUBREC), then its session lost: neither confirmed nor resent"
    );
    assert!(!evs.iter().any(|e| matches!(e, Event::PublishDone { id, .. } if *id == q1)));
}

#[test]
fn topic_aliases_both_ways() {
    let v = V5;
    let mut s = connected(v, Properties { topic_alias_maximum: Some(1), ..Properties::default() });
    for _ in 0..2 {
        s.publish(2, msg("long/topic/name", "x", Qos::AtMostOnce)).unwrap();
    }
    s.publish(2, msg("other", "y", Qos::AtMostOnce)).unwrap();
    let sent = written(&mut s, 2);
    let seen: Vec<(String, Option<u16>)> = sent
        .iter()
        .map(|b| match parse(b, v) {
            Packet::Publish(p) => (p.topic.to_string(), p.properties.topic_alias),
            _ => panic!(),
        })
        .collect();
    assert_eq!(seen, vec![("long/topic/name".into(), Some(1)), ("".into(), Some(1)), ("other".into(), None)]);
    // Incoming: the server defines alias 3, then uses it with an empty topic.
    let with_alias = |topic, alias| Publish {
        dup: false,
        qos: Qos::AtMostOnce,
        retain: false,
        topic,
        packet_id: None,
        payload: b"p",
        properties: Properties { topic_alias: Some(alias), ..Properties::default() },
    };
    feed(&mut s, 3, Packet::Publish(with_alias("srv/topic", 3)));
    feed(&mut s, 3, Packet::Publish(with_alias("", 3)));
    let topics: Vec<String> = events(&mut s)
        .into_iter()
        .filter_map(|e| if let Event::Message(m) = e { Some(m.topic) } else { None })
        .collect();
    assert_eq!(topics, vec!["srv/topic", "srv/topic"]);
    // An alias never defined is a protocol error: DISCONNECT 0x94.
    feed(&mut s, 4, Packet::Publish(with_alias("", 9)));
    let sent = written(&mut s, 4);
    assert!(
        matches!(parse(&sent[0], v), Packet::Disconnect(d) if d.reason == ReasonCode::TOPIC_ALIAS_INVALID)
    );
    assert!(matches!(events(&mut s)[..], [Event::Disconnected(Disconnect::ProtocolError(_))]));
}

#[test]
fn keep_alive_pings_and_detects_a_dead_server() {
    let mut s = connected(V311, Properties::default());
    assert_eq!(s.poll_timeout(), Some(60_000), "keep alive 60 s after the last write (CONNECT at 0)");
    s.handle_timeout(60_000);
    assert!(matches!(parse(&written(&mut s, 60_000)[0], V311), Packet::PingReq));
    feed(&mut s, 60_010, Packet::PingResp);
    s.handle_timeout(120_000);
    written(&mut s, 120_000);
    // No PINGRESP this time.
    s.handle_timeout(130_001);
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::KeepAliveTimeout)]);
    let reconnect = s.poll_timeout().expect("a reconnect is scheduled");
    assert!((130_001..=130_101).contains(&reconnect), "within the first backoff: {reconnect}");
    // The server's keep alive overrides ours (5.0).
    let s = connected(V5, Properties { server_keep_alive: Some(5), ..Properties::default() });
    assert_eq!(s.poll_timeout(), Some(5_000));
}

#[test]
fn bounded_outbox_fails_or_drops_the_oldest() {
    use nomq_proto::error::{Error, InvalidInput, ResourceError, Table};
    let mut config = SessionConfig::new(V311, "c");
    config.max_outbox_messages = 3;
    let mut s = session(config.clone());
    for i in 0..3 {
        s.publish(0, msg("q", &i.to_string(), Qos::AtLeastOnce)).unwrap();
    }
    assert_eq!(
        s.publish(0, msg("q", "x", Qos::AtLeastOnce)),
        Err(Error::Resource(ResourceError::Full(Table::Outbox)))
    );
    let m = s.metrics();
    assert_eq!((m.queued_messages, m.queued_bytes), (3, 6));
    config.outbox_policy = OutboxPolicy::DropOldest;
    config.max_outbox_bytes = 10;
    let mut s = session(config);
    let first = s.publish(0, msg("q", "0", Qos::AtLeastOnce)).unwrap();
    for i in 1..3 {
        s.publish(0, msg("q", &i.to_string(), Qos::AtLeastOnce)).unwrap();
    }
    s.publish(0, msg("q", "x", Qos::AtLeastOnce)).unwrap();
    assert_eq!(events(&mut s), vec![Event::Dropped { id: first }]);
    assert_eq!(s.metrics().dropped, 1);
    s.publish(0, msg("q", "12345678", Qos::AtLeastOnce)).unwrap();
    assert!(s.metrics().queued_bytes <= 10, "byte bound: {:?}", s.metrics());
    // A message larger than the whole bound is refused, and evicts nothing to try.
    let before = s.metrics();
    assert_eq!(
        s.publish(0, msg("q", "0123456789ab", Qos::AtLeastOnce)),
        Err(Error::Invalid(InvalidInput::PayloadTooLarge))
    );
    assert_eq!(s.metrics(), before, "nothing dropped for a message that could never fit");
}

#[test]
fn queued_messages_expire_and_carry_the_remaining_interval() {
    let mut s = session(SessionConfig::new(V5, "c"));
    let mut m = msg("e", "soon", Qos::AtLeastOnce);
    m.properties = MessageProperties { message_expiry_interval: Some(10), ..MessageProperties::default() };
    let short = s.publish(0, m.clone()).unwrap();
    m.properties.message_expiry_interval = Some(100);
    s.publish(0, m).unwrap();
    s.connect(30_000).unwrap();
    written(&mut s, 30_000);
    feed(&mut s, 30_000, connack(false, Properties::default()));
    let sent = written(&mut s, 30_000);
    assert_eq!(sent.len(), 1);
    assert!(
        matches!(parse(&sent[0], V5), Packet::Publish(p) if p.properties.message_expiry_interval == Some(70))
    );
    assert!(events(&mut s).contains(&Event::PublishDone { id: short, outcome: PublishOutcome::Expired }));
}

#[test]
fn refusals_and_hostile_servers_end_cleanly() {
    // A 5.0 server refusing a publish.
    let mut s = connected(V5, Properties::default());
    let id = s.publish(1, msg("t", "x", Qos::AtLeastOnce)).unwrap();
    let pid = publish_ids(&written(&mut s, 1), V5)[0].0.unwrap();
    feed(&mut s, 2, Packet::PubAck(Ack { reason: ReasonCode::NOT_AUTHORIZED, ..Ack::new(pid) }));
    assert_eq!(
        events(&mut s),
        vec![Event::PublishDone { id, outcome: PublishOutcome::Refused(ReasonCode::NOT_AUTHORIZED) }]
    );
    // Refused connection.
    let mut s = session(SessionConfig::new(V311, "c"));
    s.connect(0).unwrap();
    s.handle_bytes(0, &[0x20, 0x02, 0x00, 0x05]);
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::Refused(ReasonCode(5)))]);
    assert_eq!(s.state(), State::Disconnected);
    // Garbage from the server: DISCONNECT 0x81 (5.0) and a clean state change, no panic.
    let mut s = connected(V5, Properties::default());
    s.handle_bytes(2, &[0x00, 0x00]);
    assert!(
        matches!(parse(&written(&mut s, 2)[0], V5), Packet::Disconnect(d) if d.reason == ReasonCode::MALFORMED_PACKET)
    );
    assert!(matches!(events(&mut s)[..], [Event::Disconnected(Disconnect::ProtocolError(_))]));
    // A packet over our maximum packet size: 0x95.
    let mut config = SessionConfig::new(V5, "c");
    config.maximum_packet_size = 64;
    let mut s = session(config);
    s.connect(0).unwrap();
    written(&mut s, 0);
    feed(&mut s, 1, connack(false, Properties::default()));
    events(&mut s);
    s.handle_bytes(2, &[0x30, 0xff, 0x01]);
    assert!(
        matches!(parse(&written(&mut s, 2)[0], V5), Packet::Disconnect(d) if d.reason == ReasonCode::PACKET_TOO_LARGE)
    );
    // The default maximum is 1 MiB: a packet announcing 1 MiB + 1 byte is refused as soon as
    // its length is read, before anything is buffered.
    let mut s = connected(V5, Properties::default());
    assert_eq!(s.config().maximum_packet_size, 1 << 20);
    s.handle_bytes(2, &[0x30, 0xfc, 0xff, 0x3f]); // 4 header bytes + 1,048,572: exactly 1 MiB
    assert_eq!(s.state(), State::Connected, "a packet of exactly 1 MiB is allowed");
    let mut s = connected(V5, Properties::default());
    s.handle_bytes(2, &[0x30, 0xfd, 0xff, 0x3f]); // one byte more
    assert!(
        matches!(parse(&written(&mut s, 2)[0], V5), Packet::Disconnect(d) if d.reason == ReasonCode::PACKET_TOO_LARGE)
    );
    // A server DISCONNECT.
    let mut s = connected(V5, Properties::default());
    feed(
        &mut s,
        3,
        Packet::Disconnect(ReasonPacket {
            reason: ReasonCode::SERVER_SHUTTING_DOWN,
            properties: Properties::default(),
        }),
    );
    assert_eq!(
        events(&mut s),
        vec![Event::Disconnected(Disconnect::ByServer(ReasonCode::SERVER_SHUTTING_DOWN))]
    );
    // A PUBLISH before CONNACK is a protocol error.
    let mut s = session(SessionConfig::new(V311, "c"));
    s.connect(0).unwrap();
    feed(&mut s, 1, Packet::PingResp);
    assert!(matches!(events(&mut s)[..], [Event::Disconnected(Disconnect::ProtocolError(_))]));
}

#[test]
fn bytes_arriving_one_at_a_time_work() {
    let mut s = session(SessionConfig::new(V5, "c"));
    s.connect(0).unwrap();
    let mut stream = vec![];
    for p in
        [connack(false, Properties { receive_maximum: Some(10), ..Properties::default() }), Packet::PingResp]
    {
        let mut b = vec![0u8; p.encoded_len(V5)];
        p.encode(V5, &mut b).unwrap();
        stream.extend(b);
    }
    for b in stream {
        s.handle_bytes(1, &[b]);
    }
    assert_eq!(events(&mut s), vec![Event::Connected { session_present: false }]);
    assert_eq!(s.state(), State::Connected);
}

/// MQTT 5.0 §4.12: the method and initial data go in CONNECT, the server's challenge comes back
/// as an event, the answer carries the method; a challenge we did not ask for is a protocol error.
#[test]
fn enhanced_authentication_challenge_response_and_reauthentication() {
    let auth = |reason, data| {
        Packet::Auth(ReasonPacket {
            reason,
            properties: Properties {
                authentication_method: Some("TOKEN-1"),
                authentication_data: Some(data),
                ..Properties::default()
            },
        })
    };
    let mut config = SessionConfig::new(V5, "c");
    config.authentication_method = Some("TOKEN-1".into());
    config.authentication_data = Some(b"client-first".to_vec());
    let mut s = session(config);
    s.connect(0).unwrap();
    let sent = written(&mut s, 0);
    let Packet::Connect(c) = parse(&sent[0], V5) else { panic!("CONNECT first") };
    assert_eq!(c.properties.authentication_method, Some("TOKEN-1"));
    assert_eq!(c.properties.authentication_data, Some(&b"client-first"[..]));

    feed(&mut s, 1, auth(ReasonCode::CONTINUE_AUTHENTICATION, b"server-nonce"));
    assert_eq!(
        events(&mut s),
        vec![Event::AuthChallenge {
            reason: ReasonCode::CONTINUE_AUTHENTICATION,
            data: b"server-nonce".to_vec()
        }]
    );
    s.auth(2, ReasonCode::CONTINUE_AUTHENTICATION, b"client-proof").unwrap();
    let sent = written(&mut s, 2);
    let Packet::Auth(a) = parse(&sent[0], V5) else { panic!("AUTH answer") };
    assert_eq!(a.reason, ReasonCode::CONTINUE_AUTHENTICATION);
    assert_eq!(a.properties.authentication_method, Some("TOKEN-1"));
    assert_eq!(a.properties.authentication_data, Some(&b"client-proof"[..]));
    // Only CONNACK ends the exchange; re-authenticating before it is refused.
    assert!(s.auth(2, ReasonCode::REAUTHENTICATE, b"x").is_err());
    feed(&mut s, 3, connack(false, Properties::default()));
    assert_eq!(events(&mut s), vec![Event::Connected { session_present: false }]);
    s.auth(4, ReasonCode::REAUTHENTICATE, b"again").unwrap();
    assert!(
        matches!(parse(&written(&mut s, 4)[0], V5), Packet::Auth(a) if a.reason == ReasonCode::REAUTHENTICATE)
    );
    feed(&mut s, 5, auth(ReasonCode::SUCCESS, b""));
    assert_eq!(events(&mut s), vec![Event::AuthChallenge { reason: ReasonCode::SUCCESS, data: vec![] }]);
    assert!(s.auth(6, ReasonCode::SUCCESS, b"").is_err(), "only 0x18 and 0x19 are client reasons");

    // No method configured: the session cannot answer, and a server AUTH ends the connection.
    let mut s = connected(V5, Properties::default());
    assert!(s.auth(2, ReasonCode::REAUTHENTICATE, b"x").is_err());
    feed(&mut s, 2, auth(ReasonCode::CONTINUE_AUTHENTICATION, b"unasked"));
    assert!(
        matches!(parse(&written(&mut s, 2)[0], V5), Packet::Disconnect(d) if d.reason == ReasonCode::PROTOCOL_ERROR)
    );
    assert!(matches!(events(&mut s)[..], [Event::Disconnected(Disconnect::ProtocolError(_))]));
    // 3.1.1 has no AUTH at all.
    let mut config = SessionConfig::new(V311, "c");
    config.authentication_method = Some("TOKEN-1".into());
    let mut s = session(config);
    s.connect(0).unwrap();
    assert!(s.auth(0, ReasonCode::CONTINUE_AUTHENTICATION, b"x").is_err());
}

#[test]
fn reconnects_resume_the_session_and_a_recovered_pubcomp_0x92_is_a_delivery() {
    for v in [V311, V5] {
        let mut s = connected(v, Properties::default());
        let id = s.publish(2, msg("r", "two", Qos::ExactlyOnce)).unwrap();
        let pid = publish_ids(&written(&mut s, 2), v)[0].0.unwrap();
        feed(&mut s, 3, Packet::PubRec(Ack::new(pid)));
        written(&mut s, 3); // PUBREL, then the connection drops before PUBCOMP
        events(&mut s);
        s.connection_lost(4);
        s.connect(5).unwrap();
        let connect = written(&mut s, 5);
        assert!(
            matches!(parse(&connect[0], v), Packet::Connect(c) if !c.clean_start),
            "{v:?}: a reconnect resumes the session"
        );
        feed(&mut s, 6, connack(true, Properties::default()));
        let resent = written(&mut s, 6);
        assert!(matches!(parse(&resent[0], v), Packet::PubRel(a) if a.packet_id == pid));
        // The server had completed it before the connection dropped.
        let reason = if v == V5 { ReasonCode::PACKET_ID_NOT_FOUND } else { ReasonCode::SUCCESS };
        feed(&mut s, 7, Packet::PubComp(Ack { packet_id: pid, reason, properties: Properties::default() }));
        assert_eq!(
            events(&mut s)[2..],
            [Event::PublishDone { id, outcome: PublishOutcome::Confirmed(reason) }],
            "{v:?}"
        );
    }
}

#[test]
fn an_alias_defined_for_a_publish_that_was_not_written_is_taken_back() {
    let v = V5;
    let mut s = session(SessionConfig::new(v, "alias"));
    // Queued before the server's limits are known.
    let big = s.publish(0, msg("t/a", &"x".repeat(300), Qos::AtMostOnce)).unwrap();
    s.connect(0).unwrap();
    written(&mut s, 0);
    let limits =
        Properties { topic_alias_maximum: Some(4), maximum_packet_size: Some(200), ..Properties::default() };
    feed(&mut s, 1, connack(false, limits));
    let evs = events(&mut s);
    assert!(
        evs.contains(&Event::PublishDone {
            id: big,
            outcome: PublishOutcome::Refused(ReasonCode::PACKET_TOO_LARGE)
        }),
        "{evs:?}"
    );
    assert!(written(&mut s, 1).is_empty());
    s.publish(2, msg("t/a", "small", Qos::AtMostOnce)).unwrap();
    let sent = written(&mut s, 2);
    assert!(
        matches!(parse(&sent[0], v), Packet::Publish(p) if p.topic == "t/a" && p.properties.topic_alias == Some(1)),
        "the alias is defined again, with its topic"
    );
}

#[test]
fn a_message_queued_above_the_servers_limits_is_refused_not_sent() {
    let v = V5;
    let mut s = session(SessionConfig::new(v, "limits"));
    let qos2 = s.publish(0, msg("t", "2", Qos::ExactlyOnce)).unwrap();
    let mut retained = msg("t", "r", Qos::AtMostOnce);
    retained.retain = true;
    let retained = s.publish(0, retained).unwrap();
    let fine = s.publish(0, msg("t", "1", Qos::AtLeastOnce)).unwrap();
    s.connect(0).unwrap();
    written(&mut s, 0);
    let limits = Properties { maximum_qos: Some(1), retain_available: Some(0), ..Properties::default() };
    feed(&mut s, 1, connack(false, limits));
    let evs = events(&mut s);
    assert!(evs.contains(&Event::PublishDone {
        id: qos2,
        outcome: PublishOutcome::Refused(ReasonCode::QOS_NOT_SUPPORTED)
    }));
    assert!(evs.contains(&Event::PublishDone {
        id: retained,
        outcome: PublishOutcome::Refused(ReasonCode::RETAIN_NOT_SUPPORTED)
    }));
    let sent = publish_ids(&written(&mut s, 1), v);
    assert_eq!(sent.len(), 1, "only the message within the limits is sent: {sent:?}");
    feed(&mut s, 2, Packet::PubAck(Ack::new(sent[0].0.unwrap())));
    assert!(matches!(events(&mut s)[..], [Event::PublishDone { id, .. }] if id == fine));
}

#[test]
fn a_late_pingresp_does_not_end_the_connection_while_reading_is_paused() {
    let mut s = connected(V311, Properties::default());
    // The application stopped taking messages: the caller stopped reading.
    s.set_reading_paused(true);
    s.handle_timeout(60_000);
    assert!(matches!(parse(&written(&mut s, 60_000)[0], V311), Packet::PingReq), "still pings");
    s.handle_timeout(70_001);
    s.handle_timeout(80_002);
    assert!(events(&mut s).is_empty(), "the PINGRESP may be among the unread bytes");
    assert_eq!(s.state(), State::Connected);
    // Reading again: the PINGRESP is read, and the keep alive goes on.
    s.set_reading_paused(false);
    feed(&mut s, 80_003, Packet::PingResp);
    s.handle_timeout(140_000);
    assert!(matches!(parse(&written(&mut s, 140_000)[0], V311), Packet::PingReq));
    // Reading and still no PINGRESP: dead.
    s.handle_timeout(150_001);
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::KeepAliveTimeout)]);
}

#[test]
fn a_v5_session_outlives_a_lost_connection_by_default_so_qos2_stays_exactly_once() {
    // Default 5.0 options ask the server to keep the session for the resume window, so the
    // reconnect that follows a lost PUBREC resumes it: the PUBLISH goes again with DUP and its
    // id, not as a new message.
    let mut s = session(SessionConfig::new(V5, "resume"));
    s.connect(0).unwrap();
    let sent = written(&mut s, 0);
    let Packet::Connect(c) = parse(&sent[0], V5) else { panic!("CONNECT expected") };
    assert_eq!(c.properties.session_expiry_interval, Some(nomq_proto::mqtt::session::RESUME_WINDOW_S));
    feed(&mut s, 1, connack(false, Properties::default()));
    events(&mut s);
    s.publish(2, msg("t", "once", Qos::ExactlyOnce)).unwrap();
    let first = publish_ids(&written(&mut s, 2), V5);
    s.connection_lost(3);
    // Reconnect: Clean Start 0, and the server (which kept the session) says so.
    let until = s.poll_timeout().unwrap();
    s.handle_timeout(until);
    assert_eq!(events(&mut s), vec![Event::Disconnected(Disconnect::TransportClosed), Event::OpenTransport]);
    s.connect(until).unwrap();
    let sent = written(&mut s, until);
    let Packet::Connect(c) = parse(&sent[0], V5) else { panic!("CONNECT expected") };
    assert!(!c.clean_start);
    feed(&mut s, until + 1, connack(true, Properties::default()));
    let again = publish_ids(&written(&mut s, until + 1), V5);
    assert_eq!(again, vec![(first[0].0, true)], "the same id, with DUP");
    // 3.1.1 has no session expiry.
    assert_eq!(SessionConfig::new(V311, "x").session_expiry_interval, 0);
}
