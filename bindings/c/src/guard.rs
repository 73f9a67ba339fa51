//! The boundary: every export runs inside [`guard`], and every pointer goes through the
//! checked readers here before Rust touches it (docs/c.md, "Conventions").

use core::ffi::c_char;

use crate::result::nomq_result;

/// Runs `f`; on host builds a panic becomes `NOMQ_RESULT_PANIC` instead of unwinding into C
/// (undefined behaviour). Firmware builds abort on panic (`panic = "abort"`).
pub(crate) fn guard(f: impl FnOnce() -> Result<(), nomq_result>) -> nomq_result {
    #[cfg(feature = "std")]
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(Err(nomq_result::Panic));
    #[cfg(not(feature = "std"))]
    let outcome = f();
    match outcome {
        Ok(()) => nomq_result::Ok,
        Err(e) => e,
    }
}

/// Runs `f`, for exports that return a value instead of a `nomq_result` (getters, `_free`):
/// on host builds a panic gives `fallback` (documented per export) instead of unwinding into
/// C. Firmware builds abort on panic.
pub(crate) fn guard_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    #[cfg(feature = "std")]
    return std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(fallback);
    #[cfg(not(feature = "std"))]
    {
        let _ = fallback;
        f()
    }
}

/// Frees a handle made by `Box::into_raw`; NULL is ignored.
///
/// # Safety
/// A non-NULL `ptr` must come from this library's `_new` and not be used afterwards.
pub(crate) unsafe fn free<T>(ptr: *mut T) {
    guard_or((), || {
        if !ptr.is_null() {
            // SAFETY: made by `Box::into_raw`, freed once per the caller's contract.
            drop(unsafe { alloc::boxed::Box::from_raw(ptr) });
        }
    })
}

/// `len` bytes at `ptr`; NULL is accepted only for an empty slice.
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Result<&'a [u8], nomq_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(nomq_result::NullPointer);
    }
    // A length over isize::MAX (an unchecked -1 from C) cannot describe real memory.
    if len > isize::MAX as usize {
        return Err(nomq_result::InvalidArgument);
    }
    // SAFETY: non-NULL and valid for `len` bytes, per the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// A writable buffer of `cap` bytes at `ptr` (NULL only with `cap == 0`).
///
/// # Safety
/// A non-NULL `ptr` must be valid for writes of `cap` bytes for `'a`, not aliased.
pub(crate) unsafe fn buffer<'a>(ptr: *mut u8, cap: usize) -> Result<&'a mut [u8], nomq_result> {
    if ptr.is_null() {
        return if cap == 0 { Ok(&mut []) } else { Err(nomq_result::NullPointer) };
    }
    if cap > isize::MAX as usize {
        return Err(nomq_result::InvalidArgument);
    }
    // SAFETY: non-NULL and valid for `cap` bytes of writes, per the caller's contract.
    Ok(unsafe { core::slice::from_raw_parts_mut(ptr, cap) })
}

/// UTF-8 text of `len` bytes at `ptr` (not NUL-terminated).
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn text<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, nomq_result> {
    // SAFETY: forwarded contract.
    let b = unsafe { bytes(ptr.cast(), len) }?;
    core::str::from_utf8(b).map_err(|_| nomq_result::NotText)
}

/// A NUL-terminated UTF-8 string; `None` for NULL.
///
/// # Safety
/// A non-NULL `ptr` must point to a NUL-terminated string valid for `'a`.
pub(crate) unsafe fn c_string<'a>(ptr: *const c_char) -> Result<Option<&'a str>, nomq_result> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated, per the caller's contract.
    let s = unsafe { core::ffi::CStr::from_ptr(ptr) };
    s.to_str().map(Some).map_err(|_| nomq_result::NotText)
}

/// The object behind a handle.
///
/// # Safety
/// A non-NULL `ptr` must come from this library's `_new` and not be freed.
pub(crate) unsafe fn object<'a, T>(ptr: *mut T) -> Result<&'a mut T, nomq_result> {
    // SAFETY: per the caller's contract, a live object made by `Box::into_raw`.
    unsafe { ptr.as_mut() }.ok_or(nomq_result::NullPointer)
}

/// The object behind a `const` handle, shared: several threads may hold it at once (the
/// codec is documented as usable from several threads).
///
/// # Safety
/// A non-NULL `ptr` must come from this library's `_new` and not be freed.
pub(crate) unsafe fn object_ref<'a, T>(ptr: *const T) -> Result<&'a T, nomq_result> {
    // SAFETY: per the caller's contract, a live object made by `Box::into_raw`.
    unsafe { ptr.as_ref() }.ok_or(nomq_result::NullPointer)
}

/// Fails when two caller buffers overlap: checked on the raw ranges, before any slice exists
/// (a `&[u8]` and a `&mut [u8]` must never alias).
pub(crate) fn disjoint(a: *const u8, a_len: usize, b: *const u8, b_len: usize) -> Result<(), nomq_result> {
    let (a0, b0) = (a as usize, b as usize);
    if a_len > 0 && b_len > 0 && a0 < b0.saturating_add(b_len) && b0 < a0.saturating_add(a_len) {
        return Err(nomq_result::InvalidArgument);
    }
    Ok(())
}

/// Writes `value` to `*out`.
///
/// # Safety
/// A non-NULL `out` must be valid for a write of `T`.
pub(crate) unsafe fn write<T>(out: *mut T, value: T) -> Result<(), nomq_result> {
    if out.is_null() {
        return Err(nomq_result::NullPointer);
    }
    // SAFETY: non-NULL and writable, per the caller's contract.
    unsafe { out.write(value) };
    Ok(())
}

/// A 32-byte key at `ptr`.
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of 32 bytes.
pub(crate) unsafe fn key(ptr: *const u8) -> Result<[u8; 32], nomq_result> {
    // SAFETY: forwarded contract.
    let b = unsafe { bytes(ptr, 32) }?;
    let mut k = [0u8; 32];
    k.copy_from_slice(b);
    Ok(k)
}
