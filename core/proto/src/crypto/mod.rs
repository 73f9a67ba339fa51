//! The cryptographic primitives behind NoMQ framing, in one place so that firmware can swap in
//! hardware AES and so that the v1 keyed hash stays behind a single, honestly named function
//! (v1 §22.10). Both AES-NI and SHA-NI are picked at run time by the RustCrypto crates.

mod cbc;
mod mac;

pub(crate) use cbc::{AesCbc, BLOCK, padded_len};
pub(crate) use mac::{HmacKey, ct_eq, hmac_sha256, keyed_sha256_trailer};
