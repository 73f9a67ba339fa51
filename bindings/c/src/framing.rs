//! NoMQ framing from C: `nomq_codec` seals and opens v1/v2 packets into caller buffers
//! (nomq-v1 §3-§10, nomq-v2). The caller supplies IVs, ids and time: nothing here allocates
//! after `nomq_codec_new`, reads a clock or draws random bytes.

use alloc::boxed::Box;
use core::ffi::c_char;

use nomq_proto::Keys;
use nomq_proto::frame::{Body, ChannelId, Flags, FrameCodec, Header, InnerLayout, PacketType, Version};

use crate::guard::{self, guard};
use crate::result::nomq_result;

/// The authenticated header fields of a packet (nomq-v1 §3), version independent.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct nomq_header {
    /// Packet type: 1 PUBLISH, 2 SUBSCRIBE, 3 ACK, 4 UNSUBSCRIBE, 5 HEARTBEAT, 6 PUBREC,
    /// 7 PUBREL, 8 PUBCOMP.
    pub kind: u8,
    /// Flags byte (PUBLISH: QoS in bits 0-1, retain bit 2, DUP bit 3 in v2, priority 4-7).
    pub flags: u8,
    /// Time to live in seconds.
    pub ttl: u16,
    /// Packet id.
    pub packet_id: u32,
    /// The sender's session id.
    pub session_id: u32,
    /// Unix time in milliseconds (v1 carries whole seconds).
    pub timestamp_ms: u64,
    /// Channel id (`nomq_codec_channel_id`; zero for HEARTBEAT).
    pub channel_id: [u8; 16],
    /// 16 random bytes, fresh for every packet.
    pub iv: [u8; 16],
}

impl nomq_header {
    fn to_header(self) -> Result<Header, nomq_result> {
        Ok(Header {
            kind: PacketType::from_byte(self.kind).map_err(|_| nomq_result::InvalidArgument)?,
            flags: Flags(self.flags),
            packet_id: self.packet_id,
            session_id: self.session_id,
            ttl: self.ttl,
            timestamp_ms: self.timestamp_ms,
            channel: ChannelId(self.channel_id),
            iv: self.iv,
        })
    }

    fn from_header(h: &Header) -> Self {
        nomq_header {
            kind: h.kind as u8,
            flags: h.flags.bits(),
            ttl: h.ttl,
            packet_id: h.packet_id,
            session_id: h.session_id,
            timestamp_ms: h.timestamp_ms,
            channel_id: h.channel.0,
            iv: h.iv,
        }
    }
}

/// A sealer/opener for one protocol version under one key pair. Create with
/// `nomq_codec_new`, free with `nomq_codec_free`. Immutable after creation: one codec may be
/// used from several threads at once.
#[derive(Debug)]
pub struct nomq_codec {
    codec: FrameCodec,
}

pub(crate) fn version(v: u8) -> Result<Version, nomq_result> {
    match v {
        1 => Ok(Version::V1),
        2 => Ok(Version::V2),
        _ => Err(nomq_result::InvalidArgument),
    }
}

/// Creates a codec for `version` (1 or 2) under the 32-byte `encryption_key` and
/// `trailer_key` (the config file's `hmac_key`); both are copied. On success writes the new
/// codec to `*out`; on failure `*out` is untouched.
///
/// # Safety
/// The keys must point to 32 readable bytes each; `out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_codec_new(
    version: u8,
    encryption_key: *const u8,
    trailer_key: *const u8,
    out: *mut *mut nomq_codec,
) -> nomq_result {
    guard(|| {
        let v = self::version(version)?;
        // SAFETY: the caller passes two 32-byte keys.
        let keys = unsafe { Keys::new(guard::key(encryption_key)?, guard::key(trailer_key)?) };
        if out.is_null() {
            return Err(nomq_result::NullPointer);
        }
        let codec = Box::into_raw(Box::new(nomq_codec { codec: FrameCodec::new(&keys, v) }));
        // SAFETY: `out` is non-NULL and writable per the contract.
        unsafe { out.write(codec) };
        Ok(())
    })
}

