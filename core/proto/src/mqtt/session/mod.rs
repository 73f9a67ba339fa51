//! The MQTT client session, sans-IO: what to send, what it means and when to (re)connect,
//! without a socket, a clock or a thread (docs/architecture.md).
//!
//! # Calling contract
//!
//! The session never performs I/O. The caller owns one transport at a time (TCP, TLS,
//! WebSocket...), a monotonic millisecond clock (`now`: only differences matter) and a
//! [`Random`] source for the reconnect jitter. Methods fall into four groups, in the manner of
//! quinn-proto:
//!
//! - **getters** read without changing anything: [`Session::state`], [`Session::config`],
//!   [`Session::metrics`], [`Session::inflight`], [`Session::has_room`],
//!   [`Session::holding_back`], [`Session::is_idle`], [`Session::transmit`];
//! - **`handle_*`** feed what happened outside: [`Session::handle_bytes`] (bytes read),
//!   [`Session::handle_timeout`] (the clock reached [`Session::poll_timeout`]), and the
//!   transport's fate: [`Session::connect`] (it opened) and [`Session::connection_lost`] (it
//!   failed, closed, or could not be opened);
//! - **mutators** are the application's requests: [`Session::start`], [`Session::publish`],
//!   [`Session::subscribe`], [`Session::unsubscribe`], [`Session::auth`],
//!   [`Session::disconnect`], [`Session::set_clean_start`], [`Session::set_reading_paused`];
//! - **`poll_*`** take what the session produced: [`Session::poll_transmit`] (or
//!   [`Session::transmit`] + [`Session::transmitted`]), [`Session::poll_event`],
//!   [`Session::poll_timeout`].
//!
//! After any `handle_*` or mutator call, poll in this order: write every transmit byte, take
//! every event (acting on [`Event::OpenTransport`] and [`Event::Disconnected`]), then re-arm
//! the timer from `poll_timeout`, which events and writes may have moved.
//!
//! ```text
//! session.start(now);                                   // Event::OpenTransport
//! loop {
//!     match session.poll_event() {
//!         Some(Event::OpenTransport) => open a transport; then session.connect(now)
//!                                       or, if it fails, session.connection_lost(now)
//!         Some(Event::Disconnected(_)) => close the transport (a reconnect may be scheduled)
//!         ...
//!     }
//!     write session.poll_transmit(now, buf) to the transport
//!     session.handle_bytes(now, read);                  // when bytes arrive
//!     session.handle_timeout(now);                      // when poll_timeout() is reached
//! }
//! ```
//!
//! The session owns the connection policy, so every driver (tokio, C firmware, MicroPython)
//! behaves the same: reconnect backoff with full jitter, reset only after a connection stayed
//! up for [`ReconnectPolicy::stable_ms`]; one deadline from asking for a transport to CONNACK
//! ([`SessionConfig::connect_timeout_ms`]); keep alive and the PINGRESP deadline (MQTT 5.0
//! §3.1.2.10). Unacknowledged messages survive reconnects (§4.4).

mod aliases;
mod config;
mod connection;
mod event;
mod metrics;
mod outbox;
mod receive;
mod send;
mod timers;

pub use config::{
    LastWill, Message, MessageProperties, OutboxPolicy, RESUME_WINDOW_S, ReconnectPolicy, SessionConfig,
};
pub use event::{Disconnect, Event, PublishId, PublishOutcome, RequestId};
pub use metrics::Metrics;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use crate::endpoint::Random;
use crate::error::{Error, InvalidInput, ResourceError, Table};
use crate::frame::Qos;
use crate::mqtt::codec::{Properties, ReasonPacket, SubscriptionOptions};
use crate::mqtt::topic::{validate_topic_filter, validate_topic_name};
use crate::mqtt::{MqttError, Packet, ReasonCode};
use outbox::{Outbox, Queued};
use timers::{Backoff, Timer, Timers};

/// Bytes buffered for the transport before the outbox stops feeding it (backpressure).
const TX_HIGH_WATER: usize = 256 * 1024;

/// Connection state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No transport. A reconnect may be scheduled ([`Session::is_idle`] says whether).
    Disconnected,
    /// [`Event::OpenTransport`] was emitted: waiting for [`Session::connect`] (the transport is
    /// open) or [`Session::connection_lost`] (it could not be opened).
    Opening,
    /// CONNECT written, waiting for CONNACK.
    Connecting,
    /// CONNACK received: publishing and subscribing flow.
    Connected,
}

impl State {
    /// CONNECT was written on an open transport: bytes may flow both ways.
    pub fn has_transport(self) -> bool {
        matches!(self, State::Connecting | State::Connected)
    }
}

