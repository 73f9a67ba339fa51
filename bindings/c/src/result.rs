//! `nomq_result`: every C function's outcome. It is the core's error-kind table
//! (`nomq_proto::ErrorKind`, docs/architecture.md "Errors per layer") under its C name, so the
//! codes and texts here are the ones every other binding reports. `NOMQ_RESULT_OK` is 0; MQTT
//! reason codes travel in their own fields, never here.

use core::ffi::c_char;

pub use nomq_proto::ErrorKind as nomq_result;

/// A static, NUL-terminated description of `result` (any number: unknown ones get a generic
/// text). Never NULL; never freed by the caller.
#[unsafe(no_mangle)]
pub extern "C" fn nomq_result_str(result: u32) -> *const c_char {
    let text = || nomq_result::from_code(result).map_or(c"unknown nomq_result", nomq_result::text);
    crate::guard::guard_or(c"unknown nomq_result", text).as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_table_text() {
        for &kind in nomq_result::ALL {
            // SAFETY: `nomq_result_str` returns a static NUL-terminated string.
            let text = unsafe { core::ffi::CStr::from_ptr(nomq_result_str(kind.code())) };
            assert_eq!(text, kind.text());
        }
        // SAFETY: as above.
        let unknown = unsafe { core::ffi::CStr::from_ptr(nomq_result_str(7)) };
        assert_eq!(unknown, c"unknown nomq_result");
    }
}
