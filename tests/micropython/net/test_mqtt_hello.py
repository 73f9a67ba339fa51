"""mqboard's hello world over our mqtt_async, in two runs of a second interpreter while this
process subscribes to its topic with nomq.mqtt:

- examples/micropython/mqtt_async_hello.py (our copy, server and port from argv);
- mqboard's own hello-world.py, unchanged, from the checkout named by NOMQ_UPSTREAM_MQBOARD
  (its mqtt_async directory or the repository). It hard-codes server 192.168.0.14:1883 and
  imports `logging`: a small wrapper redirects that one address to the test broker inside
  asyncio.open_connection (the network, not mqtt_async, is what it stands in for), and
  `logging` comes from PyPI's micropython-logging in NOMQ_MP_LIB (mqboard's README installs
  it with upip). It loops forever, so it runs under `timeout`.

Env: MQTT_PORT, NOMQ_TMP, NOMQ_UPSTREAM_MQBOARD, NOMQ_MP_LIB."""
import os
import sys

import asyncio
from mptest import check, finish

from nomq.mqtt import MqttClient

PORT = int(os.getenv("MQTT_PORT") or 0)
TMP = os.getenv("NOMQ_TMP") or "/tmp"
TOPIC = "test/mqtt_async"
HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
ROOT = HERE + "/../../.."

if not PORT:
    print("SKIPPED: MQTT_PORT is not set (a mosquitto on 127.0.0.1)")
    check(False, "MQTT_PORT set")
    finish("test_mqtt_hello")


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def micropython_path(extra=()):
    return ":".join([p for p in list(extra) + sys.path if p])


def spawn(script_args, log, seconds, extra_path=(), env=""):
    """Starts a second interpreter in the background under `timeout`; output to `log`."""
    cmd = "%s MICROPYPATH=%s timeout %d %s %s > %s 2>&1 &" % (
        env, micropython_path(extra_path), seconds, sys.executable, script_args, log)
    check(os.system(cmd) == 0, "started: " + script_args)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


async def watch(want, ms):
    """Messages on TOPIC (payloads) until `want` arrived or `ms` passed."""
    c = MqttClient("127.0.0.1", PORT, client_id="mph-watch-%d" % int.from_bytes(os.urandom(3), "little"))
    await c.connect()
    await c.subscribe(TOPIC, 1)
    return c


async def collect(c, want, ms):
    got = []
    try:
        while len(got) < want:
            m = await asyncio.wait_for_ms(c.recv(), ms)
            got.append(m.payload)
    except asyncio.TimeoutError:
        pass
    return got


async def wait_exit(log, marker, ms):
    while ms > 0 and marker not in read(log):
        await asyncio.sleep_ms(100)
        ms -= 100


async def ours():
    c = await watch(3, 0)
    log = TMP + "/mqtt_async_hello.log"
    spawn("%s/examples/micropython/mqtt_async_hello.py 127.0.0.1 %d 3" % (ROOT, PORT), log, 30,
          env="HELLO_INTERVAL=0.3")
    got = await collect(c, 3, 10000)
    await c.disconnect()
    check(got == [b"Hello World #0!", b"Hello World #1!", b"Hello World #2!"], "our hello world published 3: %r" % got)
    await wait_exit(log, "publish 2", 5000)
    await asyncio.sleep_ms(500)
    out = read(log)
    check("publish 2" in out and "Traceback" not in out, "our hello world ran cleanly:\n" + out)
    check("b'test/mqtt_async' b'Hello World #2!' False 1" in out, "its own subscription received its messages")


def upstream_hello():
    root = os.getenv("NOMQ_UPSTREAM_MQBOARD")
    if not root:
        return None
    for p in (root + "/hello-world.py", root + "/mqtt_async/hello-world.py"):
        if exists(p):
            return p
    return None


async def upstream():
    script = upstream_hello()
    if script is None:
        # Not run, so neither passed nor failed (scripts/test-micropython.sh lists it).
        print("SKIPPED: mqboard's hello-world.py not found: set NOMQ_UPSTREAM_MQBOARD to a checkout of tve/mqboard")
        return
    lib = os.getenv("NOMQ_MP_LIB") or ""
    # scripts/test-micropython.sh fetches it from PyPI: missing, it is a failure.
    if not check(lib and exists(lib + "/logging"), "micropython-logging in NOMQ_MP_LIB (%r), which "
                 "hello-world.py imports (scripts/bench-micropython-mqtt.py --fetch DIR)" % lib):
        return
    wrapper = TMP + "/run_hello_world.py"
    with open(wrapper, "w") as f:
        f.write(
            "import asyncio\n"
            "_open = asyncio.open_connection\n"
            "def open_connection(host, port, *a, **kw):\n"
            "    # hello-world.py's hard-coded broker: the test broker stands in for it\n"
            "    if (host, port) == ('192.168.0.14', 1883):\n"
            "        host, port = '127.0.0.1', %d\n"
            "    return _open(host, port, *a, **kw)\n"
            "asyncio.open_connection = open_connection\n"
            "with open(%r) as f:\n"
            "    source = f.read()\n"
            "exec(source, {'__name__': '__main__'})\n" % (PORT, script)
        )
    c = await watch(2, 0)
    log = TMP + "/hello-world.log"
    # It publishes every 5 s: #0 and #1 within 9 s, then timeout ends it.
    spawn(wrapper, log, 9, extra_path=(lib,))
    got = await collect(c, 2, 12000)
    await c.disconnect()
    check(got == [b"Hello World #0!", b"Hello World #1!"], "mqboard's hello-world.py published #0 and #1: %r" % got)
    await wait_exit(log, "publish 1", 3000)
    await asyncio.sleep_ms(300)
    out = read(log)
    check("publish 1" in out and "Traceback" not in out, "hello-world.py ran without errors:\n" + out)
    check("b'test/mqtt_async' b'Hello World #1!' False 1" in out,
          "its four-parameter callback printed what it received:\n" + out)


async def main():
    await ours()
    await upstream()


asyncio.run(main())
finish("test_mqtt_hello")
