//! Two endpoints over a network the fuzzer controls: each input byte is an operation
//! (publish, deliver, drop, duplicate, reorder, replay, corrupt, inject raw bytes, let time
//! pass, stop or resume reading events), for both protocol versions. Small table bounds, so
//! the fuzzer reaches them.
//!
//! Invariants, checked after every operation and at the end:
//! - nothing panics;
//! - every table stays within its configured bound;
//! - a publish ends at most once (one `PublishDone` per id);
//! - a QoS 2 message is delivered at most once, whatever is replayed or duplicated;
//! - a publish reported `Confirmed` was delivered;
//! - once the network heals, every QoS 1/2 publish ends (confirmed or expired) within its ttl.
#![no_main]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use nomq_proto::endpoint::{
    Endpoint, EndpointConfig, Event, PublishId, PublishOptions, PublishOutcome, SeededRandom,
};
use nomq_proto::frame::{Qos, Version};
use nomq_proto::{Keys, MonoMillis, Now, UnixMillis};

const WALL_START: u64 = 1_750_000_000_000;
/// Datagrams held by the network at most (more are lost, as on a full link).
const MAX_IN_FLIGHT: usize = 64;
/// Datagrams remembered for replays.
const HISTORY: usize = 16;

struct Node {
    addr: SocketAddr,
    ep: Endpoint,
    /// Reading events (a slow consumer stops).
    reading: bool,
    /// Publishes made: id → (payload, qos).
    published: HashMap<PublishId, (Vec<u8>, Qos)>,
    /// Ids that ended.
    ended: HashMap<PublishId, PublishOutcome>,
}

struct World {
    now: u64,
    nodes: [Node; 2],
    /// (to node, from address, bytes).
    in_flight: Vec<(usize, SocketAddr, Vec<u8>)>,
    history: Vec<(usize, Vec<u8>)>,
    /// Payload → deliveries, over both nodes.
    delivered: HashMap<Vec<u8>, usize>,
    /// Payloads published at QoS 2.
    exactly_once: HashSet<Vec<u8>>,
    config: EndpointConfig,
    buf: Vec<u8>,
    counter: u32,
}

impl World {
    fn new(version: Version) -> Self {
        let mut config = EndpointConfig::new(version);
        config.max_pending = 8;
        config.max_inbound = 32;
        config.max_sessions = 4;
        config.max_events = 8;
        config.max_transmits = 8;
        config.max_peers = 4;
        config.max_retained_per_channel = 2;
        config.max_retained_channels = 2;
        let keys = Keys::new([0x11; 32], [0x22; 32]);
        let node = |i: u8| Node {
            addr: SocketAddr::from(([10, 0, 0, i + 1], 8888)),
            ep: Endpoint::new(config.clone(), &keys, Box::new(SeededRandom::new(u64::from(i) + 1)), MonoMillis(0)),
            reading: true,
            published: HashMap::new(),
            ended: HashMap::new(),
        };
        World {
            now: 0,
            nodes: [node(0), node(1)],
            in_flight: Vec::new(),
            history: Vec::new(),
            delivered: HashMap::new(),
            exactly_once: HashSet::new(),
            config,
            buf: vec![0; 70_000],
            counter: 0,
        }
    }

    fn clock(&self) -> Now {
        Now { unix: UnixMillis(WALL_START + self.now), mono: MonoMillis(self.now) }
    }

    fn publish(&mut self, from: usize, op: u8) {
        let qos = Qos::from_u8(op % 3).expect("0, 1 and 2 are QoS levels");
        self.counter += 1;
        let payload = format!("m{}", self.counter).into_bytes();
        let to = self.nodes[1 - from].addr;
        let opts = PublishOptions { qos, retain: op & 0x40 != 0, priority: 0, ttl: 5 + u16::from(op >> 4) };
        let ch = self.nodes[from].ep.channel("c");
        let now = self.clock().mono;
        if let Ok(id) = self.nodes[from].ep.publish(now, to, &ch, &payload, opts) {
            if qos == Qos::ExactlyOnce {
                self.exactly_once.insert(payload.clone());
            }
            assert!(self.nodes[from].published.insert(id, (payload, qos)).is_none(), "publish id reused");
        }
    }

    /// Moves what the endpoints want to send onto the network, reads their events.
    fn flush(&mut self) {
        for i in 0..2 {
            let unix = self.clock().unix;
            while let Ok(Some(t)) = self.nodes[i].ep.poll_transmit(unix, &mut self.buf) {
                let target = self.nodes.iter().position(|n| n.addr == t.to);
                if let Some(target) = target
                    && self.in_flight.len() < MAX_IN_FLIGHT
                {
                    self.in_flight.push((target, self.nodes[i].addr, self.buf[..t.len].to_vec()));
                }
            }
            if self.nodes[i].reading {
                self.read_events(i);
            }
        }
    }

    fn read_events(&mut self, i: usize) {
        while let Some(e) = self.nodes[i].ep.poll_event() {
            match e {
                Event::Message(m) => {
                    let n = self.delivered.entry(m.payload.clone()).or_insert(0);
                    *n += 1;
                    if self.exactly_once.contains(&m.payload) {
                        assert_eq!(*n, 1, "QoS 2 message delivered twice");
                    }
                }
                Event::PublishDone { id, outcome } => {
                    let node = &mut self.nodes[i];
                    assert!(node.published.contains_key(&id), "outcome for an unknown id");
                    assert!(node.ended.insert(id, outcome).is_none(), "publish ended twice");
                }
                _ => {}
            }
        }
    }

