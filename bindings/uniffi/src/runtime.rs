//! The tokio runtime every client and node of the process runs on.
//!
//! Two worker threads: drivers mostly wait on sockets and timers. No application code runs on
//! them (listeners have threads of their own, `crate::listen`). Exported async functions that
//! need tokio (binding a socket, spawning a driver) run there through [`on_runtime`]; the rest
//! answer through oneshots and channels, which any executor can await.

use std::future::Future;
use std::sync::OnceLock;

use nomq_proto::ErrorKind;
use tokio::runtime::Runtime;

use crate::NomqError;

pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("nomq")
            .enable_all()
            .build()
            .expect("the nomq runtime: a thread could not be started")
    })
}

/// Runs `work` on the runtime; the caller (a uniffi future polled by the foreign side) only
/// awaits its end. A panic in `work` comes back as [`ErrorKind::Panic`].
pub(crate) async fn on_runtime<T, F>(work: F) -> Result<T, NomqError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, NomqError>> + Send + 'static,
{
    match runtime().spawn(work).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => {
            Err(NomqError::new(ErrorKind::Panic, "a panic in nomq (a bug: please report it)"))
        }
        Err(_) => Err(NomqError::new(ErrorKind::Closed, "the nomq runtime is shutting down")),
    }
}
