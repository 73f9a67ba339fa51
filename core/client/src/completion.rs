//! One completion model for both tokio drivers, [`Node`](crate::Node) and
//! [`mqtt::Client`](crate::mqtt::Client).
//!
//! - The outcome of one operation goes to a [`Reply`]: a channel whose receiving end is a
//!   [`Completion`] to await, or a callback. Bindings use the callback to resolve their own
//!   futures straight from the driver: no task per operation, no thread hop.
//! - Waiting for received messages works the same way: `when_messages` registers a callback
//!   ([`MessageWaiters`], or [`MessageSignal`] for a driver without a lock of its own), and the
//!   [`MessageWait`] it returns cancels it.
//!
//! Callbacks run outside the drivers' locks, so they may call into the node or client again.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::Error;

/// Where the outcome of one operation goes. It is answered exactly once: a reply dropped
/// unanswered (its driver stopped, or the command carrying it was never taken) answers
/// [`Error::Closed`], so a callback is never silently lost.
pub(crate) struct Reply<O>(Option<ReplyTo<O>>);

enum ReplyTo<O> {
    Channel(oneshot::Sender<Result<O, Error>>),
    Callback(Box<dyn FnOnce(Result<O, Error>) + Send>),
}

impl<O> Reply<O> {
    /// A reply awaited through the returned [`Completion`].
    pub(crate) fn channel() -> (Reply<O>, Completion<O>) {
        let (tx, rx) = oneshot::channel();
        (Reply(Some(ReplyTo::Channel(tx))), Completion(rx))
    }

    /// A reply that calls `done` with the outcome, on the thread that produces it.
    pub(crate) fn callback(done: impl FnOnce(Result<O, Error>) + Send + 'static) -> Reply<O> {
        Reply(Some(ReplyTo::Callback(Box::new(done))))
    }

    /// Answers with `outcome`. Runs a callback reply: call it outside any lock.
    pub(crate) fn send(mut self, outcome: Result<O, Error>) {
        if let Some(to) = self.0.take() {
            to.send(outcome);
        }
    }
}

impl<O> ReplyTo<O> {
    fn send(self, outcome: Result<O, Error>) {
        match self {
            // Nobody waits any more: nothing to do.
            ReplyTo::Channel(tx) => drop(tx.send(outcome)),
            ReplyTo::Callback(done) => done(outcome),
        }
    }
}

impl<O> Drop for Reply<O> {
    fn drop(&mut self) {
        if let Some(to) = self.0.take() {
            to.send(Err(Error::Closed));
        }
    }
}

/// The end of one queued operation: resolves with its outcome, or with [`Error::Closed`] when
/// the driver stopped first. Await it, or call [`Completion::wait`].
pub struct Completion<O>(oneshot::Receiver<Result<O, Error>>);

impl<O> Completion<O> {
    /// Resolves when the operation completes (the same as awaiting the completion).
    pub async fn wait(self) -> Result<O, Error> {
        self.await
    }
}

impl<O> Future for Completion<O> {
    type Output = Result<O, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // A reply is always answered (see `Reply`'s drop); a sender gone without an answer can
        // only be a driver torn down, which is a close too.
        Pin::new(&mut self.0).poll(cx).map(|answer| answer.unwrap_or(Err(Error::Closed)))
    }
}

impl<O> fmt::Debug for Completion<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Completion").finish_non_exhaustive()
    }
}

/// A registration of `when_messages` ([`Node::when_messages`](crate::Node::when_messages),
/// [`Client::when_messages`](crate::mqtt::Client::when_messages)).
#[derive(Debug, Clone)]
pub struct MessageWait(Arc<AtomicBool>);

impl MessageWait {
    /// No longer wanted: the callback is dropped uncalled.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Called once when messages wait for `recv`, or when the node or client has closed.
pub(crate) type MessagesReady = Box<dyn FnOnce() + Send>;

/// The `when_messages` callbacks still waiting for messages. They must live under the same lock
/// as the handing over of messages, so that a registration either sees the messages already
/// there or is seen by the next hand-over: no wake-up is lost. The callbacks given back are
/// called once that lock is released.
#[derive(Default)]
pub(crate) struct MessageWaiters(Vec<(MessageWait, MessagesReady)>);

impl MessageWaiters {
    /// Registers `ready`, or gives it back to be called at once when `now` (messages already
    /// wait, or closed). Registrations cancelled since are dropped here, so abandoned waits do
    /// not pile up between deliveries.
    pub(crate) fn register(
        &mut self,
        ready: MessagesReady,
        now: bool,
    ) -> (MessageWait, Option<MessagesReady>) {
        self.0.retain(|(wait, _)| !wait.is_cancelled());
        let wait = MessageWait(Arc::new(AtomicBool::new(false)));
        if now {
            return (wait, Some(ready));
        }
        self.0.push((wait.clone(), ready));
        (wait, None)
    }

    /// Moves every registration not cancelled into `due`: messages were handed over, or the
    /// driver closed.
    pub(crate) fn take_due(&mut self, due: &mut Vec<MessagesReady>) {
        due.extend(self.0.drain(..).filter(|(wait, _)| !wait.is_cancelled()).map(|(_, ready)| ready));
    }
}

/// [`MessageWaiters`] behind a lock of their own, with the closed state, for a driver that owns
/// its state alone ([`Node`](crate::Node)): the driver signals after each hand-over and at its
/// end; handles register from any thread.
#[derive(Default)]
pub(crate) struct MessageSignal(Mutex<SignalState>);

impl fmt::Debug for MessageSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageSignal").field("closed", &self.is_closed()).finish_non_exhaustive()
    }
}

#[derive(Default)]
struct SignalState {
    waiters: MessageWaiters,
    closed: bool,
}

impl MessageSignal {
    /// Calls `ready` once messages wait (`waiting` tells whether some already do; it is asked
    /// under the lock the driver signals under) or the driver has closed.
    pub(crate) fn when_messages(&self, ready: MessagesReady, waiting: impl FnOnce() -> bool) -> MessageWait {
        let (wait, now) = {
            let mut state = self.lock();
            let now = state.closed || waiting();
            state.waiters.register(ready, now)
        };
        if let Some(ready) = now {
            ready();
        }
        wait
    }

    /// The driver handed messages over: wakes every waiter.
    pub(crate) fn delivered(&self) {
        self.wake(false);
    }

    /// The driver has ended: wakes every waiter, and later registrations are called at once.
    pub(crate) fn close(&self) {
        self.wake(true);
    }

    /// Whether [`MessageSignal::close`] was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    fn wake(&self, close: bool) {
        let mut due = Vec::new();
        {
            let mut state = self.lock();
            state.closed |= close;
            state.waiters.take_due(&mut due);
        }
        for ready in due {
            ready();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SignalState> {
        // The state is a list and a flag: a panic elsewhere cannot leave it half-updated.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The messages already waiting in `receiver`, up to `limit`, moved into `into` without
/// waiting; none while another caller is receiving (it holds the lock). The `try_recv_many`
/// of both drivers.
pub(crate) fn take_waiting<M>(
    receiver: &tokio::sync::Mutex<tokio::sync::mpsc::Receiver<M>>,
    into: &mut Vec<M>,
    limit: usize,
) -> usize {
    let Ok(mut messages) = receiver.try_lock() else { return 0 };
    let before = into.len();
    while into.len() - before < limit {
        match messages.try_recv() {
            Ok(m) => into.push(m),
            Err(_) => break,
        }
    }
    into.len() - before
}
