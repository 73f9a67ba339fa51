//! [`EndpointHandle`]: the NoMQ endpoint as a binding holds it. Channels are named by text
//! (their ids come from a bounded [`ChannelCache`]); events are read flat into the caller's
//! buffer ([`FlatEndpointEvent`] borrows its channel and payload from it), and an event that
//! does not fit is kept with the room it needs ([`EndpointSpilled`]). The kind enums are
//! `#[repr(u32)]`: the C header uses them as they are (`nomq_endpoint_event_kind`,
//! `nomq_publish_outcome`).

use alloc::boxed::Box;
use core::net::SocketAddr;

use nomq_proto::endpoint::{Channel, Dropped, Endpoint, EndpointConfig, Event, PublishOutcome, Random};
use nomq_proto::{Keys, MonoMillis};

use crate::ChannelCache;

/// What an endpoint event reports.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointEventKind {
    /// No event waiting.
    #[default]
    None = 0,
    /// A message on a subscribed channel: `channel`, `payload`, `peer` and the header fields.
    Message = 1,
    /// A publish finished: `publish_id`, `outcome`.
    PublishDone = 2,
    /// A peer was heard from (again): `peer`, `session_id`.
    PeerAlive = 3,
    /// A peer went quiet: `peer`.
    PeerLost = 4,
    /// A bound dropped something: `dropped_count` (and `channel` for a retained message).
    Dropped = 5,
}

/// How a publish finished.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointOutcome {
    /// QoS 0: handed to the network.
    #[default]
    Sent = 0,
    /// QoS 1 ACK or QoS 2 PUBCOMP received.
    Confirmed = 1,
    /// The ttl ran out without a confirmation.
    Expired = 2,
}

/// One event, flat: the fields its kind names are set, the others are zero. `channel` and
/// `payload` borrow the buffer given to [`EndpointHandle::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlatEndpointEvent<'a> {
    /// What happened.
    pub kind: EndpointEventKind,
    /// PUBLISH_DONE: the id `publish` returned.
    pub publish_id: u64,
    /// PUBLISH_DONE: how.
    pub outcome: EndpointOutcome,
    /// MESSAGE: the sender; PEER_*: the peer.
    pub peer: Option<SocketAddr>,
    /// MESSAGE: QoS it was published with.
    pub qos: u8,
    /// MESSAGE: retain flag.
    pub retain: bool,
    /// MESSAGE: priority 0..15.
    pub priority: u8,
    /// MESSAGE, PEER_ALIVE: the sender's session id.
    pub session_id: u32,
    /// MESSAGE: packet id.
    pub packet_id: u32,
    /// MESSAGE: the sender's timestamp, Unix milliseconds.
    pub timestamp_ms: u64,
    /// MESSAGE, DROPPED (retained): the channel name (UTF-8).
    pub channel: &'a [u8],
    /// MESSAGE: the payload (v1: UTF-8 text).
    pub payload: &'a [u8],
    /// DROPPED: how many.
    pub dropped_count: u64,
}

/// The next event did not fit the buffer and stays queued; a buffer of `channel_len +
/// payload_len` bytes takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointSpilled {
    /// Its kind.
    pub kind: EndpointEventKind,
    /// Bytes of its channel name.
    pub channel_len: usize,
    /// Bytes of its payload.
    pub payload_len: usize,
}

/// An endpoint, its channel ids by name, and the event that did not fit the caller's last
/// buffer.
pub struct EndpointHandle {
    endpoint: Endpoint,
    channels: ChannelCache<Channel>,
    spilled: Option<Event>,
    /// A non-message event that did not fit while a message was spilled (see `flatten`).
    spilled_other: Option<Event>,
}

impl core::fmt::Debug for EndpointHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EndpointHandle").field("session_id", &self.endpoint.session_id()).finish()
    }
}

impl EndpointHandle {
    /// An endpoint under `keys`, its configuration checked first (`EndpointConfig::validate`);
    /// `now` is the monotonic clock.
    pub fn new(
        config: EndpointConfig,
        keys: &Keys,
        random: Box<dyn Random + Send>,
        now: MonoMillis,
    ) -> Result<Self, nomq_proto::Error> {
        config.validate()?;
        Ok(EndpointHandle {
            endpoint: Endpoint::new(config, keys, random, now),
            channels: ChannelCache::default(),
            spilled: None,
            spilled_other: None,
        })
    }

    /// The endpoint, for getters.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The endpoint, for inputs and mutators.
    pub fn endpoint_mut(&mut self) -> &mut Endpoint {
        &mut self.endpoint
    }

