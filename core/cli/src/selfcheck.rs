//! `nomq selfcheck`: every embedded vector is opened, then sealed again from what was parsed and
//! compared byte for byte; every negative vector must be refused; the config example must read
//! back. A failure prints what differed and exits with status 1.

use nomq::Keys;
use nomq::proto::config::{Config, seal_config_json};
use nomq::proto::frame::{Body, Flags, FrameCodec, Header, PacketType, Qos, Version};
use serde_json::Value;
use std::process::ExitCode;
use std::time::Instant;

const V1_VECTORS: &str = include_str!("../../../tests/vectors/nomq-v1.json");
const V2_VECTORS: &str = include_str!("../../../tests/vectors/nomq-v2.json");

pub fn run(iterations: u32) -> ExitCode {
    println!("nomq {} self-check: framing against the embedded vectors", env!("CARGO_PKG_VERSION"));
    let mut failures = Vec::new();
    for (version, text, time_key, scale) in
        [(Version::V1, V1_VECTORS, "receiver_time", 1000), (Version::V2, V2_VECTORS, "receiver_time_ms", 1)]
    {
        match check_vectors(version, text, time_key, scale) {
            Ok(line) => println!("  {line}"),
            Err(e) => failures.push(e),
        }
    }
    match check_config() {
        Ok(line) => println!("  {line}"),
        Err(e) => failures.push(e),
    }
    if iterations > 0 {
        for version in [Version::V1, Version::V2] {
            let rate = seal_open_rate(version, iterations, 64);
            println!(
                "  {version:?} speed: {:.2} million seal+open per second (64-byte message, one core)",
                rate / 1e6
            );
        }
    }
    if failures.is_empty() {
        println!("OK");
        ExitCode::SUCCESS
    } else {
        for f in &failures {
            eprintln!("FAILED: {f}");
        }
        ExitCode::FAILURE
    }
}

fn bytes(v: &Value) -> Result<Vec<u8>, String> {
    hex::decode(v.as_str().ok_or("expected a hex string")?).map_err(|e| e.to_string())
}

fn check_vectors(version: Version, text: &str, time_key: &str, scale: u64) -> Result<String, String> {
    let all: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let keys = Keys::from_hex(
        all["encryption_key"].as_str().unwrap_or_default(),
        all["hmac_key"].as_str().unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    let codec = FrameCodec::new(&keys, version);
    let (mut rebuilt, mut refused) = (0, 0);
    let empty = Vec::new();
    let positives = all["vectors"].as_array().unwrap_or(&empty);
    let negatives = all["negative"].as_array().unwrap_or(&empty);
    let mut plain = vec![0u8; 4096];
    let mut again = vec![0u8; 4096];
    for v in positives {
        let name = v["name"].as_str().unwrap_or("?");
        let packet = bytes(&v["packet"])?;
        let now = v[time_key].as_u64().unwrap_or_default() * scale;
        let opened = codec.open(&packet, now, &mut plain).map_err(|e| format!("{version:?} {name}: {e}"))?;
        if opened.header.kind == PacketType::Publish && version == Version::V1 {
            opened.v1_publish().map_err(|e| format!("{version:?} {name}: {e}"))?;
        }
        let n = codec
            .seal(&opened.header, &Body::Bytes(opened.plaintext), &mut again)
            .map_err(|e| format!("{version:?} {name}: {e}"))?;
        if again[..n] != packet[..] {
            return Err(format!("{version:?} {name}: re-sealed packet differs from the vector"));
        }
        rebuilt += 1;
    }
    for v in negatives {
        let name = v["name"].as_str().unwrap_or("?");
        let packet = bytes(&v["packet"])?;
        let now = v[time_key].as_u64().unwrap_or_default() * scale;
        if codec.open(&packet, now, &mut plain).is_ok() {
            return Err(format!("{version:?} negative vector {name} was accepted"));
        }
        refused += 1;
    }
    Ok(format!(
        "{version:?}: {rebuilt}/{} packets opened and re-sealed byte for byte, {refused}/{} bad packets refused",
        positives.len(),
        negatives.len()
    ))
}

fn check_config() -> Result<String, String> {
    let all: Value = serde_json::from_str(V1_VECTORS).map_err(|e| e.to_string())?;
    let c = &all["config_example"];
    let file_text = c["file_text"].as_str().unwrap_or_default();
    let iv: [u8; 16] = bytes(&c["iv"])?.try_into().map_err(|_| "iv length")?;
    if seal_config_json(c["json_plaintext"].as_str().unwrap_or_default().as_bytes(), &iv) != file_text {
        return Err("config file example: written file differs from the reference's".into());
    }
    let cfg = Config::from_file_text(file_text).map_err(|e| e.to_string())?;
    if hex::encode(cfg.keys.encryption_key()) != c["input"]["encryption_key"].as_str().unwrap_or_default() {
        return Err("config file example: keys read back differ".into());
    }
    Ok(format!("config file: reference example written and read back ({}:{})", cfg.ip, cfg.port))
}

/// Seal+open pairs per second for a `size`-byte message on one core (informational; `cargo
/// bench` has the careful numbers).
pub fn seal_open_rate(version: Version, iterations: u32, size: usize) -> f64 {
    let codec = FrameCodec::new(&Keys::new([7; 32], [9; 32]), version);
    let mut header = Header {
        kind: PacketType::Publish,
        flags: Flags::publish(Qos::AtMostOnce, false, 0),
        packet_id: 0,
        session_id: 1,
        ttl: 60,
        timestamp_ms: 1_750_000_000_000,
        channel: codec.channel_id("speed"),
        iv: [0; 16],
    };
    let message = vec![b'x'; size];
    let (mut packet, mut plain) = (vec![0u8; size + 256], vec![0u8; size + 256]);
    let start = Instant::now();
    let mut opened = 0u32;
    for i in 0..iterations {
        header.packet_id = i;
        header.iv[..4].copy_from_slice(&i.to_be_bytes());
        let Ok(n) = codec.seal(&header, &Body::Bytes(&message), &mut packet) else { continue };
        if codec.open(&packet[..n], header.timestamp_ms, &mut plain).is_ok() {
            opened += 1;
        }
    }
    f64::from(opened) / start.elapsed().as_secs_f64()
}
