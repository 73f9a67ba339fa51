"""nomq.mqtt.MqttClient against a real mosquitto (MQTT_PORT on 127.0.0.1): QoS 0/1/2 both
ways between two clients in this process, MQTT 3.1.1 and 5, the will, the receive queue's
bound, bad input (the VM stays usable), the outbox policies, and gc.collect() between
operations."""
import gc
import os
import sys

import asyncio
from mptest import check, finish, raises

from _nomq import NomqError
from nomq.mqtt import MqttClient, MqttPublishError

PORT = int(os.getenv("MQTT_PORT") or 0)
if not PORT:
    print("SKIPPED: MQTT_PORT is not set (a mosquitto on 127.0.0.1)")
    check(False, "MQTT_PORT set")
    finish("test_mqtt_client")

# Unique per run: the broker keeps persistent sessions between runs.
RUN = "%d" % (int.from_bytes(os.urandom(3), "little"))


def client(name, **kw):
    return MqttClient("127.0.0.1", PORT, client_id="mpt-%s-%s" % (name, RUN), **kw)


async def take(c, n, timeout_ms=5000):
    """Up to n messages from c, stopping after timeout_ms without one."""
    got = []
    try:
        while len(got) < n:
            got.append(await asyncio.wait_for_ms(c.recv(), timeout_ms))
    except asyncio.TimeoutError:
        pass
    return got


async def both_ways(version):
    """Each client publishes to the other at QoS 0, 1 and 2 and receives the other's."""
    tag = "v%d" % version
    a = client("a" + tag, version=version)
    b = client("b" + tag, version=version)
    check(await a.connect() is False, tag + ": clean session, none present")
    await b.connect()
    gc.collect()
    topic_a = "mpt/%s/%s/to-a" % (RUN, tag)
    topic_b = "mpt/%s/%s/to-b" % (RUN, tag)
    check(await a.subscribe(topic_a, 2) == b"\x02", tag + ": a granted QoS 2")
    check(await b.subscribe(topic_b, 2) == b"\x02", tag + ": b granted QoS 2")
    gc.collect()
    for qos in (0, 1, 2):
        await a.publish(topic_b, b"a%d" % qos, qos=qos)
        await b.publish(topic_a, "b%d" % qos, qos=qos)  # str payloads go as UTF-8
        gc.collect()
    got_b = await take(b, 3)
    got_a = await take(a, 3)
    check([(m.topic, m.payload, m.qos) for m in got_b] == [(topic_b, b"a0", 0), (topic_b, b"a1", 1), (topic_b, b"a2", 2)],
          tag + ": b received a's QoS 0/1/2 in order: %r" % got_b)
    check([(m.payload, m.qos) for m in got_a] == [(b"b0", 0), (b"b1", 1), (b"b2", 2)],
          tag + ": a received b's QoS 0/1/2 in order: %r" % got_a)

    # Streaming QoS 1 and 2 (wait=False) and QoS 0 bursts, in order, nothing lost.
    for qos in (0, 1, 2):
        deliveries = []
        for i in range(50):
            d = await a.publish(topic_b, b"%d:%d" % (qos, i), qos=qos, wait=False)
            if d is not None:
                deliveries.append(d)
        await a.drain()
        await a.flush()
        got = await take(b, 50)
        check([m.payload for m in got] == [b"%d:%d" % (qos, i) for i in range(50)],
              tag + ": 50 streamed at QoS %d arrive once, in order (%d)" % (qos, len(got)))
        check(all(d.done() for d in deliveries), tag + ": every delivery done after drain")
        gc.collect()

    # Retained messages, then unsubscribe.
    rt = "mpt/%s/%s/retained" % (RUN, tag)
    await a.publish(rt, b"kept", qos=1, retain=True)
    await b.subscribe(rt, 1)
    got = await take(b, 1)
    check(len(got) == 1 and got[0].retain and got[0].payload == b"kept", tag + ": retained message on subscribe")
    await a.publish(rt, b"", qos=1, retain=True)  # clears it
    await take(b, 1, 500)
    codes = await b.unsubscribe(topic_b)
    check(codes == (b"\x00" if version == 5 else b""), tag + ": UNSUBACK codes %r" % (codes,))
    await a.publish(topic_b, b"after", qos=1)
    check(await take(b, 1, 300) == [], tag + ": nothing after unsubscribe")

    m = a.metrics()
    check(m["sent"] >= 150 and m["inflight"] == 0 and m["queued_messages"] == 0, tag + ": metrics %r" % m)
    await a.disconnect()
    await b.disconnect()
    check(a.metrics()["sent"] == m["sent"], tag + ": metrics readable after disconnect")
    await raises_async(NomqError, tag + ": publish after disconnect", a.publish(topic_b, b"x"))


