//! MQTT 5.0 properties (§2.2.2): one struct for all 27, with the packets each may appear in.
//! Received properties are checked strictly: unknown or misplaced identifiers, duplicates and
//! out-of-range values are protocol errors (§2.2.2.2).

use alloc::vec::Vec;

use super::wire::{MAX_VARINT, Reader, Writer, check_out_binary, check_out_str, varint_len};
use crate::mqtt::MqttError;

/// Where a property list sits; each property is allowed in some of these (§2.2.2.2 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Connect,
    Will,
    ConnAck,
    Publish,
    /// PUBACK, PUBREC, PUBREL, PUBCOMP.
    Ack,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

impl Place {
    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

const fn places(list: &[Place]) -> u16 {
    let mut mask = 0;
    let mut i = 0;
    while i < list.len() {
        mask |= list[i].bit();
        i += 1;
    }
    mask
}

use Place::*;
/// Reason String and User Property may appear in every acknowledgement-like packet.
const REPLIES: u16 = places(&[ConnAck, Ack, SubAck, UnsubAck, Disconnect, Auth]);
/// User Property may appear everywhere: every bit up to the last place.
const ALL: u16 = (Auth.bit() << 1) - 1;

/// Allowed places of property `id`, or `None` for an unknown identifier.
const fn allowed(id: u32) -> Option<u16> {
    Some(match id {
        0x01..=0x03 | 0x08 | 0x09 => places(&[Publish, Will]),
        0x0B => places(&[Publish, Subscribe]),
        0x11 => places(&[Connect, ConnAck, Disconnect]),
        0x12 | 0x13 | 0x1A | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => places(&[ConnAck]),
        0x15 | 0x16 => places(&[Connect, ConnAck, Auth]),
        0x17 | 0x19 => places(&[Connect]),
        0x18 => places(&[Will]),
        0x1C => places(&[ConnAck, Disconnect]),
        0x1F => REPLIES,
        0x21 | 0x22 | 0x27 => places(&[Connect, ConnAck]),
        0x23 => places(&[Publish]),
        0x26 => ALL,
        _ => return None,
    })
}

/// The properties of one packet. Absent ones are `None` (or empty lists).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // Field names are the specification's property names (§3.x.2.x).
pub struct Properties<'a> {
    pub payload_format_indicator: Option<u8>,
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<&'a str>,
    pub response_topic: Option<&'a str>,
    pub correlation_data: Option<&'a [u8]>,
    /// PUBLISH may carry several (one per matching subscription); SUBSCRIBE at most one.
    pub subscription_identifiers: Vec<u32>,
    pub session_expiry_interval: Option<u32>,
    pub assigned_client_identifier: Option<&'a str>,
    pub server_keep_alive: Option<u16>,
    pub authentication_method: Option<&'a str>,
    pub authentication_data: Option<&'a [u8]>,
    pub request_problem_information: Option<u8>,
    pub will_delay_interval: Option<u32>,
    pub request_response_information: Option<u8>,
    pub response_information: Option<&'a str>,
    pub server_reference: Option<&'a str>,
    pub reason_string: Option<&'a str>,
    pub receive_maximum: Option<u16>,
    pub topic_alias_maximum: Option<u16>,
    pub topic_alias: Option<u16>,
    pub maximum_qos: Option<u8>,
    pub retain_available: Option<u8>,
    pub user_properties: Vec<(&'a str, &'a str)>,
    pub maximum_packet_size: Option<u32>,
    pub wildcard_subscription_available: Option<u8>,
    pub subscription_identifier_available: Option<u8>,
    pub shared_subscription_available: Option<u8>,
}

fn set<T>(slot: &mut Option<T>, value: T) -> Result<(), MqttError> {
    if slot.is_some() {
        return Err(MqttError::Protocol("property appears twice"));
    }
    *slot = Some(value);
    Ok(())
}

fn flag(r: &mut Reader<'_>) -> Result<u8, MqttError> {
    match r.u8()? {
        v @ (0 | 1) => Ok(v),
        _ => Err(MqttError::Protocol("boolean property is neither 0 nor 1")),
    }
}

fn nonzero16(r: &mut Reader<'_>, what: &'static str) -> Result<u16, MqttError> {
    match r.u16()? {
        0 => Err(MqttError::Protocol(what)),
        v => Ok(v),
    }
}

impl<'a> Properties<'a> {
    /// True when no property is set. (Called for every packet encoded: it checks fields rather
    /// than building a default list to compare with.)
    pub fn is_empty(&self) -> bool {
        let mut any = false;
        self.for_each(|_, _| any = true);
        !any
    }

