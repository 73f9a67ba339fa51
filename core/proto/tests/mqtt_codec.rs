//! MQTT codec: byte-exact packets from the specification's layouts, round trips of
//! every packet type in both versions, and strict refusal of malformed or hostile bytes.

use nomq_proto::frame::Qos;
use nomq_proto::mqtt::codec::{
    Ack, ConnAck, Connect, Properties, Publish, ReasonPacket, SubAck, Subscribe, SubscriptionOptions,
    Unsubscribe, Will,
};
use nomq_proto::mqtt::{MqttError, Packet, ProtocolVersion, ReasonCode, decode};
use proptest::prelude::*;

use ProtocolVersion::{V5, V311};
const MAX: u32 = 268_435_460;

fn encode(p: &Packet<'_>, v: ProtocolVersion) -> Vec<u8> {
    let mut out = vec![0u8; p.encoded_len(v)];
    let n = p.encode(v, &mut out).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    assert_eq!(n, out.len(), "encoded_len is exact");
    out
}

fn round_trip(p: &Packet<'_>, v: ProtocolVersion) -> Vec<u8> {
    let bytes = encode(p, v);
    let (back, used) = decode(&bytes, v, MAX).unwrap().unwrap();
    assert_eq!(used, bytes.len());
    assert_eq!(&back, p);
    // Every strict prefix is incomplete, never an error or a different packet.
    for cut in 0..bytes.len() {
        assert_eq!(decode(&bytes[..cut], v, MAX), Ok(None), "prefix of {cut} bytes of {p:?}");
    }
    bytes
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn connect(v: ProtocolVersion) -> Connect<'static> {
    Connect {
        protocol: v,
        clean_start: true,
        keep_alive: 60,
        client_id: "",
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    }
}

#[test]
fn bytes_match_the_specification_layouts() {
    // §3.1: "MQTT", level 4, flags clean, keep alive 60, empty client id.
    assert_eq!(
        round_trip(&Packet::Connect(Box::new(connect(V311))), V311),
        hex("100c00044d5154540402003c0000")
    );
    // 5.0 adds a zero-length property list after the keep alive.
    assert_eq!(
        round_trip(&Packet::Connect(Box::new(connect(V5))), V5),
        hex("100d00044d5154540502003c000000")
    );
    let ok =
        ConnAck { session_present: true, reason: ReasonCode::SUCCESS, properties: Properties::default() };
    assert_eq!(round_trip(&Packet::ConnAck(ok.clone()), V311), hex("20020100"));
    assert_eq!(round_trip(&Packet::ConnAck(ok), V5), hex("2003010000"));
    let publish = Publish {
        dup: false,
        qos: Qos::AtMostOnce,
        retain: false,
        topic: "a/b",
        packet_id: None,
        payload: b"hi",
        properties: Properties::default(),
    };
    assert_eq!(round_trip(&Packet::Publish(publish.clone()), V311), hex("30070003612f626869"));
    let qos2 = Publish { dup: true, qos: Qos::ExactlyOnce, retain: true, packet_id: Some(10), ..publish };
    assert_eq!(round_trip(&Packet::Publish(qos2), V311), hex("3d090003612f62000a6869"));
    assert_eq!(round_trip(&Packet::PubAck(Ack::new(1)), V311), hex("40020001"));
    assert_eq!(
        round_trip(&Packet::PubRel(Ack::new(1)), V5),
        hex("62020001"),
        "5.0 short form: success, no properties"
    );
    let refused = Ack { reason: ReasonCode::NO_MATCHING_SUBSCRIBERS, ..Ack::new(1) };
    assert_eq!(round_trip(&Packet::PubAck(refused), V5), hex("4003000110"));
    let sub = Subscribe {
        packet_id: 1,
        filters: vec![("a/+", SubscriptionOptions::qos(Qos::AtLeastOnce))],
        properties: Properties::default(),
    };
    assert_eq!(round_trip(&Packet::Subscribe(sub.clone()), V311), hex("820800010003612f2b01"));
    assert_eq!(round_trip(&Packet::Subscribe(sub), V5), hex("82090001000003612f2b01"));
    assert_eq!(round_trip(&Packet::PingReq, V311), hex("c000"));
    assert_eq!(round_trip(&Packet::PingResp, V5), hex("d000"));
    assert_eq!(round_trip(&Packet::Disconnect(ReasonPacket::default()), V311), hex("e000"));
    assert_eq!(round_trip(&Packet::Disconnect(ReasonPacket::default()), V5), hex("e000"));
    let with_will =
        ReasonPacket { reason: ReasonCode::DISCONNECT_WITH_WILL, properties: Properties::default() };
    assert_eq!(round_trip(&Packet::Disconnect(with_will), V5), hex("e00104"));
}

