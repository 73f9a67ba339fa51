//! CONNECT (§3.1) and CONNACK (§3.2).

use super::ProtocolVersion;
use super::properties::{Place, Properties};
use super::wire::{Reader, Writer, check_out_binary, check_out_str};
use crate::frame::Qos;
use crate::mqtt::MqttError;
use crate::mqtt::reason::ReasonCode;
use crate::mqtt::topic::validate_topic_name;

/// The last will (§3.1.2.5, §3.1.3.2-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will<'a> {
    /// Topic the will is published on.
    pub topic: &'a str,
    /// Payload.
    pub payload: &'a [u8],
    /// QoS of the will message.
    pub qos: Qos,
    /// Retain flag of the will message.
    pub retain: bool,
    /// Will properties (5.0).
    pub properties: Properties<'a>,
}

/// CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Protocol level: 4 (3.1.1) or 5.
    pub protocol: ProtocolVersion,
    /// Clean Session (3.1.1) / Clean Start (5.0).
    pub clean_start: bool,
    /// Keep alive in seconds (0 disables it).
    pub keep_alive: u16,
    /// Client identifier (may be empty: the server assigns one).
    pub client_id: &'a str,
    /// Last will.
    pub will: Option<Will<'a>>,
    /// User name.
    pub username: Option<&'a str>,
    /// Password.
    pub password: Option<&'a [u8]>,
    /// CONNECT properties (5.0).
    pub properties: Properties<'a>,
}

const CLEAN: u8 = 0x02;
const WILL: u8 = 0x04;
const WILL_RETAIN: u8 = 0x20;
const PASSWORD: u8 = 0x40;
const USERNAME: u8 = 0x80;

impl<'a> Connect<'a> {
    pub(crate) fn decode(r: &mut Reader<'a>) -> Result<Self, MqttError> {
        if r.string()? != "MQTT" {
            return Err(MqttError::Protocol("protocol name is not MQTT"));
        }
        let protocol = match r.u8()? {
            4 => ProtocolVersion::V311,
            5 => ProtocolVersion::V5,
            _ => return Err(MqttError::Protocol("unsupported protocol level")),
        };
        let flags = r.u8()?;
        if flags & 0x01 != 0 {
            return Err(MqttError::Malformed("CONNECT reserved flag set"));
        }
        let keep_alive = r.u16()?;
        let properties = props(r, protocol, Place::Connect)?;
        let client_id = r.string()?;
        let will_qos = Qos::from_u8((flags >> 3) & 0x03).ok_or(MqttError::Malformed("will QoS 3"))?;
        let will = if flags & WILL != 0 {
            let properties = props(r, protocol, Place::Will)?;
            let topic = r.string()?;
            validate_topic_name(topic)?;
            Some(Will {
                topic,
                payload: r.binary()?,
                qos: will_qos,
                retain: flags & WILL_RETAIN != 0,
                properties,
            })
        } else {
            if flags & (0x18 | WILL_RETAIN) != 0 {
                return Err(MqttError::Malformed("will QoS or retain without a will"));
            }
            None
        };
        let username = if flags & USERNAME != 0 { Some(r.string()?) } else { None };
        let password = if flags & PASSWORD != 0 { Some(r.binary()?) } else { None };
        Ok(Connect {
            protocol,
            clean_start: flags & CLEAN != 0,
            keep_alive,
            client_id,
            will,
            username,
            password,
            properties,
        })
    }

    pub(crate) fn check(&self) -> Result<(), MqttError> {
        let v5 = self.protocol == ProtocolVersion::V5;
        check_props(&self.properties, v5, Place::Connect)?;
        check_out_str(self.client_id)?;
        if let Some(w) = &self.will {
            validate_topic_name(w.topic)?;
            check_out_binary(w.payload)?;
            check_props(&w.properties, v5, Place::Will)?;
        }
        if let Some(u) = self.username {
            check_out_str(u)?;
        }
        if let Some(p) = self.password {
            check_out_binary(p)?;
            if !v5 && self.username.is_none() {
                return Err(MqttError::Protocol("MQTT 3.1.1 needs a user name with a password"));
            }
        }
        Ok(())
    }

