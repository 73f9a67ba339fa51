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
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use tokio::sync::futures::Notified;
use tokio::sync::{Notify, mpsc, oneshot, watch};

use super::ack::{Ack, AckPacing};
use super::link::{Link, Received};
use super::{Authenticator, ConnectionState, PublishReply};
use crate::budget::HandedBytes;
use crate::completion::{MessageWait, MessageWaiters, MessagesReady};
use crate::{Error, Refused};
use nomq_proto::error::{ResourceError, Table};
use nomq_proto::mqtt::session::{
    Disconnect, Event, Message, Metrics, PublishId, PublishOutcome, RequestId, State,
};
use nomq_proto::mqtt::topic::topic_matches;
use nomq_proto::mqtt::{ReasonCode, Session};

/// Publishes that may wait for outbox room before callers of `publish`/`enqueue` themselves
/// wait: memory stays bounded however fast the application publishes.
const WAITING_LIMIT: usize = 1024;
/// Reads per driver wake-up at most, so timers and writes are not starved.
const READS_PER_WAKE: usize = 4;

type RequestReply = oneshot::Sender<Result<Vec<ReasonCode>, Error>>;
/// A subscription's own message stream, registered when its SUBACK arrives.
type Stream = (String, mpsc::Sender<Message>);

pub(super) struct Shared {
    core: Mutex<Core>,
    /// Wakes the driver task (see [`Core::needs_driver`]).
    driver: Notify,
    /// Wakes publishes waiting for a place in the queue of publishes waiting for room.
    room: Notify,
}

/// What became of a publish handed to [`Core::publish`].
pub(super) enum Admission {
    /// In the session, waiting for room, or already answered (an error, a full outbox for
    /// `try_publish`).
    Taken,
    /// The queue of publishes waiting for room is full: [`Shared::queue`] waits and retries.
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

/// The session, the connection and everything waiting on them. Its fields are private: callers
/// and the driver go through methods, so that every change ends with [`Core::propagate`] (run
/// by [`Shared::update`]) and no output or wake-up is forgotten.
pub(super) struct Core {
    /// The time of the current operation, read once per lock: reading the clock can cost a
    /// system call on virtual machines.
    now: u64,
    session: Session,
    link: Option<Link>,
    publishes: HashMap<PublishId, PublishReply>,
    requests: HashMap<RequestId, (RequestReply, Option<Stream>)>,
    /// Publishes waiting for outbox room (policy Fail), in order, and their bytes.
    waiting: VecDeque<(Message, PublishReply)>,
    waiting_bytes: usize,
    streams: Vec<Stream>,
    messages: mpsc::Sender<Message>,
    /// Messages the application has not taken yet; while any wait, the socket is not read.
    undelivered: VecDeque<Message>,
    /// Bytes handed over and not taken yet (shared with the receiving handles).
    handed: Arc<HandedBytes>,
    ready: Option<oneshot::Sender<Result<(), Error>>>,
    authenticator: Option<Authenticator>,
    /// An end of the connection the driver must report (refusal, failed authentication).
    failure: Option<Error>,
    /// The session asked for a transport ([`Event::OpenTransport`]).
    open_requested: bool,
    /// `disconnect` was called or every handle is gone: the driver leaves.
    stop_requested: bool,
    /// The driver has ended: every call fails with [`Error::Closed`].
    closed: bool,
    /// The deadline the driver's timer is armed for.
    timer_deadline: Option<u64>,
    /// Bytes wait for the socket to drain: the driver waits for it to become writable.
    write_blocked: bool,
    /// A caller's publish joined others in flight: the driver, awake for their acknowledgements
    /// anyway, writes it with them, one write for many and off the caller's thread (which, in
    /// Python, holds the GIL). A publish on an idle connection is written by its caller.
    defer_write: bool,
    /// The driver was notified of the current state and has not looked at it yet: one wake-up
    /// per change, not one per operation (see [`Core::needs_driver`]).
    driver_notified: bool,
    /// Publish outcomes to hand over once the lock is released.
    outcomes: Vec<(PublishReply, Result<PublishOutcome, Error>)>,
    /// Waiting for messages in the `recv` channel (see [`super::Client::when_messages`]).
    message_waiters: MessageWaiters,
    /// Message waiters to call once the lock is released.
    messages_ready: Vec<MessagesReady>,
    /// Log records to emit once the lock is released: a logger is application code (the
    /// Python one waits for the GIL) and must never run under the lock.
    logs: Vec<(log::Level, String)>,
    /// Enhanced-authentication challenges to answer with the lock released (the
    /// authenticator is application code too).
    challenges: Vec<Vec<u8>>,
    room_freed: bool,
    /// When our TCP ACK leaves while publishes are held back.
    ack_pacing: AckPacing,
    /// The connection's state, for [`super::Client::state`] and its watchers. `send_replace`
    /// only stores and wakes: nothing of the application's runs under the lock.
    state: watch::Sender<ConnectionState>,
}

impl Shared {
    pub(super) fn new(
        session: Session,
        messages: mpsc::Sender<Message>,
        ready: oneshot::Sender<Result<(), Error>>,
        authenticator: Option<Authenticator>,
        handed: Arc<HandedBytes>,
        state: watch::Sender<ConnectionState>,
    ) -> Shared {
        let core = Core {
            now: now_ms(),
            session,
            link: None,
            publishes: HashMap::new(),
            requests: HashMap::new(),
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            streams: Vec::new(),
            messages,
            undelivered: VecDeque::new(),
            handed,
            ready: Some(ready),
            authenticator,
            failure: None,
            open_requested: false,
            stop_requested: false,
            closed: false,
            timer_deadline: None,
            write_blocked: false,
            defer_write: false,
            driver_notified: false,
            outcomes: Vec::new(),
            message_waiters: MessageWaiters::default(),
            messages_ready: Vec::new(),
            logs: Vec::new(),
            challenges: Vec::new(),
            room_freed: false,
            ack_pacing: AckPacing::default(),
            state,
        };
        Shared { core: Mutex::new(core), driver: Notify::new(), room: Notify::new() }
    }

