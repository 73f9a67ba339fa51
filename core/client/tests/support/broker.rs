//! A real mosquitto for the tests: started on a free loopback port with persistence in a
//! temporary directory, stopped by its pid (SIGTERM, so it saves its database, then SIGKILL if
//! it lingers), restartable on the same port with the same data. `scripts/test.sh` installs
//! mosquitto; without it these tests fail with a message saying so.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Broker {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

fn mosquitto() -> PathBuf {
    for candidate in ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto", "/usr/bin/mosquitto"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!("mosquitto not found: run scripts/test.sh (it installs it with apt-get)");
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Broker {
    pub fn start() -> Broker {
        Broker::start_with("")
    }

    /// A broker with extra configuration lines (more listeners, TLS files).
    pub fn start_with(extra: &str) -> Broker {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("nomq-mosquitto-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Started as root, mosquitto drops to its own user and must still write its database.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
             max_queued_messages 0\nmax_inflight_messages 100\nlog_dest file {}/mosquitto.log\n{extra}\n",
            dir.display(),
            dir.display()
        );
        std::fs::write(dir.join("mosquitto.conf"), conf).unwrap();
        let mut b = Broker { port, dir, child: None };
        b.spawn();
        b
    }

    fn spawn(&mut self) {
        let child = Command::new(mosquitto())
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mosquitto");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not start; see {}/mosquitto.log",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the broker (SIGTERM: it saves its persistence database).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
