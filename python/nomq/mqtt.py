"""``nomq.mqtt``: an MQTT 3.1.1 / 5.0 client with an asyncio API.

.. code-block:: python

    from nomq.mqtt import Client

    async with Client("mqtt://127.0.0.1:1883", client_id="sensor-1") as client:
        await client.subscribe("sensors/#", qos=1)
        await client.publish("sensors/temp", b"21.5", qos=2)   # returns after PUBCOMP
        async for message in client.messages():
            print(message.topic, message.payload)

Every ``publish`` resolves when its QoS flow completes (written, PUBACK, PUBCOMP). The outbox is
bounded (messages and bytes) with an explicit policy; the client reconnects with exponential
backoff and full jitter, and QoS 1/2 messages survive reconnects.
"""
from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from . import _bridge, _nomq
from ._util import Payload, payload
from .errors import InvalidUrl

__all__ = [
    "Client",
    "ConnectOptions",
    "EnhancedAuth",
    "Message",
    "MessageProperties",
    "Reconnect",
    "Subscription",
    "TLS",
    "Will",
]

Message = _nomq.MqttMessage


@dataclass
class Will:
    """The last will, published by the server when the connection ends without DISCONNECT."""

    topic: str
    payload: Payload
    qos: int = 0
    retain: bool = False
    delay_interval: Optional[int] = None
    """MQTT 5.0: seconds the server waits before publishing it."""


@dataclass
class TLS:
    """TLS settings (``mqtts://``). Without ``ca_pem`` the system roots are trusted."""

    ca_pem: Optional[bytes] = None
    client_cert_pem: Optional[bytes] = None
    client_key_pem: Optional[bytes] = None
    alpn: Sequence[bytes] = ()
    server_name: Optional[str] = None
    """The name to verify; defaults to the host."""

    @classmethod
    def from_files(
        cls, ca_file: Optional[str] = None, cert_file: Optional[str] = None, key_file: Optional[str] = None, **kw: Any
    ) -> "TLS":
        """TLS settings from PEM files."""

        def read(path: Optional[str]) -> Optional[bytes]:
            if path is None:
                return None
            with open(path, "rb") as f:
                return f.read()

        return cls(ca_pem=read(ca_file), client_cert_pem=read(cert_file), client_key_pem=read(key_file), **kw)


@dataclass
class Reconnect:
    """Reconnection: a random delay between 0 and ``min(max_delay, initial_delay * 2**attempt)``
    (full jitter), so a fleet does not reconnect in lockstep. ``attempt`` counts from the last
    connection that stayed up for ``stable_after`` seconds: a broker that accepts and then
    drops connections sees them come ever more slowly."""

    enabled: bool = True
    initial_delay: float = 0.1
    max_delay: float = 30.0
    stable_after: float = 10.0


@dataclass
class EnhancedAuth:
    """MQTT 5.0 enhanced authentication (§4.12; needs ``version=5``): ``respond(challenge) ->
    response`` answers each server challenge; raising refuses (``connect`` then fails with
    ``EnhancedAuthError``). ``respond`` runs on a runtime thread during the handshake."""

    method: str
    respond: Callable[[bytes], bytes]
    initial_data: Optional[bytes] = None


@dataclass
class MessageProperties:
    """MQTT 5.0 publish properties (ignored in 3.1.1)."""

    payload_format_indicator: Optional[int] = None
    message_expiry_interval: Optional[int] = None
    content_type: Optional[str] = None
    response_topic: Optional[str] = None
    correlation_data: Optional[bytes] = None
    user_properties: Sequence[Tuple[str, str]] = ()


