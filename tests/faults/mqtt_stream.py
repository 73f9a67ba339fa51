"""A numbered MQTT stream between a publisher and a subscriber, both connected through a fault
relay, with a saboteur coroutine injecting faults at points of the stream's progress. The
fault tests in test_mqtt_tcp_faults.py differ only in their saboteur and their checks.

Faults are triggered by progress (how many publishes completed), never by the clock, so they
land mid-stream whatever the machine's speed. The only timeouts bound a failing test."""
from __future__ import annotations

import asyncio
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional

from delivery import Tally
from nomq.mqtt import Client, Reconnect

COMPLETION_TIMEOUT_S = 120.0
"""Bounds a stream that does not complete; never reached by one that works."""
NO_PROGRESS_S = 30.0
"""A stream with neither a completion nor a new arrival for this long has lost something. The
longest quiet spell a passing test has is a stall until the keep alive gives up (about 11 s:
PINGREQ after 1 s, then the 10 s PINGRESP deadline)."""
LATE_DUPLICATES_S = 0.5
"""After the last message and the last completion, how long to listen for late duplicates."""
QUICK_RECONNECT = Reconnect(initial_delay=0.02, max_delay=0.2, stable_after=1.0)
"""The default backoff grows to 30 s when connections keep dying young (by design, so a fleet
does not hammer a broker); a stream cut a dozen times would then wait minutes."""

_ids = itertools.count()


def unique(prefix: str) -> str:
    """A client id or topic no other test (or run against the same broker) uses."""
    return f"{prefix}-{os.getpid()}-{next(_ids)}"


MAX_PACKET = 100
"""Bytes of the largest PUBLISH of a stream: header, topic, packet id and ``payload_of``."""


def payload_of(i: int) -> bytes:
    """Message ``i``: its number and a filler of varying length, so that cuts after every N
    bytes fall at different places within packets."""
    return f"{i}:".encode() + b"x" * (i * 7 % 61)


def session_options(version: int, keepalive: int = 60) -> Dict[str, Any]:
    """Options for a client whose session the broker keeps across lost connections: needed by
    the subscriber (messages published while it is away) and by the publisher (a QoS 2
    message the broker took must stay known, or it ends in DeliveryUnknown). 3.1.1: Clean
    Session 0 with a client id; 5.0: a session expiry interval as well, set here rather than
    left to the client's default, since the tests depend on it."""
    options: Dict[str, Any] = dict(version=version, clean_start=False, keepalive=keepalive,
                                   reconnect=QUICK_RECONNECT)
    if version == 5:
        options["session_expiry"] = 300
    return options


@dataclass
class Progress:
    """What the saboteur sees of the stream."""

    count: int
    completed: int = 0
    """Publishes whose QoS flow completed (successfully or not)."""
    tally: Optional[Tally] = None
    publisher: Optional[Client] = None
    subscriber: Optional[Client] = None
    notes: List[str] = field(default_factory=list)

    async def until(self, condition: Callable[[], bool], what: str, timeout: float = COMPLETION_TIMEOUT_S) -> None:
        """Waits for ``condition``; the timeout only bounds a failing test."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.005)

    async def until_completed(self, n: int) -> None:
        await self.until(lambda: self.completed >= n, f"{n} completed publishes")


Saboteur = Callable[[Progress], Awaitable[None]]


@dataclass
class Outcome:
    tally: Tally
    results: List[Any]
    """Each publish's result (a reason code) or exception, by message number."""
    publisher: Dict[str, int]
    subscriber: Dict[str, int]
    notes: List[str]

    def failures(self) -> List[Any]:
        """Publishes that did not complete with reason code 0. The subscriber's session always
        exists, so even 5.0's 0x10 (no matching subscribers) would mean a lost message."""
        return [(i, r) for i, r in enumerate(self.results) if isinstance(r, BaseException) or r != 0]

    def report(self) -> str:
        return (f"{self.tally.summary()}; publisher {self.publisher}; subscriber {self.subscriber}; "
                f"notes {self.notes}")


