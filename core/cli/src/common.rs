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
    Ok(load_config(config)?.map_or_else(demo_keys, |c| c.keys))
}

/// The config file, if one is given; None (after a warning about the demo keys) otherwise.
pub fn load_config(config: Option<&Path>) -> Result<Option<Config>, String> {
    match config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Config::from_text(&text).map(Some).map_err(|e| format!("{}: {e}", path.display()))
        }
        None => {
            eprintln!("nomq: no --config given, using the public demo keys (anyone can read this traffic)");
            Ok(None)
        }
    }
}

/// Where `sub` listens: `--bind` when given, else the config file's `ip`/`port` (as the
/// reference and the Python nodes bind), else the reference's default `0.0.0.0:8888`. A
/// config asking for IPv6 on the IPv4 wildcard listens on `[::]`.
pub fn sub_bind(bind: Option<&str>, config: Option<&Config>) -> Result<SocketAddr, String> {
    match (bind, config) {
        (Some(b), _) => parse_addr(b),
        (None, Some(c)) => {
            let ip = if c.use_ipv6 && c.ip == "0.0.0.0" { "::" } else { c.ip.as_str() };
            let addr =
                if ip.contains(':') { format!("[{ip}]:{}", c.port) } else { format!("{ip}:{}", c.port) };
            parse_addr(&addr)
        }
        (None, None) => parse_addr("0.0.0.0:8888"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_listens_where_the_config_says_unless_bind_is_given() {
        let mut c = Config::new(demo_keys());
        c.ip = "127.0.0.1".into();
        c.port = 9999;
        assert_eq!(sub_bind(None, Some(&c)).unwrap(), "127.0.0.1:9999".parse().unwrap());
        assert_eq!(sub_bind(Some("127.0.0.1:1"), Some(&c)).unwrap(), "127.0.0.1:1".parse().unwrap());
        assert_eq!(sub_bind(None, None).unwrap(), "0.0.0.0:8888".parse().unwrap());
        c.ip = "0.0.0.0".into();
        c.use_ipv6 = true;
        assert_eq!(sub_bind(None, Some(&c)).unwrap(), "[::]:9999".parse().unwrap());
    }
}
