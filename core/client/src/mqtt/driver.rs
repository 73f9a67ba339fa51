//! The MQTT driver task: what needs waiting. It connects (with a timeout), reads, waits for a
//! full socket to drain and for timers, and reconnects with backoff and full jitter. Callers
//! act on the shared state themselves (see [`super::shared`]); this task wakes only when the
//! socket has bytes, when the socket it waits on drains, or when a caller tells it to.

use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::ClientOptions;
use super::link::Link;
use super::shared::{Shared, now_ms};
use crate::Error;
use nomq_proto::endpoint::Random;
use nomq_proto::mqtt::session::{Message, State};

/// Bytes read per wake-up.
const READ_BUFFER: usize = 64 * 1024;
/// Time allowed for DISCONNECT to leave a full socket before closing.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

pub(super) async fn run(shared: Arc<Shared>, options: ClientOptions) {
    let tls = match options.tls.as_ref().map(super::tls::client_config).transpose() {
        Ok(t) => t,
        Err(e) => {
            shared.drive(|core| {
                core.fail_connect(e);
                core.close();
            });
            return;
        }
    };
    let mut buf = vec![0u8; READ_BUFFER];
    loop {
        if let Err(e) = connection(&shared, &options, tls.as_ref(), &mut buf).await {
            // The first connection's failure is `connect`'s answer; later ones reconnect.
            if shared.drive(|core| core.fail_connect(e)) {
                break;
            }
        }
        if shared.with(|core| core.stop) || !options.reconnect.enabled {
            break;
        }
        backoff(&shared, &options).await;
        if shared.with(|core| core.stop) {
            break;
        }
    }
    shared.drive(|core| core.close());
}

/// One connection, from TCP connect to its end.
async fn connection(
    shared: &Shared,
    options: &ClientOptions,
    tls: Option<&Arc<rustls::ClientConfig>>,
    buf: &mut [u8],
) -> Result<(), Error> {
    let tcp = tokio::time::timeout(
        options.connect_timeout,
        TcpStream::connect((options.host.as_str(), options.port)),
    )
    .await
    .map_err(|_| Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")))??;
    // MQTT packets are small and latency matters.
    tcp.set_nodelay(true)?;
    let tcp = Arc::new(tcp);
    let link = match tls {
        None => Link::plain(tcp.clone()),
        Some(config) => {
            let name = options
                .tls
                .as_ref()
                .and_then(|t| t.server_name.clone())
                .unwrap_or_else(|| options.host.clone());
            let name = rustls_pki_types::ServerName::try_from(name)
                .map_err(|e| Error::Tls(format!("server name: {e}")))?;
            Link::tls(tcp.clone(), config.clone(), name, &options.host)?
        }
    };
    shared.drive(|core| {
        core.link = Some(link);
        core.write_blocked = false;
        core.session.connect(core.now)
    })?;
    let connack_deadline = tokio::time::Instant::now() + options.connect_timeout;
    // One timer for the whole connection, re-armed only when the session's next deadline is
    // earlier than the armed one. The keep-alive deadline moves with every write; firing a
    // little early costs one `handle_timeout` that does nothing, while a new timer per loop turn
    // would cost a timer-wheel insert and cancel per message.
    let timer = tokio::time::sleep(Duration::from_secs(86_400));
    tokio::pin!(timer);
    // The ACK held back while many completions are still to come (see `super::ack`).
    let ack_timer = tokio::time::sleep(Duration::from_secs(86_400));
    tokio::pin!(ack_timer);
    let mut ack_armed = false;
    let result = loop {
        let wait = shared.with(|core| {
            core.noticed();
            let now = now_ms();
            let rearm = match core.session.poll_timeout() {
                Some(t) if core.armed.is_none_or(|a| t < a) => {
                    core.armed = Some(t);
                    Some(t.saturating_sub(now))
                }
                Some(_) => None,
                None => {
                    core.armed = None;
                    None
                }
            };
            Wait {
                rearm,
                armed: core.armed.is_some(),
                can_read: core.undelivered.is_empty(),
                // The stream the oldest undelivered message waits for.
                waiting_on: core.undelivered.front().map(|m| core.route(m).clone()),
                write: core.write_blocked,
                connecting: core.session.state() == State::Connecting,
                end: end_of_connection(core),
                ack: core.acks.owed(),
            }
        });
        if let Some(end) = wait.end {
            break end;
        }
        if wait.ack && !ack_armed {
            ack_timer.as_mut().reset(tokio::time::Instant::now() + super::ack::DELAY);
        }
        ack_armed = wait.ack;
        if let Some(ms) = wait.rearm {
            timer.as_mut().reset(tokio::time::Instant::now() + Duration::from_millis(ms));
        }
        let wake = tokio::select! {
            ready = tcp.readable(), if wait.can_read => Wake::Readable(ready),
            ready = tcp.writable(), if wait.write => Wake::Writable(ready),
            () = shared.driver.notified() => Wake::Told,
            () = &mut timer, if wait.armed => Wake::Timer,
            () = &mut ack_timer, if wait.ack => Wake::Ack,
            _ = tokio::time::sleep_until(connack_deadline), if wait.connecting => Wake::ConnackTimeout,
            () = room(wait.waiting_on.as_ref()), if !wait.can_read => Wake::Told,
        };
        shared.drive(|core| match wake {
            Wake::Readable(Ok(())) => core.read(buf),
            Wake::Writable(Ok(())) => core.write_blocked = false,
            Wake::Readable(Err(_)) | Wake::Writable(Err(_)) => core.session.connection_lost(),
            Wake::Told => {}
            Wake::Ack => core.acknowledge_late(),
            Wake::Timer => {
                core.armed = None;
                core.session.handle_timeout(core.now);
            }
            Wake::ConnackTimeout => {
                core.session.connection_lost();
                core.failure =
                    Some(Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "no CONNACK in time")));
            }
        });
    };
    close(shared, tcp).await;
    result
}

