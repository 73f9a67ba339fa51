#!/usr/bin/env python3
"""MQTT publish rate on MicroPython (PyPI's unix interpreter), against one private mosquitto
(tests/support/mosquitto.py): nomq's two clients against two baselines.

    scripts/bench-micropython-mqtt.py [--upstream PATH/mqboard/mqtt_async] [--count 2000]
        [--size 64] [--runs 3] [--micropython PATH] [--natmod DIR]
    scripts/bench-micropython-mqtt.py --fetch DIR      # only fetch the PyPI modules into DIR

Clients, each in its own interpreter process with only its own code on MICROPYPATH:
- `nomq.mqtt`: MqttClient (bindings/micropython/package, `_nomq.mpy` from --natmod);
- `mqtt_async (nomq)`: our mqboard-compatible module over the same core;
- `mqtt_async (mqboard)`: mqboard's mqtt_async.py (and its unix_fix.py) from --upstream or
  NOMQ_UPSTREAM_MQBOARD; not part of this repository, skipped when not given;
- `umqtt.simple`: PyPI's micropython-umqtt.simple 1.3.4, a blocking client (QoS 1 publish
  waits for PUBACK).

PyPI's micropython-umqtt.simple and micropython-logging (the latter for tests running
mqboard's hello-world.py) are sdists without setup.py: pip downloads and unpacks them, then
stops before building, so they are fetched with `pip download --no-clean` and their one
module copied out of pip's build tree into DIR/lib (default ~/.cache/nomq/micropython/pypi),
outside the repository.

Cases, `count` messages of `size` bytes to one topic, timed from the first publish to the
broker's acknowledgement of the last (each QoS 0 run ends with one QoS 1 publish, so every
message has reached the broker when the clock stops):
- QoS 0: publish in a loop;
- QoS 1 sync: each publish waits for its PUBACK;
- QoS 1 stream: publishes overlap their acknowledgements: nomq.mqtt `publish(wait=False)` then
  `drain()` (window: max_inflight 8); both mqtt_async `sync=False` with the last `sync=True`
  (mqboard's streaming idiom, window 1); umqtt.simple cannot.
Two rates per run, in messages/s: "accepted", until the publish loop returns (the
application may go on; the last QoS 0 message excluded), and "delivered", until the broker
acknowledged the last message. Each is the median of `runs` runs; the ratio columns compare
with the faster baseline (mqboard's mqtt_async or umqtt.simple) of the same case, and for
"QoS 1 stream" with the baselines' best QoS 1 result of either case. A run that takes longer
than --timeout counts as 0.
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
from mosquitto import Mosquitto  # noqa: E402

CACHE = os.path.join(os.path.expanduser(os.environ.get("NOMQ_CACHE_DIR", "~/.cache/nomq")), "micropython")
PYPI_MODULES = [
    # (requirement, what to copy out of the unpacked sdist)
    ("micropython-umqtt.simple==1.3.4", "umqtt"),
    ("micropython-logging==0.5.2", "logging"),
]

COMMON = """
import sys, time, os
try:
    import asyncio
except ImportError:
    import uasyncio as asyncio
N = int(os.getenv("BENCH_COUNT"))
SIZE = int(os.getenv("BENCH_SIZE"))
PORT = int(os.getenv("MQTT_PORT"))
CASE = os.getenv("BENCH_CASE")
TOPIC = "bench/mp/" + os.getenv("BENCH_ID")
PAYLOAD = bytes(SIZE)
CID = "bench-" + os.getenv("BENCH_ID")
def loop_done(t0):
    global LOOP_US
    LOOP_US = time.ticks_diff(time.ticks_us(), t0)
def report(t0):
    us = time.ticks_diff(time.ticks_us(), t0)
    print("ACCEPTED", int(N * 1000000 / LOOP_US))
    print("RATE", int(N * 1000000 / us))
"""

NOMQ_MQTT = COMMON + """
from nomq.mqtt import MqttClient
async def main():
    c = MqttClient("127.0.0.1", PORT, client_id=CID)
    await c.connect()
    t0 = time.ticks_us()
    if CASE == "qos0":
        for i in range(N - 1):
            await c.publish(TOPIC, PAYLOAD)
        loop_done(t0)
        await c.publish(TOPIC, PAYLOAD, qos=1)
    elif CASE == "qos1-sync":
        for i in range(N):
            await c.publish(TOPIC, PAYLOAD, qos=1)
        loop_done(t0)
    else:
        for i in range(N):
            await c.publish(TOPIC, PAYLOAD, qos=1, wait=False)
        loop_done(t0)
        await c.drain()
    report(t0)
    await c.disconnect()
