//! Generates the v2 test vectors (`tests/vectors/nomq-v2.json`) from the Rust implementation
//! and fails when the committed file differs: run with `NOMQ_BLESS=1` to rewrite it after a
//! deliberate format change. `tests/python/test_v2_vectors.py` checks the same file with an
//! independent Python implementation (nomq-v2.md "Status").

use aes::Aes256Enc;
use cbc::cipher::{BlockModeEncrypt, InnerIvInit, KeyInit, block_padding::NoPadding};
use hmac::{Hmac, Mac};
use nomq_proto::Keys;
use nomq_proto::error::{Error, FrameError, Malformed};
use nomq_proto::frame::{Body, ChannelId, Flags, FrameCodec, Header, PacketType, Qos, Version};
use serde_json::{Value, json};
use sha2::Sha256;

const TS: u64 = 1_750_000_000_123;
const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/vectors/nomq-v2.json");

fn keys() -> Keys {
    // The same keys as the v1 vectors.
    Keys::from_hex(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf",
    )
    .unwrap()
}

struct Case {
    name: &'static str,
    description: &'static str,
    kind: PacketType,
    flags: Flags,
    packet_id: u32,
    ttl: u16,
    channel: Option<&'static str>,
    plaintext: Vec<u8>,
}

fn case(
    name: &'static str,
    description: &'static str,
    kind: PacketType,
    flags: Flags,
    packet_id: u32,
    channel: Option<&'static str>,
    plaintext: &[u8],
) -> Case {
    Case { name, description, kind, flags, packet_id, ttl: 3600, channel, plaintext: plaintext.to_vec() }
}

fn cases() -> Vec<Case> {
    use PacketType::*;
    let q = |qos, retain, prio| Flags::publish(qos, retain, prio);
    let binary: Vec<u8> = (0..=255u8).collect();
    let thousand = vec![b'x'; 1000];
    let mut c = vec![
        case(
            "subscribe",
            "SUBSCRIBE: the plaintext is the channel name",
            Subscribe,
            Flags(0),
            1,
            Some("sensors/temp"),
            b"sensors/temp",
        ),
        case(
            "publish_qos0",
            "QoS 0 PUBLISH of a short text",
            Publish,
            q(Qos::AtMostOnce, false, 0),
            2,
            Some("sensors/temp"),
            b"21.5",
        ),
        case(
            "publish_qos1_priority3",
            "QoS 1, priority 3",
            Publish,
            q(Qos::AtLeastOnce, false, 3),
            3,
            Some("sensors/temp"),
            br#"{"t":21.5,"rh":40}"#,
        ),
        case(
            "ack",
            "ACK answering publish_qos1_priority3: no ciphertext, the id is in the header",
            Ack,
            Flags(0),
            3,
            Some("sensors/temp"),
            b"",
        ),
        case(
            "publish_qos2_retain_priority15",
            "QoS 2, retain, priority 15 (flags 0xF6)",
            Publish,
            q(Qos::ExactlyOnce, true, 15),
            4,
            Some("sensors/temp"),
            b"door=open",
        ),
        case(
            "pubrec",
            "PUBREC for publish_qos2_retain_priority15",
            PubRec,
            Flags(0),
            4,
            Some("sensors/temp"),
            b"",
        ),
        case(
            "pubrel",
            "PUBREL for publish_qos2_retain_priority15",
            PubRel,
            Flags(0),
            4,
            Some("sensors/temp"),
            b"",
        ),
        case(
            "pubcomp",
            "PUBCOMP for publish_qos2_retain_priority15",
            PubComp,
            Flags(0),
            4,
            Some("sensors/temp"),
            b"",
        ),
        case(
            "publish_dup",
            "retransmitted QoS 1 PUBLISH: DUP bit (0x08) set, same packet id",
            Publish,
            q(Qos::AtLeastOnce, false, 0).with_dup(true),
            3,
            Some("sensors/temp"),
            br#"{"t":21.5,"rh":40}"#,
        ),
        case(
            "publish_empty",
            "empty payload: one full padding block",
            Publish,
            q(Qos::AtMostOnce, false, 0),
            5,
            Some("sensors/temp"),
            b"",
        ),
        case(
            "publish_block_aligned",
            "16-byte payload: a full extra padding block",
            Publish,
            q(Qos::AtMostOnce, false, 0),
            6,
            Some("sensors/temp"),
            b"0123456789abcdef",
        ),
        case(
            "publish_binary",
            "payloads are arbitrary bytes (invariant 5): 0x00..0xff",
            Publish,
            q(Qos::AtLeastOnce, false, 7),
            7,
            Some("bin"),
            &binary,
        ),
        case(
            "publish_1000_bytes",
            "1000-byte payload",
            Publish,
            q(Qos::AtMostOnce, false, 0),
            8,
            Some("sensors/temp"),
            &thousand,
        ),
        case(
            "publish_utf8_channel",
            "non-ASCII channel name and text",
            Publish,
            q(Qos::AtMostOnce, true, 8),
            9,
            Some("capteurs/température"),
            "22,5 °C".as_bytes(),
        ),
        case(
            "heartbeat",
            "HEARTBEAT: zero channel id, no ciphertext",
            Heartbeat,
            Flags::heartbeat(false),
            10,
            None,
            b"",
        ),
        case(
            "heartbeat_answer",
            "HEARTBEAT answer: flags bit 0 set, never answered",
            Heartbeat,
            Flags::heartbeat(true),
            10,
            None,
            b"",
        ),
        case(
            "unsubscribe",
            "UNSUBSCRIBE: the plaintext is the channel name",
            Unsubscribe,
            Flags(0),
            11,
            Some("sensors/temp"),
            b"sensors/temp",
        ),
    ];
    let mut ttl = case(
        "publish_ttl_65535",
        "largest ttl",
        Publish,
        q(Qos::AtMostOnce, false, 0),
        12,
        Some("sensors/temp"),
        b"ttl",
    );
    ttl.ttl = 65535;
    c.push(ttl);
    c
}

