"""MQTT 3.1.1 packets for ``MQTTProto``, encoded and decoded by the Rust codec
(``nomq_proto::mqtt::codec``, through ``nomq._nomq``). Errors are the binding's:
``ProtocolError`` for bytes that are not a packet a server may send, ``InvalidArgument`` (a
``ValueError``; ``PayloadTooLarge`` for size) for what cannot be encoded.
"""
from __future__ import annotations

from typing import Dict

from nomq import _nomq

CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 2, 3, 4, 5, 6, 7
SUBACK, UNSUBACK, PINGRESP = 9, 11, 13

PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"
MAX_REMAINING = 268_435_455
"""The largest remaining length a four-byte Variable Byte Integer holds (§2.2.3)."""

Packet = _nomq.MqttPacket
decode = _nomq.mqtt_decode
connect = _nomq.mqtt_connect
publish = _nomq.mqtt_publish
ack = _nomq.mqtt_ack
subscribe = _nomq.mqtt_subscribe
unsubscribe = _nomq.mqtt_unsubscribe

_valid_topics: Dict[bytes, bool] = {}
"""Topic names already checked: applications publish to few topics, many times."""


def topic_name(topic: bytes) -> bytes:
    """``topic`` when it can be published to: UTF-8, no NUL, no wildcard (§4.7)."""
    if topic not in _valid_topics:
        _nomq.mqtt_check_topic(topic, False)
        if len(_valid_topics) >= 1024:
            _valid_topics.clear()
        _valid_topics[topic] = True
    return topic


def topic_filter(topic: bytes) -> bytes:
    """``topic`` when it can be subscribed to: ``+`` and ``#`` only as whole levels (§4.7.1)."""
    _nomq.mqtt_check_topic(topic, True)
    return topic
