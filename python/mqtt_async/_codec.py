"""MQTT 3.1.1 packets for ``MQTTProto``: encoders, topic checks and an incremental decoder.

This module is written in Python. It stands in for a Python binding of the Rust codec
(``nomq_proto::mqtt::codec``), which does not exist yet; its functions have that binding's
planned names and signatures (docs/python.md, "mqtt_async"), so that swapping it in touches
this module only. Errors are the binding's too: ``ProtocolError`` for malformed bytes,
``InvalidArgument`` (a ``ValueError``; ``PayloadTooLarge`` for size) for what cannot be encoded.
"""
from __future__ import annotations

import struct
from typing import Dict, Optional, Tuple, Union

from nomq.errors import InvalidArgument, PayloadTooLarge, ProtocolError

Buffer = Union[bytes, bytearray, memoryview]

CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 2, 3, 4, 5, 6, 7
SUBACK, UNSUBACK, PINGRESP = 9, 11, 13

PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"
MAX_REMAINING = 268_435_455
"""The largest remaining length a four-byte Variable Byte Integer holds (§2.2.3)."""

_PID = struct.Struct("!H")
_valid_topics: Dict[bytes, bool] = {}
"""Topic names already checked: applications publish to few topics, many times."""


class Packet:
    """A decoded packet; the fields a client receives (``code``: CONNACK's return code or
    SUBACK's first granted QoS)."""

    __slots__ = ("kind", "dup", "qos", "retain", "packet_id", "topic", "payload", "code", "session_present")

    def __init__(self, kind: int, packet_id: Optional[int] = None, code: int = 0) -> None:
        self.kind = kind
        self.packet_id = packet_id
        self.code = code
        self.dup = False
        self.qos = 0
        self.retain = False
        self.topic = b""
        self.payload = b""
        self.session_present = False


def _string(value: bytes) -> bytes:
    if len(value) > 0xFFFF:
        raise InvalidArgument("string longer than 65535 bytes")
    return _PID.pack(len(value)) + value


def _checked_text(value: bytes, what: str) -> str:
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(f"{what} is not UTF-8") from None
    if not text or "\0" in text or len(value) > 0xFFFF:
        raise InvalidArgument(f"{what} must be 1 to 65535 bytes without NUL")
    return text


def topic_name(topic: bytes) -> bytes:
    """``topic`` when it can be published to: UTF-8, no NUL, no wildcard (§4.7)."""
    if topic in _valid_topics:
        return topic
    text = _checked_text(topic, "topic")
    if "+" in text or "#" in text:
        raise InvalidArgument("a topic name has no wildcards")
    if len(_valid_topics) >= 1024:
        _valid_topics.clear()
    _valid_topics[topic] = True
    return topic


def topic_filter(topic: bytes) -> bytes:
    """``topic`` when it can be subscribed to: ``+`` and ``#`` only as whole levels, ``#``
    last (§4.7.1)."""
    levels = _checked_text(topic, "topic filter").split("/")
    for i, level in enumerate(levels):
        if ("+" in level or "#" in level) and len(level) > 1:
            raise InvalidArgument("a wildcard must be a whole topic level")
        if level == "#" and i != len(levels) - 1:
            raise InvalidArgument("# must be the last topic level")
    return topic


def _packet(first: int, body: bytes) -> bytes:
    n = len(body)
    if n > MAX_REMAINING:
        raise PayloadTooLarge("packet too large")
    length = bytearray()
    while n > 0x7F:
        length.append((n & 0x7F) | 0x80)
        n >>= 7
    length.append(n)
    return bytes((first,)) + length + body


def connect(client_id: bytes, clean: bool, keepalive: int, username: Optional[bytes], password: Optional[bytes],
            will: Optional[Tuple[bytes, bytes, int, bool]]) -> bytes:
    """CONNECT, protocol level 4. ``will`` is (topic, message, qos, retain)."""
    flags = 0x02 if clean else 0
    payload = _string(client_id)
    if will is not None:
        topic, message, qos, retain = will
        flags |= 0x04 | qos << 3 | (0x20 if retain else 0)
        payload += _string(topic_name(topic)) + _string(message)
    if username is not None:
        flags |= 0x80
        payload += _string(username)
        if password is not None:
            flags |= 0x40
            payload += _string(password)
    return _packet(0x10, b"\x00\x04MQTT\x04" + bytes((flags,)) + _PID.pack(keepalive) + payload)


