//! From tokio to asyncio without holding the GIL on tokio threads.
//!
//! Every asyncio event loop gets one [`Completer`] (`python/nomq/_bridge.py`). An operation
//! started from Python carries its asyncio future into Rust; when it finishes, the future and
//! a converter of its outcome are queued here, and the first entry of a batch writes one byte
//! to a socket pair the loop watches (`loop.add_reader`). The loop thread then resolves the
//! whole batch in one call, holding the GIL it already has. Tokio workers never wait for the
//! GIL, and a burst of completions costs one wake-up.
//!
//! The same operations run synchronously when no future is given: the caller's thread
//! releases the GIL and blocks on the runtime (the synchronous facade, `nomq.sync`).

use nomq::proto::ErrorKind;
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use std::collections::VecDeque;
use std::future::Future;
use std::io::{Read, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::errors;

/// The process-wide tokio runtime of the extension (its worker threads are daemon-like: they
/// hold no Python state and never block interpreter shutdown).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        crate::fork::runtime_started();
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("nomq-tokio")
            .enable_all()
            .build()
            .expect("nomq: cannot start the tokio runtime")
    })
}

/// Refuses to run in a child process forked after the runtime started.
pub fn not_forked(py: Python<'_>) -> PyResult<()> {
    if crate::fork::forked_after_runtime() {
        return Err(errors::raise(
            py,
            ErrorKind::Closed,
            "nomq was started in the parent process and fork() copies none of its threads: use it \
             in a process started with the 'spawn' method, or start nomq only after forking",
        ));
    }
    Ok(())
}

/// Turns a finished operation's outcome into its Python value, on the loop thread. The flag
/// says the future was cancelled meanwhile: the outcome has no taker, and an outcome that holds
/// data (received messages) must put it back rather than lose it.
pub type Convert = Box<dyn FnOnce(Python<'_>, bool) -> PyResult<Py<PyAny>> + Send>;

struct Queue {
    ready: Vec<(Py<PyAny>, Convert)>,
    /// A wake-up byte is on its way for the entries in `ready`.
    armed: bool,
    /// The loop is polling `ready` (a short spin after starting an operation): no wake-up
    /// byte is needed.
    spinning: bool,
}

/// The per-event-loop completion queue (see the module documentation).
#[pyclass(frozen, module = "nomq._nomq")]
pub(crate) struct Completer {
    queue: Mutex<Queue>,
    wake_tx: std::os::unix::net::UnixStream,
    wake_rx: std::os::unix::net::UnixStream,
}

impl Completer {
    /// Queues `future` to be resolved with `convert`'s value; callable from any thread.
    pub fn complete(&self, future: Py<PyAny>, convert: Convert) {
        let wake = {
            let mut q = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            q.ready.push((future, convert));
            !q.spinning && !std::mem::replace(&mut q.armed, true)
        };
        if wake {
            // Non-blocking: a full socket buffer already holds a wake-up.
            let _ = (&self.wake_tx).write(&[1]);
        }
    }
}

#[pymethods]
impl Completer {
    #[new]
    fn new() -> PyResult<Self> {
        let (wake_tx, wake_rx) = std::os::unix::net::UnixStream::pair()?;
        wake_tx.set_nonblocking(true)?;
        wake_rx.set_nonblocking(true)?;
        Ok(Completer {
            queue: Mutex::new(Queue { ready: Vec::new(), armed: false, spinning: false }),
            wake_tx,
            wake_rx,
        })
    }

    /// Whether finished operations wait to be resolved (no system call: for short spins).
    fn ready(&self) -> bool {
        !self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).ready.is_empty()
    }

    /// The loop starts or stops polling `ready`. While it polls, completions send no wake-up
    /// byte; after stopping, the loop checks `ready` once more (entries queued meanwhile).
    fn set_spinning(&self, spinning: bool) {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).spinning = spinning;
    }

    /// The descriptor the event loop watches for readability.
    fn fileno(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.wake_rx.as_raw_fd()
    }

    /// Resolves every queued future (the loop's reader callback). Futures cancelled meanwhile
    /// are skipped: the operation finished, nobody waits for it.
    fn resolve(&self, py: Python<'_>) -> PyResult<()> {
        // Consume the wake-up byte first, then take the batch: an entry queued after the take
        // finds `armed` false and sends a new byte. One byte is sent per armed cycle, so one
        // read takes every byte there is (a read to `WouldBlock` would cost a system call per
        // wake-up); a stray one left over would only call this again.
        let mut sink = [0u8; 64];
        let _ = (&self.wake_rx).read(&mut sink);
        let ready = {
            let mut q = self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            q.armed = false;
            std::mem::take(&mut q.ready)
        };
        // Every entry is settled even when one fails (a future whose loop is gone, a broken
        // done-callback): the first failure is reported after the whole batch.
        let mut first_failure = None;
        for (future, convert) in ready {
            if let Err(e) = resolve_one(py, future.bind(py), convert) {
                first_failure.get_or_insert(e);
            }
        }
        first_failure.map_or(Ok(()), Err)
    }
}