    /// The channel named `name`, its id computed once while it stays in the cache.
    pub fn channel(&mut self, name: &str) -> Channel {
        let endpoint = &self.endpoint;
        self.channels.get_or_insert_with(name, |name| endpoint.channel(name))
    }

    /// Takes the next event, copying its channel then its payload into `buf`; `Ok(None)` when
    /// none waits. When they do not fit, the event stays queued and `Err(EndpointSpilled)`
    /// says how much room it needs. A buffer of `max_payload` plus the longest channel name
    /// always suffices.
    pub fn poll_event<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<FlatEndpointEvent<'b>>, EndpointSpilled> {
        let next =
            self.spilled.take().or_else(|| self.spilled_other.take()).or_else(|| self.endpoint.poll_event());
        self.flatten(next, buf)
    }

    /// As [`EndpointHandle::poll_event`], skipping messages (they stay queued, in order): for
    /// a caller whose own message buffer is full, so that publish outcomes and peer events do
    /// not wait behind messages it cannot take yet (`Endpoint::poll_event_except_messages`).
    pub fn poll_event_except_messages<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<FlatEndpointEvent<'b>>, EndpointSpilled> {
        let next = match self.spilled.take() {
            // A message that did not fit stays spilled; a non-message may spill beside it.
            Some(message @ Event::Message(_)) => {
                self.spilled = Some(message);
                self.spilled_other.take().or_else(|| self.endpoint.poll_event_except_messages())
            }
            Some(other) => Some(other),
            None => self.spilled_other.take().or_else(|| self.endpoint.poll_event_except_messages()),
        };
        self.flatten(next, buf)
    }

    fn flatten<'b>(
        &mut self,
        next: Option<Event>,
        buf: &'b mut [u8],
    ) -> Result<Option<FlatEndpointEvent<'b>>, EndpointSpilled> {
        let Some(event) = next else {
            return Ok(None);
        };
        let (kind, channel, payload): (_, &[u8], &[u8]) = match &event {
            Event::Message(m) => (EndpointEventKind::Message, m.channel.as_bytes(), &m.payload),
            Event::PublishDone { .. } => (EndpointEventKind::PublishDone, &[], &[]),
            Event::PeerAlive { .. } => (EndpointEventKind::PeerAlive, &[], &[]),
            Event::PeerLost { .. } => (EndpointEventKind::PeerLost, &[], &[]),
            Event::Dropped(Dropped::Retained { channel }) => {
                (EndpointEventKind::Dropped, channel.as_bytes(), &[])
            }
            Event::Dropped(_) => (EndpointEventKind::Dropped, &[], &[]),
        };
        let (channel_len, payload_len) = (channel.len(), payload.len());
        if channel_len + payload_len > buf.len() {
            // The second slot only ever holds a non-message spilled while a message waits in
            // the first (poll_event_except_messages).
            if self.spilled.is_none() {
                self.spilled = Some(event);
            } else {
                self.spilled_other = Some(event);
            }
            return Err(EndpointSpilled { kind, channel_len, payload_len });
        }
        let (channel_buf, rest) = buf.split_at_mut(channel_len);
        channel_buf.copy_from_slice(channel);
        let payload_buf = &mut rest[..payload_len];
        payload_buf.copy_from_slice(payload);
        let mut flat =
            FlatEndpointEvent { kind, channel: channel_buf, payload: payload_buf, ..Default::default() };
        match event {
            Event::Message(m) => {
                flat.peer = Some(m.from);
                flat.qos = m.qos as u8;
                flat.retain = m.retain;
                flat.priority = m.priority;
                flat.session_id = m.session_id;
                flat.packet_id = m.packet_id;
                flat.timestamp_ms = m.timestamp.0;
            }
            Event::PublishDone { id, outcome } => {
                flat.publish_id = id.0;
                flat.outcome = match outcome {
                    PublishOutcome::Sent => EndpointOutcome::Sent,
                    PublishOutcome::Confirmed => EndpointOutcome::Confirmed,
                    PublishOutcome::Expired => EndpointOutcome::Expired,
                };
            }
            Event::PeerAlive { addr, session_id } => {
                flat.peer = Some(addr);
                flat.session_id = session_id;
            }
            Event::PeerLost { addr } => flat.peer = Some(addr),
            Event::Dropped(Dropped::Retained { .. }) => flat.dropped_count = 1,
            Event::Dropped(
                Dropped::Peers { count } | Dropped::Inbound { count } | Dropped::Transmits { count },
            ) => {
                flat.dropped_count = count;
            }
        }
        Ok(Some(flat))
    }
}