fn iv_for(i: usize) -> [u8; 16] {
    core::array::from_fn(|j| (i * 16 + j) as u8 ^ 0xa5)
}

fn header_for(codec: &FrameCodec, i: usize, c: &Case) -> Header {
    Header {
        kind: c.kind,
        flags: c.flags,
        packet_id: c.packet_id,
        session_id: 0x5eed_0001,
        ttl: c.ttl,
        timestamp_ms: TS + i as u64,
        channel: c.channel.map_or(ChannelId::HEARTBEAT, |n| codec.channel_id(n)),
        iv: iv_for(i),
    }
}

fn seal(codec: &FrameCodec, h: &Header, plaintext: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 2048];
    let n = codec.seal(h, &Body::Bytes(plaintext), &mut out).unwrap();
    out.truncate(n);
    out
}

/// Recomputes the tag of a tampered packet with `mac_key`, as a key holder could.
fn resign(packet: &mut [u8], mac_key: &[u8; 32]) {
    let end = packet.len() - 32;
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(mac_key).unwrap();
    m.update(&packet[..end]);
    packet[end..].copy_from_slice(&m.finalize().into_bytes());
}

fn negative(name: &str, description: &str, packet: &[u8], receiver_ms: u64, reason: &str) -> Value {
    json!({"name": name, "description": description, "packet": hex::encode(packet), "receiver_time_ms": receiver_ms, "expected": {"reason": reason}})
}