/// Resolves `future` with what `convert` makes of the finished operation (told to only clean up
/// when the future is done already: cancelled or timed out).
fn resolve_one(py: Python<'_>, future: &Bound<'_, PyAny>, convert: Convert) -> PyResult<()> {
    if future.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
        let _ = convert(py, true);
        return Ok(());
    }
    match convert(py, false) {
        Ok(value) => future.call_method1(pyo3::intern!(py, "set_result"), (value,))?,
        Err(e) => future.call_method1(pyo3::intern!(py, "set_exception"), (e.into_value(py),))?,
    };
    Ok(())
}

/// Runs `work` on the runtime with the GIL released, blocking the calling thread, and checks
/// for Python signals every 100 ms: Ctrl-C raises `KeyboardInterrupt` and abandons the wait
/// (the operation itself may still complete, as an unawaited asyncio one would).
pub fn block<F>(py: Python<'_>, work: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut work = std::pin::pin!(work);
    loop {
        let step = py.detach(|| {
            // The timer is made inside the runtime (it needs its clock).
            runtime().block_on(async {
                tokio::time::timeout(std::time::Duration::from_millis(100), work.as_mut()).await
            })
        });
        match step {
            Ok(output) => return Ok(output),
            Err(_) => py.check_signals()?,
        }
    }
}

/// The conversion for work that panicked: an exception of kind Panic.
fn panicked(py: Python<'_>, _abandoned: bool) -> PyResult<Py<PyAny>> {
    Err(errors::raise(py, ErrorKind::Panic, "a Rust panic in nomq (a bug: please report it)"))
}

/// Where an operation's result goes: an asyncio future (resolved through its loop's
/// completer), or, when absent, the calling thread, which blocks with the GIL released.
pub type Target = Option<(Py<Completer>, Py<PyAny>)>;

/// Runs `work` for `target` and converts its value with `into_py` (on the loop thread, or on
/// the caller's thread when blocking). Returns `None` for asyncio, the value when blocking.
pub fn run<T, F, C>(py: Python<'_>, target: Target, work: F, into_py: C) -> PyResult<Py<PyAny>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, nomq::Error>> + Send + 'static,
    C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    not_forked(py)?;
    match target {
        Some((completer, future)) => {
            runtime().spawn(async move {
                // A panic in the work still resolves the future (with an error of kind Panic).
                let convert = match nomq::catch_unwind(work).await {
                    Ok(outcome) => settle(outcome, into_py),
                    Err(()) => Box::new(panicked),
                };
                completer.get().complete(future, convert);
            });
            Ok(py.None())
        }
        None => {
            let outcome = block(py, work)?;
            settle(outcome, into_py)(py, false)
        }
    }
}

/// The converter for an outcome: the value through `into_py`, or the mapped exception.
pub fn settle<T, C>(outcome: Result<T, nomq::Error>, into_py: C) -> Convert
where
    T: Send + 'static,
    C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    Box::new(move |py, abandoned| match outcome {
        Ok(_) if abandoned => Ok(py.None()),
        Ok(value) => into_py(py, value),
        Err(e) => Err(errors::to_py(py, &e)),
    })
}

/// A future's done-callback that aborts the receive task when the future was cancelled.
#[pyclass(frozen, module = "nomq._nomq")]
pub(crate) struct AbortOnCancel(tokio::task::AbortHandle);

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            self.0.abort();
        }
        Ok(())
    }
}

