"""mqtt_async.MQTTClient with a scripted protocol object put in through the ``_MQTTProto``
seam, as mqboard tests its client: reconnection, retransmission, the streaming window, call
order, keepalive and configuration, without a broker."""
import asyncio
import socket

import mqtt_async
import pytest
from mqtt_async import PING_PID, MQTTClient, MQTTMessage, config

RESPONSE_TIME = 0.2  # s the scripted broker has to answer; it answers after LATENCY
LATENCY = 0.005


class Broker:
    """Plays the broker for every connection a client makes and records what they carried.
    ``mode`` applies to new writes: "ok", "drop" (accepted, never answered) or "closed" (the
    write fails)."""

    def __init__(self):
        self.connects = []  # (clean, keepalive, will topic or None)
        self.wire = []  # (connection number, kind, topic or None, payload, qos, pid, dup)
        self.subscriptions = {}
        self.fail_connects = 0
        self.mode = "ok"
        self.suback = None  # granted value to answer with instead of the requested QoS
        self.conns = []

    def proto_class(self):
        broker = self

        class ScriptedProto:
            def __init__(self, subs_cb, puback_cb, suback_cb, pingresp_cb, sock_cb=None):
                self.callbacks = (subs_cb, puback_cb, suback_cb, pingresp_cb)
                self.inbox = asyncio.Queue()
                self.open = False
                self.last_ack = 0

            async def connect(self, addr, client_id, clean, user=None, pwd=None, ssl=None, keepalive=0, lw=None):
                broker.connects.append((clean, keepalive, None if lw is None else lw.topic))
                await asyncio.sleep(LATENCY)
                if broker.fail_connects:
                    broker.fail_connects -= 1
                    raise OSError(-1, "refused by the scripted broker")
                self.number = len(broker.connects)
                self.open = True
                self.last_ack = mqtt_async._platform.ticks_ms()
                broker.conns.append(self)

            def _answer(self, action):
                def deliver():
                    if self.open:
                        self.inbox.put_nowait(action)

                asyncio.get_running_loop().call_later(LATENCY, deliver)

            def _write(self, kind, topic, payload, qos, pid, dup=0):
                if broker.mode == "closed":
                    raise OSError(-1, "write on a closed connection")
                broker.wire.append((self.number, kind, topic, payload, qos, pid, dup))
                return broker.mode == "ok"

            async def publish(self, msg, dup=0):
                if not self._write("publish", msg.topic, msg.message, msg.qos, msg.pid, dup):
                    return
                subs_cb, puback_cb = self.callbacks[:2]
                if msg.qos:
                    self._answer(lambda: puback_cb(msg.pid))
                if msg.topic in broker.subscriptions:
                    qos = min(msg.qos, broker.subscriptions[msg.topic])
                    self._answer(lambda: subs_cb(msg.topic, msg.message, msg.retain, qos, 0))

            async def subscribe(self, topic, qos, pid):
                if not self._write("subscribe", topic, b"", qos, pid):
                    return
                key = topic if isinstance(topic, bytes) else topic.encode()
                broker.subscriptions[key] = qos
                granted = qos if broker.suback is None else broker.suback
                self._answer(lambda: self.callbacks[2](pid, granted))

            async def ping(self):
                if self._write("ping", None, b"", 0, None):
                    self._answer(self.callbacks[3])

            async def read_msg(self):
                while True:
                    action = await self.inbox.get()
                    if action is None:
                        raise OSError(-1, mqtt_async.CONN_CLOSED)
                    self.last_ack = mqtt_async._platform.ticks_ms()
                    action()
                    return 0

            async def disconnect(self):
                self.open = False
                self.inbox.put_nowait(None)

            def isconnected(self):
                return self.open

        return ScriptedProto

    def published(self):
        return [(payload, dup) for _, kind, _, payload, _, _, dup in self.wire if kind == "publish"]


class Interface:
    """A network interface that records being taken down."""

    def __init__(self):
        self.downs = 0
        self.up = True

    def isconnected(self):
        return self.up

    def disconnect(self):
        self.downs += 1
        self.up = False

    def active(self, on):
        pass

    def connect(self, ssid, password):
        self.up = True

    def status(self):
        return 1010


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch):
    monkeypatch.setattr(mqtt_async, "_CONN_DELAY", 0.02)


def make_client(broker, **settings):
    received, statuses = [], []

    async def wifi(up):
        statuses.append(up)

    c = dict(config, server="127.0.0.1", port=1883, response_time=RESPONSE_TIME, wifi_coro=wifi,
             subs_cb=lambda *a: received.append(a), ssid="lab")
    c.update(settings)
    client = MQTTClient(c)
    client._MQTTProto = broker.proto_class()
    return client, received, statuses


