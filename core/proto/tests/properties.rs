//! Property tests of the framing: round trips at every plaintext size a reference
//! node can receive (0..=1919 bytes, nomq-v1.md §17) in both versions, single-bit tampering
//! anywhere is refused, arbitrary bytes never panic, and bad arguments are clean errors.

use nomq_proto::Keys;
use nomq_proto::error::{Error, FrameError, InvalidInput, Malformed, ResourceError};
use nomq_proto::frame::{
    Body, ChannelId, Flags, FrameCodec, Header, InnerLayout, PacketType, Qos, V1Publish, Version,
};
use proptest::prelude::*;

const NOW_MS: u64 = 1_750_000_000_000;
const MAX_REFERENCE_TEXT: usize = 1919;

fn keys() -> Keys {
    Keys::new([0x11; 32], [0x22; 32])
}

fn header(kind: PacketType, channel: ChannelId, iv: [u8; 16]) -> Header {
    Header {
        kind,
        flags: Flags::publish(Qos::ExactlyOnce, true, 9),
        packet_id: 0x0102_0304,
        session_id: 0x0a0b_0c0d,
        ttl: 60,
        timestamp_ms: NOW_MS,
        channel,
        iv,
    }
}

fn seal(codec: &FrameCodec, h: &Header, body: &Body<'_>) -> Vec<u8> {
    let mut out = vec![0u8; codec.sealed_len(h.kind, body.len())];
    let n = codec.seal(h, body, &mut out).unwrap();
    assert_eq!(n, out.len(), "sealed_len predicts the length");
    out
}

#[test]
fn every_size_round_trips_in_both_versions() {
    let payload: Vec<u8> = (0..MAX_REFERENCE_TEXT).map(|i| (i * 7 + 3) as u8).collect();
    let text: String = (0..MAX_REFERENCE_TEXT).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    for version in [Version::V1, Version::V2] {
        let codec = FrameCodec::new(&keys(), version);
        let h = header(PacketType::Publish, codec.channel_id("prop"), [9; 16]);
        let mut plain = vec![0u8; 4096];
        for n in 0..=MAX_REFERENCE_TEXT {
            let packet = seal(&codec, &h, &Body::Bytes(&payload[..n]));
            let opened = codec.open(&packet, NOW_MS, &mut plain).unwrap();
            assert_eq!(opened.header, h);
            assert_eq!(opened.plaintext, &payload[..n], "{version:?} size {n}");
        }
        if version == Version::V1 {
            // The typed v1 PUBLISH body: largest reference-receivable text is 1919 bytes,
            // whose packet is the reference's 2048-byte receive buffer minus the padding slack.
            for n in [0, 1, 15, 16, 17, 1000, MAX_REFERENCE_TEXT] {
                let body = V1Publish {
                    timestamp_s: NOW_MS / 1000,
                    nonce: 5,
                    text: &text[..n],
                    layout: InnerLayout::Standard,
                };
                let packet = seal(&codec, &h, &Body::V1Publish(body));
                assert!(packet.len() <= 2048, "fits the reference receive buffer at {n}");
                let opened = codec.open(&packet, NOW_MS, &mut plain).unwrap();
                assert_eq!(opened.v1_publish().unwrap(), body);
            }
        }
    }
}

/// Flips every bit of a packet in turn; each copy must be refused.
fn assert_every_bit_flip_refused(codec: &FrameCodec, packet: &[u8]) {
    let mut plain = vec![0u8; 4096];
    for byte in 0..packet.len() {
        for bit in 0..8 {
            let mut tampered = packet.to_vec();
            tampered[byte] ^= 1 << bit;
            let result = codec.open(&tampered, NOW_MS, &mut plain);
            assert!(result.is_err(), "{:?}: flip of byte {byte} bit {bit} accepted", codec.version());
        }
    }
}

