//! The MQTT client on tokio. The sans-IO [`Session`](nomq_proto::mqtt::Session) and the
//! connection sit behind one short-held lock (`shared`): callers apply their requests and write
//! from their own thread; a driver task reads, waits on timers and a full socket, and reconnects
//! with exponential backoff and full jitter. Every `publish` resolves when its QoS flow
//! completes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), nomq::Error> {
//! use nomq::mqtt::{Client, ClientOptions};
//! use nomq::Qos;
//!
//! let client = Client::connect(ClientOptions::new("127.0.0.1", 1883, "sensor-1")).await?;
//! client.subscribe("sensors/#", Qos::AtLeastOnce).await?;
//! client.publish("sensors/temp", b"21.5", Qos::ExactlyOnce, false).await?; // PUBCOMP received
//! while let Some(m) = client.recv().await {
//!     println!("{}: {:?}", m.topic, m.payload);
//! }
//! # Ok(()) }
//! ```

mod ack;
mod auth;
mod driver;
mod link;
mod shared;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use nomq_proto::error::{ResourceError, Table};
use tokio::sync::{Mutex, mpsc, oneshot, watch};

use crate::budget::HandedBytes;
use shared::{Admission, Core, Shared};

use crate::Error;
use crate::completion::Reply;
use nomq_proto::frame::Qos;
use nomq_proto::mqtt::ReasonCode;
use nomq_proto::mqtt::codec::SubscriptionOptions;
use nomq_proto::mqtt::session::{Message, Metrics, PublishOutcome, SessionConfig};

pub use crate::completion::MessageWait;
pub use auth::Authenticator;
pub use nomq_proto::mqtt::ProtocolVersion;
pub use nomq_proto::mqtt::session::{LastWill, MessageProperties, OutboxPolicy, ReconnectPolicy};
pub use tls::TlsOptions;

/// Where the client's connection stands: [`Client::state`], and [`Client::watch_state`] to
/// follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Opening the first connection.
    Connecting,
    /// The server accepted the connection (CONNACK); `session_present` as it said.
    Connected {
        /// The server resumed a session it kept for this client id.
        session_present: bool,
    },
    /// The connection ended; the client opens a new one when its reconnect policy says.
    Reconnecting,
    /// Stopped for good: `disconnect`, a first connection that failed, or a loss with
    /// reconnecting turned off.
    Closed,
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Broker host name or address.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// TLS (`mqtts://`); `None` is plain TCP.
    pub tls: Option<TlsOptions>,
    /// Session settings: version, client id, keep alive, will, credentials, outbox, the
    /// connect deadline ([`SessionConfig::connect_timeout_ms`], TCP + TLS + CONNACK) and the
    /// reconnect policy ([`SessionConfig::reconnect`]). On Linux the client turns on
    /// [`SessionConfig::refill_half_window`] and paces its TCP ACKs while the window refills
    /// (see `mqtt::ack`); elsewhere it stays off.
    pub session: SessionConfig,
    /// Messages buffered for `recv` and each subscription stream; when full, the client stops
    /// reading from the connection until the application catches up (TCP backpressure).
    pub message_buffer: usize,
    /// MQTT 5.0 enhanced authentication; set with [`ClientOptions::enhanced_auth`].
    pub authenticator: Option<Authenticator>,
    /// Bytes of received messages handed to the application and not taken yet, at most (16 MiB;
    /// a single larger message still goes, alone). With `message_buffer` (the count), it bounds
    /// what a slow application holds; past it the client stops reading (TCP backpressure).
    pub message_buffer_bytes: usize,
    /// How long `subscribe` and `unsubscribe` wait for SUBACK or UNSUBACK before failing
    /// with [`Error::TimedOut`] (30 s): a server that never answers does not hang the caller.
    pub request_timeout: Duration,
}

