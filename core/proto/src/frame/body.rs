//! What goes inside the encrypted region: the plaintext kinds of v1 §5 and §10 and v2.

use super::Version;
use crate::error::{InvalidInput, Malformed};

/// Length of the v1 PUBLISH inner header `>QII` (v1 §10).
pub const V1_INNER_HEADER_LEN: usize = 16;
/// Filler bytes the reference listener expects between inner header and text (v1 §22.1).
const REFERENCE_FILLER_LEN: usize = 4;

/// Where the text of a v1 PUBLISH starts (v1 §10, §22.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InnerLayout {
    /// Text right after the 16-byte inner header: what the reference *sends* and every correct
    /// receiver reads. The default.
    #[default]
    Standard,
    /// Four zero bytes between header and text (text at offset 20): the only layout an
    /// unmodified reference *listener* delivers. Opt-in, for talking to old receivers.
    ReferenceListener,
}

impl InnerLayout {
    fn text_offset(self) -> usize {
        match self {
            InnerLayout::Standard => V1_INNER_HEADER_LEN,
            InnerLayout::ReferenceListener => V1_INNER_HEADER_LEN + REFERENCE_FILLER_LEN,
        }
    }
}

/// A v1 PUBLISH plaintext: `u64 timestamp ‖ u32 nonce ‖ u32 text_len ‖ text` (v1 §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V1Publish<'a> {
    /// Sender clock, Unix seconds (never checked by receivers, v1 §22.24).
    pub timestamp_s: u64,
    /// Random nonce, the reference's replay key (v1 §15).
    pub nonce: u32,
    /// The message text.
    pub text: &'a str,
    /// Where the text sits.
    pub layout: InnerLayout,
}

impl<'a> V1Publish<'a> {
    /// Reads a v1 PUBLISH plaintext. Accepts the standard layout and the 4-filler-byte one,
    /// which is unambiguous (`len − 16 − text_len` is 0 or 4); any other mismatch, a short
    /// plaintext or non-UTF-8 text is rejected (v1 §10, §22.1).
    pub fn decode(plaintext: &'a [u8]) -> Result<Self, Malformed> {
        let Some((head, rest)) = plaintext.split_first_chunk::<V1_INNER_HEADER_LEN>() else {
            return Err(Malformed::BadInnerPayload);
        };
        let timestamp_s = u64::from_be_bytes(head[0..8].try_into().unwrap_or_default());
        let nonce = u32::from_be_bytes(head[8..12].try_into().unwrap_or_default());
        let text_len = u32::from_be_bytes(head[12..16].try_into().unwrap_or_default()) as usize;
        let (layout, text) = if rest.len() == text_len {
            (InnerLayout::Standard, rest)
        } else if rest.len().checked_sub(REFERENCE_FILLER_LEN) == Some(text_len) {
            (InnerLayout::ReferenceListener, &rest[REFERENCE_FILLER_LEN..])
        } else {
            return Err(Malformed::BadInnerPayload);
        };
        let text = core::str::from_utf8(text).map_err(|_| Malformed::InvalidUtf8)?;
        Ok(V1Publish { timestamp_s, nonce, text, layout })
    }

    fn encoded_len(&self) -> usize {
        self.layout.text_offset() + self.text.len()
    }

    fn write(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.timestamp_s.to_be_bytes());
        out[8..12].copy_from_slice(&self.nonce.to_be_bytes());
        // The text length always fits: bodies are bounded by the 16-bit length field.
        out[12..16].copy_from_slice(&(self.text.len() as u32).to_be_bytes());
        let at = self.layout.text_offset();
        out[V1_INNER_HEADER_LEN..at].fill(0);
        out[at..at + self.text.len()].copy_from_slice(self.text.as_bytes());
    }
}

