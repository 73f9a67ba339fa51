//! The MQTT 3.1.1 and 5.0 packet codec: `decode` borrows from the received bytes, `encode`
//! writes into the caller's buffer. Both validate strictly (MQTT 5.0 §4.13).

mod connect;
mod control;
mod properties;
mod publish;
mod subscribe;
pub(crate) mod wire;

pub use connect::{ConnAck, Connect, Will};
pub use control::ReasonPacket;
pub use properties::Properties;
pub use publish::{Ack, Publish};
pub use subscribe::{SubAck, Subscribe, SubscriptionOptions, Unsubscribe};
pub use wire::MAX_VARINT;

use properties::Place;
use wire::{Reader, Writer, decode_varint, varint_len};

use crate::mqtt::MqttError;

/// The protocol level of a connection.
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// MQTT 3.1.1 (level 4).
    V311 = 4,
    /// MQTT 5.0 (level 5).
    V5 = 5,
}

impl ProtocolVersion {
    /// The version whose protocol level (§3.1.2.2) is `level`: 4 or 5. Level 3 (MQTT 3.1)
    /// is not spoken.
    pub fn from_level(level: u8) -> Option<ProtocolVersion> {
        match level {
            4 => Some(ProtocolVersion::V311),
            5 => Some(ProtocolVersion::V5),
            _ => None,
        }
    }
}

