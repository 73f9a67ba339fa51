//! Typed header values shared by both versions: version, packet type, flags, header.

use crate::error::Malformed;
use crate::frame::ChannelId;

/// The NoMQ wire version of a packet (byte 2).
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// Byte-compatible with the reference MicroPython implementation (nomq-v1.md).
    V1 = 1,
    /// HMAC-SHA256, keyed channel ids, millisecond timestamps (nomq-v2.md).
    V2 = 2,
}

/// Packet types, identical in both versions (v1 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// A message on a channel.
    Publish = 1,
    /// Announces interest in a channel.
    Subscribe = 2,
    /// QoS 1 acknowledgement.
    Ack = 3,
    /// Withdraws interest in a channel.
    Unsubscribe = 4,
    /// Liveness signal.
    Heartbeat = 5,
    /// QoS 2 step 1: publish received.
    PubRec = 6,
    /// QoS 2 step 2: publish release.
    PubRel = 7,
    /// QoS 2 step 3: publish complete.
    PubComp = 8,
}

impl PacketType {
    /// The type for a wire byte; anything outside 1..=8 is [`Malformed::UnknownType`].
    pub fn from_byte(b: u8) -> Result<Self, Malformed> {
        Ok(match b {
            1 => PacketType::Publish,
            2 => PacketType::Subscribe,
            3 => PacketType::Ack,
            4 => PacketType::Unsubscribe,
            5 => PacketType::Heartbeat,
            6 => PacketType::PubRec,
            7 => PacketType::PubRel,
            8 => PacketType::PubComp,
            other => return Err(Malformed::UnknownType(other)),
        })
    }

    /// True for ACK, PUBREC, PUBREL and PUBCOMP, which answer a PUBLISH by its packet id.
    pub fn is_ack_family(self) -> bool {
        matches!(self, PacketType::Ack | PacketType::PubRec | PacketType::PubRel | PacketType::PubComp)
    }

    /// True for the types that carry an encrypted body in v2 (PUBLISH, SUBSCRIBE, UNSUBSCRIBE);
    /// the others have `L = 0` there (v2 packet layout).
    pub fn carries_body_in_v2(self) -> bool {
        matches!(self, PacketType::Publish | PacketType::Subscribe | PacketType::Unsubscribe)
    }
}

/// Quality of service of a PUBLISH (flags bits 0-1, v1 §4).
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Qos {
    /// Fire and forget.
    AtMostOnce = 0,
    /// Acknowledged with ACK; may be delivered more than once.
    AtLeastOnce = 1,
    /// PUBREC/PUBREL/PUBCOMP; delivered once.
    ExactlyOnce = 2,
}

impl Qos {
    /// QoS from 0..=2; `None` for anything else (QoS 3 is invalid, v1 §22.19).
    pub fn from_u8(q: u8) -> Option<Self> {
        match q {
            0 => Some(Qos::AtMostOnce),
            1 => Some(Qos::AtLeastOnce),
            2 => Some(Qos::ExactlyOnce),
            _ => None,
        }
    }
}

/// The flags byte (offset 4). Its meaning depends on the packet type (v1 §4, v2 layout):
/// for PUBLISH bits 0-1 are the QoS, bit 2 retain, bit 3 DUP (v2 only), bits 4-7 the priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(pub u8);

impl Flags {
    const QOS: u8 = 0x03;
    const RETAIN: u8 = 0x04;
    const DUP: u8 = 0x08;
    /// v2 HEARTBEAT: this heartbeat is an answer and must not be answered (v2 "Exchanges").
    const ANSWER: u8 = 0x01;
    /// Highest priority value.
    pub const MAX_PRIORITY: u8 = 15;

    /// PUBLISH flags, as the reference computes them: the priority is clamped to 0..=15 and
    /// shifted into the high nibble (v1 §4). QoS 2, retain, priority 15 gives `0xF6`.
    pub fn publish(qos: Qos, retain: bool, priority: u8) -> Self {
        let retain = if retain { Self::RETAIN } else { 0 };
        Flags(qos as u8 | retain | (priority.min(Self::MAX_PRIORITY) << 4))
    }

