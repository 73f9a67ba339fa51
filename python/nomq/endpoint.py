"""``nomq.Endpoint``: a NoMQ node on a UDP socket, with an asyncio API.

.. code-block:: python

    async with Endpoint("0.0.0.0:8888", encryption_key=k1, trailer_key=k2) as ep:
        await ep.subscribe("sensors/temp")
        await ep.publish(("192.168.1.20", 8888), "sensors/temp", b"21.5", qos=1)  # confirmed
        async for message in ep.messages():
            print(message.channel, message.payload, message.sender)
"""
from __future__ import annotations

import os
from typing import Any, AsyncIterator, Dict, Iterable, Optional

from . import _bridge, _nomq
from ._util import Address, Payload, address, payload
from .config import config_bind, config_keys, read_config

__all__ = ["Endpoint", "EndpointMessage"]

EndpointMessage = _nomq.EndpointMessage


class Endpoint:
    """A NoMQ node. ``version=1`` speaks the reference's wire format, ``version=2`` the secure
    v2. The socket is bound at construction; ``close()`` (or leaving ``async with``) stops it.

    Publishes are retransmitted with backoff until confirmed or until their ttl passes; every
    table is bounded. Messages arrive on subscribed channels only.
    """

    def __init__(
        self,
        bind: Address = "0.0.0.0:8888",
        *,
        encryption_key: bytes,
        trailer_key: bytes,
        version: int = 1,
        multicast: Iterable[str] = (),
        message_buffer: int = 1024,
        reference_layout: bool = False,
        share_port: bool = False,
    ) -> None:
        # ``share_port``: let other sockets bind the same port (SO_REUSEADDR, as the reference
        # does). Off by default, so a port already in use is an error, not a silent split.
        self._native = _nomq.NativeEndpoint(
            address(bind),
            encryption_key,
            trailer_key,
            version,
            list(multicast),
            message_buffer,
            None,
            reference_layout,
            share_port,
        )
        self.version = version

    @classmethod
    def from_config(
        cls, path: "str | os.PathLike[str]" = "nomq_config.json", *, version: int = 1, **options: Any
    ) -> "Endpoint":
        """An endpoint bound to the ``ip``/``port`` of a reference config file, with its keys."""
        settings = read_config(path)
        enc, trailer = config_keys(settings)
        return cls(config_bind(settings), encryption_key=enc, trailer_key=trailer, version=version, **options)

    async def __aenter__(self) -> "Endpoint":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def local_addr(self) -> str:
        """The bound address, ``"ip:port"``."""
        return self._native.local_addr

    async def subscribe(self, channel: str, *, announce: Optional[Address] = None, priority: int = 0) -> None:
        """Delivers ``channel``'s messages; with ``announce``, also sends SUBSCRIBE there so that
        nomq publishers send their retained messages."""
        await _bridge.call(self._native.subscribe, channel, None if announce is None else address(announce), priority)

    async def unsubscribe(self, channel: str, *, announce: Optional[Address] = None) -> bool:
        """Stops delivering ``channel``; False when it was not subscribed."""
        return bool(await _bridge.call(self._native.unsubscribe, channel, None if announce is None else address(announce)))

    async def publish(
        self,
        to: Address,
        channel: str,
        message: Payload,
        *,
        qos: int = 1,
        retain: bool = False,
        priority: int = 0,
        ttl: int = 3600,
    ) -> None:
        """Publishes and returns when the QoS flow completes: sent (0), ACK (1), PUBCOMP (2).
        Raises ``ExpiredError`` when no confirmation came within ``ttl`` seconds."""
        await _bridge.call(self._native.publish, address(to), channel, payload(message), qos, retain, priority, ttl)

    async def heartbeat(self, to: Address) -> None:
        """Sends a HEARTBEAT to ``to``."""
        await _bridge.call(self._native.heartbeat, address(to))

    async def recv(self, timeout: Optional[float] = None) -> Optional[EndpointMessage]:
        """The next message; None after ``timeout`` seconds or once closed."""
        batch = await _bridge.receive(self._native, 1, timeout)
        return batch[0] if batch else None

    async def messages(self, batch: int = 256) -> AsyncIterator[EndpointMessage]:
        """Messages as they arrive, until the endpoint is closed."""
        async for m in _bridge.messages(self._native, batch):
            yield m

    async def stats(self) -> Dict[str, int]:
        """Counters: datagrams in and out, rejections by reason, duplicates, deliveries..."""
        return await _bridge.call(self._native.stats)  # type: ignore[no-any-return]

    async def close(self) -> None:
        """Stops the node. Pending publishes fail with ``ClosedError``."""
        await _bridge.call(self._native.close)
