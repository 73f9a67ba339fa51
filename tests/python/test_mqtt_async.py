"""mqtt_async (mqboard's API) against a real mosquitto: the hello world runs unchanged; mqboard's
module surface; MQTTProto on one connection (packets, callbacks, failures, the last will);
MQTTClient's callbacks, clean-session semantics, QoS 2, start(), errors, and publishes that
arrive in call order whatever their sync."""
import asyncio
import errno
import os
import pathlib
import re
import subprocess
import sys
from binascii import hexlify

import mqtt_async
import pytest
from mqtt_async import MQTTClient, MQTTMessage, MQTTProto, config, set_last_will

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"


def test_hello_world_example_runs_unchanged(broker):
    out = subprocess.run([sys.executable, str(EXAMPLES / "mqtt_async_hello.py"), str(broker)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # As in mqboard, connect_coro subscribes in the background: the first publish may precede
    # the subscription. Every message after it arrives, in order, with mqboard's arguments.
    received = [int(m.group(1)) for m in re.finditer(r"^b'test/mqtt_async' b'Hello World #(\d+)!' False 1$",
                                                       out.stdout, re.M)]
    assert len(received) == 3 and received == list(range(received[0], received[0] + 3)), out.stdout


def test_module_surface_is_mqboards():
    assert asyncio.sleep_ms is mqtt_async._platform.sleep_ms and asyncio.sleep_us is mqtt_async._platform.sleep_us
    asyncio.run(asyncio.sleep_ms(1))
    assert (mqtt_async.CONN_CLOSED, mqtt_async.CONN_TIMEOUT, mqtt_async.PROTO_ERROR) == (
        "Connection closed", "Connection timed out", "Protocol error")
    assert mqtt_async.CONN_ERRS[4] == "not auth" and mqtt_async.PING_PID == 100000
    assert mqtt_async._CONN_DELAY == 1
    assert config["client_id"] == hexlify(mqtt_async._platform.unique_id()) and len(config["client_id"]) == 12
    assert config["interface"].isconnected() and config["interface"].disconnect() is None
    conf = config.copy()
    conf.server = "broker.local"  # mqboard's README writes config.server = ...
    conf.port += 1
    assert conf["server"] == "broker.local" and conf.port == 1 and config.server is None
    with pytest.raises(AttributeError):
        conf.no_such_key
    for name in ("connect", "ping", "publish", "subscribe", "read_msg", "disconnect", "isconnected"):
        assert callable(getattr(MQTTProto, name)), name


def conf(broker, **kw):
    c = dict(config, server="127.0.0.1", port=broker, client_id=f"ma-{os.getpid()}-{len(kw)}")
    c.update(kw)
    return c


async def read_until(proto, *kinds, limit=5.0):
    """Reads packets until each type in ``kinds`` was seen (in any order)."""
    wanted = set(kinds)

    async def loop():
        while wanted:
            wanted.discard(await proto.read_msg())

    await asyncio.wait_for(loop(), limit)


def test_proto_speaks_mqtt_on_one_connection(broker):
    got, pubacks, subacks, pings = [], [], {}, []
    topic = f"ma/{os.getpid()}/proto"

    async def subs_cb(t, msg, retained, qos, dup):  # a coroutine callback is awaited
        got.append((t, msg, retained, qos, dup))

    async def main():
        p = MQTTProto(subs_cb, pubacks.append, subacks.__setitem__, lambda: pings.append(1))
        await p.connect(("127.0.0.1", broker), f"proto-{os.getpid()}", True)
        assert p.isconnected() and p.last_ack > 0
        before = p.last_ack
        await asyncio.sleep_ms(2)
        await p.ping()
        await read_until(p, 13)
        assert pings == [1] and p.last_ack > before
        await p.subscribe(topic, 2, 21)
        await read_until(p, 9)
        assert subacks == {21: 2}
        await p.publish(MQTTMessage(topic, "zero"))
        await read_until(p, 3)
        await p.publish(MQTTMessage(topic, bytes(range(256)) * 8, qos=1, pid=22))
        await read_until(p, 3, 4)  # the mirrored message and the PUBACK, in either order
        await p.publish(MQTTMessage(topic, "two", qos=2, pid=23))
        await read_until(p, 3, 5, 6, 7)  # PUBREC, PUBCOMP; and the mirror, released by PUBREL
        assert pubacks == [22, 23]
        await p.disconnect()
        assert not p.isconnected()

    asyncio.run(main())
    assert got == [(topic.encode(), b"zero", False, 0, 0), (topic.encode(), bytes(range(256)) * 8, False, 1, 0),
                   (topic.encode(), b"two", False, 2, 0)]


def test_proto_failures_and_the_last_will(broker):
    wills = []
    topic = f"ma/{os.getpid()}/will"

    def proto(cb=lambda *a: None):
        return MQTTProto(cb, lambda pid: None, lambda pid, q: None, lambda: None)

    async def main():
        with pytest.raises(OSError) as refused:
            await proto().connect(("127.0.0.1", 1), "nobody", True)
        assert refused.value.args[0] == errno.ECONNREFUSED
        p = proto()
        await p.connect(("127.0.0.1", broker), f"garbage-{os.getpid()}", True, user="u", pwd="p")
        p._sock.write(b"\xf0\x00")  # a reserved packet type: the broker hangs up
        await p._sock.drain()
        with pytest.raises(OSError) as closed:
            await p._as_read(2)
        assert closed.value.args[0] == -1
        p._sock.close()
        await p._sock.wait_closed()
        with pytest.raises(OSError):
            await p._as_write(b"\xc0\x00")
        await p.disconnect()

        watcher = proto(lambda *a: wills.append(a))
        await watcher.connect(("127.0.0.1", broker), f"watcher-{os.getpid()}", True)
        await watcher.subscribe(topic, 1, 1)
        await read_until(watcher, 9)
        dying = proto()
        will = MQTTMessage(topic, "gone", qos=1)
        await dying.connect(("127.0.0.1", broker), f"dying-{os.getpid()}", True, keepalive=60, lw=will)
        dying._sock.close()  # no DISCONNECT: the broker publishes the will
        await read_until(watcher, 3)
        await watcher.disconnect()

    asyncio.run(main())
    assert wills == [(topic.encode(), b"gone", False, 1, 0)]


def test_callbacks_qos2_and_async_publish(broker):
    topic = f"ma/{os.getpid()}/t"
    calls = []

    async def main():
        ready = asyncio.Event()
        statuses = []

        async def subs_cb(topic_, msg, retained, qos, dup):
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
    assert calls == [
        (topic.encode(), b"exactly once", False, 2, 0),
        (topic.encode(), b"async", False, 1, 0),
        (topic.encode(), b"retained", False, 1, 0),
    ]


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publishes_arrive_in_call_order_whatever_sync(broker, qos):
    """Streaming publishes, then one with sync=True: the subscriber gets them in call order
    (the sync one last), also with a wider window and with sync mixed in."""
    topic = f"ma/{os.getpid()}/order{qos}"
    got = []

    async def main():
        sub = MQTTClient(conf(broker, client_id=f"order-sub-{os.getpid()}-{qos}",
                              subs_cb=lambda t, m, *a: got.append(m)))
        await sub.connect()
        await sub.subscribe(topic, 2)
        for window in (1, 8):
            pub = MQTTClient(conf(broker, client_id=f"order-pub-{os.getpid()}-{qos}-{window}", async_window=window))
            await pub.connect()
            for i in range(30):
                await pub.publish(topic, f"{window}-{i}", qos=qos, sync=i % 7 == 6)
            await pub.publish(topic, f"{window}-last", qos=qos, sync=True)
            await pub.disconnect()
        for _ in range(300):
            if len(got) == 62:
                break
            await asyncio.sleep(0.01)
        await sub.disconnect()

    asyncio.run(main())
    expected = [f"{w}-{i}".encode() for w in (1, 8) for i in [*range(30), "last"]]
    assert got == expected


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
    with pytest.raises(ValueError):
        MQTTMessage("t/#", "m")  # no wildcards in a topic name
    c = dict(config)
    set_last_will(c, "t/will", "bye", retain=True, qos=2)  # QoS 2: beyond mqboard
    assert (c["will"].topic, c["will"].message, c["will"].retain, c["will"].qos) == (b"t/will", b"bye", True, 2)
    with pytest.raises(ValueError, match="empty topic"):
        set_last_will(c, "", "x")
    assert MQTTClient({"server": "x", "ssl_params": {}})._c["port"] == 1883
    assert MQTTClient({"server": "x", "ssl_params": {"cafile": None}})._c["port"] == 8883

    async def refused():
        with pytest.raises(OSError):
            await MQTTClient({"server": "127.0.0.1", "port": 1, "response_time": 2}).connect()

    asyncio.run(refused())
    assert mqtt_async.config["subs_cb"]("a", "b", False, 0, 0) is None
