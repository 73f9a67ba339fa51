"""``nomq._nomq``: the compiled core (``bindings/python/src``). Private: use ``nomq``.

Operations of ``NativeEndpoint``, ``NativeClient`` and ``NativeSubscription`` take a
``target`` first: ``(completer, future)`` resolves ``future`` through the loop's
``Completer`` and returns None at once (a receive returns an ``AbortOnCancel`` to add as the
future's done-callback, or None when it resolved the future already); ``None`` blocks with the
GIL released and returns the value.
"""

import asyncio
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union, final

from typing_extensions import TypeAlias

__all__ = [
    "__version__",
    "Completer",
    "Codec",
    "Packet",
    "channel_id",
    "config_json_from_text",
    "config_text_from_json",
    "NativeEndpoint",
    "EndpointMessage",
    "NativeClient",
    "NativeSubscription",
    "MqttMessage",
    "MqttPacket",
    "mqtt_decode",
    "mqtt_connect",
    "mqtt_publish",
    "mqtt_ack",
    "mqtt_subscribe",
    "mqtt_unsubscribe",
    "mqtt_check_topic",
    "_panic_in_task",
    "sync_log_level",
    "error_kinds",
]

__version__: str

Target: TypeAlias = Optional[Tuple[Completer, asyncio.Future[Any]]]
"""Where an operation's result goes: an asyncio future (resolved through its loop's
completer), or None to block the calling thread."""

@final
class Completer:
    """The completion queue of one asyncio event loop."""

    def __new__(cls) -> Completer: ...
    def fileno(self) -> int:
        """The descriptor the event loop watches for readability."""
    def resolve(self) -> None:
        """Resolves every queued future (the loop's reader callback)."""
    def ready(self) -> bool:
        """Whether finished operations wait to be resolved (no system call)."""
    def set_spinning(self, spinning: bool) -> None:
        """While the loop polls ``ready``, completions send no wake-up byte."""

@final
class AbortOnCancel:
    """Done-callback returned by an asyncio receive: aborts the native wait when the future
    was cancelled. Not a module attribute (only reachable through ``recv_many``)."""

    def __call__(self, future: asyncio.Future[Any]) -> None: ...

@final
class CancelWait:
    """Done-callback returned by ``NativeEndpoint.wait_many`` and ``NativeClient.wait_many``:
    drops the wait once the future is done (cancelled, timed out or resolved). Not a module
    attribute (only reachable through ``wait_many``)."""

    def __call__(self, future: asyncio.Future[Any]) -> None: ...

@final
class Codec:
    """Seals and opens NoMQ packets of one version under one key pair."""

    def __new__(
        cls,
        encryption_key: bytes,
        trailer_key: bytes,
        version: int = 1,
        window_s: float = 30.0,
        strict_iv: bool = False,
    ) -> Codec: ...
    @property
    def version(self) -> int:
        """1 or 2."""
    def channel_id(self, name: str) -> bytes:
        """The 16-byte channel id of ``name`` (v1: SHA-256 prefix; v2: keyed)."""
    def seal_publish(
        self,
        channel: str,
        message: Union[str, bytes],
        qos: int = 1,
        retain: bool = False,
        priority: int = 0,
        ttl: int = 3600,
        packet_id: Optional[int] = None,
        session_id: Optional[int] = None,
        timestamp_ms: Optional[int] = None,
    ) -> bytes:
        """A PUBLISH datagram (v1: ``message`` is text, or UTF-8 bytes)."""
    def seal(
        self,
        kind: int,
        channel_id: bytes,
        body: bytes = ...,
        flags: int = 0,
        packet_id: int = 0,
        session_id: int = 0,
        ttl: int = 3600,
        timestamp_ms: Optional[int] = None,
        iv: Optional[bytes] = None,
    ) -> bytes:
        """Any packet from raw parts (``kind`` 1..8, 16-byte ``channel_id`` and ``iv``);
        ``body`` defaults to ``b""``."""
    def open(self, datagram: bytes, now_ms: Optional[int] = None) -> Packet:
        """Verifies, checks the timestamp and decrypts."""

