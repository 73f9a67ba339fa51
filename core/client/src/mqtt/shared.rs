//! The client's state, shared by the handles and the driver task behind one short-held lock.
//!
//! Callers apply their requests to the session themselves and write the bytes it produces from
//! their own thread when the socket takes them (see [`Link`]). The driver task is woken only
//! for what needs waiting: a full socket, an earlier deadline, a failure, a stop. A publish on
//! an idle connection therefore costs one `send` on the caller's thread and no thread wake-up.
//!
//! Nothing runs application code under the lock: publish outcomes are collected and handed
//! over once it is released, so a completion callback may call into the client again.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use tokio::sync::{Notify, mpsc, oneshot};

use super::ack::{Ack, AckPacing};
use super::link::{Link, Received};
use super::{Authenticator, PublishReply};
use crate::Error;
use crate::completion::{MessageWait, MessageWaiters, MessagesReady};
use nomq_proto::error::{ResourceError, Table};
use nomq_proto::mqtt::session::{Disconnect, Event, Message, PublishId, PublishOutcome, RequestId, State};
use nomq_proto::mqtt::topic::topic_matches;
use nomq_proto::mqtt::{MqttError, ReasonCode, Session};

/// Publishes that may wait for outbox room before callers of `publish`/`enqueue` themselves
/// wait: memory stays bounded however fast the application publishes.
const WAITING_LIMIT: usize = 1024;
/// Reads per driver wake-up at most, so timers and writes are not starved.
const READS_PER_WAKE: usize = 4;

pub(super) type RequestReply = oneshot::Sender<Result<Vec<ReasonCode>, Error>>;
/// A subscription's own message stream, registered when its SUBACK arrives.
pub(super) type Stream = (String, mpsc::Sender<Message>);

pub(super) struct Shared {
    core: Mutex<Core>,
    /// Wakes the driver task (see [`Core::needs_driver`]).
    pub(super) driver: Notify,
    /// Wakes publishes waiting for a place in the queue of publishes waiting for room.
    pub(super) room: Notify,
}

/// What became of a publish handed to [`Core::publish`].
pub(super) enum Admission {
    /// In the session, waiting for room, or already answered (an error, a full outbox for
    /// `try_publish`).
    Taken,
    /// The queue of publishes waiting for room is full: wait on [`Shared::room`], retry.
    Full(Message, PublishReply),
    /// The client has stopped; the reply was not used.
    Closed(PublishReply),
}

/// Milliseconds on a monotonic clock, for the session's timers (keep alive, expiry): only
/// differences matter, and a step of the wall clock must neither fire nor stall them.
pub(super) fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    u64::try_from(EPOCH.get_or_init(Instant::now).elapsed().as_millis()).unwrap_or(u64::MAX)
}

pub(super) struct Core {
    /// The time of the current operation, read once per lock: reading the clock can cost a
    /// system call on virtual machines.
    pub(super) now: u64,
    pub(super) session: Session,
    pub(super) link: Option<Link>,
    publishes: HashMap<PublishId, PublishReply>,
    requests: HashMap<RequestId, (RequestReply, Option<Stream>)>,
    /// Publishes waiting for outbox room (policy Fail), in order.
    waiting: VecDeque<(Message, PublishReply)>,
    streams: Vec<Stream>,
    messages: mpsc::Sender<Message>,
    /// Messages the application has not taken yet; while any wait, the socket is not read.
    pub(super) undelivered: VecDeque<Message>,
    ready: Option<oneshot::Sender<Result<(), Error>>>,
    authenticator: Option<Authenticator>,
    /// An end of the connection the driver must report (refusal, failed authentication).
    pub(super) failure: Option<Error>,
    /// The session asked for a transport ([`Event::OpenTransport`]).
    open_requested: bool,
    /// `disconnect` was called or every handle is gone: the driver leaves.
    pub(super) stop: bool,
    /// The driver has ended: every call fails with [`Error::Closed`].
    pub(super) closed: bool,
    /// The deadline the driver's timer is armed for.
    pub(super) armed: Option<u64>,
    /// Bytes wait for the socket to drain: the driver waits for it to become writable.
    pub(super) write_blocked: bool,
    /// A caller's publish joined others in flight: the driver, awake for their acknowledgements
    /// anyway, writes it with them, one write for many and off the caller's thread (which, in
    /// Python, holds the GIL). A publish on an idle connection is written by its caller.
    pub(super) defer_write: bool,
    /// Whether the driver was already told about the current state (one wake per change).
    told: bool,
    /// Publish outcomes to hand over once the lock is released.
    finished: Vec<(PublishReply, Result<PublishOutcome, Error>)>,
    /// Waiting for messages in the `recv` channel (see [`super::Client::when_messages`]).
    message_waiters: MessageWaiters,
    /// Message waiters to call once the lock is released.
    woken: Vec<MessagesReady>,
    room_freed: bool,
    /// When our TCP ACK leaves while publishes are held back.
    pub(super) acks: AckPacing,
}

