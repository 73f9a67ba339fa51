//! Seals and opens one packet of each version in a `no_std` build (see Cargo.toml).
#![no_std]

extern crate alloc;

use core::alloc::{GlobalAlloc, Layout};
use nomq_proto::Keys;
use nomq_proto::frame::{Body, ChannelId, Flags, FrameCodec, Header, PacketType, Version};

/// Round-trips one packet per version; returns the number that opened to the same plaintext.
#[unsafe(no_mangle)]
pub extern "C" fn nomq_nostd_probe(now_ms: u64) -> u32 {
    let keys = Keys::new([1; 32], [2; 32]);
    let mut ok = 0;
    for version in [Version::V1, Version::V2] {
        let codec = FrameCodec::new(&keys, version);
        let header = Header {
            kind: PacketType::Publish,
            flags: Flags(0),
            packet_id: 1,
            session_id: 2,
            ttl: 60,
            timestamp_ms: now_ms,
            channel: ChannelId::v1("probe"),
            iv: [3; 16],
        };
        let mut packet = [0u8; 256];
        let mut plain = [0u8; 256];
        if let Ok(n) = codec.seal(&header, &Body::Bytes(b"probe"), &mut packet) {
            if matches!(codec.open(&packet[..n], now_ms, &mut plain), Ok(o) if o.plaintext == b"probe") {
                ok += 1;
            }
        }
    }
    ok
}

/// Firmware supplies the real allocator (the C binding maps it to `malloc`/`free`); the canary
/// only has to link.
struct NoHeap;

// SAFETY: returning null is always a valid answer of `alloc` (allocation failure).
unsafe impl GlobalAlloc for NoHeap {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static HEAP: NoHeap = NoHeap;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