    /// Reads the state.
    pub(super) fn peek<T>(&self, f: impl FnOnce(&Core) -> T) -> T {
        f(&self.lock())
    }

    /// Runs `f` under the lock and nothing more: for the driver's own bookkeeping (its timer,
    /// its wake-ups, taking a request or a failure, closing the link), which changes nothing
    /// the session produces and so needs no [`Core::propagate`].
    pub(super) fn bookkeep<T>(&self, f: impl FnOnce(&mut Core) -> T) -> T {
        let mut core = self.lock();
        let result = f(&mut core);
        let logs = std::mem::take(&mut core.logs);
        drop(core);
        emit(logs);
        result
    }

    /// Applies a change with `f`, then writes what the session produced, routes its events and
    /// hands messages over; outside the lock, delivers publish outcomes and wakes whoever must
    /// act.
    pub(super) fn update<T>(&self, f: impl FnOnce(&mut Core) -> T) -> T {
        let mut core = self.lock();
        core.now = now_ms();
        let result = f(&mut core);
        core.route_events();
        // The authenticator runs with the lock released; its answers go back under it.
        while !core.challenges.is_empty() {
            let challenges = std::mem::take(&mut core.challenges);
            let authenticator = core.authenticator.clone();
            drop(core);
            let answers: Vec<_> = challenges
                .iter()
                .map(|challenge| match &authenticator {
                    Some(a) => a.respond(challenge),
                    None => Err("the server sent a challenge and no authenticator is set".into()),
                })
                .collect();
            core = self.lock();
            core.now = now_ms();
            core.answer_challenges(answers);
            core.route_events();
        }
        core.deliver();
        // Not reading while messages wait for the application: a PINGRESP may sit unread.
        let paused = !core.undelivered.is_empty();
        core.session.set_reading_paused(paused);
        if !core.outcomes.is_empty() || !core.messages_ready.is_empty() {
            // Outcomes and messages go out before the acknowledgements that `flush` writes: a
            // caller waiting for them does not also wait for a system call.
            let after = core.take_after_unlock();
            drop(core);
            after.run();
            core = self.lock();
        }
        core.propagate();
        let wake_driver = core.needs_driver();
        let room_freed = std::mem::take(&mut core.room_freed);
        let after = core.take_after_unlock();
        drop(core);
        after.run();
        if wake_driver {
            self.driver.notify_one();
        }
        if room_freed {
            self.room.notify_waiters();
        }
        result
    }

