#!/usr/bin/env python3
"""``nomq.NoMQ`` against the reference implementation it replaces, both on CPython with the
``cryptography`` package, measured in one run on one machine, alternating, medians of ROUNDS:

1. publish: QoS 0 publishes of a 64-character text per second, from the first ``publish`` call
   until ``close()`` returns, when every one has been sent (the reference sends within
   ``publish``; ``nomq.NoMQ.close`` waits for what it handed to the core). They go to a socket
   that nobody reads, so no reader competes for the CPU. Also the CPU time the process spent
   per publish, all threads (the core's included);
2. receive: what a subscribed node's receive path takes in per second while another process
   sends it QoS 0 publishes as fast as it can (in the layout an unmodified reference listener
   accepts, nomq-v1 §22.1). For ``nomq.NoMQ``: messages returned by ``listen().mssg()``. For the
   reference: datagrams its ``listen()`` loop reads; on CPython it delivers none of them
   (§22.1: its ``struct.unpack`` of 20 bytes with a 16-byte format fails).

Usage: ``python scripts/bench-nomq-compat.py PATH`` where PATH is a checkout of the reference
(the folder holding ``NoMQ/nomq.py``); nomq must be importable. ROUNDS=5, COUNT=20000 by default.
The reference is loaded from PATH as it is; the MicroPython modules it imports are provided here
by the standard library and ``cryptography``.
"""
from __future__ import annotations

import asyncio
import binascii
import contextlib
import hashlib
import importlib.util
import os
import pathlib
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import types
from typing import Any, Callable, Dict, List

ROUNDS = int(os.environ.get("ROUNDS", "5"))
COUNT = int(os.environ.get("COUNT", "20000"))
RECEIVE_SECONDS = 3.0
TEXT = "x" * 64
CHANNEL = "bench/channel"
PUBLISH_RATE = "publish QoS 0, msg/s"
PUBLISH_CPU = "publish QoS 0, CPU us/msg"
RECEIVE_RATE = "receive, msg/s taken in"
KEYS = {"encryption_key": "11" * 32, "hmac_key": "22" * 32}


