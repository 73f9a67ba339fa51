//! The handles read events flat into a caller's buffer: an event that does not fit stays
//! queued and reports the room it needs, then arrives whole in a large enough buffer.

use nomq_handle::endpoint::{EndpointEventKind, EndpointOutcome};
use nomq_handle::session::{MqttEventKind, Spilled};
use nomq_handle::{EndpointHandle, SessionHandle};
use nomq_proto::endpoint::{EndpointConfig, PublishOptions, SeededRandom};
use nomq_proto::frame::{Qos, Version};
use nomq_proto::mqtt::ProtocolVersion;
use nomq_proto::mqtt::session::SessionConfig;
use nomq_proto::{ErrorKind, Keys, MonoMillis, Now, UnixMillis};

#[test]
fn a_session_event_too_large_for_the_buffer_stays_queued() {
    let mut h =
        SessionHandle::new(SessionConfig::new(ProtocolVersion::V311, "h"), Box::new(SeededRandom::new(1)))
            .unwrap();
    let mut buf = [0u8; 64];
    h.session_mut().start(0);
    assert_eq!(h.poll_event(&mut buf).unwrap().unwrap().kind, MqttEventKind::OpenTransport);
    h.session_mut().connect(0).unwrap();
    h.session_mut().handle_bytes(1, &[0x20, 0x02, 0x00, 0x00]); // CONNACK accepted
    assert_eq!(h.poll_event(&mut buf).unwrap().unwrap().kind, MqttEventKind::Connected);
    // PUBLISH QoS 0, topic "t/x", payload "hello".
    h.session_mut().handle_bytes(2, &[0x30, 10, 0, 3, b't', b'/', b'x', b'h', b'e', b'l', b'l', b'o']);
    let mut small = [0u8; 7];
    assert_eq!(
        h.poll_event(&mut small),
        Err(Spilled { kind: MqttEventKind::Message, topic_len: 3, payload_len: 5 })
    );
    let mut exact = [0u8; 8];
    let m = h.poll_event(&mut exact).unwrap().unwrap();
    assert_eq!((m.kind, m.topic, m.payload), (MqttEventKind::Message, &b"t/x"[..], &b"hello"[..]));
    assert_eq!(h.poll_event(&mut buf), Ok(None));
}