    fn deliver(&mut self, index: usize) {
        if self.in_flight.is_empty() {
            return;
        }
        let (to, from, bytes) = self.in_flight.remove(index % self.in_flight.len());
        let now = self.clock();
        self.nodes[to].ep.handle_datagram(now, from, &bytes);
        if self.history.len() == HISTORY {
            self.history.remove(0);
        }
        self.history.push((to, bytes));
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        let now = self.clock().mono;
        for n in &mut self.nodes {
            if n.ep.poll_timeout().is_some_and(|t| t <= now) {
                n.ep.handle_timeout(now);
            }
        }
    }

    fn check_bounds(&self) {
        let c = &self.config;
        for n in &self.nodes {
            let u = n.ep.usage();
            assert!(u.pending <= c.max_pending, "pending {}", u.pending);
            assert!(u.inbound <= c.max_sessions + 2 * c.max_inbound, "inbound {}", u.inbound);
            assert!(u.peers <= c.max_peers, "peers {}", u.peers);
            assert!(u.retained_channels <= c.max_retained_channels);
            assert!(u.transmits <= c.max_transmits, "transmits {}", u.transmits);
            // Messages are gated at max_events; a publish is refused while max_events other
            // events wait, and the publishes in flight each add one outcome (and perhaps one
            // retained eviction).
            let bound = 2 * c.max_events + 2 * (c.max_pending + c.max_transmits);
            assert!(u.events <= bound, "events {}", u.events);
        }
    }

    fn op(&mut self, op: u8, arg: u8, raw: &[u8]) {
        match op % 12 {
            0 | 1 => self.publish(0, arg),
            2 => self.publish(1, arg),
            3..=5 => self.deliver(usize::from(arg)),
            6 => {
                if !self.in_flight.is_empty() {
                    let i = usize::from(arg) % self.in_flight.len();
                    self.in_flight.remove(i);
                }
            }
            7 => {
                if !self.in_flight.is_empty() && self.in_flight.len() < MAX_IN_FLIGHT {
                    let i = usize::from(arg) % self.in_flight.len();
                    let copy = self.in_flight[i].clone();
                    self.in_flight.push(copy);
                }
            }
            8 => {
                // A recorded datagram replayed, from the right or a spoofed address.
                if !self.history.is_empty() {
                    let (to, bytes) = self.history[usize::from(arg) % self.history.len()].clone();
                    let from = if arg & 1 == 0 { self.nodes[1 - to].addr } else { SocketAddr::from(([10, 9, 9, 9], 1)) };
                    let now = self.clock();
                    self.nodes[to].ep.handle_datagram(now, from, &bytes);
                }
            }
            9 => {
                // Corrupt one byte of a datagram in flight.
                if let Some(d) = self.in_flight.get_mut(usize::from(arg) % 64) {
                    let at = usize::from(arg) % d.2.len().max(1);
                    if let Some(b) = d.2.get_mut(at) {
                        *b ^= 0x5a;
                    }
                }
            }
            10 => {
                let to = usize::from(arg & 1);
                let from = self.nodes[1 - to].addr;
                let now = self.clock();
                self.nodes[to].ep.handle_datagram(now, from, raw);
            }
            _ => match arg % 4 {
                0 => self.advance(u64::from(arg) * 50),
                1 => self.advance(u64::from(arg) * 1_000),
                2 => self.nodes[usize::from(arg >> 7)].reading ^= true,
                _ => {
                    let to = self.nodes[usize::from(arg >> 7)].addr;
                    let _ = self.nodes[1 - usize::from(arg >> 7)].ep.heartbeat(to);
                }
            },
        }
        self.flush();
        self.check_bounds();
    }

    /// No more faults: deliver everything, read everything, let time pass until every QoS 1/2
    /// publish has ended.
    fn heal(&mut self) {
        for n in &mut self.nodes {
            n.reading = true;
        }
        // Longest ttl used is 5 + 15 s; retries every 8 s at most.
        for _ in 0..400 {
            self.flush();
            while !self.in_flight.is_empty() {
                self.deliver(0);
                self.flush();
            }
            self.check_bounds();
            self.advance(100);
        }
        self.flush();
        for n in &self.nodes {
            for (id, outcome) in &n.ended {
                if *outcome == PublishOutcome::Confirmed {
                    let (payload, _) = &n.published[id];
                    assert!(self.delivered.contains_key(payload), "confirmed but never delivered");
                }
            }
            for (id, (_, qos)) in &n.published {
                if *qos != Qos::AtMostOnce {
                    assert!(n.ended.contains_key(id), "a QoS {qos:?} publish never ended after the network healed");
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, script)) = data.split_first() else { return };
    let version = if first & 1 == 0 { Version::V1 } else { Version::V2 };
    let mut world = World::new(version);
    for i in 0..2 {
        let ch = world.nodes[i].ep.channel("c");
        world.nodes[i].ep.subscribe(&ch).unwrap();
    }
    // Operations are (op, arg) pairs; op 10 takes its raw datagram from the rest of the input.
    let mut rest = script;
    while let [op, arg, tail @ ..] = rest {
        if op % 12 == 10 {
            let len = usize::from(*arg).min(tail.len());
            world.op(*op, *arg, &tail[..len]);
            rest = &tail[len..];
        } else {
            world.op(*op, *arg, &[]);
            rest = tail;
        }
    }
    world.heal();
});
