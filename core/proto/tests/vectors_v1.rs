//! The reference's captured packets (`tests/vectors/nomq-v1.json`, nomq-v1.md §24): every
//! positive vector rebuilt byte for byte and opened back, every negative vector refused with the
//! matching error kind, the receiver-level cases, and the config file example.

use nomq_proto::Keys;
use nomq_proto::config::{CONFIG_KEY, Config, seal_config_json};
use nomq_proto::error::{Error, FrameError, Malformed};
use nomq_proto::frame::{
    Body, ChannelId, Flags, FrameCodec, Header, InnerLayout, PacketType, Qos, V1Publish, Version,
};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/nomq-v1.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("vectors file")).expect("vectors JSON")
}

fn hex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

fn arr<const N: usize>(v: &Value) -> [u8; N] {
    hex(v).try_into().expect("length")
}

fn num(v: &Value) -> u64 {
    v.as_u64().expect("integer")
}

fn codec(v: &Value) -> FrameCodec {
    let keys =
        Keys::from_hex(v["encryption_key"].as_str().unwrap(), v["hmac_key"].as_str().unwrap()).unwrap();
    FrameCodec::new(&keys, Version::V1)
}

fn header_of(v: &Value) -> Header {
    Header {
        kind: PacketType::from_byte(num(&v["type"]) as u8).unwrap(),
        flags: Flags(num(&v["flags"]) as u8),
        packet_id: num(&v["packet_id"]) as u32,
        session_id: num(&v["session_id"]) as u32,
        ttl: num(&v["ttl"]) as u16,
        timestamp_ms: num(&v["timestamp"]) * 1000,
        channel: ChannelId(arr(&v["channel_id"])),
        iv: arr(&v["iv"]),
    }
}

#[test]
fn positive_vectors_rebuild_byte_for_byte() {
    let all = vectors();
    let positives = all["vectors"].as_array().unwrap();
    assert_eq!(positives.len(), 20);
    for v in positives {
        let name = v["name"].as_str().unwrap();
        let codec = codec(v);
        let header = header_of(v);
        let plaintext = hex(&v["plaintext"]);
        let expected = hex(&v["packet"]);

        // Channel id from the name (v1 §2), or the zero id of HEARTBEAT.
        match v["channel"].as_str() {
            Some(ch) => assert_eq!(codec.channel_id(ch), header.channel, "{name}: channel id"),
            None => assert_eq!(header.channel, ChannelId::HEARTBEAT, "{name}"),
        }
        assert_eq!(codec.sealed_len(header.kind, plaintext.len()), expected.len(), "{name}: sealed_len");

        let mut out = vec![0u8; 4096];
        let n = codec.seal(&header, &Body::Bytes(&plaintext), &mut out).unwrap();
        assert_eq!(hex::encode(&out[..n]), hex::encode(&expected), "{name}: packet");
        assert_eq!(&out[..53], hex(&v["header"]), "{name}: header");
        assert_eq!(&out[n - 32..n], hex(&v["trailer"]), "{name}: trailer");
        assert_eq!(num(&v["payload_length"]) as usize, n - 85, "{name}: L");
        assert_eq!(&out[69..n - 32], hex(&v["ciphertext"]), "{name}: ciphertext");

        // The typed bodies encode to the same plaintext.
        let typed = match header.kind {
            PacketType::Publish => {
                let inner = &v["inner"];
                let text = String::from_utf8(hex(&inner["message_utf8"])).unwrap();
                assert_eq!(text, inner["message"].as_str().unwrap());
                let args = &v["publish_args"];
                let qos = Qos::from_u8(num(&args["qos"]) as u8).unwrap();
                let flags =
                    Flags::publish(qos, args["retain"].as_bool().unwrap(), num(&args["priority"]) as u8);
                assert_eq!(flags, header.flags, "{name}: publish_args give flags");
                assert_eq!(num(&args["ttl"]), u64::from(header.ttl), "{name}: ttl");
                let body = V1Publish {
                    timestamp_s: num(&inner["timestamp"]),
                    nonce: num(&inner["nonce"]) as u32,
                    text: &text,
                    layout: InnerLayout::Standard,
                };
                let n = codec.seal(&header, &Body::V1Publish(body), &mut out).unwrap();
                assert_eq!(&out[..n], &expected[..], "{name}: typed PUBLISH body");
                true
            }
            kind if kind.is_ack_family() => {
                let acked = num(&v["acknowledges_packet_id"]) as u32;
                assert_eq!(acked, header.packet_id, "{name}: ack carries the acked id");
                let n = codec.seal(&header, &Body::Acknowledges(acked), &mut out).unwrap();
                assert_eq!(&out[..n], &expected[..], "{name}: typed ACK body");
                true
            }
            PacketType::Heartbeat => {
                let n = codec.seal(&header, &Body::Empty, &mut out).unwrap();
                assert_eq!(&out[..n], &expected[..], "{name}: empty body");
                true
            }
            _ => false,
        };
        if !typed {
            assert_eq!(
                plaintext,
                v["channel"].as_str().unwrap().as_bytes(),
                "{name}: (un)subscribe body is the name"
            );
        }
    }
}

