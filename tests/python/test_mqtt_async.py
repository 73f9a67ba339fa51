"""mqtt_async (mqboard's API) against a real mosquitto: the README hello world runs unchanged;
subs_cb arguments, connect_coro, clean-session semantics, QoS 2, sync=False, start(), errors."""
import asyncio
import os
import pathlib
import subprocess
import sys

import mqtt_async
import pytest
from mqtt_async import MQTTClient, MQTTMessage, config, set_last_will

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"


def test_hello_world_example_runs_unchanged(broker):
    out = subprocess.run([sys.executable, str(EXAMPLES / "mqtt_async_hello.py"), str(broker)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # As in mqboard, connect_coro subscribes in the background: the first publish may precede
    # the subscription. Every message after it arrives, in order, with mqboard's arguments.
    import re

    received = [int(m.group(1)) for m in re.finditer(r"^b'test/mqtt_async' b'Hello World #(\d+)!' False 1$",
                                                       out.stdout, re.M)]
    assert len(received) == 3 and received == list(range(received[0], received[0] + 3)), out.stdout


def conf(broker, **kw):
    c = dict(config, server="127.0.0.1", port=broker, client_id=f"ma-{os.getpid()}-{len(kw)}")
    c.update(kw)
    return c


def test_callbacks_qos2_and_async_publish(broker):
    topic = f"ma/{os.getpid()}/t"
    calls = []
    connected = asyncio.Event

    async def main():
        ready = connected()
        statuses = []

        async def subs_cb(topic_, msg, retained, qos, dup):  # coroutine callbacks are awaited
            calls.append((topic_, msg, retained, qos, dup))

        async def on_connect(client):
            await client.subscribe(topic, 2)
            ready.set()

        async def wifi(status):
            statuses.append(status)

        client = MQTTClient(conf(broker, subs_cb=subs_cb, connect_coro=on_connect, wifi_coro=wifi))
        await client.connect()
        await asyncio.wait_for(ready.wait(), 5)
        await client.publish(topic, "exactly once", qos=2)
        await client.publish(topic.encode(), b"async", qos=1, sync=False)
        await client.publish(topic, "retained", qos=1, retain=True)
        for _ in range(200):
            if len(calls) == 3:
                break
            await asyncio.sleep(0.01)
        await client.disconnect()
        with pytest.raises(ValueError, match="cannot reuse"):
            await client.connect()
        assert statuses == [True]

    asyncio.run(main())
    assert sorted(calls) == sorted([
        (topic.encode(), b"exactly once", False, 2, 0),
        (topic.encode(), b"async", False, 1, 0),
        (topic.encode(), b"retained", False, 1, 0),
    ])


def test_clean_session_then_persistent_keeps_messages_across_a_restart(broker):
    """clean=True: clean once, then a persistent session: QoS 1 messages published while the
    client is away are delivered when it comes back with the same client id."""
    topic = f"ma/{os.getpid()}/persist"
    cid = f"ma-persist-{os.getpid()}"
    got = []

    async def main():
        c = MQTTClient(conf(broker, client_id=cid, clean=True, subs_cb=lambda *a: got.append(a[1])))
        await c.connect()
        await c.subscribe(topic, 1)
        await c.disconnect()
        other = MQTTClient(conf(broker, client_id=cid + "-pub"))
        await other.connect()
        await other.publish(topic, "while away", qos=1)
        await other.disconnect()
        back = MQTTClient(conf(broker, client_id=cid, clean=False, subs_cb=lambda *a: got.append(a[1])))
        await back.connect()
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.01)
        await back.disconnect()

    asyncio.run(main())
    assert got == [b"while away"]


def test_start_retries_in_the_background_and_publish_waits(broker):
    async def main():
        c = MQTTClient(conf(broker))
        c.start()
        await asyncio.wait_for(c.publish(f"ma/{os.getpid()}/s", "after start", qos=1), 10)
        await c.disconnect()

    asyncio.run(main())


def test_errors_and_configuration():
    with pytest.raises(ValueError, match="no server"):
        MQTTClient({})
    with pytest.raises(ValueError, match="will must be MQTTMessage"):
        MQTTClient({"server": "x", "will": "nope"})
    with pytest.raises(ValueError, match="unsupported qos"):
        MQTTMessage("t", "m", qos=3)
    c = dict(config)
    set_last_will(c, "t/will", "bye", retain=True, qos=1)
    assert (c["will"].topic, c["will"].message, c["will"].retain, c["will"].qos) == (b"t/will", b"bye", True, 1)
    with pytest.raises(ValueError, match="empty topic"):
        set_last_will(c, "", "x")
    assert MQTTClient({"server": "x", "ssl_params": {}})._c["port"] == 1883
    assert MQTTClient({"server": "x", "ssl_params": {"cafile": None}})._c["port"] == 8883

    async def refused():
        with pytest.raises(OSError):
            await MQTTClient({"server": "127.0.0.1", "port": 1, "response_time": 2}).connect()

    asyncio.run(refused())
    assert mqtt_async.config["subs_cb"]("a", "b", False, 0, 0) is None
