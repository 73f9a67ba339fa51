//! The MQTT driver task: what needs waiting. It opens a transport when the session asks for
//! one (the session owns the reconnect backoff and the connect deadline), reads, waits for a
//! full socket to drain and for the session's timers, and closes the transport when the
//! session says the connection is over. Callers act on the shared state themselves (see
//! [`super::shared`]); this task wakes only when the socket has bytes, when the socket it waits
//! on drains, when a timer is due, or when a caller tells it to.

use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::ClientOptions;
use super::link::Link;
use super::shared::{Core, Shared, now_ms};
use crate::Error;
use nomq_proto::mqtt::session::Message;

/// Bytes read per wake-up.
const READ_BUFFER: usize = 64 * 1024;
/// Time allowed for DISCONNECT to leave a full socket before closing.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// A sleep that stands for "no deadline".
const NO_DEADLINE_MS: u64 = 86_400_000;

pub(super) async fn run(shared: Arc<Shared>, options: ClientOptions) {
    let tls = match options.tls.as_ref().map(super::tls::client_config).transpose() {
        Ok(t) => t,
        Err(e) => {
            shared.update_by_driver(|core| {
                core.fail_connect(e);
                core.close();
            });
            return;
        }
    };
    let mut buf = vec![0u8; READ_BUFFER];
    shared.update_by_driver(Core::start_session);
    // The session decides when to open a transport (its reconnect backoff) and when one is
    // over; this loop only opens and closes them.
    while between_connections(&shared).await {
        if let Err(e) = connection(&shared, &options, tls.as_ref(), &mut buf).await {
            // The first connection's failure is `connect`'s answer; later ones reconnect.
            if shared.update_by_driver(|core| core.fail_connect(e)) {
                break;
            }
        }
    }
    shared.update_by_driver(Core::close);
}

/// Waits, running the session's timers, until it asks for a transport (true) or is stopped
/// for good (false). Callers keep publishing meanwhile (into the outbox) but never shorten the
/// backoff: an application that keeps publishing must not turn it into a reconnect loop.
async fn between_connections(shared: &Shared) -> bool {
    loop {
        let (open, idle, deadline) = shared.bookkeep(|core| {
            core.driver_caught_up();
            (core.take_open_request(), core.should_stop(), core.next_deadline())
        });
        if open {
            return true;
        }
        if idle {
            return false;
        }
        // No deadline: a day stands for "never"; a caller's notification re-evaluates anyway.
        let wait = deadline.map_or(NO_DEADLINE_MS, |at| at.saturating_sub(now_ms()));
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(wait)) => {
                shared.update_by_driver(Core::run_timers);
            }
            () = shared.driver_wake_up() => {}
        }
    }
}

/// One connection, from opening the transport to its end.
async fn connection(
    shared: &Shared,
    options: &ClientOptions,
    tls: Option<&Arc<rustls::ClientConfig>>,
    buf: &mut [u8],
) -> Result<(), Error> {
    // The session's connect deadline covers TCP, TLS and CONNACK together.
    let deadline = shared.peek(Core::next_deadline).unwrap_or(u64::MAX);
    let tcp = tokio::select! {
        tcp = TcpStream::connect((options.host.as_str(), options.port)) => tcp,
        () = tokio::time::sleep(Duration::from_millis(deadline.saturating_sub(now_ms()))) => {
            shared.update_by_driver(Core::run_timers);
            Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))
        }
    };
    let tcp = match tcp.and_then(|tcp| tcp.set_nodelay(true).map(|()| tcp)) {
        Ok(tcp) => Arc::new(tcp),
        Err(e) => {
            shared.update_by_driver(Core::connection_lost);
            return Err(e.into());
        }
    };
    let link = match tls {
        None => Ok(Link::plain(tcp.clone())),
        Some(config) => {
            let name = options
                .tls
                .as_ref()
                .and_then(|t| t.server_name.clone())
                .unwrap_or_else(|| options.host.clone());
            rustls_pki_types::ServerName::try_from(name)
                .map_err(|e| Error::Tls(format!("server name: {e}")))
                .and_then(|name| Link::tls(tcp.clone(), config.clone(), name, &options.host))
        }
    };
    let connected = link.and_then(|link| shared.update_by_driver(|core| core.connect_over(link)));
    if let Err(e) = connected {
        shared.update_by_driver(Core::connection_lost);
        close(shared, tcp).await;
        return Err(e);
    }
    // One timer for the whole connection, re-armed only when the session's next deadline is
    // earlier than the armed one (see `Core::rearm_timer`).
    let timer = tokio::time::sleep(Duration::from_millis(NO_DEADLINE_MS));
    tokio::pin!(timer);
    // The ACK held back while many completions are still to come (see `super::ack`).
    let ack_timer = tokio::time::sleep(Duration::from_millis(NO_DEADLINE_MS));
    tokio::pin!(ack_timer);
    let mut ack_armed = false;
    let result = loop {
        let wait = shared.bookkeep(|core| {
            core.driver_caught_up();
            Wait {
                rearm: core.rearm_timer(),
                armed: core.timer_armed(),
                can_read: core.can_read(),
                waiting_on: core.stream_awaited(),
                write: core.write_blocked(),
                end: core.take_end_of_connection(),
                ack: core.ack_owed(),
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
            () = shared.driver_wake_up() => Wake::Notified,
            () = &mut timer, if wait.armed => Wake::Timer,
            () = &mut ack_timer, if wait.ack => Wake::Ack,
            () = room(wait.waiting_on.as_ref()), if !wait.can_read => Wake::Notified,
        };
        shared.update_by_driver(|core| match wake {
            Wake::Readable(Ok(())) => core.read_socket(buf),
            Wake::Writable(Ok(())) => core.socket_writable(),
            Wake::Readable(Err(_)) | Wake::Writable(Err(_)) => core.connection_lost(),
            Wake::Notified => {}
            Wake::Ack => core.acknowledge_late(),
            Wake::Timer => core.timer_fired(),
        });
    };
    close(shared, tcp).await;
    result
}

/// Lets the last bytes (DISCONNECT) leave, then closes the socket.
async fn close(shared: &Shared, tcp: Arc<TcpStream>) {
    let deadline = tokio::time::Instant::now() + CLOSE_GRACE;
    while shared.peek(Core::bytes_left_to_write) {
        if tokio::time::timeout_at(deadline, tcp.writable()).await.is_err() {
            break;
        }
        shared.update_by_driver(Core::socket_writable);
    }
    shared.bookkeep(Core::close_link);
    if let Ok(mut tcp) = Arc::try_unwrap(tcp) {
        let _ = tcp.shutdown().await;
    }
}

struct Wait {
    rearm: Option<u64>,
    armed: bool,
    can_read: bool,
    waiting_on: Option<mpsc::Sender<Message>>,
    write: bool,
    end: Option<Result<(), Error>>,
    ack: bool,
}

enum Wake {
    Readable(std::io::Result<()>),
    Writable(std::io::Result<()>),
    Notified,
    Ack,
    Timer,
}

/// Resolves when `stream` has room (or is closed); never without a stream.
async fn room(stream: Option<&mpsc::Sender<Message>>) {
    match stream {
        Some(s) => drop(s.reserve().await),
        None => std::future::pending().await,
    }
}