/// Every MQTT control packet (§2.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // Variants are the packet names.
pub enum Packet<'a> {
    /// Boxed: it carries two property lists, and is decoded once per connection while
    /// PUBLISH (the common packet) would otherwise pay for its size.
    Connect(alloc::boxed::Box<Connect<'a>>),
    ConnAck(ConnAck<'a>),
    Publish(Publish<'a>),
    PubAck(Ack<'a>),
    PubRec(Ack<'a>),
    PubRel(Ack<'a>),
    PubComp(Ack<'a>),
    Subscribe(Subscribe<'a>),
    SubAck(SubAck<'a>),
    Unsubscribe(Unsubscribe<'a>),
    UnsubAck(SubAck<'a>),
    PingReq,
    PingResp,
    Disconnect(ReasonPacket<'a>),
    /// MQTT 5.0 only.
    Auth(ReasonPacket<'a>),
}

/// Decodes one packet from the start of `buf`.
///
/// `Ok(None)`: more bytes are needed. `Ok(Some((packet, used)))`: a packet of `used` bytes.
/// A packet whose remaining length would exceed `max_packet_size` is refused as soon as its
/// length is known, before it is buffered (§3.1.2.11.4). CONNECT carries its own version.
pub fn decode(
    buf: &[u8],
    version: ProtocolVersion,
    max_packet_size: u32,
) -> Result<Option<(Packet<'_>, usize)>, MqttError> {
    let Some(&first) = buf.first() else { return Ok(None) };
    let Some((remaining, len_bytes)) = decode_varint(&buf[1..])? else { return Ok(None) };
    let total = 1 + len_bytes + remaining as usize;
    if total > max_packet_size as usize {
        return Err(MqttError::PacketTooLarge);
    }
    if buf.len() < total {
        return Ok(None);
    }
    let mut r = Reader::new(&buf[1 + len_bytes..total]);
    let (kind, flags) = (first >> 4, first & 0x0f);
    // Fixed-header flags are reserved except for PUBLISH (§2.1.3).
    let expected_flags = match kind {
        3 => flags,
        6 | 8 | 10 => 0b0010,
        _ => 0,
    };
    if flags != expected_flags {
        return Err(MqttError::Malformed("reserved fixed-header flags"));
    }
    let v = version;
    let packet = match kind {
        1 => Packet::Connect(alloc::boxed::Box::new(Connect::decode(&mut r)?)),
        2 => Packet::ConnAck(ConnAck::decode(&mut r, v)?),
        3 => Packet::Publish(Publish::decode(&mut r, flags, v)?),
        4 => Packet::PubAck(Ack::decode(&mut r, v)?),
        5 => Packet::PubRec(Ack::decode(&mut r, v)?),
        6 => Packet::PubRel(Ack::decode(&mut r, v)?),
        7 => Packet::PubComp(Ack::decode(&mut r, v)?),
        8 => Packet::Subscribe(Subscribe::decode(&mut r, v)?),
        9 => Packet::SubAck(SubAck::decode(&mut r, v, Place::SubAck)?),
        10 => Packet::Unsubscribe(Unsubscribe::decode(&mut r, v)?),
        11 => Packet::UnsubAck(SubAck::decode(&mut r, v, Place::UnsubAck)?),
        12 => Packet::PingReq,
        13 => Packet::PingResp,
        14 => Packet::Disconnect(ReasonPacket::decode(&mut r, v, Place::Disconnect)?),
        15 if v == ProtocolVersion::V5 => Packet::Auth(ReasonPacket::decode(&mut r, v, Place::Auth)?),
        _ => return Err(MqttError::Malformed("unknown packet type")),
    };
    if !r.is_empty() {
        return Err(MqttError::Malformed("bytes left over after the packet"));
    }
    Ok(Some((packet, total)))
}

impl Packet<'_> {
    fn type_and_flags(&self) -> u8 {
        let (kind, flags) = match self {
            Packet::Connect(_) => (1, 0),
            Packet::ConnAck(_) => (2, 0),
            Packet::Publish(p) => (3, p.flags()),
            Packet::PubAck(_) => (4, 0),
            Packet::PubRec(_) => (5, 0),
            Packet::PubRel(_) => (6, 0b0010),
            Packet::PubComp(_) => (7, 0),
            Packet::Subscribe(_) => (8, 0b0010),
            Packet::SubAck(_) => (9, 0),
            Packet::Unsubscribe(_) => (10, 0b0010),
            Packet::UnsubAck(_) => (11, 0),
            Packet::PingReq => (12, 0),
            Packet::PingResp => (13, 0),
            Packet::Disconnect(_) => (14, 0),
            Packet::Auth(_) => (15, 0),
        };
        (kind << 4) | flags
    }

    /// The CONNECT's own version wins over the connection's (it is what sets it).
    fn version(&self, v: ProtocolVersion) -> ProtocolVersion {
        match self {
            Packet::Connect(c) => c.protocol,
            _ => v,
        }
    }

    /// Checks that the packet can be sent: valid strings, topics and properties for `v`.
    pub fn check(&self, v: ProtocolVersion) -> Result<(), MqttError> {
        let v = self.version(v);
        match self {
            Packet::Connect(c) => c.check(),
            Packet::ConnAck(c) => c.check(v),
            Packet::Publish(p) => p.check(v),
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => a.check(v),
            Packet::Subscribe(s) => s.check(v),
            Packet::SubAck(s) => s.check(v, Place::SubAck),
            Packet::Unsubscribe(u) => u.check(v),
            Packet::UnsubAck(s) => s.check(v, Place::UnsubAck),
            Packet::PingReq | Packet::PingResp => Ok(()),
            Packet::Disconnect(d) => d.check(v, Place::Disconnect),
            Packet::Auth(_) if v == ProtocolVersion::V311 => Err(MqttError::Protocol("AUTH needs MQTT 5.0")),
            Packet::Auth(a) => a.check(v, Place::Auth),
        }
    }

    fn body_len(&self, v: ProtocolVersion) -> usize {
        match self {
            Packet::Connect(c) => c.body_len(),
            Packet::ConnAck(c) => c.body_len(v),
            Packet::Publish(p) => p.body_len(v),
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => a.body_len(v),
            Packet::Subscribe(s) => s.body_len(v),
            Packet::SubAck(s) | Packet::UnsubAck(s) => s.body_len(v),
            Packet::Unsubscribe(u) => u.body_len(v),
            Packet::PingReq | Packet::PingResp => 0,
            Packet::Disconnect(d) | Packet::Auth(d) => d.body_len(v),
        }
    }

    /// Bytes `encode` writes (after a successful `check`).
    pub fn encoded_len(&self, v: ProtocolVersion) -> usize {
        let body = self.body_len(self.version(v));
        1 + varint_len(body as u32) + body
    }

    /// Checks and writes the packet into `out`; returns the bytes written.
    pub fn encode(&self, v: ProtocolVersion, out: &mut [u8]) -> Result<usize, MqttError> {
        self.check(v)?;
        let body = self.body_len(self.version(v));
        if body > wire::MAX_VARINT as usize {
            return Err(MqttError::PacketTooLarge);
        }
        let total = 1 + varint_len(body as u32) + body;
        let out = out.get_mut(..total).ok_or(MqttError::BufferTooSmall { needed: total })?;
        self.encode_unchecked(v, out);
        Ok(total)
    }

    /// Writes a packet already checked with [`Packet::check`] into `out`, which must be exactly
    /// [`Packet::encoded_len`] bytes. For callers that checked once and encode often.
    pub(crate) fn encode_unchecked(&self, v: ProtocolVersion, out: &mut [u8]) {
        let v = self.version(v);
        let body = self.body_len(v);
        let total = out.len();
        let mut w = Writer::new(out);
        w.u8(self.type_and_flags());
        w.varint(body as u32);
        match self {
            Packet::Connect(c) => c.write(&mut w),
            Packet::ConnAck(c) => c.write(&mut w, v),
            Packet::Publish(p) => p.write(&mut w, v),
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                a.write(&mut w, v)
            }
            Packet::Subscribe(s) => s.write(&mut w, v),
            Packet::SubAck(s) | Packet::UnsubAck(s) => s.write(&mut w, v),
            Packet::Unsubscribe(u) => u.write(&mut w, v),
            Packet::PingReq | Packet::PingResp => {}
            Packet::Disconnect(d) | Packet::Auth(d) => d.write(&mut w, v),
        }
        debug_assert_eq!(w.position(), total, "body_len and write agree");
    }
}
