"""A broker restart in the middle of a stream (MQTT_PORT, MOSQUITTO_DIR: the restart keeps
mosquitto's port and persistence): the core reconnects with its backoff, resumes the sessions
and resends what was not acknowledged. QoS 1 loses nothing (duplicates allowed); QoS 2 loses
nothing and delivers nothing twice. Run for nomq.mqtt and for mqtt_async."""
import gc
import os

import asyncio
from mptest import check, finish

from nomq.mqtt import MqttClient

PORT = int(os.getenv("MQTT_PORT") or 0)
BROKER_DIR = os.getenv("MOSQUITTO_DIR")
if not PORT or not BROKER_DIR:
    print("SKIPPED: MQTT_PORT and MOSQUITTO_DIR must name a running mosquitto")
    check(False, "MQTT_PORT and MOSQUITTO_DIR set")
    finish("test_mqtt_restart")

RUN = "%d" % (int.from_bytes(os.urandom(3), "little"))
ROOT = (__file__.rsplit("/", 1)[0] if "/" in __file__ else ".") + "/../../.."
N = 300
RESTART_AT = 120


def restart_broker():
    # Blocks the VM while mosquitto stops and starts again; the connections die meanwhile.
    rc = os.system("python3 %s/tests/support/mosquitto.py restart %s > /dev/null" % (ROOT, BROKER_DIR))
    check(rc == 0, "mosquitto restarted (status %d)" % rc)


def client(name, **kw):
    return MqttClient("127.0.0.1", PORT, client_id="mpr-%s-%s" % (name, RUN), reconnect_initial_ms=50,
                      reconnect_max_ms=500, **kw)


async def collect(c, into, want, timeout_ms):
    """Appends c's messages to `into` until `want` distinct payloads are there or nothing
    arrived for timeout_ms."""
    seen = set(into)
    try:
        while len(seen) < want:
            m = await asyncio.wait_for_ms(c.recv(), timeout_ms)
            into.append(m.payload)
            seen.add(m.payload)
    except asyncio.TimeoutError:
        pass


async def nomq_stream():
    t1 = "mpr/%s/q1" % RUN
    t2 = "mpr/%s/q2" % RUN
    # Receivers with room for the whole stream: the test checks the broker and the session,
    # not the receive queue's back-pressure.
    s1 = client("s1", max_queued_messages=2 * N, max_queued_bytes=1 << 20)
    s2 = client("s2", max_queued_messages=2 * N, max_queued_bytes=1 << 20)
    pub = client("p")
    for c in (s1, s2, pub):
        await c.connect()
    await s1.subscribe(t1, 1)
    await s2.subscribe(t2, 2)
    got1 = []
    got2 = []
    readers = [asyncio.create_task(collect(s1, got1, N, 20000)), asyncio.create_task(collect(s2, got2, N, 20000))]
    deliveries = []
    for i in range(N):
        if i == RESTART_AT:
            restart_broker()
        deliveries.append(await pub.publish(t1, b"%d" % i, qos=1, wait=False))
        deliveries.append(await pub.publish(t2, b"%d" % i, qos=2, wait=False))
        if i % 50 == 0:
            gc.collect()
    await asyncio.wait_for_ms(pub.drain(), 30000)
    check(all(d.done() for d in deliveries), "every publish acknowledged after the restart")
    for r in readers:
        await r
    want = [b"%d" % i for i in range(N)]
    check(set(got1) == set(want), "QoS 1: nothing lost across the restart (%d distinct of %d)" % (len(set(got1)), N))
    check(sorted(set(got1), key=int) == want, "QoS 1: the payloads are the ones sent")
    check(got2 == want, "QoS 2: each message exactly once, in order (%d received, %d distinct)" % (len(got2), len(set(got2))))
    for name, c in (("publisher", pub), ("subscriber 1", s1), ("subscriber 2", s2)):
        check(c.metrics()["reconnects"] >= 1, name + " reconnected (metrics %r)" % c.metrics())
        check(c.session_present, name + ": the broker resumed its persistent session after the restart")
    for c in (s1, s2, pub):
        await c.disconnect()


async def mqtt_async_stream():
    from mqtt_async import MQTTClient, config

    got = []
    conf = config.copy()
    conf.update({"server": "127.0.0.1", "port": PORT, "response_time": 5})
    sub_conf = conf.copy()
    sub_conf.client_id = "mpr-ma-s-" + RUN
    sub_conf.subs_cb = lambda topic, msg, retained, qos, dup: got.append(msg)
    pub_conf = conf.copy()
    pub_conf.client_id = "mpr-ma-p-" + RUN
    ups = []
    pub_conf.wifi_coro = lambda up: _note(ups, up)
    t = "mpr/%s/ma" % RUN
    sub = MQTTClient(sub_conf)
    pub = MQTTClient(pub_conf)
    await sub.connect()
    await pub.connect()
    await sub.subscribe(t, 2)
    for i in range(N):
        if i == RESTART_AT:
            restart_broker()
        await pub.publish(t, b"%d" % i, qos=2, sync=(i == N - 1))
    deadline = 200
    while len(got) < N and deadline:
        await asyncio.sleep_ms(100)
        deadline -= 1
    check(got == [b"%d" % i for i in range(N)], "mqtt_async QoS 2 across the restart: all once, in order (%d)" % len(got))
    check(ups[:1] == [True] and False in ups and ups[-1] is True, "wifi_coro told of the loss and the reconnect: %r" % ups)
    await pub.disconnect()
    await sub.disconnect()


async def _note(into, up):
    into.append(up)


async def main():
    await nomq_stream()
    gc.collect()
    await mqtt_async_stream()


asyncio.run(main())
finish("test_mqtt_restart")