#[test]
fn positive_vectors_open_within_the_window_only() {
    let all = vectors();
    for v in all["vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let codec = codec(v);
        let packet = hex(&v["packet"]);
        let ts_ms = num(&v["timestamp"]) * 1000;
        let receiver_ms = num(&v["receiver_time"]) * 1000;
        let mut out = vec![0u8; 4096];
        for now in [receiver_ms, ts_ms - 30_000, ts_ms + 30_000] {
            let opened =
                codec.open(&packet, now, &mut out).unwrap_or_else(|e| panic!("{name} at {now}: {e}"));
            assert_eq!(opened.header, header_of(v), "{name}");
            assert_eq!(opened.plaintext, &hex(&v["plaintext"])[..], "{name}");
        }
        for now in [ts_ms - 31_000, ts_ms + 31_000] {
            assert_eq!(codec.open(&packet, now, &mut out), Err(Error::Frame(FrameError::Stale)), "{name}");
        }
        let mut in_place = packet.clone();
        let opened = codec.open_in_place(&mut in_place, receiver_ms).unwrap();
        assert_eq!(opened.plaintext, &hex(&v["plaintext"])[..], "{name}: in place");

        if opened.header.kind == PacketType::Publish {
            let p = opened.v1_publish().unwrap();
            assert_eq!(p.text, v["inner"]["message"].as_str().unwrap(), "{name}");
            assert_eq!(p.nonce as u64, num(&v["inner"]["nonce"]));
            assert_eq!(p.layout, InnerLayout::Standard);
        }
    }
}

/// The vector tags mapped to our error kinds; padding failures are `AuthFailed` so no
/// receiver is a padding oracle (v2 invariant 2 applied to v1 too).
fn expected_error(reason: &str) -> FrameError {
    match reason {
        "too_short" => FrameError::Malformed(Malformed::TooShort),
        "bad_magic" => FrameError::Malformed(Malformed::BadMagic),
        "bad_version" => FrameError::UnsupportedVersion(2),
        "stale_timestamp" => FrameError::Stale,
        "length_mismatch" => FrameError::Malformed(Malformed::BadLength),
        "bad_trailer" | "bad_padding" => FrameError::AuthFailed,
        other => panic!("unknown reason tag {other}"),
    }
}

#[test]
fn negative_vectors_are_refused_with_the_right_kind() {
    let all = vectors();
    let negatives = all["negative"].as_array().unwrap();
    assert_eq!(negatives.len(), 12);
    for v in negatives {
        let name = v["name"].as_str().unwrap();
        let codec = codec(v);
        let packet = hex(&v["packet"]);
        let now = num(&v["receiver_time"]) * 1000;
        let want = Error::Frame(expected_error(v["expected"]["reason"].as_str().unwrap()));
        let mut out = vec![0u8; 4096];
        assert_eq!(codec.open(&packet, now, &mut out), Err(want), "{name}");
        let mut copy = packet.clone();
        assert_eq!(codec.open_in_place(&mut copy, now), Err(want), "{name}: in place");
    }
}

#[test]
fn receiver_level_cases() {
    let all = vectors();
    let mut out = vec![0u8; 4096];
    for v in all["receiver_level"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        let codec = codec(v);
        let packet = hex(&v["packet"]);
        let now = num(&v["receiver_time"]) * 1000;
        let opened = codec.open(&packet, now, &mut out).unwrap_or_else(|e| panic!("{name}: {e}"));
        let subscribed: Vec<ChannelId> = v["subscribed_channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| codec.channel_id(c.as_str().unwrap()))
            .collect();
        match name {
            "unsubscribed_channel" => assert!(!subscribed.contains(&opened.header.channel)),
            "replayed_nonce" => {
                // Framing opens both copies identically; the endpoint's duplicate cache drops
                // the second (nomq-v1.md §15, §22.9).
                let first = opened.v1_publish().unwrap();
                assert!(subscribed.contains(&opened.header.channel));
                let mut out2 = vec![0u8; 4096];
                let again = codec.open(&packet, now, &mut out2).unwrap();
                assert_eq!(again.v1_publish().unwrap().nonce, first.nonce);
                assert_eq!(again.header.session_id, opened.header.session_id);
            }
            "inner_length_exceeds_data" => {
                assert_eq!(opened.v1_publish(), Err(Malformed::BadInnerPayload));
            }
            "upstream_listen_rejects_wellformed_publish" => {
                assert!(subscribed.contains(&opened.header.channel));
                assert!(!opened.v1_publish().unwrap().text.is_empty(), "a correct receiver delivers it");
            }
            other => panic!("unexpected receiver-level case {other}"),
        }
    }
}

#[test]
fn config_example_round_trips() {
    let all = vectors();
    let c = &all["config_example"];
    // The constant equals the key the reference derived, SHA256(b"nomq_config_key") (§19).
    assert_eq!(CONFIG_KEY.to_vec(), hex(&c["config_key"]));

    let iv: [u8; 16] = arr(&c["iv"]);
    let file_text = c["file_text"].as_str().unwrap();
    assert_eq!(seal_config_json(c["json_plaintext"].as_str().unwrap().as_bytes(), &iv), file_text);

    let cfg = Config::from_file_text(file_text).unwrap();
    let input = &c["input"];
    assert_eq!(cfg.ip, input["ip"].as_str().unwrap());
    assert_eq!(u64::from(cfg.port), num(&input["port"]));
    assert_eq!(cfg.use_ipv6, input["use_ipv6"].as_bool().unwrap());
    assert_eq!(hex::encode(cfg.keys.encryption_key()), input["encryption_key"].as_str().unwrap());
    assert_eq!(hex::encode(cfg.keys.trailer_key()), input["hmac_key"].as_str().unwrap());

    // Our own writer's output reads back to the same config.
    let ours = cfg.to_file_text(&[0x42; 16]);
    assert!(ours.ends_with('\n') && !ours[..ours.len() - 1].contains('\n'));
    assert_eq!(Config::from_file_text(&ours).unwrap(), cfg);
    assert_eq!(Config::from_text(&cfg.to_json()).unwrap(), cfg);
}
