//! SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK (§3.8-§3.11).

use alloc::vec::Vec;

use super::ProtocolVersion;
use super::connect::{check_props, props};
use super::properties::{Place, Properties};
use super::publish::nonzero_id;
use super::wire::{Reader, Writer};
use crate::frame::Qos;
use crate::mqtt::MqttError;
use crate::mqtt::reason::ReasonCode;
use crate::mqtt::topic::validate_topic_filter;

/// Subscription options (§3.8.3.1); in 3.1.1 only the QoS exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubscriptionOptions {
    /// Maximum QoS the server may deliver with.
    pub qos: Qos,
    /// 5.0: do not receive our own publications.
    pub no_local: bool,
    /// 5.0: keep the retain flag as published.
    pub retain_as_published: bool,
    /// 5.0: 0 send retained messages, 1 only for a new subscription, 2 never.
    pub retain_handling: u8,
}

impl SubscriptionOptions {
    /// Options with only a QoS.
    pub fn qos(qos: Qos) -> Self {
        SubscriptionOptions { qos, no_local: false, retain_as_published: false, retain_handling: 0 }
    }

    fn byte(self) -> u8 {
        self.qos as u8
            | (u8::from(self.no_local) << 2)
            | (u8::from(self.retain_as_published) << 3)
            | (self.retain_handling << 4)
    }

    fn from_byte(b: u8, v: ProtocolVersion) -> Result<Self, MqttError> {
        let reserved = match v {
            ProtocolVersion::V311 => 0xfc,
            ProtocolVersion::V5 => 0xc0,
        };
        if b & reserved != 0 {
            return Err(MqttError::Malformed("subscription options reserved bits set"));
        }
        let retain_handling = (b >> 4) & 0x03;
        if retain_handling == 3 {
            return Err(MqttError::Protocol("retain handling 3"));
        }
        Ok(SubscriptionOptions {
            qos: Qos::from_u8(b & 0x03).ok_or(MqttError::Malformed("subscription QoS 3"))?,
            no_local: b & 0x04 != 0,
            retain_as_published: b & 0x08 != 0,
            retain_handling,
        })
    }
}

/// SUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// At least one (filter, options).
    pub filters: Vec<(&'a str, SubscriptionOptions)>,
    /// Properties (5.0): subscription identifier, user properties.
    pub properties: Properties<'a>,
}

impl<'a> Subscribe<'a> {
    pub(crate) fn decode(r: &mut Reader<'a>, v: ProtocolVersion) -> Result<Self, MqttError> {
        let packet_id = nonzero_id(r)?;
        let properties = props(r, v, Place::Subscribe)?;
        let mut filters = Vec::new();
        while !r.is_empty() {
            let filter = r.string()?;
            validate_topic_filter(filter)?;
            filters.push((filter, SubscriptionOptions::from_byte(r.u8()?, v)?));
        }
        if filters.is_empty() {
            return Err(MqttError::Protocol("SUBSCRIBE without a topic filter"));
        }
        Ok(Subscribe { packet_id, filters, properties })
    }

    pub(crate) fn check(&self, v: ProtocolVersion) -> Result<(), MqttError> {
        if self.packet_id == 0 || self.filters.is_empty() {
            return Err(MqttError::Protocol("SUBSCRIBE needs a packet id and a filter"));
        }
        for (f, o) in &self.filters {
            validate_topic_filter(f)?;
            let extended = o.no_local || o.retain_as_published || o.retain_handling != 0;
            if o.retain_handling > 2 || (v == ProtocolVersion::V311 && extended) {
                return Err(MqttError::Protocol("subscription option not available"));
            }
        }
        check_props(&self.properties, v == ProtocolVersion::V5, Place::Subscribe)
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        2 + props_len(&self.properties, v) + self.filters.iter().map(|(f, _)| 2 + f.len() + 1).sum::<usize>()
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>, v: ProtocolVersion) {
        w.u16(self.packet_id);
        write_props(&self.properties, w, v);
        for (f, o) in &self.filters {
            w.prefixed(f.as_bytes());
            w.u8(o.byte());
        }
    }
}

