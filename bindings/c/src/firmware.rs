//! The firmware profile (`--no-default-features`, `--profile firmware`): no Rust `std`; heap
//! through the C library's `malloc`/`free` (ESP-IDF's heap_caps, newlib, or any libc), and a
//! panic is a bug that calls C `abort()` (`panic = "abort"`).

use core::alloc::{GlobalAlloc, Layout};

unsafe extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
    fn abort() -> !;
}

/// `malloc` guarantees alignment for any fundamental type; larger alignments (rare: none in
/// the core) are served by over-allocating and storing the original pointer just before the
/// aligned block.
struct CAllocator;

const MALLOC_ALIGN: usize = 8;

// SAFETY: `alloc` returns blocks of at least `layout.size()` bytes aligned to `layout.align()`
// or NULL; `dealloc` frees exactly what `alloc` returned for the same layout.
unsafe impl GlobalAlloc for CAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: plain C allocation.
            return unsafe { malloc(layout.size()) };
        }
        let extra = layout.align() + core::mem::size_of::<*mut u8>();
        // SAFETY: plain C allocation.
        let raw = unsafe { malloc(layout.size() + extra) };
        if raw.is_null() {
            return raw;
        }
        let start = raw as usize + core::mem::size_of::<*mut u8>();
        let aligned = (start + layout.align() - 1) & !(layout.align() - 1);
        // SAFETY: `aligned - size_of::<*mut u8>()` lies inside the block, after `raw`.
        unsafe { (aligned as *mut *mut u8).sub(1).write_unaligned(raw) };
        aligned as *mut u8
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
