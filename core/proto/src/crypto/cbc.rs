//! AES-256-CBC with PKCS#7 padding over caller buffers (v1 §6, v2 packet layout).
//!
//! Both key schedules are expanded once per key and borrowed for every packet, so a packet costs
//! only the block operations. CBC encryption is inherently serial; decryption runs the
//! backend's parallel blocks.

use aes::{Aes256Dec, Aes256Enc};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, InnerIvInit, KeyInit, block_padding::Pkcs7};

/// Prepared AES-256 key schedules for CBC (zeroized on drop by the `aes` crate).
#[derive(Clone)]
pub(crate) struct AesCbc {
    enc: Aes256Enc,
    dec: Aes256Dec,
}

/// The CBC block size.
pub(crate) const BLOCK: usize = 16;

/// Ciphertext length of a `len`-byte plaintext: PKCS#7 always adds 1..=16 bytes (v1 §6).
pub(crate) const fn padded_len(len: usize) -> usize {
    (len / BLOCK + 1) * BLOCK
}

impl AesCbc {
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        AesCbc { enc: Aes256Enc::new(key.into()), dec: Aes256Dec::new(key.into()) }
    }

    /// Pads `buf[..msg_len]` and encrypts it in place. `buf` must hold `padded_len(msg_len)`
    /// bytes; the callers size it, so a short buffer is a bug and reports `None`.
    pub(crate) fn encrypt_padded(&self, iv: &[u8; 16], buf: &mut [u8], msg_len: usize) -> Option<usize> {
        let mode = cbc::Encryptor::<&Aes256Enc>::inner_iv_init(&self.enc, iv.into());
        mode.encrypt_padded::<Pkcs7>(buf, msg_len).ok().map(<[u8]>::len)
    }

    /// Decrypts `ciphertext` into `out` and strips PKCS#7; `None` on bad padding or length.
    /// Callers authenticate first, so `None` carries no oracle (v1 §6, v2 invariant 2).
    pub(crate) fn decrypt_padded<'o>(
        &self,
        iv: &[u8; 16],
        ciphertext: &[u8],
        out: &'o mut [u8],
    ) -> Option<&'o [u8]> {
        let mode = cbc::Decryptor::<&Aes256Dec>::inner_iv_init(&self.dec, iv.into());
        mode.decrypt_padded_b2b::<Pkcs7>(ciphertext, out).ok()
    }

    /// In-place variant of [`AesCbc::decrypt_padded`].
    pub(crate) fn decrypt_padded_in_place<'b>(&self, iv: &[u8; 16], buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let mode = cbc::Decryptor::<&Aes256Dec>::inner_iv_init(&self.dec, iv.into());
        mode.decrypt_padded::<Pkcs7>(buf).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_length_up_to_three_blocks() {
        let c = AesCbc::new(&[7; 32]);
        let iv = [9; 16];
        for n in 0..=48 {
            let mut buf = [0u8; 64];
            for (i, b) in buf[..n].iter_mut().enumerate() {
                *b = i as u8;
            }
            let ct_len = c.encrypt_padded(&iv, &mut buf, n).unwrap();
            assert_eq!(ct_len, padded_len(n));
            let mut out = [0u8; 64];
            let pt = c.decrypt_padded(&iv, &buf[..ct_len], &mut out).unwrap();
            assert_eq!(pt.len(), n);
            assert!(pt.iter().enumerate().all(|(i, b)| *b == i as u8));
        }
    }

    #[test]
    fn short_buffer_and_bad_padding_are_none() {
        let c = AesCbc::new(&[7; 32]);
        let mut buf = [0u8; 16];
        assert!(c.encrypt_padded(&[0; 16], &mut buf, 16).is_none());
        let mut out = [0u8; 16];
        // Random bytes almost never decrypt to valid padding; this fixed block does not.
        let mut found_bad = false;
        for seed in 0u8..8 {
            if c.decrypt_padded(&[seed; 16], &[seed; 16], &mut out).is_none() {
                found_bad = true;
            }
        }
        assert!(found_bad);
        assert!(c.decrypt_padded(&[0; 16], &[0; 15], &mut out).is_none(), "not block aligned");
    }
}
