//! A deterministic network simulator for endpoints: a virtual clock, and seeded loss,
//! duplication and delay (which reorders). Every run with the same seed is identical.
//!
//! Time runs on one network timeline (`Net::now`, starting at [`START`]). Each node reads two
//! clocks from it, as a real driver would: a monotonic one counted from the node's boot (a
//! different origin per node, far from Unix time, so that a mixed-up clock shows), and a wall
//! clock that tests may set off or step (`Node::wall_offset_ms`).

#![allow(dead_code)]

use nomq_proto::endpoint::{Endpoint, EndpointConfig, Event, SeededRandom};
use nomq_proto::frame::Version;
use nomq_proto::{Keys, MonoMillis, Now, UnixMillis};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

/// The network timeline at the start of a run; a node's wall clock reads it plus its offset.
pub const START: u64 = 1_750_000_000_000;

#[derive(Debug, Clone, Copy)]
pub struct Impairments {
    pub loss: f64,
    pub duplicate: f64,
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Impairments {
    pub const NONE: Impairments = Impairments { loss: 0.0, duplicate: 0.0, min_delay_ms: 1, max_delay_ms: 1 };
    pub fn lossy(loss: f64) -> Self {
        Impairments { loss, duplicate: 0.1, min_delay_ms: 1, max_delay_ms: 80 }
    }
}

pub struct Node {
    pub addr: SocketAddr,
    pub ep: Endpoint,
    pub events: Vec<Event>,
    /// Every datagram this node sent, with the network time it left, for replay tests.
    pub sent: Vec<(u64, SocketAddr, Vec<u8>)>,
    /// The network time at which this node's monotonic clock read 0.
    pub boot: u64,
    /// This node's wall-clock error: its wall clock reads the network time plus this. Set it
    /// to step the clock (NTP, an RTC set by hand).
    pub wall_offset_ms: i64,
}

impl Node {
    /// Both clocks of this node at network time `t`.
    pub fn now(&self, t: u64) -> Now {
        Now::new(self.unix(t), self.mono(t))
    }

    /// This node's monotonic clock at network time `t`.
    pub fn mono(&self, t: u64) -> MonoMillis {
        MonoMillis(t - self.boot)
    }

    /// This node's wall clock at network time `t`.
    pub fn unix(&self, t: u64) -> UnixMillis {
        UnixMillis(t.saturating_add_signed(self.wall_offset_ms))
    }

    /// The network time at which this node's monotonic clock reads `mono`.
    pub fn at(&self, mono: MonoMillis) -> u64 {
        self.boot.saturating_add(mono.0)
    }
}

/// (deliver at, sequence number, target node, source address, bytes)
type InFlight = (u64, u64, usize, SocketAddr, Vec<u8>);

pub struct Net {
    pub now: u64,
    pub nodes: Vec<Node>,
    pub impair: Impairments,
    rng: SeededRandom,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    buf: Vec<u8>,
    pub datagrams_delivered: u64,
}

pub fn keys() -> Keys {
    Keys::new([0x11; 32], [0x22; 32])
}

pub fn addr(i: usize) -> SocketAddr {
    format!("10.0.0.{}:8888", i + 1).parse().unwrap()
}

impl Net {
    pub fn new(version: Version, nodes: usize, impair: Impairments, seed: u64) -> Self {
        Net::with_config(EndpointConfig::new(version), nodes, impair, seed)
    }

    pub fn with_config(config: EndpointConfig, nodes: usize, impair: Impairments, seed: u64) -> Self {
        let nodes = (0..nodes)
            .map(|i| {
                // Node i booted 10 + i seconds before the run started.
                let boot = START - 10_000 - 1_000 * i as u64;
                Node {
                    addr: addr(i),
                    ep: Endpoint::new(
                        config.clone(),
                        &keys(),
                        Box::new(SeededRandom::new(seed * 1000 + i as u64)),
                        MonoMillis(START - boot),
                    ),
                    events: vec![],
                    sent: vec![],
                    boot,
                    wall_offset_ms: 0,
                }
            })
            .collect();
        Net {
            now: START,
            nodes,
            impair,
            rng: SeededRandom::new(seed),
            in_flight: BinaryHeap::new(),
            seq: 0,
            buf: vec![0; 70_000],
            datagrams_delivered: 0,
        }
    }

