//! Version 2 packets (nomq-v2.md "Packet layout"): encrypt-then-MAC with HMAC-SHA256.
//!
//! ```text
//! 0 magic(2) 2 version(1) 3 type(1) 4 flags(1) 5 packet_id(4) 9 session_id(4) 13 ttl(2)
//! 15 timestamp ms(8) 23 channel_id(16) 39 iv(16) 55 L(2)
//! 57 ciphertext (L bytes: 0, or a non-zero multiple of 16)
//! 57+L tag = HMAC-SHA256(mac2, bytes[0..57+L))(32)
//! ```

use super::Checked;
use super::preamble::{self, field};
use crate::crypto::{AesCbc, BLOCK, HmacKey, ct_eq, padded_len};
use crate::error::{Error, FrameError, InvalidInput, Malformed, ResourceError};
use crate::frame::{Body, ChannelId, Header, OpenOptions, PacketType};

const VERSION: u8 = 2;
/// Header length.
pub const HEADER_LEN: usize = 57;
/// Tag length.
pub const TAG_LEN: usize = 32;
/// Smallest packet: header and tag, no ciphertext.
pub const MIN_DATAGRAM: usize = HEADER_LEN + TAG_LEN;

/// Ciphertext length of a packet: types without a body have none (v2 layout).
const fn ciphertext_len(carries_body: bool, body_len: usize) -> usize {
    if carries_body { padded_len(body_len) } else { 0 }
}

/// Datagram length for a packet of `kind` with a `body_len`-byte plaintext.
pub fn sealed_len(kind: PacketType, body_len: usize) -> usize {
    MIN_DATAGRAM + ciphertext_len(kind.carries_body_in_v2(), body_len)
}

pub(super) fn seal(
    cipher: &AesCbc,
    mac: &HmacKey,
    h: &Header,
    body: &Body<'_>,
    out: &mut [u8],
) -> Result<usize, Error> {
    // v2 plaintexts are raw bytes; ACK-family and HEARTBEAT packets have none.
    let fits = match body {
        Body::Bytes(_) => true,
        Body::Empty => true,
        Body::Acknowledges(_) | Body::V1Publish(_) => false,
    };
    let carries_body = h.kind.carries_body_in_v2();
    if !fits || (!carries_body && !body.is_empty()) {
        return Err(InvalidInput::BodyMismatch.into());
    }
    let n = body.len();
    let l = ciphertext_len(carries_body, n);
    let l_field = u16::try_from(l).map_err(|_| InvalidInput::PayloadTooLarge)?;
    let total = HEADER_LEN + l + TAG_LEN;
    let out = out.get_mut(..total).ok_or(ResourceError::BufferTooSmall { needed: total })?;

    preamble::write(out, VERSION, h);
    out[15..23].copy_from_slice(&h.timestamp_ms.to_be_bytes());
    out[23..39].copy_from_slice(&h.channel.0);
    out[39..55].copy_from_slice(&h.iv);
    out[55..57].copy_from_slice(&l_field.to_be_bytes());

    if carries_body {
        let region = &mut out[HEADER_LEN..HEADER_LEN + l];
        body.write(region);
        cipher.encrypt_padded(&h.iv, region, n).ok_or(ResourceError::BufferTooSmall { needed: total })?;
    }
    let tag = mac.tag(&[&out[..HEADER_LEN + l]]);
    out[HEADER_LEN + l..].copy_from_slice(&tag);
    Ok(total)
}

/// Receiving steps 1-3 of nomq-v2.md: structure, tag (constant time), timestamp window.
pub(super) fn check(
    mac: &HmacKey,
    opts: &OpenOptions,
    packet: &[u8],
    now_ms: u64,
) -> Result<Checked, FrameError> {
    preamble::check(packet, MIN_DATAGRAM, VERSION)?;
    let l = usize::from(u16::from_be_bytes([packet[55], packet[56]]));
    if packet.len() != MIN_DATAGRAM + l || l % BLOCK != 0 {
        return Err(Malformed::BadLength.into());
    }
    let body_end = HEADER_LEN + l;
    let expected = mac.tag(&[&packet[..body_end]]);
    if !ct_eq(&packet[body_end..], &expected) {
        return Err(FrameError::AuthFailed);
    }

    let timestamp_ms = u64::from_be_bytes(field(packet, 15));
    if now_ms.abs_diff(timestamp_ms) > opts.window_ms {
        return Err(FrameError::Stale);
    }
    let header = preamble::header(packet, timestamp_ms, ChannelId(field(packet, 23)), field(packet, 39))?;
    if header.kind.carries_body_in_v2() == (l == 0) {
        return Err(Malformed::BadLength.into());
    }
    Ok(Checked { header, ciphertext: HEADER_LEN..body_end })
}
