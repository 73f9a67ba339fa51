//! Structured input: header fields and a body, sealed then opened; the result must equal the
//! input, and flipping the byte the input selects must make `open` refuse the packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nomq_proto::frame::{Body, ChannelId, Flags, FrameCodec, Header, PacketType, Version};
use nomq_proto::Keys;

fuzz_target!(|data: &[u8]| {
    if data.len() < 40 {
        return;
    }
    let (head, body) = data.split_at(40);
    let version = if head[0] & 1 == 0 { Version::V1 } else { Version::V2 };
    let kinds = [PacketType::Publish, PacketType::Subscribe, PacketType::Unsubscribe];
    let kind = kinds[usize::from(head[1]) % kinds.len()];
    let u32_at = |i: usize| u32::from_be_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let now_ms = 1_750_000_000_000;
    let ts = match version {
        Version::V1 => now_ms,
        Version::V2 => now_ms + u64::from(head[2]) * 100,
    };
    let h = Header {
        kind,
        flags: Flags(head[3]),
        packet_id: u32_at(4),
        session_id: u32_at(8),
        ttl: u16::from_be_bytes([head[12], head[13]]),
        timestamp_ms: ts,
        channel: ChannelId(head[14..30].try_into().unwrap()),
        iv: {
            let mut iv = [0u8; 16];
            iv[..10].copy_from_slice(&head[30..40]);
            iv
        },
    };
    let codec = FrameCodec::new(&Keys::new([0x11; 32], [0x22; 32]), version);
    let mut packet = vec![0u8; codec.sealed_len(kind, body.len())];
    let Ok(n) = codec.seal(&h, &Body::Bytes(body), &mut packet) else {
        assert!(body.len() > 65_000, "only oversized bodies may fail to seal");
        return;
    };
    let mut plain = vec![0u8; n];
    let opened = codec.open(&packet[..n], now_ms, &mut plain).expect("own packet opens");
    assert_eq!(opened.header, h);
    assert_eq!(opened.plaintext, body);
    let at = usize::from(u16::from_be_bytes([head[2], head[1]])) % n;
    packet[at] ^= 1 << (head[0] >> 5);
    assert!(codec.open(&packet[..n], now_ms, &mut plain).is_err(), "a flipped bit at {at} is refused");
});