#[test]
fn an_invalid_session_config_is_refused_with_its_kind() {
    let mut config = SessionConfig::new(ProtocolVersion::V311, "h");
    config.max_inflight = 0;
    let e = SessionHandle::new(config, Box::new(SeededRandom::new(1))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn an_endpoint_message_too_large_for_the_buffer_stays_queued() {
    let keys = Keys::new([1; 32], [2; 32]);
    let config = || EndpointConfig::new(Version::V2);
    let mut a = EndpointHandle::new(config(), &keys, Box::new(SeededRandom::new(1)), MonoMillis(0)).unwrap();
    let mut b = EndpointHandle::new(config(), &keys, Box::new(SeededRandom::new(2)), MonoMillis(0)).unwrap();
    let (a_addr, b_addr) = ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
    let channel = b.channel("room/1");
    b.endpoint_mut().subscribe(&channel).unwrap();
    let to_b = a.channel("room/1");
    let options = PublishOptions { qos: Qos::AtMostOnce, ..PublishOptions::default() };
    let id = a.endpoint_mut().publish(MonoMillis(0), b_addr, &to_b, b"payload", options).unwrap();
    let mut datagram = vec![0u8; a.endpoint().max_datagram_len()];
    let now = UnixMillis(1_700_000_000_000);
    let sent = a.endpoint_mut().poll_transmit(now, &mut datagram).unwrap().unwrap();
    b.endpoint_mut().handle_datagram(Now::new(now, MonoMillis(1)), a_addr, &datagram[..sent.len]);
    let mut small = [0u8; 10];
    let spilled = loop {
        match b.poll_event(&mut small) {
            Ok(Some(e)) if e.kind == EndpointEventKind::PeerAlive => continue,
            other => break other.unwrap_err(),
        }
    };
    assert_eq!((spilled.kind, spilled.channel_len, spilled.payload_len), (EndpointEventKind::Message, 6, 7));
    let mut buf = [0u8; 13];
    let m = b.poll_event(&mut buf).unwrap().unwrap();
    assert_eq!((m.channel, m.payload, m.peer), (&b"room/1"[..], &b"payload"[..], Some(a_addr)));
    let mut none = [0u8; 0];
    let done = loop {
        match a.poll_event(&mut none).unwrap() {
            Some(e) if e.kind == EndpointEventKind::PublishDone => break e,
            Some(_) => continue,
            None => panic!("no PUBLISH_DONE for the QoS 0 publish"),
        }
    };
    assert_eq!((done.publish_id, done.outcome), (id.0, EndpointOutcome::Sent));
}

/// The promised event buffer, `max_packet_size` plus the longest topic, holds a message whose
/// topic came from an alias (so the packet carried only the payload), while `max_packet_size`
/// alone does not.
#[test]
fn the_promised_event_buffer_holds_an_aliased_message_of_the_largest_packet() {
    use nomq_proto::mqtt::codec::{ConnAck, Properties, Publish};
    use nomq_proto::mqtt::{Packet, ReasonCode};
    const MAX: u32 = 4096;
    let mut config = SessionConfig::new(ProtocolVersion::V5, "h");
    config.maximum_packet_size = MAX;
    config.topic_alias_maximum = 1;
    let mut h = SessionHandle::new(config, Box::new(SeededRandom::new(1))).unwrap();
    let feed = |h: &mut SessionHandle, p: Packet<'_>| {
        let mut b = vec![0u8; p.encoded_len(ProtocolVersion::V5)];
        p.encode(ProtocolVersion::V5, &mut b).unwrap();
        h.session_mut().handle_bytes(2, &b);
    };
    let mut buf = vec![0u8; MAX as usize + 65_535];
    h.session_mut().start(0);
    h.session_mut().connect(0).unwrap();
    let ok =
        ConnAck { session_present: false, reason: ReasonCode::SUCCESS, properties: Properties::default() };
    feed(&mut h, Packet::ConnAck(ok));
    while h.poll_event(&mut buf).unwrap().is_some() {}
    // The alias is defined with a short message on a long topic, then used by one as large as a
    // packet may be, whose topic is left out.
    let topic = "t".repeat(3000);
    let with_alias = |payload: &'static [u8], topic: &'static str| Publish {
        dup: false,
        qos: Qos::AtMostOnce,
        retain: false,
        topic,
        packet_id: None,
        payload,
        properties: Properties { topic_alias: Some(1), ..Properties::default() },
    };
    let topic: &'static str = Box::leak(topic.into_boxed_str());
    feed(&mut h, Packet::Publish(with_alias(b"first", topic)));
    assert!(h.poll_event(&mut buf).unwrap().is_some());
    let overhead = Packet::Publish(with_alias(b"", "")).encoded_len(ProtocolVersion::V5);
    let payload: &'static [u8] = Box::leak(vec![7u8; MAX as usize - overhead - 2].into_boxed_slice());
    let largest = Packet::Publish(with_alias(payload, ""));
    assert!(largest.encoded_len(ProtocolVersion::V5) <= MAX as usize);
    feed(&mut h, largest);
    let mut packet_sized = vec![0u8; MAX as usize];
    assert!(h.poll_event(&mut packet_sized).is_err(), "max_packet_size alone is not enough");
    let m = h.poll_event(&mut buf).unwrap().unwrap();
    assert_eq!((m.kind, m.topic.len(), m.payload.len()), (MqttEventKind::Message, 3000, payload.len()));
}

#[test]
fn outcomes_can_be_taken_past_messages_the_caller_has_no_room_for() {
    let keys = Keys::new([1; 32], [2; 32]);
    let config = || EndpointConfig::new(Version::V1);
    let mut a = EndpointHandle::new(config(), &keys, Box::new(SeededRandom::new(1)), MonoMillis(0)).unwrap();
    let mut b = EndpointHandle::new(config(), &keys, Box::new(SeededRandom::new(2)), MonoMillis(0)).unwrap();
    let (a_addr, b_addr): (std::net::SocketAddr, std::net::SocketAddr) =
        ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
    // a subscribes too, so both directions carry messages: a's queue ends up with messages
    // from b interleaved with the outcomes of its own publishes.
    let ch_a = a.channel("c");
    let ch_b = b.channel("c");
    a.endpoint_mut().subscribe(&ch_a).unwrap();
    b.endpoint_mut().subscribe(&ch_b).unwrap();
    let qos1 = PublishOptions { qos: Qos::AtLeastOnce, ..PublishOptions::default() };
    let now = UnixMillis(1_700_000_000_000);
    let mut ids = vec![];
    let mut datagram = vec![0u8; 4096];
    for i in 0..3u8 {
        b.endpoint_mut().publish(MonoMillis(0), a_addr, &ch_b, &[b'm', b'0' + i], qos1).unwrap();
        ids.push(a.endpoint_mut().publish(MonoMillis(0), b_addr, &ch_a, b"out", qos1).unwrap());
        while carry(&mut a, &mut b, a_addr, now, &mut datagram)
            | carry(&mut b, &mut a, b_addr, now, &mut datagram)
        {}
    }
    // With no room for messages at all, a message first in line spills; the outcomes still come.
    let mut none = [0u8; 0];
    let mut buf = [0u8; 64];
    let mut done = vec![];
    while let Some(e) = a.poll_event_except_messages(&mut none).unwrap() {
        assert_ne!(e.kind, EndpointEventKind::Message);
        if e.kind == EndpointEventKind::PublishDone {
            assert_eq!(e.outcome, EndpointOutcome::Confirmed);
            done.push(e.publish_id);
        }
    }
    assert_eq!(done, ids.iter().map(|id| id.0).collect::<Vec<_>>(), "every outcome, in order");
    assert!(a.poll_event(&mut none).is_err(), "the messages wait, the first one spilled");
    let mut messages = vec![];
    while let Some(e) = a.poll_event(&mut buf).unwrap() {
        assert_eq!(e.kind, EndpointEventKind::Message, "only messages are left");
        messages.push(e.payload.to_vec());
    }
    assert_eq!(messages, vec![b"m0".to_vec(), b"m1".to_vec(), b"m2".to_vec()], "all three, in order");
}

/// Moves one datagram from `src` (at `from`) to `dst`; false when `src` had none.
fn carry(
    src: &mut EndpointHandle,
    dst: &mut EndpointHandle,
    from: std::net::SocketAddr,
    now: UnixMillis,
    datagram: &mut [u8],
) -> bool {
    match src.endpoint_mut().poll_transmit(now, datagram).unwrap() {
        Some(t) => {
            dst.endpoint_mut().handle_datagram(Now::new(now, MonoMillis(1)), from, &datagram[..t.len]);
            true
        }
        None => false,
    }
}
