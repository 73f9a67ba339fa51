//! `Node`: a NoMQ endpoint on a UDP socket, driven by a tokio task.
//!
//! ```no_run
//! # async fn demo() -> Result<(), nomq::Error> {
//! use nomq::{Keys, Node, NodeConfig, Version};
//! use nomq::proto::endpoint::PublishOptions;
//!
//! let keys = Keys::new([1; 32], [2; 32]);
//! let node = Node::bind(NodeConfig::new("0.0.0.0:8888".parse().unwrap(), keys, Version::V1)).await?;
//! node.subscribe("sensors/temp").await?;
//! node.publish("192.168.1.20:8888".parse().unwrap(), "sensors/temp", b"21.5", PublishOptions::default()).await?;
//! while let Some(msg) = node.recv().await {
//!     println!("{} from {}: {:?}", msg.channel, msg.from, msg.payload);
//! }
//! # Ok(()) }
//! ```

pub(crate) mod driver;
mod socket;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::Error;
use crate::budget::HandedBytes;
use crate::completion::{MessageSignal, MessageWait, Reply};
use nomq_proto::Keys;
use nomq_proto::config::Config;
use nomq_proto::endpoint::{EndpointConfig, Message, PublishOptions, PublishOutcome, Stats};
use nomq_proto::error::{ResourceError, Table};
use nomq_proto::frame::Version;

/// Where and how a node runs.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Local address to bind (`0.0.0.0:8888` like the reference, `[::]:8888` for IPv6).
    pub bind: SocketAddr,
    /// The group keys.
    pub keys: Keys,
    /// Protocol version, timers and table bounds.
    pub endpoint: EndpointConfig,
    /// Multicast groups to join.
    pub multicast: Vec<IpAddr>,
    /// Received messages buffered for `recv` before the node applies backpressure (it stops
    /// taking new messages, and senders retransmit).
    pub message_buffer: usize,
    /// Bytes (payloads and channel names) of the messages buffered for `recv`, at most (16 MiB;
    /// a single larger message still goes, alone). Past it, as past `message_buffer`, messages
    /// wait in the endpoint (bounded by `EndpointConfig::max_events` and `max_event_bytes`),
    /// and then senders retransmit.
    pub message_buffer_bytes: usize,
    /// Let other sockets bind the same address and port (`SO_REUSEADDR`, as the reference
    /// does, v1 §18). Off by default: a second node on a port in use fails to bind instead
    /// of silently sharing it (the kernel would give each datagram to only one of them).
    /// Joining a multicast group turns it on, since several listeners are the point there.
    pub share_port: bool,
}

impl NodeConfig {
    /// A node on `bind` speaking `version`, with default limits.
    pub fn new(bind: SocketAddr, keys: Keys, version: Version) -> Self {
        NodeConfig {
            bind,
            keys,
            endpoint: EndpointConfig::new(version),
            multicast: vec![],
            message_buffer: 1024,
            message_buffer_bytes: 16 << 20,
            share_port: false,
        }
    }

    /// A v1 node from the reference's config file (its `ip`, `port`, `use_ipv6` and keys).
    pub fn from_config(config: &Config, version: Version) -> Result<Self, Error> {
        let invalid_ip = nomq_proto::Error::Config(nomq_proto::error::ConfigError::InvalidField("ip"));
        let ip: IpAddr = config.ip.parse().map_err(|_| invalid_ip)?;
        let ip = match (ip, config.use_ipv6) {
            (IpAddr::V4(v4), true) if v4.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
            (ip, _) => ip,
        };
        Ok(NodeConfig::new(SocketAddr::new(ip, config.port), config.keys.clone(), version))
    }
}

/// Where the outcome of one publish goes: a [`Completion`](crate::Completion), or a callback
/// for bindings that resolve their own futures (no task per publish).
pub(crate) type PublishReply = Reply<PublishOutcome>;