@final
class Packet:
    """An opened packet."""

    @property
    def kind(self) -> int:
        """Packet type 1..8 (1 PUBLISH ... 8 PUBCOMP)."""
    @property
    def flags(self) -> int: ...
    @property
    def qos(self) -> Optional[int]: ...
    @property
    def retain(self) -> bool: ...
    @property
    def priority(self) -> int: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def session_id(self) -> int: ...
    @property
    def ttl(self) -> int: ...
    @property
    def timestamp_ms(self) -> int: ...
    @property
    def channel_id(self) -> bytes: ...
    @property
    def iv(self) -> bytes: ...
    @property
    def payload(self) -> bytes:
        """The message (v1 PUBLISH: the text's bytes) or the plaintext."""
    @property
    def text(self) -> Optional[str]:
        """v1 PUBLISH: the text."""

def channel_id(name: str) -> bytes:
    """The v1 channel id of ``name`` (SHA-256 prefix)."""

def config_json_from_text(text: str) -> bytes:
    """The JSON inside a config file's text; raises ``ConfigError``."""

def config_text_from_json(json: bytes) -> str:
    """The config file text for ``json`` (validated), with a fresh random IV."""

def sync_log_level() -> None:
    """Re-reads the ``nomq`` logger's level after ``logging`` was reconfigured."""