asyncio.run(main())
"""

# The same script for both mqtt_async modules: mqboard's API only (a plain dict config).
MQTT_ASYNC = COMMON + """
from mqtt_async import MQTTClient, config
async def main():
    conf = config.copy()  # mqboard's idiom (its test-bench.py)
    conf["server"] = "127.0.0.1"
    conf["port"] = PORT
    conf["client_id"] = CID
    conf["ssid"] = "bench"  # mqboard's unix stand-in interface connects only with an SSID
    c = MQTTClient(conf)
    if os.getenv("BENCH_MQBOARD"):
        # mqboard's _dns_lookup keeps getaddrinfo()'s last item, a (host, port) tuple on the
        # 2020 esp32 port but a packed sockaddr on today's unix port, which its
        # open_connection(addr[0], addr[1]) cannot use: hand it the tuple.
        c._dns_lookup = lambda: None
        c._addr = ("127.0.0.1", PORT)
    await c.connect()
    t0 = time.ticks_us()
    if CASE == "qos0":
        for i in range(N - 1):
            await c.publish(TOPIC, PAYLOAD)
        loop_done(t0)
        await c.publish(TOPIC, PAYLOAD, qos=1)
    elif CASE == "qos1-sync":
        for i in range(N):
            await c.publish(TOPIC, PAYLOAD, qos=1)
        loop_done(t0)
    else:
        for i in range(N - 1):
            await c.publish(TOPIC, PAYLOAD, qos=1, sync=False)
        loop_done(t0)
        await c.publish(TOPIC, PAYLOAD, qos=1, sync=True)
    report(t0)
    await c.disconnect()
asyncio.get_event_loop().run_until_complete(main())
"""

UMQTT = COMMON + """
from umqtt.simple import MQTTClient
c = MQTTClient(CID, "127.0.0.1", PORT)
c.connect()
t0 = time.ticks_us()
if CASE == "qos0":
    for i in range(N - 1):
        c.publish(TOPIC, PAYLOAD)
    loop_done(t0)
    c.publish(TOPIC, PAYLOAD, qos=1)
elif CASE == "qos1-sync":
    for i in range(N):
        c.publish(TOPIC, PAYLOAD, qos=1)
    loop_done(t0)
else:
    raise SystemExit("no streaming in umqtt.simple")
report(t0)
c.disconnect()
"""

CASES = ["qos0", "qos1-sync", "qos1-stream"]
CASE_NAMES = {"qos0": "QoS 0", "qos1-sync": "QoS 1 sync", "qos1-stream": "QoS 1 stream"}


def fetch(dest):
    """PyPI's micropython-umqtt.simple and micropython-logging into dest/lib; returns it."""
    lib = os.path.join(dest, "lib")
    os.makedirs(lib, exist_ok=True)
    for requirement, module in PYPI_MODULES:
        if os.path.exists(os.path.join(lib, module)):
            continue
        work = tempfile.mkdtemp(prefix="nomq-pypi-")
        try:
            env = dict(os.environ, TMPDIR=work)
            # Fails after unpacking (no setup.py); --no-clean keeps the unpacked tree.
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-clean",
                            "--no-binary", ":all:", "-d", work, requirement],
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            found = glob.glob(os.path.join(work, "pip-download-*", "*", module))
            if not found:
                raise SystemExit(f"could not fetch {requirement} from PyPI")
            shutil.copytree(found[0], os.path.join(lib, module))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return lib


