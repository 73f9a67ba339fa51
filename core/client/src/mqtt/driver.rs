//! The MQTT driver task: connect (with a timeout), run the connection, reconnect with backoff
//! and full jitter; route session events to waiting callers and message streams.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use super::{ClientOptions, Command, PublishReply};
use crate::Error;
use crate::node::driver::unix_ms;
use nomq_proto::endpoint::Random;
use nomq_proto::mqtt::ReasonCode;
use nomq_proto::mqtt::Session;
use nomq_proto::mqtt::session::{Disconnect, Event, Message, PublishId, PublishOutcome, RequestId, State};
use nomq_proto::mqtt::topic::topic_matches;

/// Commands applied per wake-up at most, so reads and timers are not starved.
const BATCH: usize = 64;

type RequestReply = oneshot::Sender<Result<Vec<ReasonCode>, Error>>;
/// A subscription's own message stream, registered when its SUBACK arrives.
type Stream = (String, mpsc::Sender<Message>);

/// A connected byte stream, plain TCP or TLS.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

struct Driver {
    options: ClientOptions,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    session: Session,
    commands: mpsc::Receiver<Command>,
    publish_rx: mpsc::Receiver<Command>,
    messages: mpsc::Sender<Message>,
    streams: Vec<Stream>,
    publishes: HashMap<PublishId, PublishReply>,
    requests: HashMap<RequestId, (RequestReply, Option<Stream>)>,
    /// `publish` calls waiting for outbox room (policy Fail, awaited publish).
    blocked: VecDeque<(Message, PublishReply)>,
    /// Messages the application has not taken yet; while any wait, the socket is not read.
    undelivered: VecDeque<Message>,
    ready: Option<oneshot::Sender<Result<(), Error>>>,
    attempt: u32,
    stop: bool,
}

