//! Errors of the async client.

use std::fmt;
use std::io;

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
