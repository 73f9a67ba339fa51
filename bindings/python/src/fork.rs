//! What `fork()` leaves a child: none of the runtime's threads (so every operation needing them
//! is refused, clearly), and a copy of every generator's state (so each generator rekeys
//! before its next byte: parent and child must never produce the same IVs, nonces or ids).
//! A fork handler rather than a process id compared on every call: `getpid` is a system call,
//! several per operation.

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Forks seen in this process's line (0 in a process never forked).
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The runtime has started in this process or an ancestor.
static RUNTIME_STARTED: AtomicBool = AtomicBool::new(false);
/// This process was forked after the runtime started.
static FORKED_AFTER_RUNTIME: AtomicBool = AtomicBool::new(false);

extern "C" fn child() {
    // Atomics only: async-signal-safe, as a handler in a freshly forked child must be.
    GENERATION.fetch_add(1, Ordering::Relaxed);
    if RUNTIME_STARTED.load(Ordering::Relaxed) {
        FORKED_AFTER_RUNTIME.store(true, Ordering::Relaxed);
    }
}

/// Registers the child handler, once per process (at module import).
pub fn install() {
    static INSTALL: Once = Once::new();
    // SAFETY: registers a child handler that only touches atomics.
    INSTALL.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(child));
    });
}

/// How many forks this process descends from; a change means "rekey".
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Relaxed)
}

/// Records that the runtime's threads exist from now on.
pub fn runtime_started() {
    RUNTIME_STARTED.store(true, Ordering::Relaxed);
}

/// Whether this process was forked after the runtime started (its threads are gone).
pub fn forked_after_runtime() -> bool {
    FORKED_AFTER_RUNTIME.load(Ordering::Relaxed)
}
