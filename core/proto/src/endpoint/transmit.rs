//! Outgoing datagrams are queued as descriptions and sealed only when the driver asks
//! (`poll_transmit`), into the driver's buffer, with a fresh IV and timestamp: a retransmission
//! after 20 s is therefore not stale at the receiver.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use super::event::PublishId;
use crate::frame::{ChannelId, Flags, PacketType};

/// A datagram ready in the caller's buffer: send `buf[..len]` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// Bytes written at the start of the buffer.
    pub len: usize,
}

/// The content of a PUBLISH, kept for (re)transmission and retained replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct OutMessage {
    pub(super) channel: ChannelId,
    pub(super) flags: Flags,
    pub(super) ttl: u16,
    /// v1 inner nonce (§10): the same for every retransmission of one message.
    pub(super) nonce: u32,
    pub(super) payload: Vec<u8>,
}

#[derive(Debug)]
pub(super) enum Outgoing {
    /// A PUBLISH that is not tracked: QoS 0, or a retained message replayed to a subscriber.
    /// `done` reports `Sent` once it is handed over.
    Publish { to: SocketAddr, packet_id: u32, msg: OutMessage, done: Option<PublishId> },
    /// The next transmission of a tracked QoS 1/2 publish (PUBLISH or PUBREL, by its stage),
    /// looked up at send time: confirmed entries are skipped.
    Tracked { packet_id: u32 },
    /// ACK, PUBREC, PUBREL or PUBCOMP answering `packet_id` (v1 §5, §11).
    Reply { to: SocketAddr, kind: PacketType, packet_id: u32, channel: ChannelId },
    /// SUBSCRIBE or UNSUBSCRIBE carrying the channel name.
    Announce { to: SocketAddr, kind: PacketType, name: String, flags: Flags },
    /// HEARTBEAT; `answer` marks a reply (v2 flag bit 0).
    Heartbeat { to: SocketAddr, answer: bool },
}
