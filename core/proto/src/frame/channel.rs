//! Channel ids (v1 §2, v2 invariant 4). Computing one hashes the name, so endpoints compute it
//! once per channel (at subscribe or first publish) and keep it, never once per packet.

use core::fmt;
use sha2::{Digest, Sha256};

use crate::crypto::HmacKey;

/// The 16-byte channel id in every header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ChannelId(pub [u8; 16]);

impl ChannelId {
    /// The HEARTBEAT channel id: 16 zero bytes (v1 §2).
    pub const HEARTBEAT: ChannelId = ChannelId([0; 16]);

    /// v1: the first 16 bytes of `SHA256(UTF-8 name)`; no normalisation, case-sensitive.
    /// Unkeyed, so anyone can test guesses of channel names (fixed in v2).
    pub fn v1(name: &str) -> Self {
        let digest = Sha256::digest(name.as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        ChannelId(id)
    }

    /// v2: `HMAC-SHA256(mac2, "nomq v2 channel" || name)[0..16]`.
    pub(crate) fn v2(mac2: &HmacKey, name: &str) -> Self {
        let tag = mac2.tag(&[b"nomq v2 channel", name.as_bytes()]);
        let mut id = [0u8; 16];
        id.copy_from_slice(&tag[..16]);
        ChannelId(id)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut hex = [0u8; 32];
        crate::keys::write_hex(&self.0, &mut hex);
        // `write_hex` only writes ASCII hex digits.
        let text = core::str::from_utf8(&hex).unwrap_or("?");
        write!(f, "ChannelId({text})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_channel_id_matches_spec_example() {
        let id = ChannelId::v1("sensors/temp");
        assert_eq!(alloc::format!("{id:?}"), "ChannelId(8319b0611f824d7eb28af150143b48eb)");
    }
}
