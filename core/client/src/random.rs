//! The operating system's CSPRNG for the sans-IO core (IVs must be unpredictable).

use nomq_proto::endpoint::Random;

/// Random bytes from the operating system (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        // The OS generator does not fail on supported platforms once the process runs; if it
        // ever did, sending packets with predictable IVs would be worse than stopping.
        if let Err(e) = getrandom::fill(dest) {
            panic!("the operating system's random generator failed: {e}");
        }
    }
}