fn rich_properties() -> Properties<'static> {
    Properties {
        payload_format_indicator: Some(1),
        message_expiry_interval: Some(3600),
        content_type: Some("application/json"),
        response_topic: Some("replies/x"),
        correlation_data: Some(b"\x00\x01corr"),
        user_properties: vec![("k", "v"), ("k", "v2"), ("ünï", "cødé")],
        ..Properties::default()
    }
}

#[test]
fn every_packet_type_round_trips_with_properties() {
    let props = rich_properties();
    let will = Will {
        topic: "lwt/x",
        payload: b"gone",
        qos: Qos::AtLeastOnce,
        retain: true,
        properties: Properties { will_delay_interval: Some(5), ..props.clone() },
    };
    let full_connect = Connect {
        protocol: V5,
        clean_start: false,
        keep_alive: 30,
        client_id: "client-ü",
        will: Some(will),
        username: Some("user"),
        password: Some(b"\xffsecret"),
        properties: Properties {
            session_expiry_interval: Some(86_400),
            receive_maximum: Some(100),
            maximum_packet_size: Some(1 << 20),
            topic_alias_maximum: Some(10),
            request_problem_information: Some(1),
            request_response_information: Some(0),
            authentication_method: Some("SCRAM"),
            authentication_data: Some(b"data"),
            user_properties: vec![("a", "b")],
            ..Properties::default()
        },
    };
    round_trip(&Packet::Connect(Box::new(full_connect.clone())), V5);
    let mut v311 = Connect { protocol: V311, properties: Properties::default(), ..full_connect.clone() };
    v311.will.as_mut().unwrap().properties = Properties::default();
    round_trip(&Packet::Connect(Box::new(v311)), V311);
    let connack = ConnAck {
        session_present: false,
        reason: ReasonCode::SUCCESS,
        properties: Properties {
            assigned_client_identifier: Some("auto-1"),
            server_keep_alive: Some(20),
            receive_maximum: Some(50),
            maximum_qos: Some(1),
            retain_available: Some(0),
            topic_alias_maximum: Some(5),
            wildcard_subscription_available: Some(1),
            subscription_identifier_available: Some(1),
            shared_subscription_available: Some(0),
            reason_string: Some("welcome"),
            server_reference: Some("other:1883"),
            response_information: Some("resp/"),
            ..Properties::default()
        },
    };
    round_trip(&Packet::ConnAck(connack), V5);
    let publish = Publish {
        dup: false,
        qos: Qos::AtLeastOnce,
        retain: false,
        topic: "",
        packet_id: Some(65_535),
        payload: &[0u8; 300],
        properties: Properties {
            topic_alias: Some(3),
            subscription_identifiers: vec![1, 268_435_455],
            ..props.clone()
        },
    };
    round_trip(&Packet::Publish(publish), V5);
    let ack = Ack {
        packet_id: 7,
        reason: ReasonCode::QUOTA_EXCEEDED,
        properties: Properties {
            reason_string: Some("full"),
            user_properties: vec![("x", "y")],
            ..Properties::default()
        },
    };
    for p in [
        Packet::PubAck(ack.clone()),
        Packet::PubRec(ack.clone()),
        Packet::PubRel(ack.clone()),
        Packet::PubComp(ack),
    ] {
        round_trip(&p, V5);
    }
    let sub = Subscribe {
        packet_id: 9,
        filters: vec![
            (
                "a/#",
                SubscriptionOptions {
                    qos: Qos::ExactlyOnce,
                    no_local: true,
                    retain_as_published: true,
                    retain_handling: 2,
                },
            ),
            ("$share/g/b/+", SubscriptionOptions::qos(Qos::AtMostOnce)),
        ],
        properties: Properties {
            subscription_identifiers: vec![42],
            user_properties: vec![("s", "t")],
            ..Properties::default()
        },
    };
    round_trip(&Packet::Subscribe(sub), V5);
    let suback = SubAck {
        packet_id: 9,
        reasons: vec![ReasonCode::GRANTED_QOS_2, ReasonCode(0x80)],
        properties: Properties::default(),
    };
    round_trip(&Packet::SubAck(suback.clone()), V311);
    round_trip(&Packet::SubAck(suback), V5);
    let unsub = Unsubscribe { packet_id: 11, filters: vec!["a/#", "b"], properties: Properties::default() };
    round_trip(&Packet::Unsubscribe(unsub.clone()), V311);
    round_trip(&Packet::Unsubscribe(unsub), V5);
    round_trip(
        &Packet::UnsubAck(SubAck { packet_id: 11, reasons: vec![], properties: Properties::default() }),
        V311,
    );
    round_trip(
        &Packet::UnsubAck(SubAck {
            packet_id: 11,
            reasons: vec![ReasonCode::NO_SUBSCRIPTION_EXISTED],
            properties: Properties::default(),
        }),
        V5,
    );
    let disconnect = ReasonPacket {
        reason: ReasonCode::SERVER_SHUTTING_DOWN,
        properties: Properties {
            session_expiry_interval: Some(0),
            server_reference: Some("b:1883"),
            reason_string: Some("bye"),
            ..Properties::default()
        },
    };
    round_trip(&Packet::Disconnect(disconnect), V5);
    let auth = ReasonPacket {
        reason: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: Properties {
            authentication_method: Some("SCRAM"),
            authentication_data: Some(b"\x01"),
            ..Properties::default()
        },
    };
    round_trip(&Packet::Auth(auth), V5);
}