/// What the server allows, from CONNACK (MQTT 5.0 §3.2.2.3); 3.1.1 servers get the defaults.
#[derive(Debug, Clone, Copy)]
struct ServerLimits {
    receive_maximum: u16,
    maximum_packet_size: u32,
    topic_alias_maximum: u16,
    keep_alive: u16,
    maximum_qos: Qos,
    retain_available: bool,
}

/// A SUBSCRIBE or UNSUBSCRIBE: waiting for a connection, or written and awaiting its ack.
#[derive(Debug, Clone)]
struct Request {
    /// `None` for the session's own resubscriptions (no event).
    id: Option<RequestId>,
    kind: RequestKind,
}

#[derive(Debug, Clone)]
enum RequestKind {
    Subscribe { filters: Vec<(String, SubscriptionOptions)>, subscription_identifier: Option<u32> },
    Unsubscribe { filters: Vec<String> },
}

/// An MQTT client session. See the module documentation for the calling contract.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    rx: Vec<u8>,
    tx: Vec<u8>,
    outbox: Outbox,
    /// QoS 2 messages delivered and answered with PUBREC, awaiting PUBREL (by packet id).
    awaiting_release: BTreeSet<u16>,
    /// Granted subscriptions, resent when the server did not keep the session.
    subscriptions: BTreeMap<String, (SubscriptionOptions, Option<u32>)>,
    unsent_requests: VecDeque<Request>,
    pending_requests: BTreeMap<u16, Request>,
    events: VecDeque<Event>,
    incoming_aliases: aliases::Incoming,
    outgoing_aliases: aliases::Outgoing,
    server: ServerLimits,
    timers: Timers,
    backoff: Backoff,
    /// When the current connection's CONNACK arrived (for the stable period of the backoff).
    connected_at: Option<u64>,
    /// When the current connection's CONNECT was written (the keep alive's first reference).
    connect_sent_at: u64,
    jitter: Jitter,
    next_publish_id: u64,
    next_request_id: u64,
    /// Numbers inflight messages in the order they were first written.
    next_sequence: u64,
    /// The inflight window filled up: it reopens only once half of it is free (see `pump`).
    window_closed: bool,
    /// QoS 2 messages whose PUBREC arrived while the window was closed: their PUBRELs go out
    /// together (see `pump`).
    unreleased: Vec<u16>,
    connected_before: bool,
    /// The caller stopped reading the transport (its application is not taking messages):
    /// a PINGRESP may sit unread, so a late one does not end the connection.
    reading_paused: bool,
    metrics: Metrics,
}

impl Session {
    /// A disconnected session; [`Session::start`] asks for the first transport. `random`
    /// draws the reconnect jitter (the operating system's generator in production, a seeded
    /// one in tests). `config` is taken as given: check it first with
    /// [`SessionConfig::validate`], as every binding does.
    pub fn new(config: SessionConfig, random: Box<dyn Random + Send>) -> Self {
        Session {
            server: ServerLimits::defaults(&config),
            config,
            state: State::Disconnected,
            rx: Vec::new(),
            tx: Vec::new(),
            outbox: Outbox::default(),
            awaiting_release: BTreeSet::new(),
            subscriptions: BTreeMap::new(),
            unsent_requests: VecDeque::new(),
            pending_requests: BTreeMap::new(),
            events: VecDeque::new(),
            incoming_aliases: aliases::Incoming::default(),
            outgoing_aliases: aliases::Outgoing::default(),
            timers: Timers::default(),
            backoff: Backoff::default(),
            connected_at: None,
            connect_sent_at: 0,
            jitter: Jitter(random),
            next_publish_id: 1,
            next_request_id: 1,
            next_sequence: 0,
            window_closed: false,
            unreleased: Vec::new(),
            connected_before: false,
            reading_paused: false,
            metrics: Metrics::default(),
        }
    }

    /// The configuration (the client id is the server-assigned one after CONNACK, if any).
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The caller has stopped (`true`) or resumed (`false`) reading the transport, to push
    /// back on a server while its application does not take messages. While paused, a
    /// PINGRESP not read in time does not end the connection (it may be in the unread bytes);
    /// the keep alive still sends PINGREQ, so the server sees the client alive.
    pub fn set_reading_paused(&mut self, paused: bool) {
        self.reading_paused = paused;
    }

    /// Changes clean start for the next `connect` (mqboard connects clean once, then resumes).
    pub fn set_clean_start(&mut self, clean: bool) {
        self.config.clean_start = clean;
    }

    /// The connection state.
    pub fn state(&self) -> State {
        self.state
    }

    /// QoS 1/2 publishes written and not yet acknowledged.
    pub fn inflight(&self) -> usize {
        self.outbox.inflight.len()
    }