impl ClientOptions {
    /// MQTT 3.1.1 to `host:port` with client id `client_id`, clean session, keep alive 60 s.
    pub fn new(host: impl Into<String>, port: u16, client_id: impl Into<String>) -> Self {
        ClientOptions {
            host: host.into(),
            port,
            tls: None,
            session: SessionConfig {
                // Safe only where the link can send an ACK on demand (`Link::acknowledge_now`).
                refill_half_window: link::Link::ACKNOWLEDGES_NOW,
                ..SessionConfig::new(ProtocolVersion::V311, client_id)
            },
            message_buffer: 4096,
            authenticator: None,
            request_timeout: Duration::from_secs(30),
            message_buffer_bytes: 16 << 20,
        }
    }

    /// Options from a URL: `mqtt://host[:1883]` or `mqtts://host[:8883]` (system roots; set
    /// [`ClientOptions::tls`] for a custom CA or a client certificate).
    pub fn from_url(url: &str, client_id: impl Into<String>) -> Result<Self, Error> {
        let bad = || Error::InvalidUrl(url.into());
        let (tls, rest) = match url.split_once("://") {
            Some(("mqtt", rest)) => (false, rest),
            Some(("mqtts", rest)) => (true, rest),
            _ => return Err(bad()),
        };
        let rest = rest.trim_end_matches('/');
        // An IPv6 literal is bracketed (RFC 3986 §3.2.2): its colons are not the port's.
        let (host, port) = match rest.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or_else(bad)?;
                (host, after.strip_prefix(':'))
            }
            None => match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if tls => 8883,
            None => 1883,
        };
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(bad());
        }
        let mut o = ClientOptions::new(host, port, client_id);
        o.tls = tls.then(TlsOptions::default);
        Ok(o)
    }

    /// MQTT 5.0 enhanced authentication (§4.12) with `method`: `initial` goes in CONNECT, and
    /// `respond` answers every challenge the server sends.
    #[must_use]
    pub fn enhanced_auth(
        mut self,
        method: impl Into<String>,
        initial: Option<Vec<u8>>,
        respond: impl Fn(&[u8]) -> Result<Vec<u8>, String> + Send + Sync + 'static,
    ) -> Self {
        self.session.version = ProtocolVersion::V5;
        self.session.authentication_method = Some(method.into());
        self.session.authentication_data = initial;
        self.authenticator = Some(Authenticator::new(respond));
        self
    }

    /// The same options with another connect deadline (TCP, TLS and CONNACK together).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.session.connect_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The same options with another reconnect policy.
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.session.reconnect = policy;
        self
    }

    /// The same options with another protocol version.
    #[must_use]
    pub fn version(mut self, version: ProtocolVersion) -> Self {
        // The session expiry follows the version while it is the default.
        let s = &mut self.session;
        if s.session_expiry_interval == SessionConfig::default_session_expiry(s.version) {
            s.session_expiry_interval = SessionConfig::default_session_expiry(version);
        }
        s.version = version;
        self
    }
}

/// The end of one queued publish (see [`Client::enqueue`]): resolves when the QoS flow
/// completes, as [`Client::publish`] does.
pub type Completion = crate::Completion<PublishOutcome>;

/// A message stream for one subscription (see [`Client::subscription`]).
pub struct Subscription {
    rx: mpsc::Receiver<Message>,
    /// Reason codes the server granted, in filter order.
    pub granted: Vec<ReasonCode>,
    shared: Arc<Shared>,
    handed: Arc<HandedBytes>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("granted", &self.granted).finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next message matching this subscription's filter.
    pub async fn recv(&mut self) -> Option<Message> {
        let m = self.rx.recv().await?;
        taken(&self.shared, &self.handed, m.size());
        Some(m)
    }

    /// Waits for at least one message, then moves up to `limit` into `into`; 0 once closed.
    pub async fn recv_many(&mut self, into: &mut Vec<Message>, limit: usize) -> usize {
        let before = into.len();
        let n = self.rx.recv_many(into, limit.max(1)).await;
        taken(&self.shared, &self.handed, into[before..].iter().map(Message::size).sum());
        n
    }
}

