//! `nomq`: the command-line face of the SDK.
//!
//! Today: `nomq selfcheck`, which proves this build speaks NoMQ v1 byte for byte like the
//! reference and v2 as specified, using the vectors compiled into the binary (no network, no
//! config). The endpoint and MQTT commands (`demo`, `pub`, `sub`, `keygen`, `bench`) arrive
//! with their issues.

mod selfcheck;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "nomq", version, about = "NoMQ and MQTT for IoT, on one Rust core")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the framing against the embedded v1 (reference captures) and v2 vectors, then
    /// measure seal+open speed on this machine.
    Selfcheck {
        /// Packets to time per version for the speed line (0 skips it).
        #[arg(long, default_value_t = 200_000)]
        iterations: u32,
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Selfcheck { iterations } => selfcheck::run(iterations),
    }
}