    /// Node `i`'s clocks now.
    pub fn now_of(&self, i: usize) -> Now {
        self.nodes[i].now(self.now)
    }

    /// Node `i`'s monotonic clock now.
    pub fn mono(&self, i: usize) -> MonoMillis {
        self.nodes[i].mono(self.now)
    }

    /// Node `i`'s wall clock now.
    pub fn unix(&self, i: usize) -> UnixMillis {
        self.nodes[i].unix(self.now)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.rng.next_u64() as f64 / u64::MAX as f64) < p
    }

    fn delay(&mut self) -> u64 {
        let span = self.impair.max_delay_ms - self.impair.min_delay_ms + 1;
        self.impair.min_delay_ms + self.rng.next_u64() % span
    }

    /// Puts a datagram on the wire (subject to the impairments); `to` may be a broadcast
    /// address, reaching every other node.
    pub fn send(&mut self, from: usize, to: SocketAddr, bytes: Vec<u8>) {
        let targets: Vec<usize> = if to.ip().to_string().ends_with(".255") {
            (0..self.nodes.len()).filter(|&i| i != from).collect()
        } else {
            self.nodes.iter().position(|n| n.addr == to).into_iter().collect()
        };
        for target in targets {
            let copies = if self.chance(self.impair.duplicate) { 2 } else { 1 };
            for _ in 0..copies {
                if self.chance(self.impair.loss) {
                    continue;
                }
                let at = self.now + self.delay();
                self.seq += 1;
                self.in_flight.push(Reverse((at, self.seq, target, self.nodes[from].addr, bytes.clone())));
            }
        }
    }

    /// Injects raw bytes to `target` at the current time, bypassing impairments.
    pub fn inject(&mut self, target: usize, from: SocketAddr, bytes: &[u8]) {
        let now = self.now_of(target);
        self.nodes[target].ep.handle_datagram(now, from, bytes);
    }

    fn flush(&mut self) {
        for i in 0..self.nodes.len() {
            loop {
                let now = self.unix(i);
                let t = match self.nodes[i].ep.poll_transmit(now, &mut self.buf) {
                    Ok(Some(t)) => t,
                    Ok(None) => break,
                    Err(e) => panic!("poll_transmit: {e}"),
                };
                let bytes = self.buf[..t.len].to_vec();
                self.nodes[i].sent.push((self.now, t.to, bytes.clone()));
                self.send(i, t.to, bytes);
            }
            while let Some(e) = self.nodes[i].ep.poll_event() {
                self.nodes[i].events.push(e);
            }
        }
    }

    /// Advances the virtual clock to the next delivery or timer, at most to `until`.
    /// Returns false when nothing remains to happen before `until`.
    pub fn step(&mut self, until: u64) -> bool {
        self.flush();
        let next_delivery = self.in_flight.peek().map(|Reverse(d)| d.0);
        let next_timer = self.nodes.iter().filter_map(|n| n.ep.poll_timeout().map(|t| n.at(t))).min();
        let Some(next) = [next_delivery, next_timer].into_iter().flatten().min() else {
            return false;
        };
        if next > until {
            self.now = until;
            return false;
        }
        self.now = self.now.max(next);
        while let Some(Reverse(d)) = self.in_flight.peek() {
            if d.0 > self.now {
                break;
            }
            let Reverse((_, _, target, from, bytes)) = self.in_flight.pop().unwrap();
            self.datagrams_delivered += 1;
            let now = self.now_of(target);
            self.nodes[target].ep.handle_datagram(now, from, &bytes);
        }
        for n in &mut self.nodes {
            if n.ep.poll_timeout().is_some_and(|t| n.at(t) <= self.now) {
                let now = n.mono(self.now);
                n.ep.handle_timeout(now);
            }
        }
        self.flush();
        true
    }

    /// Runs until `until` or until `done` holds.
    pub fn run_until(&mut self, until: u64, mut done: impl FnMut(&Net) -> bool) {
        while !done(self) && self.step(until) {}
        self.flush();
    }

    pub fn idle(&self) -> bool {
        self.in_flight.is_empty()
    }
}
