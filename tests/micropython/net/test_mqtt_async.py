"""mqtt_async (mqboard's API over nomq's core) against a real mosquitto (MQTT_PORT): the module
surface, config validation, callbacks (connect_coro, wifi_coro, subs_cb with five, four or
three parameters, or a coroutine), QoS 0/1/2 both ways, publish(sync=False) streaming, the
last will, bad input (the VM stays usable), connect failures and disconnect."""
import gc
import os

import asyncio
from mptest import check, finish, raises

import mqtt_async
from mqtt_async import MQTTClient, MQTTMessage, config, set_last_will

PORT = int(os.getenv("MQTT_PORT") or 0)
if not PORT:
    print("SKIPPED: MQTT_PORT is not set (a mosquitto on 127.0.0.1)")
    check(False, "MQTT_PORT set")
    finish("test_mqtt_async")

RUN = "%d" % (int.from_bytes(os.urandom(3), "little"))
T = "mpa/" + RUN


def conf(name, **kw):
    c = config.copy()
    c.server = "127.0.0.1"
    c.port = PORT
    c.client_id = "mpa-%s-%s" % (name, RUN)
    for k in kw:
        c[k] = kw[k]
    return c


async def raises_async(exc_class, what, coro):
    try:
        await coro
    except Exception as e:  # noqa: BLE001 - the class is checked below
        return check(isinstance(e, exc_class), "%s: raised %s(%s)" % (what, type(e).__name__, e))
    return check(False, what + ": nothing raised")


async def wait_for(cond, ms=3000):
    while not cond() and ms > 0:
        await asyncio.sleep_ms(20)
        ms -= 20
    return cond()


def surface():
    check(mqtt_async.CONN_CLOSED == "Connection closed" and mqtt_async.CONN_ERRS[4] == "not auth", "mqboard's error strings")
    check(config["server"] is None and config.port == 0 and config.keepalive == 600, "mqboard's defaults")
    check(config.response_time == 10 and config.clean is True and config.will is None, "more defaults")
    c = config.copy()
    c.server = "broker.local"
    check(c["server"] == "broker.local" and config.server is None, "attribute writes go to the copy only")
    check(isinstance(c, mqtt_async.Config), "copy() keeps attribute access")
    raises(AttributeError, "unknown attribute", lambda: c.no_such_key)
    check(config["subs_cb"](b"a", b"b", False, 0, 0) is None, "default subs_cb ignores messages")
    check(config.interface.isconnected(), "unix: the interface stand-in is up")
    m = MQTTMessage("t", "m", True, 2)
    check((m.topic, m.message, m.retain, m.qos) == (b"t", b"m", True, 2), "MQTTMessage keeps bytes, QoS 2 allowed")
    raises(ValueError, "MQTTMessage QoS 3", MQTTMessage, "t", "m", False, 3)
    w = config.copy()
    set_last_will(w, "will/t", "bye", True, 1)
    check(w.will.topic == b"will/t" and w.will.qos == 1 and w.will.retain, "set_last_will")
    raises(ValueError, "set_last_will: empty topic", set_last_will, w, "", "x")
    raises(ValueError, "set_last_will: QoS 3", set_last_will, w, "t", "x", False, 3)
    raises(ValueError, "no server", MQTTClient, config)
    raises(ValueError, "keepalive < 2x response_time", MQTTClient, conf("v", will=m, keepalive=15))
    raises(ValueError, "keepalive too large", MQTTClient, conf("v", will=m, keepalive=70000))
    raises(ValueError, "will must be MQTTMessage", MQTTClient, conf("v", will="bye"))
    raises(ValueError, "async_window 0", MQTTClient, conf("v", async_window=0))
    c = MQTTClient(conf("port", port=0))
    check(c.port == 1883, "port 0 means 1883")
    c.close()


