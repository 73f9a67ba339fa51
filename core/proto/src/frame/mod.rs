//! NoMQ framing: sealing (pad, encrypt, authenticate) and opening (verify, decrypt, unpad) of
//! v1 and v2 packets over caller buffers, without heap allocation.
//!
//! ```
//! use nomq_proto::frame::{Body, FrameCodec, Header, PacketType, Flags, Qos, Version};
//! use nomq_proto::Keys;
//!
//! let codec = FrameCodec::new(&Keys::new([1; 32], [2; 32]), Version::V2);
//! let header = Header {
//!     kind: PacketType::Publish,
//!     flags: Flags::publish(Qos::AtLeastOnce, false, 0),
//!     packet_id: 1,
//!     session_id: 0x1234_5678,
//!     ttl: 3600,
//!     timestamp_ms: 1_750_000_000_000,
//!     channel: codec.channel_id("sensors/temp"),
//!     iv: [7; 16], // random in real use
//! };
//! let mut packet = [0u8; 256];
//! let n = codec.seal(&header, &Body::Bytes(b"21.5"), &mut packet).unwrap();
//! let mut plain = [0u8; 256];
//! let opened = codec.open(&packet[..n], 1_750_000_000_500, &mut plain).unwrap();
//! assert_eq!(opened.header, header);
//! assert_eq!(opened.plaintext, b"21.5");
//! ```

mod body;
mod channel;
mod preamble;
mod types;
pub mod v1;
pub mod v2;

use core::fmt;
use core::ops::Range;

pub use body::{Body, InnerLayout, V1_INNER_HEADER_LEN, V1Publish};
pub use channel::ChannelId;
pub use types::{DEFAULT_TTL, DEFAULT_WINDOW_MS, Flags, Header, PacketType, Qos, Version};

use crate::crypto::{AesCbc, HmacKey};
use crate::error::{Error, FrameError, Malformed, ResourceError};
use crate::keys::Keys;
use zeroize::Zeroizing;

/// Receive-side choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Largest accepted distance between a packet's timestamp and the local clock, inclusive.
    pub window_ms: u64,
    /// v1 only: reject authentic packets whose two IV copies differ (v1 §22.14). Off by
    /// default, like the reference, which ignores copy #1.
    pub strict_iv: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { window_ms: DEFAULT_WINDOW_MS, strict_iv: false }
    }
}

/// An authenticated, decrypted packet; `plaintext` borrows the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opened<'a> {
    /// The header fields.
    pub header: Header,
    /// The decrypted, unpadded plaintext (empty for v2 ACK-family and HEARTBEAT packets).
    pub plaintext: &'a [u8],
}

impl<'a> Opened<'a> {
    /// Reads a v1 PUBLISH plaintext (inner header and text, v1 §10).
    pub fn v1_publish(&self) -> Result<V1Publish<'a>, Malformed> {
        V1Publish::decode(self.plaintext)
    }
}

/// What the per-version checks hand to decryption.
pub(crate) struct Checked {
    header: Header,
    ciphertext: Range<usize>,
}

/// Per-version key material, prepared once.
#[derive(Clone)]
enum Suite {
    V1 { trailer_key: Zeroizing<[u8; 32]> },
    V2 { mac: HmacKey },
}

/// Seals and opens the packets of one protocol version under one key pair.
///
/// Construction expands the AES key schedules and, for v2, derives the working keys and
/// primes the HMAC, so sealing and opening do no key setup and no allocation.
#[derive(Clone)]
pub struct FrameCodec {
    cipher: AesCbc,
    suite: Suite,
    options: OpenOptions,
}

impl FrameCodec {
    /// A codec for `version` under the configured `keys` (v2 derives its own working keys).
    pub fn new(keys: &Keys, version: Version) -> Self {
        match version {
            Version::V1 => FrameCodec {
                cipher: AesCbc::new(keys.encryption_key()),
                suite: Suite::V1 { trailer_key: Zeroizing::new(*keys.trailer_key()) },
                options: OpenOptions::default(),
            },
            Version::V2 => {
                let working = keys.derive_v2();
                FrameCodec {
                    cipher: AesCbc::new(working.encryption_key()),
                    suite: Suite::V2 { mac: HmacKey::new(working.trailer_key()) },
                    options: OpenOptions::default(),
                }
            }
        }
    }

