//! The reference's config file from C (nomq-v1 §19): base64 of AES-256-CBC under a public
//! constant key, so only obfuscated (§22.13). Reading and writing work on text in caller
//! buffers; file I/O is the caller's (firmware may keep it in flash or NVS).

use core::ffi::c_char;

use nomq_proto::Keys;
use nomq_proto::config::Config;

use crate::guard::{self, guard};
use crate::result::nomq_result;

/// A node's settings: its keys, where to bind, and the IP version.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nomq_config {
    /// `encryption_key`.
    pub encryption_key: [u8; 32],
    /// `hmac_key` (the trailer key).
    pub trailer_key: [u8; 32],
    /// `ip`, NUL-terminated (at most 45 characters plus the NUL).
    pub ip: [c_char; 46],
    /// `port`.
    pub port: u16,
    /// `use_ipv6`.
    pub use_ipv6: bool,
}

/// Reads config `text` (`text_len` bytes: the encrypted file, or a plain JSON object) into
/// `*out`. `NOMQ_RESULT_CONFIG_INVALID` for bad base64, padding, JSON, keys or an `ip` longer
/// than 45 characters; `*out` is untouched then.
///
/// # Safety
/// `text` readable for `text_len` bytes; `out` writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_config_parse(
    text: *const c_char,
    text_len: usize,
    out: *mut nomq_config,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let text = unsafe { guard::text(text, text_len) }?;
        let config = Config::from_text(text)?;
        let mut ip = [0 as c_char; 46];
        if config.ip.len() >= ip.len() {
            return Err(nomq_result::ConfigInvalid);
        }
        for (d, s) in ip.iter_mut().zip(config.ip.bytes()) {
            *d = s as c_char;
        }
        let c = nomq_config {
            encryption_key: *config.keys.encryption_key(),
            trailer_key: *config.keys.trailer_key(),
            ip,
            port: config.port,
            use_ipv6: config.use_ipv6,
        };
        // SAFETY: per the contract above.
        unsafe { guard::write(out, c) }
    })
}

/// Writes `config` as the reference's encrypted file text (base64, no NUL, no newline) to
/// `out` (`out_cap` bytes) and its length to `*out_len`, using the caller's 16 random `iv`
/// bytes. `NOMQ_RESULT_BUFFER_TOO_SMALL` when `out_cap` is short; 768 bytes always suffice
/// (the JSON with both keys is about 255 bytes; an `ip` of 45 escaped characters grows it).
///
/// # Safety
/// `config` readable; `iv` readable for 16 bytes; `out` writable for `out_cap`; `out_len`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nomq_config_write(
    config: *const nomq_config,
    iv: *const u8,
    out: *mut c_char,
    out_cap: usize,
    out_len: *mut usize,
) -> nomq_result {
    guard(|| {
        // SAFETY: per the contract above.
        let (c, iv, out) = unsafe {
            (
                config.as_ref().ok_or(nomq_result::NullPointer)?,
                guard::bytes(iv, 16)?,
                guard::buffer(out.cast(), out_cap)?,
            )
        };
        let ip_len = c.ip.iter().position(|&b| b == 0).ok_or(nomq_result::InvalidArgument)?;
        let ip_bytes: alloc::vec::Vec<u8> = c.ip[..ip_len].iter().map(|&b| b as u8).collect();
        let ip = core::str::from_utf8(&ip_bytes).map_err(|_| nomq_result::NotText)?;
        let mut config = Config::new(Keys::new(c.encryption_key, c.trailer_key));
        config.ip = ip.into();
        config.port = c.port;
        config.use_ipv6 = c.use_ipv6;
        let mut iv16 = [0u8; 16];
        iv16.copy_from_slice(iv);
        // The text holds both keys (only obfuscated): wipe the copy.
        let text = zeroize::Zeroizing::new(config.to_file_text(&iv16));
        let text = text.trim_end();
        if out_len.is_null() {
            return Err(nomq_result::NullPointer);
        }
        let dst = out.get_mut(..text.len()).ok_or(nomq_result::BufferTooSmall)?;
        dst.copy_from_slice(text.as_bytes());
        // SAFETY: per the contract above.
        unsafe { guard::write(out_len, text.len()) }
    })
}
