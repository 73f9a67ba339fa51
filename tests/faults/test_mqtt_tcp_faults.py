"""nomq.mqtt.Client through a TCP fault relay in front of a real mosquitto: connections cut
every N bytes and on demand, a broker restart, refused reconnections, a trickling link, and
stalls shorter and longer than the keep alive. Publisher and subscriber both connect through
the relay and keep their sessions (mqtt_stream.session_options).

In every case: each publish completes as confirmed; QoS 1 delivers every message at least
once and QoS 2 exactly once; each message first arrives after every earlier one (the client
resends unacknowledged messages in their original order, docs/mqtt.md, and the broker
forwards in order). Checks are on which numbers arrived and how often, never on speed."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Coroutine, Iterator

import pytest
from nomq import _nomq
from delivery import assert_at_least_once, assert_exactly_once, assert_in_publish_order
from fault_relay import TcpRelay
from mosquitto import Mosquitto
from mqtt_stream import COMPLETION_TIMEOUT_S, MAX_PACKET, Outcome, Progress, run_stream

VERSIONS_AND_QOS = [(4, 1), (4, 2), (5, 1), (5, 2)]


def check_delivery(outcome: Outcome, qos: int) -> None:
    """The checks every fault test makes; also prints the outcome (duplicates included)."""
    print(outcome.report())
    assert outcome.failures() == [], f"publishes not confirmed: {outcome.failures()[:5]}; {outcome.report()}"
    if qos == 2:
        assert_exactly_once(outcome.tally)
    else:
        assert_at_least_once(outcome.tally)
    assert_in_publish_order(outcome.tally)


def run(stream: Coroutine[Any, Any, Outcome]) -> Outcome:
    return asyncio.run(stream)


@contextlib.contextmanager
def nomq_log_level(level: int, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Lets the client's records of ``level`` reach ``caplog``: the Rust side caches the
    ``nomq`` logger's level, so it is told of the change (``sync_log_level``) and of the
    restored level afterwards, or later tests would pay for the extra records."""
    logger = logging.getLogger("nomq")
    before = logger.level
    with caplog.at_level(level, logger="nomq"):
        _nomq.sync_log_level()
        try:
            yield
        finally:
            logger.setLevel(before)
            _nomq.sync_log_level()


@pytest.mark.parametrize("version,qos", VERSIONS_AND_QOS)
def test_connections_cut_every_n_bytes(broker: Mosquitto, version: int, qos: int) -> None:
    """Every connection is reset after 8000 bytes, usually in the middle of a packet: about
    ten cuts on each side during 1000 messages. The budget must exceed what a reconnect
    resends at once (the stream's backlog, at most ``outstanding`` messages), or nothing new
    ever gets through; the assertion keeps the two in step."""
    cut_every, outstanding = 8000, 50
    assert outstanding * MAX_PACKET + 1000 < cut_every
    with TcpRelay(("127.0.0.1", broker.port), cut_every=cut_every) as relay:
        outcome = run(run_stream(relay.port, version, qos, 1000, outstanding=outstanding))
        cuts = relay.stats().cut
    check_delivery(outcome, qos)
    assert outcome.publisher["reconnects"] >= 3 and outcome.subscriber["reconnects"] >= 3, outcome.report()
    assert cuts >= 6


@pytest.mark.parametrize("version,qos", [(5, 1), (5, 2)])
def test_connections_cut_on_demand_every_100_messages(broker: Mosquitto, version: int, qos: int) -> None:
    """``cut_all`` resets both clients' connections each time another 100 publishes have
    completed. The publisher is connected at each cut (it has just completed publishes since
    the last one), so it reconnects once per cut."""
    cuts = []

    async def every_100(p: Progress) -> None:
        for n in range(100, p.count, 100):
            await p.until_completed(n)
            cuts.append(relay.cut_all())

    with TcpRelay(("127.0.0.1", broker.port)) as relay:
        outcome = run(run_stream(relay.port, version, qos, 1000, every_100))
    check_delivery(outcome, qos)
    assert len(cuts) == 9 and all(c >= 1 for c in cuts), cuts
    assert outcome.publisher["reconnects"] >= len(cuts), outcome.report()
    assert outcome.subscriber["reconnects"] >= 1, outcome.report()