@final
class EndpointMessage:
    """A message received by an endpoint."""

    @property
    def channel(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def sender(self) -> str:
        """``"ip:port"``."""
    @property
    def qos(self) -> int: ...
    @property
    def retain(self) -> bool: ...
    @property
    def priority(self) -> int: ...
    @property
    def session_id(self) -> int: ...
    @property
    def packet_id(self) -> int: ...
    @property
    def timestamp_ms(self) -> int: ...
    @property
    def text(self) -> str:
        """The payload as text (UTF-8, lossy)."""

@final
class NativeEndpoint:
    """A running NoMQ node."""

    def __new__(
        cls,
        bind: str,
        encryption_key: bytes,
        trailer_key: bytes,
        version: int = 1,
        multicast: Sequence[str] = ...,
        message_buffer: int = 1024,
        max_pending: Optional[int] = None,
        reference_layout: bool = False,
        share_port: bool = False,
    ) -> NativeEndpoint:
        """Binds the UDP socket and starts the node (``multicast`` defaults to none)."""
    @property
    def local_addr(self) -> str:
        """The bound address, ``"ip:port"``."""
    @property
    def session_id(self) -> int:
        """The node's current session id, as its packets carry it."""
    def subscribe(self, target: Target, channel: str, announce: Optional[str] = None, priority: int = 0) -> None:
        """Subscribes; with ``announce``, also sends SUBSCRIBE there."""
    def unsubscribe(self, target: Target, channel: str, announce: Optional[str] = None) -> Any:
        """Unsubscribes; the value (bool) tells whether ``channel`` was subscribed."""
    def publish(
        self,
        target: Target,
        to: str,
        channel: str,
        payload: bytes,
        qos: int = 1,
        retain: bool = False,
        priority: int = 0,
        ttl: int = 3600,
    ) -> None:
        """Publishes; completes when the QoS flow does."""
    def heartbeat(self, target: Target, to: str) -> None:
        """Sends a HEARTBEAT to ``to``."""
    def recv_many(self, target: Target, limit: int, timeout: Optional[float] = None) -> Any:
        """Up to ``limit`` messages (``List[EndpointMessage]``); empty once closed, None after
        ``timeout``. With a future: an ``AbortOnCancel`` or None."""
    def wait_many(self, target: Target, limit: int) -> CancelWait:
        """Resolves the future (asyncio only) with up to ``limit`` messages as soon as the
        driver hands some over, from the driver's thread; ``[]`` once closed; None when another
        receiver took them first."""
    def try_recv_many(self, limit: int) -> List[EndpointMessage]:
        """The messages already waiting, up to ``limit``."""
    def stats(self, target: Target) -> Any:
        """The counters (``Dict[str, int]``)."""
    def close(self, target: Target) -> None:
        """Stops the node."""

@final
class MqttPacket:
    """A packet from an MQTT 3.1.1 server, decoded by the Rust codec (``mqtt_async``)."""
    @property
    def kind(self) -> int: ...
    @property
    def dup(self) -> bool: ...
    @property
    def qos(self) -> int: ...
    @property
    def retain(self) -> bool: ...
    @property
    def packet_id(self) -> Optional[int]: ...
    @property
    def topic(self) -> bytes: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def code(self) -> int: ...
    @property
    def session_present(self) -> bool: ...

def mqtt_decode(buf: Union[bytes, bytearray], max_packet_size: int = ...) -> Optional[Tuple[MqttPacket, int]]: ...
def mqtt_connect(client_id: bytes, clean: bool, keepalive: int, username: Optional[bytes], password: Optional[bytes],
                 will: Optional[Tuple[bytes, bytes, int, bool]]) -> bytes: ...
def mqtt_publish(topic: bytes, payload: bytes, qos: int, retain: bool, dup: bool, packet_id: Optional[int]) -> bytes: ...
def mqtt_ack(kind: int, packet_id: int) -> bytes: ...
def mqtt_subscribe(packet_id: int, topic: bytes, qos: int) -> bytes: ...
def mqtt_unsubscribe(packet_id: int, topic: bytes) -> bytes: ...
def mqtt_check_topic(topic: bytes, filter: bool) -> None: ...

@final
class MqttMessage:
    """A received MQTT message."""

    @property
    def topic(self) -> str: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def qos(self) -> int: ...
    @property
    def retain(self) -> bool: ...
    @property
    def properties(self) -> Optional[Dict[str, Any]]:
        """MQTT 5.0 properties, or None."""

@final
class NativeClient:
    """A connected MQTT client."""

    @staticmethod
    def connect(target: Target, options: Mapping[str, Any]) -> Any:
        """Connects; the value is the ``NativeClient``. ``options``: the dict of
        ``nomq.mqtt.ConnectOptions._native``."""
    def publish(
        self,
        target: Target,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        properties: Optional[Mapping[str, Any]] = None,
        timeout: Optional[float] = None,
    ) -> Any:
        """Publishes; the value is the reason code (int)."""
    def try_publish(self, target: Target, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> Any:
        """As ``publish``, but ``QueueFull`` at once when the outbox is full."""
    def subscribe(
        self,
        target: Target,
        filter: str,
        qos: int = 0,
        no_local: bool = False,
        retain_as_published: bool = False,
        retain_handling: int = 0,
        stream: bool = False,
    ) -> Any:
        """Subscribes; the value is the granted reason codes (``List[int]``), or with ``stream``
        a ``NativeSubscription``."""
    def unsubscribe(self, target: Target, filter: str) -> Any:
        """Unsubscribes; the value is the reason codes (``List[int]``)."""
    def recv_many(self, target: Target, limit: int, timeout: Optional[float] = None) -> Any:
        """Up to ``limit`` messages (``List[MqttMessage]``); empty once closed, None after
        ``timeout``. With a future: an ``AbortOnCancel`` or None."""
    def wait_many(self, target: Target, limit: int) -> CancelWait:
        """Resolves the future (asyncio only) with up to ``limit`` messages as soon as the
        driver hands some over, from the driver's thread; ``[]`` once closed; None when another
        receiver took them first."""
    def try_recv_many(self, limit: int) -> List[MqttMessage]:
        """The messages already waiting, up to ``limit``."""
    def metrics(self, target: Target) -> Any:
        """Counters and gauges (``Dict[str, int]``)."""
    def disconnect(self, target: Target) -> None:
        """Sends DISCONNECT and stops."""

@final
class NativeSubscription:
    """The message stream of one subscription."""

    @property
    def granted(self) -> bytes:
        """Granted reason codes."""
    def recv_many(self, target: Target, limit: int, timeout: Optional[float] = None) -> Any:
        """Up to ``limit`` messages (``List[MqttMessage]``); empty once the client is closed,
        None after ``timeout``. With a future: an ``AbortOnCancel`` or None."""

def _panic_in_task(target: Target) -> None:
    """Self-test of the panic path: the future ends with a NomqError of kind Panic."""

def error_kinds() -> List[Tuple[int, str, str, str]]:
    """The core's error-kind table: ``(code, kind, class name in nomq.errors, text)`` per kind."""