    /// Reads a property list (its length, then the properties) allowed at `place`.
    pub(crate) fn decode(r: &mut Reader<'a>, place: Place) -> Result<Self, MqttError> {
        let len = r.varint()? as usize;
        let mut r = Reader::new(r.bytes(len)?);
        let mut p = Properties::default();
        while !r.is_empty() {
            let id = r.varint()?;
            match allowed(id) {
                None => return Err(MqttError::Malformed("unknown property identifier")),
                Some(mask) if mask & place.bit() == 0 => {
                    return Err(MqttError::Protocol("property not allowed in this packet"));
                }
                Some(_) => {}
            }
            match id {
                0x01 => set(&mut p.payload_format_indicator, flag(&mut r)?)?,
                0x02 => set(&mut p.message_expiry_interval, r.u32()?)?,
                0x03 => set(&mut p.content_type, r.string()?)?,
                0x08 => set(&mut p.response_topic, r.string()?)?,
                0x09 => set(&mut p.correlation_data, r.binary()?)?,
                0x0B => {
                    let v = r.varint()?;
                    if v == 0 {
                        return Err(MqttError::Protocol("subscription identifier 0"));
                    }
                    if place == Subscribe && !p.subscription_identifiers.is_empty() {
                        return Err(MqttError::Protocol("property appears twice"));
                    }
                    p.subscription_identifiers.push(v);
                }
                0x11 => set(&mut p.session_expiry_interval, r.u32()?)?,
                0x12 => set(&mut p.assigned_client_identifier, r.string()?)?,
                0x13 => set(&mut p.server_keep_alive, r.u16()?)?,
                0x15 => set(&mut p.authentication_method, r.string()?)?,
                0x16 => set(&mut p.authentication_data, r.binary()?)?,
                0x17 => set(&mut p.request_problem_information, flag(&mut r)?)?,
                0x18 => set(&mut p.will_delay_interval, r.u32()?)?,
                0x19 => set(&mut p.request_response_information, flag(&mut r)?)?,
                0x1A => set(&mut p.response_information, r.string()?)?,
                0x1C => set(&mut p.server_reference, r.string()?)?,
                0x1F => set(&mut p.reason_string, r.string()?)?,
                0x21 => set(&mut p.receive_maximum, nonzero16(&mut r, "receive maximum 0")?)?,
                0x22 => set(&mut p.topic_alias_maximum, r.u16()?)?,
                0x23 => set(&mut p.topic_alias, nonzero16(&mut r, "topic alias 0")?)?,
                0x24 => set(&mut p.maximum_qos, flag(&mut r)?)?,
                0x25 => set(&mut p.retain_available, flag(&mut r)?)?,
                0x26 => {
                    let (k, v) = (r.string()?, r.string()?);
                    p.user_properties.push((k, v));
                }
                0x27 => match r.u32()? {
                    0 => return Err(MqttError::Protocol("maximum packet size 0")),
                    v => set(&mut p.maximum_packet_size, v)?,
                },
                0x28 => set(&mut p.wildcard_subscription_available, flag(&mut r)?)?,
                0x29 => set(&mut p.subscription_identifier_available, flag(&mut r)?)?,
                0x2A => set(&mut p.shared_subscription_available, flag(&mut r)?)?,
                _ => return Err(MqttError::Malformed("unknown property identifier")),
            }
        }
        Ok(p)
    }

    /// Checks properties we are about to send: allowed at `place`, valid strings and ranges.
    pub(crate) fn check(&self, place: Place) -> Result<(), MqttError> {
        let mut result = Ok(());
        self.for_each(|id, v| {
            if result.is_err() {
                return;
            }
            result = match allowed(id) {
                Some(mask) if mask & place.bit() != 0 => v.check(),
                _ => Err(MqttError::Protocol("property not allowed in this packet")),
            };
        });
        result?;
        if self.subscription_identifiers.iter().any(|&s| s == 0 || s > MAX_VARINT)
            || (place == Subscribe && self.subscription_identifiers.len() > 1)
        {
            return Err(MqttError::Protocol("invalid subscription identifier"));
        }
        if self.receive_maximum == Some(0)
            || self.topic_alias == Some(0)
            || self.maximum_packet_size == Some(0)
        {
            return Err(MqttError::Protocol("property value 0 not allowed"));
        }
        Ok(())
    }

    /// Bytes of the property list, without its length prefix.
    pub(crate) fn body_len(&self) -> usize {
        let mut n = 0;
        self.for_each(|id, v| n += varint_len(id) + v.len());
        n
    }