def run(micropython, path, script, case, args, port, run_id, extra_env=None):
    env = dict(os.environ, MICROPYPATH=":".join([".frozen"] + path), MQTT_PORT=str(port), BENCH_CASE=case,
               BENCH_COUNT=str(args.count), BENCH_SIZE=str(args.size), BENCH_ID=run_id)
    env.update(extra_env or {})
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run([micropython, f.name], env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        os.unlink(f.name)
    rates = {}
    for line in out.stdout.splitlines():
        if line.startswith(("RATE ", "ACCEPTED ")):
            rates[line.split()[0]] = int(line.split()[1])
    if "RATE" in rates:
        return rates["ACCEPTED"], rates["RATE"]
    raise RuntimeError(f"{case}: no rate in the output:\n{out.stdout}\n{out.stderr}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--upstream", default=os.environ.get("NOMQ_UPSTREAM_MQBOARD"),
                   help="mqboard's mqtt_async directory (or the repository holding it)")
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--micropython", default=os.path.join(CACHE, "unix-1.28.0.2", "bin", "micropython"))
    p.add_argument("--natmod", default=os.path.join(ROOT, "target", "micropython", "natmod"))
    p.add_argument("--cache", default=os.path.join(CACHE, "pypi"))
    p.add_argument("--fetch", metavar="DIR", help="only fetch the PyPI modules into DIR/lib and print it")
    p.add_argument("--timeout", type=int, default=120, help="seconds a run may take before it counts as stalled")
    p.add_argument("--only", help="comma-separated client names to run (default: all)")
    args = p.parse_args()
    if args.fetch:
        print(fetch(args.fetch))
        return 0
    if not os.path.exists(os.path.join(args.natmod, "_nomq.mpy")):
        raise SystemExit(f"no _nomq.mpy in {args.natmod}: build it (scripts/test-micropython.sh) or pass --natmod")
    lib = fetch(args.cache)
    package = os.path.join(ROOT, "bindings", "micropython", "package")
    clients = [
        ("nomq.mqtt", [args.natmod, package], NOMQ_MQTT),
        ("mqtt_async (nomq)", [args.natmod, package], MQTT_ASYNC),
    ]
    baselines = []
    if args.upstream:
        up = args.upstream
        if not os.path.exists(os.path.join(up, "mqtt_async.py")):
            up = os.path.join(up, "mqtt_async")
        if not os.path.exists(os.path.join(up, "mqtt_async.py")):
            raise SystemExit(f"no mqtt_async.py in {args.upstream}")
        # Only mqboard's two files: its directory also holds tests and a README.
        updir = tempfile.mkdtemp(prefix="mqboard-")
        for name in ("mqtt_async.py", "unix_fix.py"):
            shutil.copy(os.path.join(up, name), updir)
        baselines.append(("mqtt_async (mqboard)", [updir], MQTT_ASYNC))
    else:
        print("mqboard's mqtt_async not given (--upstream or NOMQ_UPSTREAM_MQBOARD): left out", file=sys.stderr)
    umqtt_dir = tempfile.mkdtemp(prefix="umqtt-")
    shutil.copytree(os.path.join(lib, "umqtt"), os.path.join(umqtt_dir, "umqtt"))
    baselines.append(("umqtt.simple", [umqtt_dir], UMQTT))
    everyone = clients + baselines
    if args.only:
        keep = set(args.only.split(","))
        everyone = [c for c in everyone if c[0] in keep]

    results = {}
    with Mosquitto() as broker:
        n = 0
        for r in range(args.runs):
            for case in CASES:
                for name, path, script in everyone:
                    if name == "umqtt.simple" and case == "qos1-stream":
                        continue
                    n += 1
                    extra = {"BENCH_MQBOARD": "1"} if name == "mqtt_async (mqboard)" else None
                    rate = run(args.micropython, path, script, case, args, broker.port, "%d-%d" % (os.getpid(), n), extra)
                    # A stalled run counts as 0 msg/s in the median (mqboard's client can wait
                    # response_time for an acknowledgement it already handled).
                    results.setdefault((name, case), []).append(rate or (0, 0))
                    shown = (f"{rate[0]:8} accepted {rate[1]:8} delivered msg/s" if rate is not None
                             else f"stalled (over {args.timeout} s)")
                    print(f"  run {r + 1}: {name:22} {CASE_NAMES[case]:13} {shown}", file=sys.stderr)

    base_names = [b[0] for b in baselines]
    print(f"\n{args.count} x {args.size}-byte messages, median of {args.runs} runs, messages/s "
          f"(MicroPython unix {os.path.basename(os.path.dirname(os.path.dirname(args.micropython)))}, mosquitto)\n")
    header = (f"| {'case':12} | {'client':20} | {'accepted':>8} | {'ratio':>6} | {'delivered':>9} | {'ratio':>6} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for case in CASES:
        medians = {}
        for (name, c), v in results.items():
            if c == case:
                medians[name] = (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
        bases = [medians[b] for b in base_names if b in medians]
        if case == "qos1-stream":
            # Against the baselines' best QoS 1: their stream, or their sync where they have
            # no stream (umqtt.simple) or it stalled (mqboard's).
            for b in base_names:
                sync = results.get((b, "qos1-sync"))
                if sync:
                    bases.append((statistics.median(r[0] for r in sync), statistics.median(r[1] for r in sync)))
        base = [max([b[i] for b in bases] or [0]) for i in (0, 1)]
        for name, _, _ in everyone:
            if name not in medians:
                continue
            m = medians[name]
            ratios = [f"{m[i] / base[i]:.2f}x" if base[i] else "-" for i in (0, 1)]
            print(f"| {CASE_NAMES[case]:12} | {name:20} | {m[0]:8.0f} | {ratios[0]:>6} | {m[1]:9.0f} | {ratios[1]:>6} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