/// Messages received for a future that was cancelled before it took them; the next receive
/// returns them first, so cancelling a pending receive loses nothing. Such a batch can come
/// back while another receive already waits (the cancelled receive's task took it just before
/// the cancel): that receive is woken to take it, instead of waiting for the next message.
pub struct Stash<M>(Arc<StashState<M>>);

struct StashState<M> {
    messages: Mutex<VecDeque<M>>,
    /// Wakes the receives waiting in a task ([`receive`]) when a batch comes back.
    returned: Arc<tokio::sync::Notify>,
    /// [`wait_many`] futures waiting when a batch comes back: resolved with `None`, so their
    /// caller receives again the general way, stash first. The flag is set once the future is
    /// done by other means ([`CancelWait`]); such entries are dropped at the next registration.
    waits: Mutex<Vec<(Arc<AtomicBool>, Wake)>>,
}

/// Called once, outside the stash's locks, when a batch comes back.
type Wake = Box<dyn FnOnce() + Send>;

impl<M> Default for Stash<M> {
    fn default() -> Self {
        Stash(Arc::new(StashState {
            messages: Mutex::new(VecDeque::new()),
            returned: Arc::new(tokio::sync::Notify::new()),
            waits: Mutex::new(Vec::new()),
        }))
    }
}

impl<M> Clone for Stash<M> {
    fn clone(&self) -> Self {
        Stash(self.0.clone())
    }
}

impl<M> Stash<M> {
    /// Up to `limit` stashed messages, oldest first.
    pub fn take(&self, limit: usize) -> Vec<M> {
        let mut s = lock(&self.0.messages);
        let n = s.len().min(limit);
        s.drain(..n).collect()
    }

    /// Puts back a batch a cancelled receive took, in order ahead of the rest, and wakes the
    /// receives waiting meanwhile.
    fn put_back(&self, batch: Vec<M>) {
        if batch.is_empty() {
            return;
        }
        {
            let mut s = lock(&self.0.messages);
            for m in batch.into_iter().rev() {
                s.push_front(m);
            }
        }
        self.0.returned.notify_waiters();
        let waits = std::mem::take(&mut *lock(&self.0.waits));
        for (done, wake) in waits {
            if !done.load(Ordering::Relaxed) {
                wake();
            }
        }
    }

    /// Calls `wake` once when a batch comes back, unless `done` is set first.
    fn when_returned(&self, done: Arc<AtomicBool>, wake: Wake) {
        let mut waits = lock(&self.0.waits);
        waits.retain(|(done, _)| !done.load(Ordering::Relaxed));
        waits.push((done, wake));
    }