    /// SUBSCRIBE flags as the reference sends them: the priority lands in the *low* nibble
    /// (`priority & 0x0F`, v1 §22.20). Receivers never interpret SUBSCRIBE flags.
    pub fn v1_subscribe(priority: u8) -> Self {
        Flags(priority & 0x0F)
    }

    /// ACK flags in v1: `0x01`, the QoS of the acknowledged message (v1 §4).
    pub const V1_ACK: Flags = Flags(0x01);

    /// v2 HEARTBEAT flags: `answer` marks a reply that must not be answered.
    pub fn heartbeat(answer: bool) -> Self {
        Flags(if answer { Self::ANSWER } else { 0 })
    }

    /// The raw byte.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// PUBLISH QoS; `None` for the invalid value 3 (v1 §22.19).
    pub fn qos(self) -> Option<Qos> {
        Qos::from_u8(self.0 & Self::QOS)
    }

    /// PUBLISH retain bit.
    pub fn retain(self) -> bool {
        self.0 & Self::RETAIN != 0
    }

    /// PUBLISH DUP bit: a retransmission (v2 only; always 0 in v1 packets).
    pub fn dup(self) -> bool {
        self.0 & Self::DUP != 0
    }

    /// PUBLISH priority, 0..=15.
    pub fn priority(self) -> u8 {
        self.0 >> 4
    }

    /// The same flags with the DUP bit set or cleared.
    #[must_use]
    pub fn with_dup(self, dup: bool) -> Self {
        Flags(if dup { self.0 | Self::DUP } else { self.0 & !Self::DUP })
    }

    /// v2 HEARTBEAT: true when this heartbeat answers another one.
    pub fn is_answer(self) -> bool {
        self.0 & Self::ANSWER != 0
    }
}

/// The authenticated header fields of a packet, version independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Packet type.
    pub kind: PacketType,
    /// Flags byte.
    pub flags: Flags,
    /// Packet id: random (v1) or a per-session counter (v2); replies carry the id they answer.
    pub packet_id: u32,
    /// The sender's session id.
    pub session_id: u32,
    /// Time to live in seconds.
    pub ttl: u16,
    /// Sender's Unix time in milliseconds. v1 carries whole seconds (the value is truncated
    /// when sealing and is a multiple of 1000 when opening); v2 carries milliseconds.
    pub timestamp_ms: u64,
    /// Channel id (zero for HEARTBEAT).
    pub channel: ChannelId,
    /// The packet's IV (v1: the copy inside the encrypted region, which is the one used to
    /// decrypt, v1 §6).
    pub iv: [u8; 16],
}

/// Default time to live of a packet in seconds (v1 §17).
pub const DEFAULT_TTL: u16 = 3600;

/// Default acceptance window for timestamps: ±30 s, inclusive (v1 §9.1 step 4).
pub const DEFAULT_WINDOW_MS: u64 = 30_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_flags_match_spec_examples() {
        assert_eq!(Flags::publish(Qos::ExactlyOnce, true, 15).bits(), 0xF6);
        assert_eq!(Flags::publish(Qos::AtLeastOnce, false, 3).bits(), 0x31);
        assert_eq!(Flags::publish(Qos::AtMostOnce, false, 200).priority(), 15, "clamped");
        assert_eq!(Flags::v1_subscribe(5).bits(), 0x05);
        assert_eq!(Flags::v1_subscribe(20).bits(), 0x04);
        let f = Flags::publish(Qos::AtLeastOnce, true, 7).with_dup(true);
        assert_eq!((f.qos(), f.retain(), f.dup(), f.priority()), (Some(Qos::AtLeastOnce), true, true, 7));
        assert!(!f.with_dup(false).dup());
        assert_eq!(Flags(0x03).qos(), None, "QoS 3 is invalid");
    }

    #[test]
    fn packet_type_bytes() {
        for b in 1..=8u8 {
            assert_eq!(PacketType::from_byte(b).unwrap() as u8, b);
        }
        assert_eq!(PacketType::from_byte(0), Err(Malformed::UnknownType(0)));
        assert_eq!(PacketType::from_byte(9), Err(Malformed::UnknownType(9)));
    }
}
