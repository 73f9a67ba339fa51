//! PUBLISH (§3.3) and its acknowledgements PUBACK, PUBREC, PUBREL, PUBCOMP (§3.4-§3.7).

use super::ProtocolVersion;
use super::connect::{check_props, props};
use super::properties::{Place, Properties};
use super::wire::{Reader, Writer};
use crate::frame::Qos;
use crate::mqtt::MqttError;
use crate::mqtt::reason::ReasonCode;
use crate::mqtt::topic::validate_topic_name;

/// PUBLISH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publish<'a> {
    /// A retransmission (QoS 1/2 only).
    pub dup: bool,
    /// Quality of service.
    pub qos: Qos,
    /// Retain flag.
    pub retain: bool,
    /// Topic name; empty when a 5.0 topic alias stands for it.
    pub topic: &'a str,
    /// Packet identifier, present exactly when QoS > 0.
    pub packet_id: Option<u16>,
    /// Application payload.
    pub payload: &'a [u8],
    /// PUBLISH properties (5.0).
    pub properties: Properties<'a>,
}

impl<'a> Publish<'a> {
    pub(crate) fn decode(r: &mut Reader<'a>, flags: u8, v: ProtocolVersion) -> Result<Self, MqttError> {
        let qos = Qos::from_u8((flags >> 1) & 0x03).ok_or(MqttError::Malformed("PUBLISH QoS 3"))?;
        let dup = flags & 0x08 != 0;
        if dup && qos == Qos::AtMostOnce {
            return Err(MqttError::Malformed("DUP set on a QoS 0 PUBLISH"));
        }
        let topic = r.string()?;
        let packet_id = match qos {
            Qos::AtMostOnce => None,
            _ => Some(nonzero_id(r)?),
        };
        let properties = props(r, v, Place::Publish)?;
        // An empty topic is only valid when a topic alias replaces it (5.0 §3.3.2.1).
        if !(topic.is_empty() && properties.topic_alias.is_some()) {
            validate_topic_name(topic)?;
        }
        Ok(Publish { dup, qos, retain: flags & 0x01 != 0, topic, packet_id, payload: r.rest(), properties })
    }

    pub(crate) fn flags(&self) -> u8 {
        (u8::from(self.dup) << 3) | ((self.qos as u8) << 1) | u8::from(self.retain)
    }

    pub(crate) fn check(&self, v: ProtocolVersion) -> Result<(), MqttError> {
        check_props(&self.properties, v == ProtocolVersion::V5, Place::Publish)?;
        if !(self.topic.is_empty() && self.properties.topic_alias.is_some()) {
            validate_topic_name(self.topic)?;
        }
        match (self.qos, self.packet_id) {
            (Qos::AtMostOnce, None) if !self.dup => Ok(()),
            (Qos::AtLeastOnce | Qos::ExactlyOnce, Some(id)) if id != 0 => Ok(()),
            _ => Err(MqttError::Protocol("packet id must be present exactly for QoS 1 and 2")),
        }
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        2 + self.topic.len()
            + if self.packet_id.is_some() { 2 } else { 0 }
            + if v == ProtocolVersion::V5 { self.properties.encoded_len() } else { 0 }
            + self.payload.len()
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>, v: ProtocolVersion) {
        w.prefixed(self.topic.as_bytes());
        if let Some(id) = self.packet_id {
            w.u16(id);
        }
        if v == ProtocolVersion::V5 {
            self.properties.encode(w);
        }
        w.bytes(self.payload);
    }
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack<'a> {
    /// The acknowledged packet id.
    pub packet_id: u16,
    /// Reason code (5.0; always success in 3.1.1).
    pub reason: ReasonCode,
    /// Properties (5.0).
    pub properties: Properties<'a>,
}

impl<'a> Ack<'a> {
    /// A plain successful acknowledgement of `packet_id`.
    pub fn new(packet_id: u16) -> Self {
        Ack { packet_id, reason: ReasonCode::SUCCESS, properties: Properties::default() }
    }

    /// §3.4.2.1: in 5.0 the reason code and properties may be omitted when the remaining
    /// length says so.
    pub(crate) fn decode(r: &mut Reader<'a>, v: ProtocolVersion) -> Result<Self, MqttError> {
        let packet_id = nonzero_id(r)?;
        let reason =
            if v == ProtocolVersion::V5 && !r.is_empty() { ReasonCode(r.u8()?) } else { ReasonCode::SUCCESS };
        let properties = if v == ProtocolVersion::V5 && !r.is_empty() {
            Properties::decode(r, Place::Ack)?
        } else {
            Properties::default()
        };
        Ok(Ack { packet_id, reason, properties })
    }

    pub(crate) fn check(&self, v: ProtocolVersion) -> Result<(), MqttError> {
        if self.packet_id == 0 {
            return Err(MqttError::Protocol("packet id 0"));
        }
        if v == ProtocolVersion::V311 && self.reason != ReasonCode::SUCCESS {
            return Err(MqttError::Protocol("reason codes need MQTT 5.0"));
        }
        check_props(&self.properties, v == ProtocolVersion::V5, Place::Ack)
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        match v {
            ProtocolVersion::V311 => 2,
            // The short forms: omit what is default.
            ProtocolVersion::V5 if self.properties.is_empty() && self.reason == ReasonCode::SUCCESS => 2,
            ProtocolVersion::V5 if self.properties.is_empty() => 3,
            ProtocolVersion::V5 => 3 + self.properties.encoded_len(),
        }
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>, v: ProtocolVersion) {
        w.u16(self.packet_id);
        let len = self.body_len(v);
        if len >= 3 {
            w.u8(self.reason.0);
        }
        if len > 3 {
            self.properties.encode(w);
        }
    }
}

/// Packet identifiers are non-zero (§2.2.1).
pub(crate) fn nonzero_id(r: &mut Reader<'_>) -> Result<u16, MqttError> {
    match r.u16()? {
        0 => Err(MqttError::Protocol("packet id 0")),
        id => Ok(id),
    }
}