async def run_stream(
    port: int,
    version: int,
    qos: int,
    count: int,
    saboteur: Optional[Saboteur] = None,
    *,
    keepalive: int = 60,
    outstanding: int = 50,
) -> Outcome:
    """Publishes ``count`` numbered messages at ``qos`` with at most ``outstanding`` not yet
    completed or not yet received (more than the client's inflight window of 20, so some
    wait in its outbox), while ``saboteur`` runs; returns what arrived once every number has arrived and every
    publish has completed, plus late duplicates."""
    topic = unique("faults/stream")
    subscriber = await Client(f"mqtt://127.0.0.1:{port}", client_id=unique("sub"),
                              **session_options(version, keepalive)).connect()
    publisher = await Client(f"mqtt://127.0.0.1:{port}", client_id=unique("pub"),
                             **session_options(version, keepalive)).connect()
    try:
        await subscriber.subscribe(topic, qos)
        progress = Progress(count, tally=Tally(count, payload_of), publisher=publisher, subscriber=subscriber)
        futures: List["asyncio.Future[int]"] = []
        publishing = asyncio.ensure_future(_publish(publisher, topic, qos, progress, outstanding, futures))
        sabotage = asyncio.ensure_future(saboteur(progress)) if saboteur else None
        try:
            await _receive_all(subscriber, progress, publisher, futures)
            await asyncio.wait_for(publishing, COMPLETION_TIMEOUT_S)
            results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), COMPLETION_TIMEOUT_S)
            if sabotage is not None:
                await asyncio.wait_for(sabotage, COMPLETION_TIMEOUT_S)
            await _late_duplicates(subscriber, progress)
        finally:
            for task in (publishing, sabotage):
                if task is not None and not task.done():
                    task.cancel()
        assert progress.tally is not None
        return Outcome(progress.tally, results, await publisher.metrics(), await subscriber.metrics(), progress.notes)
    finally:
        await publisher.disconnect()
        await subscriber.disconnect()


async def _publish(publisher: Client, topic: str, qos: int, progress: Progress, outstanding: int,
                   futures: List["asyncio.Future[int]"]) -> None:
    """Queues the stream in order, never more than ``outstanding`` messages ahead of either
    the completions or the subscriber's arrivals. Bounding the subscriber's backlog bounds
    what the broker resends to it at once on a reconnect (mosquitto resends its whole backlog
    there, not only its inflight window): a link cut every N bytes must carry that burst and
    the PUBACKs that follow, or the same burst is resent forever, whatever the client does."""
    tally = progress.tally
    assert tally is not None

    def completed(_: "asyncio.Future[int]") -> None:
        progress.completed += 1

    for i in range(progress.count):
        if i - min(progress.completed, tally.distinct) >= outstanding:
            await progress.until(lambda: i - min(progress.completed, tally.distinct) < outstanding,
                                 f"room to publish message {i}")
        future = publisher.enqueue(topic, payload_of(i), qos)
        future.add_done_callback(completed)
        futures.append(future)


async def _receive_all(subscriber: Client, progress: Progress, publisher: Client,
                       futures: List["asyncio.Future[int]"]) -> None:
    """Takes messages until every number has arrived. Fails when the stream makes no progress
    (no completion, no new number) for ``NO_PROGRESS_S``: a lost message stops the paced
    publisher for good, and waiting for the full timeout would only delay the report."""
    tally = progress.tally
    assert tally is not None
    deadline = time.monotonic() + COMPLETION_TIMEOUT_S
    last = (-1, -1)
    last_change = time.monotonic()
    while not tally.complete():
        now = time.monotonic()
        if (progress.completed, tally.distinct) != last:
            last, last_change = (progress.completed, tally.distinct), now
        if now > deadline or now - last_change > NO_PROGRESS_S:
            done = [(i, f.exception() or f.result()) for i, f in enumerate(futures) if f.done()]
            odd = [(i, r) for i, r in done if isinstance(r, BaseException) or r != 0]
            raise AssertionError(
                f"stream stalled: {tally.summary()}; {progress.completed} publishes completed, not with 0: "
                f"{odd[:10]}; publisher {await publisher.metrics()}; subscriber {await subscriber.metrics()}")
        for m in await subscriber.recv_many(256, timeout=1.0):
            tally.add(m.payload)


async def _late_duplicates(subscriber: Client, progress: Progress) -> None:
    assert progress.tally is not None
    while True:
        batch = await subscriber.recv_many(256, timeout=LATE_DUPLICATES_S)
        if not batch:
            return
        progress.tally.add_all(m.payload for m in batch)
