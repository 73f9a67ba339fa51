#!/usr/bin/env python3
"""Soak test (not part of CI): mixed NoMQ and MQTT load through the installed wheel for a given
time, in one process, while its resident memory is sampled every 10 s. Prints each sample and,
at the end, the slope of a least-squares line through the samples after the warm-up (KiB per
minute), with the message counts. A leak shows as a steady positive slope; allocator noise as a
flat line with jitter.

Load, concurrently:
- NoMQ v2: two endpoints on loopback, QoS 2 publishes, each awaited, each checked delivered
  exactly once (in constant memory, so the check itself does not grow);
- NoMQ v1: the same at QoS 1 (loopback loses nothing, so no duplicates are expected either);
- MQTT 5.0 against a private mosquitto: QoS 0/1/2 publishes to a topic the same client
  subscribes to, with a reconnect forced every minute (the broker restarts).

    .venv/bin/python scripts/soak.py --minutes 30 [--rate 200]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "support"))

import nomq  # noqa: E402
from mosquitto import Mosquitto  # noqa: E402
from nomq.mqtt import Client  # noqa: E402

KEYS = (bytes(range(32)), bytes(range(32, 64)))
SAMPLE_S = 10.0
WARMUP_S = 60.0


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def slope_kib_per_min(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of (seconds, KiB), in KiB per minute."""
    n = len(samples)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in samples) / n
    my = sum(r for _, r in samples) / n
    num = sum((t - mx) * (r - my) for t, r in samples)
    den = sum((t - mx) ** 2 for t, _ in samples)
    return 60.0 * num / den if den else 0.0


class Counts:
    def __init__(self) -> None:
        self.nomq_sent = 0
        self.nomq_received = 0
        self.mqtt_sent = 0
        self.mqtt_received = 0
        self.errors: list[str] = []


class Tally:
    """Which of the numbered messages 0, 1, 2... arrived, in constant memory: everything below
    `low` arrived; `above` holds the ones past it (few, as delivery is nearly in order). A copy
    of one already counted is a duplicate."""

    def __init__(self) -> None:
        self.low = 0
        self.above: set[int] = set()
        self.duplicates = 0

    def add(self, i: int) -> None:
        if i < self.low or i in self.above:
            self.duplicates += 1
            return
        self.above.add(i)
        while self.low in self.above:
            self.above.discard(self.low)
            self.low += 1

    def missing(self, sent: int) -> int:
        return sent - self.low - len(self.above)


async def nomq_load(version: int, qos: int, rate: float, until: float, counts: Counts) -> None:
    a = nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1], version=version)
    b = nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1], version=version)
    tally = Tally()
    async with a, b:
        await b.subscribe("soak")

        async def receive() -> None:
            async for m in b.messages():
                tally.add(int(bytes(m.payload)))
                counts.nomq_received += 1

        reader = asyncio.create_task(receive())
        i = 0
        while time.monotonic() < until:
            await a.publish(b.local_addr, "soak", str(i), qos=qos)
            counts.nomq_sent += 1
            i += 1
            await asyncio.sleep(1.0 / rate)
        await asyncio.sleep(1.0)
        reader.cancel()
        if tally.missing(i):
            counts.errors.append(f"NoMQ v{version} QoS {qos}: {tally.missing(i)} of {i} messages missing")
        if tally.duplicates:
            counts.errors.append(f"NoMQ v{version} QoS {qos}: {tally.duplicates} delivered twice")


async def mqtt_load(broker: Mosquitto, rate: float, until: float, counts: Counts) -> None:
    url = f"mqtt://127.0.0.1:{broker.port}"
    async with Client(url, client_id=f"soak-{os.getpid()}", version=5, clean_start=False,
                      session_expiry=3600) as c:
        topic = f"soak/{os.getpid()}"
        await c.subscribe(topic, qos=2)

        async def receive() -> None:
            while True:
                m = await c.recv()
                if m is not None:
                    counts.mqtt_received += 1

        reader = asyncio.create_task(receive())
        i = 0
        next_restart = time.monotonic() + 60
        while time.monotonic() < until:
            await c.publish(topic, f"m{i}", qos=i % 3)
            counts.mqtt_sent += 1
            i += 1
            if time.monotonic() > next_restart:
                next_restart += 60
                await asyncio.to_thread(broker.restart)
            await asyncio.sleep(1.0 / rate)
        await asyncio.sleep(1.0)
        reader.cancel()


async def sampler(until: float, samples: list[tuple[float, int]], counts: Counts) -> None:
    start = time.monotonic()
    while time.monotonic() < until:
        t = time.monotonic() - start
        r = rss_kib()
        samples.append((t, r))
        print(f"{t:7.0f} s  RSS {r / 1024:8.1f} MiB  NoMQ {counts.nomq_sent}/{counts.nomq_received}  "
              f"MQTT {counts.mqtt_sent}/{counts.mqtt_received}", flush=True)
        await asyncio.sleep(SAMPLE_S)


async def main(minutes: float, rate: float) -> int:
    until = time.monotonic() + minutes * 60
    samples: list[tuple[float, int]] = []
    counts = Counts()
    with Mosquitto() as broker:
        await asyncio.gather(
            sampler(until, samples, counts),
            nomq_load(2, 2, rate, until, counts),
            nomq_load(1, 1, rate, until, counts),
            mqtt_load(broker, rate, until, counts),
        )
    steady = [s for s in samples if s[0] >= WARMUP_S]
    slope = slope_kib_per_min(steady)
    first, last = (steady[0][1], steady[-1][1]) if steady else (0, 0)
    print(f"\nsoak: {minutes:g} min, {len(samples)} samples; RSS after warm-up {first / 1024:.1f} MiB -> "
          f"{last / 1024:.1f} MiB; slope {slope:+.1f} KiB/min")
    print(f"NoMQ sent {counts.nomq_sent}, received {counts.nomq_received}; "
          f"MQTT sent {counts.mqtt_sent}, received {counts.mqtt_received}")
    for e in counts.errors:
        print("ERROR:", e)
    return 1 if counts.errors else 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=200.0, help="publishes per second per stream")
    args = ap.parse_args()
    sys.exit(asyncio.run(main(args.minutes, args.rate)))