impl Shared {
    pub(super) fn new(
        session: Session,
        messages: mpsc::Sender<Message>,
        ready: oneshot::Sender<Result<(), Error>>,
        authenticator: Option<Authenticator>,
    ) -> Shared {
        let core = Core {
            now: now_ms(),
            session,
            link: None,
            publishes: HashMap::new(),
            requests: HashMap::new(),
            waiting: VecDeque::new(),
            streams: Vec::new(),
            messages,
            undelivered: VecDeque::new(),
            ready: Some(ready),
            authenticator,
            failure: None,
            open_requested: false,
            stop: false,
            closed: false,
            armed: None,
            write_blocked: false,
            defer_write: false,
            told: false,
            finished: Vec::new(),
            message_waiters: MessageWaiters::default(),
            woken: Vec::new(),
            room_freed: false,
            acks: AckPacing::default(),
        };
        Shared { core: Mutex::new(core), driver: Notify::new(), room: Notify::new() }
    }

    /// Reads the state without acting on it.
    pub(super) fn with<T>(&self, f: impl FnOnce(&mut Core) -> T) -> T {
        f(&mut self.lock())
    }

    /// Runs `f` on the core, then writes what the session produced, routes its events and hands
    /// messages over; outside the lock, delivers publish outcomes and wakes whoever must act.
    pub(super) fn act<T>(&self, f: impl FnOnce(&mut Core) -> T) -> T {
        let mut core = self.lock();
        core.now = now_ms();
        let result = f(&mut core);
        core.route_events();
        core.deliver();
        if !core.finished.is_empty() || !core.woken.is_empty() {
            // Outcomes and messages go out before the acknowledgements that `flush` writes: a
            // caller waiting for them does not also wait for a system call.
            let outside = core.outside();
            drop(core);
            outside.run();
            core = self.lock();
        }
        core.settle();
        let wake_driver = core.needs_driver();
        let room_freed = std::mem::take(&mut core.room_freed);
        let outside = core.outside();
        drop(core);
        outside.run();
        if wake_driver {
            self.driver.notify_one();
        }
        if room_freed {
            self.room.notify_waiters();
        }
        result
    }