    /// Bytes of the property list with its length prefix.
    pub(crate) fn encoded_len(&self) -> usize {
        let body = self.body_len();
        varint_len(body as u32) + body
    }

    pub(crate) fn encode(&self, w: &mut Writer<'_>) {
        w.varint(self.body_len() as u32);
        self.for_each(|id, v| {
            w.varint(id);
            v.write(w);
        });
    }

    /// Visits every present property in identifier order.
    fn for_each(&self, mut f: impl FnMut(u32, Value<'_>)) {
        use Value::*;
        if let Some(v) = self.payload_format_indicator {
            f(0x01, Byte(v));
        }
        if let Some(v) = self.message_expiry_interval {
            f(0x02, U32(v));
        }
        if let Some(v) = self.content_type {
            f(0x03, Str(v));
        }
        if let Some(v) = self.response_topic {
            f(0x08, Str(v));
        }
        if let Some(v) = self.correlation_data {
            f(0x09, Bin(v));
        }
        for &v in &self.subscription_identifiers {
            f(0x0B, VarInt(v));
        }
        if let Some(v) = self.session_expiry_interval {
            f(0x11, U32(v));
        }
        if let Some(v) = self.assigned_client_identifier {
            f(0x12, Str(v));
        }
        if let Some(v) = self.server_keep_alive {
            f(0x13, U16(v));
        }
        if let Some(v) = self.authentication_method {
            f(0x15, Str(v));
        }
        if let Some(v) = self.authentication_data {
            f(0x16, Bin(v));
        }
        if let Some(v) = self.request_problem_information {
            f(0x17, Byte(v));
        }
        if let Some(v) = self.will_delay_interval {
            f(0x18, U32(v));
        }
        if let Some(v) = self.request_response_information {
            f(0x19, Byte(v));
        }
        if let Some(v) = self.response_information {
            f(0x1A, Str(v));
        }
        if let Some(v) = self.server_reference {
            f(0x1C, Str(v));
        }
        if let Some(v) = self.reason_string {
            f(0x1F, Str(v));
        }
        if let Some(v) = self.receive_maximum {
            f(0x21, U16(v));
        }
        if let Some(v) = self.topic_alias_maximum {
            f(0x22, U16(v));
        }
        if let Some(v) = self.topic_alias {
            f(0x23, U16(v));
        }
        if let Some(v) = self.maximum_qos {
            f(0x24, Byte(v));
        }
        if let Some(v) = self.retain_available {
            f(0x25, Byte(v));
        }
        for &(k, v) in &self.user_properties {
            f(0x26, Pair(k, v));
        }
        if let Some(v) = self.maximum_packet_size {
            f(0x27, U32(v));
        }
        if let Some(v) = self.wildcard_subscription_available {
            f(0x28, Byte(v));
        }
        if let Some(v) = self.subscription_identifier_available {
            f(0x29, Byte(v));
        }
        if let Some(v) = self.shared_subscription_available {
            f(0x2A, Byte(v));
        }
    }
}

/// One property value, for length computation, checking and encoding.
#[derive(Clone, Copy)]
enum Value<'v> {
    Byte(u8),
    U16(u16),
    U32(u32),
    VarInt(u32),
    Str(&'v str),
    Bin(&'v [u8]),
    Pair(&'v str, &'v str),
}

impl Value<'_> {
    fn len(self) -> usize {
        match self {
            Value::Byte(_) => 1,
            Value::U16(_) => 2,
            Value::U32(_) => 4,
            Value::VarInt(v) => varint_len(v),
            Value::Str(s) => 2 + s.len(),
            Value::Bin(b) => 2 + b.len(),
            Value::Pair(k, v) => 4 + k.len() + v.len(),
        }
    }

    fn check(self) -> Result<(), MqttError> {
        match self {
            Value::Str(s) => check_out_str(s),
            Value::Bin(b) => check_out_binary(b),
            Value::Pair(k, v) => check_out_str(k).and(check_out_str(v)),
            _ => Ok(()),
        }
    }

    fn write(self, w: &mut Writer<'_>) {
        match self {
            Value::Byte(v) => w.u8(v),
            Value::U16(v) => w.u16(v),
            Value::U32(v) => w.u32(v),
            Value::VarInt(v) => w.varint(v),
            Value::Str(s) => w.prefixed(s.as_bytes()),
            Value::Bin(b) => w.prefixed(b),
            Value::Pair(k, v) => {
                w.prefixed(k.as_bytes());
                w.prefixed(v.as_bytes());
            }
        }
    }
}
