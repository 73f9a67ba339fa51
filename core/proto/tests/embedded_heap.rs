//! The heap one endpoint holds with an embedded configuration (small bounds, 1 KiB payloads)
//! under a standard workload: 100 QoS 2 exchanges each way with each of two peers. A counting
//! allocator attributes every allocation made while the endpoint under test runs (its
//! constructor, publish, handle_datagram, poll_transmit, poll_event, handle_timeout) to it, and
//! records the peak. The figure is printed (`cargo test --test embedded_heap -- --nocapture`)
//! and held to a bound, so that a table that stops being bounded, or a buffer sized for the
//! host's 64 KiB datagrams, fails here.

use nomq_proto::endpoint::{Endpoint, EndpointConfig, PublishOptions, SeededRandom};
use nomq_proto::frame::{Qos, Version};
use nomq_proto::{Keys, MonoMillis, Now, UnixMillis};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Set while the endpoint under test runs: only its allocations count.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counting() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `alloc` with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` with the endpoint under test's allocations counted.
fn measured<T>(f: impl FnOnce() -> T) -> T {
    COUNTING.with(|c| c.set(true));
    let out = f();
    COUNTING.with(|c| c.set(false));
    out
}

/// The embedded profile the MicroPython package and the firmware examples use.
fn embedded(version: Version) -> EndpointConfig {
    let mut c = EndpointConfig::new(version);
    c.max_payload = 1024;
    c.max_pending = 32;
    c.max_inbound = 512;
    c.max_sessions = 32;
    c.max_subscriptions = 16;
    c.max_retained_channels = 8;
    c.max_retained_per_channel = 2;
    c.max_peers = 32;
    c.max_events = 64;
    c.max_transmits = 64;
    c.max_event_bytes = 32 * 1024;
    c
}

const START: u64 = 1_750_000_000_000;
/// What the endpoint under test may hold at its peak: the embedded goal.
const BUDGET: usize = 16 * 1024;

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i as u8 + 1], 9000))
}

#[test]
fn an_embedded_endpoint_stays_within_its_heap_budget() {
    for version in [Version::V1, Version::V2] {
        CURRENT.store(0, Ordering::Relaxed);
        PEAK.store(0, Ordering::Relaxed);
        let keys = Keys::new([0x11; 32], [0x22; 32]);
        let make = |seed| {
            Endpoint::new(embedded(version), &keys, Box::new(SeededRandom::new(seed)), MonoMillis(1_000))
        };
        // Boxed, as every binding holds it: the struct itself (about 2.7 KB, most of it the
        // AES key schedules) counts with its tables.
        let mut nodes = [measured(|| Box::new(make(1))), Box::new(make(2)), Box::new(make(3))];
        let inbound = nodes[0].channel("in");
        let outbound = nodes[0].channel("out");
        measured(|| nodes[0].subscribe(&inbound).unwrap());
        nodes[1].subscribe(&outbound).unwrap();
        nodes[2].subscribe(&outbound).unwrap();
        let created = CURRENT.load(Ordering::Relaxed);
        let mut buf = vec![0u8; 2048];
        let qos2 = PublishOptions { qos: Qos::ExactlyOnce, ..Default::default() };
        let mut mono = 1_000;
        let mut delivered = 0;
        for i in 0..100 {
            mono += 10;
            let text = format!("reading {i}");
            for peer in 1..3 {
                measured(|| nodes[0].publish(MonoMillis(mono), addr(peer), &outbound, text.as_bytes(), qos2))
                    .unwrap();
                nodes[peer].publish(MonoMillis(mono), addr(0), &inbound, text.as_bytes(), qos2).unwrap();
            }
            let now = Now { unix: UnixMillis(START + mono), mono: MonoMillis(mono) };
            loop {
                let mut moved = false;
                for src in 0..3 {
                    let sent =
                        measured_if(src == 0, || nodes[src].poll_transmit(now.unix, &mut buf).unwrap());
                    if let Some(t) = sent {
                        moved = true;
                        let dst = (0..3).find(|&d| addr(d) == t.to).expect("a known node");
                        let datagram = buf[..t.len].to_vec();
                        measured_if(dst == 0, || nodes[dst].handle_datagram(now, addr(src), &datagram));
                    }
                }
                if !moved {
                    break;
                }
            }
            for (n, node) in nodes.iter_mut().enumerate() {
                while let Some(e) = measured_if(n == 0, || node.poll_event()) {
                    if n == 0 && matches!(e, nomq_proto::endpoint::Event::Message(_)) {
                        delivered += 1;
                    }
                }
            }
        }
        assert_eq!(delivered, 200, "{version:?}: every message delivered");
        let stats = nodes[0].stats();
        assert_eq!(stats.confirmed, 200, "{version:?}");
        let (held, peak) = (CURRENT.load(Ordering::Relaxed), PEAK.load(Ordering::Relaxed));
        println!(
            "{version:?} embedded endpoint heap: {created} B created, {held} B held after, {peak} B peak"
        );
        assert!(peak <= BUDGET, "{version:?}: peak {peak} B over the {BUDGET} B budget");
    }
}

fn measured_if<T>(yes: bool, f: impl FnOnce() -> T) -> T {
    if yes { measured(f) } else { f() }
}
