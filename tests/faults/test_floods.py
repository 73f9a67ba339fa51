"""Floods and slow peers over real sockets: garbage and unknown-channel datagram floods, a NoMQ
subscriber and an MQTT subscriber that stop reading, a broker that stops reading (SIGSTOP).

The stated bound: while each of these lasts, the resident memory of this process (the wheel's
Rust core, and the Python objects the test itself holds) grows by less than 64 MiB above what
it was before, sampled every 20 ms; it is what the configured buffers allow (NoMQ: 4 MiB in the
endpoint and 16 MiB in the receive channel; MQTT: `message_buffer_bytes` and the outbox
bounds) plus allocator slack. And nothing acknowledged is lost: once the fault ends, every
message whose publish completed arrives, QoS 2 exactly once."""
from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import threading
import time
from typing import Iterator

import nomq
import pytest
from mosquitto import Mosquitto
from nomq.mqtt import Client

KEYS = (bytes(range(32)), bytes(range(32, 64)))
GROWTH_BOUND_MIB = 64.0


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class PeakRss:
    """Samples this process's RSS every 20 ms while active; `growth` is the peak minus the
    value at the start."""

    def __init__(self) -> None:
        self.start = rss_mib()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mib())

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mib())

    @property
    def growth(self) -> float:
        return self.peak - self.start


def endpoint(version: int = 2) -> nomq.Endpoint:
    return nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1], version=version)


async def collect(ep: nomq.Endpoint, expected: int, timeout: float) -> dict[bytes, int]:
    """Reads until `expected` distinct messages arrived (or `timeout`), counting copies. A
    message is known by its first 12 bytes (its number), so the count holds little memory."""
    seen: dict[bytes, int] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < expected and time.monotonic() < deadline:
        m = await ep.recv(timeout=max(0.01, deadline - time.monotonic()))
        if m is not None:
            p = bytes(m.payload[:12])
            seen[p] = seen.get(p, 0) + 1
    return seen


@pytest.mark.parametrize("version", [1, 2])
def test_garbage_and_unknown_channel_floods_leave_memory_flat_and_traffic_flowing(version: int) -> None:
    async def main() -> None:
        rx, tx, noise = endpoint(version), endpoint(version), endpoint(version)
        async with rx, tx, noise:
            await rx.subscribe("data")
            target = rx.local_addr
            host, port = target.rsplit(":", 1)
            stop = threading.Event()

            def garbage() -> None:
                # Random bytes, and datagrams that look like NoMQ (magic, version) but are not.
                rnd = random.Random(7)
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    while not stop.is_set():
                        for _ in range(256):
                            n = rnd.randrange(1, 1400)
                            head = b"NM\x02" if rnd.random() < 0.5 else b""
                            s.sendto(head + rnd.randbytes(n), (host, int(port)))

            async def unknown_channels() -> int:
                # Valid, authenticated datagrams on a channel nobody subscribed to.
                n = 0
                while not stop.is_set():
                    await noise.publish(target, f"noise/{n % 5000}", "x" * 500, qos=0)
                    n += 1
                return n

            with PeakRss() as rss:
                flooder = threading.Thread(target=garbage, daemon=True)
                flooder.start()
                noisy = asyncio.create_task(unknown_channels())
                for i in range(200):
                    await tx.publish(target, "data", f"m{i}", qos=2 if i % 2 else 1)
                seen = await collect(rx, 200, timeout=30)
                await asyncio.sleep(2)  # more flood
                stop.set()
                flooder.join()
                sent_noise = await noisy
            stats = await rx.stats()
            assert len(seen) == 200, f"{200 - len(seen)} messages lost under the flood"
            assert all(seen[f"m{i}".encode()] == 1 for i in range(1, 200, 2)), "a QoS 2 message twice"
            assert stats["rejected_malformed"] + stats["rejected_auth"] > 10_000, stats
            assert stats["unknown_channel"] >= min(sent_noise, 1000), (stats, sent_noise)
            print(f"v{version} flood: RSS +{rss.growth:.1f} MiB, {stats['rejected_malformed'] + stats['rejected_auth']} "
                  f"garbage and {stats['unknown_channel']} unknown-channel datagrams refused")
            assert rss.growth < GROWTH_BOUND_MIB, f"RSS grew {rss.growth:.1f} MiB under the flood"

    asyncio.run(main())


@pytest.mark.parametrize("version", [1, 2])
def test_a_nomq_subscriber_that_stops_reading_holds_bounded_memory_and_loses_nothing(version: int) -> None:
    size = 1500 if version == 1 else 20_000
    count = 6000 if version == 1 else 1500  # beyond what the buffers hold, in both versions

    async def main() -> None:
        rx, tx = endpoint(version), endpoint(version)
        async with rx, tx:
            await rx.subscribe("data")
            with PeakRss() as rss:
                # Publishes complete as the receiver takes messages in; it stops taking them
                # once its buffers are full, so most publishes wait, retransmitting.
                window = asyncio.Semaphore(200)

                async def one(i: int) -> None:
                    async with window:
                        await tx.publish(rx.local_addr, "data", f"{i:06d}" + "x" * (size - 6), qos=2, ttl=600)

                publishing = asyncio.gather(*(one(i) for i in range(count)))
                await asyncio.sleep(6)  # nobody reads
                stalled = rss.peak - rss.start
                seen = await collect(rx, count, timeout=120)
                await asyncio.wait_for(publishing, 60)
            stats = await rx.stats()
            assert stats["refused_full"] > 0, f"backpressure never engaged: {stats}"
            assert len(seen) == count, f"{count - len(seen)} of {count} messages lost"
            assert set(seen.values()) == {1}, "a QoS 2 message was delivered twice"
            print(f"v{version} reader stopped: RSS +{stalled:.1f} MiB while stopped, +{rss.growth:.1f} MiB peak; "
                  f"{stats['refused_full']} refusals")
            assert stalled < GROWTH_BOUND_MIB, f"RSS grew {stalled:.1f} MiB while nobody read"
            assert rss.growth < GROWTH_BOUND_MIB, f"RSS grew {rss.growth:.1f} MiB"

    asyncio.run(main())