/// The plaintext to seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// No plaintext: v1 HEARTBEAT (one padding block is still encrypted) and every v2
    /// ACK-family and HEARTBEAT packet (no ciphertext at all).
    Empty,
    /// Exact plaintext bytes: a v2 PUBLISH message, a SUBSCRIBE/UNSUBSCRIBE channel name, or any
    /// v1 plaintext already encoded.
    Bytes(&'a [u8]),
    /// v1 ACK, PUBREC, PUBREL, PUBCOMP: the acknowledged packet id as u32 BE (v1 §5).
    Acknowledges(u32),
    /// A v1 PUBLISH with its inner header (v1 §10).
    V1Publish(V1Publish<'a>),
}

impl<'a> Body<'a> {
    /// The body of a PUBLISH carrying `message`: in v1 the inner header (the timestamp in
    /// seconds, `nonce`, `layout`) before the text, which must be UTF-8 (v1 §10); in v2 the
    /// message bytes as they are. The endpoint, the C codec and the Python codec all build it
    /// here.
    pub fn publish(
        version: Version,
        timestamp_ms: u64,
        nonce: u32,
        message: &'a [u8],
        layout: InnerLayout,
    ) -> Result<Self, InvalidInput> {
        Ok(match version {
            Version::V1 => Body::V1Publish(V1Publish {
                timestamp_s: timestamp_ms / 1000,
                nonce,
                text: core::str::from_utf8(message).map_err(|_| InvalidInput::NotText)?,
                layout,
            }),
            Version::V2 => Body::Bytes(message),
        })
    }
}

impl Body<'_> {
    /// Plaintext length in bytes, before padding.
    pub fn len(&self) -> usize {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len(),
            Body::Acknowledges(_) => 4,
            Body::V1Publish(p) => p.encoded_len(),
        }
    }

    /// True when the plaintext is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the plaintext into `out[..self.len()]`.
    pub(crate) fn write(&self, out: &mut [u8]) {
        match self {
            Body::Empty => {}
            Body::Bytes(b) => out[..b.len()].copy_from_slice(b),
            Body::Acknowledges(id) => out[..4].copy_from_slice(&id.to_be_bytes()),
            Body::V1Publish(p) => p.write(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(p: &V1Publish<'_>) -> alloc::vec::Vec<u8> {
        let mut v = alloc::vec![0xAA; p.encoded_len()];
        p.write(&mut v);
        v
    }

    #[test]
    fn both_layouts_round_trip() {
        for layout in [InnerLayout::Standard, InnerLayout::ReferenceListener] {
            let p = V1Publish { timestamp_s: 1_750_000_000, nonce: 7, text: "héllo", layout };
            let bytes = encode(&p);
            assert_eq!(bytes.len(), layout.text_offset() + "héllo".len());
            assert_eq!(V1Publish::decode(&bytes), Ok(p));
        }
    }

    #[test]
    fn inconsistent_inner_payloads_are_rejected() {
        let p = V1Publish { timestamp_s: 1, nonce: 2, text: "abcdef", layout: InnerLayout::Standard };
        let mut bytes = encode(&p);
        assert_eq!(V1Publish::decode(&bytes[..15]), Err(Malformed::BadInnerPayload));
        for extra in [1usize, 2, 3, 5] {
            let mut longer = bytes.clone();
            longer.extend(core::iter::repeat_n(0, extra));
            assert_eq!(V1Publish::decode(&longer), Err(Malformed::BadInnerPayload), "extra {extra}");
        }
        bytes[12..16].copy_from_slice(&200u32.to_be_bytes());
        assert_eq!(V1Publish::decode(&bytes), Err(Malformed::BadInnerPayload));
        let mut bad = encode(&V1Publish { text: "ab", ..p });
        bad[16] = 0xff;
        assert_eq!(V1Publish::decode(&bad), Err(Malformed::InvalidUtf8));
        // text_len near u32::MAX must not overflow the layout arithmetic.
        bad[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(V1Publish::decode(&bad), Err(Malformed::BadInnerPayload));
    }
}
