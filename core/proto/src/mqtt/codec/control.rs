//! DISCONNECT (§3.14) and AUTH (§3.15): a reason code and properties, both optional on the
//! wire when default.

use super::ProtocolVersion;
use super::properties::{Place, Properties};
use super::wire::{Reader, Writer};
use crate::mqtt::MqttError;
use crate::mqtt::reason::ReasonCode;

/// DISCONNECT (reason and properties are 5.0 only) or AUTH (5.0 only).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReasonPacket<'a> {
    /// Reason code.
    pub reason: ReasonCode,
    /// Properties.
    pub properties: Properties<'a>,
}

impl<'a> ReasonPacket<'a> {
    pub(crate) fn decode(r: &mut Reader<'a>, v: ProtocolVersion, place: Place) -> Result<Self, MqttError> {
        if v == ProtocolVersion::V311 {
            return Ok(ReasonPacket::default());
        }
        let reason = if r.is_empty() { ReasonCode::SUCCESS } else { ReasonCode(r.u8()?) };
        let properties = if r.is_empty() { Properties::default() } else { Properties::decode(r, place)? };
        Ok(ReasonPacket { reason, properties })
    }

    pub(crate) fn check(&self, v: ProtocolVersion, place: Place) -> Result<(), MqttError> {
        match v {
            ProtocolVersion::V5 => self.properties.check(place),
            ProtocolVersion::V311 if *self == ReasonPacket::default() => Ok(()),
            ProtocolVersion::V311 => Err(MqttError::Protocol("reason codes and properties need MQTT 5.0")),
        }
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        match v {
            ProtocolVersion::V311 => 0,
            ProtocolVersion::V5 if self.properties.is_empty() && self.reason == ReasonCode::SUCCESS => 0,
            ProtocolVersion::V5 if self.properties.is_empty() => 1,
            ProtocolVersion::V5 => 1 + self.properties.encoded_len(),
        }
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>, v: ProtocolVersion) {
        let len = self.body_len(v);
        if len >= 1 {
            w.u8(self.reason.0);
        }
        if len > 1 {
            self.properties.encode(w);
        }
    }
}
