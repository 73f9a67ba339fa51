//! The NoMQ endpoint: a sans-IO node that subscribes, publishes at QoS 0/1/2, retransmits,
//! suppresses duplicates and replays, answers heartbeats and replays retained messages, on the
//! v1 wire (byte-compatible with the reference) or v2.
//!
//! # Calling contract
//!
//! The endpoint never performs I/O. The caller owns the UDP socket, two millisecond clocks and
//! a [`Random`] source (IVs, ids, nonces, retransmission jitter):
//!
//! - a **wall clock**, [`UnixMillis`](crate::UnixMillis): packets carry it (the v1 and v2
//!   timestamp fields) and receivers accept a packet only within
//!   [`EndpointConfig::window_ms`] of their own;
//! - a **monotonic clock**, [`MonoMillis`] (only differences matter): every timer runs on it,
//!   so a step of the wall clock (NTP, an RTC set by firmware) moves no retransmission, expiry
//!   or housekeeping deadline.
//!
//! Each call takes the clock it uses; [`Now`](crate::Now) carries both. Methods fall into four
//! groups, in the manner of quinn-proto:
//!
//! - **getters** read without changing anything: [`Endpoint::config`],
//!   [`Endpoint::session_id`], [`Endpoint::stats`], [`Endpoint::usage`],
//!   [`Endpoint::channel`], [`Endpoint::is_subscribed`], [`Endpoint::max_datagram_len`];
//! - **`handle_*`** feed what happened outside: [`Endpoint::handle_datagram`] (a datagram
//!   arrived; takes `Now`: the wall clock for the acceptance window, the monotonic one for
//!   the tables it updates) and [`Endpoint::handle_timeout`] (the monotonic clock reached
//!   [`Endpoint::poll_timeout`]);
//! - **mutators** are the application's requests: [`Endpoint::subscribe`],
//!   [`Endpoint::unsubscribe`], [`Endpoint::announce`], [`Endpoint::heartbeat`] and
//!   [`Endpoint::publish`] (monotonic: it schedules the first retransmission and the ttl);
//! - **`poll_*`** take what the endpoint produced: [`Endpoint::poll_transmit`] (wall: each
//!   datagram is sealed with a fresh timestamp when it is taken, so send it right away),
//!   [`Endpoint::poll_event`], [`Endpoint::poll_timeout`] (a monotonic deadline).
//!
//! After any `handle_*` or mutator call, poll in this order: send every datagram
//! `poll_transmit` gives until `None`, take every event, then re-arm the timer from
//! `poll_timeout`, which the input may have moved.
//!
//! ```text
//! let mut endpoint = Endpoint::new(config, &keys, random, mono_now());
//! loop {
//!     let now = Now::new(unix_now(), mono_now());
//!     endpoint.handle_datagram(now, from, &datagram);   // when one arrives
//!     endpoint.handle_timeout(now.mono);                // when poll_timeout() is reached
//!     endpoint.publish(now.mono, to, &channel, payload, options)?;  // when the app asks
//!     while let Some(t) = endpoint.poll_transmit(now.unix, &mut buf)? {
//!         socket.send_to(&buf[..t.len], t.to)
//!     }
//!     while let Some(event) = endpoint.poll_event() { ... }
//!     sleep until endpoint.poll_timeout() on the monotonic clock, or the next datagram
//! }
//! ```
//!
//! Bad input never fails a call and never panics: a bad datagram is counted in [`Stats`] and
//! dropped. Every publish ends in exactly one [`Event::PublishDone`].

mod config;
mod event;
mod inbound;
mod outbound;
mod peers;
mod random;
mod receive;
mod retained;
mod send;
mod stats;
mod timers;
mod transmit;

pub use config::{EndpointConfig, V1_MAX_TEXT, V2_MAX_PAYLOAD};
pub use event::{Dropped, Event, Message, PublishId, PublishOutcome};
pub use random::{Random, SeededRandom};
pub use stats::Stats;
pub use transmit::Transmit;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, SocketAddr};

use crate::error::{Error, InvalidInput, ResourceError, Table};
use crate::frame::{ChannelId, DEFAULT_TTL, Flags, FrameCodec, OpenOptions, PacketType, Qos, Version};
use crate::keys::Keys;
use crate::time::MonoMillis;
use inbound::Inbound;
use outbound::{Outbound, Pending, Stage, retry_delay};
use peers::Peers;
use retained::Retained;
use transmit::{OutMessage, Outgoing};

/// A channel name with its id, computed once (v1 §2, v2 invariant 4). Get one from
/// [`Endpoint::channel`] and keep it for every publish on that channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Channel {
    name: String,
    id: ChannelId,
}

impl Channel {
    /// The channel name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The channel id in headers.
    pub fn id(&self) -> ChannelId {
        self.id
    }
}

