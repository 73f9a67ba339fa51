//! Version 1 packets, byte-compatible with the reference (nomq-v1.md §3-§9).
//!
//! ```text
//! 0 magic(2) 2 version(1) 3 type(1) 4 flags(1) 5 packet_id(4) 9 session_id(4) 13 ttl(2)
//! 15 iv copy #1(16) 31 timestamp s(4) 35 channel_id(16) 51 L(2)
//! 53 iv copy #2(16) ‖ AES-256-CBC ciphertext   (L bytes in all)
//! 53+L trailer = SHA256(bytes[0..53+L) ‖ trailer_key)(32)
//! ```

use super::Checked;
use super::preamble::{self, field};
use crate::crypto::{AesCbc, BLOCK, ct_eq, keyed_sha256_trailer, padded_len};
use crate::error::{Error, FrameError, InvalidInput, Malformed, ResourceError};
use crate::frame::{Body, ChannelId, Header, OpenOptions};

const VERSION: u8 = 1;
/// Header length, struct `>HBBBIIH16sI16sH` (v1 §3).
pub const HEADER_LEN: usize = 53;
/// Trailer length.
pub const TRAILER_LEN: usize = 32;
/// The reference parser's floor: header and trailer (v1 §9.1 step 1).
pub const MIN_DATAGRAM: usize = HEADER_LEN + TRAILER_LEN;
const IV_LEN: usize = 16;

/// Datagram length for a `body_len`-byte plaintext: `85 + 16 + padded` (v1 §3).
pub const fn sealed_len(body_len: usize) -> usize {
    HEADER_LEN + IV_LEN + padded_len(body_len) + TRAILER_LEN
}

pub(super) fn seal(
    cipher: &AesCbc,
    trailer_key: &[u8; 32],
    h: &Header,
    body: &Body<'_>,
    out: &mut [u8],
) -> Result<usize, Error> {
    let n = body.len();
    let ct_len = padded_len(n);
    let l = IV_LEN + ct_len;
    let l_field = u16::try_from(l).map_err(|_| InvalidInput::PayloadTooLarge)?;
    let timestamp_s = u32::try_from(h.timestamp_ms / 1000).map_err(|_| InvalidInput::TimestampOutOfRange)?;
    let total = HEADER_LEN + l + TRAILER_LEN;
    let out = out.get_mut(..total).ok_or(ResourceError::BufferTooSmall { needed: total })?;

    preamble::write(out, VERSION, h);
    // The IV is written twice, identically (v1 §6).
    out[15..31].copy_from_slice(&h.iv);
    out[31..35].copy_from_slice(&timestamp_s.to_be_bytes());
    out[35..51].copy_from_slice(&h.channel.0);
    out[51..53].copy_from_slice(&l_field.to_be_bytes());
    out[53..69].copy_from_slice(&h.iv);

    let region = &mut out[HEADER_LEN + IV_LEN..HEADER_LEN + l];
    body.write(region);
    cipher.encrypt_padded(&h.iv, region, n).ok_or(ResourceError::BufferTooSmall { needed: total })?;

    let tag = keyed_sha256_trailer(&out[..HEADER_LEN + l], trailer_key);
    out[HEADER_LEN + l..].copy_from_slice(&tag);
    Ok(total)
}

/// Everything before decryption: structure, trailer, timestamp (v1 §9.1 steps 1-7).
///
/// Order differs from the reference in one harmless way: the trailer is verified before the
/// timestamp is judged (v1 §22.12), so a forged packet always reports `AuthFailed`. Every
/// negative vector still gets the reference's reason.
pub(super) fn check(
    trailer_key: &[u8; 32],
    opts: &OpenOptions,
    packet: &[u8],
    now_ms: u64,
) -> Result<Checked, FrameError> {
    preamble::check(packet, MIN_DATAGRAM, VERSION)?;
    let l = usize::from(u16::from_be_bytes([packet[51], packet[52]]));
    let body_end = HEADER_LEN + l;
    if packet.len() < body_end + TRAILER_LEN {
        return Err(Malformed::BadLength.into());
    }
    // The trailer is everything after the encrypted region, as in the reference: extra
    // trailing bytes fail authentication (v1 §3, vector `trailing_garbage`).
    let expected = keyed_sha256_trailer(&packet[..body_end], trailer_key);
    if !ct_eq(&packet[body_end..], &expected) {
        return Err(FrameError::AuthFailed);
    }

    let timestamp_s = u32::from_be_bytes(field(packet, 31));
    let timestamp_ms = u64::from(timestamp_s) * 1000;
    if now_ms.abs_diff(timestamp_ms) > opts.window_ms {
        return Err(FrameError::Stale);
    }
    // An IV plus at least one block, block aligned (v1 §22.16: L = 16 crashed the reference).
    if l < IV_LEN + BLOCK || (l - IV_LEN) % BLOCK != 0 {
        return Err(Malformed::BadLength.into());
    }
    let iv: [u8; 16] = field(packet, 53);
    if opts.strict_iv && packet[15..31] != iv {
        return Err(Malformed::IvMismatch.into());
    }
    Ok(Checked {
        header: preamble::header(packet, timestamp_ms, ChannelId(field(packet, 35)), iv)?,
        ciphertext: HEADER_LEN + IV_LEN..body_end,
    })
}