async def raises_async(exc_class, what, coro):
    try:
        await coro
    except Exception as e:  # noqa: BLE001 - the class is checked below
        return check(isinstance(e, exc_class), "%s: raised %s(%s)" % (what, type(e).__name__, e))
    return check(False, what + ": nothing raised")


async def will():
    watcher = client("will-w")
    await watcher.connect()
    wt = "mpt/%s/will" % RUN
    await watcher.subscribe(wt, 1)
    for version in (4, 5):
        dying = client("will-d%d" % version, version=version, will=(wt, b"gone %d" % version, 1, False))
        await dying.connect()
        # The connection drops without DISCONNECT: the broker publishes the will.
        dying.close()
        got = await take(watcher, 1)
        check([m.payload for m in got] == [b"gone %d" % version], "v%d: will published on a lost connection" % version)
    polite = client("will-p", will=(wt, b"should not", 1, False))
    await polite.connect()
    await polite.disconnect()
    check(await take(watcher, 1, 500) == [], "no will after DISCONNECT")
    await watcher.disconnect()


async def receive_queue_bound():
    """A consumer that does not keep up: the client stops reading at the bound and nothing is
    lost; the broker's QoS 1 flow resumes when the application takes messages."""
    slow = client("slow", max_queued_messages=4, max_queued_bytes=1 << 20)
    fast = client("fast")
    await slow.connect()
    await fast.connect()
    t = "mpt/%s/queue" % RUN
    await slow.subscribe(t, 1)
    for i in range(40):
        await fast.publish(t, b"%d" % i, qos=1, wait=False)
    await fast.drain()
    await asyncio.sleep_ms(200)
    check(slow.pending() <= 4 + 40, "queue holds at most one read beyond its bound (%d)" % slow.pending())
    check(slow._paused, "reading paused at the bound")
    got = await take(slow, 40)
    check([m.payload for m in got] == [b"%d" % i for i in range(40)], "all 40 arrive in order after the pause (%d)" % len(got))
    check(not slow._paused, "reading resumed")
    small = client("small-bytes", max_queued_messages=100, max_queued_bytes=100)
    await small.connect()
    await small.subscribe(t, 0)
    for i in range(10):
        await fast.publish(t, b"x" * 60, qos=0)
    await fast.flush()
    await asyncio.sleep_ms(200)
    check(small._paused, "paused by the byte bound")
    got = await take(small, 10)
    check(len(got) == 10, "byte-bounded queue delivers all 10 (%d)" % len(got))
    for c in (slow, fast, small):
        await c.disconnect()


async def bad_input():
    c = client("bad")
    await c.connect()
    for topic in ("a/+/b", "a/#", "", "a\x00b"):
        await raises_async(ValueError, "invalid topic %r" % topic, c.publish(topic, b"x", qos=1))
    await raises_async(ValueError, "QoS 3", c.publish("mpt/ok", b"x", qos=3))
    await raises_async(TypeError, "int payload", c.publish("mpt/ok", 5))
    await raises_async(TypeError, "None topic", c.publish(None, b"x"))
    await raises_async(ValueError, "payload over max_outbox_bytes", c.publish("mpt/big", bytes(20000), qos=1))
    await raises_async(ValueError, "invalid filter", c.subscribe("a/#/b", 1))
    await raises_async(ValueError, "subscribe QoS 3", c.subscribe("a/b", 3))
    raises(ValueError, "version 6", MqttClient, "127.0.0.1", PORT, version=6)
    raises(ValueError, "outbox_policy", MqttClient, "127.0.0.1", PORT, outbox_policy="later")
    raises(ValueError, "max_packet_size below 128", MqttClient, "127.0.0.1", PORT, max_packet_size=10)
    gc.collect()
    # The VM and the client keep working after every refusal.
    t = "mpt/%s/bad" % RUN
    check(await c.subscribe(t, 1) == b"\x01", "subscribe after the refusals")
    await c.publish(t, bytes(8000), qos=1)
    got = await take(c, 1)
    check(len(got) == 1 and len(got[0].payload) == 8000, "an 8000-byte message round trip after the refusals")
    await c.disconnect()
    # max_packet_size bounds what the broker may send. MQTT 5 tells the broker, which then
    # does not send larger messages; a 3.1.1 broker does not know, and a larger packet ends
    # the connection (the core reconnects and resumes).
    big = client("big")
    await big.connect()
    for version in (5, 4):
        small = client("small-packets%d" % version, version=version, max_packet_size=256, reconnect_initial_ms=50)
        await small.connect()
        await small.subscribe(t, 1)
        await big.publish(t, bytes(1000), qos=0)
        await big.publish(t, b"small", qos=1)
        got = await take(small, 2, 1500)
        check([m.payload for m in got] == [b"small"], "v%d: only the message within max_packet_size arrives: %r" % (version, got))
        reconnects = small.metrics()["reconnects"]
        if version == 5:
            check(reconnects == 0, "v5: the broker kept within it, no reconnect")
        else:
            check(reconnects == 1 and small.disconnect_reason[0] == 3,
                  "v4: the oversized packet ended one connection (%d, %r)" % (reconnects, small.disconnect_reason))
        await small.disconnect()
    await big.disconnect()