    /// The same codec with other receive options.
    #[must_use]
    pub fn with_options(mut self, options: OpenOptions) -> Self {
        self.options = options;
        self
    }

    /// The receive options in force.
    pub fn options(&self) -> OpenOptions {
        self.options
    }

    /// The protocol version this codec speaks.
    pub fn version(&self) -> Version {
        match self.suite {
            Suite::V1 { .. } => Version::V1,
            Suite::V2 { .. } => Version::V2,
        }
    }

    /// The channel id of `name` for this version: unkeyed SHA-256 in v1 (§2), keyed HMAC in v2
    /// (invariant 4). Compute it once per channel and keep it.
    pub fn channel_id(&self, name: &str) -> ChannelId {
        match &self.suite {
            Suite::V1 { .. } => ChannelId::v1(name),
            Suite::V2 { mac } => ChannelId::v2(mac, name),
        }
    }

    /// The datagram length `seal` produces for a `body_len`-byte plaintext.
    pub fn sealed_len(&self, kind: PacketType, body_len: usize) -> usize {
        match self.suite {
            Suite::V1 { .. } => v1::sealed_len(body_len),
            Suite::V2 { .. } => v2::sealed_len(kind, body_len),
        }
    }

    /// Writes a complete packet into `out` and returns its length. The caller supplies the
    /// header (including a fresh random IV) and the plaintext body.
    pub fn seal(&self, header: &Header, body: &Body<'_>, out: &mut [u8]) -> Result<usize, Error> {
        match &self.suite {
            Suite::V1 { trailer_key } => v1::seal(&self.cipher, trailer_key, header, body, out),
            Suite::V2 { mac } => v2::seal(&self.cipher, mac, header, body, out),
        }
    }

    /// Verifies `packet` (tag first, in constant time), checks its timestamp against `now_ms`
    /// (Unix milliseconds) and decrypts the plaintext into `out`.
    pub fn open<'o>(&self, packet: &[u8], now_ms: u64, out: &'o mut [u8]) -> Result<Opened<'o>, Error> {
        let Checked { header, ciphertext } = self.check(packet, now_ms)?;
        let ciphertext = &packet[ciphertext];
        let plaintext: &'o [u8] = if ciphertext.is_empty() {
            &[]
        } else {
            if out.len() < ciphertext.len() {
                return Err(ResourceError::BufferTooSmall { needed: ciphertext.len() }.into());
            }
            self.cipher.decrypt_padded(&header.iv, ciphertext, out).ok_or(FrameError::AuthFailed)?
        };
        Ok(Opened { header, plaintext })
    }

    /// As [`FrameCodec::open`], decrypting inside `packet` itself; the plaintext borrows it.
    pub fn open_in_place<'p>(&self, packet: &'p mut [u8], now_ms: u64) -> Result<Opened<'p>, Error> {
        let Checked { header, ciphertext } = self.check(packet, now_ms)?;
        let plaintext: &'p [u8] = if ciphertext.is_empty() {
            &[]
        } else {
            self.cipher
                .decrypt_padded_in_place(&header.iv, &mut packet[ciphertext])
                .ok_or(FrameError::AuthFailed)?
        };
        Ok(Opened { header, plaintext })
    }

    fn check(&self, packet: &[u8], now_ms: u64) -> Result<Checked, FrameError> {
        match &self.suite {
            Suite::V1 { trailer_key } => v1::check(trailer_key, &self.options, packet, now_ms),
            Suite::V2 { mac } => v2::check(mac, &self.options, packet, now_ms),
        }
    }
}

impl fmt::Debug for FrameCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameCodec")
            .field("version", &self.version())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