fn negatives(codec: &FrameCodec, base: &[u8], base_ts: u64) -> Vec<Value> {
    let k = keys();
    let mac2 = *k.derive_v2().trailer_key();
    let enc2 = *k.derive_v2().encryption_key();
    let mut out = vec![];
    let t = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut p = base.to_vec();
        f(&mut p);
        p
    };
    out.push(negative("too_short", "88 bytes: below the 89-byte minimum", &base[..88], base_ts, "malformed"));
    out.push(negative(
        "bad_magic",
        "magic 'NN', tag recomputed",
        &t(&|p| {
            p[1] = b'N';
            resign(p, &mac2)
        }),
        base_ts,
        "malformed",
    ));
    out.push(negative(
        "bad_version",
        "version byte 1 on a v2 packet, tag recomputed",
        &t(&|p| {
            p[2] = 1;
            resign(p, &mac2)
        }),
        base_ts,
        "unsupported_version",
    ));
    out.push(negative(
        "truncated",
        "last byte missing: length is not 89 + L",
        &base[..base.len() - 1],
        base_ts,
        "malformed",
    ));
    out.push(negative(
        "trailing_garbage",
        "one extra byte: length is not 89 + L",
        &t(&|p| p.push(0)),
        base_ts,
        "malformed",
    ));
    out.push(negative(
        "flipped_tag",
        "last tag byte XOR 0x01",
        &t(&|p| {
            let n = p.len();
            p[n - 1] ^= 1
        }),
        base_ts,
        "auth_failed",
    ));
    out.push(negative(
        "flipped_ciphertext",
        "first ciphertext byte XOR 0x80",
        &t(&|p| p[57] ^= 0x80),
        base_ts,
        "auth_failed",
    ));
    out.push(negative(
        "flipped_timestamp",
        "timestamp byte changed, tag not recomputed",
        &t(&|p| p[22] ^= 1),
        base_ts,
        "auth_failed",
    ));
    out.push(negative(
        "v1_mac_key",
        "tag computed with the configured hmac_key instead of the derived mac2 (invariant 3)",
        &t(&|p| resign(p, k.trailer_key())),
        base_ts,
        "auth_failed",
    ));
    out.push(negative(
        "stale",
        "authentic, checked 30.001 s after its timestamp",
        base,
        base_ts + 30_001,
        "stale",
    ));
    out.push(negative(
        "future",
        "authentic, checked 30.001 s before its timestamp",
        base,
        base_ts - 30_001,
        "stale",
    ));
    // Authentic packets breaking the structure rules: only a key holder can make them.
    let mut hb = vec![0u8; 128];
    let hbh = Header {
        kind: PacketType::Heartbeat,
        flags: Flags(0),
        packet_id: 1,
        session_id: 2,
        ttl: 3600,
        timestamp_ms: base_ts,
        channel: ChannelId::HEARTBEAT,
        iv: [0; 16],
    };
    let n = codec.seal(&hbh, &Body::Empty, &mut hb).unwrap();
    hb.truncate(n);
    out.push(negative(
        "publish_without_body",
        "authentic PUBLISH with L = 0",
        &t(&|p| {
            p.clear();
            p.extend_from_slice(&hb);
            p[3] = 1;
            resign(p, &mac2)
        }),
        base_ts,
        "malformed",
    ));
    out.push(negative(
        "ack_with_body",
        "authentic ACK with L = 16",
        &t(&|p| {
            p[3] = 3;
            resign(p, &mac2)
        }),
        base_ts,
        "malformed",
    ));
    out.push(negative(
        "unknown_type",
        "authentic packet of type 9",
        &t(&|p| {
            p[3] = 9;
            resign(p, &mac2)
        }),
        base_ts,
        "malformed",
    ));
    out.push(negative(
        "bad_padding",
        "authentic, but the plaintext ends in 0x00 (not PKCS#7)",
        &t(&|p| {
            let iv: [u8; 16] = p[39..55].try_into().unwrap();
            let l = p.len() - 89;
            let mut block = vec![0u8; l];
            let mode = cbc::Encryptor::<Aes256Enc>::inner_iv_init(Aes256Enc::new(&enc2.into()), &iv.into());
            mode.encrypt_padded::<NoPadding>(&mut block, l).unwrap();
            p[57..57 + l].copy_from_slice(&block);
            resign(p, &mac2)
        }),
        base_ts,
        "auth_failed",
    ));
    out
}

fn reason_of(e: Error) -> &'static str {
    match e {
        Error::Frame(FrameError::Malformed(_)) => "malformed",
        Error::Frame(FrameError::UnsupportedVersion(_)) => "unsupported_version",
        Error::Frame(FrameError::AuthFailed) => "auth_failed",
        Error::Frame(FrameError::Stale) => "stale",
        other => panic!("not a frame error: {other:?}"),
    }
}

