//! `nomq_result`: every C function's outcome (docs/architecture.md, "Errors per layer").
//! `NOMQ_RESULT_OK` is 0; the others sit in fixed ranges by category so that new codes never
//! renumber old ones: 100 arguments, 200 framing, 300 config, 400 resources, 500 MQTT,
//! 900 internal.

use nomq_proto::Error;
use nomq_proto::error::{ConfigError, FrameError, InvalidInput, ResourceError};
use nomq_proto::mqtt::MqttError;

/// The outcome of a call. MQTT reason codes travel in their own fields, never here.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum nomq_result {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL.
    NullPointer = 100,
    /// An argument is out of range or not valid (QoS 3, version 7, bad address...).
    InvalidArgument = 101,
    /// The output buffer is too small; nothing was consumed, call again with a larger one.
    BufferTooSmall = 102,
    /// The payload exceeds the protocol's or the configured limit.
    PayloadTooLarge = 103,
    /// A v1 message or a string argument is not valid UTF-8.
    NotText = 104,
    /// The datagram is malformed (length, magic, type, inner header).
    Malformed = 200,
    /// The datagram is of another protocol version.
    UnsupportedVersion = 201,
    /// Authentication or padding failed: wrong keys, tampering or corruption.
    AuthFailed = 202,
    /// The timestamp is outside the acceptance window (replay or clock skew).
    Stale = 203,
    /// The config text or a key is invalid.
    ConfigInvalid = 300,
    /// A bounded table or outbox is full; retry after something completes.
    Full = 400,
    /// Bytes from the MQTT server are malformed.
    MqttMalformed = 500,
    /// The MQTT server or the call broke the protocol (for example publishing before CONNECT).
    MqttProtocol = 501,
    /// An MQTT packet exceeds the maximum packet size.
    MqttPacketTooLarge = 502,
    /// An MQTT topic name or filter is invalid.
    MqttInvalidTopic = 503,
    /// A Rust panic was caught at the boundary (a bug: please report it). The object it
    /// happened in must not be used again, except to free it.
    Panic = 900,
    /// An unexpected internal error.
    Internal = 901,
}

impl From<Error> for nomq_result {
    fn from(e: Error) -> Self {
        match e {
            Error::Frame(FrameError::Malformed(_)) => nomq_result::Malformed,
            Error::Frame(FrameError::UnsupportedVersion(_)) => nomq_result::UnsupportedVersion,
            Error::Frame(FrameError::AuthFailed) => nomq_result::AuthFailed,
            Error::Frame(FrameError::Stale) => nomq_result::Stale,
            Error::Config(_) => nomq_result::ConfigInvalid,
            Error::Invalid(InvalidInput::PayloadTooLarge) => nomq_result::PayloadTooLarge,
            Error::Invalid(InvalidInput::NotText) => nomq_result::NotText,
            Error::Invalid(_) => nomq_result::InvalidArgument,
            Error::Resource(ResourceError::BufferTooSmall { .. }) => nomq_result::BufferTooSmall,
            Error::Resource(ResourceError::Full(_)) => nomq_result::Full,
            Error::Mqtt(MqttError::Malformed(_)) => nomq_result::MqttMalformed,
            Error::Mqtt(MqttError::PacketTooLarge) => nomq_result::MqttPacketTooLarge,
            Error::Mqtt(MqttError::InvalidTopic | MqttError::InvalidString) => nomq_result::MqttInvalidTopic,
            Error::Mqtt(MqttError::BufferTooSmall { .. }) => nomq_result::BufferTooSmall,
            Error::Mqtt(_) => nomq_result::MqttProtocol,
            _ => nomq_result::Internal,
        }
    }
}

impl From<ConfigError> for nomq_result {
    fn from(_: ConfigError) -> Self {
        nomq_result::ConfigInvalid
    }
}

/// A static, NUL-terminated description of `result` (any number: unknown ones get a generic
/// text). Never NULL; never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn nomq_result_str(result: u32) -> *const core::ffi::c_char {
    let text = match result {
        0 => c"success",
        100 => c"a required pointer was NULL",
        101 => c"invalid argument",
        102 => c"output buffer too small",
        103 => c"payload too large",
        104 => c"not valid UTF-8 text",
        200 => c"malformed datagram",
        201 => c"unsupported protocol version",
        202 => c"authentication failed (wrong keys or tampering)",
        203 => c"timestamp outside the acceptance window",
        300 => c"invalid config or key",
        400 => c"a bounded table is full",
        500 => c"malformed MQTT packet",
        501 => c"MQTT protocol error",
        502 => c"MQTT packet too large",
        503 => c"invalid MQTT topic",
        900 => c"a Rust panic was caught (bug)",
        901 => c"internal error",
        _ => c"unknown nomq_result",
    };
    text.as_ptr()
}