def micropython_modules() -> None:
    """The MicroPython modules the reference imports, from CPython's standard library."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    class aes:
        """``ucryptolib.aes(key, 2, iv)``: AES-CBC, one direction per object as the reference
        uses it."""

        def __init__(self, key: bytes, mode: int, iv: bytes) -> None:
            assert mode == 2, "the reference uses CBC only"
            self._cipher = Cipher(algorithms.AES(bytes(key)), modes.CBC(bytes(iv)))

        def encrypt(self, data: bytes) -> bytes:
            return self._cipher.encryptor().update(bytes(data))

        def decrypt(self, data: bytes) -> bytes:
            return self._cipher.decryptor().update(bytes(data))

    machine = types.ModuleType("machine")
    machine.unique_id = lambda: bytes(6)  # type: ignore[attr-defined]
    ucryptolib = types.ModuleType("ucryptolib")
    ucryptolib.aes = aes  # type: ignore[attr-defined]
    sys.modules.update(uasyncio=asyncio, uhashlib=hashlib, ubinascii=binascii, machine=machine,
                       network=types.ModuleType("network"), ucryptolib=ucryptolib)


def load_reference(checkout: pathlib.Path) -> Any:
    micropython_modules()
    sys.path.insert(0, str(checkout / "NoMQ"))  # its `from logger import SimpleLogger`
    spec = importlib.util.spec_from_file_location("reference_nomq", checkout / "NoMQ" / "nomq.py")
    assert spec is not None and spec.loader is not None, f"no NoMQ/nomq.py in {checkout}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.NoMQ


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_file(directory: str) -> str:
    import nomq

    path = os.path.join(directory, f"nomq_config_{time.monotonic_ns()}.json")
    nomq.create_config(dict(KEYS, ip="127.0.0.1", port=free_port(), use_ipv6=False), path)
    return path


def helper(*args: str) -> "subprocess.Popen[str]":
    """This script in another process, in one of its helper roles."""
    return subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)


def cpu_seconds() -> float:
    """CPU time of this process, every thread (the core's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def publish(cls: Any, cfg: str) -> Dict[str, float]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as unread:
        unread.bind(("127.0.0.1", 0))
        port = unread.getsockname()[1]
        node = cls(cfg, "ERROR", 5)
        start, cpu = time.perf_counter(), cpu_seconds()
        for _ in range(COUNT):
            await node.publish(CHANNEL, TEXT, qos=0, ip="127.0.0.1", port=port)
        node.close()
        elapsed, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    return {PUBLISH_RATE: COUNT / elapsed, PUBLISH_CPU: cpu / COUNT * 1e6}


async def receive(cls: Any, cfg: str, reference: bool) -> Dict[str, float]:
    return {RECEIVE_RATE: await receive_rate(cls, cfg, reference)}


async def receive_rate(cls: Any, cfg: str, reference: bool) -> float:
    import nomq

    node = cls(cfg, "ERROR", 5)
    await node.subscribe(CHANNEL)
    port = nomq.read_config(cfg)["port"]
    if reference:
        # listen() runs its receive loop until close and returns only then: count the datagrams
        # it reads, over a fixed time.
        taken = [0]
        parse = node._parse_packet

        def counting(data: bytes) -> Any:
            taken[0] += 1
            return parse(data)

        node._parse_packet = counting
        sender = helper("--send", str(port))
        loop = asyncio.ensure_future(node.listen())
        await asyncio.sleep(RECEIVE_SECONDS)
        node.running = False
        await loop
        sender.kill()
        sender.wait()
        node.close()
        return taken[0] / RECEIVE_SECONDS
    listener = await node.listen()
    sender = helper("--send", str(port))
    count, first, last = 0, 0.0, 0.0
    while True:
        m = listener.mssg()
        if m is not None:
            count += 1
            last = time.monotonic()
            first = first or last
        elif count and time.monotonic() - last > 1.0 or not count and sender.poll() is not None:
            break
        else:
            await asyncio.sleep(0.001)
    sender.wait()
    node.close()
    return count / (last - first) if count > 1 else 0.0


def send(port: int) -> None:
    """Sends COUNT * 5 QoS 0 publishes to ``port`` as fast as the core takes them."""
    import nomq

    async def main() -> None:
        keys = {k: bytes.fromhex(v) for k, v in KEYS.items()}
        async with nomq.Endpoint(("127.0.0.1", 0), encryption_key=keys["encryption_key"],
                                 trailer_key=keys["hmac_key"], reference_layout=True) as ep:
            for _ in range(COUNT * 5 // 256):
                await asyncio.gather(*(ep.publish(("127.0.0.1", port), CHANNEL, TEXT, qos=0) for _ in range(256)))

    asyncio.run(main())


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--send":
        return send(int(sys.argv[2]))
    import nomq

    implementations: Dict[str, Any] = {"reference": load_reference(pathlib.Path(sys.argv[1])), "nomq.NoMQ": nomq.NoMQ}
    runs: List[Callable[[str, Any, str], Any]] = [
        lambda name, cls, cfg: publish(cls, cfg),
        lambda name, cls, cfg: receive(cls, cfg, name == "reference"),
    ]
    measures = [PUBLISH_RATE, PUBLISH_CPU, RECEIVE_RATE]
    results: Dict[str, Dict[str, List[float]]] = {m: {i: [] for i in implementations} for m in measures}
    # Both print their log lines on standard output (the reference its errors for every datagram
    # it cannot deliver): they go to /dev/null, the progress to standard error.
    with tempfile.TemporaryDirectory() as directory, open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        for round_ in range(ROUNDS):
            order = list(implementations) if round_ % 2 == 0 else list(reversed(implementations))
            for run in runs:
                for name in order:
                    values = asyncio.run(run(name, implementations[name], config_file(directory)))
                    for measure, value in values.items():
                        results[measure][name].append(value)
                        print(f"round {round_ + 1} {measure} {name}: {value:,.1f}", file=sys.stderr, flush=True)
    # The ratio is the median of each round's ratio: the two measurements of a round are taken
    # back to back, so a drift of the machine's speed between rounds does not skew it.
    print(f"{'measure (median of ' + str(ROUNDS) + ')':<32}{'reference':>12}{'nomq.NoMQ':>12}{'nomq/ref':>11}")
    for measure, by_name in results.items():
        ref, ours = statistics.median(by_name["reference"]), statistics.median(by_name["nomq.NoMQ"])
        paired = [o / r for r, o in zip(by_name["reference"], by_name["nomq.NoMQ"]) if r]
        ratio = f"{statistics.median(paired):,.2f}x" if paired else "n/a"
        print(f"{measure:<32}{ref:>12,.1f}{ours:>12,.1f}{ratio:>11}")


if __name__ == "__main__":
    main()
