#!/usr/bin/env python3
"""Benchmarks of the Python wheel, every figure measured in this run on this machine:

1. framing: NoMQ v1 seal+open per second from Python, ``nomq.Codec`` against a pure-Python
   implementation on the ``cryptography`` package (tests/python/nomq_v1_reference.py);
2. MQTT against a local mosquitto started here: ``python -m nomq.bench mqtt`` (the Python API)
   against paho-mqtt 2.x (benches/paho-bench/paho_bench.py) and against the native client
   (``nomq bench mqtt``), same interface, same broker, alternating, medians of ROUNDS.

Usage: ``.venv/bin/python scripts/bench-python.py`` (after ``pip install .``; installs
paho-mqtt into the running environment when missing). ROUNDS=3 COUNT=20000 by default.
"""
from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from mosquitto import Mosquitto  # noqa: E402
ROUNDS = int(os.environ.get("ROUNDS", "3"))
COUNT = int(os.environ.get("COUNT", "20000"))


def framing() -> None:
    sys.path.insert(0, str(ROOT / "tests" / "python"))
    import nomq
    import nomq_v1_reference as ref

    enc, mac = bytes(range(32)), bytes(range(32, 64))
    codec = nomq.Codec(enc, mac, version=1)
    node = ref.Node(enc, mac)
    text = "x" * 64

    def rust(n: int) -> None:
        for _ in range(n):
            codec.open(codec.seal_publish("bench/channel", text, 1))

    def python(n: int) -> None:
        for _ in range(n):
            ref.parse_inner(node.open(node.publish("bench/channel", text, 1))["plaintext"])

    def rate(fn, n: int) -> float:
        t = time.perf_counter()
        fn(n)
        return n / (time.perf_counter() - t)

    # Alternating rounds, each ratio from a Rust and a Python measurement taken back to back:
    # the machine's speed drifts by tens of percent over seconds, and a drift between two
    # separate series would show up as a change of ratio.
    rust_rates, python_rates = [], []
    for _ in range(7):
        rust_rates.append(rate(rust, 50_000))
        python_rates.append(rate(python, 5_000))
    r, p = statistics.median(rust_rates), statistics.median(python_rates)
    ratio = statistics.median(a / b for a, b in zip(rust_rates, python_rates))
    print("## Framing: NoMQ v1 seal+open of a 64-byte message, from Python (median of 7 alternating rounds)\n")
    print("| implementation | seal+open per s |\n|---|---|")
    print(f"| nomq.Codec (Rust) | {r:,.0f} |\n| pure Python + cryptography | {p:,.0f} |")
    print(f"\nratio (median of the 7 paired rounds): **{ratio:.1f}x** (target at least 20x)\n")


def mqtt() -> None:
    if importlib.util.find_spec("paho") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "paho-mqtt>=2,<3"], check=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "-p", "nomq-cli"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clients = {
        "nomq-py": [sys.executable, "-m", "nomq.bench", "mqtt"],
        "paho": [sys.executable, str(ROOT / "benches" / "paho-bench" / "paho_bench.py")],
        "native": [str(ROOT / "target" / "release" / "nomq"), "bench", "mqtt"],
    }
    broker = Mosquitto().start()
    port = broker.port
    rows = []
    try:
        for _ in range(ROUNDS):
            for name, cmd in clients.items():
                for mode, qos, count in [("throughput", 0, COUNT), ("throughput", 1, COUNT), ("throughput", 2, COUNT),
                                         ("rtt", 1, 2000)]:
                    out = subprocess.run(cmd + ["--port", str(port), "--mode", mode, "--qos", str(qos), "--count",
                                                str(count), "--size", "64"], capture_output=True, text=True,
                                         timeout=300, check=True)
                    rows.append((name, mode, qos, json.loads(out.stdout)))
            # The opt-in latency mode of the Python API (docs/python.md), round trip only.
            out = subprocess.run(clients["nomq-py"] + ["--port", str(port), "--mode", "rtt", "--qos", "1", "--count",
                                                       "2000", "--size", "64"], capture_output=True, text=True,
                                 timeout=300, check=True, env=dict(os.environ, NOMQ_SPIN_US="150"))
            rows.append(("nomq-py-spin", "rtt", 1, json.loads(out.stdout)))
    finally:
        broker.close()

    def med(name: str, mode: str, qos: int, key: str) -> float:
        return statistics.median(r[key] for n, m, q, r in rows if (n, m, q) == (name, mode, qos))

    print(f"## MQTT against a local mosquitto: {COUNT} messages of 64 B, medians of {ROUNDS} rounds\n")
    print("| measure | nomq (Python API) | paho-mqtt | native nomq | vs paho | vs native |")
    print("|---|---|---|---|---|---|")
    targets = {0: "3x", 1: "4x", 2: "3x"}
    for qos in (0, 1, 2):
        py, pa, na = (med(n, "throughput", qos, "msgs_per_s") for n in ("nomq-py", "paho", "native"))
        print(f"| QoS {qos} msg/s | {py:,.0f} | {pa:,.0f} | {na:,.0f} | {py / pa:.2f}x (target {targets[qos]}) "
              f"| {py / na:.2f} (target 0.85) |")
    for qos in (0, 1, 2):
        py, pa, na = (med(n, "throughput", qos, "cpu_us_per_msg") for n in ("nomq-py", "paho", "native"))
        print(f"| QoS {qos} CPU µs/msg | {py:.1f} | {pa:.1f} | {na:.1f} | {py / pa:.2f}x | {py / na:.2f} |")
    py, pa, na = (med(n, "rtt", 1, "p50_us") for n in ("nomq-py", "paho", "native"))
    print(f"| RTT p50 QoS 1 µs | {py:.0f} | {pa:.0f} | {na:.0f} | {py / pa:.2f}x (target 0.5) | {py / na:.2f} |")
    py, pa, na = (med(n, "rtt", 1, "p99_us") for n in ("nomq-py", "paho", "native"))
    print(f"| RTT p99 QoS 1 µs | {py:.0f} | {pa:.0f} | {na:.0f} | {py / pa:.2f}x | {py / na:.2f} |")
    for key in ("p50_us", "p99_us"):
        sp, pa = med("nomq-py-spin", "rtt", 1, key), med("paho", "rtt", 1, key)
        print(f"| RTT {key[:3]} QoS 1 µs, NOMQ_SPIN_US=150 | {sp:.0f} | {pa:.0f} | | {sp / pa:.2f}x | |")
    print("\nCPU is process time (all threads) over the run, sampled by the kernel in 10 ms ticks: the short "
          "QoS 0 runs read low.")


if __name__ == "__main__":
    what = sys.argv[1:] or ["framing", "mqtt"]
    if "framing" in what:
        framing()
    if "mqtt" in what:
        mqtt()
