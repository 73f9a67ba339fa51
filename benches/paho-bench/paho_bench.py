#!/usr/bin/env python3
"""paho-bench: the interface of `nomq bench mqtt`, implemented with paho-mqtt 2.x.

This is the baseline for the Python wheel's benchmark (scripts/bench-python.py): the same three measurements that
`nomq bench mqtt` (and benches/rumqttc-bench) make, done with the reference pure-Python MQTT
client, so the nomq Python binding can be compared against it on the same broker.

Requires:  pip install 'paho-mqtt>=2,<3'

Usage:
    python paho_bench.py --host H --port P --mode throughput|rtt|connect --qos Q --count N --size S

Prints one JSON line on stdout:
  throughput  {"msgs_per_s", "received", "elapsed_s", "cpu_us_per_msg"}
              A subscriber client subscribes at Q, then a publisher client in the same process
              publishes N messages of S bytes at Q as fast as the API allows (network threads via
              loop_start(); at QoS>0 paho keeps at most 100 messages in flight and queues the
              rest). Time runs from the first publish to the last message received; CPU is the
              process CPU time (user+sys, all threads) over that interval per received message.
  rtt         {"p50_us", "p99_us"}
              One client subscribed to its own topic at Q: publish, wait for the message to come
              back, repeat; 100 warm-up samples, then N measured samples.
  connect     {"median_ms"}
              N sequential connect + CONNACK + clean disconnect.

MQTT 3.1.1, clean session, plain TCP, CallbackAPIVersion.VERSION2; topics and client ids are
unique per process (they include the pid). Waiting stops after 5 s without a new message and
what arrived is reported.
"""

import argparse
import json
import os
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

IDLE_S = 5.0
WARMUP = 100
MAX_INFLIGHT = 100
PID = os.getpid()


def new_client(args, role, loop_thread=True):
    """Creates a client, connects it and waits for CONNACK (and starts its network thread)."""
    c = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"paho-bench-{PID}-{role}",
        protocol=mqtt.MQTTv311,
        clean_session=True,
    )
    c.max_inflight_messages_set(MAX_INFLIGHT)
    c.max_queued_messages_set(0)  # unlimited: publish() queues instead of failing
    connected = threading.Event()
    c.on_connect = lambda cl, ud, flags, rc, props: connected.set() if not rc.is_failure else None
    c.connect(args.host, args.port, keepalive=60)
    c.loop_start()
    if not connected.wait(IDLE_S):
        sys.exit(f"paho-bench: no CONNACK from {args.host}:{args.port} for {role}")
    return c


def subscribe(c, topic, qos):
    """Subscribes and waits for the SUBACK."""
    done = threading.Event()
    granted = []

    def on_subscribe(cl, ud, mid, reason_codes, props):
        granted.extend(reason_codes)
        done.set()

    c.on_subscribe = on_subscribe
    c.subscribe(topic, qos)
    if not done.wait(IDLE_S) or granted[0].is_failure:
        sys.exit(f"paho-bench: subscribe to {topic} at QoS {qos} failed: {granted}")


def stop(c):
    c.disconnect()
    c.loop_stop()


def throughput(args):
    topic = f"paho-bench/{PID}/tp"
    lock = threading.Lock()
    state = {"received": 0, "last": 0.0}
    all_in = threading.Event()

    def on_message(cl, ud, msg):
        now = time.perf_counter()
        with lock:
            state["received"] += 1
            state["last"] = now
            if state["received"] >= args.count:
                all_in.set()

    sub = new_client(args, "sub")
    sub.on_message = on_message
    subscribe(sub, topic, args.qos)
    pub = new_client(args, "pub")
    payload = b"x" * args.size

    cpu0 = time.process_time()
    start = time.perf_counter()
    with lock:
        state["last"] = start
    for _ in range(args.count):
        pub.publish(topic, payload, qos=args.qos)
    # Wait until everything arrived, or IDLE_S passed without a new message.
    while not all_in.is_set():
        with lock:
            last = state["last"]
        remaining = last + IDLE_S - time.perf_counter()
        if remaining <= 0:
            break
        all_in.wait(min(remaining, 0.5))
    cpu1 = time.process_time()
    with lock:
        received, last = state["received"], state["last"]
    stop(pub)
    stop(sub)

    elapsed = last - start
    cpu_us = (cpu1 - cpu0) * 1e6 / max(received, 1)
    return {
        "msgs_per_s": round(received / max(elapsed, 1e-9)),
        "received": received,
        "elapsed_s": round(elapsed, 6),
        "cpu_us_per_msg": round(cpu_us, 2),
    }


def rtt(args):
    topic = f"paho-bench/{PID}/rtt"
    back = threading.Event()
    c = new_client(args, "rtt")
    c.on_message = lambda cl, ud, msg: back.set()
    subscribe(c, topic, args.qos)
    payload = b"x" * args.size

    samples = []
    for i in range(WARMUP + args.count):
        back.clear()
        t = time.perf_counter()
        c.publish(topic, payload, qos=args.qos)
        if not back.wait(IDLE_S):
            print(f"paho-bench: message {i} did not come back within {IDLE_S} s", file=sys.stderr)
            break
        if i >= WARMUP:
            samples.append((time.perf_counter() - t) * 1e6)
    stop(c)

    samples.sort()

    def pct(p):
        return round(samples[round((len(samples) - 1) * p)]) if samples else None

    return {"p50_us": pct(0.5), "p99_us": pct(0.99)}


def connect(args):
    times = []
    for i in range(args.count):
        t = time.perf_counter()
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"paho-bench-{PID}-c{i}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        state = {"connected": False, "disconnected": False}
        c.on_connect = lambda cl, ud, flags, rc, props: state.update(connected=True)
        c.on_disconnect = lambda cl, ud, flags, rc, props: state.update(disconnected=True)
        c.connect(args.host, args.port, keepalive=60)
        # Drive the network loop in this thread (no loop_start thread per connection).
        deadline = time.perf_counter() + IDLE_S
        while not state["connected"]:
            c.loop(timeout=IDLE_S)
            if time.perf_counter() > deadline:
                sys.exit(f"paho-bench: no CONNACK for connection {i}")
        c.disconnect()  # sends DISCONNECT and closes the socket
        while not state["disconnected"] and time.perf_counter() < deadline:
            c.loop(timeout=0.01)
        times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    return {"median_ms": round(times[len(times) // 2], 4)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--mode", default="throughput", choices=["throughput", "rtt", "connect"])
    ap.add_argument("--qos", type=int, default=1, choices=[0, 1, 2])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args()
    if args.count < 1:
        ap.error("--count must be >= 1")
    line = {"throughput": throughput, "rtt": rtt, "connect": connect}[args.mode](args)
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
