//! # nomq
//!
//! The Rust API of the nomq SDK: the sans-IO core ([`nomq_proto`], re-exported as [`proto`]) and
//! the tokio drivers around it.
//!
//! | item | what |
//! |---|---|
//! | [`Node`] | a NoMQ node on a UDP socket: publish with per-message completion, receive, heartbeats |
//! | [`mqtt::Client`] | MQTT 3.1.1/5.0 client: per-publish completion, bounded outbox, reconnect with backoff and jitter |
//! | [`Completion`], [`MessageWait`] | the completion model both share: an outcome to await or a callback (`publish_with`), and `when_messages` for bindings |
//! | [`OsRandom`] | the OS random generator for the sans-IO core |
//! | [`proto`] | framing, the endpoint state machine, keys, the config file |
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod budget;
mod completion;
mod error;
mod handle;
pub mod mqtt;
mod node;
mod random;
mod unwind;

pub use completion::{Completion, MessageWait};
pub use error::{Error, Refused};
pub use node::{Node, NodeConfig};
pub use random::OsRandom;
pub use unwind::catch_unwind;

pub use nomq_proto as proto;
pub use nomq_proto::Keys;
pub use nomq_proto::config::Config;
pub use nomq_proto::endpoint::{EndpointConfig, Message, PublishOptions, Stats};
pub use nomq_proto::frame::{FrameCodec, Qos, Version};

/// The README's Rust snippets, compiled (and run, unless marked `no_run`) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