    /// [`Shared::act`] for the driver task, which also writes what callers left to it.
    pub(super) fn drive<T>(&self, f: impl FnOnce(&mut Core) -> T) -> T {
        self.act(|core| {
            core.defer_write = false;
            f(core)
        })
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic under the lock cannot leave the session half-updated in a way that matters
        // more than stopping every handle would: keep serving.
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a change leaves to do once the lock is released: application code may run there.
struct Outside {
    finished: Vec<(PublishReply, Result<PublishOutcome, Error>)>,
    woken: Vec<MessagesReady>,
}

impl Outside {
    fn run(self) {
        for (reply, outcome) in self.finished {
            reply.send(outcome);
        }
        for ready in self.woken {
            ready();
        }
    }
}

impl Core {
    fn outside(&mut self) -> Outside {
        Outside { finished: std::mem::take(&mut self.finished), woken: std::mem::take(&mut self.woken) }
    }

    /// Calls `ready` once messages wait for `recv`, at once if some already do or the client
    /// has closed; a cancelled wait is dropped uncalled.
    pub(super) fn when_messages(&mut self, ready: MessagesReady) -> MessageWait {
        // Capacity below the maximum: messages (or reserved places) are in the channel.
        let now = self.closed || self.messages.capacity() < self.messages.max_capacity();
        let (wait, now) = self.message_waiters.register(ready, now);
        self.woken.extend(now);
        wait
    }

    fn wake_message_waiters(&mut self) {
        self.message_waiters.take_due(&mut self.woken);
    }

    /// Queues a publish: into the session when the outbox has room, else in order behind the
    /// publishes already waiting (`wait_for_room`) or refused as full (`try_publish`).
    pub(super) fn publish(
        &mut self,
        message: Message,
        reply: PublishReply,
        wait_for_room: bool,
    ) -> Admission {
        if self.closed {
            return Admission::Closed(reply);
        }
        if !self.waiting.is_empty() || !self.session.has_room(message.size()) {
            if !wait_for_room {
                // Fail fast, and never ahead of publishes that wait.
                let full = Error::Proto(ResourceError::Full(Table::Outbox).into());
                self.finished.push((reply, Err(full)));
                return Admission::Taken;
            }
            if self.waiting.len() >= WAITING_LIMIT {
                return Admission::Full(message, reply);
            }
            self.waiting.push_back((message, reply));
            return Admission::Taken;
        }
        self.enter(message, reply);
        // Only a publish that produced bytes needs a writer: one that waits in the outbox
        // (window full) is sent by the driver when acknowledgements free places. QoS 0 bursts
        // stay with their caller: measured from Python, handing them to the driver cost more
        // (completions crossing threads) than the `send` per message it saved.
        if self.session.inflight() > 1 && !self.session.transmit().is_empty() {
            self.defer_write = true;
        }
        Admission::Taken
    }

    fn enter(&mut self, message: Message, reply: PublishReply) {
        match self.session.publish(self.now, message) {
            Ok(id) => {
                self.publishes.insert(id, reply);
            }
            Err(e) => self.finished.push((reply, Err(e.into()))),
        }
    }

    /// Sends SUBSCRIBE; the SUBACK answers `reply` and then registers `stream`, if any.
    pub(super) fn subscribe(
        &mut self,
        filter: String,
        options: nomq_proto::mqtt::codec::SubscriptionOptions,
        stream: Option<mpsc::Sender<Message>>,
        reply: RequestReply,
    ) {
        if self.closed {
            let _ = reply.send(Err(Error::Closed));
            return;
        }
        match self.session.subscribe(self.now, vec![(filter.clone(), options)], None) {
            Ok(id) => {
                self.requests.insert(id, (reply, stream.map(|s| (filter, s))));
            }
            Err(e) => drop(reply.send(Err(e.into()))),
        }
    }

    /// Sends UNSUBSCRIBE; messages stop going to the filter's own stream at once.
    pub(super) fn unsubscribe(&mut self, filter: String, reply: RequestReply) {
        if self.closed {
            let _ = reply.send(Err(Error::Closed));
            return;
        }
        self.streams.retain(|(f, _)| *f != filter);
        match self.session.unsubscribe(self.now, vec![filter]) {
            Ok(id) => {
                self.requests.insert(id, (reply, None));
            }
            Err(e) => drop(reply.send(Err(e.into()))),
        }
    }

    /// Answers `connect` with `e` while it waits (true); later failures are logged and the
    /// driver reconnects (false).
    pub(super) fn fail_connect(&mut self, e: Error) -> bool {
        match self.ready.take() {
            Some(ready) => {
                let _ = ready.send(Err(e));
                true
            }
            None => {
                log::warn!("mqtt connection failed: {e}");
                false
            }
        }
    }

    /// Sends DISCONNECT when connected and tells the driver to leave.
    pub(super) fn stop(&mut self) {
        if !self.stop {
            let _ = self.session.disconnect(self.now, ReasonCode::SUCCESS);
            self.stop = true;
        }
    }

    /// Reads what the connection has into the session, up to `READS_PER_WAKE` buffers.
    pub(super) fn read(&mut self, buf: &mut [u8]) {
        // Bytes that arrived while the last ones were handled are taken too, so one write
        // answers them all; a socket known to be empty costs no system call.
        for _ in 0..READS_PER_WAKE {
            let Some(link) = &mut self.link else { return };
            match link.read(buf, &mut self.session, self.now) {
                Ok(Received::Data) => {
                    self.acks.read();
                    if !self.undelivered.is_empty() {
                        return;
                    }
                }
                Ok(Received::Empty) => return,
                Ok(Received::Closed) => return self.session.connection_lost(self.now),
                Err(e) => {
                    log::debug!("mqtt read: {e}");
                    if matches!(e, Error::Tls(_)) && self.ready.is_some() {
                        self.failure = Some(e);
                    }
                    return self.session.connection_lost(self.now);
                }
            }
        }
    }

    /// Writes what the session produced, unless the driver already waits for the socket.
    fn flush(&mut self) {
        if self.write_blocked || self.defer_write {
            return;
        }
        let Some(link) = &mut self.link else { return };
        if !self.session.transmit().is_empty() {
            self.acks.wrote();
        }
        match link.write(&mut self.session, self.now) {
            Ok(blocked) => self.write_blocked = blocked,
            Err(e) => {
                log::debug!("mqtt write: {e}");
                self.session.connection_lost(self.now);
            }
        }
    }

    /// After any change: write, route the session's events, hand messages over.
    fn settle(&mut self) {
        self.flush();
        self.route_events();
        // Events may have produced bytes (PUBREL, AUTH answers) or freed outbox room.
        self.flush();
        self.deliver();
        self.acknowledge_unanswered();
    }

    /// Reads left unanswered while publishes are held back are acknowledged now or by the
    /// driver's timer (see [`super::ack`]).
    fn acknowledge_unanswered(&mut self) {
        if self.acks.decide(&self.session) == Ack::Now {
            if let Some(link) = &self.link {
                link.acknowledge_now(false);
            }
        }
    }

    /// The driver's ACK timer fired.
    pub(super) fn acknowledge_late(&mut self) {
        if self.acks.fire() {
            if let Some(link) = &self.link {
                link.acknowledge_now(true);
            }
        }
    }

    /// Whether the driver must wake up: bytes wait for the socket, a deadline is earlier than
    /// its timer, the connection ended, or it should stop. Told once per change.
    fn needs_driver(&mut self) -> bool {
        let earlier = match (self.session.poll_timeout(), self.armed) {
            (Some(t), Some(armed)) => t < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let needed = self.write_blocked
            || self.defer_write
            || earlier
            || self.stop
            || self.failure.is_some()
            || self.open_requested
            || self.session.state() == State::Disconnected && self.link.is_some();
        let wake = needed && !self.told;
        self.told = needed;
        wake
    }

    /// Whether the session asked for a transport since the last call.
    pub(super) fn take_open_request(&mut self) -> bool {
        std::mem::take(&mut self.open_requested)
    }

    /// The driver took note of the state: the next change wakes it again.
    pub(super) fn noticed(&mut self) {
        self.told = false;
    }

    fn route_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::OpenTransport => self.open_requested = true,
                Event::Connected { session_present } => {
                    log::debug!("mqtt connected (session present: {session_present})");
                    if let Some(ready) = self.ready.take() {
                        let _ = ready.send(Ok(()));
                    }
                }
                Event::Disconnected(why) => {
                    log::debug!("mqtt disconnected: {why:?}");
                    // Before the first CONNACK, a connection that was opened ending is
                    // `connect`'s failure, not a reconnect (the driver reports its own errors
                    // for transports that never opened).
                    if self.ready.is_some() && self.failure.is_none() && self.link.is_some() {
                        self.failure = Some(connect_failure(why));
                    }
                }
                Event::Message(m) => self.undelivered.push_back(m),
                Event::PublishDone { id, outcome } => {
                    if let Some(reply) = self.publishes.remove(&id) {
                        let outcome = match outcome {
                            PublishOutcome::Expired => Err(Error::Expired),
                            other => Ok(other),
                        };
                        self.finished.push((reply, outcome));
                    }
                    self.unblock();
                }
                Event::Dropped { id } => {
                    if let Some(reply) = self.publishes.remove(&id) {
                        self.finished.push((reply, Err(Error::Dropped)));
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
                    let answer = match &self.authenticator {
                        Some(a) => a.respond(&data),
                        None => Err("the server sent a challenge and no authenticator is set".into()),
                    };
                    let sent = answer.and_then(|r| {
                        self.session
                            .auth(self.now, ReasonCode::CONTINUE_AUTHENTICATION, &r)
                            .map_err(|e| e.to_string())
                    });
                    if let Err(why) = sent {
                        self.failure = Some(Error::Auth(why));
                        self.session.connection_lost(self.now);
                    }
                }
                Event::AuthChallenge { reason, .. } => log::debug!("mqtt AUTH {reason}"),
            }
        }
    }

    /// Moves publishes waiting for room into the session, in order, as far as room allows.
    fn unblock(&mut self) {
        let before = self.waiting.len();
        while let Some((message, _)) = self.waiting.front() {
            if !self.session.has_room(message.size()) {
                break;
            }
            let Some((message, reply)) = self.waiting.pop_front() else { break };
            self.enter(message, reply);
        }
        if before >= WAITING_LIMIT && self.waiting.len() < WAITING_LIMIT {
            self.room_freed = true;
        }
    }

    /// The subscription stream whose filter matches, else the `recv` channel.
    pub(super) fn route(&self, m: &Message) -> &mpsc::Sender<Message> {
        self.streams.iter().find(|(f, _)| topic_matches(f, &m.topic)).map_or(&self.messages, |(_, s)| s)
    }

    /// Hands messages to their subscription streams or to `recv`, as far as they have room.
    fn deliver(&mut self) {
        let mut to_recv = false;
        while let Some(m) = self.undelivered.front() {
            let target = self.route(m).clone();
            match target.try_reserve() {
                Ok(permit) => {
                    if let Some(m) = self.undelivered.pop_front() {
                        to_recv |= target.same_channel(&self.messages);
                        permit.send(m);
                    }
                }
                Err(mpsc::error::TrySendError::Closed(())) => {
                    self.undelivered.pop_front();
                }
                Err(mpsc::error::TrySendError::Full(())) => break,
            }
        }
        if to_recv {
            self.wake_message_waiters();
        }
    }

    /// The driver has ended: everything still waiting fails with [`Error::Closed`].
    pub(super) fn close(&mut self) {
        self.closed = true;
        self.link = None;
        for (_, reply) in self.publishes.drain() {
            self.finished.push((reply, Err(Error::Closed)));
        }
        for (_, reply) in self.waiting.drain(..) {
            self.finished.push((reply, Err(Error::Closed)));
        }
        for (_, (reply, _)) in self.requests.drain() {
            let _ = reply.send(Err(Error::Closed));
        }
        // Dropping the senders ends `recv` and every subscription stream.
        self.streams.clear();
        self.undelivered.clear();
        self.messages = mpsc::channel(1).0;
        self.wake_message_waiters();
        self.room_freed = true;
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(Error::Closed));
        }
    }
}

/// Why a first connection that reached the server did not come up.
fn connect_failure(why: Disconnect) -> Error {
    match why {
        Disconnect::ProtocolError(e) => Error::Proto(e.into()),
        Disconnect::Refused(reason) | Disconnect::ByServer(reason) => {
            Error::Proto(MqttError::Protocol(refusal(reason)).into())
        }
        Disconnect::ConnectTimeout => {
            Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "no CONNACK in time"))
        }
        Disconnect::KeepAliveTimeout | Disconnect::TransportClosed | Disconnect::ByClient => Error::Io(
            std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "connection closed before CONNACK"),
        ),
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