/// Frees a codec (its keys are zeroized). NULL is accepted and ignored.
///
/// # Safety
/// `codec` must come from `nomq_codec_new` and not be used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_codec_free(codec: *mut nomq_codec) {
    // SAFETY: per the contract above.
    unsafe { guard::free(codec) }
}

/// Writes the 16-byte channel id of the UTF-8 channel `name` (`name_len` bytes, no NUL
/// needed) to `out`: SHA-256 prefix in v1 (§2), keyed in v2. Compute once per channel.
///
/// # Safety
/// `codec` is live; `name` is readable for `name_len` bytes; `out` is writable for 16 bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_codec_channel_id(
    codec: *const nomq_codec,
    name: *const c_char,
    name_len: usize,
    out: *mut u8,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let (c, name, out) =
            unsafe { (guard::object_ref(codec)?, guard::text(name, name_len)?, guard::buffer(out, 16)?) };
        out.copy_from_slice(c.codec.channel_id(name).as_bytes());
        Ok(())
    })
}

/// The datagram length `nomq_codec_seal` produces for packet type `kind` and a
/// `body_len`-byte plaintext; 0 for an unknown kind or a NULL codec.
///
/// # Safety
/// `codec` is live or NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_codec_sealed_len(codec: *const nomq_codec, kind: u8, body_len: usize) -> usize {
    guard::guard_or(0, || {
        // SAFETY: per the contract above.
        let Ok(c) = (unsafe { guard::object_ref(codec) }) else { return 0 };
        // Bodies are bounded by the 16-bit length fields: larger ones cannot be sealed (and
        // would overflow the padding arithmetic).
        if body_len > usize::from(u16::MAX) {
            return 0;
        }
        PacketType::from_byte(kind).map_or(0, |k| c.codec.sealed_len(k, body_len))
    })
}

/// Seals any packet: `header` (with a fresh random IV) and the exact plaintext `body` (empty
/// for v2 ACK-family and HEARTBEAT packets). Writes the datagram to `out` (`out_cap` bytes)
/// and its length to `*out_len`.
///
/// # Safety
/// `codec` and `header` are valid; `body` is readable for `body_len` bytes (NULL if 0); `out`
/// is writable for `out_cap` bytes, not overlapping `body`; `out_len` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_codec_seal(
    codec: *const nomq_codec,
    header: *const nomq_header,
    body: *const u8,
    body_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> nomq_result {
    // SAFETY: forwarded contract.
    guard(|| unsafe {
        seal_into(codec, header, body, body_len, out, out_cap, out_len, |_, _, body| {
            Ok(if body.is_empty() { Body::Empty } else { Body::Bytes(body) })
        })
    })
}

/// Seals a PUBLISH of `message`: in v1 the message must be UTF-8 text and gets the
/// reference's 16-byte inner header (timestamp from `header`, the random `nonce`, nomq-v1
/// §10); in v2 it is the plaintext as is.
///
/// # Safety
/// As `nomq_codec_seal`, with `message` readable for `message_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_codec_seal_publish(
    codec: *const nomq_codec,
    header: *const nomq_header,
    nonce: u32,
    message: *const u8,
    message_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> nomq_result {
    // SAFETY: forwarded contract.
    guard(|| unsafe {
        seal_into(codec, header, message, message_len, out, out_cap, out_len, |codec, header, message| {
            if header.kind != PacketType::Publish {
                return Err(nomq_result::InvalidArgument);
            }
            Ok(Body::publish(codec.version(), header.timestamp_ms, nonce, message, InnerLayout::Standard)?)
        })
    })
}