#[test]
fn any_single_bit_flip_is_refused() {
    for version in [Version::V1, Version::V2] {
        let codec = FrameCodec::new(&keys(), version);
        let ch = codec.channel_id("tamper");
        for n in [0usize, 5, 16, 64] {
            let payload = vec![0x5a; n];
            let packet = seal(&codec, &header(PacketType::Publish, ch, [3; 16]), &Body::Bytes(&payload));
            assert_every_bit_flip_refused(&codec, &packet);
        }
        // Packets without a body in v2 (tag over the header alone), and v1 ACK bodies.
        let ack_body = if version == Version::V1 { Body::Acknowledges(0x0102_0304) } else { Body::Empty };
        let ack = seal(&codec, &header(PacketType::Ack, ch, [4; 16]), &ack_body);
        assert_every_bit_flip_refused(&codec, &ack);
    }
}

#[test]
fn wrong_keys_and_cross_version_packets_are_refused() {
    let mut plain = vec![0u8; 4096];
    for version in [Version::V1, Version::V2] {
        let ours = FrameCodec::new(&keys(), version);
        let packet =
            seal(&ours, &header(PacketType::Publish, ours.channel_id("k"), [1; 16]), &Body::Bytes(b"secret"));
        for other in [Keys::new([0x11; 32], [0x23; 32]), Keys::new([0x12; 32], [0x22; 32])] {
            let theirs = FrameCodec::new(&other, version);
            // A wrong trailer key fails the tag. A wrong encryption key alone passes the tag and
            // then fails the padding (also AuthFailed), or at worst yields other bytes.
            match theirs.open(&packet, NOW_MS, &mut plain) {
                Err(Error::Frame(FrameError::AuthFailed)) => {}
                Ok(opened) => assert_ne!(opened.plaintext, b"secret"),
                Err(other) => panic!("{version:?}: unexpected {other:?}"),
            }
        }
    }
    let v1 = FrameCodec::new(&keys(), Version::V1);
    let v2 = FrameCodec::new(&keys(), Version::V2);
    let p1 = seal(&v1, &header(PacketType::Subscribe, v1.channel_id("x"), [0; 16]), &Body::Bytes(b"x"));
    let p2 = seal(&v2, &header(PacketType::Subscribe, v2.channel_id("x"), [0; 16]), &Body::Bytes(b"x"));
    assert_eq!(v2.open(&p1, NOW_MS, &mut plain), Err(Error::Frame(FrameError::UnsupportedVersion(1))));
    assert_eq!(v1.open(&p2, NOW_MS, &mut plain), Err(Error::Frame(FrameError::UnsupportedVersion(2))));
    assert_ne!(v1.channel_id("x"), v2.channel_id("x"), "v2 channel ids are keyed");
}

#[test]
fn buffers_and_arguments_give_clean_errors() {
    for version in [Version::V1, Version::V2] {
        let codec = FrameCodec::new(&keys(), version);
        let h = header(PacketType::Publish, codec.channel_id("b"), [2; 16]);
        let body = Body::Bytes(&[7; 100]);
        let need = codec.sealed_len(PacketType::Publish, 100);
        let mut short = vec![0u8; need - 1];
        assert_eq!(
            codec.seal(&h, &body, &mut short),
            Err(Error::Resource(ResourceError::BufferTooSmall { needed: need }))
        );
        let packet = seal(&codec, &h, &body);
        let mut small = [0u8; 16];
        assert!(matches!(
            codec.open(&packet, NOW_MS, &mut small),
            Err(Error::Resource(ResourceError::BufferTooSmall { .. }))
        ));
        let huge = vec![0u8; 70_000];
        let mut out = vec![0u8; 80_000];
        assert_eq!(
            codec.seal(&h, &Body::Bytes(&huge), &mut out),
            Err(Error::Invalid(InvalidInput::PayloadTooLarge))
        );
    }
    let v1 = FrameCodec::new(&keys(), Version::V1);
    let mut h = header(PacketType::Publish, ChannelId::v1("t"), [0; 16]);
    h.timestamp_ms = (u64::from(u32::MAX) + 1) * 1000;
    let mut out = vec![0u8; 512];
    assert_eq!(v1.seal(&h, &Body::Empty, &mut out), Err(Error::Invalid(InvalidInput::TimestampOutOfRange)));

    let v2 = FrameCodec::new(&keys(), Version::V2);
    let ack = header(PacketType::Ack, ChannelId::HEARTBEAT, [0; 16]);
    assert_eq!(v2.seal(&ack, &Body::Bytes(b"x"), &mut out), Err(Error::Invalid(InvalidInput::BodyMismatch)));
    assert_eq!(
        v2.seal(&ack, &Body::Acknowledges(1), &mut out),
        Err(Error::Invalid(InvalidInput::BodyMismatch))
    );
    let n = v2.seal(&ack, &Body::Empty, &mut out).unwrap();
    assert_eq!(n, 89, "v2 ACK has no ciphertext");
    let opened = v2.open(&out[..n], NOW_MS, &mut [0u8; 0]).unwrap();
    assert!(opened.plaintext.is_empty());
    assert_eq!(opened.header, ack);
}