/// How to publish one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishOptions {
    /// Quality of service (the reference's default is 1).
    pub qos: Qos,
    /// Keep the message and replay it to new subscribers that announce themselves.
    pub retain: bool,
    /// Priority 0..=15 (clamped), carried in the flags; receivers may use it.
    pub priority: u8,
    /// Seconds the message stays valid: retransmissions stop and retained copies expire after.
    pub ttl: u16,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions { qos: Qos::AtLeastOnce, retain: false, priority: 0, ttl: DEFAULT_TTL }
    }
}

/// Entries in each bounded table of an endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// QoS 1/2 publishes awaiting confirmation (`max_pending`).
    pub pending: usize,
    /// Remembered received PUBLISH ids (`max_inbound`).
    pub inbound: usize,
    /// Tracked peers (`max_peers`).
    pub peers: usize,
    /// Channels with retained messages (`max_retained_channels`).
    pub retained_channels: usize,
    /// Local subscriptions (`max_subscriptions`).
    pub subscriptions: usize,
    /// Queued outgoing datagrams (`max_transmits`).
    pub transmits: usize,
    /// Undelivered events (`max_events` gates new inbound messages).
    pub events: usize,
}

/// A NoMQ node, sans-IO. See the [module documentation](self) for the calling contract and
/// the two clocks.
pub struct Endpoint {
    config: EndpointConfig,
    codec: FrameCodec,
    random: Box<dyn Random + Send>,
    session_id: u32,
    /// Packet ids are a per-session counter (see `new_packet_id`).
    next_packet_id: u32,
    next_publish_id: u64,
    subscriptions: BTreeMap<ChannelId, String>,
    outbound: Outbound,
    inbound: Inbound,
    peers: Peers,
    retained: Retained,
    transmits: VecDeque<Outgoing>,
    events: VecDeque<Event>,
    /// Decryption buffer for `handle_datagram`, allocated once.
    scratch: Vec<u8>,
    stats: Stats,
    /// `Event::Message`s in `events`, and their payload bytes.
    queued_messages: usize,
    queued_message_bytes: usize,
    /// Refusals and transmit drops not yet reported by a `Dropped` event.
    unreported_refusals: u64,
    unreported_transmit_drops: u64,
    unreported_peer_evictions: u64,
    next_housekeeping: MonoMillis,
}