/// The checks and writes both seal exports share; `body` builds the plaintext from the
/// caller's input.
///
/// # Safety
/// As `nomq_codec_seal`, with `input` for `body`.
#[allow(clippy::too_many_arguments)]
unsafe fn seal_into<'a>(
    codec: *const nomq_codec,
    header: *const nomq_header,
    input: *const u8,
    input_len: usize,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    body: impl FnOnce(&FrameCodec, &Header, &'a [u8]) -> Result<Body<'a>, nomq_result>,
) -> Result<(), nomq_result> {
    if out_len.is_null() {
        return Err(nomq_result::NullPointer);
    }
    guard::disjoint(input, input_len, out, out_cap)?;
    // SAFETY: per the contract; `input` and `out` do not overlap (checked).
    let (c, h, input, out) = unsafe {
        (
            guard::object_ref(codec)?,
            header.as_ref().ok_or(nomq_result::NullPointer)?,
            guard::bytes(input, input_len)?,
            guard::buffer(out, out_cap)?,
        )
    };
    let header = h.to_header()?;
    let body = body(&c.codec, &header, input)?;
    let n = c.codec.seal(&header, &body, out)?;
    // SAFETY: checked non-NULL above; writable per the contract.
    unsafe { out_len.write(n) };
    Ok(())
}

/// Opens `datagram`: verifies the tag first (constant time), checks the timestamp against
/// `now_unix_ms` (the wall clock, ±30 s), decrypts into `plain` (`plain_cap` bytes; the datagram
/// length always suffices) and fills `*header`. The message is
/// `plain[*message_offset .. *message_offset + *message_len]`: for a v1 PUBLISH the text after
/// the inner header, otherwise the whole plaintext (empty for v2 ACK-family and HEARTBEAT
/// packets). On failure `*header`, `*message_offset` and `*message_len` are untouched; `plain`
/// may hold decrypted bytes of a packet that failed its padding or inner-header check.
/// `datagram` and `plain` must not overlap (`NOMQ_RESULT_INVALID_ARGUMENT`).
///
/// # Safety
/// `codec` is live; `datagram` readable for `datagram_len` bytes; `plain` writable for
/// `plain_cap` bytes; `header`, `message_offset` and `message_len` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_codec_open(
    codec: *const nomq_codec,
    datagram: *const u8,
    datagram_len: usize,
    now_unix_ms: u64,
    header: *mut nomq_header,
    plain: *mut u8,
    plain_cap: usize,
    message_offset: *mut usize,
    message_len: *mut usize,
) -> nomq_result {
    guard(|| {
        if header.is_null() || message_offset.is_null() || message_len.is_null() {
            return Err(nomq_result::NullPointer);
        }
        guard::disjoint(datagram, datagram_len, plain, plain_cap)?;
        // SAFETY: per the contract above; `datagram` and `plain` do not overlap (checked).
        let (c, datagram, plain) = unsafe {
            (
                guard::object_ref(codec)?,
                guard::bytes(datagram, datagram_len)?,
                guard::buffer(plain, plain_cap)?,
            )
        };
        let base = plain.as_ptr() as usize;
        let opened = c.codec.open(datagram, now_unix_ms, plain)?;
        // Where `part` sits in `plain`; an empty plaintext (v2 ACK family, HEARTBEAT) may not
        // point into `plain` at all.
        let position = |part: &[u8]| -> Result<usize, nomq_result> {
            if part.is_empty() {
                return Ok(0);
            }
            (part.as_ptr() as usize).checked_sub(base).ok_or(nomq_result::Internal)
        };
        let (offset, len) = match (opened.header.kind, c.codec.version()) {
            (PacketType::Publish, Version::V1) => {
                let p = opened.v1_publish().map_err(|_| nomq_result::Malformed)?;
                (position(p.text.as_bytes())?, p.text.len())
            }
            _ => (position(opened.plaintext)?, opened.plaintext.len()),
        };
        let h = nomq_header::from_header(&opened.header);
        // SAFETY: all three checked non-NULL above; writable per the contract.
        unsafe {
            header.write(h);
            message_offset.write(offset);
            message_len.write(len);
        }
        Ok(())
    })
}
