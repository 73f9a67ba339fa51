//! The byte budget of received messages between a driver and the application's receive calls.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Bytes of messages handed to the application (a `recv` channel, subscription streams) and
/// not taken yet: bounded by `ClientOptions::message_buffer_bytes` or
/// `NodeConfig::message_buffer_bytes` as the channels are by count, so a burst of large
/// messages cannot fill memory.
#[derive(Debug)]
pub(crate) struct HandedBytes {
    bytes: AtomicUsize,
    budget: usize,
    /// Delivery stopped on the budget: the next take wakes the driver.
    blocked: AtomicBool,
}

impl HandedBytes {
    pub(crate) fn new(budget: usize) -> Self {
        HandedBytes { bytes: AtomicUsize::new(0), budget: budget.max(1), blocked: AtomicBool::new(false) }
    }

    /// Whether `size` more bytes may be handed over now (always when none are out: a message
    /// larger than the budget still goes, alone).
    pub(crate) fn admits(&self, size: usize) -> bool {
        let fits = |out: usize| out == 0 || out + size <= self.budget;
        if fits(self.bytes.load(Ordering::SeqCst)) {
            return true;
        }
        // Flag first, then look again: a take between the first look and the flag would not
        // see the flag and not wake the driver, so it is caught here (SeqCst: the take's
        // subtraction and flag swap, and this flag and second look, are seen in one order).
        self.blocked.store(true, Ordering::SeqCst);
        if fits(self.bytes.load(Ordering::SeqCst)) {
            self.blocked.store(false, Ordering::SeqCst);
            return true;
        }
        false
    }

    pub(crate) fn handed(&self, size: usize) {
        self.bytes.fetch_add(size, Ordering::SeqCst);
    }

    /// The application took `size` bytes; true when delivery waits for that.
    pub(crate) fn taken(&self, size: usize) -> bool {
        self.bytes.fetch_sub(size, Ordering::SeqCst);
        self.blocked.swap(false, Ordering::SeqCst)
    }
}