/// SUBACK or UNSUBACK: one reason code per filter (UNSUBACK has none in 3.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck<'a> {
    /// Packet identifier of the request.
    pub packet_id: u16,
    /// One per filter, in order: granted QoS or failure.
    pub reasons: Vec<ReasonCode>,
    /// Properties (5.0).
    pub properties: Properties<'a>,
}

impl<'a> SubAck<'a> {
    pub(crate) fn decode(r: &mut Reader<'a>, v: ProtocolVersion, place: Place) -> Result<Self, MqttError> {
        let packet_id = nonzero_id(r)?;
        let properties = props(r, v, place)?;
        let reasons: Vec<ReasonCode> = r.rest().iter().map(|&b| ReasonCode(b)).collect();
        // 3.1.1 SUBACK return codes are 0, 1, 2 or 0x80 (§3.9.3); UNSUBACK has no payload.
        if v == ProtocolVersion::V311
            && place == Place::SubAck
            && reasons.iter().any(|r| r.0 > 2 && r.0 != 0x80)
        {
            return Err(MqttError::Malformed("invalid SUBACK return code"));
        }
        if reasons.is_empty() && !(v == ProtocolVersion::V311 && place == Place::UnsubAck) {
            return Err(MqttError::Protocol("acknowledgement without reason codes"));
        }
        Ok(SubAck { packet_id, reasons, properties })
    }

    pub(crate) fn check(&self, v: ProtocolVersion, place: Place) -> Result<(), MqttError> {
        check_props(&self.properties, v == ProtocolVersion::V5, place)
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        2 + props_len(&self.properties, v) + self.reasons.len()
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>, v: ProtocolVersion) {
        w.u16(self.packet_id);
        write_props(&self.properties, w, v);
        for r in &self.reasons {
            w.u8(r.0);
        }
    }
}

/// UNSUBSCRIBE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// At least one filter.
    pub filters: Vec<&'a str>,
    /// Properties (5.0).
    pub properties: Properties<'a>,
}

impl<'a> Unsubscribe<'a> {
    pub(crate) fn decode(r: &mut Reader<'a>, v: ProtocolVersion) -> Result<Self, MqttError> {
        let packet_id = nonzero_id(r)?;
        let properties = props(r, v, Place::Unsubscribe)?;
        let mut filters = Vec::new();
        while !r.is_empty() {
            let f = r.string()?;
            validate_topic_filter(f)?;
            filters.push(f);
        }
        if filters.is_empty() {
            return Err(MqttError::Protocol("UNSUBSCRIBE without a topic filter"));
        }
        Ok(Unsubscribe { packet_id, filters, properties })
    }

    pub(crate) fn check(&self, v: ProtocolVersion) -> Result<(), MqttError> {
        if self.packet_id == 0 || self.filters.is_empty() {
            return Err(MqttError::Protocol("UNSUBSCRIBE needs a packet id and a filter"));
        }
        self.filters.iter().try_for_each(|f| validate_topic_filter(f))?;
        check_props(&self.properties, v == ProtocolVersion::V5, Place::Unsubscribe)
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        2 + props_len(&self.properties, v) + self.filters.iter().map(|f| 2 + f.len()).sum::<usize>()
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>, v: ProtocolVersion) {
        w.u16(self.packet_id);
        write_props(&self.properties, w, v);
        for f in &self.filters {
            w.prefixed(f.as_bytes());
        }
    }
}

fn props_len(p: &Properties<'_>, v: ProtocolVersion) -> usize {
    if v == ProtocolVersion::V5 { p.encoded_len() } else { 0 }
}

fn write_props(p: &Properties<'_>, w: &mut Writer<'_>, v: ProtocolVersion) {
    if v == ProtocolVersion::V5 {
        p.encode(w);
    }
}
