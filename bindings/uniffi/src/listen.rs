//! Listeners: the application hands an implementation of [`MqttListener`] or
//! [`NodeListener`] to `listen`, and one task on nomq's runtime calls it for every message
//! (and, for MQTT, every change of the connection's state) until the returned [`Listening`]
//! is closed or dropped, which stops the task.
//!
//! The calls come one at a time, in order, from a nomq thread: a slow listener holds the next
//! message back, and past the client's bounded receive buffer the client stops reading the
//! connection (TCP, or the node's retransmissions, push back on the sender); nothing is
//! dropped. A listener and `recv` take from the same queue: use one or the other.

use std::sync::Mutex;

use tokio::task::JoinHandle;

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

/// A running listener: `close()` (or dropping it) stops the calls. The task ends between two
/// calls, never during one, and a message already taken is handed over first.
#[derive(Debug, uniffi::Object)]
pub struct Listening {
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Listening {
    pub(crate) fn new(task: JoinHandle<()>) -> Self {
        Listening { task: Mutex::new(Some(task)) }
    }
}

#[uniffi::export]
impl Listening {
    /// Stops the listener (also done when the object is destroyed).
    pub fn stop(&self) {
        if let Some(task) = self.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            task.abort();
        }
    }

    /// Whether the listener has stopped: by `stop`, or because its client or node closed.
    pub fn is_stopped(&self) -> bool {
        self.task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .is_none_or(JoinHandle::is_finished)
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop();
    }
}
