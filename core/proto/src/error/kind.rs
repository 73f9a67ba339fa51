//! [`ErrorKind`]: the one table of error kinds every binding derives its errors from
//! (docs/architecture.md, "Errors per layer"). Each kind has a stable number, a text and the
//! name of the Python exception class that carries it:
//!
//! - C: the enum itself is `nomq_result` in `include/nomq.h` (cbindgen reads this file), and
//!   `nomq_result_str` returns [`ErrorKind::text`];
//! - Python: `nomq.errors` holds one class per [`ErrorKind::class`] name, and every exception
//!   carries its kind's number as `code`;
//! - MicroPython and uniffi map the same kinds.
//!
//! Numbers sit in ranges by category, so new kinds never renumber old ones: 100 arguments,
//! 200 framing, 300 config, 400 delivery, 500 MQTT, 600 transport, 700 lifecycle, 900
//! internal. Some kinds only arise in some layers (a NULL pointer only in C, a socket error only
//! where nomq owns the socket); the table is the union.

use core::ffi::CStr;

use super::{ConfigError, Error, FrameError, InvalidInput, OptionError, ResourceError};
use crate::mqtt::MqttError;

/// What kind of failure an operation met; `Ok` (0) is success.
#[repr(u32)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Success.
    Ok = 0,
    /// A required pointer was NULL.
    NullPointer = 100,
    /// An argument or option is out of range or not valid (QoS 3, version 7, a zero limit...).
    InvalidArgument = 101,
    /// The output buffer is too small; nothing was consumed, call again with a larger one.
    BufferTooSmall = 102,
    /// The payload exceeds the protocol's or the configured limit.
    PayloadTooLarge = 103,
    /// A v1 message or a string argument is not valid UTF-8.
    NotText = 104,
    /// A server URL is not `mqtt://host[:port]` or `mqtts://host[:port]`.
    InvalidUrl = 105,
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
    /// A queued message was dropped from a full outbox (drop-oldest policy).
    Dropped = 401,
    /// A publish was not confirmed before its time to live ran out.
    Expired = 402,
    /// A QoS 2 publish the MQTT server had taken (PUBREC) whose session the server lost: it
    /// may or may not have been delivered.
    DeliveryUnknown = 403,
    /// Bytes from the MQTT server are malformed.
    MqttMalformed = 500,
    /// The MQTT server or the call broke the protocol (for example publishing before CONNECT).
    MqttProtocol = 501,
    /// An MQTT packet exceeds the maximum packet size.
    MqttPacketTooLarge = 502,
    /// An MQTT topic name or filter is invalid.
    MqttInvalidTopic = 503,
    /// The MQTT server refused the connection (CONNACK, or DISCONNECT before it), with a
    /// reason code.
    ConnectionRefused = 504,
    /// The MQTT server refused a subscription (SUBACK reason code 0x80 or above).
    SubscribeRefused = 505,
    /// The MQTT server refused an unsubscription (UNSUBACK reason code 0x80 or above).
    UnsubscribeRefused = 506,
    /// The MQTT server refused a publish (PUBACK or PUBREC reason code 0x80 or above).
    PublishRefused = 507,
    /// MQTT 5.0 enhanced authentication failed.
    AuthRejected = 508,
    /// A socket error: refused, reset, unreachable, timed out.
    Network = 600,
    /// TLS configuration or handshake failure.
    Tls = 601,
    /// The server did not answer a request in time (SUBACK, UNSUBACK).
    TimedOut = 602,
    /// The object was closed before the operation finished.
    Closed = 700,
    /// A Rust panic was caught at the boundary (a bug: please report it). The object it
    /// happened in must not be used again, except to free it.
    Panic = 900,
    /// An unexpected internal error.
    Internal = 901,
}

