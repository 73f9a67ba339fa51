//! Bytes 0..15 are laid out alike in both versions (v1 §3, v2 "Packet layout"):
//! `magic(2) version(1) type(1) flags(1) packet_id(4) session_id(4) ttl(2)`.

use crate::error::{FrameError, Malformed};
use crate::frame::{ChannelId, Flags, Header, PacketType};

const MAGIC: [u8; 2] = *b"NM";

/// Writes the common fields of `h` for `version`.
pub(super) fn write(out: &mut [u8], version: u8, h: &Header) {
    out[0..2].copy_from_slice(&MAGIC);
    out[2] = version;
    out[3] = h.kind as u8;
    out[4] = h.flags.bits();
    out[5..9].copy_from_slice(&h.packet_id.to_be_bytes());
    out[9..13].copy_from_slice(&h.session_id.to_be_bytes());
    out[13..15].copy_from_slice(&h.ttl.to_be_bytes());
}

/// The checks that come before the tag: length floor, magic, version.
pub(super) fn check(packet: &[u8], min_len: usize, version: u8) -> Result<(), FrameError> {
    if packet.len() < min_len {
        return Err(Malformed::TooShort.into());
    }
    if packet[0..2] != MAGIC {
        return Err(Malformed::BadMagic.into());
    }
    if packet[2] != version {
        return Err(FrameError::UnsupportedVersion(packet[2]));
    }
    Ok(())
}

/// The header of an authenticated packet: the common fields plus the version-specific ones.
/// An unknown type byte is only judged here, after authentication.
pub(super) fn header(
    packet: &[u8],
    timestamp_ms: u64,
    channel: ChannelId,
    iv: [u8; 16],
) -> Result<Header, Malformed> {
    Ok(Header {
        kind: PacketType::from_byte(packet[3])?,
        flags: Flags(packet[4]),
        packet_id: u32::from_be_bytes(field(packet, 5)),
        session_id: u32::from_be_bytes(field(packet, 9)),
        ttl: u16::from_be_bytes(field(packet, 13)),
        timestamp_ms,
        channel,
        iv,
    })
}

/// A fixed-size field at `at`; callers have checked the packet is long enough.
pub(super) fn field<const N: usize>(packet: &[u8], at: usize) -> [u8; N] {
    let mut f = [0u8; N];
    f.copy_from_slice(&packet[at..at + N]);
    f
}
