//! Errors as small `Copy` values, one enum per category and one top-level [`Error`]
//! (docs/architecture.md, "Errors per layer"). Nothing in the core panics on input: every bad
//! byte ends here.

use core::fmt;

mod kind;
pub use kind::ErrorKind;

/// Why a datagram is structurally not a NoMQ packet (checked before or after authentication).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Malformed {
    /// Shorter than the smallest packet of its version (v1 §9.1 step 1: 85 bytes; v2: 89 bytes).
    TooShort,
    /// The first two bytes are not `NM` (v1 §3).
    BadMagic,
    /// The length field `L` disagrees with the datagram length, or breaks the block rules
    /// (v1 §9.1 step 5 and §22.16; v2 "Receiving" step 1).
    BadLength,
    /// An authenticated packet carries a type byte outside 1..=8 (v1 §5).
    UnknownType(u8),
    /// The v1 PUBLISH inner header does not describe the text that follows it (v1 §10, §22.1).
    BadInnerPayload,
    /// A v1 PUBLISH text or a channel name is not valid UTF-8 (v1 §10).
    InvalidUtf8,
    /// Strict mode only: the two IV copies of a v1 packet differ (v1 §22.14).
    IvMismatch,
}

/// Errors from opening (or, for sizes, sealing) a NoMQ frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FrameError {
    /// Not a well-formed packet; the reason says which rule it broke.
    Malformed(Malformed),
    /// The version byte is not the one this codec speaks.
    UnsupportedVersion(u8),
    /// Trailer/tag mismatch, bad padding or failed decryption. One kind for all of them,
    /// so a receiver is never a padding oracle (v2 invariant 2).
    AuthFailed,
    /// Authentic, but its timestamp is outside the acceptance window (v1 §9.1 step 4).
    Stale,
}

/// Errors from reading or writing the v1 encrypted config file (v1 §19) or key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file is not one line of standard base64.
    Base64,
    /// The decoded blob is shorter than one IV plus one block, or not a multiple of 16.
    Length,
    /// The blob does not decrypt to PKCS#7-padded data (wrong file or corrupted).
    Padding,
    /// The plaintext is not a JSON object.
    Json,
    /// A required field is absent.
    MissingField(&'static str),
    /// A field has the wrong type or an out-of-range value.
    InvalidField(&'static str),
    /// A key is not 64 hexadecimal characters.
    InvalidKey(&'static str),
}

/// The caller asked for something the format cannot express.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidInput {
    /// The payload does not fit the 16-bit length field (or a configured limit).
    PayloadTooLarge,
    /// A v1 timestamp is later than 2106-02-07 (u32 seconds, v1 §22.24).
    TimestampOutOfRange,
    /// The body kind does not belong to this version or packet type (for example a v1
    /// inner PUBLISH body on a v2 codec, or a v2 ACK with a payload).
    BodyMismatch,
    /// A v1 message must be UTF-8 text: reference receivers decode it as a string (v1 §10).
    NotText,
    /// A configuration value is out of its range or contradicts another.
    Option(OptionError),
}

/// Which option is wrong, and the rule it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OptionError {
    /// The option's name as the C config (`nomq_mqtt_config`) spells it; the Rust fields and
    /// Python options use the same or a close name.
    pub name: &'static str,
    /// What it must be ("must be at least 1").
    pub rule: &'static str,
}

/// A bounded table of an endpoint or session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Table {
    /// Publishes awaiting confirmation.
    Pending,
    /// Local subscriptions.
    Subscriptions,
    /// Queued outgoing datagrams.
    Transmits,
    /// MQTT messages waiting to be sent.
    Outbox,
    /// Operations queued for a driver task (a binding's calls not yet taken by the driver).
    Commands,
    /// Undelivered endpoint events other than messages (publish outcomes, peer events).
    Events,
}

/// A resource limit was hit; nothing was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceError {
    /// The caller's output buffer is too small; `needed` bytes are required.
    BufferTooSmall {
        /// Bytes the operation needs.
        needed: usize,
    },
    /// A bounded table is full; retry after something completes or raise the limit.
    Full(Table),
}

