//! # nomq-handle
//!
//! What every binding (C, Python, MicroPython, uniffi) needs between its own calling convention
//! and the sans-IO core, written once (docs/architecture.md, "The handle layer"):
//!
//! | module | what |
//! |---|---|
//! | [`session`] | [`SessionHandle`]: an MQTT session whose events are read into a caller's buffer, flat, with an event that does not fit kept for the next call |
//! | [`endpoint`] | [`EndpointHandle`]: the same for the NoMQ endpoint, with channels named by text |
//! | [`channels`] | [`ChannelCache`]: channel ids computed once per name, in a bounded table |
//! | [`options`] | parsers from the plain numbers and names bindings receive to the core's option types |
//!
//! Errors are the core's ([`nomq_proto::Error`], kinds in [`nomq_proto::ErrorKind`]).
//! `#![no_std]` with `alloc`, so firmware and MicroPython use it as they use the core.
#![no_std]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod channels;
pub mod endpoint;
pub mod options;
pub mod session;

pub use channels::ChannelCache;
pub use endpoint::EndpointHandle;
pub use session::SessionHandle;
