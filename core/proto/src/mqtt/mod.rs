//! MQTT 3.1.1 and 5.0, sans-IO: the packet codec, topic rules and reason codes. The client
//! session state machine builds on these.

pub mod codec;
mod error;
pub mod reason;
pub mod topic;

pub use codec::{Packet, ProtocolVersion, decode};
pub use error::MqttError;
pub use reason::ReasonCode;