/// Every error the protocol core can return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// Framing or cryptographic failure on a packet.
    Frame(FrameError),
    /// Config file or key material problem.
    Config(ConfigError),
    /// The arguments cannot be encoded.
    Invalid(InvalidInput),
    /// A buffer or table limit.
    Resource(ResourceError),
    /// MQTT bytes or arguments refused.
    Mqtt(crate::mqtt::MqttError),
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Self {
        Error::Frame(e)
    }
}
impl From<Malformed> for FrameError {
    fn from(e: Malformed) -> Self {
        FrameError::Malformed(e)
    }
}
impl From<Malformed> for Error {
    fn from(e: Malformed) -> Self {
        Error::Frame(FrameError::Malformed(e))
    }
}
impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
impl From<InvalidInput> for Error {
    fn from(e: InvalidInput) -> Self {
        Error::Invalid(e)
    }
}
impl From<OptionError> for Error {
    fn from(e: OptionError) -> Self {
        Error::Invalid(InvalidInput::Option(e))
    }
}
impl From<ResourceError> for Error {
    fn from(e: ResourceError) -> Self {
        Error::Resource(e)
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::TooShort => f.write_str("packet too short"),
            Malformed::BadMagic => f.write_str("bad magic (not a NoMQ packet)"),
            Malformed::BadLength => f.write_str("length field inconsistent with the packet"),
            Malformed::UnknownType(t) => write!(f, "unknown packet type 0x{t:02x}"),
            Malformed::BadInnerPayload => f.write_str("PUBLISH inner header does not match its text"),
            Malformed::InvalidUtf8 => f.write_str("text is not valid UTF-8"),
            Malformed::IvMismatch => f.write_str("the two IV copies differ (strict mode)"),
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Malformed(m) => write!(f, "malformed packet: {m}"),
            FrameError::UnsupportedVersion(v) => write!(f, "unsupported protocol version {v}"),
            FrameError::AuthFailed => {
                f.write_str("authentication failed (wrong keys, tampered or corrupted packet)")
            }
            FrameError::Stale => {
                f.write_str("timestamp outside the acceptance window (stale or replayed, or clocks differ)")
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Base64 => f.write_str("config file is not valid base64"),
            ConfigError::Length => f.write_str("config blob has an invalid length"),
            ConfigError::Padding => {
                f.write_str("config blob does not decrypt (not a NoMQ config file, or corrupted)")
            }
            ConfigError::Json => f.write_str("config is not a JSON object"),
            ConfigError::MissingField(n) => write!(f, "config field `{n}` is missing"),
            ConfigError::InvalidField(n) => write!(f, "config field `{n}` has an invalid value"),
            ConfigError::InvalidKey(n) => write!(f, "key `{n}` must be 64 hexadecimal characters"),
        }
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidInput::PayloadTooLarge => f.write_str("payload too large for the packet format"),
            InvalidInput::TimestampOutOfRange => {
                f.write_str("timestamp does not fit the v1 32-bit seconds field")
            }
            InvalidInput::BodyMismatch => {
                f.write_str("body kind does not fit this protocol version or packet type")
            }
            InvalidInput::NotText => f.write_str("a NoMQ v1 message must be UTF-8 text"),
            InvalidInput::Option(OptionError { name, rule }) => write!(f, "option `{name}` {rule}"),
        }
    }
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceError::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            ResourceError::Full(Table::Pending) => {
                f.write_str("too many publishes awaiting confirmation (max_pending)")
            }
            ResourceError::Full(Table::Subscriptions) => {
                f.write_str("too many subscriptions (max_subscriptions)")
            }
            ResourceError::Full(Table::Transmits) => {
                f.write_str("outgoing queue full (max_transmits): poll_transmit first")
            }
            ResourceError::Full(Table::Outbox) => {
                f.write_str("MQTT outbox full (max_outbox_messages or max_outbox_bytes)")
            }
            ResourceError::Full(Table::Commands) => {
                f.write_str("too many operations waiting for the driver: await some first")
            }
            ResourceError::Full(Table::Events) => {
                f.write_str("too many unread publish outcomes and peer events (max_events): poll_event first")
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Frame(e) => e.fmt(f),
            Error::Config(e) => e.fmt(f),
            Error::Invalid(e) => e.fmt(f),
            Error::Resource(e) => e.fmt(f),
            Error::Mqtt(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for Malformed {}
impl core::error::Error for FrameError {}
impl core::error::Error for ConfigError {}
impl core::error::Error for InvalidInput {}
impl core::error::Error for ResourceError {}
impl core::error::Error for Error {}