impl ErrorKind {
    /// Every kind, in number order.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::Ok,
        ErrorKind::NullPointer,
        ErrorKind::InvalidArgument,
        ErrorKind::BufferTooSmall,
        ErrorKind::PayloadTooLarge,
        ErrorKind::NotText,
        ErrorKind::InvalidUrl,
        ErrorKind::Malformed,
        ErrorKind::UnsupportedVersion,
        ErrorKind::AuthFailed,
        ErrorKind::Stale,
        ErrorKind::ConfigInvalid,
        ErrorKind::Full,
        ErrorKind::Dropped,
        ErrorKind::Expired,
        ErrorKind::DeliveryUnknown,
        ErrorKind::MqttMalformed,
        ErrorKind::MqttProtocol,
        ErrorKind::MqttPacketTooLarge,
        ErrorKind::MqttInvalidTopic,
        ErrorKind::ConnectionRefused,
        ErrorKind::SubscribeRefused,
        ErrorKind::UnsubscribeRefused,
        ErrorKind::PublishRefused,
        ErrorKind::AuthRejected,
        ErrorKind::Network,
        ErrorKind::Tls,
        ErrorKind::TimedOut,
        ErrorKind::Closed,
        ErrorKind::Panic,
        ErrorKind::Internal,
    ];

    /// The stable number (C `nomq_result`, Python `NomqError.code`).
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The kind with number `code`, if any.
    pub fn from_code(code: u32) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// A short description, NUL-terminated for C.
    pub const fn text(self) -> &'static CStr {
        match self {
            ErrorKind::Ok => c"success",
            ErrorKind::NullPointer => c"a required pointer was NULL",
            ErrorKind::InvalidArgument => c"invalid argument",
            ErrorKind::BufferTooSmall => c"output buffer too small",
            ErrorKind::PayloadTooLarge => c"payload too large",
            ErrorKind::NotText => c"not valid UTF-8 text",
            ErrorKind::InvalidUrl => c"invalid server URL",
            ErrorKind::Malformed => c"malformed datagram",
            ErrorKind::UnsupportedVersion => c"unsupported protocol version",
            ErrorKind::AuthFailed => c"authentication failed (wrong keys or tampering)",
            ErrorKind::Stale => c"timestamp outside the acceptance window",
            ErrorKind::ConfigInvalid => c"invalid config or key",
            ErrorKind::Full => c"a bounded table is full",
            ErrorKind::Dropped => c"dropped from the full outbox (drop-oldest policy)",
            ErrorKind::Expired => c"not confirmed before the time to live ran out",
            ErrorKind::DeliveryUnknown => {
                c"the server lost its session after taking the message: delivery unknown"
            }
            ErrorKind::MqttMalformed => c"malformed MQTT packet",
            ErrorKind::MqttProtocol => c"MQTT protocol error",
            ErrorKind::MqttPacketTooLarge => c"MQTT packet too large",
            ErrorKind::MqttInvalidTopic => c"invalid MQTT topic",
            ErrorKind::ConnectionRefused => c"the MQTT server refused the connection",
            ErrorKind::SubscribeRefused => c"the MQTT server refused the subscription",
            ErrorKind::UnsubscribeRefused => c"the MQTT server refused the unsubscription",
            ErrorKind::PublishRefused => c"the MQTT server refused the publish",
            ErrorKind::AuthRejected => c"MQTT enhanced authentication failed",
            ErrorKind::Network => c"network error",
            ErrorKind::Tls => c"TLS error",
            ErrorKind::TimedOut => c"no answer from the server in time",
            ErrorKind::Closed => c"closed before the operation finished",
            ErrorKind::Panic => c"a Rust panic was caught (bug)",
            ErrorKind::Internal => c"internal error",
        }
    }

    /// The Python exception class (in `nomq.errors`) for this kind. Several kinds share a
    /// class; each class derives from `NomqError`.
    pub const fn class(self) -> &'static str {
        match self {
            ErrorKind::Ok | ErrorKind::Panic | ErrorKind::Internal => "NomqError",
            ErrorKind::NullPointer
            | ErrorKind::InvalidArgument
            | ErrorKind::BufferTooSmall
            | ErrorKind::NotText
            | ErrorKind::MqttInvalidTopic => "InvalidArgument",
            ErrorKind::InvalidUrl => "InvalidUrl",
            ErrorKind::PayloadTooLarge | ErrorKind::MqttPacketTooLarge => "PayloadTooLarge",
            ErrorKind::Malformed | ErrorKind::UnsupportedVersion => "FrameError",
            ErrorKind::AuthFailed => "AuthenticationError",
            ErrorKind::Stale => "StaleError",
            ErrorKind::ConfigInvalid => "ConfigError",
            ErrorKind::Full => "QueueFull",
            ErrorKind::Dropped => "DroppedError",
            ErrorKind::Expired => "ExpiredError",
            ErrorKind::DeliveryUnknown => "DeliveryUnknown",
            ErrorKind::MqttMalformed | ErrorKind::MqttProtocol => "ProtocolError",
            ErrorKind::ConnectionRefused => "ConnectionRefused",
            ErrorKind::SubscribeRefused => "SubscribeRefused",
            ErrorKind::UnsubscribeRefused => "UnsubscribeRefused",
            ErrorKind::PublishRefused => "PublishRefused",
            ErrorKind::AuthRejected => "EnhancedAuthError",
            ErrorKind::Network => "NetworkError",
            ErrorKind::Tls => "TLSError",
            ErrorKind::TimedOut => "TimedOutError",
            ErrorKind::Closed => "ClosedError",
        }
    }
}