fn generate() -> Value {
    let k = keys();
    let codec = FrameCodec::new(&k, Version::V2);
    let derived = k.derive_v2();
    let mut vectors = vec![];
    let mut base = None;
    for (i, c) in cases().iter().enumerate() {
        let h = header_for(&codec, i, c);
        let packet = seal(&codec, &h, &c.plaintext);
        let l = packet.len() - 89;
        if c.name == "publish_qos0" {
            base = Some((packet.clone(), h.timestamp_ms));
        }
        vectors.push(json!({
            "name": c.name, "description": c.description,
            "type": c.kind as u8, "flags": c.flags.bits(), "packet_id": c.packet_id,
            "session_id": h.session_id, "ttl": c.ttl, "timestamp_ms": h.timestamp_ms,
            "channel": c.channel, "channel_id": hex::encode(h.channel.0), "iv": hex::encode(h.iv),
            "plaintext": hex::encode(&c.plaintext), "payload_length": l,
            "ciphertext": hex::encode(&packet[57..57 + l]), "tag": hex::encode(&packet[57 + l..]),
            "packet": hex::encode(&packet), "packet_length": packet.len(),
            "receiver_time_ms": h.timestamp_ms + 1500,
        }));
    }
    let (base, base_ts) = base.unwrap();
    json!({
        "format": "nomq-v2 test vectors",
        "spec": "docs/nomq-v2.md",
        "generated_by": "nomq-proto (core/proto/tests/vectors_v2.rs); checked by tests/python/test_v2_vectors.py",
        "conventions": {
            "bytes": "lowercase hex", "times": "Unix milliseconds",
            "window_ms": 30000,
            "reasons": "malformed | unsupported_version | auth_failed | stale, checked in the order of nomq-v2.md 'Receiving'",
        },
        "encryption_key": hex::encode(k.encryption_key()),
        "hmac_key": hex::encode(k.trailer_key()),
        "enc2": hex::encode(derived.encryption_key()),
        "mac2": hex::encode(derived.trailer_key()),
        "vectors": vectors,
        "negative": negatives(&codec, &base, base_ts),
    })
}

#[test]
fn committed_v2_vectors_are_fresh() {
    let text = serde_json::to_string_pretty(&generate()).unwrap() + "\n";
    if std::env::var_os("NOMQ_BLESS").is_some() {
        std::fs::write(PATH, &text).unwrap();
    }
    let committed = std::fs::read_to_string(PATH)
        .expect("tests/vectors/nomq-v2.json (run with NOMQ_BLESS=1 to create it)");
    assert!(
        committed == text,
        "tests/vectors/nomq-v2.json is stale: rerun with NOMQ_BLESS=1 and review the diff"
    );
}

#[test]
fn committed_v2_vectors_open_and_negatives_fail_for_their_reason() {
    let all: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let codec = FrameCodec::new(&keys(), Version::V2);
    let mut out = vec![0u8; 2048];
    for v in all["vectors"].as_array().unwrap() {
        let packet = hex::decode(v["packet"].as_str().unwrap()).unwrap();
        let opened = codec.open(&packet, v["receiver_time_ms"].as_u64().unwrap(), &mut out).unwrap();
        assert_eq!(hex::encode(opened.plaintext), v["plaintext"].as_str().unwrap(), "{}", v["name"]);
        assert_eq!(opened.header.packet_id as u64, v["packet_id"].as_u64().unwrap());
    }
    let negatives = all["negative"].as_array().unwrap();
    assert!(negatives.len() >= 14);
    for v in negatives {
        let packet = hex::decode(v["packet"].as_str().unwrap()).unwrap();
        let err = codec.open(&packet, v["receiver_time_ms"].as_u64().unwrap(), &mut out).unwrap_err();
        assert_eq!(reason_of(err), v["expected"]["reason"].as_str().unwrap(), "{}", v["name"]);
        if v["name"] == "publish_without_body" || v["name"] == "ack_with_body" {
            assert_eq!(err, Error::Frame(FrameError::Malformed(Malformed::BadLength)));
        }
    }
}