    pub(crate) fn body_len(&self) -> usize {
        let v5 = self.protocol == ProtocolVersion::V5;
        let mut n = 6 + 1 + 1 + 2 + 2 + self.client_id.len();
        if v5 {
            n += self.properties.encoded_len();
        }
        if let Some(w) = &self.will {
            n += 2 + w.topic.len() + 2 + w.payload.len();
            if v5 {
                n += w.properties.encoded_len();
            }
        }
        n += self.username.map_or(0, |u| 2 + u.len());
        n += self.password.map_or(0, |p| 2 + p.len());
        n
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        let v5 = self.protocol == ProtocolVersion::V5;
        w.prefixed(b"MQTT");
        w.u8(self.protocol as u8);
        let mut flags = 0;
        if self.clean_start {
            flags |= CLEAN;
        }
        if let Some(will) = &self.will {
            flags |= WILL | ((will.qos as u8) << 3);
            if will.retain {
                flags |= WILL_RETAIN;
            }
        }
        if self.username.is_some() {
            flags |= USERNAME;
        }
        if self.password.is_some() {
            flags |= PASSWORD;
        }
        w.u8(flags);
        w.u16(self.keep_alive);
        if v5 {
            self.properties.encode(w);
        }
        w.prefixed(self.client_id.as_bytes());
        if let Some(will) = &self.will {
            if v5 {
                will.properties.encode(w);
            }
            w.prefixed(will.topic.as_bytes());
            w.prefixed(will.payload);
        }
        if let Some(u) = self.username {
            w.prefixed(u.as_bytes());
        }
        if let Some(p) = self.password {
            w.prefixed(p);
        }
    }
}

/// CONNACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnAck<'a> {
    /// The server resumed a stored session.
    pub session_present: bool,
    /// Reason code (5.0) or return code (3.1.1); 0 is success.
    pub reason: ReasonCode,
    /// CONNACK properties (5.0).
    pub properties: Properties<'a>,
}

impl<'a> ConnAck<'a> {
    pub(crate) fn decode(r: &mut Reader<'a>, v: ProtocolVersion) -> Result<Self, MqttError> {
        let flags = r.u8()?;
        if flags & 0xfe != 0 {
            return Err(MqttError::Malformed("CONNACK reserved flags set"));
        }
        let reason = ReasonCode(r.u8()?);
        if flags & 1 != 0 && reason != ReasonCode::SUCCESS {
            return Err(MqttError::Protocol("session present on a refused connection"));
        }
        Ok(ConnAck { session_present: flags & 1 != 0, reason, properties: props(r, v, Place::ConnAck)? })
    }

    pub(crate) fn check(&self, v: ProtocolVersion) -> Result<(), MqttError> {
        check_props(&self.properties, v == ProtocolVersion::V5, Place::ConnAck)
    }

    pub(crate) fn body_len(&self, v: ProtocolVersion) -> usize {
        2 + if v == ProtocolVersion::V5 { self.properties.encoded_len() } else { 0 }
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>, v: ProtocolVersion) {
        w.u8(u8::from(self.session_present));
        w.u8(self.reason.0);
        if v == ProtocolVersion::V5 {
            self.properties.encode(w);
        }
    }
}

/// Properties in 5.0; none in 3.1.1.
pub(crate) fn props<'a>(
    r: &mut Reader<'a>,
    v: ProtocolVersion,
    place: Place,
) -> Result<Properties<'a>, MqttError> {
    match v {
        ProtocolVersion::V5 => Properties::decode(r, place),
        ProtocolVersion::V311 => Ok(Properties::default()),
    }
}

/// Outgoing properties must be valid for `place`, and absent in 3.1.1, which cannot carry them.
pub(crate) fn check_props(p: &Properties<'_>, v5: bool, place: Place) -> Result<(), MqttError> {
    if v5 {
        p.check(place)
    } else if p.is_empty() {
        Ok(())
    } else {
        Err(MqttError::Protocol("properties need MQTT 5.0"))
    }
}