impl From<Error> for ErrorKind {
    fn from(e: Error) -> Self {
        match e {
            Error::Frame(FrameError::Malformed(_)) => ErrorKind::Malformed,
            Error::Frame(FrameError::UnsupportedVersion(_)) => ErrorKind::UnsupportedVersion,
            Error::Frame(FrameError::AuthFailed) => ErrorKind::AuthFailed,
            Error::Frame(FrameError::Stale) => ErrorKind::Stale,
            Error::Config(_) => ErrorKind::ConfigInvalid,
            Error::Invalid(InvalidInput::PayloadTooLarge) => ErrorKind::PayloadTooLarge,
            Error::Invalid(InvalidInput::NotText) => ErrorKind::NotText,
            Error::Invalid(
                InvalidInput::TimestampOutOfRange | InvalidInput::BodyMismatch | InvalidInput::Option(_),
            ) => ErrorKind::InvalidArgument,
            Error::Resource(ResourceError::BufferTooSmall { .. }) => ErrorKind::BufferTooSmall,
            Error::Resource(ResourceError::Full(_)) => ErrorKind::Full,
            Error::Mqtt(m) => m.into(),
        }
    }
}

impl From<MqttError> for ErrorKind {
    fn from(e: MqttError) -> Self {
        match e {
            MqttError::Malformed(_) => ErrorKind::MqttMalformed,
            MqttError::Protocol(_) | MqttError::InvalidTopicAlias => ErrorKind::MqttProtocol,
            MqttError::PacketTooLarge => ErrorKind::MqttPacketTooLarge,
            MqttError::InvalidTopic | MqttError::InvalidString => ErrorKind::MqttInvalidTopic,
            MqttError::BufferTooSmall { .. } => ErrorKind::BufferTooSmall,
        }
    }
}

impl From<ConfigError> for ErrorKind {
    fn from(_: ConfigError) -> Self {
        ErrorKind::ConfigInvalid
    }
}

impl From<InvalidInput> for ErrorKind {
    fn from(e: InvalidInput) -> Self {
        Error::Invalid(e).into()
    }
}

impl From<OptionError> for ErrorKind {
    fn from(e: OptionError) -> Self {
        Error::from(e).into()
    }
}

impl Error {
    /// This error's kind in the table every binding derives from.
    pub fn kind(self) -> ErrorKind {
        self.into()
    }
}

impl core::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.text().to_str().unwrap_or("error"))
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn numbers_are_unique_sorted_and_found_again() {
        for pair in ErrorKind::ALL.windows(2) {
            assert!(pair[0].code() < pair[1].code(), "{:?} and {:?} out of order", pair[0], pair[1]);
        }
        for &k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
            assert!(!k.text().to_bytes().is_empty());
        }
        assert_eq!(ErrorKind::from_code(1), None);
    }
}
