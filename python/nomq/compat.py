"""``nomq.NoMQ``: the reference implementation's API, unchanged, over the Rust core.

Existing scripts keep working::

    nomq = NoMQ(config_file="nomq_config.json")
    await nomq.subscribe("sensors/temp")
    listener = await nomq.listen()
    await nomq.publish("sensors/temp", "21.5", qos=1, ip="192.168.1.20", port=8888)
    while True:
        msg = listener.mssg()          # {"channel": ..., "message": ...} or None
        ...

It speaks NoMQ v1, byte-compatible with the reference, and fixes its defects without changing
the wire (nomq-v1 §22): ``listen()`` returns at once and ``mssg()`` yields messages as they
arrive (§22.2), confirmations are matched without a subscription (§22.3), publishes are
retransmitted until confirmed (§22.5), comparisons are constant-time (§22.8), ``create_config``
needs no existing config (§22.25).
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import logging
import os
from typing import Any, Deque, Dict, Optional, Union

from . import _nomq
from .config import config_keys, read_config, write_config
from .endpoint import Endpoint
from .errors import ExpiredError, NomqError

__all__ = ["NoMQ", "Listener", "create_config"]

log = logging.getLogger("nomq.compat")


def create_config(config_dict: Dict[str, Any], output_file: "str | os.PathLike[str]") -> None:
    """Writes the reference's encrypted config file (usable before any config exists)."""
    write_config(config_dict, output_file)


class Listener:
    """Received messages, as the reference's ``listener.mssg()`` returns them."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._queue: Deque[Dict[str, str]] = collections.deque(maxlen=maxlen)

    def mssg(self) -> Optional[Dict[str, str]]:
        """The oldest unread message as ``{"channel": ..., "message": ...}``, or None."""
        return self._queue.popleft() if self._queue else None

    def _put(self, channel: str, message: str) -> None:
        self._queue.append({"channel": channel, "message": message})


class NoMQ:
    """A NoMQ v1 node configured by the reference's config file."""

    def __init__(self, config_file: str = "nomq_config.json", log_level: Union[str, int] = "INFO", timeout: float = 5):
        logging.getLogger("nomq").setLevel(log_level)
        _nomq.sync_log_level()
        self.config = read_config(config_file)
        self.encryption_key, self._trailer_key = config_keys(self.config)
        self.timeout = timeout
        # The reference binds with SO_REUSEADDR (v1 §18): several instances may share a port.
        self._endpoint = Endpoint.from_config(config_file, version=1, share_port=True)
        self._listener: Optional[Listener] = None
        self._pump: Optional["asyncio.Task[None]"] = None
        self._pending: "set[asyncio.Future[Any]]" = set()

    # The reference exposes create_config on the instance; it works on the class too.
    create_config = staticmethod(create_config)

    def gen_signature(self, message: Union[str, bytes]) -> str:
        """SHA-256 of the message followed by the trailer key, in hex (nomq-v1 §20). Local only:
        never sent on the wire."""
        data = message.encode("utf-8") if isinstance(message, str) else bytes(message)
        return hashlib.sha256(data + self._trailer_key).hexdigest()

    async def authenticate(self, signature: Union[str, bytes], message: Union[str, bytes], addr: Any = None) -> bool:
        """Whether ``signature`` is ``gen_signature(message)``, compared in constant time."""
        expected = self.gen_signature(message)
        if isinstance(signature, (bytes, bytearray)) and len(signature) == 32:
            # A raw digest rather than its hex form.
            return hmac.compare_digest(bytes.fromhex(expected), bytes(signature))
        given = signature.decode("ascii", "replace") if isinstance(signature, (bytes, bytearray)) else str(signature)
        return hmac.compare_digest(expected.encode(), given.lower().encode())

    async def subscribe(self, channel: str, priority: int = 0, signature: Any = None, message: Any = None,
                        addr: Any = None) -> bool:
        """Receives ``channel``. Like the reference, a signature is checked only when a
        signature, a message and an address are all given (nomq-v1 §20)."""
        if signature is not None and message is not None and addr is not None:
            if not await self.authenticate(signature, message, addr):
                log.error("subscribe %s: signature check failed", channel)
                return False
        await self._endpoint.subscribe(channel)
        log.info("subscribed to %s", channel)
        return True

    async def unsubscribe(self, channel: str) -> bool:
        """Stops receiving ``channel``."""
        return await self._endpoint.unsubscribe(channel)

    async def publish(self, channel: str, message: Union[str, bytes], qos: int = 1, retain: bool = False,
                      ttl: int = 3600, priority: int = 0, ip: str = "255.255.255.255", port: int = 8888,
                      signature: Any = None, auth_message: Any = None) -> bool:
        """Publishes ``message`` to ``ip:port`` (broadcast by default). Returns True once it is
        confirmed (QoS 1/2) or sent (QoS 0); after ``timeout`` seconds without a confirmation it
        returns False and keeps retransmitting in the background until ``ttl`` passes."""
        if signature is not None and auth_message is not None:
            if not await self.authenticate(signature, auth_message):
                log.error("publish %s: signature check failed", channel)
                return False
        text = message if isinstance(message, str) else bytes(message).decode("utf-8")
        done = asyncio.ensure_future(
            self._endpoint.publish((ip, port), channel, text, qos=qos, retain=retain, priority=priority, ttl=ttl)
        )
        self._pending.add(done)
        done.add_done_callback(self._finished)
        finished, _ = await asyncio.wait({done}, timeout=self.timeout)
        if not finished:
            log.warning("publish %s: not confirmed within %ss; still retrying", channel, self.timeout)
            return False
        done.result()
        return True

    def _finished(self, done: "asyncio.Future[Any]") -> None:
        self._pending.discard(done)
        if done.cancelled():
            return
        e = done.exception()
        if isinstance(e, ExpiredError):
            log.warning("a publish was never confirmed: %s", e)
        elif e is not None and not isinstance(e, NomqError):
            log.error("publish failed: %r", e)

    async def listen(self) -> Listener:
        """Starts receiving in the background and returns the listener at once."""
        if self._listener is None:
            self._listener = Listener()
            self._pump = asyncio.ensure_future(self._receive(self._listener))
        return self._listener

    async def _receive(self, listener: Listener) -> None:
        async for m in self._endpoint.messages():
            text = m.text
            log.info("message on %s: %s", m.channel, text)
            listener._put(m.channel, text)

    def close(self) -> None:
        """Stops the node (the socket is released once the loop runs the close)."""
        if self._pump is not None:
            self._pump.cancel()
        for p in list(self._pending):
            p.cancel()
        self._endpoint._native.close(None)