/// Re-signs a tampered v2 packet with the derived MAC key, as a key-holding sender could.
fn resign_v2(packet: &mut [u8]) {
    use hmac::{Hmac, KeyInit, Mac};
    let mac2 = keys().derive_v2();
    let body_end = packet.len() - 32;
    let mut m = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(mac2.trailer_key()).unwrap();
    m.update(&packet[..body_end]);
    packet[body_end..].copy_from_slice(&m.finalize().into_bytes());
}

#[test]
fn v2_type_and_length_must_agree_even_when_authentic() {
    // v2 layout: L = 0 exactly for types 3, 5, 6, 7, 8. Authentic packets breaking that rule can
    // only come from a key holder, and are still refused structurally.
    let v2 = FrameCodec::new(&keys(), Version::V2);
    let mut out = vec![0u8; 512];
    let hb = Header {
        flags: Flags::heartbeat(false),
        ..header(PacketType::Heartbeat, ChannelId::HEARTBEAT, [0; 16])
    };
    let n = v2.seal(&hb, &Body::Empty, &mut out).unwrap();
    let mut publish_without_body = out[..n].to_vec();
    publish_without_body[3] = PacketType::Publish as u8;
    assert_eq!(
        v2.open(&publish_without_body, NOW_MS, &mut [0u8; 0]),
        Err(Error::Frame(FrameError::AuthFailed))
    );
    resign_v2(&mut publish_without_body);
    assert_eq!(
        v2.open(&publish_without_body, NOW_MS, &mut [0u8; 0]),
        Err(Error::Frame(FrameError::Malformed(Malformed::BadLength)))
    );

    let n =
        v2.seal(&header(PacketType::Publish, v2.channel_id("a"), [0; 16]), &Body::Empty, &mut out).unwrap();
    assert_eq!(n, 89 + 16, "an empty PUBLISH still has one padding block");
    let mut ack_with_body = out[..n].to_vec();
    ack_with_body[3] = PacketType::Ack as u8;
    resign_v2(&mut ack_with_body);
    assert_eq!(
        v2.open(&ack_with_body, NOW_MS, &mut out),
        Err(Error::Frame(FrameError::Malformed(Malformed::BadLength)))
    );
    let mut unknown = out[..n].to_vec();
    unknown[3] = 0x09;
    resign_v2(&mut unknown);
    assert_eq!(
        v2.open(&unknown, NOW_MS, &mut [0u8; 64]),
        Err(Error::Frame(FrameError::Malformed(Malformed::UnknownType(9))))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_headers_and_payloads_round_trip(
        v2 in any::<bool>(),
        payload in proptest::collection::vec(any::<u8>(), 0..=MAX_REFERENCE_TEXT),
        packet_id in any::<u32>(), session_id in any::<u32>(), ttl in any::<u16>(),
        iv in any::<[u8; 16]>(), flags in any::<u8>(), skew in -30_000i64..=30_000,
        kind in prop::sample::select(vec![PacketType::Publish, PacketType::Subscribe, PacketType::Unsubscribe]),
    ) {
        let version = if v2 { Version::V2 } else { Version::V1 };
        let codec = FrameCodec::new(&keys(), version);
        // v1 carries whole seconds.
        let ts = if v2 { NOW_MS + 123 } else { NOW_MS };
        let h = Header { kind, flags: Flags(flags), packet_id, session_id, ttl, timestamp_ms: ts, channel: codec.channel_id("p"), iv };
        let packet = seal(&codec, &h, &Body::Bytes(&payload));
        let mut plain = vec![0u8; 4096];
        let now = ts.checked_add_signed(skew).unwrap();
        let opened = codec.open(&packet, now, &mut plain).unwrap();
        prop_assert_eq!(opened.header, h);
        prop_assert_eq!(opened.plaintext, &payload[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(v2 in any::<bool>(), bytes in proptest::collection::vec(any::<u8>(), 0..400), prefix in any::<bool>()) {
        let version = if v2 { Version::V2 } else { Version::V1 };
        let codec = FrameCodec::new(&keys(), version);
        let mut bytes = bytes;
        if prefix && bytes.len() >= 3 {
            // Get past the magic and version checks so the deeper paths are reached.
            bytes[0] = b'N';
            bytes[1] = b'M';
            bytes[2] = version as u8;
        }
        let mut plain = vec![0u8; 512];
        prop_assert!(codec.open(&bytes, NOW_MS, &mut plain).is_err());
        prop_assert!(codec.open_in_place(&mut bytes, NOW_MS).is_err());
    }

    #[test]
    fn v1_texts_round_trip(text in "\\PC{0,300}", nonce in any::<u32>(), reference_layout in any::<bool>()) {
        let codec = FrameCodec::new(&keys(), Version::V1);
        let layout = if reference_layout { InnerLayout::ReferenceListener } else { InnerLayout::Standard };
        let body = V1Publish { timestamp_s: NOW_MS / 1000, nonce, text: &text, layout };
        let packet = seal(&codec, &header(PacketType::Publish, codec.channel_id("t"), [8; 16]), &Body::V1Publish(body));
        let mut plain = vec![0u8; 4096];
        let opened = codec.open(&packet, NOW_MS, &mut plain).unwrap();
        prop_assert_eq!(opened.v1_publish().unwrap(), body);
    }
}

#[test]
fn v1_iv_copies_lenient_by_default_strict_on_request() {
    use nomq_proto::frame::OpenOptions;
    use sha2::{Digest, Sha256};
    let lenient = FrameCodec::new(&keys(), Version::V1);
    let strict = lenient.clone().with_options(OpenOptions { strict_iv: true, ..OpenOptions::default() });
    let packet =
        seal(&lenient, &header(PacketType::Publish, ChannelId::v1("iv"), [6; 16]), &Body::Bytes(b"x"));
    assert!(strict.open(&packet, NOW_MS, &mut [0u8; 64]).is_ok(), "identical copies pass strict mode");
    // Change IV copy #1 and recompute the trailer, as only a key holder could (v1 §22.14).
    let mut forged = packet.clone();
    forged[15] ^= 0xff;
    let end = forged.len() - 32;
    let mut h = Sha256::new();
    h.update(&forged[..end]);
    h.update(keys().trailer_key());
    forged[end..].copy_from_slice(&h.finalize());
    assert_eq!(
        lenient.open(&forged, NOW_MS, &mut [0u8; 64]).unwrap().plaintext,
        b"x",
        "the reference ignores copy #1"
    );
    assert_eq!(
        strict.open(&forged, NOW_MS, &mut [0u8; 64]),
        Err(Error::Frame(FrameError::Malformed(Malformed::IvMismatch)))
    );
}
