"""The asyncio side of the completion bridge (``bindings/python/src/bridge.rs``).

Each running event loop gets one native ``Completer``. Rust operations queue their finished
futures there and write one byte to a socket the loop watches; the loop's reader callback then
resolves the whole batch. Tokio threads never take the GIL to wake Python.
"""
from __future__ import annotations

import asyncio
import os
import time
import weakref
from typing import Any, AsyncIterator, Callable, List, Optional, Tuple

from . import _nomq

_completers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _nomq.Completer]" = (
    weakref.WeakKeyDictionary()
)


def _completer(loop: asyncio.AbstractEventLoop) -> _nomq.Completer:
    completer = _completers.get(loop)
    if completer is None:
        completer = _nomq.Completer()
        loop.add_reader(completer.fileno(), completer.resolve)
        _completers[loop] = completer
    return completer


# The loop and completer of the last call: one identity check instead of a weak-dictionary
# lookup on the per-publish path.
_last: Tuple[Any, Any] = (None, None)


# Opt-in latency mode (NOMQ_SPIN_US=150): after starting an operation the loop polls the
# completer for that many microseconds before it sleeps in the selector, so a result arriving
# within it skips one thread wake-up. On the 2-core development machine it took the MQTT QoS 1
# round trip's median from 74 to 61 µs (docs/python.md) and costs a busy core while it spins:
# off by default.
_SPIN_S = float(os.environ.get("NOMQ_SPIN_US", "0")) / 1e6
_spinning: "weakref.WeakSet[asyncio.AbstractEventLoop]" = weakref.WeakSet()


def _spin(loop: asyncio.AbstractEventLoop, completer: Any, until: float) -> None:
    if completer.ready():
        completer.resolve()
    if time.perf_counter() < until:
        loop.call_soon(_spin, loop, completer, until)
        return
    # Back to wake-up bytes; what finished between the last poll and this is resolved now.
    completer.set_spinning(False)
    _spinning.discard(loop)
    if completer.ready():
        completer.resolve()


def target() -> Tuple[_nomq.Completer, "asyncio.Future[Any]"]:
    """A new future of the running loop, with the completer that will resolve it."""
    global _last
    loop = asyncio.get_running_loop()
    last_loop, completer = _last
    if last_loop is not loop:
        completer = _completer(loop)
        _last = (loop, completer)
    if _SPIN_S > 0 and loop not in _spinning:
        _spinning.add(loop)
        completer.set_spinning(True)
        loop.call_soon(_spin, loop, completer, time.perf_counter() + _SPIN_S)
    return completer, loop.create_future()


def forget(loop: asyncio.AbstractEventLoop) -> None:
    """Stops watching the loop's completer (before the loop closes)."""
    global _last
    if _last[0] is loop:
        _last = (None, None)
    completer = _completers.pop(loop, None)
    if completer is not None and not loop.is_closed():
        loop.remove_reader(completer.fileno())


def call(operation: Callable[..., Any], *args: Any) -> "asyncio.Future[Any]":
    """Starts a native operation that resolves a future of the running loop; await the result."""
    completer, fut = target()
    on_done = operation((completer, fut), *args)
    if on_done is not None:
        # Receives return a canceller: a cancelled await stops the native wait too.
        fut.add_done_callback(on_done)
    return fut


def _expire(fut: "asyncio.Future[Any]") -> None:
    """A receive's timeout: no messages (the wait is dropped by the future's done-callback)."""
    if not fut.done():
        fut.set_result([])


async def receive(native: Any, limit: int, timeout: Optional[float]) -> List[Any]:
    """Up to ``limit`` messages of ``native`` (a ``NativeEndpoint`` or ``NativeClient``): those
    already waiting, else the next burst. Empty after ``timeout`` seconds or once closed."""
    batch: List[Any] = native.try_recv_many(limit)
    if batch:
        return batch
    # Resolved from the driver's thread as messages arrive: one thread hop, no task.
    loop = asyncio.get_running_loop()
    fut = call(native.wait_many, limit)
    expiry = None if timeout is None else loop.call_later(max(timeout, 0.0), _expire, fut)
    start = loop.time()
    try:
        batch = await fut
    finally:
        if expiry is not None:
            expiry.cancel()
    if batch is not None:
        return batch
    # Another receiver took them first: wait the general way for the time left.
    left = None if timeout is None else max(timeout - (loop.time() - start), 0.0)
    return await call(native.recv_many, limit, left) or []


async def messages(native: Any, batch: int) -> AsyncIterator[Any]:
    """The messages of ``native`` as they arrive, up to ``batch`` per wake-up, until it closes."""
    while True:
        got = native.try_recv_many(batch)
        if not got:
            got = await call(native.recv_many, batch, None)
            if not got:
                return
        for m in got:
            yield m