impl Endpoint {
    /// A node speaking `config.version` under `keys`, created at `now` (monotonic).
    pub fn new(
        config: EndpointConfig,
        keys: &Keys,
        mut random: Box<dyn Random + Send>,
        now: MonoMillis,
    ) -> Self {
        let codec = FrameCodec::new(keys, config.version)
            .with_options(OpenOptions { window_ms: config.window_ms, strict_iv: false });
        let session_id = random.next_u32();
        let next_packet_id = first_packet_id(config.version, random.as_mut());
        // Received plaintexts are opened here: as large as the largest datagram this node
        // would send itself (`max_payload`), so a firmware configuration with small messages
        // does not carry a 64 KiB buffer. A larger datagram is refused (rejected_malformed).
        let scratch = vec![0u8; codec.sealed_len(PacketType::Publish, max_body_len(&config))];
        Endpoint {
            scratch,
            codec,
            random,
            session_id,
            next_packet_id,
            next_publish_id: 1,
            subscriptions: BTreeMap::new(),
            outbound: Outbound::default(),
            inbound: Inbound::default(),
            peers: Peers::default(),
            retained: Retained::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            queued_messages: 0,
            queued_message_bytes: 0,
            unreported_refusals: 0,
            unreported_transmit_drops: 0,
            unreported_peer_evictions: 0,
            next_housekeeping: now.saturating_add(HOUSEKEEPING_MS),
            config,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// This node's session id (random per endpoint).
    pub fn session_id(&self) -> u32 {
        self.session_id
    }

    /// Counters since creation.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// How full each bounded table is (for metrics, and for tests that memory stays bounded).
    pub fn usage(&self) -> Usage {
        Usage {
            pending: self.outbound.entries.len(),
            inbound: self.inbound.len(),
            peers: self.peers.len(),
            retained_channels: self.retained.channels(),
            subscriptions: self.subscriptions.len(),
            transmits: self.transmits.len(),
            events: self.events.len(),
        }
    }

    /// The channel `name` with its id for this endpoint's version.
    pub fn channel(&self, name: &str) -> Channel {
        Channel { name: String::from(name), id: self.codec.channel_id(name) }
    }

    /// The largest datagram this endpoint can produce; `poll_transmit` buffers of this size
    /// never fall short.
    pub fn max_datagram_len(&self) -> usize {
        self.codec.sealed_len(PacketType::Publish, self.max_body_len())
    }

    /// Starts delivering messages of `channel`. Local only: nothing is sent (see
    /// [`Endpoint::announce`]).
    pub fn subscribe(&mut self, channel: &Channel) -> Result<(), Error> {
        if !self.subscriptions.contains_key(&channel.id)
            && self.subscriptions.len() >= self.config.max_subscriptions
        {
            return Err(ResourceError::Full(Table::Subscriptions).into());
        }
        self.subscriptions.insert(channel.id, channel.name.clone());
        Ok(())
    }

    /// Stops delivering messages of `channel`; false when it was not subscribed.
    pub fn unsubscribe(&mut self, channel: &Channel) -> bool {
        self.subscriptions.remove(&channel.id).is_some()
    }

    /// True when `channel` is subscribed.
    pub fn is_subscribed(&self, channel: &Channel) -> bool {
        self.subscriptions.contains_key(&channel.id)
    }

    /// Sends a SUBSCRIBE (or, with `subscribe == false`, UNSUBSCRIBE) for `channel` to `to`, as
    /// the reference does (flags carry the priority in the low nibble in v1, §22.20). nomq
    /// nodes answer a SUBSCRIBE with their retained messages for the channel.
    pub fn announce(
        &mut self,
        to: SocketAddr,
        channel: &Channel,
        subscribe: bool,
        priority: u8,
    ) -> Result<(), Error> {
        let kind = if subscribe { PacketType::Subscribe } else { PacketType::Unsubscribe };
        // The name is the packet's plaintext: refused now if no datagram can carry it, rather
        // than failing at every `poll_transmit` in front of everything queued behind it.
        if channel.name.len() > self.max_body_len() {
            return Err(InvalidInput::PayloadTooLarge.into());
        }
        let flags = match (self.config.version, subscribe) {
            (Version::V1, true) => Flags::v1_subscribe(priority),
            _ => Flags(0),
        };
        self.queue_app(Outgoing::Announce { to: canonical(to), kind, name: channel.name.clone(), flags })
    }

    /// Sends a HEARTBEAT to `to`. Peers answer at most once per heartbeat interval.
    pub fn heartbeat(&mut self, to: SocketAddr) -> Result<(), Error> {
        self.queue_app(Outgoing::Heartbeat { to: canonical(to), answer: false })
    }

    /// Publishes `payload` on `channel` to `to` (unicast, broadcast or multicast). Returns the id
    /// that the final [`Event::PublishDone`] carries. In v1 the payload must be UTF-8 text (the
    /// reference's receivers decode it as a string). `now` (monotonic) starts the retransmission
    /// schedule and the ttl.
    pub fn publish(
        &mut self,
        now: MonoMillis,
        to: SocketAddr,
        channel: &Channel,
        payload: &[u8],
        options: PublishOptions,
    ) -> Result<PublishId, Error> {
        if payload.len() > self.config.max_payload {
            return Err(InvalidInput::PayloadTooLarge.into());
        }
        if self.config.version == Version::V1 && core::str::from_utf8(payload).is_err() {
            return Err(InvalidInput::NotText.into());
        }
        if self.transmits.len() >= self.config.max_transmits {
            return Err(ResourceError::Full(Table::Transmits).into());
        }
        // Every publish ends in an event: an application that never reads them is stopped
        // here, so the event queue stays bounded (messages are gated on receipt instead).
        if self.events.len() - self.queued_messages >= self.config.max_events {
            return Err(ResourceError::Full(Table::Events).into());
        }
        let tracked = options.qos != Qos::AtMostOnce;
        if tracked && self.outbound.entries.len() >= self.config.max_pending {
            return Err(ResourceError::Full(Table::Pending).into());
        }
        let to = canonical(to);
        let id = PublishId(self.next_publish_id);
        self.next_publish_id += 1;
        let packet_id = self.new_packet_id();
        let msg = OutMessage {
            channel: channel.id,
            flags: Flags::publish(options.qos, options.retain, options.priority),
            ttl: options.ttl,
            nonce: self.random.next_u32(),
            payload: payload.to_vec(),
        };
        let expires_at = now.saturating_add(u64::from(options.ttl) * 1000);
        if options.retain {
            let limits = (self.config.max_retained_per_channel, self.config.max_retained_channels);
            let mut retained_msg = msg.clone();
            retained_msg.flags = Flags::publish(Qos::AtMostOnce, true, options.priority);
            let events = &mut self.events;
            self.retained.store(&channel.name, retained_msg, now, expires_at, limits, &mut |d| {
                events.push_back(Event::Dropped(d));
            });
        }
        self.stats.published += 1;
        if tracked {
            let stage = if options.qos == Qos::AtLeastOnce { Stage::Ack } else { Stage::Rec };
            let first_retry = now.saturating_add(self.retry_delay(0));
            self.outbound.entries.insert(
                packet_id,
                Pending {
                    id,
                    to,
                    group: is_group(to.ip()),
                    peer: None,
                    msg,
                    stage,
                    expires_at,
                    next_retry: first_retry,
                    retries: 0,
                },
            );
            self.transmits.push_back(Outgoing::Tracked { packet_id });
        } else {
            self.transmits.push_back(Outgoing::Publish { to, packet_id, msg, done: Some(id) });
        }
        Ok(id)
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        let event = self.events.pop_front();
        if let Some(Event::Message(m)) = &event {
            self.queued_messages -= 1;
            self.queued_message_bytes -= m.payload.len();
        }
        event
    }

    /// The next event, left queued: a caller with a byte budget of its own looks at a message's
    /// size before taking it.
    pub fn peek_event(&self) -> Option<&Event> {
        self.events.front()
    }

    /// The next event that is not a [`Event::Message`], leaving messages queued in order: for
    /// a caller whose message consumer is full, so publish completions and peer events do not
    /// wait behind undelivered messages (the messages' own backpressure is the bounded queue).
    pub fn poll_event_except_messages(&mut self) -> Option<Event> {
        let at = self.events.iter().position(|e| !matches!(e, Event::Message(_)))?;
        self.events.remove(at)
    }

    /// Largest plaintext body: the configured payload limit, plus the v1 inner header.
    fn max_body_len(&self) -> usize {
        max_body_len(&self.config)
    }

    /// A packet id for a new exchange: a per-session counter, in both versions. v2 requires it
    /// (layout); in v1 the reference draws random ids (§2), but receivers treat the id as
    /// opaque, so counting stays wire-compatible and lets nomq receivers keep a fixed-size
    /// replay window per sender (see `inbound.rs`). On wrap-around a new session starts.
    fn new_packet_id(&mut self) -> u32 {
        let id = self.next_packet_id;
        self.next_packet_id = self.next_packet_id.wrapping_add(1);
        if self.next_packet_id == 0 {
            self.session_id = self.random.next_u32();
            self.next_packet_id = first_packet_id(self.config.version, self.random.as_mut());
        }
        id
    }

    fn retry_delay(&mut self, retries: u32) -> u64 {
        let r = self.random.next_u32();
        retry_delay(self.config.initial_retry_ms, self.config.max_retry_ms, retries, r)
    }

    /// Queues an informational event (peer liveness, evictions) when the queue has room;
    /// otherwise it is only counted. Messages are gated by refusing the datagram instead, and
    /// publish outcomes are always queued (bounded by the pending and transmit tables).
    fn push_info(&mut self, event: Event) {
        if self.events.len() < self.config.max_events {
            self.events.push_back(event);
        } else {
            self.stats.events_discarded += 1;
        }
    }

    /// Queues a datagram the application asked for, refusing when the queue is full.
    fn queue_app(&mut self, item: Outgoing) -> Result<(), Error> {
        if self.transmits.len() >= self.config.max_transmits {
            return Err(ResourceError::Full(Table::Transmits).into());
        }
        self.transmits.push_back(item);
        Ok(())
    }

    /// Queues a protocol reply; when the queue is full it is dropped (the peer retransmits).
    fn queue_reply(&mut self, item: Outgoing) {
        if self.transmits.len() >= self.config.max_transmits {
            self.unreported_transmit_drops += 1;
            return;
        }
        self.transmits.push_back(item);
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("version", &self.config.version)
            .field("session_id", &self.session_id)
            .field("subscriptions", &self.subscriptions.len())
            .field("pending", &self.outbound.entries.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// The largest PUBLISH plaintext under `config`: v1 adds the inner header to the text (§10).
fn max_body_len(config: &EndpointConfig) -> usize {
    match config.version {
        Version::V1 => config.max_payload + crate::frame::V1_INNER_HEADER_LEN + 4,
        Version::V2 => config.max_payload,
    }
}

/// v2 counts from 1; v1 starts at a random point of the lower half, so ids look like the
/// reference's random ones yet cannot wrap for 2^31 packets.
fn first_packet_id(version: Version, random: &mut (dyn Random + Send)) -> u32 {
    match version {
        Version::V1 => (random.next_u32() >> 1).max(1),
        Version::V2 => 1,
    }
}

/// Interval of table housekeeping (duplicate cache, retained expiry, peer liveness).
const HOUSEKEEPING_MS: u64 = 1000;

/// Broadcast and multicast destinations may be confirmed by any peer. Subnet broadcasts cannot
/// be told from unicast without the netmask; an IPv4 address ending in .255 is taken as one.
fn is_group(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_broadcast() || v4.is_multicast() || v4.octets()[3] == 255,
        IpAddr::V6(v6) => v6.is_multicast(),
    }
}

/// IPv4-mapped IPv6 addresses (from dual-stack sockets) compare as their IPv4 form.
fn canonical(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => addr,
        },
        SocketAddr::V4(_) => addr,
    }
}
