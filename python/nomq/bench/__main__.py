"""``python -m nomq.bench mqtt --host H --port P --mode throughput|rtt|connect --qos Q --count N
--size S``: the MQTT client measured through the Python API, with the interface and JSON output
of ``nomq bench mqtt`` (the native client) and ``benches/paho-bench/paho_bench.py`` (paho-mqtt),
so ``scripts/bench-python.py`` can compare the three in one run.

MQTT 3.1.1, clean session, plain TCP, topics and client ids unique per process; stops waiting
5 s after the last message and reports what arrived.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import sys
import time
from typing import Any, Deque, Dict, List

from nomq.mqtt import Client, ConnectOptions, Reconnect

WINDOW = 1000  # publishes kept in flight by the throughput mode, as in the native bench
IDLE = 5.0


def options(args: argparse.Namespace, role: str) -> ConnectOptions:
    return ConnectOptions(
        host=args.host,
        port=args.port,
        client_id=f"nomq-py-bench-{os.getpid()}-{role}",
        reconnect=Reconnect(enabled=False),
        max_outbox_messages=WINDOW * 2,
        max_inflight=100,  # rumqttc's and the native bench's window
    )


async def throughput(args: argparse.Namespace) -> Dict[str, Any]:
    topic = f"nomq-py-bench/{os.getpid()}/tp"
    sub = await Client(options(args, "sub")).connect()
    await sub.subscribe(topic, args.qos)
    pub = await Client(options(args, "pub")).connect()
    payload = b"x" * args.size
    start, cpu0 = time.perf_counter(), time.process_time()

    async def send() -> int:
        pending: Deque["asyncio.Future[int]"] = collections.deque()
        enqueue, qos, failed = pub.enqueue, args.qos, 0
        for _ in range(args.count):
            if len(pending) >= WINDOW:
                try:
                    await pending.popleft()
                except Exception:
                    failed += 1
            pending.append(enqueue(topic, payload, qos))
        for f in pending:
            try:
                await f
            except Exception:
                failed += 1
        return int(args.count) - failed

    sender = asyncio.ensure_future(send())
    received, last = 0, start
    while received < args.count:
        batch = await sub.recv_many(1024, timeout=IDLE)
        if not batch:
            break
        received += len(batch)
        last = time.perf_counter()
    await sender
    cpu = time.process_time() - cpu0
    await pub.disconnect()
    await sub.disconnect()
    elapsed = last - start
    return {
        "msgs_per_s": round(received / max(elapsed, 1e-9)),
        "received": received,
        "elapsed_s": elapsed,
        "cpu_us_per_msg": round(cpu * 1e6 / max(received, 1), 2),
    }


async def rtt(args: argparse.Namespace) -> Dict[str, Any]:
    topic = f"nomq-py-bench/{os.getpid()}/rtt"
    c = await Client(options(args, "rtt")).connect()
    await c.subscribe(topic, args.qos)
    payload = b"x" * args.size
    warmup = min(max(args.count // 10, 10), 1000)
    samples: List[float] = []
    for i in range(warmup + args.count):
        # A sample is publish to message back, as paho's and rumqttc's benches measure it (their
        # publish returns before the PUBACK); the publish's completion is awaited after the
        # sample, so one message is in flight at a time and every publish is confirmed.
        t = time.perf_counter()
        done = c.enqueue(topic, payload, args.qos)
        if await c.recv(timeout=IDLE) is None:
            raise SystemExit("message did not come back")
        if i >= warmup:
            samples.append((time.perf_counter() - t) * 1e6)
        await done
    await c.disconnect()
    samples.sort()

    def pct(p: float) -> float:
        return samples[round((len(samples) - 1) * p)]

    return {"p50_us": round(pct(0.5)), "p99_us": round(pct(0.99)), "samples": len(samples)}


async def connect(args: argparse.Namespace) -> Dict[str, Any]:
    times = []
    for i in range(args.count):
        t = time.perf_counter()
        c = await Client(options(args, f"c{i}")).connect()
        await c.disconnect()
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return {"median_ms": times[len(times) // 2], "count": len(times)}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m nomq.bench")
    parser.add_argument("what", choices=["mqtt"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--mode", choices=["throughput", "rtt", "connect"], default="throughput")
    parser.add_argument("--qos", type=int, choices=[0, 1, 2], default=1)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args(argv)
    run = {"throughput": throughput, "rtt": rtt, "connect": connect}[args.mode]
    print(json.dumps(asyncio.run(run(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