async def eventually(check, timeout=3.0):
    for _ in range(int(timeout / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    assert check()


def test_configuration_is_checked_as_mqboard_does():
    with pytest.raises(ValueError, match="MQTTMessage"):
        MQTTClient(dict(config, server="s", will="bye"))
    will = MQTTMessage("dev/status", "gone", qos=1)
    with pytest.raises(ValueError, match="invalid keepalive"):
        MQTTClient(dict(config, server="s", will=will, keepalive=65536))
    with pytest.raises(ValueError, match="keepalive <2x response_time"):
        MQTTClient(dict(config, server="s", will=will, keepalive=19, response_time=10))
    with pytest.raises(ValueError, match="no server"):
        MQTTClient(dict(config))
    assert MQTTClient(dict(config, server="s", will=will, keepalive=20, response_time=10))._c["keepalive"] == 20
    assert MQTTClient(dict(config, server="s", keepalive=300))._c["keepalive"] == 0  # no will: 0
    assert MQTTClient(dict(config, server="s"))._c["port"] == 1883
    assert MQTTClient(dict(config, server="s", ssl_params=True))._c["port"] == 8883
    with pytest.raises(ValueError, match="async_window"):
        MQTTClient(dict(config, server="s", async_window=0))
    client = MQTTClient(dict(config, server="127.0.0.1", port=4321))
    client._dns_lookup()
    assert client._addr == socket.getaddrinfo("127.0.0.1", 4321)[0][-1]


def test_clean_start_then_persistent_session_with_keepalive_only_for_a_will():
    broker = Broker()

    async def main():
        client, _, statuses = make_client(broker, clean=True)
        await client.connect()
        assert (client._state, client._proto is not None) == (1, True)
        await client.disconnect()
        assert (client._state, client._proto) == (2, None)
        with pytest.raises(ValueError, match="cannot reuse"):
            await client.connect()
        will = MQTTMessage("dev/will", "bye")
        persistent, _, _ = make_client(broker, clean=False, will=will, keepalive=30)
        await persistent.connect()
        await persistent.disconnect()
        return statuses

    assert asyncio.run(main()) == [True]
    assert broker.connects == [(True, 0, None), (False, 0, None), (False, 30, b"dev/will")]


def test_publish_and_subscribe_at_each_qos():
    broker = Broker()

    async def main():
        client, received, _ = make_client(broker)
        await client.connect()
        await client.subscribe("t/x", 2)
        for qos in (0, 1, 2):
            await client.publish("t/x", f"q{qos}", qos=qos)
        await eventually(lambda: len(received) == 3)
        assert client._unacked_pids == {}
        await client.disconnect()
        return received

    assert asyncio.run(main()) == [(b"t/x", b"q0", False, 0, 0), (b"t/x", b"q1", False, 1, 0),
                                   (b"t/x", b"q2", False, 2, 0)]


def test_refused_or_downgraded_subscriptions_raise():
    broker = Broker()

    async def main():
        client, _, _ = make_client(broker)
        await client.connect()
        broker.suback = 0x80
        with pytest.raises(OSError, match="refused"):
            await client.subscribe("t/no", 1)
        broker.suback = 0
        with pytest.raises(OSError, match="qos mismatch"):
            await client.subscribe("t/less", 1)
        await client.disconnect()

    asyncio.run(main())


@pytest.mark.parametrize("failure", ["drop", "closed"])
def test_a_publish_the_connection_loses_is_resent_on_the_next_with_dup(failure):
    broker = Broker()

    async def main():
        client, _, statuses = make_client(broker, clean=False)
        await client.connect()
        first = client._proto
        broker.mode = failure
        publishing = asyncio.ensure_future(client.publish("t/r", "again", qos=1))
        await asyncio.sleep(RESPONSE_TIME / 4)
        broker.mode = "ok"  # the next connection works
        await asyncio.wait_for(publishing, 5)
        assert client._proto is not first
        await client.disconnect()
        return statuses

    assert asyncio.run(main()) == [True, False, True]
    pids = [pid for _, kind, _, _, _, pid, _ in broker.wire if kind == "publish"]
    assert len(set(pids)) == 1  # the same packet id each time
    assert broker.published()[-1] == (b"again", 1)
    if failure == "drop":
        assert broker.published() == [(b"again", 0), (b"again", 1)]


def test_an_unanswered_subscription_is_sent_again_on_a_new_connection():
    broker = Broker()

    async def main():
        client, _, _ = make_client(broker, clean=False)
        await client.connect()
        broker.mode = "drop"
        subscribing = asyncio.ensure_future(client.subscribe("t/s", 1))
        await asyncio.sleep(RESPONSE_TIME / 4)
        broker.mode = "ok"
        await asyncio.wait_for(subscribing, 5)
        await client.disconnect()

    asyncio.run(main())
    subscribes = [(n, pid) for n, kind, _, _, _, pid, _ in broker.wire if kind == "subscribe"]
    assert len(subscribes) == 2 and subscribes[0][0] != subscribes[1][0] and subscribes[0][1] == subscribes[1][1]


def test_failed_reconnects_take_the_interface_down_and_keep_trying():
    broker = Broker()
    interface = Interface()

    async def main():
        client, _, statuses = make_client(broker, clean=False, interface=interface)
        await client.connect()
        broker.fail_connects = 2
        broker.mode = "closed"  # the keepalive's ping fails once response_time passed
        await eventually(lambda: len(broker.connects) == 4 and client._proto is not None)
        broker.mode = "ok"
        await client.publish("t/after", "up again", qos=1)
        await client.disconnect()
        return statuses

    assert asyncio.run(main()) == [True, False, True]
    assert interface.downs == 2  # once per failed attempt; ssid brought it back each time


def test_an_unanswered_ping_ends_the_connection():
    broker = Broker()

    async def main():
        client, _, _ = make_client(broker, clean=False)
        await client.connect()
        broker.mode = "drop"
        await eventually(lambda: any(kind == "ping" for _, kind, *_ in broker.wire))
        assert PING_PID in client._unacked_pids
        broker.mode = "ok"
        await eventually(lambda: len(broker.connects) == 2 and client._proto is not None)
        await client.disconnect()

    asyncio.run(main())


@pytest.mark.parametrize("window", [1, 3])
def test_streaming_publishes_leave_at_most_the_window_unacknowledged(window):
    broker = Broker()

    async def main():
        client, _, _ = make_client(broker, async_window=window)
        await client.connect()
        most = 0
        for i in range(10):
            await client.publish("t/w", str(i), qos=1, sync=False)
            most = max(most, len(client._unacked_pids))
        await client.publish("t/w", "last", qos=1)  # sync: waits for its PUBACK
        assert client._unacked_pids == {}
        await client.disconnect()
        return most

    assert asyncio.run(main()) == window


def test_publishes_leave_in_call_order_whatever_qos_sync_and_caller():
    """Streaming QoS 1 publishes then a sync one, a mix of QoS and sync from several tasks,
    and a backlog queued while disconnected: the wire sees them in call order, and the
    backlog and unacknowledged ones again, in order, on the next connection."""
    broker = Broker()

    async def main():
        client, _, _ = make_client(broker, clean=False, async_window=4)
        await client.connect()
        for i in range(5):
            await client.publish("t/o", f"{i}", qos=1, sync=False)
        await client.publish("t/o", "5", qos=1, sync=True)
        kinds = [(0, True), (1, False), (2, False), (0, False), (2, True), (1, True)]
        await asyncio.gather(*(client.publish("t/o", f"{6 + i}", qos=q, sync=s) for i, (q, s) in enumerate(kinds)))
        broker.mode = "drop"
        pending = [asyncio.ensure_future(client.publish("t/o", f"{12 + i}", qos=i % 3, sync=i % 2 == 0))
                   for i in range(6)]
        await asyncio.sleep(RESPONSE_TIME * 1.5)  # the connection is given up, the backlog stays
        broker.mode = "ok"
        await asyncio.wait_for(asyncio.gather(*pending), 5)
        await client.disconnect()

    asyncio.run(main())
    by_connection = {}
    for n, kind, _, payload, *_ in broker.wire:
        if kind == "publish":
            by_connection.setdefault(n, []).append(int(payload))
    assert by_connection.pop(1) == list(range(18))
    assert by_connection  # reconnected
    for carried in by_connection.values():
        assert carried == sorted(carried)
    assert by_connection[max(by_connection)] == [13, 14, 16, 17]  # the unacknowledged QoS 1/2 ones


def test_disconnect_stops_every_task_and_fails_what_waits():
    broker = Broker()

    async def main():
        client, _, _ = make_client(broker, clean=False)
        await client.connect()
        await client.subscribe("t/d", 1)
        broker.mode = "drop"
        waiting = asyncio.ensure_future(client.publish("t/d", "never acknowledged", qos=1))
        await asyncio.sleep(LATENCY * 2)
        await client.disconnect()
        with pytest.raises(OSError):
            await waiting
        with pytest.raises(OSError):
            await client.publish("t/d", "after", qos=0)
        await asyncio.sleep(0.05)
        assert client._conn_keeper is None
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_start_connects_in_the_background_and_publish_waits_for_it():
    broker = Broker()

    async def main():
        client, _, _ = make_client(broker, clean=False)
        broker.fail_connects = 2
        client.start()
        with pytest.raises(ValueError, match="cannot reuse"):
            client.start()
        await asyncio.wait_for(client.publish("t/bg", "queued", qos=1), 5)
        await client.disconnect()

    asyncio.run(main())
    assert len(broker.connects) == 3 and broker.published() == [(b"queued", 0)]
