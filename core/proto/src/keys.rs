//! The two group secrets every NoMQ node of a deployment shares (v1 §1), and the v2 working
//! keys derived from them (v2 invariant 3). Key bytes are wiped when dropped.

use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::hmac_sha256;
use crate::error::ConfigError;

/// Length in bytes of each key.
pub const KEY_LEN: usize = 32;

/// The configured key pair: the AES-256 encryption key and the trailer key (called `hmac_key`
/// by the reference; in v1 it keys the `SHA256(data || key)` trailer, v1 §7).
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Keys {
    encryption: [u8; KEY_LEN],
    trailer: [u8; KEY_LEN],
}

impl Keys {
    /// Keys from raw bytes.
    pub fn new(encryption: [u8; KEY_LEN], trailer: [u8; KEY_LEN]) -> Self {
        Keys { encryption, trailer }
    }

    /// Keys from the 64-character hex strings of the config file (v1 §19).
    pub fn from_hex(encryption: &str, trailer: &str) -> Result<Self, ConfigError> {
        Ok(Keys {
            encryption: parse_key_hex(encryption, "encryption_key")?,
            trailer: parse_key_hex(trailer, "hmac_key")?,
        })
    }

    /// The AES-256 encryption key.
    pub fn encryption_key(&self) -> &[u8; KEY_LEN] {
        &self.encryption
    }

    /// The trailer (v1) / MAC (v2 derivation input) key, `hmac_key` in config files.
    pub fn trailer_key(&self) -> &[u8; KEY_LEN] {
        &self.trailer
    }

    /// The v2 working keys: `enc2 = HMAC(encryption_key, "nomq v2 enc")`,
    /// `mac2 = HMAC(hmac_key, "nomq v2 mac")` (v2 invariant 3), so a v2 key never equals a v1 key.
    pub fn derive_v2(&self) -> Keys {
        Keys {
            encryption: hmac_sha256(&self.encryption, &[b"nomq v2 enc"]),
            trailer: hmac_sha256(&self.trailer, &[b"nomq v2 mac"]),
        }
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keys { .. }")
    }
}

/// Parses 64 hex characters (either case) into a key.
pub(crate) fn parse_key_hex(text: &str, field: &'static str) -> Result<[u8; KEY_LEN], ConfigError> {
    let bytes = text.as_bytes();
    if bytes.len() != 2 * KEY_LEN {
        return Err(ConfigError::InvalidKey(field));
    }
    let mut key = [0u8; KEY_LEN];
    for (out, pair) in key.iter_mut().zip(bytes.chunks_exact(2)) {
        match (hex_digit(pair[0]), hex_digit(pair[1])) {
            (Some(hi), Some(lo)) => *out = (hi << 4) | lo,
            _ => {
                key.zeroize();
                return Err(ConfigError::InvalidKey(field));
            }
        }
    }
    Ok(key)
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Writes `bytes` as lowercase hex into `out` (which must be twice as long).
pub(crate) fn write_hex(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let k = Keys::from_hex(&"ab".repeat(32), &"0F".repeat(32)).unwrap();
        assert_eq!(k.encryption_key(), &[0xab; 32]);
        assert_eq!(k.trailer_key(), &[0x0f; 32]);
        assert_eq!(
            Keys::from_hex(&"ab".repeat(31), &"00".repeat(32)),
            Err(ConfigError::InvalidKey("encryption_key"))
        );
        assert_eq!(
            Keys::from_hex(&"00".repeat(32), &"zz".repeat(32)),
            Err(ConfigError::InvalidKey("hmac_key"))
        );
        let mut out = [0u8; 4];
        write_hex(&[0x0a, 0xf1], &mut out);
        assert_eq!(&out, b"0af1");
    }

    #[test]
    fn v2_keys_differ_from_v1_keys() {
        let k = Keys::new([1; 32], [2; 32]);
        let k2 = k.derive_v2();
        assert_ne!(k2.encryption_key(), k.encryption_key());
        assert_ne!(k2.trailer_key(), k.trailer_key());
        assert_eq!(k.derive_v2(), k2, "derivation is deterministic");
        assert_eq!(alloc::format!("{k:?}"), "Keys { .. }", "Debug never prints key bytes");
    }
}