    /// Publishes wait for half the inflight window to be free
    /// ([`SessionConfig::refill_half_window`]): acknowledgements read now are answered by
    /// nothing, so the transport must acknowledge them itself, at once.
    pub fn holding_back(&self) -> bool {
        self.window_closed && (!self.outbox.queue.is_empty() || !self.unreleased.is_empty())
    }

    /// While [`Session::holding_back`], the completions still needed before the held-back
    /// publishes go (0 otherwise): how much the server still has to answer before it needs to
    /// hear from us.
    pub fn completions_before_refill(&self) -> usize {
        if !self.holding_back() {
            return 0;
        }
        let window = self.window();
        self.outbox.inflight.len().saturating_sub(window - window / 2)
    }

    /// Counters and gauges.
    pub fn metrics(&self) -> Metrics {
        Metrics {
            inflight: self.outbox.inflight.len(),
            queued_messages: self.outbox.queue.len(),
            queued_bytes: self.outbox.bytes,
            ..self.metrics
        }
    }

    /// Whether `publish` would accept a message of `size` bytes (see [`Message::size`]) rather
    /// than refuse it as `Full(Outbox)`: always under the drop-oldest policy, which makes room.
    /// Lets a driver wait for room without copying the message first.
    pub fn has_room(&self, size: usize) -> bool {
        self.config.outbox_policy == OutboxPolicy::DropOldest
            || (self.outbox.queue.len() < self.config.max_outbox_messages
                && (self.outbox.queue.is_empty() || self.outbox.bytes + size <= self.config.max_outbox_bytes))
    }

    /// Queues `message` and returns the id its [`Event::PublishDone`] will carry. It is sent
    /// when connected and the server's Receive Maximum allows.
    pub fn publish(&mut self, now: u64, message: Message) -> Result<PublishId, Error> {
        validate_topic_name(&message.topic)?;
        let encoded_len = send::check_message(&self.config, &message)?;
        if self.state == State::Connected {
            if message.qos > self.server.maximum_qos {
                return Err(MqttError::Protocol("QoS above the server's Maximum QoS").into());
            }
            if message.retain && !self.server.retain_available {
                return Err(MqttError::Protocol("the server does not support retained messages").into());
            }
            if encoded_len > self.server.maximum_packet_size as usize {
                return Err(MqttError::PacketTooLarge.into());
            }
        }
        let size = message.size();
        // A message the outbox could never hold is refused first: under drop-oldest it would
        // otherwise evict every queued message and still not fit.
        if size > self.config.max_outbox_bytes {
            return Err(InvalidInput::PayloadTooLarge.into());
        }
        while self.outbox.queue.len() >= self.config.max_outbox_messages
            || (!self.outbox.queue.is_empty() && self.outbox.bytes + size > self.config.max_outbox_bytes)
        {
            match self.config.outbox_policy {
                OutboxPolicy::Fail => return Err(ResourceError::Full(Table::Outbox).into()),
                OutboxPolicy::DropOldest => {
                    let Some(dropped) = self.outbox.pop_front() else { break };
                    self.metrics.dropped += 1;
                    self.events.push_back(Event::Dropped { id: dropped.id });
                }
            }
        }
        let id = PublishId(self.next_publish_id);
        self.next_publish_id += 1;
        self.outbox.push_back(Queued { id, message, since: now });
        self.pump(now);
        Ok(id)
    }

    /// Subscribes to `filters`. Sent now if connected, else at the next connection. The
    /// [`Event::Subscribed`] carries the server's answer; granted filters are resubscribed
    /// automatically after a reconnect that lost the session.
    pub fn subscribe(
        &mut self,
        now: u64,
        filters: Vec<(String, SubscriptionOptions)>,
        subscription_identifier: Option<u32>,
    ) -> Result<RequestId, Error> {
        if filters.is_empty() {
            return Err(MqttError::Protocol("SUBSCRIBE needs at least one filter").into());
        }
        for (f, _) in &filters {
            validate_topic_filter(f)?;
        }
        self.request(now, RequestKind::Subscribe { filters, subscription_identifier })
    }

    /// Unsubscribes from `filters` (and stops resubscribing them).
    pub fn unsubscribe(&mut self, now: u64, filters: Vec<String>) -> Result<RequestId, Error> {
        if filters.is_empty() {
            return Err(MqttError::Protocol("UNSUBSCRIBE needs at least one filter").into());
        }
        for f in &filters {
            validate_topic_filter(f)?;
            self.subscriptions.remove(f);
        }
        self.request(now, RequestKind::Unsubscribe { filters })
    }

