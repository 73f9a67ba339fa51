//! The firmware profile (`--no-default-features`, `--profile firmware`): no Rust `std`; heap
//! through the C library's `malloc`/`free` (ESP-IDF's heap_caps, newlib, or any libc), and a
//! panic is a bug that calls C `abort()` (`panic = "abort"`).

use core::alloc::{GlobalAlloc, Layout};

unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn realloc(ptr: *mut u8, size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn abort() -> !;
}

/// Blocks from `malloc` are assumed aligned to a pointer only: ESP-IDF's heap guarantees 4
/// bytes on 32-bit chips (Rust's own espidf target assumes the same), while `u64` fields need
/// 8. Larger alignments are served by over-allocating and storing the original pointer just
/// before the aligned block.
struct CAllocator;

const MALLOC_ALIGN: usize = core::mem::size_of::<usize>();

// SAFETY: `alloc` returns blocks of at least `layout.size()` bytes aligned to `layout.align()`
// or NULL; `dealloc` frees exactly what `alloc` returned for the same layout.
unsafe impl GlobalAlloc for CAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: plain C allocation.
            return unsafe { malloc(layout.size()) };
        }
        let extra = layout.align() + core::mem::size_of::<*mut u8>();
        let Some(total) = layout.size().checked_add(extra) else { return core::ptr::null_mut() };
        // SAFETY: plain C allocation.
        let raw = unsafe { malloc(total) };
        if raw.is_null() {
            return raw;
        }
        let start = raw as usize + core::mem::size_of::<*mut u8>();
        let aligned = (start + layout.align() - 1) & !(layout.align() - 1);
        // SAFETY: `aligned - size_of::<*mut u8>()` lies inside the block, after `raw`.
        unsafe { (aligned as *mut *mut u8).sub(1).write_unaligned(raw) };
        aligned as *mut u8
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `ptr` came from `malloc` above with the same small alignment; C `realloc`
            // keeps that alignment and the contents, growing in place when it can.
            return unsafe { realloc(ptr, new_size) };
        }
        // SAFETY: the default: allocate, copy, free, with the caller's guarantees.
        unsafe {
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let new = self.alloc(new_layout);
            if !new.is_null() {
                core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `ptr` came from `malloc` above.
            unsafe { free(ptr) };
        } else {
            // SAFETY: `alloc` stored the original pointer just before the aligned block.
            unsafe { free((ptr as *mut *mut u8).sub(1).read_unaligned()) };
        }
    }
}

#[global_allocator]
static ALLOCATOR: CAllocator = CAllocator;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: C `abort` never returns.
    unsafe { abort() }
}