def publish(topic: bytes, payload: bytes, qos: int, retain: bool, dup: bool, packet_id: Optional[int]) -> bytes:
    """PUBLISH; ``packet_id`` is required at QoS 1 and 2."""
    first = 0x30 | (0x08 if dup else 0) | qos << 1 | (0x01 if retain else 0)
    if len(topic) > 0xFFFF:
        raise InvalidArgument("topic longer than 65535 bytes")
    if qos:
        if packet_id is None:
            raise InvalidArgument("QoS 1 and 2 need a packet id")
        body = _PID.pack(len(topic)) + topic + _PID.pack(packet_id) + payload
    else:
        body = _PID.pack(len(topic)) + topic + payload
    if len(body) < 0x80:  # the common small message: a one-byte remaining length
        return bytes((first, len(body))) + body
    return _packet(first, body)


def ack(kind: int, packet_id: int) -> bytes:
    """PUBACK, PUBREC, PUBREL or PUBCOMP (``kind`` 4 to 7)."""
    return bytes(((kind << 4) | (0x02 if kind == PUBREL else 0), 2)) + _PID.pack(packet_id)


def subscribe(packet_id: int, topic: bytes, qos: int) -> bytes:
    """SUBSCRIBE to one filter."""
    return _packet(0x82, _PID.pack(packet_id) + _string(topic_filter(topic)) + bytes((qos,)))


def unsubscribe(packet_id: int, topic: bytes) -> bytes:
    """UNSUBSCRIBE from one filter."""
    return _packet(0xA2, _PID.pack(packet_id) + _string(topic_filter(topic)))


def decode(buf: Buffer) -> Optional[Tuple[Packet, int]]:
    """The packet at the start of ``buf`` and its length, or None until it is complete. Only
    packets a server sends to a 3.1.1 client are accepted. The packet holds copies: ``buf`` may
    change afterwards."""
    size = len(buf)
    length, shift, i = 0, 0, 1
    while True:
        if i >= size:
            return None
        byte = buf[i]
        length |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            break
        shift += 7
        if i > 4:
            raise ProtocolError("malformed remaining length")
    end = i + length
    if size < end:
        return None
    kind, flags = buf[0] >> 4, buf[0] & 0x0F
    if kind == PUBLISH:
        return _publish(buf, i, end, flags), end
    if kind in (PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK) and length == 2:
        return Packet(kind, buf[i] << 8 | buf[i + 1]), end
    if kind == SUBACK and length >= 3:
        return Packet(kind, buf[i] << 8 | buf[i + 1], buf[i + 2]), end
    if kind == CONNACK and length == 2:
        packet = Packet(kind, None, buf[i + 1])
        packet.session_present = bool(buf[i] & 1)
        return packet, end
    if kind == PINGRESP and length == 0:
        return Packet(kind), end
    raise ProtocolError(f"unexpected packet: type {kind}, remaining length {length}")


def _publish(buf: Buffer, start: int, end: int, flags: int) -> Packet:
    packet = Packet(PUBLISH)
    packet.qos = (flags >> 1) & 3
    if packet.qos == 3:
        raise ProtocolError("PUBLISH with QoS 3")
    packet.dup = bool(flags & 0x08)
    packet.retain = bool(flags & 0x01)
    if end - start < 2:
        raise ProtocolError("PUBLISH without a topic")
    topic_end = start + 2 + (buf[start] << 8 | buf[start + 1])
    body = topic_end + (2 if packet.qos else 0)
    if body > end:
        raise ProtocolError("PUBLISH shorter than its topic")
    packet.topic = bytes(buf[start + 2:topic_end])
    if packet.qos:
        packet.packet_id = buf[topic_end] << 8 | buf[topic_end + 1]
    packet.payload = bytes(buf[body:end])
    return packet
