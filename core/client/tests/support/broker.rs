//! A real mosquitto for the tests, through the helper every language's tests share
//! (`tests/support/mosquitto.py`): a free loopback port, persistence in a temporary directory,
//! readiness when the port accepts, stop by SIGTERM (it saves its database), restart on the same
//! port with the same data. `scripts/test.sh` installs mosquitto; without it these tests fail
//! with a message saying so.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

pub struct Broker {
    pub port: u16,
    dir: PathBuf,
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn helper(args: &[&str]) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/support/mosquitto.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3 (tests/support/mosquitto.py)");
    assert!(out.status.success(), "mosquitto.py {args:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl Broker {
    pub fn start() -> Broker {
        Broker::start_with("")
    }

    /// A broker with extra configuration lines (more listeners, TLS files).
    pub fn start_with(extra: &str) -> Broker {
        let dir = tempdir();
        let port = helper(&["start", dir.to_str().unwrap(), "--extra", extra]);
        Broker { port: port.parse().expect("the helper prints the port"), dir }
    }

    /// Stops the broker (SIGTERM: it saves its persistence database).
    pub fn stop(&mut self) {
        helper(&["stop", self.dir.to_str().unwrap()]);
    }

    pub fn restart(&mut self) {
        helper(&["restart", self.dir.to_str().unwrap()]);
    }
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("nomq-mosquitto-{}-{n}", std::process::id()))
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
