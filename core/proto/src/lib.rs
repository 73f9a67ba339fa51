//! # nomq-proto
//!
//! The sans-IO protocol core of nomq: it never touches a socket, a clock or a random number
//! generator. Callers pass in time and random bytes and own every buffer, so the same code runs
//! under tokio, Python's asyncio, a MicroPython loop or an ESP32 firmware (docs/architecture.md,
//! "The sans-IO core").
//!
//! | module | what |
//! |---|---|
//! | [`frame`] | NoMQ v1 (reference byte-compatible) and v2 packet sealing and opening |
//! | [`endpoint`] | the NoMQ node: QoS 0/1/2, retransmission, duplicate suppression, heartbeats, retain |
//! | [`mqtt`] | MQTT 3.1.1/5.0 packet codec, topic filters, reason codes |
//! | [`config`] | the v1 encrypted config file (nomq-v1.md §19) |
//! | [`keys`] | the group key pair and the v2 key derivation |
//! | [`time`] | [`UnixMillis`] (wall clock, in packets) and [`MonoMillis`] (monotonic, for timers) |
//! | [`error`] | typed errors, one `Copy` enum per category, and the [`ErrorKind`] table bindings derive from |
//!
//! `#![no_std]` with `alloc`; the default `std` feature adds nothing the core depends on.
#![no_std]
#![warn(missing_docs)]
// The `uniffi` feature (the Kotlin/Swift bindings only) derives FFI scaffolding, which is
// unsafe code of uniffi's making; the core's own code is held to `forbid` in every other build.
#![cfg_attr(not(feature = "uniffi"), forbid(unsafe_code))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

// The uniffi derives on the core's enums (`Qos`, `Version`, `ProtocolVersion`, the publish
// outcomes, `OutboxPolicy`, `ErrorKind`) are exported from this crate's own scaffolding.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("nomq_core");

pub mod config;
mod crypto;
pub mod endpoint;
pub mod error;
pub mod frame;
pub mod keys;
pub mod mqtt;
pub mod time;

pub use error::{Error, ErrorKind};
pub use keys::Keys;
pub use time::{MonoMillis, Now, UnixMillis};