    /// A wake-up for the next batch that comes back, registered now: a batch put back before
    /// the receive task first runs is not missed.
    fn next_return(&self) -> Pin<Box<tokio::sync::futures::OwnedNotified>> {
        let mut returned = Box::pin(self.0.returned.clone().notified_owned());
        returned.as_mut().enable();
        returned
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `recv`'s batch, or the stashed messages when a batch comes back first (see [`Stash`]).
/// `returned` comes from [`Stash::next_return`], called before the receive starts waiting.
async fn recv_or_returned<M, F>(
    stash: Stash<M>,
    mut returned: Pin<Box<tokio::sync::futures::OwnedNotified>>,
    limit: usize,
    recv: F,
) -> Option<Vec<M>>
where
    F: Future<Output = Option<Vec<M>>>,
{
    tokio::pin!(recv);
    loop {
        tokio::select! {
            batch = &mut recv => return batch,
            () = &mut returned => {
                // Registered again before looking, so a batch returned meanwhile is not missed.
                returned = stash.next_return();
                let stashed = stash.take(limit);
                if !stashed.is_empty() {
                    return Some(stashed);
                }
            }
        }
    }
}

/// Receives a batch through `recv` (after the stashed messages) for `target`, converting with
/// `into_py`; a batch whose future was cancelled goes back to the stash, in order.
pub fn receive<M, F, C>(
    py: Python<'_>,
    target: Target,
    stash: &Stash<M>,
    limit: usize,
    recv: F,
    into_py: C,
) -> PyResult<Py<PyAny>>
where
    M: Send + 'static,
    F: Future<Output = Option<Vec<M>>> + Send + 'static,
    C: FnOnce(Python<'_>, Vec<M>) -> PyResult<Py<PyAny>> + Send + 'static,
{
    not_forked(py)?;
    let stashed = stash.take(limit);
    let convert = |py: Python<'_>, batch: Option<Vec<M>>| match batch {
        Some(batch) => into_py(py, batch),
        None => Ok(py.None()),
    };
    if !stashed.is_empty() {
        return convert(py, Some(stashed)).and_then(|value| match target {
            Some((_, future)) => future.call_method1(py, "set_result", (value,)).map(|_| py.None()),
            None => Ok(value),
        });
    }
    // Registered here, before the task runs, so that no batch put back from now on is missed.
    let recv = recv_or_returned(stash.clone(), stash.next_return(), limit, recv);
    match target {
        Some((completer, future)) => {
            let stash = stash.clone();
            let task = runtime().spawn(async move {
                let batch = recv.await;
                completer.get().complete(
                    future,
                    Box::new(move |py, abandoned| {
                        if abandoned {
                            stash.put_back(batch.unwrap_or_default());
                            return Ok(py.None());
                        }
                        convert(py, batch)
                    }),
                );
            });
            // The caller adds it as the future's done-callback: a cancelled receive stops
            // waiting (and releases the receiver) instead of taking the next message.
            AbortOnCancel(task.abort_handle()).into_py_any(py)
        }
        None => {
            let batch = block(py, recv)?;
            convert(py, batch)
        }
    }
}

/// What the asyncio receive path needs from a driver: `nomq::Node` and `nomq::mqtt::Client`
/// give the same completion hooks (`nomq::MessageWait`), so both bindings wait for messages
/// through [`wait_many`] and take them through [`waiting`].
pub trait Receiver: Send + Sync + 'static {
    type Message: Send + 'static;
    fn try_recv_many(&self, into: &mut Vec<Self::Message>, limit: usize) -> usize;
    fn when_messages(&self, ready: impl FnOnce() + Send + 'static) -> nomq::MessageWait;
    fn is_closed(&self) -> bool;
}

impl Receiver for nomq::Node {
    type Message = nomq::Message;
    fn try_recv_many(&self, into: &mut Vec<Self::Message>, limit: usize) -> usize {
        nomq::Node::try_recv_many(self, into, limit)
    }
    fn when_messages(&self, ready: impl FnOnce() + Send + 'static) -> nomq::MessageWait {
        nomq::Node::when_messages(self, ready)
    }
    fn is_closed(&self) -> bool {
        nomq::Node::is_closed(self)
    }
}

impl Receiver for nomq::mqtt::Client {
    type Message = nomq::proto::mqtt::session::Message;
    fn try_recv_many(&self, into: &mut Vec<Self::Message>, limit: usize) -> usize {
        nomq::mqtt::Client::try_recv_many(self, into, limit)
    }
    fn when_messages(&self, ready: impl FnOnce() + Send + 'static) -> nomq::MessageWait {
        nomq::mqtt::Client::when_messages(self, ready)
    }
    fn is_closed(&self) -> bool {
        nomq::mqtt::Client::is_closed(self)
    }
}

/// Up to `limit` messages already waiting: the stashed ones first, then the receiver's.
pub fn waiting<R: Receiver>(stash: &Stash<R::Message>, receiver: &R, limit: usize) -> Vec<R::Message> {
    let mut batch = stash.take(limit);
    let more = limit - batch.len();
    receiver.try_recv_many(&mut batch, more);
    batch
}

/// Resolves the asyncio `target` with up to `limit` messages, converted by `into_py`, as soon
/// as the driver hands some over: the driver calls back from its own thread (no task, no
/// second thread hop). `[]` once closed; `None` when another receiver took them first (the
/// caller waits again the general way). Returns the future's done-callback, a [`CancelWait`],
/// which drops the wait once the future is done by other means (cancelled, timed out):
/// nothing is taken then.
pub fn wait_many<R, C>(
    py: Python<'_>,
    target: Target,
    receiver: &Arc<R>,
    stash: &Stash<R::Message>,
    limit: usize,
    into_py: C,
) -> PyResult<Py<PyAny>>
where
    R: Receiver,
    C: FnOnce(Python<'_>, Vec<R::Message>) -> PyResult<Py<PyAny>> + Send + 'static,
{
    not_forked(py)?;
    let Some((completer, future)) = target else {
        return Err(pyo3::exceptions::PyTypeError::new_err("wait_many needs an asyncio future"));
    };
    // A batch a cancelled receive took may come back to the stash while this waits: the future
    // then resolves with `None`, and the caller receives again, stash first.
    let done = Arc::new(AtomicBool::new(false));
    let (again, waiter) = (completer.clone_ref(py), future.clone_ref(py));
    let receive_again = move || again.get().complete(waiter, Box::new(|py, _| Ok(py.None())));
    stash.when_returned(done.clone(), Box::new(receive_again));
    // Weak: the callback lives inside the driver until it fires; a strong reference would
    // keep a dropped node or client (and its socket) alive.
    let weak = Arc::downgrade(receiver);
    let stash = stash.clone();
    let wait = receiver.when_messages(move || {
        completer.get().complete(
            future,
            Box::new(move |py, abandoned| {
                let Some(receiver) = weak.upgrade().filter(|_| !abandoned) else {
                    return Ok(py.None());
                };
                let batch = waiting(&stash, &*receiver, limit);
                if batch.is_empty() && !receiver.is_closed() {
                    return Ok(py.None());
                }
                into_py(py, batch)
            }),
        );
    });
    CancelWait { wait, done }.into_py_any(py)
}

/// A future's done-callback that drops a [`wait_many`] once the future is done (cancelled,
/// timed out, or resolved).
#[pyclass(frozen, module = "nomq._nomq")]
pub(crate) struct CancelWait {
    wait: nomq::MessageWait,
    /// Drops the wait's registration with the stash (see [`Stash`]).
    done: Arc<AtomicBool>,
}

#[pymethods]
impl CancelWait {
    fn __call__(&self, _future: &Bound<'_, PyAny>) {
        // Done by whatever means (messages, a timeout, a cancel): the wait is over. After the
        // messages came, the wait was used up and this changes nothing.
        self.wait.cancel();
        self.done.store(true, Ordering::Relaxed);
    }
}

/// The callback a driver calls with a publish's outcome (`publish_with`): it queues `future`
/// on its loop's completer, to be resolved with `into_py`'s value or the mapped exception.
pub fn resolve<T, C>(
    completer: Py<Completer>,
    future: Py<PyAny>,
    into_py: C,
) -> impl FnOnce(Result<T, nomq::Error>) + Send + 'static
where
    T: Send + 'static,
    C: FnOnce(Python<'_>, T) -> PyResult<Py<PyAny>> + Send + 'static,
{
    move |outcome| completer.get().complete(future, settle(outcome, into_py))
}

/// `fut`'s value, or `None` after `timeout` seconds (`None`: no limit; a bad number: no limit
/// either, after the caller validated it).
pub async fn within<T>(timeout: Option<f64>, fut: impl Future<Output = T>) -> Option<T> {
    match timeout.and_then(|t| std::time::Duration::try_from_secs_f64(t).ok()) {
        Some(limit) => tokio::time::timeout(limit, fut).await.ok(),
        None => Some(fut.await),
    }
}

/// `None` as the Python value of an operation without one.
pub fn none<T>(py: Python<'_>, _: T) -> PyResult<Py<PyAny>> {
    Ok(py.None())
}

/// Any value pyo3 can convert.
pub fn value<T: for<'py> IntoPyObject<'py>>(py: Python<'_>, v: T) -> PyResult<Py<PyAny>> {
    v.into_py_any(py)
}

/// Self-test of the panic path: spawned work that panics, as `run` gives it to the runtime. Its
/// future must end with an exception of kind Panic, never hang; `tests/python` awaits it (a
/// panic cannot be provoked through the public API, which has no known one).
#[pyfunction]
pub fn _panic_in_task(py: Python<'_>, target: Target) -> PyResult<Py<PyAny>> {
    run(
        py,
        target,
        async {
            tokio::task::yield_now().await;
            if std::hint::black_box(true) {
                panic!("deliberate panic (nomq._nomq._panic_in_task self-test)");
            }
            Ok(())
        },
        |py, ()| Ok(py.None()),
    )
}
