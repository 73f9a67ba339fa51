//! Errors of the async client.

use std::fmt;
use std::io;

use nomq_proto::ErrorKind;
use nomq_proto::mqtt::ReasonCode;

/// Which MQTT request the server refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refused {
    /// The connection: CONNACK with a failure code, or DISCONNECT before CONNACK.
    Connect,
    /// A subscription: SUBACK failure code (0x80 or above).
    Subscribe,
    /// An unsubscription: UNSUBACK failure code (MQTT 5.0).
    Unsubscribe,
}

/// What can go wrong in the tokio drivers.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A protocol-core error (bad argument, full table, ...).
    Proto(nomq_proto::Error),
    /// A socket error.
    Io(io::Error),
    /// A QoS 1/2 publish was not confirmed before its ttl ran out.
    Expired,
    /// The node or client was closed before the operation finished.
    Closed,
    /// The message was dropped from a full outbox (drop-oldest policy).
    Dropped,
    /// TLS configuration or handshake failure (bad certificate, untrusted server, ...).
    Tls(String),
    /// MQTT 5.0 enhanced authentication failed: the authenticator refused the server's
    /// challenge, or none was configured.
    Auth(String),
    /// The MQTT server refused a request, with its reason code (the 3.1.1 CONNACK return code
    /// or SUBACK 0x80, or the 5.0 reason code).
    Refused(Refused, ReasonCode),
    /// A server URL that is not `mqtt://host[:port]` or `mqtts://host[:port]`.
    InvalidUrl(String),
    /// The server did not answer a request within [`crate::mqtt::ClientOptions::request_timeout`].
    TimedOut(&'static str),
}

impl Error {
    /// This error's kind in the table every binding derives its errors from.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Proto(e) => e.kind(),
            Error::Io(_) => ErrorKind::Network,
            Error::Expired => ErrorKind::Expired,
            Error::Closed => ErrorKind::Closed,
            Error::Dropped => ErrorKind::Dropped,
            Error::Tls(_) => ErrorKind::Tls,
            Error::Auth(_) => ErrorKind::AuthRejected,
            Error::Refused(Refused::Connect, _) => ErrorKind::ConnectionRefused,
            Error::Refused(Refused::Subscribe, _) => ErrorKind::SubscribeRefused,
            Error::Refused(Refused::Unsubscribe, _) => ErrorKind::UnsubscribeRefused,
            Error::InvalidUrl(_) => ErrorKind::InvalidUrl,
            Error::TimedOut(_) => ErrorKind::TimedOut,
        }
    }

    /// The server's reason code, for a refusal.
    pub fn reason_code(&self) -> Option<ReasonCode> {
        match self {
            Error::Refused(_, reason) => Some(*reason),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Proto(e) => e.fmt(f),
            Error::Io(e) => write!(f, "socket error: {e}"),
            Error::Expired => f.write_str("not confirmed before the message's ttl ran out"),
            Error::Closed => f.write_str("closed before the operation finished"),
            Error::Dropped => f.write_str("dropped from the full outbox (drop-oldest policy)"),
            Error::Tls(e) => write!(f, "TLS: {e}"),
            Error::Auth(e) => write!(f, "enhanced authentication: {e}"),
            Error::Refused(Refused::Connect, reason) => {
                write!(f, "connection refused: {} (reason code 0x{:02x})", connect_refusal(*reason), reason.0)
            }
            Error::Refused(Refused::Subscribe, reason) => write!(f, "subscription refused: {reason}"),
            Error::Refused(Refused::Unsubscribe, reason) => write!(f, "unsubscription refused: {reason}"),
            Error::TimedOut(what) => write!(f, "no {what} from the server in time"),
            Error::InvalidUrl(url) => {
                write!(f, "{url}: expected mqtt://host[:port] or mqtts://host[:port]")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Proto(e) => Some(e),
            Error::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<nomq_proto::Error> for Error {
    fn from(e: nomq_proto::Error) -> Self {
        Error::Proto(e)
    }
}

impl From<nomq_proto::error::ConfigError> for Error {
    fn from(e: nomq_proto::error::ConfigError) -> Self {
        Error::Proto(e.into())
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

/// The meaning of a CONNACK refusal: 3.1.1 return codes 1-5 (§3.2.2.3) and their 5.0
/// equivalents (§3.2.2.2).
fn connect_refusal(reason: ReasonCode) -> &'static str {
    match reason.0 {
        1 | 0x84 => "unsupported protocol version",
        2 | 0x85 => "client identifier not valid",
        3 | 0x88 => "server unavailable",
        4 | 0x86 => "bad user name or password",
        5 | 0x87 => "not authorized",
        0x8A => "banned",
        0x97 => "quota exceeded",
        _ => "refused by the server",
    }
}
