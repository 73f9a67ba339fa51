//! A deterministic network simulator for endpoints: a virtual clock, and seeded loss,
//! duplication and delay (which reorders). Every run with the same seed is identical.

#![allow(dead_code)]

use nomq_proto::Keys;
use nomq_proto::endpoint::{Endpoint, EndpointConfig, Event, SeededRandom};
use nomq_proto::frame::Version;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;

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
    /// Every datagram this node sent, for replay tests.
    pub sent: Vec<(SocketAddr, Vec<u8>)>,
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
            .map(|i| Node {
                addr: addr(i),
                ep: Endpoint::new(
                    config.clone(),
                    &keys(),
                    Box::new(SeededRandom::new(seed * 1000 + i as u64)),
                    START,
                ),
                events: vec![],
                sent: vec![],
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
        let now = self.now;
        self.nodes[target].ep.handle_datagram(now, from, bytes);
    }

    fn flush(&mut self) {
        for i in 0..self.nodes.len() {
            loop {
                let now = self.now;
                let t = match self.nodes[i].ep.poll_transmit(now, &mut self.buf) {
                    Ok(Some(t)) => t,
                    Ok(None) => break,
                    Err(e) => panic!("poll_transmit: {e}"),
                };
                let bytes = self.buf[..t.len].to_vec();
                self.nodes[i].sent.push((t.to, bytes.clone()));
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
        let next_timer = self.nodes.iter().filter_map(|n| n.ep.poll_timeout()).min();
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
            let now = self.now;
            self.nodes[target].ep.handle_datagram(now, from, &bytes);
        }
        for n in &mut self.nodes {
            if n.ep.poll_timeout().is_some_and(|t| t <= self.now) {
                n.ep.handle_timeout(self.now);
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
