//! What the handles of the tokio drivers share: a request and its reply over the driver's command
//! channel (`Node`; `mqtt::Client` acts on its shared state instead), and waiting for the driver
//! task to end (both).

use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::Error;

/// Sends the command `make` builds around a reply slot and waits for the reply; a driver that
/// has stopped answers [`Error::Closed`].
pub(crate) async fn ask<C, T>(
    commands: &mpsc::Sender<C>,
    make: impl FnOnce(oneshot::Sender<T>) -> C,
) -> Result<T, Error> {
    let (reply, answer) = oneshot::channel();
    commands.send(make(reply)).await.map_err(|_| Error::Closed)?;
    answer.await.map_err(|_| Error::Closed)
}

/// Waits for the driver task once (later calls return at once).
pub(crate) async fn join(task: &Mutex<Option<JoinHandle<()>>>) {
    let task = task.lock().ok().and_then(|mut t| t.take());
    if let Some(task) = task {
        let _ = task.await;
    }
}