pub(super) async fn run(
    options: ClientOptions,
    commands: mpsc::Receiver<Command>,
    publish_rx: mpsc::Receiver<Command>,
    messages: mpsc::Sender<Message>,
    ready: oneshot::Sender<Result<(), Error>>,
) {
    let session = Session::new(options.session.clone());
    let tls = match options.tls.as_ref().map(super::tls::client_config).transpose() {
        Ok(t) => t,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut d = Driver {
        options,
        tls,
        session,
        commands,
        publish_rx,
        messages,
        streams: Vec::new(),
        publishes: HashMap::new(),
        requests: HashMap::new(),
        blocked: VecDeque::new(),
        undelivered: VecDeque::new(),
        ready: Some(ready),
        attempt: 0,
        stop: false,
    };
    while !d.stop {
        match d.connection().await {
            Ok(()) => {}
            Err(e) => {
                if let Some(ready) = d.ready.take() {
                    let _ = ready.send(Err(e));
                    return;
                }
                log::warn!("mqtt connection to {}:{} failed: {e}", d.options.host, d.options.port);
            }
        }
        if d.stop || !d.options.reconnect.enabled {
            break;
        }
        d.backoff().await;
    }
    d.fail_all();
}

impl Driver {
    /// One connection, from TCP connect to its end.
    async fn connection(&mut self) -> Result<(), Error> {
        let stream =
            tokio::time::timeout(self.options.connect_timeout, self.open()).await.map_err(|_| {
                Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))
            })??;
        let (mut rd, mut wr) = tokio::io::split(stream);
        self.session.connect(unix_ms())?;
        let connack_deadline = tokio::time::Instant::now() + self.options.connect_timeout;
        let mut buf = vec![0u8; 64 * 1024];
        // One timer for the whole connection, re-armed only when the session's next deadline is
        // earlier than the armed one. The keep-alive deadline moves with every write; firing a
        // little early costs one `handle_timeout` that does nothing, while a new timer per loop
        // turn would cost a timer-wheel insert and cancel per message.
        let timer = tokio::time::sleep(Duration::from_secs(86_400));
        tokio::pin!(timer);
        let mut armed: Option<u64> = None;
        loop {
            let now = unix_ms();
            match self.session.poll_timeout() {
                Some(t) if armed.is_none_or(|a| t < a) => {
                    timer
                        .as_mut()
                        .reset(tokio::time::Instant::now() + Duration::from_millis(t.saturating_sub(now)));
                    armed = Some(t);
                }
                Some(_) => {}
                None => armed = None,
            }
            let connecting = self.session.state() == State::Connecting;
            let can_read = self.undelivered.is_empty();
            // The stream the oldest undelivered message waits for.
            let waiting_on = self.undelivered.front().map(|m| self.route(m).clone());
            let tx = self.session.transmit();
            let wake = tokio::select! {
                read = rd.read(&mut buf), if can_read => Wake::Read(read),
                written = wr.write(tx), if !tx.is_empty() => Wake::Written(written),
                command = self.commands.recv() => Wake::Command(command),
                // While publishes wait for outbox room, new ones wait in their channel: the
                // caller's `publish`/`enqueue` feels the backpressure, memory stays bounded.
                Some(publish) = self.publish_rx.recv(), if self.blocked.is_empty() => Wake::Command(Some(publish)),
                () = &mut timer, if armed.is_some() => Wake::Timer,
                _ = tokio::time::sleep_until(connack_deadline), if connecting => Wake::ConnackTimeout,
                () = room(waiting_on.as_ref()), if !can_read => Wake::Room,
            };
            match wake {
                Wake::Read(Ok(0) | Err(_)) | Wake::Written(Err(_)) => self.session.connection_lost(),
                Wake::Read(Ok(n)) => self.session.handle_bytes(unix_ms(), &buf[..n]),
                Wake::Written(Ok(n)) => self.session.transmitted(unix_ms(), n),
                Wake::Command(Some(c)) => {
                    self.apply(c);
                    self.drain_commands();
                }
                Wake::Command(None) => {
                    // Every handle dropped: leave cleanly.
                    let _ = self.session.disconnect(unix_ms(), ReasonCode::SUCCESS);
                    self.stop = true;
                }
                Wake::Timer => {
                    armed = None;
                    self.session.handle_timeout(unix_ms());
                }
                Wake::ConnackTimeout => {
                    self.session.connection_lost();
                    self.events()?;
                    return Err(Error::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "no CONNACK in time",
                    )));
                }
                // `deliver` below hands over what now fits.
                Wake::Room => {}
            }
            self.events()?;
            self.deliver();
            if self.session.state() == State::Disconnected {
                // Flush what the session wrote last (DISCONNECT) before closing.
                let tail = self.session.transmit().to_vec();
                if !tail.is_empty() {
                    let _ = wr.write_all(&tail).await;
                    self.session.transmitted(unix_ms(), tail.len());
                }
                let _ = wr.shutdown().await;
                return Ok(());
            }
        }
    }

    /// TCP (with TCP_NODELAY: MQTT packets are small and latency matters), then TLS if asked.
    async fn open(&self) -> Result<Box<dyn Io>, Error> {
        let tcp = TcpStream::connect((self.options.host.as_str(), self.options.port)).await?;
        tcp.set_nodelay(true)?;
        let Some(config) = &self.tls else { return Ok(Box::new(tcp)) };
        let name = self
            .options
            .tls
            .as_ref()
            .and_then(|t| t.server_name.clone())
            .unwrap_or_else(|| self.options.host.clone());
        let name = rustls_pki_types::ServerName::try_from(name)
            .map_err(|e| Error::Tls(format!("server name: {e}")))?;
        let stream = tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| Error::Tls(format!("TLS handshake with {}: {e}", self.options.host)))?;
        Ok(Box::new(stream))
    }

    fn apply(&mut self, command: Command) {
        let now = unix_ms();
        match command {
            Command::Publish { message, wait_for_room, reply } => {
                if !wait_for_room {
                    // Judge "full" after the publishes the application sent before this one.
                    self.drain_publishes();
                }
                if wait_for_room && (!self.blocked.is_empty() || !self.session.has_room(message.size())) {
                    // Keep order behind earlier waiting publishes; wait for room.
                    self.blocked.push_back((message, reply));
                    return;
                }
                match self.session.publish(now, message) {
                    Ok(id) => {
                        self.publishes.insert(id, reply);
                    }
                    Err(e) => {
                        reply.send(Err(e.into()));
                    }
                }
            }
            Command::Subscribe { filter, options, stream, reply } => {
                match self.session.subscribe(now, vec![(filter.clone(), options)], None) {
                    Ok(id) => {
                        self.requests.insert(id, (reply, stream.map(|s| (filter, s))));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Command::Unsubscribe { filter, reply } => {
                self.streams.retain(|(f, _)| *f != filter);
                match self.session.unsubscribe(now, vec![filter]) {
                    Ok(id) => {
                        self.requests.insert(id, (reply, None));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Command::Metrics { reply } => {
                let _ = reply.send(self.session.metrics());
            }
            Command::Disconnect { reply } => {
                let _ = self.session.disconnect(now, ReasonCode::SUCCESS);
                self.stop = true;
                let _ = reply.send(());
            }
        }
    }

    /// Routes session events. An error ends `connect()` when the first attempt is refused.
    fn events(&mut self) -> Result<(), Error> {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::Connected { session_present } => {
                    log::debug!("mqtt connected (session present: {session_present})");
                    self.attempt = 0;
                    if let Some(ready) = self.ready.take() {
                        let _ = ready.send(Ok(()));
                    }
                }
                Event::ConnectionRefused(reason) => {
                    return Err(Error::Proto(nomq_proto::mqtt::MqttError::Protocol(refusal(reason)).into()));
                }
                Event::Disconnected(why) => {
                    log::debug!("mqtt disconnected: {why:?}");
                    // Before the first CONNACK this is `connect`'s failure, not a reconnect.
                    if self.ready.is_some() {
                        return Err(match why {
                            Disconnect::ProtocolError(e) => Error::Proto(e.into()),
                            Disconnect::ByServer(reason) => {
                                Error::Proto(nomq_proto::mqtt::MqttError::Protocol(refusal(reason)).into())
                            }
                            _ => Error::Io(std::io::Error::new(
                                std::io::ErrorKind::ConnectionAborted,
                                "connection closed before CONNACK",
                            )),
                        });
                    }
                }
                Event::Message(m) => self.undelivered.push_back(m),
                Event::PublishDone { id, outcome } => {
                    if let Some(reply) = self.publishes.remove(&id) {
                        reply.send(match outcome {
                            PublishOutcome::Expired => Err(Error::Expired),
                            other => Ok(other),
                        });
                    }
                    self.unblock();
                }
                Event::Dropped { id } => {
                    if let Some(reply) = self.publishes.remove(&id) {
                        reply.send(Err(Error::Dropped));
                    }
                }
                Event::Subscribed { id, reasons } => {
                    if let Some((reply, stream)) = self.requests.remove(&id) {
                        if let Some(stream) = stream {
                            self.streams.push(stream);
                        }
                        let _ = reply.send(Ok(reasons));
                    }
                }
                Event::Unsubscribed { id, reasons } => {
                    if let Some((reply, _)) = self.requests.remove(&id) {
                        let _ = reply.send(Ok(reasons));
                    }
                }
                Event::AuthChallenge { reason: ReasonCode::CONTINUE_AUTHENTICATION, data } => {
                    let answer = match &self.options.authenticator {
                        Some(a) => a.respond(&data),
                        None => Err("the server sent a challenge and no authenticator is set".into()),
                    };
                    let sent = answer.and_then(|r| {
                        self.session
                            .auth(unix_ms(), ReasonCode::CONTINUE_AUTHENTICATION, &r)
                            .map_err(|e| e.to_string())
                    });
                    if let Err(why) = sent {
                        self.session.connection_lost();
                        return Err(Error::Auth(why));
                    }
                }
                Event::AuthChallenge { reason, .. } => log::debug!("mqtt AUTH {reason}"),
            }
        }
        Ok(())
    }

    /// Applies up to `BATCH` more commands and publishes already waiting in their channels, so
    /// that one write carries many packets: a loop turn per command would cost a `select!`
    /// and a syscall per message.
    fn drain_commands(&mut self) {
        for _ in 0..BATCH {
            let command = match self.commands.try_recv() {
                Ok(c) => c,
                Err(_) if self.blocked.is_empty() => match self.publish_rx.try_recv() {
                    Ok(c) => c,
                    Err(_) => return,
                },
                Err(_) => return,
            };
            self.apply(command);
            if self.stop {
                return;
            }
        }
    }

    /// Applies the publishes already waiting in their channel, until one has to wait for room.
    fn drain_publishes(&mut self) {
        while self.blocked.is_empty() {
            match self.publish_rx.try_recv() {
                Ok(c) => self.apply(c),
                Err(_) => break,
            }
        }
    }

    /// Retries publishes waiting for room, in order.
    fn unblock(&mut self) {
        while let Some((message, _)) = self.blocked.front() {
            if !self.session.has_room(message.size()) {
                return;
            }
            let Some((message, reply)) = self.blocked.pop_front() else { return };
            match self.session.publish(unix_ms(), message) {
                Ok(id) => {
                    self.publishes.insert(id, reply);
                }
                Err(e) => {
                    reply.send(Err(e.into()));
                }
            }
        }
    }

    /// The subscription stream whose filter matches, else the `recv` channel.
    fn route(&self, m: &Message) -> &mpsc::Sender<Message> {
        self.streams.iter().find(|(f, _)| topic_matches(f, &m.topic)).map_or(&self.messages, |(_, s)| s)
    }

    /// Hands messages to their subscription streams or to `recv`, as far as they have room.
    fn deliver(&mut self) {
        while let Some(m) = self.undelivered.front() {
            let target = self.route(m).clone();
            match target.try_reserve() {
                Ok(permit) => {
                    if let Some(m) = self.undelivered.pop_front() {
                        permit.send(m);
                    }
                }
                Err(mpsc::error::TrySendError::Closed(())) => {
                    self.undelivered.pop_front();
                }
                Err(mpsc::error::TrySendError::Full(())) => return,
            }
        }
    }

    /// Sleeps a random time up to the capped exponential backoff (full jitter).
    async fn backoff(&mut self) {
        let r = &self.options.reconnect;
        let ceiling = r.initial.saturating_mul(1u32 << self.attempt.min(16)).min(r.max);
        self.attempt += 1;
        let fraction = f64::from(crate::OsRandom.next_u32()) / f64::from(u32::MAX);
        let delay = ceiling.mul_f64(fraction);
        log::debug!("mqtt reconnect in {delay:?} (attempt {})", self.attempt);
        // Commands are served while waiting, but never shorten the wait: an application that
        // keeps publishing must not turn the backoff into a reconnect loop.
        let deadline = tokio::time::Instant::now() + delay;
        while !self.stop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                command = self.commands.recv() => match command {
                    Some(c) => self.apply(c),
                    None => self.stop = true,
                },
                Some(publish) = self.publish_rx.recv(), if self.blocked.is_empty() => self.apply(publish),
            }
            // Outcomes decided offline (drops, expiries) reach their callers now.
            let _ = self.events();
        }
    }

    fn fail_all(&mut self) {
        for (_, reply) in self.publishes.drain() {
            reply.send(Err(Error::Closed));
        }
        for (_, reply) in self.blocked.drain(..) {
            reply.send(Err(Error::Closed));
        }
        for (_, (reply, _)) in self.requests.drain() {
            let _ = reply.send(Err(Error::Closed));
        }
    }
}

enum Wake {
    Read(std::io::Result<usize>),
    Written(std::io::Result<usize>),
    Command(Option<Command>),
    Timer,
    ConnackTimeout,
    Room,
}

/// Resolves when `stream` has room (or is closed); never without a stream.
async fn room(stream: Option<&mpsc::Sender<Message>>) {
    match stream {
        Some(s) => drop(s.reserve().await),
        None => std::future::pending().await,
    }
}

fn refusal(reason: ReasonCode) -> &'static str {
    match reason.0 {
        1 | 0x84 => "connection refused: unsupported protocol version",
        2 | 0x85 => "connection refused: client identifier not valid",
        3 | 0x88 => "connection refused: server unavailable",
        4 | 0x86 => "connection refused: bad user name or password",
        5 | 0x87 => "connection refused: not authorized",
        _ => "connection refused by the server",
    }
}
