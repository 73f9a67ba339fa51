//! What an endpoint reports to its application (`Endpoint::poll_event`).

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use crate::frame::Qos;
use crate::time::UnixMillis;

/// Identifies one `publish` call; every publish ends in exactly one [`Event::PublishDone`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublishId(pub u64);

/// How a publish ended.
// Two `PublishOutcome`s share the bindings' namespace: this one is `NodePublishOutcome` there.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum), uniffi(name = "NodePublishOutcome"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PublishOutcome {
    /// QoS 0: the datagram was handed to the network.
    Sent,
    /// QoS 1: ACK received; QoS 2: PUBCOMP received.
    Confirmed,
    /// The ttl ran out before a confirmation arrived.
    Expired,
}

/// A message received on a subscribed channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Datagram source.
    pub from: SocketAddr,
    /// Channel name (as subscribed).
    pub channel: String,
    /// Payload: v1 UTF-8 text bytes, v2 arbitrary bytes.
    pub payload: Vec<u8>,
    /// QoS it was published with.
    pub qos: Qos,
    /// Retain flag (set on retained messages replayed to a new subscriber).
    pub retain: bool,
    /// Priority 0..=15.
    pub priority: u8,
    /// Sender's session id.
    pub session_id: u32,
    /// Packet id.
    pub packet_id: u32,
    /// Sender's wall-clock timestamp (v1 carries whole seconds).
    pub timestamp: UnixMillis,
}

/// A bounded table had to give something up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dropped {
    /// A retained message was evicted to make room (per-channel or channel limit).
    Retained {
        /// Its channel.
        channel: String,
    },
    /// Least recently heard peers were forgotten to make room in the peer table.
    Peers {
        /// Peers forgotten since the last report.
        count: u64,
    },
    /// PUBLISH packets were refused, unanswered, because the event queue or the duplicate table
    /// was full; their senders retransmit. Reported once per burst.
    Inbound {
        /// Packets refused since the last report.
        count: u64,
    },
    /// Outgoing replies were dropped because the transmit queue was full.
    Transmits {
        /// Datagrams dropped since the last report.
        count: u64,
    },
}

/// Everything an endpoint tells its application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message on a subscribed channel, delivered once.
    Message(Message),
    /// A publish finished.
    PublishDone {
        /// Which publish.
        id: PublishId,
        /// How.
        outcome: PublishOutcome,
    },
    /// A peer was heard from for the first time, or again after being lost.
    PeerAlive {
        /// Its address.
        addr: SocketAddr,
        /// Its session id.
        session_id: u32,
    },
    /// A peer has not been heard from for `peer_timeout_ms`.
    PeerLost {
        /// Its address.
        addr: SocketAddr,
    },
    /// A bound was hit.
    Dropped(Dropped),
}