    /// [`Shared::update`] for the driver task, which also writes what callers left to it.
    pub(super) fn update_by_driver<T>(&self, f: impl FnOnce(&mut Core) -> T) -> T {
        self.update(|core| {
            core.defer_write = false;
            f(core)
        })
    }

    /// Wakes the driver: the application took messages delivery waited for (see
    /// [`HandedBytes::taken`]).
    pub(super) fn wake_driver(&self) {
        self.driver.notify_one();
    }

    /// Resolves when a caller wakes the driver (see [`Core::needs_driver`]).
    pub(super) fn driver_wake_up(&self) -> Notified<'_> {
        self.driver.notified()
    }

    /// Queues a publish, waiting while the queue of publishes waiting for room is full; gives
    /// the reply back when the client has stopped.
    pub(super) async fn queue(
        &self,
        mut message: Message,
        mut reply: PublishReply,
    ) -> Result<(), PublishReply> {
        loop {
            // Registered before trying, so room freed in between is not missed.
            let room = self.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            match self.update(|core| core.publish(message, reply, true)) {
                Admission::Taken => return Ok(()),
                Admission::Closed(r) => return Err(r),
                Admission::Full(m, r) => (message, reply) = (m, r),
            }
            room.await;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        // A panic under the lock cannot leave the session half-updated in a way that matters
        // more than stopping every handle would: keep serving.
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a change leaves to do once the lock is released: application code (completion
/// callbacks, message waiters) may run there, and may call into the client again.
struct AfterUnlock {
    outcomes: Vec<(PublishReply, Result<PublishOutcome, Error>)>,
    messages_ready: Vec<MessagesReady>,
    logs: Vec<(log::Level, String)>,
}

impl AfterUnlock {
    fn run(self) {
        emit(self.logs);
        for (reply, outcome) in self.outcomes {
            reply.send(outcome);
        }
        for ready in self.messages_ready {
            ready();
        }
    }
}

/// Emits log records kept while the lock was held.
fn emit(logs: Vec<(log::Level, String)>) {
    for (level, message) in logs {
        log::log!(level, "{message}");
    }
}

impl Core {
    fn take_after_unlock(&mut self) -> AfterUnlock {
        AfterUnlock {
            outcomes: std::mem::take(&mut self.outcomes),
            messages_ready: std::mem::take(&mut self.messages_ready),
            logs: std::mem::take(&mut self.logs),
        }
    }

    /// Keeps a log record for after the lock (formatted only when the level is enabled).
    fn log(&mut self, level: log::Level, message: impl FnOnce() -> String) {
        if level <= log::max_level() {
            self.logs.push((level, message()));
        }
    }

    /// Sends the authenticator's answers, in order; a refusal ends the connection with
    /// [`Error::Auth`]. Answers for a connection that has ended meanwhile are dropped.
    fn answer_challenges(&mut self, answers: Vec<Result<Vec<u8>, String>>) {
        for answer in answers {
            if !self.session.state().has_transport() {
                return;
            }
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
    }

    /// Whether the driver has ended: every call fails with [`Error::Closed`].
    pub(super) fn is_closed(&self) -> bool {
        self.closed
    }

    /// The session's counters and gauges; [`Error::Closed`] once the driver has ended.
    pub(super) fn metrics(&self) -> Result<Metrics, Error> {
        if self.closed { Err(Error::Closed) } else { Ok(self.session.metrics()) }
    }

    /// Calls `ready` once messages wait for `recv`, at once if some already do or the client
    /// has closed; a cancelled wait is dropped uncalled.
    pub(super) fn when_messages(&mut self, ready: MessagesReady) -> MessageWait {
        // Capacity below the maximum: messages (or reserved places) are in the channel.
        let now = self.closed || self.messages.capacity() < self.messages.max_capacity();
        let (wait, now) = self.message_waiters.register(ready, now);
        self.messages_ready.extend(now);
        wait
    }

    fn wake_message_waiters(&mut self) {
        self.message_waiters.take_due(&mut self.messages_ready);
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
        if message.size() > self.session.config().max_outbox_bytes {
            // It could never fit: the session refuses it now, rather than after a wait for
            // room that would never come.
            self.enter_session(message, reply);
            return Admission::Taken;
        }
        if !self.waiting.is_empty() || !self.session.has_room(message.size()) {
            if !wait_for_room {
                // Fail fast, and never ahead of publishes that wait.
                let full = Error::Proto(ResourceError::Full(Table::Outbox).into());
                self.outcomes.push((reply, Err(full)));
                return Admission::Taken;
            }
            // Bounded in count and in bytes (the outbox's own byte bound, again).
            if self.waiting.len() >= WAITING_LIMIT
                || self.waiting_bytes + message.size() > self.session.config().max_outbox_bytes
            {
                return Admission::Full(message, reply);
            }
            self.waiting_bytes += message.size();
            self.waiting.push_back((message, reply));
            return Admission::Taken;
        }
        self.enter_session(message, reply);
        // Only a publish that produced bytes needs a writer: one that waits in the outbox
        // (window full) is sent by the driver when acknowledgements free places. QoS 0 bursts
        // stay with their caller: measured from Python, handing them to the driver cost more
        // (completions crossing threads) than the `send` per message it saved.
        if self.session.inflight() > 1 && !self.session.transmit().is_empty() {
            self.defer_write = true;
        }
        Admission::Taken
    }

    fn enter_session(&mut self, message: Message, reply: PublishReply) {
        match self.session.publish(self.now, message) {
            Ok(id) => {
                self.publishes.insert(id, reply);
            }
            Err(e) => self.outcomes.push((reply, Err(e.into()))),
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
                self.log(log::Level::Warn, || format!("mqtt connection failed: {e}"));
                false
            }
        }
    }

    /// Sends DISCONNECT when connected and tells the driver to leave.
    pub(super) fn stop(&mut self) {
        if !self.stop_requested {
            let _ = self.session.disconnect(self.now, ReasonCode::SUCCESS);
            self.stop_requested = true;
        }
    }

    // The driver's side: what it does to the session, the connection and its timers.

    /// Starts the session: it asks for its first transport.
    pub(super) fn start_session(&mut self) {
        self.session.start(self.now);
    }

    /// Whether the driver should leave rather than wait for the next connection: a stop was
    /// asked, or the session will not reconnect.
    pub(super) fn should_stop(&self) -> bool {
        self.stop_requested || self.session.is_idle()
    }

    /// The session's next deadline (connect, keep alive, retry, backoff).
    pub(super) fn next_deadline(&self) -> Option<u64> {
        self.session.poll_timeout()
    }

    /// Runs the session's timers that are due.
    pub(super) fn run_timers(&mut self) {
        self.session.handle_timeout(self.now);
    }

    /// The connection failed or ended: the session decides whether and when to reconnect.
    pub(super) fn connection_lost(&mut self) {
        self.session.connection_lost(self.now);
    }

    /// Takes `link` as the connection and sends CONNECT over it.
    pub(super) fn connect_over(&mut self, link: Link) -> Result<(), Error> {
        self.link = Some(link);
        self.write_blocked = false;
        self.session.connect(self.now).map_err(Error::from)
    }

    /// The time until the session's next deadline when the driver's timer must be re-armed
    /// for it (it is earlier than the armed one). The keep-alive deadline moves with every
    /// write; firing a little early costs one `handle_timeout` that does nothing, while a new
    /// timer per loop turn would cost a timer-wheel insert and cancel per message.
    pub(super) fn rearm_timer(&mut self) -> Option<u64> {
        match self.session.poll_timeout() {
            Some(t) if self.timer_deadline.is_none_or(|armed| t < armed) => {
                self.timer_deadline = Some(t);
                Some(t.saturating_sub(now_ms()))
            }
            Some(_) => None,
            None => {
                self.timer_deadline = None;
                None
            }
        }
    }

    /// Whether the driver's timer is armed for a deadline.
    pub(super) fn timer_armed(&self) -> bool {
        self.timer_deadline.is_some()
    }

    /// The driver's timer fired: it is disarmed, and the session's due timers run.
    pub(super) fn timer_fired(&mut self) {
        self.timer_deadline = None;
        self.run_timers();
    }

    /// Whether the socket may be read: not while messages wait for the application
    /// (backpressure reaches the server through TCP).
    pub(super) fn can_read(&self) -> bool {
        self.undelivered.is_empty()
    }

    /// The stream whose room the oldest undelivered message waits for.
    pub(super) fn stream_awaited(&self) -> Option<mpsc::Sender<Message>> {
        self.undelivered.front().map(|m| self.stream_for(m).clone())
    }

    /// Whether bytes wait for the socket to drain.
    pub(super) fn write_blocked(&self) -> bool {
        self.write_blocked
    }

    /// The socket has drained: writing resumes (in the [`Shared::update`] that calls this).
    pub(super) fn socket_writable(&mut self) {
        self.write_blocked = false;
    }

    /// Whether DISCONNECT or other last bytes still wait to leave on an open link.
    pub(super) fn bytes_left_to_write(&self) -> bool {
        self.write_blocked && self.link.is_some()
    }

    /// Closes the link, if any; nothing is left to write.
    pub(super) fn close_link(&mut self) {
        if let Some(mut link) = self.link.take() {
            link.close();
        }
        self.write_blocked = false;
    }

    /// `Some` once the current connection is over: a failure to report, or the session
    /// disconnected.
    pub(super) fn take_end_of_connection(&mut self) -> Option<Result<(), Error>> {
        if let Some(e) = self.failure.take() {
            return Some(Err(e));
        }
        (self.session.state() == State::Disconnected).then_some(Ok(()))
    }

    /// Whether an ACK waits for the driver's ACK timer (see [`super::ack`]).
    pub(super) fn ack_owed(&self) -> bool {
        self.ack_pacing.owed()
    }

    /// Reads what the connection has into the session, up to `READS_PER_WAKE` buffers.
    pub(super) fn read_socket(&mut self, buf: &mut [u8]) {
        // Bytes that arrived while the last ones were handled are taken too, so one write
        // answers them all; a socket known to be empty costs no system call.
        for _ in 0..READS_PER_WAKE {
            let Some(link) = &mut self.link else { return };
            match link.read(buf, &mut self.session, self.now) {
                Ok(Received::Data) => {
                    self.ack_pacing.read();
                    if !self.undelivered.is_empty() {
                        return;
                    }
                }
                Ok(Received::Empty) => return,
                Ok(Received::Closed) => return self.session.connection_lost(self.now),
                Err(e) => {
                    self.log(log::Level::Debug, || format!("mqtt read: {e}"));
                    if matches!(e, Error::Tls(_)) && self.ready.is_some() {
                        self.failure = Some(e);
                    }
                    return self.session.connection_lost(self.now);
                }
            }
        }
    }

    /// Writes what the session produced, unless the driver already waits for the socket or a
    /// caller left the write to it (`defer_write`).
    fn flush(&mut self) {
        if self.write_blocked || self.defer_write {
            return;
        }
        let Some(link) = &mut self.link else { return };
        if !self.session.transmit().is_empty() {
            self.ack_pacing.wrote();
        }
        match link.write(&mut self.session, self.now) {
            Ok(blocked) => self.write_blocked = blocked,
            Err(e) => {
                self.log(log::Level::Debug, || format!("mqtt write: {e}"));
                self.session.connection_lost(self.now);
            }
        }
    }

    /// Carries a change through: writes what the session produced, routes its events, writes
    /// again (events may have produced bytes, such as PUBREL or AUTH answers, or freed outbox
    /// room for waiting publishes), hands messages over and decides about the TCP ACK.
    fn propagate(&mut self) {
        self.flush();
        self.route_events();
        self.flush();
        self.deliver();
        self.acknowledge_unanswered();
    }

    /// Reads left unanswered while publishes are held back are acknowledged now or by the
    /// driver's timer (see [`super::ack`]).
    fn acknowledge_unanswered(&mut self) {
        if self.ack_pacing.decide(&self.session) == Ack::Now {
            if let Some(Err(e)) = self.link.as_ref().map(|link| link.acknowledge_now(false)) {
                self.log(log::Level::Debug, || format!("mqtt: TCP_QUICKACK: {e}"));
            }
        }
    }

    /// The driver's ACK timer fired.
    pub(super) fn acknowledge_late(&mut self) {
        if self.ack_pacing.fire() {
            if let Some(Err(e)) = self.link.as_ref().map(|link| link.acknowledge_now(true)) {
                self.log(log::Level::Debug, || format!("mqtt: TCP_QUICKACK: {e}"));
            }
        }
    }

    /// Whether the driver must wake up: bytes wait for the socket, a deadline is earlier than
    /// its timer, the connection ended, or it should stop. Notified once per change: until the
    /// driver looks ([`Core::driver_caught_up`]), later changes need no second notification.
    fn needs_driver(&mut self) -> bool {
        let earlier = match (self.session.poll_timeout(), self.timer_deadline) {
            (Some(t), Some(armed)) => t < armed,
            (Some(_), None) => true,
            (None, _) => false,
        };
        let needed = self.write_blocked
            || self.defer_write
            || earlier
            || self.stop_requested
            || self.failure.is_some()
            || self.open_requested
            || self.session.state() == State::Disconnected && self.link.is_some();
        let wake = needed && !self.driver_notified;
        self.driver_notified = needed;
        wake
    }

    /// Whether the session asked for a transport since the last call.
    pub(super) fn take_open_request(&mut self) -> bool {
        std::mem::take(&mut self.open_requested)
    }

    /// The driver is looking at the state now: the next change must notify it again.
    pub(super) fn driver_caught_up(&mut self) {
        self.driver_notified = false;
    }

    fn route_events(&mut self) {
        while let Some(event) = self.session.poll_event() {
            match event {
                Event::OpenTransport => self.open_requested = true,
                Event::Connected { session_present } => {
                    self.log(log::Level::Debug, || {
                        format!("mqtt connected (session present: {session_present})")
                    });
                    // The state first: `connect` returns as soon as `ready` fires, and its
                    // caller must find the client connected.
                    self.state.send_replace(ConnectionState::Connected { session_present });
                    if let Some(ready) = self.ready.take() {
                        let _ = ready.send(Ok(()));
                    }
                }
                Event::Disconnected(why) => {
                    self.log(log::Level::Debug, || format!("mqtt disconnected: {why:?}"));
                    // Before the first CONNACK, a connection that was opened ending is
                    // `connect`'s failure, not a reconnect (the driver reports its own errors
                    // for transports that never opened).
                    if self.ready.is_some() && self.failure.is_none() && self.link.is_some() {
                        self.failure = Some(connect_failure(why));
                    }
                    // Not for our own disconnect, nor when no reconnection will follow (the
                    // driver then closes, and the state becomes `Closed`).
                    if !self.stop_requested && self.session.config().reconnect.enabled {
                        self.state.send_replace(ConnectionState::Reconnecting);
                    }
                }
                Event::Message(m) => self.undelivered.push_back(m),
                Event::PublishDone { id, outcome } => {
                    if let Some(reply) = self.publishes.remove(&id) {
                        let outcome = match outcome {
                            PublishOutcome::Expired => Err(Error::Expired),
                            other => Ok(other),
                        };
                        self.outcomes.push((reply, outcome));
                    }
                    self.admit_waiting();
                }
                Event::Dropped { id } => {
                    if let Some(reply) = self.publishes.remove(&id) {
                        self.outcomes.push((reply, Err(Error::Dropped)));
                    }
                }
                Event::Subscribed { id, reasons } => {
                    if let Some((reply, stream)) = self.requests.remove(&id) {
                        let outcome = refused_if_failed(Refused::Subscribe, reasons);
                        if let (Ok(_), Some(stream)) = (&outcome, stream) {
                            // A dropped stream for the same filter must not shadow the new one.
                            self.streams.retain(|(_, s)| !s.is_closed());
                            self.streams.push(stream);
                        }
                        let _ = reply.send(outcome);
                    }
                }
                Event::Unsubscribed { id, reasons } => {
                    if let Some((reply, _)) = self.requests.remove(&id) {
                        let _ = reply.send(refused_if_failed(Refused::Unsubscribe, reasons));
                    }
                }
                Event::AuthChallenge { reason: ReasonCode::CONTINUE_AUTHENTICATION, data } => {
                    self.challenges.push(data);
                }
                Event::AuthChallenge { reason, .. } => {
                    self.log(log::Level::Debug, || format!("mqtt AUTH {reason}"))
                }
            }
        }
    }

    /// Moves publishes waiting for room into the session, in order, as far as room allows.
    fn admit_waiting(&mut self) {
        let before = self.waiting.len();
        while let Some((message, _)) = self.waiting.front() {
            if !self.session.has_room(message.size()) {
                break;
            }
            let Some((message, reply)) = self.waiting.pop_front() else { break };
            self.waiting_bytes -= message.size();
            self.enter_session(message, reply);
        }
        // Whatever left the line freed count and bytes: publishes refused for either retry.
        if self.waiting.len() < before {
            self.room_freed = true;
        }
    }

    /// The subscription stream whose filter matches, else the `recv` channel.
    fn stream_for(&self, m: &Message) -> &mpsc::Sender<Message> {
        self.streams.iter().find(|(f, _)| topic_matches(f, &m.topic)).map_or(&self.messages, |(_, s)| s)
    }

    /// Hands messages to their subscription streams or to `recv`, as far as they have room.
    fn deliver(&mut self) {
        let mut to_recv = false;
        while let Some(m) = self.undelivered.front() {
            if !self.handed.admits(m.size()) {
                break;
            }
            let target = self.stream_for(m).clone();
            match target.try_reserve() {
                Ok(permit) => {
                    if let Some(m) = self.undelivered.pop_front() {
                        to_recv |= target.same_channel(&self.messages);
                        self.handed.handed(m.size());
                        permit.send(m);
                    }
                }
                Err(mpsc::error::TrySendError::Closed(())) => {
                    if target.same_channel(&self.messages) {
                        // Nobody receives any more (the client is closing).
                        self.undelivered.pop_front();
                    } else {
                        // A dropped `Subscription`: its filter's messages go to the next
                        // match, or to `recv`, from now on; this one is routed again.
                        self.streams.retain(|(_, s)| !s.is_closed());
                    }
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
        self.state.send_replace(ConnectionState::Closed);
        self.link = None;
        for (_, reply) in self.publishes.drain() {
            self.outcomes.push((reply, Err(Error::Closed)));
        }
        self.waiting_bytes = 0;
        for (_, reply) in self.waiting.drain(..) {
            self.outcomes.push((reply, Err(Error::Closed)));
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
            Error::Refused(Refused::Connect, reason)
        }
        Disconnect::ConnectTimeout => {
            Error::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "no CONNACK in time"))
        }
        Disconnect::KeepAliveTimeout | Disconnect::TransportClosed | Disconnect::ByClient => Error::Io(
            std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "connection closed before CONNACK"),
        ),
    }
}

/// A SUBACK or UNSUBACK answer: the reason codes, or the refusal when one is a failure
/// (0x80 or above; one filter per request).
fn refused_if_failed(what: Refused, reasons: Vec<ReasonCode>) -> Result<Vec<ReasonCode>, Error> {
    match reasons.iter().find(|r| r.is_error()) {
        Some(&reason) => Err(Error::Refused(what, reason)),
        None => Ok(reasons),
    }
}
