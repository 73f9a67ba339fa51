//! `nomq`: the command-line face of the SDK (the README's main job is `nomq demo`).

mod bench;
mod bench_mqtt;
mod common;
mod demo;
mod flow;
mod keygen;
mod pubsub;
mod selfcheck;

use clap::{Args, Parser, Subcommand};
use nomq::Qos;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "nomq", version, about = "NoMQ and MQTT for IoT, on one Rust core")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Common {
    /// Keys: the reference's encrypted config file, or plain JSON (default: public demo keys).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Speak NoMQ v2 instead of v1 (the reference's wire format).
    #[arg(long)]
    v2: bool,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Two nodes on loopback exchange messages at QoS 0, 1 and 2 (no config, no server).
    Demo {
        #[arg(long)]
        v2: bool,
        /// Messages per QoS level.
        #[arg(long, default_value_t = 1000)]
        count: usize,
    },
    /// New keys, in the reference's encrypted config format (or plain JSON).
    Keygen {
        /// Write to this file (mode 0600) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Plain JSON instead of the reference's base64 format.
        #[arg(long)]
        plain: bool,
        #[arg(long, default_value = "0.0.0.0")]
        ip: String,
        #[arg(long, default_value_t = 8888)]
        port: u16,
    },
    /// Receive messages of one channel, one line each.
    Sub {
        /// Local address (default: the config file's ip and port, else 0.0.0.0:8888).
        #[arg(long)]
        bind: Option<String>,
        #[arg(long)]
        channel: String,
        /// Exit after this many messages (status 1 if fewer arrived before --seconds).
        #[arg(long)]
        count: Option<u64>,
        /// Exit after this many seconds (0 to one year).
        #[arg(long, value_parser = parse_seconds)]
        seconds: Option<f64>,
        /// Also send a SUBSCRIBE there (nomq publishers answer with retained messages).
        #[arg(long)]
        announce: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Publish MESSAGE (`{i}` becomes the sequence number) and report each confirmation.
    Pub {
        /// Local address (default: any port, on the address family of --to).
        #[arg(long)]
        bind: Option<String>,
        #[arg(long)]
        to: String,
        #[arg(long)]
        channel: String,
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=2))]
        qos: u8,
        #[arg(long)]
        retain: bool,
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=15))]
        priority: u8,
        /// Seconds the message stays valid (retransmissions stop after it).
        #[arg(long, default_value_t = 3600)]
        ttl: u16,
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// v1: put 4 filler bytes before the text, so unmodified reference listeners deliver it
        /// (nomq-v1 §22.1).
        #[arg(long)]
        reference_listener: bool,
        #[command(flatten)]
        common: Common,
        message: String,
    },
    /// Benchmarks (one JSON line per measurement).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Check the framing against the embedded vectors and measure seal+open speed.
    Selfcheck {
        #[arg(long, default_value_t = 200_000)]
        iterations: u32,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// An MQTT client against a broker: throughput, round-trip time or connect time.
    Mqtt {
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = 1883)]
        port: u16,
        /// throughput | rtt | connect
        #[arg(long, default_value = "throughput")]
        mode: String,
        #[arg(long, default_value_t = 1)]
        qos: u8,
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long, default_value_t = 64)]
        size: usize,
    },
    /// Confirmed messages per second between two NoMQ nodes over loopback UDP.
    Nomq {
        #[arg(long)]
        v2: bool,
        /// One QoS level (default: 0, 1 and 2).
        #[arg(long)]
        qos: Option<u8>,
        #[arg(long, default_value_t = 20_000)]
        count: usize,
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Publishes in flight at once.
        #[arg(long, default_value_t = 64)]
        window: usize,
    },
}

/// A duration in seconds a clock can add: finite, not negative, at most a year.
fn parse_seconds(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(0.0..=31_536_000.0).contains(&v) {
        return Err(format!("{s} must be between 0 and 31536000 seconds"));
    }
    Ok(v)
}

fn main() -> ExitCode {
    common::install_logger();
    let result = match Cli::parse().command {
        Command::Selfcheck { iterations } => return selfcheck::run(iterations),
        Command::Demo { v2, count } => demo::run(v2, count),
        Command::Keygen { out, plain, ip, port } => {
            keygen::run(out.as_deref(), plain, &ip, port).map(|()| true)
        }
        Command::Sub { bind, channel, count, seconds, announce, common } => (|| {
            let config = common::load_config(common.config.as_deref())?;
            let args = pubsub::SubArgs {
                bind: common::sub_bind(bind.as_deref(), config.as_ref())?,
                channel,
                keys: config.map_or_else(common::demo_keys, |c| c.keys),
                v2: common.v2,
                count,
                seconds,
                json: common.json,
                announce: announce.as_deref().map(common::parse_addr).transpose()?,
            };
            pubsub::sub(args)
        })(),
        Command::Pub {
            bind,
            to,
            channel,
            qos,
            retain,
            priority,
            ttl,
            count,
            reference_listener,
            common,
            message,
        } => (|| {
            let to = common::parse_addr(&to)?;
            let bind = match bind {
                Some(b) => common::parse_addr(&b)?,
                None if to.is_ipv6() => "[::]:0".parse().map_err(|_| "unreachable")?,
                None => "0.0.0.0:0".parse().map_err(|_| "unreachable")?,
            };
            let args = pubsub::PubArgs {
                bind,
                to,
                channel,
                keys: common::load_keys(common.config.as_deref())?,
                v2: common.v2,
                qos: Qos::from_u8(qos).ok_or("--qos takes 0, 1 or 2")?,
                retain,
                priority,
                ttl,
                count,
                json: common.json,
                reference_listener,
                message,
            };
            pubsub::publish(args)
        })(),
        Command::Bench(BenchCommand::Mqtt { host, port, mode, qos, count, size }) => {
            bench_mqtt::run(bench_mqtt::Args { host, port, mode, qos, count, size })
        }
        Command::Bench(BenchCommand::Nomq { v2, qos, count, size, window }) => {
            bench::nomq(v2, qos, count, size, window)
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("nomq: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn seconds_a_clock_cannot_add_are_refused() {
        for bad in ["-1", "nan", "inf", "1e300", "abc", ""] {
            assert!(super::parse_seconds(bad).is_err(), "{bad}");
        }
        assert_eq!(super::parse_seconds("0.5"), Ok(0.5));
    }
}
