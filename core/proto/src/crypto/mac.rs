//! Integrity tags: the v1 secret-suffix trailer and v2's HMAC-SHA256, plus constant-time compare.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The v1 trailer: `SHA256(data || trailer_key)` (v1 §7). This is *not* HMAC; v1 peers compute
/// exactly this, so it must be reproduced as is (v1 §22.10).
pub(crate) fn keyed_sha256_trailer(data: &[u8], trailer_key: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(data);
    h.update(trailer_key);
    h.finalize().into()
}

/// One-shot HMAC-SHA256 over the concatenation of `parts` (RFC 2104).
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = new_hmac(key);
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// An HMAC-SHA256 key with its inner and outer pads already absorbed, cloned per packet so a
/// tag costs only the message blocks and the two finalisations.
#[derive(Clone)]
pub(crate) struct HmacKey(Hmac<Sha256>);

impl HmacKey {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        HmacKey(new_hmac(key))
    }

    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut m = self.0.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }
}

/// HMAC accepts keys of any length (RFC 2104 §2), so `new_from_slice` cannot fail; the
/// fallback keeps this function total without a panic path.
fn new_hmac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()))
}

/// Constant-time equality of a received tag with the expected one (v1 §22.8, v2 invariant 1).
///
/// The lengths are public (they come from the datagram length). The bytes are folded into one
/// word with XOR/OR and only the final word passes `subtle`'s optimisation barrier: per-byte
/// barriers (`<[u8]>::ct_eq`) cost more than a whole AES block here.
pub(crate) fn ct_eq(received: &[u8], expected: &[u8; 32]) -> bool {
    let Ok(received) = <&[u8; 32]>::try_from(received) else {
        return false;
    };
    let mut diff = 0u64;
    for (r, e) in received.chunks_exact(8).zip(expected.chunks_exact(8)) {
        let r = u64::from_ne_bytes(r.try_into().unwrap_or_default());
        let e = u64::from_ne_bytes(e.try_into().unwrap_or_default());
        diff |= r ^ e;
    }
    diff.ct_eq(&0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let tag = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(tag[..8], [0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e], "RFC 4231 test case 2");
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        assert_eq!(HmacKey::new(&key).tag(&[b"x"]), hmac_sha256(&key, &[b"x"]));
    }

    #[test]
    fn trailer_is_suffix_keyed_sha256() {
        // SHA256("abc" || 32 zero bytes), computed with Python's hashlib.
        let t = keyed_sha256_trailer(b"abc", &[0; 32]);
        assert_eq!(t[..8], [27, 35, 248, 96, 219, 155, 217, 236]);
        assert!(ct_eq(&t, &t));
        assert!(!ct_eq(&[0; 32], &t));
        assert!(!ct_eq(&t[..31], &t), "length mismatch is unequal");
        for i in 0..32 {
            let mut flipped = t;
            flipped[i] ^= 0x80;
            assert!(!ct_eq(&flipped, &t), "byte {i}");
        }
    }
}