async def callbacks_and_qos():
    got5, got4, got3, got_coro = [], [], [], []
    ups = []
    started = []

    async def on_wifi(up):
        ups.append(up)

    async def on_connect(client):
        started.append(client)
        await client.subscribe(T + "/five", 2)

    def cb4(topic, msg, retained, qos):  # mqboard's hello world
        got4.append((topic, msg, retained, qos))

    def cb3(topic, msg, retained):  # mqtt_as
        got3.append((topic, msg, retained))

    async def cb_coro(topic, msg, retained, qos, dup):
        await asyncio.sleep_ms(1)
        got_coro.append((msg, qos))

    a = MQTTClient(conf("five", subs_cb=lambda *args: got5.append(args), connect_coro=on_connect, wifi_coro=on_wifi))
    b4 = MQTTClient(conf("four", subs_cb=cb4))
    b3 = MQTTClient(conf("three", subs_cb=cb3))
    bc = MQTTClient(conf("coro", subs_cb=cb_coro))
    await a.connect()
    for c in (b4, b3, bc):
        await c.connect()
    check(await wait_for(lambda: started == [a] and ups == [True]), "connect_coro ran once, wifi_coro(True)")
    await asyncio.sleep_ms(100)  # connect_coro's subscription
    await b4.subscribe(T + "/four", 1)
    await b3.subscribe(T + "/three", 0)
    await bc.subscribe(T + "/coro", 2)
    gc.collect()
    for qos in (0, 1, 2):
        await b4.publish(T + "/five", "q%d" % qos, qos=qos)
        await a.publish(T + "/four", b"q%d" % qos, qos=qos)
        await a.publish(T + "/three", b"q%d" % qos, qos=qos)
        await a.publish((T + "/coro").encode(), bytearray(b"q%d" % qos), qos=qos)  # bytes topic, bytearray msg
    ok = await wait_for(lambda: len(got5) == 3 and len(got4) == 3 and len(got3) == 3 and len(got_coro) == 3)
    check(ok, "every client got its 3 messages (%d %d %d %d)" % (len(got5), len(got4), len(got3), len(got_coro)))
    topic5 = (T + "/five").encode()
    check(got5 == [(topic5, b"q0", False, 0, 0), (topic5, b"q1", False, 1, 0), (topic5, b"q2", False, 2, 0)],
          "subs_cb(topic, msg, retained, qos, dup) as bytes: %r" % got5)
    check([g[3] for g in got4] == [0, 1, 1] and got4[0][1] == b"q0", "four-parameter subs_cb, QoS granted 1: %r" % got4)
    check([g[1] for g in got3] == [b"q0", b"q1", b"q2"], "three-parameter subs_cb: %r" % got3)
    check(got_coro == [(b"q0", 0), (b"q1", 1), (b"q2", 2)], "coroutine subs_cb awaited: %r" % got_coro)

    # Retained flag, and unsubscribe.
    await a.publish(T + "/ret", b"kept", retain=True, qos=1)
    await b4.subscribe(T + "/ret", 1)
    check(await wait_for(lambda: len(got4) == 4), "retained message arrives")
    check(got4[-1][2] is True, "retained=True passed to subs_cb")
    await a.publish(T + "/ret", b"", retain=True, qos=1)
    await b4.unsubscribe(T + "/ret")
    await b4.unsubscribe(T + "/four")
    await a.publish(T + "/four", b"gone", qos=1)
    await asyncio.sleep_ms(200)
    check(len(got4) <= 5 and all(g[1] != b"gone" for g in got4), "nothing after unsubscribe")

    # sync=False streams: at most async_window unacknowledged after each call.
    n = len(got5)
    worst = 0
    for i in range(100):
        await b4.publish(T + "/five", b"s%d" % i, qos=1, sync=False)
        worst = max(worst, len(b4._streaming))
    await b4.publish(T + "/five", b"last", qos=1, sync=True)
    check(worst <= 1, "sync=False: at most one unacknowledged after each publish (%d)" % worst)
    check(await wait_for(lambda: len(got5) == n + 101), "streamed 100 + 1 arrive (%d)" % (len(got5) - n))
    check([g[1] for g in got5[n:]] == [b"s%d" % i for i in range(100)] + [b"last"], "streamed in call order")
    w3 = MQTTClient(conf("window", async_window=3))
    await w3.connect()
    for i in range(60):
        await w3.publish(T + "/five", b"w%d" % i, qos=2, sync=False)
        worst = max(worst, len(w3._streaming))
    await w3.publish(T + "/five", b"wlast", qos=2)
    check(worst <= 3, "async_window=3 respected at QoS 2 (%d)" % worst)
    check(await wait_for(lambda: len(got5) == n + 162), "QoS 2 stream arrives once (%d)" % (len(got5) - n - 101))
    await w3.disconnect()

    # What publish returns works wherever mqboard's coroutine did: as a task, under
    # wait_for and gather, whether it finished on the spot or waits for an acknowledgement.
    n = len(got5)
    await asyncio.create_task(b4.publish(T + "/five", b"task", qos=0))
    await asyncio.create_task(b4.publish(T + "/five", b"task1", qos=1, sync=False))
    await asyncio.wait_for_ms(b4.publish(T + "/five", b"wait_for", qos=2), 2000)
    r = await asyncio.gather(b4.publish(T + "/five", b"g0"), b4.publish(T + "/five", b"g1", qos=1))
    check(r == [None, None], "gather of a QoS 0 and a QoS 1 publish: %r" % r)
    check(await wait_for(lambda: len(got5) == n + 5), "each form delivered (%d)" % (len(got5) - n))
    check(sorted(g[1] for g in got5[n:]) == sorted([b"task", b"task1", b"wait_for", b"g0", b"g1"]),
          "each form delivered once: %r" % [g[1] for g in got5[n:]])

    for c in (a, b4, b3, bc):
        await c.disconnect()
    check(ups == [True], "no wifi_coro(False) for our own disconnect: %r" % ups)
    await raises_async(OSError, "publish after disconnect", a.publish(T, b"x"))
    await raises_async(ValueError, "connect after disconnect: cannot reuse", a.connect())


