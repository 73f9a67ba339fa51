//! Application code never runs under the client's lock: a logger and an enhanced-auth
//! authenticator that call back into the client (as the Python bridge does when it waits for
//! the GIL, which another thread may hold while it waits for that lock) do not deadlock.
//! Its own process: the logger is global.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nomq::mqtt::{Client, ClientOptions, ProtocolVersion, ReconnectPolicy};
use support::broker::Broker;

static CLIENT: OnceLock<Arc<Client>> = OnceLock::new();
/// Records seen while the client existed, each after a call into it returned.
static CALLED_BACK: AtomicUsize = AtomicUsize::new(0);

/// Calls into the client for every record: under the lock, this relocks it on the same thread.
struct CallingLogger;

impl log::Log for CallingLogger {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        if record.target().starts_with("nomq") {
            if let Some(client) = CLIENT.get() {
                let _ = client.is_closed();
                CALLED_BACK.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
    fn flush(&self) {}
}

/// Runs `f` on its own thread; fails the test when it has not finished in `limit` (a deadlocked
/// thread cannot be stopped, only reported).
fn within(limit: Duration, what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    assert!(finished.recv_timeout(limit).is_ok(), "{what}: no progress in {limit:?} (deadlock)");
}

#[test]
fn a_logger_that_calls_the_client_does_not_deadlock() {
    log::set_logger(&CallingLogger).unwrap();
    log::set_max_level(log::LevelFilter::Debug);
    within(Duration::from_secs(20), "logging a lost connection", || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let mut broker = Broker::start();
            let mut o =
                ClientOptions::new("127.0.0.1", broker.port, "calls-back").version(ProtocolVersion::V311);
            o.session.reconnect =
                ReconnectPolicy { initial_ms: 20, max_ms: 50, ..ReconnectPolicy::default() };
            let client = Arc::new(Client::connect(o).await.unwrap());
            let _ = CLIENT.set(client.clone());
            // Lost connection and failed reconnects: logged (debug and warn) by the driver.
            broker.stop();
            for _ in 0..200 {
                if CALLED_BACK.load(Ordering::SeqCst) >= 3 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(CALLED_BACK.load(Ordering::SeqCst) >= 3, "the driver logged its reconnects");
            broker.restart();
            client.disconnect().await;
        });
    });
}

static AUTH_CLIENT: OnceLock<Arc<Client>> = OnceLock::new();

/// The authenticator runs when a reconnect is challenged, and calls into the client then.
#[test]
fn an_authenticator_that_calls_the_client_does_not_deadlock() {
    use nomq::proto::mqtt::codec::{ConnAck, Properties, ReasonPacket};
    use nomq::proto::mqtt::{Packet, ReasonCode};
    use support::scripted::{read_packet, send};

    within(Duration::from_secs(20), "answering a challenge on reconnect", || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = tokio::spawn(async move {
                for connection in 0..2 {
                    let (mut s, _) = listener.accept().await.unwrap();
                    let mut buf = vec![];
                    read_packet(&mut s, &mut buf).await.expect("CONNECT");
                    let challenge = Properties {
                        authentication_method: Some("X-TEST"),
                        authentication_data: Some(b"nonce"),
                        ..Properties::default()
                    };
                    let auth =
                        ReasonPacket { reason: ReasonCode::CONTINUE_AUTHENTICATION, properties: challenge };
                    send(&mut s, Packet::Auth(auth)).await;
                    read_packet(&mut s, &mut buf).await.expect("AUTH answer");
                    let ok = ConnAck {
                        session_present: false,
                        reason: ReasonCode::SUCCESS,
                        properties: Properties::default(),
                    };
                    send(&mut s, Packet::ConnAck(ok)).await;
                    if connection == 1 {
                        // Held until the client disconnects.
                        let _ = read_packet(&mut s, &mut buf).await;
                    }
                    // The first connection ends here: the client reconnects.
                }
            });
            let answered = Arc::new(AtomicUsize::new(0));
            let counter = answered.clone();
            let mut o = ClientOptions::new("127.0.0.1", port, "auth-calls-back").enhanced_auth(
                "X-TEST",
                None,
                move |challenge| {
                    if let Some(client) = AUTH_CLIENT.get() {
                        let _ = client.is_closed();
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(challenge.to_vec())
                },
            );
            o.session.reconnect =
                ReconnectPolicy { initial_ms: 10, max_ms: 20, ..ReconnectPolicy::default() };
            let client = Arc::new(Client::connect(o).await.unwrap());
            let _ = AUTH_CLIENT.set(client.clone());
            for _ in 0..200 {
                if answered.load(Ordering::SeqCst) >= 2 && client.metrics().await.unwrap().reconnects >= 1 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(answered.load(Ordering::SeqCst) >= 2, "the reconnect was challenged and answered");
            client.disconnect().await;
            tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
        });
    });
}