impl Drop for Subscription {
    /// Messages left unread count as taken: they no longer hold the client's byte budget.
    fn drop(&mut self) {
        self.rx.close();
        let mut size = 0;
        while let Ok(m) = self.rx.try_recv() {
            size += m.size();
        }
        taken(&self.shared, &self.handed, size);
    }
}

/// The application took `size` bytes of messages: delivery may go on.
fn taken(shared: &Shared, handed: &HandedBytes, size: usize) {
    if size > 0 && handed.taken(size) {
        shared.wake_driver();
    }
}

/// Where the outcome of one publish goes: a [`Completion`], or a callback for bindings that
/// resolve their own futures (no task per publish).
pub(crate) type PublishReply = Reply<PublishOutcome>;

/// An MQTT client. Cheap to share behind an `Arc`; dropping the last handle disconnects.
pub struct Client {
    shared: Arc<Shared>,
    handed: Arc<HandedBytes>,
    messages: Mutex<mpsc::Receiver<Message>>,
    buffer: usize,
    request_timeout: Duration,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    state: watch::Receiver<ConnectionState>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("buffer", &self.buffer).finish_non_exhaustive()
    }
}

impl Client {
    /// Connects (TCP, CONNECT, CONNACK) and returns once the first connection is up; later
    /// connection losses are repaired in the background per the session's reconnect policy.
    pub async fn connect(options: ClientOptions) -> Result<Client, Error> {
        options.session.validate().map_err(nomq_proto::Error::from)?;
        let buffer = options.message_buffer.max(1);
        let request_timeout = options.request_timeout;
        let (message_tx, messages) = mpsc::channel(buffer);
        let (ready_tx, ready) = oneshot::channel();
        let session = nomq_proto::mqtt::Session::new(options.session.clone(), Box::new(crate::OsRandom));
        let handed = Arc::new(HandedBytes::new(options.message_buffer_bytes));
        let (state_tx, state) = watch::channel(ConnectionState::Connecting);
        let shared = Arc::new(Shared::new(
            session,
            message_tx,
            ready_tx,
            options.authenticator.clone(),
            handed.clone(),
            state_tx,
        ));
        let driver_shared = shared.clone();
        let task = tokio::spawn(async move {
            // A panic in the driver still closes the client: nothing waits for ever.
            let shared = driver_shared.clone();
            if crate::catch_unwind(driver::run(driver_shared, options)).await.is_err() {
                shared.update(Core::close);
            }
        });
        // Built before the first CONNACK: if this future is dropped, dropping the client stops
        // the driver.
        let client = Client {
            shared,
            handed,
            messages: Mutex::new(messages),
            buffer,
            request_timeout,
            task: std::sync::Mutex::new(Some(task)),
            state,
        };
        match ready.await {
            Ok(Ok(())) => Ok(client),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Closed),
        }
    }

    /// Publishes and resolves when the QoS flow completes: QoS 0 when written, QoS 1 on
    /// PUBACK, QoS 2 on PUBCOMP. Waits while the outbox is full (policy `Fail`), and across
    /// reconnects: nothing is lost at QoS 1/2.
    pub async fn publish(
        &self,
        topic: &str,
        payload: &[u8],
        qos: Qos,
        retain: bool,
    ) -> Result<PublishOutcome, Error> {
        self.publish_message(Message::new(topic, payload.to_vec(), qos, retain)).await
    }

    /// As [`Client::publish`], with MQTT 5.0 properties.
    pub async fn publish_message(&self, message: Message) -> Result<PublishOutcome, Error> {
        self.enqueue(message).await?.wait().await
    }

    /// Queues `message` and returns at once with its [`Completion`]: pipelining without a task
    /// per message. On an idle connection the message is written from the calling thread.
    /// Waits only while the outbox and the queue of publishes waiting for it are full
    /// (backpressure).
    pub async fn enqueue(&self, message: Message) -> Result<Completion, Error> {
        let (reply, completion) = Reply::channel();
        match self.shared.queue(message, reply).await {
            Ok(()) => Ok(completion),
            Err(_) => Err(Error::Closed),
        }
    }

    /// Queues `message` from any thread, without a runtime context; `done` is called exactly
    /// once with the outcome, outside the client's lock (it may call into the client): when
    /// the QoS flow completes, or at once when the client is closed. This is how bindings
    /// resolve their own futures without a task per publish. When too many publishes already
    /// wait for outbox room, the returned future finishes the queuing (backpressure): spawn or
    /// await it; `None` means queued.
    pub fn publish_with(
        &self,
        message: Message,
        done: impl FnOnce(Result<PublishOutcome, Error>) + Send + 'static,
    ) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let reply = Reply::callback(done);
        match self.shared.update(|core| core.publish(message, reply, true)) {
            Admission::Taken => None,
            Admission::Closed(reply) => {
                reply.send(Err(Error::Closed));
                None
            }
            Admission::Full(message, reply) => {
                let shared = self.shared.clone();
                Some(async move {
                    if let Err(reply) = shared.queue(message, reply).await {
                        reply.send(Err(Error::Closed));
                    }
                })
            }
        }
    }

    /// [`Client::publish_with`] for callers that cannot wait (a binding resolving futures from
    /// the driver): when the line of publishes waiting for outbox room is full too, `done` gets
    /// the outbox-full error at once instead of a future to spawn, so memory stays bounded
    /// however many publishes are fired without being awaited.
    pub fn publish_or_refuse_with(
        &self,
        message: Message,
        done: impl FnOnce(Result<PublishOutcome, Error>) + Send + 'static,
    ) {
        let reply = Reply::callback(done);
        match self.shared.update(|core| core.publish(message, reply, true)) {
            Admission::Taken => {}
            Admission::Closed(reply) => reply.send(Err(Error::Closed)),
            Admission::Full(_, reply) => {
                reply.send(Err(Error::Proto(ResourceError::Full(Table::Outbox).into())));
            }
        }
    }

    /// Queues without waiting for room: fails at once with an outbox-full error. Resolves,
    /// like `publish`, when the QoS flow completes.
    pub async fn try_publish(
        &self,
        topic: &str,
        payload: &[u8],
        qos: Qos,
        retain: bool,
    ) -> Result<PublishOutcome, Error> {
        let message = Message::new(topic, payload.to_vec(), qos, retain);
        let (reply, completion) = Reply::channel();
        match self.shared.update(|core| core.publish(message, reply, false)) {
            Admission::Taken => completion.await,
            Admission::Full(..) | Admission::Closed(_) => Err(Error::Closed),
        }
    }

    /// Subscribes; messages arrive through [`Client::recv`]. Returns the granted reason codes.
    pub async fn subscribe(&self, filter: &str, qos: Qos) -> Result<Vec<ReasonCode>, Error> {
        self.subscribe_with(filter, SubscriptionOptions::qos(qos)).await
    }

    /// Subscribes with MQTT 5.0 options (no local, retain as published, retain handling).
    pub async fn subscribe_with(
        &self,
        filter: &str,
        options: SubscriptionOptions,
    ) -> Result<Vec<ReasonCode>, Error> {
        let (reply, answer) = oneshot::channel();
        self.shared.update(|core| core.subscribe(filter.into(), options, None, reply));
        self.answer(answer, "SUBACK").await
    }

    /// Subscribes with a stream of its own: messages matching `filter` go there, not to `recv`.
    pub async fn subscription(&self, filter: &str, qos: Qos) -> Result<Subscription, Error> {
        let (tx, rx) = mpsc::channel(self.buffer);
        let (reply, answer) = oneshot::channel();
        self.shared
            .update(|core| core.subscribe(filter.into(), SubscriptionOptions::qos(qos), Some(tx), reply));
        let granted = self.answer(answer, "SUBACK").await?;
        Ok(Subscription { rx, granted, shared: self.shared.clone(), handed: self.handed.clone() })
    }

    /// Unsubscribes.
    pub async fn unsubscribe(&self, filter: &str) -> Result<Vec<ReasonCode>, Error> {
        let (reply, answer) = oneshot::channel();
        self.shared.update(|core| core.unsubscribe(filter.into(), reply));
        self.answer(answer, "UNSUBACK").await
    }

    /// The server's answer to a request, within [`ClientOptions::request_timeout`].
    async fn answer(
        &self,
        answer: oneshot::Receiver<Result<Vec<ReasonCode>, Error>>,
        what: &'static str,
    ) -> Result<Vec<ReasonCode>, Error> {
        match tokio::time::timeout(self.request_timeout, answer).await {
            Ok(answered) => answered.map_err(|_| Error::Closed)?,
            Err(_) => Err(Error::TimedOut(what)),
        }
    }

    /// The next message of a plain subscription; `None` after `disconnect`.
    pub async fn recv(&self) -> Option<Message> {
        let m = self.messages.lock().await.recv().await?;
        taken(&self.shared, &self.handed, m.size());
        Some(m)
    }

    /// Waits for at least one message, then moves up to `limit` into `into`; 0 after
    /// `disconnect`. One wake-up for a burst of messages.
    pub async fn recv_many(&self, into: &mut Vec<Message>, limit: usize) -> usize {
        let before = into.len();
        let n = self.messages.lock().await.recv_many(into, limit.max(1)).await;
        taken(&self.shared, &self.handed, into[before..].iter().map(Message::size).sum());
        n
    }

    /// The messages already waiting, up to `limit`, without waiting (none while another caller
    /// is receiving).
    pub fn try_recv_many(&self, into: &mut Vec<Message>, limit: usize) -> usize {
        let before = into.len();
        let n = crate::completion::take_waiting(&self.messages, into, limit);
        taken(&self.shared, &self.handed, into[before..].iter().map(Message::size).sum());
        n
    }

    /// Calls `ready` once, on the driver's or a caller's thread and outside the client's lock,
    /// as soon as messages wait for [`Client::recv`] (at once if some already do) or the client
    /// has closed; take them with [`Client::try_recv_many`]. This is how bindings wait for
    /// messages without a task, and so without a thread hop. Another receiver may take the
    /// messages first: find none, wait again. Dropping the returned [`MessageWait`] does not
    /// cancel; [`MessageWait::cancel`] does.
    pub fn when_messages(&self, ready: impl FnOnce() + Send + 'static) -> MessageWait {
        self.shared.update(move |core| core.when_messages(Box::new(ready)))
    }

    /// Where the connection stands now.
    pub fn state(&self) -> ConnectionState {
        *self.state.borrow()
    }

    /// A receiver of the changes of [`Client::state`] (`changed().await`, then
    /// `borrow_and_update()`). It keeps only the latest: changes closer together than the
    /// receiver looks coalesce. [`ConnectionState::Closed`] is the last.
    pub fn watch_state(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// Whether the client has stopped for good (after `disconnect`, or a first connection
    /// that failed).
    pub fn is_closed(&self) -> bool {
        self.shared.peek(Core::is_closed)
    }

    /// Counters and gauges of the session.
    pub async fn metrics(&self) -> Result<Metrics, Error> {
        self.shared.peek(Core::metrics)
    }

    /// Sends DISCONNECT (the will is not published) and stops the driver. Publishes still
    /// pending fail with [`Error::Closed`].
    pub async fn disconnect(&self) {
        self.shared.update(Core::stop);
        crate::handle::join(&self.task).await;
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.shared.update(Core::stop);
    }
}