@dataclass
class ConnectOptions:
    """Where and how to connect. ``version`` is 4 (MQTT 3.1.1) or 5."""

    host: str = "127.0.0.1"
    port: Optional[int] = None
    """Default 1883, or 8883 with TLS."""
    client_id: str = ""
    version: int = 4
    clean_start: bool = True
    keepalive: int = 60
    username: Optional[str] = None
    password: Optional[Union[bytes, str]] = None
    will: Optional[Will] = None
    session_expiry: Optional[int] = None
    """MQTT 5.0: seconds the server keeps the session after the connection ends. None: 300 for
    5.0, so an automatic reconnect within five minutes resumes the session and a QoS 2 publish
    caught by a connection loss completes exactly once (the trade-off: the server holds the
    session, and queues messages for its subscriptions, that long after any disconnection).
    0: the session ends with each connection. Must be 0 or None for 3.1.1."""
    tls: Optional[TLS] = None
    reconnect: Reconnect = field(default_factory=Reconnect)
    connect_timeout: float = 10.0
    request_timeout: float = 30.0
    """Seconds ``subscribe`` and ``unsubscribe`` wait for the server's answer before raising
    ``TimedOutError``."""
    max_inflight: int = 20
    """QoS 1/2 publishes unacknowledged at once (the server's Receive Maximum lowers it)."""
    max_packet_size: int = 1 << 20
    """Largest packet accepted from the server (128 bytes to 256 MiB, 1 MiB by default); a
    larger one ends the connection (reason 0x95)."""
    max_outbox_messages: int = 10_000
    max_outbox_bytes: int = 16 << 20
    outbox_policy: str = "wait"
    """When the outbox is full: "wait" (``publish`` waits in a line behind it, itself bounded
    to 1024 messages and ``max_outbox_bytes``, past which it raises ``QueueFull``;
    ``try_publish`` fails at once), "fail" (the same), or "drop_oldest" (the oldest queued
    message fails with ``DroppedError``)."""
    message_buffer: int = 4096
    """Received messages buffered; when full the client stops reading (TCP backpressure)."""
    message_buffer_bytes: int = 16 << 20
    """Bytes of received messages held for the application at most (a single larger message
    still goes); with ``message_buffer`` (the count) it bounds what a slow consumer holds."""
    user_properties: Sequence[Tuple[str, str]] = ()
    auth: Optional[EnhancedAuth] = None

    def _native(self) -> Dict[str, Any]:
        will = None
        if self.will is not None:
            w = self.will
            will = dict(topic=w.topic, payload=payload(w.payload), qos=w.qos, retain=w.retain,
                        delay_interval=w.delay_interval)
        tls = None
        if self.tls is not None:
            t = self.tls
            tls = dict(ca_pem=t.ca_pem, client_cert_pem=t.client_cert_pem, client_key_pem=t.client_key_pem,
                       alpn=[bytes(a) for a in t.alpn], server_name=t.server_name)
        password = self.password.encode("utf-8") if isinstance(self.password, str) else self.password
        return dict(
            host=self.host,
            port=self.port if self.port is not None else (8883 if self.tls else 1883),
            client_id=self.client_id,
            version=self.version,
            clean_start=self.clean_start,
            keepalive=self.keepalive,
            username=self.username,
            password=password,
            will=will,
            session_expiry=self.session_expiry,
            tls=tls,
            reconnect=(
                self.reconnect.enabled,
                self.reconnect.initial_delay,
                self.reconnect.max_delay,
                self.reconnect.stable_after,
            ),
            connect_timeout=self.connect_timeout,
            request_timeout=self.request_timeout,
            max_inflight=self.max_inflight,
            max_packet_size=self.max_packet_size,
            max_outbox_messages=self.max_outbox_messages,
            max_outbox_bytes=self.max_outbox_bytes,
            outbox_policy=self.outbox_policy,
            message_buffer=self.message_buffer,
            message_buffer_bytes=self.message_buffer_bytes,
            user_properties=list(self.user_properties),
            auth=None if self.auth is None else (self.auth.method, self.auth.initial_data, self.auth.respond),
        )


def options_from(url_or_options: Union[str, ConnectOptions, None], **overrides: Any) -> ConnectOptions:
    """``ConnectOptions`` from a URL (``mqtt://host[:port]``, ``mqtts://host[:port]``) or options,
    with keyword overrides."""
    if isinstance(url_or_options, ConnectOptions):
        return dataclasses.replace(url_or_options, **overrides)
    options = ConnectOptions(**overrides)
    if url_or_options is None:
        return options
    bad = InvalidUrl(f"{url_or_options!r}: expected mqtt://host[:port] or mqtts://host[:port]")
    bad.code = 105  # the InvalidUrl kind of nomq._nomq.error_kinds()
    url = urlsplit(url_or_options)
    try:
        port = url.port
    except ValueError:
        raise bad from None
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        raise bad
    options.host = url.hostname
    if port is not None:
        options.port = port
    if url.scheme == "mqtts" and options.tls is None:
        options.tls = TLS()
    if url.username and options.username is None:
        options.username = url.username
        options.password = url.password
    return options


def _properties(p: Optional[MessageProperties]) -> Optional[Dict[str, Any]]:
    if p is None:
        return None
    d = dataclasses.asdict(p)
    d["user_properties"] = list(p.user_properties)
    return d


