//! Helpers shared by the subcommands: keys and config, the runtime, output.

use nomq::{Config, Keys, Version};
use std::net::SocketAddr;
use std::path::Path;

/// Keys everyone can read, for trying nomq out: `demo` uses them, and `pub`/`sub` fall back to
/// them (with a warning) when no `--config` is given. Never use them for real traffic.
pub const DEMO_ENCRYPTION_KEY: [u8; 32] = *b"nomq public demo key - NOT SAFE!";
pub const DEMO_TRAILER_KEY: [u8; 32] = *b"nomq demo trailer key - insecure";

pub fn demo_keys() -> Keys {
    Keys::new(DEMO_ENCRYPTION_KEY, DEMO_TRAILER_KEY)
}

/// Keys from `--config` (the reference's encrypted file or plain JSON), or the demo keys.
pub fn load_keys(config: Option<&Path>) -> Result<Keys, String> {
    match config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let cfg = Config::from_text(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(cfg.keys)
        }
        None => {
            eprintln!("nomq: no --config given, using the public demo keys (anyone can read this traffic)");
            Ok(demo_keys())
        }
    }
}

pub fn version(v2: bool) -> Version {
    if v2 { Version::V2 } else { Version::V1 }
}

pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    s.to_socket_addrs().map_err(|e| format!("{s}: {e}"))?.next().ok_or_else(|| format!("{s}: no address"))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| {
        eprintln!("nomq: cannot start the async runtime: {e}");
        std::process::exit(2)
    })
}

/// Warnings of the library (refused datagrams, socket errors) on stderr, as `nomq: ...`.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("nomq: {}", record.args());
        }
    }
    fn flush(&self) {}
}

/// Installs [`StderrLogger`] (once).
pub fn install_logger() {
    if log::set_logger(&StderrLogger).is_ok() {
        log::set_max_level(log::LevelFilter::Warn);
    }
}