/// Each case: bytes, version, and the exact error they must produce.
#[test]
fn malformed_and_hostile_bytes_are_refused() {
    use MqttError::{InvalidString as Str, InvalidTopic as Topic, Malformed as M, Protocol as P};
    let cases: Vec<(&str, Vec<u8>, ProtocolVersion, MqttError)> = vec![
        ("reserved flags on PUBACK", hex("41020001"), V311, M("reserved fixed-header flags")),
        ("PUBREL without its 0b0010 flags", hex("60020001"), V311, M("reserved fixed-header flags")),
        ("SUBSCRIBE without its flags", hex("800800010003612f2b01"), V311, M("reserved fixed-header flags")),
        ("PUBLISH QoS 3", hex("36050003612f62"), V311, M("PUBLISH QoS 3")),
        ("DUP on QoS 0", hex("38050003612f62"), V311, M("DUP set on a QoS 0 PUBLISH")),
        ("packet id 0", hex("40020000"), V311, P("packet id 0")),
        ("wildcard in a PUBLISH topic", hex("30050003612f2b"), V311, Topic),
        ("empty PUBLISH topic without alias", hex("3003000000"), V5, Topic),
        ("NUL in a topic", hex("30050003610062"), V311, Str),
        ("invalid UTF-8 topic", hex("30040002c328"), V311, Str),
        ("trailing bytes after PINGREQ", hex("c00100"), V311, M("bytes left over after the packet")),
        (
            "five-byte remaining length",
            hex("30ffffffff01"),
            V311,
            M("variable byte integer longer than 4 bytes"),
        ),
        (
            "non-minimal remaining length",
            hex("c08000"),
            V311,
            M("variable byte integer not minimally encoded"),
        ),
        ("unknown packet type 0", hex("0000"), V311, M("unknown packet type")),
        ("AUTH in 3.1.1", hex("f000"), V311, M("unknown packet type")),
        ("SUBSCRIBE without filters", hex("82020001"), V311, P("SUBSCRIBE without a topic filter")),
        (
            "SUBSCRIBE options reserved bits (3.1.1)",
            hex("820800010003612f2b05"),
            V311,
            M("subscription options reserved bits set"),
        ),
        ("retain handling 3", hex("82090001000003612f2b31"), V5, P("retain handling 3")),
        ("invalid filter a#", hex("820700010002612301"), V311, Topic),
        ("SUBACK return code 3 in 3.1.1", hex("9003000103"), V311, M("invalid SUBACK return code")),
        ("unknown property 0x7f", hex("4006000100027f00"), V5, M("unknown property identifier")),
        (
            "property not allowed (topic alias in PUBACK)",
            hex("400700010003230001"),
            V5,
            P("property not allowed in this packet"),
        ),
        ("duplicate reason string", hex("400a000100061f00001f0000"), V5, P("property appears twice")),
        ("receive maximum 0 in CONNACK", hex("2006000003210000"), V5, P("receive maximum 0")),
        (
            "CONNECT with protocol name MQTX",
            hex("100c00044d5154580402003c0000"),
            V311,
            P("protocol name is not MQTT"),
        ),
        (
            "CONNECT with protocol level 3",
            hex("100c00044d5154540302003c0000"),
            V311,
            P("unsupported protocol level"),
        ),
        ("CONNECT reserved flag", hex("100c00044d5154540403003c0000"), V311, M("CONNECT reserved flag set")),
        (
            "will QoS without will",
            hex("100c00044d515454040a003c0000"),
            V311,
            M("will QoS or retain without a will"),
        ),
        (
            "session present on refused CONNACK",
            hex("20020105"),
            V311,
            P("session present on a refused connection"),
        ),
        ("string length beyond the packet", hex("3003000961"), V311, M("packet ends early")),
    ];
    for (what, bytes, v, expected) in cases {
        assert_eq!(decode(&bytes, v, MAX), Err(expected), "{what}");
    }
    // The maximum packet size is enforced from the fixed header alone.
    assert_eq!(decode(&hex("30ffff7f"), V311, 1024), Err(MqttError::PacketTooLarge));
    assert_eq!(decode(&hex("30ff"), V311, 1024), Ok(None), "length not complete yet");
}

