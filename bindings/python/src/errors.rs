//! The one mapping from Rust errors to the exceptions of `python/nomq/errors.py`. The classes
//! live in Python (so they can be documented, subclassed and caught without importing the
//! extension); this function names the class and writes the message.

use nomq::proto::error::{Error as Proto, FrameError, ResourceError};
use pyo3::prelude::*;

/// The exception for `e`, an instance of a class in `nomq.errors`.
pub fn to_py(py: Python<'_>, e: &nomq::Error) -> PyErr {
    let (class, message) = classify(e);
    raise(py, class, message)
}

/// The exception for a protocol-core error (framing, config, arguments).
pub fn proto(py: Python<'_>, e: Proto) -> PyErr {
    to_py(py, &nomq::Error::Proto(e))
}

/// An instance of `nomq.errors.<class>` with `message`.
pub fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    let made = py
        .import(pyo3::intern!(py, "nomq.errors"))
        .and_then(|m| m.getattr(class))
        .and_then(|cls| cls.call1((message,)));
    match made {
        Ok(exc) => PyErr::from_value(exc),
        Err(import_failed) => import_failed,
    }
}

fn classify(e: &nomq::Error) -> (&'static str, String) {
    let class = match e {
        nomq::Error::Proto(p) => match p {
            Proto::Frame(FrameError::AuthFailed) => "AuthenticationError",
            Proto::Frame(FrameError::Stale) => "StaleError",
            Proto::Frame(_) => "FrameError",
            Proto::Config(_) => "ConfigError",
            Proto::Invalid(nomq::proto::error::InvalidInput::PayloadTooLarge) => "PayloadTooLarge",
            Proto::Invalid(_) => "InvalidArgument",
            Proto::Resource(ResourceError::Full(_)) => "QueueFull",
            Proto::Resource(_) => "InvalidArgument",
            Proto::Mqtt(
                nomq::proto::mqtt::MqttError::InvalidTopic | nomq::proto::mqtt::MqttError::InvalidString,
            ) => "InvalidArgument",
            Proto::Mqtt(nomq::proto::mqtt::MqttError::PacketTooLarge) => "PayloadTooLarge",
            Proto::Mqtt(_) => "ProtocolError",
            _ => "NomqError",
        },
        nomq::Error::Io(_) => "NetworkError",
        nomq::Error::Expired => "ExpiredError",
        nomq::Error::Closed => "ClosedError",
        nomq::Error::Dropped => "DroppedError",
        nomq::Error::Tls(_) => "TLSError",
        nomq::Error::Auth(_) => "EnhancedAuthError",
        _ => "NomqError",
    };
    (class, e.to_string())
}
