"""The asyncio side of the completion bridge (``bindings/python/src/bridge.rs``).

Each running event loop gets one native ``Completer``. Rust operations queue their finished
futures there and write one byte to a socket the loop watches; the loop's reader callback then
resolves the whole batch. Tokio threads never take the GIL to wake Python.
"""
from __future__ import annotations

import asyncio
import weakref
from typing import Any, Callable, Tuple

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


def target() -> Tuple[_nomq.Completer, "asyncio.Future[Any]"]:
    """A new future of the running loop, with the completer that will resolve it."""
    global _last
    loop = asyncio.get_running_loop()
    last_loop, completer = _last
    if last_loop is not loop:
        completer = _completer(loop)
        _last = (loop, completer)
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
