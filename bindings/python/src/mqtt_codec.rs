//! The MQTT 3.1.1 codec for `mqtt_async.MQTTProto`: the packets a client writes, encoded by
//! `nomq_proto::mqtt::codec`, and the packets a server sends, decoded by it. `MQTTProto` keeps
//! upstream's socket handling in Python; the packet work is done here.

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

use crate::errors;
use crate::framing::qos;
use nomq::Qos;
use nomq::proto::mqtt::codec::{
    Ack, Connect, Properties, Publish, Subscribe, SubscriptionOptions, Unsubscribe, Will,
};
use nomq::proto::mqtt::topic::{validate_topic_filter, validate_topic_name};
use nomq::proto::mqtt::{MqttError, Packet, ProtocolVersion, decode};
use nomq::proto::{Error as Proto, ErrorKind};

const V: ProtocolVersion = ProtocolVersion::V311;
/// The largest packet 3.1.1 frames: a four-byte remaining length (§2.2.3) and the header.
const LARGEST_PACKET: u32 = 268_435_455 + 5;

/// A packet from the server. `kind` is the MQTT packet type (2 CONNACK, 3 PUBLISH, 4..7
/// PUBACK..PUBCOMP, 9 SUBACK, 11 UNSUBACK, 13 PINGRESP); `code` is CONNACK's return code, or
/// SUBACK's first granted QoS (0x80: refused).
#[pyclass(module = "nomq._nomq", frozen, get_all)]
pub struct MqttPacket {
    kind: u8,
    dup: bool,
    qos: u8,
    retain: bool,
    packet_id: Option<u16>,
    topic: Py<PyBytes>,
    payload: Py<PyBytes>,
    code: u8,
    session_present: bool,
}

impl MqttPacket {
    fn new(py: Python<'_>, kind: u8) -> Self {
        let empty = PyBytes::new(py, b"").unbind();
        MqttPacket {
            kind,
            dup: false,
            qos: 0,
            retain: false,
            packet_id: None,
            topic: empty.clone_ref(py),
            payload: empty,
            code: 0,
            session_present: false,
        }
    }
}

fn mqtt(py: Python<'_>, e: MqttError) -> PyErr {
    errors::proto(py, Proto::Mqtt(e))
}

fn text<'a>(py: Python<'_>, bytes: &'a [u8], what: &str) -> PyResult<&'a str> {
    core::str::from_utf8(bytes)
        .map_err(|_| errors::raise(py, ErrorKind::InvalidArgument, format!("{what} is not UTF-8")))
}

/// `p` encoded into a new `bytes`.
fn encoded(py: Python<'_>, p: &Packet<'_>) -> PyResult<Py<PyBytes>> {
    let mut failed = None;
    let out = PyBytes::new_with(py, p.encoded_len(V), |buf| {
        failed = p.encode(V, buf).err();
        Ok(())
    })?;
    match failed {
        // What cannot be encoded is the caller's argument, not the server's fault.
        Some(e @ (MqttError::Protocol(_) | MqttError::Malformed(_) | MqttError::InvalidString)) => {
            Err(errors::raise(py, ErrorKind::InvalidArgument, e.to_string()))
        }
        Some(e) => Err(mqtt(py, e)),
        None => Ok(out.unbind()),
    }
}

/// The packet at the start of `buf` (bytes or bytearray) and its length, or None until it is
/// complete. Only what a server sends a 3.1.1 client is accepted (`ProtocolError`
/// otherwise). Topic and payload are copies: `buf` may change afterwards.
#[pyfunction]
#[pyo3(signature = (buf, max_packet_size = LARGEST_PACKET))]
pub fn mqtt_decode(
    py: Python<'_>,
    buf: &Bound<'_, PyAny>,
    max_packet_size: u32,
) -> PyResult<Option<(MqttPacket, usize)>> {
    // The stable ABI has no buffer protocol: bytes are read in place, a bytearray (the usual
    // read buffer, a few packets long) is copied.
    let copied;
    let bytes: &[u8] = if let Ok(b) = buf.cast::<PyBytes>() {
        b.as_bytes()
    } else if let Ok(b) = buf.cast::<PyByteArray>() {
        copied = b.to_vec();
        &copied
    } else {
        return Err(errors::raise(py, ErrorKind::InvalidArgument, "bytes or bytearray expected"));
    };
    let Some((packet, used)) = decode(bytes, V, max_packet_size).map_err(|e| mqtt(py, e))? else {
        return Ok(None);
    };
    let mut out = MqttPacket::new(py, 0);
    match packet {
        Packet::Publish(p) => {
            out.kind = 3;
            out.dup = p.dup;
            out.qos = p.qos as u8;
            out.retain = p.retain;
            out.packet_id = p.packet_id;
            out.topic = PyBytes::new(py, p.topic.as_bytes()).unbind();
            out.payload = PyBytes::new(py, p.payload).unbind();
        }
        Packet::ConnAck(c) => {
            out.kind = 2;
            out.code = c.reason.0;
            out.session_present = c.session_present;
        }
        Packet::PubAck(a) => (out.kind, out.packet_id) = (4, Some(a.packet_id)),
        Packet::PubRec(a) => (out.kind, out.packet_id) = (5, Some(a.packet_id)),
        Packet::PubRel(a) => (out.kind, out.packet_id) = (6, Some(a.packet_id)),
        Packet::PubComp(a) => (out.kind, out.packet_id) = (7, Some(a.packet_id)),
        Packet::SubAck(s) => {
            out.kind = 9;
            out.packet_id = Some(s.packet_id);
            out.code = s.reasons.first().map_or(0x80, |r| r.0);
        }
        Packet::UnsubAck(s) => (out.kind, out.packet_id) = (11, Some(s.packet_id)),
        Packet::PingResp => out.kind = 13,
        _ => return Err(mqtt(py, MqttError::Protocol("a packet only a client sends came from the server"))),
    }
    Ok(Some((out, used)))
}

