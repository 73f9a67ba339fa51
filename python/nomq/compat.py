"""``nomq.NoMQ``: the API of the reference NoMQ implementation (MicroPython), over the Rust core.

Scripts written for the reference run unchanged, with either import the reference's scripts use
(``from nomq import NoMQ``, or ``from NoMQ.nomq import NoMQ`` through the top-level module
``NoMQ``)::

    nomq = NoMQ("nomq_config.json", "INFO", 5)
    await nomq.subscribe("sensors/temp")
    await nomq.publish("sensors/temp", "21.5", qos=1, ip="192.168.1.20", port=8888)
    listener = await nomq.listen()
    while True:
        msg = listener.mssg()          # {"channel": ..., "message": ...} or None
        await asyncio.sleep(0.1)

Names, signatures, defaults, return values, class constants and log lines (``[LEVEL] text`` on
standard output) are the reference's. It speaks NoMQ v1, byte-compatible with the reference, and
differs only where the reference is broken (nomq-v1 §22) or where the core owns the node's
state; docs/python.md lists each difference.
"""
from __future__ import annotations

import asyncio
import collections
import errno
import functools
import hashlib
import hmac
import ipaddress
import logging
import os
import socket
import time
import uuid
from typing import Any, Deque, Dict, List, Optional, Tuple, Union

from . import _bridge, _nomq
from ._util import address
from .config import config_bind, config_keys, read_config, write_config
from .endpoint import Endpoint
from .errors import ClosedError, ExpiredError, NetworkError, NomqError

__all__ = ["NoMQ", "Listener", "SimpleLogger", "create_config"]

# Publishes handed to the core and not finished (sent at QoS 0, confirmed at QoS 1/2). Below the
# core's command queue and pending table (1024 each), so a burst waits here instead of failing.
_IN_FLIGHT = 512


def create_config(config_dict: Dict[str, Any], output_file: "str | os.PathLike[str]") -> None:
    """Writes the reference's encrypted config file; needs no existing config, unlike
    ``NoMQ(...).create_config``."""
    write_config(config_dict, output_file)


class SimpleLogger:
    """The reference's logger: ``[LEVEL] message`` on standard output for levels at or above
    ``level`` (``DEBUG`` < ``INFO`` < ``WARNING`` < ``ERROR``; an unknown level shows all)."""

    def __init__(self, level: str = "INFO") -> None:
        self.level = level
        self.levels = {"DEBUG": 0, "INFO": 1, "WARNING": 2, "ERROR": 3}

    def _log(self, level: str, msg: Any) -> None:
        if self.levels.get(level, 0) >= self.levels.get(self.level, 0):
            print(f"[{level}] {msg}")

    def debug(self, msg: Any) -> None:
        self._log("DEBUG", msg)

    def info(self, msg: Any) -> None:
        self._log("INFO", msg)

    def warning(self, msg: Any) -> None:
        self._log("WARNING", msg)

    def error(self, msg: Any) -> None:
        self._log("ERROR", msg)


class Listener:
    """What ``listen()`` returns: ``mssg()`` gives the next received message, or None."""

    def __init__(self, nomq: "NoMQ") -> None:
        self.nomq = nomq
        # Messages taken from the core and not returned yet. It is refilled only once empty, so
        # a reader that falls behind leaves the backlog in the core, whose bounded buffer then
        # holds back the senders (they retransmit) instead of this queue growing.
        self.message_queue: Deque[Dict[str, str]] = collections.deque()

    def mssg(self) -> Optional[Dict[str, str]]:
        """The oldest unread message as ``{"channel": ..., "message": ...}``, or None."""
        queue = self.message_queue
        if not queue:
            self.nomq._take(queue)
        return queue.popleft() if queue else None