    /// MQTT 5.0 enhanced authentication (§4.12) with the configured method: answers an
    /// [`Event::AuthChallenge`] with reason `CONTINUE_AUTHENTICATION` (0x18), or starts a
    /// re-authentication with `REAUTHENTICATE` (0x19) while connected.
    pub fn auth(&mut self, now: u64, reason: ReasonCode, data: &[u8]) -> Result<(), Error> {
        // Cloned: `write` borrows the whole session (AUTH is rare, not a hot path).
        let Some(method) = self.config.authentication_method.clone() else {
            return Err(MqttError::Protocol("AUTH needs SessionConfig::authentication_method").into());
        };
        let allowed = match reason {
            ReasonCode::CONTINUE_AUTHENTICATION => self.state.has_transport(),
            ReasonCode::REAUTHENTICATE => self.state == State::Connected,
            _ => false,
        };
        if self.config.version != crate::mqtt::ProtocolVersion::V5 || !allowed {
            return Err(MqttError::Protocol(
                "AUTH is MQTT 5.0 only, with reason 0x18 (continue) or 0x19 (re-authenticate, connected)",
            )
            .into());
        }
        let properties = Properties {
            authentication_method: Some(&method),
            authentication_data: Some(data),
            ..Properties::default()
        };
        self.write(now, &Packet::Auth(ReasonPacket { reason, properties }))
    }

    /// Bytes to write to the transport; call [`Session::transmitted`] with what was written.
    pub fn transmit(&self) -> &[u8] {
        &self.tx
    }

    /// `n` bytes of [`Session::transmit`] were written to the transport.
    pub fn transmitted(&mut self, now: u64, n: usize) {
        self.tx.drain(..n.min(self.tx.len()));
        self.pump(now);
    }

    /// Copies pending bytes into `buf` (whole or partial packets: it is a byte stream) and
    /// returns how many; for drivers that prefer their own buffer.
    pub fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.tx.len());
        buf[..n].copy_from_slice(&self.tx[..n]);
        self.transmitted(now, n);
        n
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn request(&mut self, now: u64, kind: RequestKind) -> Result<RequestId, Error> {
        let id = RequestId(self.next_request_id);
        self.next_request_id += 1;
        self.unsent_requests.push_back(Request { id: Some(id), kind });
        self.pump(now);
        Ok(id)
    }

    /// Encodes a PUBLISH whose content `publish` already checked (the alias and packet id it
    /// gained since are valid by construction), skipping the second check on the hot path.
    fn write_checked(&mut self, now: u64, packet: &Packet<'_>) -> Result<(), Error> {
        let v = self.config.version;
        let start = self.tx.len();
        let len = packet.encoded_len(v);
        if len > self.server.maximum_packet_size as usize {
            return Err(MqttError::PacketTooLarge.into());
        }
        self.tx.resize(start + len, 0);
        packet.encode_unchecked(v, &mut self.tx[start..]);
        self.wrote(now);
        Ok(())
    }

    /// Encodes `packet` into the transmit buffer.
    fn write(&mut self, now: u64, packet: &Packet<'_>) -> Result<(), Error> {
        encode_into(&mut self.tx, self.config.version, packet)?;
        self.wrote(now);
        Ok(())
    }

    /// A packet was written: the keep alive counts from now (MQTT 5.0 §3.1.2.10).
    fn wrote(&mut self, now: u64) {
        if self.state == State::Connected && self.server.keep_alive > 0 {
            self.timers.arm(Timer::KeepAlive, now, u64::from(self.server.keep_alive) * 1000);
        }
    }
}

/// The caller's random source, for the reconnect jitter.
struct Jitter(Box<dyn Random + Send>);

impl core::fmt::Debug for Jitter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Jitter")
    }
}

/// Appends `packet` to `tx`; on failure `tx` is left as it was. A free function so that packets
/// borrowing other session fields can be written.
fn encode_into(tx: &mut Vec<u8>, v: crate::mqtt::ProtocolVersion, packet: &Packet<'_>) -> Result<(), Error> {
    let start = tx.len();
    tx.resize(start + packet.encoded_len(v), 0);
    match packet.encode(v, &mut tx[start..]) {
        Ok(_) => Ok(()),
        Err(e) => {
            tx.truncate(start);
            Err(e.into())
        }
    }
}

impl ServerLimits {
    fn defaults(config: &SessionConfig) -> Self {
        ServerLimits {
            receive_maximum: u16::MAX,
            maximum_packet_size: crate::mqtt::codec::MAX_VARINT + 5,
            topic_alias_maximum: 0,
            keep_alive: config.keep_alive,
            maximum_qos: Qos::ExactlyOnce,
            retain_available: true,
        }
    }
}