/// CONNECT (protocol level 4). `will` is (topic, message, qos, retain).
#[pyfunction]
#[pyo3(signature = (client_id, clean, keepalive, username, password, will))]
pub fn mqtt_connect(
    py: Python<'_>,
    client_id: &[u8],
    clean: bool,
    keepalive: u16,
    username: Option<&[u8]>,
    password: Option<&[u8]>,
    will: Option<(Vec<u8>, Vec<u8>, u8, bool)>,
) -> PyResult<Py<PyBytes>> {
    let will = match &will {
        Some((topic, message, q, retain)) => Some(Will {
            topic: text(py, topic, "will topic")?,
            payload: message,
            qos: qos(py, *q)?,
            retain: *retain,
            properties: Properties::default(),
        }),
        None => None,
    };
    if let Some(w) = &will {
        validate_topic_name(w.topic).map_err(|e| mqtt(py, e))?;
    }
    let connect = Connect {
        protocol: V,
        clean_start: clean,
        keep_alive: keepalive,
        client_id: text(py, client_id, "client id")?,
        will,
        username: username.map(|u| text(py, u, "user name")).transpose()?,
        password,
        properties: Properties::default(),
    };
    encoded(py, &Packet::Connect(Box::new(connect)))
}

/// PUBLISH; `packet_id` is required at QoS 1 and 2. The topic is checked by `mqtt_check_topic`.
#[pyfunction]
pub fn mqtt_publish(
    py: Python<'_>,
    topic: &[u8],
    payload: &[u8],
    qos: u8,
    retain: bool,
    dup: bool,
    packet_id: Option<u16>,
) -> PyResult<Py<PyBytes>> {
    let qos = self::qos(py, qos)?;
    // A QoS 0 PUBLISH has no packet id: one given with it is left out (§3.3.2.2).
    let packet_id = if qos == Qos::AtMostOnce { None } else { packet_id };
    let publish = Publish {
        dup: dup && qos != Qos::AtMostOnce,
        qos,
        retain,
        topic: text(py, topic, "topic")?,
        packet_id,
        payload,
        properties: Properties::default(),
    };
    encoded(py, &Packet::Publish(publish))
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (`kind` 4 to 7).
#[pyfunction]
pub fn mqtt_ack(py: Python<'_>, kind: u8, packet_id: u16) -> PyResult<Py<PyBytes>> {
    let a = Ack::new(packet_id);
    let packet = match kind {
        4 => Packet::PubAck(a),
        5 => Packet::PubRec(a),
        6 => Packet::PubRel(a),
        7 => Packet::PubComp(a),
        _ => {
            return Err(errors::raise(
                py,
                ErrorKind::InvalidArgument,
                format!("no acknowledgement of type {kind}"),
            ));
        }
    };
    encoded(py, &packet)
}

/// SUBSCRIBE to one filter.
#[pyfunction]
pub fn mqtt_subscribe(py: Python<'_>, packet_id: u16, topic: &[u8], qos: u8) -> PyResult<Py<PyBytes>> {
    let filter = text(py, topic, "topic filter")?;
    validate_topic_filter(filter).map_err(|e| mqtt(py, e))?;
    let subscribe = Subscribe {
        packet_id,
        filters: vec![(filter, SubscriptionOptions::qos(self::qos(py, qos)?))],
        properties: Properties::default(),
    };
    encoded(py, &Packet::Subscribe(subscribe))
}

/// UNSUBSCRIBE from one filter.
#[pyfunction]
pub fn mqtt_unsubscribe(py: Python<'_>, packet_id: u16, topic: &[u8]) -> PyResult<Py<PyBytes>> {
    let filter = text(py, topic, "topic filter")?;
    validate_topic_filter(filter).map_err(|e| mqtt(py, e))?;
    let unsubscribe = Unsubscribe { packet_id, filters: vec![filter], properties: Properties::default() };
    encoded(py, &Packet::Unsubscribe(unsubscribe))
}

/// Checks a topic name (`filter` false: no wildcards) or filter (§4.7); `InvalidArgument` when
/// it breaks the rules.
#[pyfunction]
pub fn mqtt_check_topic(py: Python<'_>, topic: &[u8], filter: bool) -> PyResult<()> {
    let t = text(py, topic, "topic")?;
    let checked = if filter { validate_topic_filter(t) } else { validate_topic_name(t) };
    checked.map_err(|e| mqtt(py, e))
}