async def receive_numbered(client: Client, count: int) -> dict[bytes, int]:
    """Receives until `count` distinct messages (known by their 6-digit number) arrived,
    counting copies; fails when one does not come within 30 s."""
    seen: dict[bytes, int] = {}
    while len(seen) < count:
        m = await client.recv(timeout=30)
        assert m is not None, f"only {len(seen)} of {count} arrived"
        key = bytes(m.payload[:6])
        seen[key] = seen.get(key, 0) + 1
    return seen


@pytest.fixture()
def unlimited_broker() -> Iterator[Mosquitto]:
    """mosquitto keeping every QoS 1/2 message for a slow subscriber (no queue limit): the
    broker must not be what loses messages here."""
    with Mosquitto(extra="max_queued_messages 0\nmax_queued_bytes 0\n") as b:
        yield b


def test_an_mqtt_subscriber_that_stops_reading_holds_bounded_memory_and_loses_nothing(
        unlimited_broker: Mosquitto) -> None:
    count, size = 4000, 10_000
    url = f"mqtt://127.0.0.1:{unlimited_broker.port}"
    topic = f"flood/{os.getpid()}"

    async def main() -> None:
        async with Client(url, client_id=f"slow-{os.getpid()}", version=5,
                          message_buffer_bytes=1 << 20) as slow, \
                Client(url, client_id=f"fast-{os.getpid()}", version=5) as fast:
            await slow.subscribe(topic, qos=1)
            with PeakRss() as rss:
                # 40 MB published while the subscriber does not read (payloads made as they
                # go, so the test itself holds little).
                window = asyncio.Semaphore(100)

                async def one(i: int) -> None:
                    async with window:
                        await fast.publish(topic, f"{i:06d}".encode() + bytes(size - 6), qos=1)

                await asyncio.gather(*(one(i) for i in range(count)))
                await asyncio.sleep(1)
                stalled = rss.peak - rss.start
                seen = await receive_numbered(slow, count)
            print(f"MQTT reader stopped: RSS +{stalled:.1f} MiB for {count * size / 1e6:.0f} MB published")
            assert stalled < GROWTH_BOUND_MIB, f"RSS grew {stalled:.1f} MiB while nobody read"
            assert len(seen) == count

    asyncio.run(main())


def test_a_broker_that_stops_reading_bounds_the_outbox_and_loses_nothing() -> None:
    # SIGSTOP: the broker's socket buffers fill, then the client's outbox; publishes wait (the
    # default policy), memory stays bounded, and after SIGCONT everything is delivered.
    count, size = 3000, 10_000

    async def main(broker: Mosquitto) -> None:
        url = f"mqtt://127.0.0.1:{broker.port}"
        topic = f"stall/{os.getpid()}"
        async with Client(url, client_id=f"sub-{os.getpid()}", version=5) as sub, \
                Client(url, client_id=f"pub-{os.getpid()}", version=5, keepalive=60,
                       max_outbox_messages=100, max_outbox_bytes=1 << 20) as pub:
            await sub.subscribe(topic, qos=2)
            pid = broker.pid()
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            try:
                with PeakRss() as rss:
                    # More publishers than the outbox holds (100 messages, 1 MiB): the rest wait
                    # in the line behind it (as many bytes again; past that, QueueFull). Each
                    # makes its payload when it starts, so the test itself holds little.
                    window = asyncio.Semaphore(150)

                    async def one(i: int) -> None:
                        async with window:
                            await pub.publish(topic, f"{i:06d}".encode() + bytes(size - 6), qos=2)

                    publishing = asyncio.gather(*(one(i) for i in range(count)))
                    await asyncio.sleep(4)
                    stalled = rss.peak - rss.start
                    metrics = await pub.metrics()
            finally:
                os.kill(pid, signal.SIGCONT)
            assert metrics["queued_messages"] <= 100 and metrics["queued_bytes"] <= 1 << 20, metrics
            await asyncio.wait_for(publishing, 120)
            seen = await receive_numbered(sub, count)
            assert set(seen.values()) == {1}, "a QoS 2 message was delivered twice"
            print(f"broker stopped: RSS +{stalled:.1f} MiB, outbox {metrics['queued_messages']} messages")
            assert stalled < GROWTH_BOUND_MIB, f"RSS grew {stalled:.1f} MiB while the broker was stopped"

    with Mosquitto() as broker:
        asyncio.run(main(broker))
