//! Listeners: the application hands an implementation of [`MqttListener`] or
//! [`NodeListener`] to `listen`, and a thread of the listener's own calls it for every message
//! (and, for MQTT, every change of the connection's state) until the returned [`Listening`] is
//! stopped.
//!
//! The listener's thread is not one of the runtime's: a callback may block, or call back into
//! the client and wait (`runBlocking { client.publish(...) }`), without holding up the
//! connections. The calls come one at a time, in order: a slow listener holds the next message
//! back, and past the client's bounded receive buffer the client stops reading the connection
//! (TCP, or the node's retransmissions, push back on the sender); nothing is dropped. A
//! callback that throws loses nothing else: the exception is dropped (uniffi reports it as a
//! panic, caught here) and the next message delivered. A listener and `recv` take from the
//! same queue: use one or the other.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::watch;

use crate::mqtt::{MqttConnectionState, MqttMessage};
use crate::node::NodeMessage;

/// Receives an MQTT client's messages and connection states.
#[uniffi::export(with_foreign)]
pub trait MqttListener: Send + Sync {
    /// A message of a subscription.
    fn on_message(&self, message: MqttMessage);
    /// The connection's new state (first call: the state when listening started).
    fn on_state(&self, state: MqttConnectionState);
}

/// Receives a NoMQ node's messages.
#[uniffi::export(with_foreign)]
pub trait NodeListener: Send + Sync {
    /// A message on a subscribed channel.
    fn on_message(&self, message: NodeMessage);
}

/// A running listener. `stop()` ends it: no callback starts after `stop()` returns, except for
/// the rest of a batch of messages already taken off the queue, which are handed over first
/// (they are nowhere else). Destroying the object stops it too: keep it while listening.
#[derive(Debug, uniffi::Object)]
pub struct Listening {
    stop: watch::Sender<bool>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The listener thread's side of [`Listening`].
pub(crate) struct Stop(watch::Receiver<bool>);

impl Stop {
    /// Resolves once `stop()` has been called.
    pub(crate) async fn requested(&mut self) {
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }

    pub(crate) fn is_requested(&self) -> bool {
        *self.0.borrow()
    }
}

impl Listening {
    /// Starts `body` on a thread of its own, named after what it listens to.
    pub(crate) fn spawn(name: &str, body: impl FnOnce(Stop) + Send + 'static) -> Self {
        let (stop, requested) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name(format!("nomq-listen-{name}"))
            .spawn(move || body(Stop(requested)))
            .ok();
        Listening { stop, thread: Mutex::new(thread) }
    }
}

/// Runs one callback into the application; a panic (a foreign exception) is contained.
pub(crate) fn deliver(callback: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(callback));
}

#[uniffi::export]
impl Listening {
    /// Stops the listener (also done when the object is destroyed). Does not wait for a
    /// callback in progress, so it may be called from inside one.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Whether the listener's thread has ended: after `stop()` once its last callback
    /// returned, or when its client or node closed.
    pub fn is_stopped(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop();
    }
}
