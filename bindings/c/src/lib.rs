//! The C API of nomq (DESIGN.md "C API rules"). It grows with the C binding issue: framing,
//! endpoint and MQTT session over caller-owned buffers, `nomq_result` codes and a generated
//! header. Today it exports the version.

use core::ffi::c_char;

/// The library version as a static NUL-terminated string; never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn nomq_version() -> *const c_char {
    c"0.1.0".as_ptr()
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_matches_the_crate() {
        // SAFETY: `nomq_version` returns a pointer to a static NUL-terminated string.
        let v = unsafe { core::ffi::CStr::from_ptr(super::nomq_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
