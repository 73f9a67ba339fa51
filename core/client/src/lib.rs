//! # nomq
//!
//! The Rust API of the nomq SDK. Today it re-exports the sans-IO core, [`nomq_proto`]: NoMQ v1
//! and v2 framing, keys and the config file. The tokio drivers (the NoMQ UDP endpoint and the
//! MQTT client) live here as they land; see the repository README for the plan.
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use nomq_proto as proto;
pub use nomq_proto::config::Config;
pub use nomq_proto::frame::{FrameCodec, Version};
pub use nomq_proto::{Error, Keys};
