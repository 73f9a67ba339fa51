"""What MicroPython offers and CPython lacks, so that code written for mqboard's ``mqtt_async``
runs unchanged: the ``ticks_ms`` clock, ``machine.unique_id()``, a ``network.WLAN`` stand-in for
``config["interface"]``, and ``asyncio.sleep_ms``/``sleep_us``, which mqboard adds to CPython's
asyncio when it is imported (its tests and scripts call them)."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

# network.STAT_CONNECTING and STAT_GOT_IP on MicroPython's ESP32 port.
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010


def ticks_ms() -> float:
    """Milliseconds on a monotonic clock (``time.ticks_ms`` on MicroPython)."""
    return time.monotonic() * 1000.0


def ticks_diff(a: float, b: float) -> float:
    return a - b


def unique_id() -> bytes:
    """The machine's 6-byte hardware address, which is what ``machine.unique_id()`` returns on
    an ESP32: a default client id that differs from machine to machine."""
    return uuid.getnode().to_bytes(6, "big")


class HostInterface:
    """``config["interface"]`` off the board. The operating system keeps the host's network up,
    so the interface always reports connected, and requests to bring it down or up (which
    mqboard makes of a WLAN after failed reconnects) change nothing."""

    def active(self, *on: bool) -> bool:
        return True

    def connect(self, *args: Any, **kwargs: Any) -> None:
        pass

    def disconnect(self) -> None:
        pass

    def isconnected(self) -> bool:
        return True

    def status(self) -> int:
        return STAT_GOT_IP


async def sleep_ms(ms: float) -> None:
    await asyncio.sleep(ms / 1000)


async def sleep_us(us: float) -> None:
    await asyncio.sleep(us / 1_000_000)


def install_sleep_ms() -> None:
    """Adds ``sleep_ms`` and ``sleep_us`` to asyncio unless it has them (uasyncio has both)."""
    for name, function in (("sleep_ms", sleep_ms), ("sleep_us", sleep_us)):
        if not hasattr(asyncio, name):
            setattr(asyncio, name, function)
