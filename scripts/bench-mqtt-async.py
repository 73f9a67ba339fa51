#!/usr/bin/env python3
"""Publish rate of nomq's mqtt_async against mqboard's mqtt_async.py, on CPython, against one
private mosquitto (tests/support/mosquitto.py), and the ratio.

    scripts/bench-mqtt-async.py --upstream PATH/mqboard/mqtt_async [--ours python] \\
        [--count 5000] [--size 64] [--rounds 5]

``--upstream`` is the directory holding mqboard's mqtt_async.py and cpy_fix.py (not part of
this repository). ``--ours`` is the directory holding nomq's mqtt_async package; without it,
the one installed for this interpreter. Each measurement runs in its own process with only
that implementation on its path; the two alternate, and the table shows medians.

Cases (the same code for both, mqboard's API only):
- stream QoS 1: ``count - 1`` publishes with ``sync=False``, the last with ``sync=True``
  (mqboard's streaming idiom, its window of one);
- sync QoS 1: every publish waits for its PUBACK;
- QoS 0;
- stream QoS 1 with ``config["async_window"] = 16`` (nomq only; its ratio is against
  mqboard's stream).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from mosquitto import Mosquitto  # noqa: E402

WORKER = r"""
import asyncio, json, sys, time
from mqtt_async import MQTTClient, config

port, count, size, qos, stream, window = map(int, sys.argv[1:7])

async def main():
    # ssid: mqboard's CPython stand-in interface starts down and needs one to come up.
    c = dict(config, server="127.0.0.1", port=port, client_id="bench-%d" % port, ssid="bench")
    if window:
        c["async_window"] = window
    client = MQTTClient(c)
    await client.connect()
    payload = bytes(size)
    for i in range(100):  # warm-up
        await client.publish("bench/mqtt_async", payload, qos=qos)
    start = time.perf_counter()
    for i in range(count):
        await client.publish("bench/mqtt_async", payload, qos=qos, sync=not stream or i == count - 1)
    elapsed = time.perf_counter() - start
    await client.disconnect()
    print(json.dumps({"rate": count / elapsed}))

asyncio.run(main())
"""

CASES = [  # (name, qos, stream, window, ours only)
    ("stream QoS 1", 1, 1, 0, False),
    ("sync QoS 1", 1, 0, 0, False),
    ("QoS 0", 0, 0, 0, False),
    ("stream QoS 1, async_window 16", 1, 1, 16, True),
]


def measure(path, port, count, size, qos, stream, window):
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = path
    else:
        env.pop("PYTHONPATH", None)
    out = subprocess.run([sys.executable, "-c", WORKER, str(port), str(count), str(size), str(qos), str(stream),
                          str(window)], env=env, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"worker failed ({path or 'installed'}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])["rate"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True, help="directory of mqboard's mqtt_async.py")
    parser.add_argument("--ours", default="", help="directory of nomq's mqtt_async package (default: installed)")
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not os.path.exists(os.path.join(args.upstream, "mqtt_async.py")):
        raise SystemExit(f"no mqtt_async.py in {args.upstream}")
    ours = os.path.abspath(args.ours) if args.ours else ""
    rates = {}
    with Mosquitto() as broker:
        for _ in range(args.rounds):
            for name, qos, stream, window, ours_only in CASES:
                for impl, path in (("nomq", ours), ("mqboard", args.upstream)):
                    if impl == "mqboard" and ours_only:
                        continue
                    rate = measure(path, broker.port, args.count, args.size, qos, stream, window)
                    rates.setdefault((name, impl), []).append(rate)
    print(f"{args.count} publishes of {args.size} bytes, medians of {args.rounds} rounds, msg/s")
    print(f"| case | nomq | mqboard | nomq / mqboard |\n|---|---|---|---|")
    for name, _, _, _, ours_only in CASES:
        mine = statistics.median(rates[(name, "nomq")])
        theirs = statistics.median(rates[("stream QoS 1" if ours_only else name, "mqboard")])
        shown = "" if ours_only else f"{theirs:,.0f}"
        print(f"| {name} | {mine:,.0f} | {shown} | {mine / theirs:.2f}x |")


if __name__ == "__main__":
    main()