/// `Some` once this connection is over: a failure to report, or the session disconnected.
fn end_of_connection(core: &mut super::shared::Core) -> Option<Result<(), Error>> {
    if let Some(e) = core.failure.take() {
        return Some(Err(e));
    }
    (core.session.state() == State::Disconnected).then_some(Ok(()))
}

/// Lets the last bytes (DISCONNECT) leave, then closes the socket.
async fn close(shared: &Shared, tcp: Arc<TcpStream>) {
    let deadline = tokio::time::Instant::now() + CLOSE_GRACE;
    while shared.with(|core| core.write_blocked && core.link.is_some()) {
        if tokio::time::timeout_at(deadline, tcp.writable()).await.is_err() {
            break;
        }
        shared.drive(|core| core.write_blocked = false);
    }
    shared.with(|core| {
        if let Some(mut link) = core.link.take() {
            link.close();
        }
        core.write_blocked = false;
    });
    if let Ok(mut tcp) = Arc::try_unwrap(tcp) {
        let _ = tcp.shutdown().await;
    }
}

/// Sleeps a random time up to the capped exponential backoff (full jitter). Callers keep
/// publishing meanwhile (into the outbox) but never shorten the wait: an application that keeps
/// publishing must not turn the backoff into a reconnect loop. Only a stop ends it early.
async fn backoff(shared: &Shared, options: &ClientOptions) {
    let r = &options.reconnect;
    let attempt = shared.with(|core| {
        core.attempt += 1;
        core.attempt - 1
    });
    let ceiling = r.initial.saturating_mul(1u32 << attempt.min(16)).min(r.max);
    let fraction = f64::from(crate::OsRandom.next_u32()) / f64::from(u32::MAX);
    let delay = ceiling.mul_f64(fraction);
    log::debug!("mqtt reconnect in {delay:?} (attempt {})", attempt + 1);
    let deadline = tokio::time::Instant::now() + delay;
    while !shared.with(|core| {
        core.noticed();
        core.stop
    }) {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            () = shared.driver.notified() => {}
        }
    }
}

struct Wait {
    rearm: Option<u64>,
    armed: bool,
    can_read: bool,
    waiting_on: Option<mpsc::Sender<Message>>,
    write: bool,
    connecting: bool,
    end: Option<Result<(), Error>>,
    ack: bool,
}

enum Wake {
    Readable(std::io::Result<()>),
    Writable(std::io::Result<()>),
    Told,
    Ack,
    Timer,
    ConnackTimeout,
}

/// Resolves when `stream` has room (or is closed); never without a stream.
async fn room(stream: Option<&mpsc::Sender<Message>>) {
    match stream {
        Some(s) => drop(s.reserve().await),
        None => std::future::pending().await,
    }
}
