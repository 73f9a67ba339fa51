//! The reference's encrypted config file (nomq-v1.md §19), read and written byte-compatibly.
//!
//! The file is one line of base64 of `iv ‖ AES-256-CBC(SHA256("nomq_config_key"), iv,
//! PKCS#7(JSON))`. The key is a public constant, so the format only *obfuscates*: anyone holding
//! the file holds the keys (v1 §22.13). Protect it like a plain key file (permissions 0600).

use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use core::fmt::Write;
use serde_json::{Map, Value};
use zeroize::{Zeroize, Zeroizing};

use crate::crypto::{AesCbc, BLOCK, padded_len};
use crate::error::ConfigError;
use crate::keys::{KEY_LEN, Keys, parse_key_hex, write_hex};

/// `SHA256(b"nomq_config_key")`, the fixed public key of the config format (v1 §19).
pub const CONFIG_KEY: [u8; 32] = [
    0x35, 0x14, 0x9d, 0x1a, 0xda, 0xa8, 0xee, 0x0d, 0x35, 0xa4, 0xd8, 0x44, 0x25, 0x12, 0x4f, 0x40, 0x8d,
    0xdf, 0x41, 0xf0, 0x5c, 0x6c, 0x97, 0x00, 0xfd, 0x66, 0x08, 0x9b, 0xef, 0xc3, 0xea, 0x3e,
];

/// Default bind address of a node (v1 §19).
pub const DEFAULT_IP: &str = "0.0.0.0";
/// Default UDP port (v1 §17).
pub const DEFAULT_PORT: u16 = 8888;

/// A node's configuration: where to bind and the group keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Bind address (`ip` field).
    pub ip: String,
    /// UDP port (`port` field).
    pub port: u16,
    /// Bind an IPv6 socket (`use_ipv6` field).
    pub use_ipv6: bool,
    /// `encryption_key` and `hmac_key`.
    pub keys: Keys,
}

impl Config {
    /// A config with the reference defaults (`0.0.0.0:8888`, IPv4) and the given keys.
    pub fn new(keys: Keys) -> Self {
        Config { ip: String::from(DEFAULT_IP), port: DEFAULT_PORT, use_ipv6: false, keys }
    }

    /// Reads either format: a JSON object (plain config) or the encrypted base64 file.
    pub fn from_text(text: &str) -> Result<Self, ConfigError> {
        if text.trim_start().starts_with('{') {
            Config::from_json(text.as_bytes())
        } else {
            Config::from_file_text(text)
        }
    }

    /// Reads the encrypted file (§19): base64, decrypt, unpad, JSON.
    pub fn from_file_text(text: &str) -> Result<Self, ConfigError> {
        let json = open_config_file(text)?;
        Config::from_json(&json)
    }

    /// Reads the JSON object. Unknown fields are ignored; `ip`, `port` and `use_ipv6` default
    /// like the reference; both keys are required.
    pub fn from_json(json: &[u8]) -> Result<Self, ConfigError> {
        let value: Value = serde_json::from_slice(json).map_err(|_| ConfigError::Json)?;
        let Value::Object(mut map) = value else {
            return Err(ConfigError::Json);
        };
        let ip = match map.get("ip") {
            None => String::from(DEFAULT_IP),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(ConfigError::InvalidField("ip")),
        };
        let port = match map.get("port") {
            None => DEFAULT_PORT,
            Some(v) => {
                v.as_u64().and_then(|p| u16::try_from(p).ok()).ok_or(ConfigError::InvalidField("port"))?
            }
        };
        let use_ipv6 = match map.get("use_ipv6") {
            None => false,
            Some(v) => v.as_bool().ok_or(ConfigError::InvalidField("use_ipv6"))?,
        };
        let encryption = take_key(&mut map, "encryption_key")?;
        let trailer = take_key(&mut map, "hmac_key")?;
        Ok(Config { ip, port, use_ipv6, keys: Keys::new(*encryption, *trailer) })
    }

    /// The JSON object, fields in a fixed order (the reference's order is hash order, and key
    /// order is irrelevant to readers, §19).
    pub fn to_json(&self) -> Zeroizing<String> {
        let mut enc = Zeroizing::new([0u8; 2 * KEY_LEN]);
        let mut mac = Zeroizing::new([0u8; 2 * KEY_LEN]);
        write_hex(self.keys.encryption_key(), &mut *enc);
        write_hex(self.keys.trailer_key(), &mut *mac);
        // `write_hex` writes ASCII only; `Value`'s Display escapes the ip as a JSON string.
        let hex = |b: &[u8]| core::str::from_utf8(b).unwrap_or_default().to_owned();
        let (enc, mac) = (Zeroizing::new(hex(&*enc)), Zeroizing::new(hex(&*mac)));
        let mut json = Zeroizing::new(String::with_capacity(256));
        let _ = write!(
            json,
            "{{\"ip\": {}, \"port\": {}, \"use_ipv6\": {}, \"encryption_key\": \"{}\", \"hmac_key\": \"{}\"}}",
            Value::String(self.ip.clone()),
            self.port,
            self.use_ipv6,
            *enc,
            *mac,
        );
        json
    }

    /// The encrypted file text, with the caller's random `iv` (16 bytes from a CSPRNG).
    pub fn to_file_text(&self, iv: &[u8; 16]) -> String {
        seal_config_json(self.to_json().as_bytes(), iv)
    }
}

/// Encrypts a JSON text into the config file format: base64 line plus `\n` (§19).
pub fn seal_config_json(json: &[u8], iv: &[u8; 16]) -> String {
    let mut blob = Zeroizing::new(vec![0u8; BLOCK + padded_len(json.len())]);
    blob[..BLOCK].copy_from_slice(iv);
    blob[BLOCK..BLOCK + json.len()].copy_from_slice(json);
    // The buffer is sized by `padded_len`, so encryption cannot run out of room.
    let _ = AesCbc::new(&CONFIG_KEY).encrypt_padded(iv, &mut blob[BLOCK..], json.len());
    let mut text = BASE64.encode(&*blob);
    text.push('\n');
    text
}

/// Decrypts a config file text to its JSON bytes (§19). Needs at least an IV and one block:
/// the reference crashes on a 16-byte blob (v1 §22.16); this returns [`ConfigError::Length`].
pub fn open_config_file(text: &str) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    let blob = Zeroizing::new(BASE64.decode(text.trim()).map_err(|_| ConfigError::Base64)?);
    if blob.len() < 2 * BLOCK || blob.len() % BLOCK != 0 {
        return Err(ConfigError::Length);
    }
    let (iv, ciphertext) = blob.split_at(BLOCK);
    let iv: &[u8; 16] = iv.try_into().map_err(|_| ConfigError::Length)?;
    let mut out = Zeroizing::new(vec![0u8; ciphertext.len()]);
    let len =
        AesCbc::new(&CONFIG_KEY).decrypt_padded(iv, ciphertext, &mut out).ok_or(ConfigError::Padding)?.len();
    out.truncate(len);
    Ok(out)
}

/// Removes a hex key field from the parsed JSON and wipes its text once decoded.
fn take_key(
    map: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Zeroizing<[u8; KEY_LEN]>, ConfigError> {
    let Some(value) = map.remove(field) else {
        return Err(ConfigError::MissingField(field));
    };
    let Value::String(mut hex) = value else {
        return Err(ConfigError::InvalidKey(field));
    };
    let parsed = parse_key_hex(&hex, field).map(Zeroizing::new);
    hex.zeroize();
    parsed
}