class Subscription:
    """The messages of one subscription (``Client.subscription``): ``async for`` over it."""

    def __init__(self, native: Any) -> None:
        self._native = native
        self.granted: List[int] = list(native.granted)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            batch = await _bridge.call(self._native.recv_many, 256, None)
            if not batch:
                return
            for m in batch:
                yield m

    async def recv(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next message; None after ``timeout`` seconds or once the client is closed."""
        batch = await _bridge.call(self._native.recv_many, 1, timeout)
        return batch[0] if batch else None


class Client:
    """An MQTT client. Create it with a URL or ``ConnectOptions`` (plus keyword overrides),
    then ``await client.connect()`` or use ``async with``."""

    def __init__(self, url_or_options: Union[str, ConnectOptions, None] = None, **options: Any) -> None:
        self.options = options_from(url_or_options, **options)
        self._native: Any = None

    async def connect(self) -> "Client":
        """Connects (TCP or TLS, CONNECT, CONNACK); later losses are repaired in the background."""
        if self._native is None:
            self._native = await _bridge.call(_nomq.NativeClient.connect, self.options._native())
        return self

    async def __aenter__(self) -> "Client":
        return await self.connect()

    async def __aexit__(self, *exc: Any) -> None:
        await self.disconnect()

    def _client(self) -> Any:
        if self._native is None:
            from .errors import ClosedError

            raise ClosedError("not connected: call `await client.connect()` first")
        return self._native

    async def publish(
        self,
        topic: str,
        message: Payload,
        qos: int = 0,
        retain: bool = False,
        *,
        properties: Optional[MessageProperties] = None,
    ) -> int:
        """Publishes and returns when the QoS flow completes: written (0), PUBACK (1), PUBCOMP
        (2). Waits while the outbox is full. Returns the reason code (0, or 0x10 "no matching
        subscribers" from some 5.0 servers); a refusal raises ``PublishRefused``."""
        return await self.enqueue(topic, message, qos, retain, properties=properties)

    def enqueue(
        self,
        topic: str,
        message: Payload,
        qos: int = 0,
        retain: bool = False,
        *,
        properties: Optional[MessageProperties] = None,
    ) -> "asyncio.Future[int]":
        """Queues a publish and returns its future at once (no coroutine, no task): pipelining
        many publishes costs one future each. Await it for the same result as ``publish``."""
        completer, fut = _bridge.target()
        self._client().publish((completer, fut), topic, payload(message), qos, retain, _properties(properties))
        return fut

    async def try_publish(self, topic: str, message: Payload, qos: int = 0, retain: bool = False) -> int:
        """As ``publish``, but raises ``QueueFull`` at once when the outbox is full."""
        return await _bridge.call(self._client().try_publish, topic, payload(message), qos, retain)  # type: ignore[no-any-return]

    async def subscribe(
        self,
        topic_filter: str,
        qos: int = 0,
        *,
        no_local: bool = False,
        retain_as_published: bool = False,
        retain_handling: int = 0,
    ) -> List[int]:
        """Subscribes; messages arrive through ``messages()``. Returns the granted reason codes;
        a refusal raises ``SubscribeRefused`` (its ``reason_code`` says why)."""
        return await _bridge.call(  # type: ignore[no-any-return]
            self._client().subscribe, topic_filter, qos, no_local, retain_as_published, retain_handling, False
        )

    async def subscription(self, topic_filter: str, qos: int = 0) -> Subscription:
        """Subscribes with a message stream of its own (matching messages go there)."""
        native = await _bridge.call(self._client().subscribe, topic_filter, qos, False, False, 0, True)
        return Subscription(native)

    async def unsubscribe(self, topic_filter: str) -> List[int]:
        """Unsubscribes; returns the reason codes (5.0; empty in 3.1.1). A refusal raises
        ``UnsubscribeRefused``."""
        return await _bridge.call(self._client().unsubscribe, topic_filter)  # type: ignore[no-any-return]

    async def messages(self, batch: int = 256) -> AsyncIterator[Message]:
        """Messages of plain subscriptions as they arrive, until ``disconnect``."""
        async for m in _bridge.messages(self._client(), batch):
            yield m

    async def recv(self, timeout: Optional[float] = None) -> Optional[Message]:
        """The next message; None after ``timeout`` seconds or after ``disconnect``."""
        batch = await self.recv_many(1, timeout)
        return batch[0] if batch else None

    async def recv_many(self, limit: int = 256, timeout: Optional[float] = None) -> List[Message]:
        """Up to ``limit`` messages: those already waiting, else the next burst. Empty after
        ``timeout`` seconds or after ``disconnect``. One await for many messages."""
        return await _bridge.receive(self._client(), limit, timeout)

    async def metrics(self) -> Dict[str, int]:
        """Counters (sent, received, retransmitted, reconnects, dropped, duplicates) and gauges
        (inflight, queued_messages, queued_bytes)."""
        return await _bridge.call(self._client().metrics)  # type: ignore[no-any-return]

    async def disconnect(self) -> None:
        """Sends DISCONNECT (no will) and stops. Pending publishes fail with ``ClosedError``."""
        if self._native is not None:
            await _bridge.call(self._native.disconnect)