async def outbox_policies():
    t = "mpt/%s/outbox" % RUN
    # Before connect() the session queues: 4 messages fit, the 5th meets the policy.
    fail = client("fail", max_outbox_messages=4, outbox_policy="fail")
    for i in range(4):
        await fail.publish(t, b"%d" % i, qos=1, wait=False)
    e = None
    try:
        await fail.publish(t, b"4", qos=1, wait=False)
    except NomqError as x:
        e = x
    check(e is not None and "full" in str(e), "fail policy: NomqError names the full outbox: %s" % e)
    check(fail.metrics()["queued_messages"] == 4, "fail policy: the outbox keeps its 4")
    await fail.connect()
    await fail.drain()
    check(fail.metrics()["queued_messages"] == 0, "fail policy: all 4 sent after connect")
    await fail.disconnect()

    drop = client("drop", max_outbox_messages=4, outbox_policy="drop_oldest")
    ds = []
    for i in range(6):
        ds.append(await drop.publish(t, b"%d" % i, qos=1, wait=False))
    await drop.connect()
    dropped = 0
    for d in ds:
        try:
            await d.wait()
        except MqttPublishError as x:
            dropped += 1
            check("dropped" in str(x), "drop_oldest: the error says dropped: %s" % x)
    check(dropped == 2, "drop_oldest: the two oldest dropped (%d)" % dropped)
    check(drop.metrics()["dropped"] == 2, "drop_oldest: metrics count them")
    await drop.disconnect()

    wait = client("wait", max_outbox_messages=4)
    for i in range(4):
        await wait.publish(t, b"%d" % i, qos=1, wait=False)
    blocked = asyncio.create_task(wait.publish(t, b"4", qos=1))
    await asyncio.sleep_ms(100)
    check(not blocked.done(), "wait policy: the 5th publish waits while disconnected")
    await wait.connect()
    await asyncio.wait_for_ms(blocked, 5000)
    check(blocked.done(), "wait policy: it completes once connected")
    await wait.disconnect()


async def many_with_gc():
    c = client("gc")
    await c.connect()
    t = "mpt/%s/gc" % RUN
    await c.subscribe(t, 1)
    gc.collect()
    free = gc.mem_free()
    for i in range(200):
        await c.publish(t, b"%d" % i, qos=i % 3)
        m = await asyncio.wait_for_ms(c.recv(), 2000)
        if m.payload != b"%d" % i:
            check(False, "gc loop: message %d came back as %r" % (i, m.payload))
            break
        gc.collect()
    else:
        check(True, "200 round trips with gc.collect() between them")
    gc.collect()
    check(gc.mem_free() > free - 8192, "heap not growing across the loop (%d -> %d)" % (free, gc.mem_free()))
    await c.disconnect()


async def publish_awaitable_forms():
    """What publish returns works wherever a coroutine did: awaited, as a task, under
    wait_for and gather, whether it finished on the spot (QoS 0) or waits (QoS 1/2)."""
    c = client("forms")
    await c.connect()
    t = "mpt/%s/forms" % RUN
    await c.subscribe(t, 1)
    await c.publish(t, b"awaited")
    await asyncio.create_task(c.publish(t, b"task"))
    await asyncio.create_task(c.publish(t, b"task1", qos=1))
    await asyncio.wait_for_ms(c.publish(t, b"wait_for"), 2000)
    await asyncio.wait_for_ms(c.publish(t, b"wait_for2", qos=2), 2000)
    r = await asyncio.gather(c.publish(t, b"gather0"), c.publish(t, b"gather1", qos=1))
    check(r == [None, None], "gather of a QoS 0 and a QoS 1 publish: %r" % r)
    got = sorted(m.payload for m in await take(c, 8, 1000))
    want = sorted([b"awaited", b"task", b"task1", b"wait_for", b"wait_for2", b"gather0", b"gather1"])
    check(got == want, "each form delivered once: %r" % got)
    await c.disconnect()


async def main():
    await publish_awaitable_forms()
    for version in (4, 5):
        await both_ways(version)
        gc.collect()
    await will()
    await receive_queue_bound()
    await bad_input()
    await outbox_policies()
    await many_with_gc()


asyncio.run(main())
finish("test_mqtt_client")
