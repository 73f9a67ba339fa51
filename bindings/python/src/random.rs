//! Random bytes for sealing from Python without a system call per packet: AES-256 in counter
//! mode under a key drawn from the OS once per codec. IVs must be unpredictable (CBC, v1 §6);
//! an AES-CTR keystream under a secret random key is (the construction of NIST SP 800-90A's
//! CTR_DRBG, without its reseeding, which a per-codec key and a 2^128 counter make moot here).

use aes::Aes256Enc;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use nomq::OsRandom;
use nomq::proto::endpoint::Random;
use zeroize::Zeroize;

const BLOCKS: usize = 8;

pub(crate) struct CtrRandom {
    /// The fork generation the key was drawn in (see `crate::fork`): a forked child rekeys.
    generation: u64,
    cipher: Aes256Enc,
    counter: u128,
    buf: [u8; 16 * BLOCKS],
    pos: usize,
}

impl CtrRandom {
    /// A generator keyed from the operating system.
    pub(crate) fn new() -> Self {
        let mut key = [0u8; 32];
        OsRandom.fill(&mut key);
        let cipher = Aes256Enc::new(&key.into());
        key.zeroize();
        let generation = crate::fork::generation();
        CtrRandom { generation, cipher, counter: 0, buf: [0; 16 * BLOCKS], pos: 16 * BLOCKS }
    }

    fn refill(&mut self) {
        let mut blocks = [Array::default(); BLOCKS];
        for b in &mut blocks {
            *b = self.counter.to_le_bytes().into();
            self.counter = self.counter.wrapping_add(1);
        }
        self.cipher.encrypt_blocks(&mut blocks);
        for (chunk, b) in self.buf.chunks_exact_mut(16).zip(&blocks) {
            chunk.copy_from_slice(b);
        }
        self.pos = 0;
    }
}

impl Random for CtrRandom {
    fn fill(&mut self, dest: &mut [u8]) {
        if self.generation != crate::fork::generation() {
            // A forked copy of the state: the parent goes on with it, so this process must not.
            self.buf.zeroize();
            *self = CtrRandom::new();
        }
        let mut done = 0;
        while done < dest.len() {
            if self.pos == self.buf.len() {
                self.refill();
            }
            let n = (dest.len() - done).min(self.buf.len() - self.pos);
            dest[done..done + n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            // Never hand out the same bytes twice, not even from a copy of the state.
            self.buf[self.pos..self.pos + n].zeroize();
            self.pos += n;
            done += n;
        }
    }
}