@pytest.mark.parametrize("version,qos", VERSIONS_AND_QOS)
def test_broker_restart_mid_stream(own_broker: Mosquitto, version: int, qos: int) -> None:
    """mosquitto (with persistence) is stopped and started again once a third of the stream
    has completed; both clients resume their sessions through the relay."""

    async def restart(p: Progress) -> None:
        await p.until_completed(p.count // 3)
        await asyncio.get_running_loop().run_in_executor(None, own_broker.restart)
        p.notes.append(f"restarted after {p.completed} completions")

    with TcpRelay(("127.0.0.1", own_broker.port)) as relay:
        outcome = run(run_stream(relay.port, version, qos, 1000, restart))
    check_delivery(outcome, qos)
    assert outcome.publisher["reconnects"] >= 1 and outcome.subscriber["reconnects"] >= 1, outcome.report()


@pytest.mark.parametrize("qos", [1, 2])
def test_reconnection_refused_for_a_while(broker: Mosquitto, qos: int) -> None:
    """Halfway through, the relay stops accepting connections and cuts the open ones; the
    clients' attempts are refused for a second, then accepted again."""

    async def refuse_then_accept(p: Progress) -> None:
        await p.until_completed(p.count // 2)
        relay.refuse()
        relay.cut_all()
        await asyncio.sleep(1.0)  # how long the fault lasts, not a check
        relay.accept()

    with TcpRelay(("127.0.0.1", broker.port)) as relay:
        outcome = run(run_stream(relay.port, 5, qos, 600, refuse_then_accept))
    check_delivery(outcome, qos)
    assert outcome.publisher["reconnects"] >= 1 and outcome.subscriber["reconnects"] >= 1, outcome.report()


@pytest.mark.parametrize("qos", [1, 2])
def test_trickling_link(broker: Mosquitto, qos: int) -> None:
    """At most 64 bytes per 5 ms in each direction: packets arrive in pieces, and the
    connection stays up."""
    with TcpRelay(("127.0.0.1", broker.port), trickle=64, tick=0.005) as relay:
        outcome = run(run_stream(relay.port, 4, qos, 300))
        stats = relay.stats()
    check_delivery(outcome, qos)
    assert outcome.publisher["reconnects"] == 0 and outcome.subscriber["reconnects"] == 0, outcome.report()
    assert stats.cut == stats.reset == 0 and stats.bytes_to_target > 0


@pytest.mark.parametrize("qos", [1, 2])
def test_stall_shorter_than_keepalive(broker: Mosquitto, qos: int) -> None:
    """Both connections forward nothing for 1.5 s, with a keep alive of 5 s: the stream goes
    on over the same connections once the stall ends."""
    stalled = []

    async def stall(p: Progress) -> None:
        await p.until_completed(p.count // 2)
        stalled.append(relay.stall(1.5))

    with TcpRelay(("127.0.0.1", broker.port)) as relay:
        outcome = run(run_stream(relay.port, 4, qos, 600, stall, keepalive=5))
    check_delivery(outcome, qos)
    assert stalled == [2]
    assert outcome.publisher["reconnects"] == 0 and outcome.subscriber["reconnects"] == 0, outcome.report()


@pytest.mark.parametrize("qos", [1, 2])
def test_stall_longer_than_keepalive(broker: Mosquitto, qos: int, caplog: pytest.LogCaptureFixture) -> None:
    """Both connections stall, with a keep alive of 1 s, until both clients have given up on
    them by themselves (PINGREQ after 1 s of silence, no PINGRESP within the 10 s deadline:
    the client logs KeepAliveTimeout at DEBUG; the broker's own close of its side is held by the stall
    too) and reconnected through fresh connections, which the relay does not stall. Then the
    old connections are released and the stream completes."""
    stalled = []

    async def stall_until_both_reconnect(p: Progress) -> None:
        assert p.publisher is not None and p.subscriber is not None
        pub, sub = p.publisher, p.subscriber
        await p.until_completed(p.count // 2)
        stalled.append(relay.stall())
        deadline = time.monotonic() + COMPLETION_TIMEOUT_S
        while (await pub.metrics())["reconnects"] == 0 or (await sub.metrics())["reconnects"] == 0:
            assert time.monotonic() < deadline, "the clients never gave up on the stalled connections"
            await asyncio.sleep(0.1)
        relay.resume()

    with TcpRelay(("127.0.0.1", broker.port)) as relay, nomq_log_level(logging.DEBUG, caplog):
        outcome = run(run_stream(relay.port, 5, qos, 600, stall_until_both_reconnect, keepalive=1))
    check_delivery(outcome, qos)
    assert stalled == [2]
    assert outcome.publisher["reconnects"] >= 1 and outcome.subscriber["reconnects"] >= 1, outcome.report()
    endings = [r.getMessage() for r in caplog.records if "disconnected" in r.getMessage()]
    assert sum("KeepAliveTimeout" in e for e in endings) >= 2, endings