#[test]
fn invalid_outgoing_packets_are_refused_before_encoding() {
    let mut out = [0u8; 256];
    let bad_topic = Publish {
        dup: false,
        qos: Qos::AtMostOnce,
        retain: false,
        topic: "a/#",
        packet_id: None,
        payload: b"",
        properties: Properties::default(),
    };
    assert_eq!(Packet::Publish(bad_topic.clone()).encode(V311, &mut out), Err(MqttError::InvalidTopic));
    let qos1_without_id = Publish { topic: "a", qos: Qos::AtLeastOnce, ..bad_topic.clone() };
    assert!(Packet::Publish(qos1_without_id).encode(V311, &mut out).is_err());
    let props_in_311 = Publish {
        topic: "a",
        properties: Properties { message_expiry_interval: Some(1), ..Properties::default() },
        ..bad_topic.clone()
    };
    assert_eq!(
        Packet::Publish(props_in_311.clone()).encode(V311, &mut out),
        Err(MqttError::Protocol("properties need MQTT 5.0"))
    );
    assert!(Packet::Publish(props_in_311).encode(V5, &mut out).is_ok());
    let misplaced = Publish {
        topic: "a",
        properties: Properties { session_expiry_interval: Some(1), ..Properties::default() },
        ..bad_topic
    };
    assert!(Packet::Publish(misplaced).encode(V5, &mut out).is_err());
    let big = Publish {
        topic: "a",
        qos: Qos::AtMostOnce,
        dup: false,
        retain: false,
        packet_id: None,
        payload: &[0u8; 300],
        properties: Properties::default(),
    };
    assert_eq!(Packet::Publish(big).encode(V311, &mut out), Err(MqttError::BufferTooSmall { needed: 306 }));
    let mut c = connect(V311);
    c.password = Some(b"pw");
    assert!(Packet::Connect(Box::new(c)).encode(V311, &mut out).is_err(), "3.1.1 password needs a user name");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), v5 in any::<bool>()) {
        let v = if v5 { V5 } else { V311 };
        let _ = decode(&bytes, v, MAX);
    }

    #[test]
    fn publishes_round_trip(
        topic in "[a-z0-9]{1,6}(/[a-z0-9 ü]{0,6}){0,4}",
        payload in proptest::collection::vec(any::<u8>(), 0..2000),
        qos in 0u8..3, retain in any::<bool>(), dup in any::<bool>(), id in 1u16..,
        expiry in proptest::option::of(any::<u32>()),
        user in proptest::collection::vec(("[a-z]{0,5}", "[ -~]{0,8}"), 0..3),
        v5 in any::<bool>(),
    ) {
        let qos = Qos::from_u8(qos).unwrap();
        let v = if v5 { V5 } else { V311 };
        let user: Vec<(&str, &str)> = user.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let properties = if v5 { Properties { message_expiry_interval: expiry, user_properties: user, ..Properties::default() } } else { Properties::default() };
        let p = Packet::Publish(Publish {
            dup: dup && qos != Qos::AtMostOnce, qos, retain, topic: &topic,
            packet_id: (qos != Qos::AtMostOnce).then_some(id), payload: &payload, properties,
        });
        let bytes = encode(&p, v);
        let (back, used) = decode(&bytes, v, MAX).unwrap().unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back, p);
    }

    #[test]
    fn streams_of_packets_split_anywhere_decode_identically(cuts in proptest::collection::vec(0usize..64, 1..6)) {
        // Several packets back to back, fed in arbitrary chunks, as a TCP stream delivers them.
        let packets = [
            Packet::PingReq,
            Packet::PubAck(Ack::new(5)),
            Packet::Publish(Publish { dup: false, qos: Qos::AtLeastOnce, retain: false, topic: "t/1", packet_id: Some(3), payload: &[7; 40], properties: Properties::default() }),
            Packet::Disconnect(ReasonPacket::default()),
        ];
        let stream: Vec<u8> = packets.iter().flat_map(|p| encode(p, V311)).collect();
        let mut buffered = Vec::new();
        let mut decoded = Vec::new();
        let mut fed = 0;
        for cut in cuts.iter().chain(std::iter::once(&stream.len())) {
            let end = (fed + cut).min(stream.len());
            buffered.extend_from_slice(&stream[fed..end]);
            fed = end;
            while let Some((p, used)) = decode(&buffered, V311, MAX).unwrap() {
                decoded.push(encode(&p, V311));
                buffered.drain(..used);
            }
        }
        let expected: Vec<Vec<u8>> = packets.iter().map(|p| encode(p, V311)).collect();
        prop_assert_eq!(decoded, expected);
    }
}
