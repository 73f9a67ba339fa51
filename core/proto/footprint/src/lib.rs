//! The runtime and the workloads of the footprint images (see Cargo.toml). Each workload uses
//! the core as an application of its kind does; the inputs go through `black_box`, so the
//! optimiser cannot fold the calls away, and the images are linked, never run.
#![no_std]

extern crate alloc;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::hint::black_box;
use core::net::SocketAddr;

use nomq_proto::endpoint::{Endpoint, EndpointConfig, PublishOptions, SeededRandom};
use nomq_proto::frame::{Body, ChannelId, Flags, FrameCodec, Header, PacketType, Qos, Version};
use nomq_proto::mqtt::ProtocolVersion;
use nomq_proto::mqtt::codec::SubscriptionOptions;
use nomq_proto::mqtt::session::{Message, Session, SessionConfig};
use nomq_proto::{Keys, MonoMillis, Now, UnixMillis};

fn keys() -> Keys {
    Keys::new(black_box([1; 32]), black_box([2; 32]))
}

/// Seal and open, v1 and v2: a gateway that carries NoMQ packets over a transport of its own.
pub fn framing() {
    let keys = keys();
    for version in [Version::V1, Version::V2] {
        let codec = FrameCodec::new(&keys, black_box(version));
        let header = Header {
            kind: PacketType::Publish,
            flags: Flags::publish(Qos::AtLeastOnce, false, 0),
            packet_id: black_box(1),
            session_id: black_box(2),
            ttl: 60,
            timestamp_ms: black_box(1_750_000_000_000),
            channel: ChannelId::v1(black_box("sensors/t")),
            iv: black_box([3; 16]),
        };
        let mut packet = [0u8; 256];
        let mut plain = [0u8; 256];
        if let Ok(n) = codec.seal(&header, &Body::Bytes(black_box(b"21.5")), &mut packet) {
            let _ = black_box(codec.open(&packet[..n], black_box(0), &mut plain).map(|o| o.plaintext.len()));
        }
    }
}

/// A NoMQ node: subscribe, publish at QoS 2, and the datagram, event and timer loop.
pub fn endpoint() {
    let keys = keys();
    let mut config = EndpointConfig::new(black_box(Version::V2));
    config.max_payload = 1024;
    let mut node = Box::new(Endpoint::new(config, &keys, Box::new(SeededRandom::new(1)), MonoMillis(0)));
    let channel = node.channel(black_box("sensors/t"));
    let _ = node.subscribe(&channel);
    let peer: SocketAddr = black_box(SocketAddr::from(([10, 0, 0, 2], 8888)));
    let options = PublishOptions { qos: Qos::ExactlyOnce, ..PublishOptions::default() };
    let _ = node.publish(MonoMillis(1), peer, &channel, black_box(b"21.5"), options);
    let now = Now { unix: UnixMillis(black_box(1_750_000_000_000)), mono: MonoMillis(black_box(5)) };
    let mut buf = vec![0u8; node.max_datagram_len()];
    while let Ok(Some(t)) = node.poll_transmit(now.unix, &mut buf) {
        black_box(t.len);
    }
    node.handle_datagram(now, peer, black_box(&buf[..64]));
    while let Some(event) = node.poll_event() {
        black_box(event);
    }
    if let Some(at) = node.poll_timeout() {
        node.handle_timeout(at);
    }
}

/// An MQTT client session: connect, subscribe, publish at QoS 1, the bytes, event and timer
/// loop, in the protocol version the application picks.
pub fn mqtt(version: ProtocolVersion) {
    let config = SessionConfig::new(black_box(version), black_box("sensor-1"));
    let mut session = Session::new(config, Box::new(SeededRandom::new(2)));
    session.start(0);
    let _ = session.connect(1);
    let filter = (String::from(black_box("cmd/#")), SubscriptionOptions::qos(Qos::AtLeastOnce));
    let _ = session.subscribe(2, vec![filter], None);
    let _ = session.publish(
        3,
        Message::new(black_box("sensors/t"), black_box(b"21.5".to_vec()), Qos::AtLeastOnce, false),
    );
    let mut buf = [0u8; 512];
    loop {
        let n = session.poll_transmit(4, &mut buf);
        if n == 0 {
            break;
        }
        black_box(&buf[..n]);
    }
    session.handle_bytes(5, black_box(&buf[..32]));
    while let Some(event) = session.poll_event() {
        black_box(event);
    }
    if let Some(at) = session.poll_timeout() {
        session.handle_timeout(at);
    }
}

/// A bump allocator over a static arena: the images are measured, not run, and a real firmware
/// brings its own allocator (the C library maps to `malloc`).
struct Arena {
    memory: UnsafeCell<[u8; ARENA]>,
    used: UnsafeCell<usize>,
}

const ARENA: usize = 32 * 1024;

// SAFETY: the images are single-threaded and never run; the arena is not shared across threads.
unsafe impl Sync for Arena {}

// SAFETY: returns aligned, non-overlapping blocks inside the arena, or null when it is spent.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded (see `Sync` above).
        let used = unsafe { &mut *self.used.get() };
        let start = used.next_multiple_of(layout.align());
        if start + layout.size() > ARENA {
            return core::ptr::null_mut();
        }
        *used = start + layout.size();
        // SAFETY: `start + size` is within the arena.
        unsafe { self.memory.get().cast::<u8>().add(start) }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static HEAP: Arena = Arena { memory: UnsafeCell::new([0; ARENA]), used: UnsafeCell::new(0) };

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
