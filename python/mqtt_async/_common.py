"""The pieces ``MQTTProto`` and ``MQTTClient`` share: mqboard's error strings, ``MQTTMessage``,
``set_last_will`` and the config dict type."""
from __future__ import annotations

from typing import Any, Dict, Optional, Union

from . import _codec

Text = Union[str, bytes, bytearray, memoryview]

# Error strings of OSError(-1, ...) raised by mqtt_async itself (mqboard's names and texts).
CONN_CLOSED = "Connection closed"
CONN_TIMEOUT = "Connection timed out"
PROTO_ERROR = "Protocol error"
CONN_ERRS = ["inv proto vers", "client_id rejected", "srv down", "user/pass malformed", "not auth"]

PING_PID = 100000
"""The key under which ``MQTTClient._unacked_pids`` holds an unanswered PINGREQ."""


class Config(Dict[str, Any]):
    """mqboard's configuration: a dict, whose keys also read and write as attributes
    (``config.server = "..."``, as mqboard's README and hello-world.py write it)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def copy(self) -> "Config":
        return Config(self)


def to_bytes(value: Text) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def qos_check(qos: int) -> None:
    """QoS 0, 1 and 2; mqboard itself stops at 1."""
    if qos not in (0, 1, 2):
        raise ValueError("unsupported qos")


class MQTTMessage:
    """A message to publish (or the last will). The topic and message are kept as bytes, the
    message copied, so that a bytearray the caller reuses does not change what a
    retransmission sends."""

    def __init__(self, topic: Text, message: Text, retain: bool = False, qos: int = 0,
                 pid: Optional[int] = None) -> None:
        qos_check(qos)
        self.topic = _codec.topic_name(to_bytes(topic))
        self.message = to_bytes(message)
        if len(self.topic) + len(self.message) + 4 > _codec.MAX_REMAINING:
            raise ValueError("message too long")
        self.retain = retain
        self.qos = qos
        self.pid = pid
        self.pubrec = False
        """QoS 2: the broker answered PUBREC, so a resend is a PUBREL (MQTT-4.3.3)."""

    def __repr__(self) -> str:
        return f"MQTTMessage({self.topic!r}, {len(self.message)} bytes, qos={self.qos}, pid={self.pid})"


def set_last_will(config: Dict[str, Any], topic: Optional[Text], message: Text, retain: bool = False,
                  qos: int = 0) -> None:
    """Sets ``config["will"]``, which the broker publishes when the connection ends without
    DISCONNECT."""
    qos_check(qos)
    if not topic:
        raise ValueError("empty topic")
    config["will"] = MQTTMessage(topic, message, retain, qos)
