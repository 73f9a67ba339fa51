//! MQTT errors: what was wrong with bytes received or arguments given (MQTT 5.0 §4.13: a
//! malformed packet or protocol error closes the connection, with reason code 0x81 or 0x82).

use core::fmt;

/// Why MQTT bytes or arguments were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MqttError {
    /// Bytes that do not decode as the packet they claim to be (MQTT 5.0 §4.13, reason 0x81).
    Malformed(&'static str),
    /// Well-formed, but against the protocol's rules (reason 0x82).
    Protocol(&'static str),
    /// The remaining length exceeds the maximum packet size in force (§3.1.2.11.4, reason 0x95).
    PacketTooLarge,
    /// A PUBLISH used a topic alias never defined or above our Topic Alias Maximum (§3.3.2.3.4,
    /// reason 0x94).
    InvalidTopicAlias,
    /// A topic name or filter breaks §4.7 (empty, wildcard misplaced, NUL, too long).
    InvalidTopic,
    /// A string is not valid MQTT UTF-8 (§1.5.4: no U+0000), or longer than 65,535 bytes.
    InvalidString,
    /// The caller's buffer is too small for the encoded packet.
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
}

impl fmt::Display for MqttError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MqttError::Malformed(why) => write!(f, "malformed MQTT packet: {why}"),
            MqttError::Protocol(why) => write!(f, "MQTT protocol error: {why}"),
            MqttError::PacketTooLarge => f.write_str("MQTT packet larger than the maximum packet size"),
            MqttError::InvalidTopicAlias => f.write_str("MQTT topic alias unknown or out of range"),
            MqttError::InvalidTopic => f.write_str("invalid MQTT topic name or filter"),
            MqttError::InvalidString => f.write_str("invalid MQTT string (NUL, or over 65535 bytes)"),
            MqttError::BufferTooSmall { needed } => write!(f, "buffer too small: {needed} bytes needed"),
        }
    }
}

impl core::error::Error for MqttError {}

impl From<MqttError> for crate::Error {
    fn from(e: MqttError) -> Self {
        crate::Error::Mqtt(e)
    }
}