async def bad_input():
    c = MQTTClient(conf("bad"))
    await c.connect()
    for topic in ("a/+", "a/#", ""):
        await raises_async(ValueError, "publish to %r" % topic, c.publish(topic, b"x"))
    await raises_async(ValueError, "QoS 3", c.publish(T, b"x", qos=3))
    await raises_async(ValueError, "message too long", c.publish(T, bytes(20000), qos=1))
    await raises_async(ValueError, "subscribe to a/#/b", c.subscribe("a/#/b", 1))
    await raises_async(ValueError, "subscribe QoS 3", c.subscribe(T, 3))
    await raises_async(TypeError, "int message", c.publish(T, 7))
    gc.collect()
    got = []
    c._c["subs_cb"] = lambda *a: got.append(a[1])
    await c.subscribe(T + "/bad", 1)
    await c.publish(T + "/bad", bytes(10000), qos=1)
    check(await wait_for(lambda: len(got) == 1) and len(got[0]) == 10000, "a 10000-byte round trip after the refusals")

    # A callback that raises is logged; the client goes on.
    def broken(*a):
        raise RuntimeError("handler bug")
    c._c["subs_cb"] = broken
    await c.publish(T + "/bad", b"boom", qos=1)
    await asyncio.sleep_ms(100)
    c._c["subs_cb"] = lambda *a: got.append(a[1])
    await c.publish(T + "/bad", b"after", qos=1)
    check(await wait_for(lambda: got[-1:] == [b"after"]), "messages still arrive after a failing callback")
    await c.disconnect()


async def will_and_failures():
    got = []
    watcher = MQTTClient(conf("watch", subs_cb=lambda t, m, r, q, d: got.append(m)))
    await watcher.connect()
    await watcher.subscribe(T + "/will", 2)
    dying_conf = conf("dying")
    set_last_will(dying_conf, T + "/will", "gone", qos=2)
    dying_conf.response_time = 5
    dying_conf.keepalive = 10
    dying = MQTTClient(dying_conf)
    await dying.connect()
    dying.close()  # no DISCONNECT: the broker publishes the will
    check(await wait_for(lambda: got == [b"gone"]), "the last will at QoS 2: %r" % got)
    await watcher.disconnect()

    # No broker: connect raises OSError and nothing keeps trying.
    dead = MQTTClient(conf("dead", port=1))
    await raises_async(OSError, "connect to a closed port", dead.connect())
    await asyncio.sleep_ms(200)
    check(not dead.connected and dead._opener is None, "no reconnects after a failed first connect")
    dead.close()
    # start() keeps trying in the background instead.
    up = []
    bg = MQTTClient(conf("bg", wifi_coro=lambda s: _note(up, s)))
    bg.start()
    check(await wait_for(lambda: up == [True]), "start() connects in the background")
    await bg.publish(T + "/bg", b"x", qos=1)
    await bg.disconnect()


async def _note(into, v):
    into.append(v)


async def main():
    surface()
    gc.collect()
    await callbacks_and_qos()
    gc.collect()
    await bad_input()
    gc.collect()
    await will_and_failures()


asyncio.run(main())
finish("test_mqtt_async")
