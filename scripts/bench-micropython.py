#!/usr/bin/env python3
"""`_nomq` on MicroPython, measured on one interpreter in one run (PyPI's unix port with the
x64 native module, as scripts/test-micropython.sh builds them):

1. framing: seal + open of a 64-character v1 PUBLISH per second, `_nomq.Codec` against the
   reference's own pure-MicroPython code (`NoMQ._create_packet` + `NoMQ._parse_packet` of
   NoMQ/nomq.py, given the 16-byte inner header + text its `publish` makes, on a node whose
   socket set-up is skipped), alternating, median of ROUNDS;
2. heap: the MicroPython heap an embedded-sized `_nomq.Endpoint` and `_nomq.MqttSession`
   hold at creation and under a standard workload (after a collection, so garbage does not
   count): for the endpoint, what it holds after 100 QoS 2 exchanges each way with each of two
   peers (the peers, in the same heap, closed first); for the session, the peak over CONNECT,
   100 QoS 1 publishes out and 100 in, a reconnect. In the native module nomq allocates from
   the MicroPython heap, so these figures include the Rust side;
3. module size: the native module per feature set (built by scripts/test-micropython.sh).

Usage: scripts/bench-micropython.py [REFERENCE]  where REFERENCE is a checkout of the reference
NoMQ (the folder holding NoMQ/nomq.py; never committed here). Without it, the framing row has
no baseline and says so. ROUNDS=5, COUNT=3000 by default. The reference needs `network` and
`machine.unique_id`, which the unix port lacks: two shims in a temporary directory provide
them (a WLAN that reports connected, a fixed id); nothing of the reference is changed.
"""
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
OUT = ROOT / "target" / "micropython"
NATMOD = OUT / "natmod"
NATMOD_SPEED = OUT / "natmod-speed"
CACHE = pathlib.Path(os.environ.get("NOMQ_CACHE_DIR", pathlib.Path.home() / ".cache" / "nomq")) / "micropython"
MICROPYTHON = CACHE / "unix-1.28.0.2" / "bin" / "micropython"
ROUNDS = int(os.environ.get("ROUNDS", "5"))
COUNT = int(os.environ.get("COUNT", "3000"))

SHIMS = {
    "network.py": '''STA_IF = 0
AP_IF = 1


class WLAN:
    """A board's station interface, already connected (the unix port has no WiFi)."""

    def __init__(self, interface=STA_IF):
        pass

    def active(self, *args):
        return True

    def isconnected(self):
        return True

    def connect(self, *args, **kwargs):
        pass

    def ifconfig(self):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")
''',
    "machine.py": '''from umachine import *  # the unix port's machine module, extended


def unique_id():
    return b"\\x24\\x0a\\xc4\\x00\\x00\\x01"
''',
}

FRAMING = '''
import gc, time, _nomq
K1 = bytes(range(32))
K2 = bytes(range(0xA0, 0xC0))
TEXT = "x" * 64
COUNT = %(count)d


def ours():
    codec = _nomq.Codec(K1, K2)
    t = time.ticks_us()
    for i in range(COUNT):
        p = codec.open(codec.seal_publish("bench/channel", TEXT))
    dt = time.ticks_diff(time.ticks_us(), t)
    assert p.text == TEXT
    return COUNT * 1000000 / dt


def reference():
    import struct
    from NoMQ.nomq import NoMQ

    class Framing(NoMQ):
        """The reference's node without its socket: only its framing is measured."""

        def _initialize_socket(self):
            pass

    with open("nomq_config.json", "w") as f:
        f.write(_nomq.write_config(K1, K2, "127.0.0.1", 0))
    node = Framing("nomq_config.json", "ERROR", 1)
    channel_id = _nomq.channel_id("bench/channel")
    node.channels.append({"name": "bench/channel", "id": channel_id})
    # The inner header NoMQ.publish puts before the text (nomq-v1 section 10).
    payload = struct.pack("!II", int(time.time()), 7) + bytes(8) + TEXT.encode()
    t = time.ticks_us()
    for i in range(COUNT):
        p = node._parse_packet(node._create_packet(0x01, 0x01, channel_id, payload))
    dt = time.ticks_diff(time.ticks_us(), t)
    assert p["payload"] == payload, p
    return COUNT * 1000000 / dt


for which in %(which)s:
    gc.collect()
    print("RESULT", which, (ours if which == "ours" else reference)())
'''