class NoMQ:
    """A NoMQ v1 node bound to the ``ip``/``port`` of a config file (the reference's encrypted
    format, or the plain JSON object)."""

    # The reference's constants. MAX_CHANNELS and MAX_PAYLOAD_SIZE (characters) limit subscribe
    # and publish as in the reference, DEFAULT_TTL is publish's default; the others describe the
    # reference's internals and change nothing here (the core's limits: nomq-v1 §17).
    MAX_RETAINED_MESSAGES = 5
    MAX_PENDING_MESSAGES = 50
    MAX_CHANNELS = 20
    MAX_PAYLOAD_SIZE = 1024
    DEFAULT_TTL = 3600
    BUFFER_SIZE = 2048
    HEARTBEAT_INTERVAL = 30
    SESSION_TIMEOUT = 300
    MAX_RETRIES = 3
    TIMESTAMP_WINDOW = 30
    NONCE_WINDOW = 100
    MAX_BACKOFF = 60
    PROTOCOL_VERSION = 1
    MAGIC_NUMBER = 0x4E4D

    ip: str
    port: int
    use_ipv6: bool
    encryption_key: bytes
    hmac_key: bytes

    def __init__(self, config_file: str = "nomq_config.json", log_level: Union[str, int] = "INFO", timeout: float = 5):
        """Reads the config and binds its address. Raises RuntimeError when either fails, as the
        reference does. ``timeout`` bounds how long ``publish`` waits while 512 earlier
        publishes are still unconfirmed."""
        level = logging.getLevelName(log_level) if isinstance(log_level, int) else log_level
        self.logger = SimpleLogger(level=level)
        if level in ("DEBUG", "INFO", "WARNING", "ERROR"):
            logging.getLogger("nomq").setLevel(level)  # the core's own records
            _nomq.sync_log_level()
        self.timeout = timeout
        self.session_start = time.time()
        self.channels: List[Dict[str, Any]] = []
        self.pending_messages: Dict[int, Dict[str, Any]] = {}
        self.running = False
        self.backoff_count = 0  # the core never rebuilds its socket
        self._listener: Optional[Listener] = None
        self._in_flight = 0
        self._room: "Optional[asyncio.Future[None]]" = None
        self._next_key = 0
        self._addresses: Dict[Tuple[str, int], str] = {}
        self._device_id: Optional[str] = None
        self._closed = False
        self._load_config(config_file)
        self._endpoint = self._bind()
        self._native = self._endpoint._native
        self.running = True
        self.logger.info(f"NoMQ initialized on {self.local_addr} (IPv{'6' if self.use_ipv6 else '4'})")

    def _load_config(self, config_file: str) -> None:
        try:
            settings = read_config(config_file)
            self.encryption_key, self.hmac_key = config_keys(settings)
            self.ip = str(settings.get("ip", "0.0.0.0"))
            self.port = int(settings.get("port", 8888))
            self.use_ipv6 = bool(settings.get("use_ipv6", False))
        except (OSError, ValueError, TypeError) as e:
            self.logger.error(f"Failed to load config: {e}")
            raise RuntimeError(f"Config load failed: {e}") from e

    def _bind(self) -> Endpoint:
        ip, port = config_bind({"ip": self.ip, "port": self.port, "use_ipv6": self.use_ipv6})
        keys: Dict[str, Any] = {"encryption_key": self.encryption_key, "trailer_key": self.hmac_key}
        try:
            try:
                return Endpoint((ip, port), **keys)
            except NetworkError:
                if port == 0 or not _in_use(ip, port):
                    raise
            # The reference shares the port (SO_REUSEADDR). On a host that splits unicast
            # datagrams between the two programs unpredictably, so a second node on the same
            # host and config (a sender beside its receiver) takes a port of its own: its
            # publishes go out and their confirmations come back.
            endpoint = Endpoint((ip, 0), **keys)
        except NomqError as e:
            self.logger.error(f"Socket initialization failed: {e}")
            raise RuntimeError(f"Socket bind failed: {e}") from e
        self.logger.warning(f"{ip}:{port} is in use by another program; this node is bound to "
                            f"{endpoint.local_addr} (messages sent to port {port} reach the other program)")
        return endpoint

    @property
    def local_addr(self) -> str:
        """The bound address, ``"ip:port"`` (beyond the reference)."""
        return self._endpoint.local_addr

    @property
    def session_id(self) -> int:
        """The node's session id, as on the wire."""
        return self._native.session_id

    @property
    def device_id(self) -> str:
        """SHA-256 of the host's MAC address, in hex (the reference hashes the board's)."""
        if self._device_id is None:
            self._device_id = hashlib.sha256(uuid.getnode().to_bytes(6, "big")).hexdigest()
        return self._device_id

    def create_config(self, config_dict: Dict[str, Any], output_file: "str | os.PathLike[str]") -> None:
        """Writes ``config_dict`` as an encrypted config file (mode 0600). Raises ``ConfigError``
        for keys that are not 64 hex characters, rather than writing a file no node can load."""
        try:
            write_config(config_dict, output_file)
        except (OSError, ValueError, TypeError) as e:
            self.logger.error(f"Failed to save config: {e}")
            raise
        self.logger.info(f"Config saved to {os.fspath(output_file)}")

    def gen_signature(self, message: Union[str, bytes, bytearray] = "auth") -> bytes:
        """SHA-256 of ``message`` followed by the hmac key: 32 bytes (nomq-v1 §20). Local only,
        never sent."""
        if isinstance(message, str):
            data = message.encode("utf-8")
        elif isinstance(message, (bytes, bytearray)):
            data = bytes(message)
        else:
            raise ValueError(f"Message must be bytes or string, got {type(message)}")
        return hashlib.sha256(data + self.hmac_key).digest()

    async def authenticate(self, signature: Any, message: Union[str, bytes, bytearray], addr: Any) -> bool:
        """Whether ``signature`` is ``gen_signature(message)`` (the raw 32 bytes), compared in
        constant time. ``addr`` only appears in the log."""
        try:
            expected = self.gen_signature(message)
        except ValueError as e:
            self.logger.error(f"Authentication error: {e}")
            return False
        if isinstance(signature, (bytes, bytearray, memoryview)) and hmac.compare_digest(expected, signature):
            self.logger.info(f"Device {addr} authenticated successfully")
            return True
        self.logger.warning(f"Authentication failed for {addr}")
        return False

    async def subscribe(self, channel: str, priority: int = 0, signature: Any = None, message: Any = None,
                        addr: Any = None) -> None:
        """Receives ``channel``. As in the reference, a signature is checked only when a
        signature, a message and an address are all given, and failures are logged, not raised."""
        try:
            if not isinstance(channel, str) or not channel:
                raise ValueError("Channel must be a non-empty string")
            if signature and message and addr and not await self.authenticate(signature, message, addr):
                return
            if any(c["name"] == channel for c in self.channels):
                return
            if len(self.channels) >= self.MAX_CHANNELS:
                raise RuntimeError("Max channel limit reached")
            await self._endpoint.subscribe(channel)
        except (NomqError, ValueError, RuntimeError, OSError) as e:
            self.logger.error(f"Subscribe failed: {e}")
            return
        priority = min(max(priority, 0), 15)
        self.channels.append({"name": channel, "id": _nomq.channel_id(channel), "priority": priority})
        self.logger.info(f"Subscribed to {channel} with priority {priority}")

    async def unsubscribe(self, channel: str) -> None:
        """Stops receiving ``channel``."""
        for i, c in enumerate(self.channels):
            if c["name"] == channel:
                try:
                    await self._endpoint.unsubscribe(channel)
                except NomqError as e:
                    self.logger.error(f"Unsubscribe error: {e}")
                    return
                del self.channels[i]
                self.logger.info(f"Unsubscribed from {channel}")
                return
        self.logger.warning(f"Channel {channel} not subscribed")

    async def publish(self, channel: str, message: str, qos: int = 1, retain: bool = False, ttl: int = DEFAULT_TTL,
                      priority: int = 0, ip: str = "255.255.255.255", port: int = 8888, signature: Any = None,
                      auth_message: Any = None) -> None:
        """Sends ``message`` (a non-empty str) to ``ip:port``, broadcast by default, and returns
        without waiting for a confirmation, as the reference does. Until one comes (or ``ttl``
        passes) the core retransmits and the publish is listed in ``pending_messages``. Failures
        are logged, not raised."""
        try:
            if not isinstance(message, str):
                raise ValueError(f"Message must be a string, got {type(message)}")
            if not message:
                raise ValueError("Message cannot be empty")
            if len(message) > self.MAX_PAYLOAD_SIZE:
                raise ValueError(f"Message exceeds max payload size ({self.MAX_PAYLOAD_SIZE} characters)")
            if signature and auth_message and not await self.authenticate(signature, auth_message, (ip, port)):
                return
            if self._in_flight >= _IN_FLIGHT and not await self._wait_for_room():
                self.logger.error(f"Publish failed: {self._in_flight} earlier publishes still unconfirmed "
                                  f"after {self.timeout} s")
                return
            completer, done = _bridge.target()
            self._native.publish((completer, done), self._address(ip, port), channel, message.encode("utf-8"), qos,
                                 retain, min(max(priority, 0), 15), ttl)
        except (NomqError, ValueError, OverflowError, OSError) as e:
            self.logger.error(f"Publish failed: {e}")
            return
        self._in_flight += 1
        key = None
        if qos:
            key = self._next_key
            self._next_key += 1
            self.pending_messages[key] = {"channel": channel, "ip": ip, "port": port, "qos": qos, "ttl": ttl,
                                          "timestamp": time.time()}
        done.add_done_callback(functools.partial(self._finished, key))
        self.logger.info(f"Published to {channel}: {message}")

    def _address(self, ip: str, port: int) -> str:
        """``"ip:port"`` for the core; host names are resolved once."""
        key = (ip, port)
        to = self._addresses.get(key)
        if to is None:
            try:
                ipaddress.ip_address(ip)
                numeric = ip
            except ValueError:
                family = socket.AF_INET6 if self.use_ipv6 else socket.AF_INET
                numeric = str(socket.getaddrinfo(ip, port, family, socket.SOCK_DGRAM)[0][4][0])
            if len(self._addresses) >= 64:
                self._addresses.clear()
            to = self._addresses[key] = address((numeric, port))
        return to

    async def _wait_for_room(self) -> bool:
        """Waits up to ``timeout`` seconds for an in-flight publish to finish."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while self._in_flight >= _IN_FLIGHT:
            left = deadline - loop.time()
            if left <= 0:
                return False
            if self._room is None or self._room.done():
                self._room = loop.create_future()
            await asyncio.wait({self._room}, timeout=left)
        return True

    def _finished(self, key: Optional[int], done: "asyncio.Future[Any]") -> None:
        self._in_flight -= 1
        entry = self.pending_messages.pop(key, None) if key is not None else None
        if self._room is not None and not self._room.done():
            self._room.set_result(None)
        error = None if done.cancelled() else done.exception()
        if error is None:
            if entry is not None:
                self.logger.info(f"Confirmed: {entry['channel']} to {entry['ip']}:{entry['port']}")
        elif isinstance(error, ExpiredError):
            self.logger.warning(f"Not confirmed within its ttl: {entry['channel'] if entry else 'a publish'}")
        elif not isinstance(error, ClosedError):
            self.logger.error(f"Publish failed: {error}")

    async def listen(self) -> Listener:
        """Returns the listener at once; the reference's runs the receive loop until ``close()``
        and returns only then (nomq-v1 §22.2). Messages are received and confirmed by the core
        whether or not anyone listens."""
        self.running = True
        if self._listener is None:
            self._listener = Listener(self)
        return self._listener

    def _take(self, queue: Deque[Dict[str, str]]) -> None:
        """Moves the messages waiting in the core to ``queue`` (nothing once ``running`` is False)."""
        if not self.running:
            return
        for m in self._native.try_recv_many(256):
            text = m.text
            self.logger.info(f"Received on {m.channel}: {text}")
            queue.append({"channel": m.channel, "message": text})

    async def send_heartbeat_response(self, addr: Tuple[str, int]) -> None:
        """Sends a HEARTBEAT to ``addr``."""
        try:
            await self._endpoint.heartbeat(self._address(addr[0], addr[1]))
        except (NomqError, OSError) as e:
            self.logger.error(f"Heartbeat send error: {e}")
            return
        self.logger.info(f"Sent heartbeat to {addr}")

    async def cleanup_expired_messages(self) -> None:
        """Nothing to do: the core expires retained and pending messages on its own timers."""

    def close(self) -> None:
        """Stops the node. Publishes already made are sent first; unconfirmed ones stop being
        retransmitted."""
        if self._closed:
            return
        self._closed = True
        self.running = False
        try:
            # Commands reach the core in order: once this answers, earlier publishes are sent.
            self._native.stats(None)
        except NomqError:
            pass
        self._native.close(None)
        self.channels.clear()
        self.pending_messages.clear()
        self.logger.info("NoMQ resources cleaned up")


def _in_use(ip: str, port: int) -> bool:
    """Whether another socket holds ``ip:port`` (the core's bind error carries no errno)."""
    with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((ip, port))
        except OSError as e:
            return e.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", None))
    return False
