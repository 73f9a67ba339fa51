//! MQTT 3.1.1 and 5.0, sans-IO: the packet codec, topic rules, reason codes and the client
//! session state machine.

pub mod codec;
mod error;
pub mod reason;
pub mod session;
pub mod topic;

pub use codec::{Packet, ProtocolVersion, decode};
pub use error::MqttError;
pub use reason::ReasonCode;
pub use session::Session;