HEAP = '''
import gc, _nomq
K1 = bytes(range(32))
K2 = bytes(range(0xA0, 0xC0))
UNIX = 1750000000000
EMBEDDED = dict(max_payload=1024, max_pending=32, max_inbound=512, max_sessions=32, max_subscriptions=16,
                max_retained_channels=8, max_retained_per_channel=2, max_peers=32, max_events=64,
                max_transmits=64, max_event_bytes=32768)
peak = 0


def sample(base):
    global peak
    gc.collect()
    peak = max(peak, gc.mem_alloc() - base)


def endpoint():
    """Bytes held at creation, and after the workload once its two peers (in the same heap)
    are closed: the endpoint's tables have grown to what the exchanges needed by then."""
    gc.collect()
    base = gc.mem_alloc()
    a = _nomq.Endpoint(K1, K2, 2, now_ms=1000, **EMBEDDED)
    gc.collect()
    created = gc.mem_alloc() - base
    addrs = [("10.0.0.1", 1), ("10.0.0.2", 2), ("10.0.0.3", 3)]
    peers = [_nomq.Endpoint(K1, K2, 2, now_ms=1000, **EMBEDDED) for _ in range(2)]
    a.subscribe("in")
    for p in peers:
        p.subscribe("out")
    nodes = [a] + peers
    now = 1000
    for i in range(100):
        now += 10
        for k, p in enumerate(peers):
            a.publish(addrs[k + 1], "out", b"reading %d" % i, qos=2, now_ms=now)
            p.publish(addrs[0], "in", b"reading %d" % i, qos=2, now_ms=now)
        moved = True
        while moved:
            moved = False
            for src_i, src in enumerate(nodes):
                t = src.poll_transmit(UNIX + now)
                if t is not None:
                    moved = True
                    dst = nodes[[x[1] for x in addrs].index(t[1][1])]
                    dst.handle_datagram(t[0], addrs[src_i], now, UNIX + now)
        for n in nodes:
            while n.poll_event() is not None:
                pass
    assert a.stats()["confirmed"] == 200 and a.stats()["delivered"] == 200, a.stats()
    for p in peers:
        p.close()
    peers = nodes = None
    gc.collect()
    return created, gc.mem_alloc() - base


def pid(n):
    return bytes((n >> 8, n & 255))


def session():
    global peak
    peak = 0
    gc.collect()
    base = gc.mem_alloc()
    s = _nomq.MqttSession("bench", max_inflight=8, max_outbox_messages=32, max_outbox_bytes=16384,
                          max_packet_size=16384)
    sample(base)
    created = peak
    now = 10
    for round in range(2):  # the second round follows a reconnect
        s.start(now) if round == 0 else None
        while s.poll_event() is not None:
            pass
        s.connect(now)
        s.poll_transmit(now)
        s.handle_bytes(b"\\x20\\x02\\x00\\x00", now)
        for i in range(50):
            now += 1
            s.publish("bench/out", b"reading %d" % i, 1, now_ms=now)
            out = s.poll_transmit(now)
            s.handle_bytes(b"\\x40\\x02" + out[-(2 + len(b"reading %d" % i)):][:2], now)
            body = b"\\x00\\x08bench/in" + pid(i + 1) + b"reading %d" % i
            s.handle_bytes(bytes((0x32, len(body))) + body, now)
            s.poll_transmit(now)
            while s.poll_event() is not None:
                pass
            sample(base)
        if round == 0:
            s.connection_lost(now)
            now = s.poll_timeout()
            s.handle_timeout(now)
    m = s.metrics()
    assert m["sent"] == 100 and m["received"] == 100 and m["reconnects"] == 1, m
    return created, peak


e = endpoint()
m = session()
print("RESULT heap", e[0], e[1], m[0], m[1])
'''