pub(crate) enum Command {
    Subscribe {
        channel: String,
        announce: Option<(SocketAddr, u8)>,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Unsubscribe {
        channel: String,
        announce: Option<SocketAddr>,
        reply: oneshot::Sender<Result<bool, Error>>,
    },
    Publish {
        to: SocketAddr,
        channel: String,
        payload: Vec<u8>,
        options: PublishOptions,
        reply: PublishReply,
    },
    Heartbeat {
        to: SocketAddr,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Stats {
        reply: oneshot::Sender<Stats>,
    },
}

/// A running NoMQ node. Cheap to share behind an `Arc`; dropping the last handle (or `close`)
/// stops the driver task.
#[derive(Debug)]
pub struct Node {
    commands: mpsc::Sender<Command>,
    messages: Mutex<mpsc::Receiver<Message>>,
    /// Tells whether messages wait in `messages` without keeping the channel open: the driver
    /// holds its only strong sender, and `recv` ends when the driver does.
    message_probe: mpsc::WeakSender<Message>,
    /// `when_messages` registrations, woken by the driver.
    signal: Arc<MessageSignal>,
    /// Bytes handed to `recv` and not taken yet; a take that frees a blocked budget wakes the
    /// driver through `budget_freed`.
    budget: Arc<HandedBytes>,
    budget_freed: Arc<tokio::sync::Notify>,
    session_id: Arc<std::sync::atomic::AtomicU32>,
    local_addr: SocketAddr,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
    closed: Arc<tokio::sync::Notify>,
}

impl Node {
    /// Binds the socket and starts the driver on the current tokio runtime.
    pub async fn bind(config: NodeConfig) -> Result<Node, Error> {
        config.endpoint.validate().map_err(nomq_proto::Error::from)?;
        let socket = socket::bind(config.bind, &config.multicast, config.share_port)?;
        let local_addr = socket.local_addr()?;
        let (commands, command_rx) = mpsc::channel(1024);
        let (message_tx, messages) = mpsc::channel(config.message_buffer.max(1));
        let closed = Arc::new(tokio::sync::Notify::new());
        let signal = Arc::new(MessageSignal::default());
        let message_probe = message_tx.downgrade();
        let budget = Arc::new(HandedBytes::new(config.message_buffer_bytes));
        let budget_freed = Arc::new(tokio::sync::Notify::new());
        let session_id = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let driver = driver::Driver::new(
            config,
            socket,
            local_addr,
            command_rx,
            driver::Delivery {
                messages: message_tx,
                signal: signal.clone(),
                budget: budget.clone(),
                budget_freed: budget_freed.clone(),
                session_id: session_id.clone(),
            },
            closed.clone(),
        );
        let on_panic = signal.clone();
        let task = tokio::spawn(async move {
            // A panicking driver drops its commands and replies (they answer `Error::Closed`);
            // message waiters are woken here.
            if crate::catch_unwind(driver.run()).await.is_err() {
                on_panic.close();
            }
        });
        Ok(Node {
            commands,
            messages: Mutex::new(messages),
            message_probe,
            signal,
            budget,
            budget_freed,
            session_id,
            local_addr,
            task: std::sync::Mutex::new(Some(task)),
            closed,
        })
    }

    /// The bound address (with the port the OS chose, when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The session id the node's packets carry (a new one after its packet ids wrap around).
    pub fn session_id(&self) -> u32 {
        self.session_id.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts delivering messages of `channel` to [`Node::recv`].
    pub async fn subscribe(&self, channel: &str) -> Result<(), Error> {
        self.ask(|reply| Command::Subscribe { channel: channel.into(), announce: None, reply }).await?
    }

    /// Subscribes and announces it with a SUBSCRIBE packet to `to` (a peer, or a broadcast
    /// address); nomq publishers answer with their retained messages for the channel.
    pub async fn subscribe_and_announce(
        &self,
        channel: &str,
        to: SocketAddr,
        priority: u8,
    ) -> Result<(), Error> {
        self.ask(|reply| Command::Subscribe {
            channel: channel.into(),
            announce: Some((to, priority)),
            reply,
        })
        .await?
    }

    /// Stops delivering `channel`; false when it was not subscribed. With `announce`, an
    /// UNSUBSCRIBE packet is sent there.
    pub async fn unsubscribe(&self, channel: &str, announce: Option<SocketAddr>) -> Result<bool, Error> {
        self.ask(|reply| Command::Unsubscribe { channel: channel.into(), announce, reply }).await?
    }

    /// Publishes and resolves when the QoS flow completes: QoS 0 once sent, QoS 1 on ACK, QoS 2
    /// on PUBCOMP. Unconfirmed within the ttl: [`Error::Expired`].
    pub async fn publish(
        &self,
        to: SocketAddr,
        channel: &str,
        payload: &[u8],
        options: PublishOptions,
    ) -> Result<(), Error> {
        let (reply, completion) = Reply::channel();
        let command =
            Command::Publish { to, channel: channel.into(), payload: payload.to_vec(), options, reply };
        self.commands.send(command).await.map_err(|_| Error::Closed)?;
        completion.await.map(drop)
    }

    /// Queues a publish from any thread, without a runtime context; `done` is called exactly
    /// once with the outcome, on the driver task (it may call into the node): when the QoS flow
    /// completes ([`PublishOutcome::Sent`] for QoS 0, [`PublishOutcome::Confirmed`] on ACK or
    /// PUBCOMP; [`Error::Expired`] when the ttl runs out first), or at once when the node is
    /// closed ([`Error::Closed`]). This is how bindings resolve their own futures without a
    /// task per publish. When the driver's command queue is full, the returned future
    /// finishes the queuing (backpressure): spawn or await it; `None` means queued.
    pub fn publish_with(
        &self,
        to: SocketAddr,
        channel: &str,
        payload: &[u8],
        options: PublishOptions,
        done: impl FnOnce(Result<PublishOutcome, Error>) + Send + 'static,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        match self.commands.try_send(publish_command(to, channel, payload, options, done)) {
            Ok(()) => None,
            // Dropping the command answers its reply with `Error::Closed` (see `Reply`).
            Err(TrySendError::Closed(command)) => {
                drop(command);
                None
            }
            Err(TrySendError::Full(command)) => {
                let commands = self.commands.clone();
                Some(async move {
                    // On failure the command comes back inside the error and is dropped with
                    // it: its reply answers `Error::Closed`.
                    let _ = commands.send(command).await;
                })
            }
        }
    }

    /// [`Node::publish_with`] for callers that cannot wait (a binding resolving futures from
    /// the driver): when the driver's command queue is full, `done` gets a queue-full error at
    /// once instead of a future to spawn, so memory stays bounded however many publishes are
    /// fired without being awaited.
    pub fn publish_or_refuse_with(
        &self,
        to: SocketAddr,
        channel: &str,
        payload: &[u8],
        options: PublishOptions,
        done: impl FnOnce(Result<PublishOutcome, Error>) + Send + 'static,
    ) {
        match self.commands.try_send(publish_command(to, channel, payload, options, done)) {
            Ok(()) => {}
            // Dropping the command answers its reply with `Error::Closed` (see `Reply`).
            Err(TrySendError::Closed(command)) => drop(command),
            Err(TrySendError::Full(Command::Publish { reply, .. })) => {
                reply.send(Err(Error::Proto(ResourceError::Full(Table::Commands).into())));
            }
            Err(TrySendError::Full(other)) => drop(other),
        }
    }

    /// Sends a HEARTBEAT to `to`.
    pub async fn heartbeat(&self, to: SocketAddr) -> Result<(), Error> {
        self.ask(|reply| Command::Heartbeat { to, reply }).await?
    }

    /// The next message on a subscribed channel; `None` once the node is closed.
    pub async fn recv(&self) -> Option<Message> {
        let m = self.messages.lock().await.recv().await?;
        self.taken(driver::size(&m));
        Some(m)
    }

    /// Waits for at least one message, then moves up to `limit` into `into`; 0 once the node
    /// is closed. One wake-up for a burst of messages.
    pub async fn recv_many(&self, into: &mut Vec<Message>, limit: usize) -> usize {
        let before = into.len();
        let n = self.messages.lock().await.recv_many(into, limit.max(1)).await;
        self.taken(into[before..].iter().map(driver::size).sum());
        n
    }

    /// The messages already waiting, up to `limit`, without waiting (none while another caller
    /// is receiving).
    pub fn try_recv_many(&self, into: &mut Vec<Message>, limit: usize) -> usize {
        let before = into.len();
        let n = crate::completion::take_waiting(&self.messages, into, limit);
        self.taken(into[before..].iter().map(driver::size).sum());
        n
    }

    /// The application took `size` bytes of messages: wake the driver if delivery waited.
    fn taken(&self, size: usize) {
        if size > 0 && self.budget.taken(size) {
            self.budget_freed.notify_one();
        }
    }

    /// Calls `ready` once, on the driver's or a caller's thread, as soon as messages wait for
    /// [`Node::recv`] (at once if some already do) or the node has closed; take them with
    /// [`Node::try_recv_many`]. This is how bindings wait for messages without a task, and so
    /// without a thread hop. Another receiver may take the messages first: find none, wait
    /// again. Dropping the returned [`MessageWait`] does not cancel; [`MessageWait::cancel`]
    /// does.
    pub fn when_messages(&self, ready: impl FnOnce() + Send + 'static) -> MessageWait {
        // Capacity below the maximum: messages (or reserved places) are in the channel. No
        // sender left: the driver has ended, which the signal knows already.
        let waiting = || self.message_probe.upgrade().is_some_and(|tx| tx.capacity() < tx.max_capacity());
        self.signal.when_messages(Box::new(ready), waiting)
    }

    /// Whether the node has stopped for good (after `close`).
    pub fn is_closed(&self) -> bool {
        self.signal.is_closed()
    }

    /// The endpoint's counters.
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.ask(|reply| Command::Stats { reply }).await
    }

    /// Stops the driver: pending publishes fail with [`Error::Closed`], `recv` returns `None`.
    pub async fn close(&self) {
        self.closed.notify_one();
        crate::handle::join(&self.task).await;
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        crate::handle::ask(&self.commands, make).await
    }
}

/// The driver's command for a publish whose outcome goes to `done`.
fn publish_command(
    to: SocketAddr,
    channel: &str,
    payload: &[u8],
    options: PublishOptions,
    done: impl FnOnce(Result<PublishOutcome, Error>) + Send + 'static,
) -> Command {
    Command::Publish {
        to,
        channel: channel.into(),
        payload: payload.to_vec(),
        options,
        reply: Reply::callback(done),
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.closed.notify_one();
    }
}
