"""Blocking facades for scripts: the same operations as ``nomq.Endpoint`` and
``nomq.mqtt.Client`` without asyncio. Each call releases the GIL while it waits, so other
Python threads keep running.

.. code-block:: python

    from nomq.sync import MqttClient

    with MqttClient("mqtt://127.0.0.1", client_id="script") as c:
        c.subscribe("t", qos=1)
        c.publish("t", b"hello", qos=1)     # returns after PUBACK
        print(c.recv(timeout=5))
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Union

from . import _nomq
from ._util import Address, Payload, address, payload
from .mqtt import ConnectOptions, Message, MessageProperties, _properties, options_from

__all__ = ["Endpoint", "MqttClient"]


class Endpoint:
    """A blocking NoMQ node (see ``nomq.Endpoint`` for the arguments)."""

    def __init__(
        self,
        bind: Address = "0.0.0.0:8888",
        *,
        encryption_key: bytes,
        trailer_key: bytes,
        version: int = 1,
        multicast: Iterable[str] = (),
        message_buffer: int = 1024,
        share_port: bool = False,
    ) -> None:
        self._native = _nomq.NativeEndpoint(
            address(bind), encryption_key, trailer_key, version, list(multicast), message_buffer, None, False,
            share_port,
        )

    def __enter__(self) -> "Endpoint":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def local_addr(self) -> str:
        return self._native.local_addr

    def subscribe(self, channel: str) -> None:
        self._native.subscribe(None, channel, None, 0)

    def unsubscribe(self, channel: str) -> bool:
        return bool(self._native.unsubscribe(None, channel, None))

    def publish(self, to: Address, channel: str, message: Payload, *, qos: int = 1, retain: bool = False,
                priority: int = 0, ttl: int = 3600) -> None:
        """Returns when the QoS flow completes (see ``nomq.Endpoint.publish``)."""
        self._native.publish(None, address(to), channel, payload(message), qos, retain, priority, ttl)

    def recv(self, timeout: Optional[float] = None) -> Optional[_nomq.EndpointMessage]:
        """The next message; None after ``timeout`` seconds or once closed."""
        batch = self._native.recv_many(None, 1, timeout)
        return batch[0] if batch else None

    def stats(self) -> Dict[str, int]:
        return self._native.stats(None)  # type: ignore[no-any-return]

    def close(self) -> None:
        self._native.close(None)


class MqttClient:
    """A blocking MQTT client; connects at construction (see ``nomq.mqtt.Client``)."""

    def __init__(self, url_or_options: Union[str, ConnectOptions, None] = None, **options: Any) -> None:
        self.options = options_from(url_or_options, **options)
        self._native = _nomq.NativeClient.connect(None, self.options._native())

    def __enter__(self) -> "MqttClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.disconnect()

    def publish(self, topic: str, message: Payload, qos: int = 0, retain: bool = False, *,
                properties: Optional[MessageProperties] = None, timeout: Optional[float] = None) -> int:
        """Returns when the QoS flow completes, with the reason code. With ``timeout`` (seconds),
        raises ``TimedOutError`` when it has not completed by then (the message stays queued
        and may still be delivered)."""
        return self._native.publish(  # type: ignore[no-any-return]
            None, topic, payload(message), qos, retain, _properties(properties), timeout
        )

    def subscribe(self, topic_filter: str, qos: int = 0) -> List[int]:
        return self._native.subscribe(None, topic_filter, qos, False, False, 0, False)  # type: ignore[no-any-return]

    def unsubscribe(self, topic_filter: str) -> List[int]:
        return self._native.unsubscribe(None, topic_filter)  # type: ignore[no-any-return]

    def recv(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next message; None after ``timeout`` seconds or after ``disconnect``."""
        batch = self._native.recv_many(None, 1, timeout)
        return batch[0] if batch else None

    def metrics(self) -> Dict[str, int]:
        return self._native.metrics(None)  # type: ignore[no-any-return]

    def disconnect(self) -> None:
        self._native.disconnect(None)