def run(script: str, path: str, cwd: str) -> list:
    env = dict(os.environ, MICROPYPATH=path)
    pathlib.Path(cwd, "bench.py").write_text(script)
    r = subprocess.run([str(MICROPYTHON), "-X", "heapsize=8M", "bench.py"], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit("MicroPython failed:\n" + r.stdout + r.stderr)
    return [line.split()[1:] for line in r.stdout.splitlines() if line.startswith("RESULT")]


def main() -> int:
    reference = pathlib.Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None
    if not MICROPYTHON.exists() or not (NATMOD / "_nomq.mpy").exists():
        sys.exit("run scripts/test-micropython.sh first: it builds the native module and installs the interpreter")
    if reference is not None and not (reference / "NoMQ" / "nomq.py").exists():
        sys.exit(f"{reference}: no NoMQ/nomq.py (give a checkout of the reference NoMQ)")
    # The native module from libnomq.a built for size (the firmware profile, as boards use it)
    # and, when scripts/test-micropython.sh built it, for speed (firmware-speed).
    builds = [(label, d) for label, d in (("_nomq.Codec, nomq opt-level z", NATMOD),
                                          ("_nomq.Codec, nomq opt-level 3", NATMOD_SPEED))
              if (d / "_nomq.mpy").exists()]
    rates = {label: [] for label, _ in builds}
    rates["reference"] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in SHIMS.items():
            pathlib.Path(tmp, name).write_text(text)
        # The reference imports `from logger import SimpleLogger` from its own folder.
        ref_path = f":{reference}:{reference / 'NoMQ'}" if reference is not None else ""
        for _ in range(ROUNDS):
            for i, (label, natmod) in enumerate(builds):
                which = ["ours", "reference"] if reference is not None and i == 0 else ["ours"]
                for w, rate in run(FRAMING % {"count": COUNT, "which": which}, f".frozen:{natmod}:{tmp}{ref_path}", tmp):
                    rates[label if w == "ours" else "reference"].append(float(rate))
        heap = [int(x) for x in run(HEAP, f".frozen:{NATMOD}:{tmp}", tmp)[0][1:]]
    print(f"MicroPython unix port 1.28 (x64), native module; median of {ROUNDS} rounds of {COUNT}")
    print(f"{'framing: seal+open of a 64-char v1 PUBLISH':48} {'ops/s':>10} {'ratio':>7}")
    ref = statistics.median(rates["reference"]) if rates["reference"] else None
    if ref is not None:
        print(f"{'  reference NoMQ (_create_packet + _parse_packet)':48} {ref:10.0f} {1:6.1f}x")
    for label, _ in builds:
        ours = statistics.median(rates[label])
        ratio = f"{ours / ref:6.1f}x" if ref else "    n/a"
        print(f"  {label:46} {ours:10.0f} {ratio}")
    if ref is None:
        print("  reference NoMQ: NOT MEASURED (no checkout given): no ratio")
    print(f"{'heap (bytes of the MicroPython heap, nomq included)':48} {'created':>10} {'loaded':>8}")
    print(f"{'  Endpoint, embedded bounds (v2, after 100 QoS 2 x 2 peers)':48} {heap[0]:10} {heap[1]:8}")
    print(f"{'  MqttSession, embedded bounds (peak: 200 QoS 1, reconnect)':48} {heap[2]:10} {heap[3]:8}")
    sizes = sorted((OUT / "natmod-size").glob("*/_nomq.mpy"))
    if sizes:
        print(f"{'native module (.mpy, x64) per feature set':48} {'bytes':>10}")
        for mpy in sizes:
            print(f"  {mpy.parent.name.replace('-', ' '):46} {mpy.stat().st_size:10}")
    print(json.dumps({"framing_ops_s": rates, "heap": heap}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
