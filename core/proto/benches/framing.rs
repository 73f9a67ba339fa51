//! Seal and open against a "floor" of the bare primitives, measured in the same run with the same
//! crates. The floor does only what any NoMQ implementation must: AES-256-CBC over
//! the padded plaintext and one SHA-256 (v1) or HMAC-SHA256 (v2) pass over the packet, with key
//! schedules prepared once. `scripts/bench-ratios.py` prints the medians and ratios.

use aes::{Aes256Dec, Aes256Enc};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit, block_padding::Pkcs7};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use nomq_proto::Keys;
use nomq_proto::frame::{Body, Flags, FrameCodec, Header, InnerLayout, PacketType, Qos, V1Publish, Version};
use sha2::{Digest, Sha256};
use std::hint::black_box;

const NOW_MS: u64 = 1_750_000_000_000;
const SIZES: [usize; 2] = [64, 1000];

fn header(codec: &FrameCodec) -> Header {
    Header {
        kind: PacketType::Publish,
        flags: Flags::publish(Qos::AtLeastOnce, false, 0),
        packet_id: 0x0102_0304,
        session_id: 0xdead_beef,
        ttl: 3600,
        timestamp_ms: NOW_MS,
        channel: codec.channel_id("sensors/temp"),
        iv: [0x5a; 16],
    }
}

/// The sealed packet and the plaintext length the framer encrypts for a `size`-byte message.
fn sealed(codec: &FrameCodec, message: &str) -> (Vec<u8>, usize) {
    let h = header(codec);
    let body = body_for(codec.version(), message);
    let mut out = vec![0u8; 2048];
    let n = codec.seal(&h, &body, &mut out).unwrap();
    out.truncate(n);
    (out, body.len())
}

fn body_for(version: Version, message: &str) -> Body<'_> {
    match version {
        Version::V1 => Body::V1Publish(V1Publish {
            timestamp_s: NOW_MS / 1000,
            nonce: 7,
            text: message,
            layout: InnerLayout::Standard,
        }),
        Version::V2 => Body::Bytes(message.as_bytes()),
    }
}

fn bench(c: &mut Criterion) {
    let keys = Keys::new([0x11; 32], [0x22; 32]);
    for version in [Version::V1, Version::V2] {
        // The floor works with the keys the codec really uses (v2 derives its own).
        let working = match version {
            Version::V1 => keys.clone(),
            Version::V2 => keys.derive_v2(),
        };
        let enc = Aes256Enc::new(working.encryption_key().into());
        let dec = Aes256Dec::new(working.encryption_key().into());
        let hmac_key = <Hmac<Sha256> as KeyInit>::new_from_slice(working.trailer_key()).unwrap();
        let codec = FrameCodec::new(&keys, version);
        let tag = format!("{version:?}").to_lowercase();
        let mut g = c.benchmark_group(format!("framing/{tag}"));
        g.throughput(Throughput::Elements(1));
        for size in SIZES {
            let message = "x".repeat(size);
            let h = header(&codec);
            let (packet, plain_len) = sealed(&codec, &message);
            let mut out = vec![0u8; 2048];
            let mut plain = vec![0u8; 2048];

            g.bench_with_input(BenchmarkId::new("seal", size), &size, |b, _| {
                b.iter(|| {
                    codec.seal(black_box(&h), &body_for(version, black_box(&message)), &mut out).unwrap()
                })
            });
            g.bench_with_input(BenchmarkId::new("open", size), &size, |b, _| {
                b.iter(|| codec.open(black_box(&packet), NOW_MS, &mut plain).unwrap().plaintext.len())
            });

            // Floor: the same primitive work on buffers of the same sizes.
            let packet_len = packet.len();
            let ct_at = packet_len - 32 - cbc_len(plain_len);
            let iv = [0x5a; 16];
            g.bench_with_input(BenchmarkId::new("floor_seal", size), &size, |b, _| {
                b.iter(|| {
                    out[ct_at..ct_at + plain_len].fill(b'x');
                    let mode = cbc::Encryptor::<&Aes256Enc>::inner_iv_init(&enc, (&iv).into());
                    mode.encrypt_padded::<Pkcs7>(&mut out[ct_at..packet_len - 32], plain_len).unwrap();
                    let t = mac(version, &hmac_key, &out[..packet_len - 32]);
                    out[packet_len - 32..packet_len].copy_from_slice(&t);
                })
            });
            g.bench_with_input(BenchmarkId::new("floor_open", size), &size, |b, _| {
                b.iter(|| {
                    let t = mac(version, &hmac_key, &packet[..packet_len - 32]);
                    assert!(black_box(t) != [0u8; 32]);
                    let mode = cbc::Decryptor::<&Aes256Dec>::inner_iv_init(&dec, (&iv).into());
                    mode.decrypt_padded_b2b::<Pkcs7>(&packet[ct_at..packet_len - 32], &mut plain)
                        .unwrap()
                        .len()
                })
            });
        }
        g.finish();
    }
}

fn cbc_len(plain_len: usize) -> usize {
    (plain_len / 16 + 1) * 16
}

fn mac(version: Version, hmac_key: &Hmac<Sha256>, data: &[u8]) -> [u8; 32] {
    match version {
        Version::V1 => {
            let mut h = Sha256::new();
            h.update(data);
            h.update([0x22u8; 32]);
            h.finalize().into()
        }
        Version::V2 => {
            let mut m = hmac_key.clone();
            m.update(data);
            m.finalize().into_bytes().into()
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(60).measurement_time(std::time::Duration::from_secs(3)).warm_up_time(std::time::Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
