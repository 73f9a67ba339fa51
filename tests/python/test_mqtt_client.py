"""nomq.mqtt.Client against a real mosquitto: every QoS both ways in 3.1.1 and 5.0, per-publish
completion, subscription streams, metrics, properties, bad input, cancellation."""
import asyncio
import os

import nomq
import pytest
from nomq.mqtt import Client, ConnectOptions, MessageProperties, Will


def run(coro):
    return asyncio.run(coro)


def url(port):
    return f"mqtt://127.0.0.1:{port}"


@pytest.mark.parametrize("version", [4, 5])
def test_every_qos_both_ways(broker, version):
    async def main():
        async with Client(url(broker), client_id=f"py-q-{version}-{os.getpid()}", version=version) as c:
            topic = f"py/{os.getpid()}/{version}/q"
            for qos in (0, 1, 2):
                assert await c.subscribe(f"{topic}{qos}", qos) == [qos]
                assert await c.publish(f"{topic}{qos}", f"m{qos}", qos=qos) in (0, 0x10)
                m = await c.recv(timeout=5)
                assert (m.topic, m.payload, m.qos) == (f"{topic}{qos}", f"m{qos}".encode(), qos)
            metrics = await c.metrics()
            assert metrics["sent"] == 3 and metrics["received"] == 3 and metrics["inflight"] == 0

    run(main())


def test_streams_retained_and_unsubscribe(broker):
    async def main():
        base = f"py/{os.getpid()}/s"
        async with Client(url(broker), client_id=f"py-s-{os.getpid()}") as c:
            await c.publish(f"{base}/retained", b"kept", qos=1, retain=True)
            sub = await c.subscription(f"{base}/a/#", qos=1)
            assert sub.granted == [1]
            await c.subscribe(f"{base}/+", qos=1)
            await c.publish(f"{base}/a/x", b"to-stream", qos=1)
            await c.publish(f"{base}/b", b"to-recv", qos=1)
            assert (await sub.recv(timeout=5)).payload == b"to-stream"
            got = [m async for m in _take(c.messages(), 2)]
            assert {(m.topic, m.payload, m.retain) for m in got} == {
                (f"{base}/retained", b"kept", True), (f"{base}/b", b"to-recv", False)}
            await c.unsubscribe(f"{base}/+")
            await c.publish(f"{base}/b", b"after", qos=1)
            assert await c.recv(timeout=0.3) is None
            await c.publish(f"{base}/retained", b"", qos=1, retain=True)  # clear

    run(main())


async def _take(it, n):
    async for m in it:
        yield m
        n -= 1
        if n == 0:
            return


def test_pipelined_publishes_all_complete_and_arrive(broker):
    async def main():
        topic = f"py/{os.getpid()}/pipe"
        async with Client(url(broker), client_id=f"py-p-{os.getpid()}", max_inflight=100) as c:
            await c.subscribe(topic, 2)
            n = 2000
            done = await asyncio.gather(*(c.publish(topic, str(i), qos=2) for i in range(n)))
            assert done == [0] * n
            seen = [int(m.payload) async for m in _take(c.messages(), n)]
            assert sorted(seen) == list(range(n))

    run(main())


def test_v5_properties_will_and_credentials(broker):
    async def main():
        topic = f"py/{os.getpid()}/v5"
        async with Client(url(broker), client_id=f"py-v5-{os.getpid()}", version=5,
                          user_properties=[("site", "lab")]) as c:
            await c.subscribe(topic, 1)
            props = MessageProperties(content_type="text/plain", user_properties=[("k", "v")],
                                      correlation_data=b"\x01\x02", message_expiry_interval=60)
            await c.publish(topic, b"p", qos=1, properties=props)
            m = await c.recv(timeout=5)
            assert m.properties["content_type"] == "text/plain"
            assert m.properties["user_properties"] == [("k", "v")]
            assert m.properties["correlation_data"] == b"\x01\x02"
            assert 0 < m.properties["message_expiry_interval"] <= 60
        # The will: published when the connection ends without DISCONNECT. A watcher sees it
        # after the willing client's connection is cut by a takeover (same client id).
        async with Client(url(broker), client_id=f"py-watch-{os.getpid()}") as watcher:
            await watcher.subscribe(f"{topic}/will", 1)
            willing = Client(url(broker), client_id=f"py-will-{os.getpid()}", keepalive=5,
                             will=Will(f"{topic}/will", b"gone", qos=1),
                             reconnect=nomq.mqtt.Reconnect(enabled=False))
            await willing.connect()
            thief = Client(url(broker), client_id=f"py-will-{os.getpid()}")
            await thief.connect()  # session takeover: the broker closes `willing` and sends its will
            m = await watcher.recv(timeout=5)
            assert m is not None and m.payload == b"gone"
            await thief.disconnect()
            await willing.disconnect()

    run(main())


def test_bad_input_raises_clear_errors(broker):
    async def main():
        async with Client(url(broker), client_id=f"py-bad-{os.getpid()}") as c:
            with pytest.raises(nomq.InvalidArgument, match="qos"):
                await c.publish("t", b"x", qos=3)
            with pytest.raises(nomq.InvalidArgument):
                await c.publish("bad/+/topic", b"x")
            with pytest.raises(nomq.InvalidArgument):
                await c.subscribe("bad/#/filter")
            with pytest.raises(nomq.InvalidArgument):
                await c.publish("t", 12345)  # type: ignore[arg-type]
        with pytest.raises(nomq.NetworkError):
            await Client("mqtt://127.0.0.1:1", client_id="nobody", connect_timeout=2).connect()
        with pytest.raises(nomq.InvalidUrl):
            Client("http://example.com")
        with pytest.raises(nomq.ClosedError):
            await Client(url(broker)).publish("t", b"x")  # never connected
        with pytest.raises(nomq.InvalidArgument, match="outbox_policy"):
            await Client(url(broker), outbox_policy="sometimes").connect()
        with pytest.raises(nomq.InvalidArgument, match="stable_after"):
            await Client(url(broker), reconnect=nomq.mqtt.Reconnect(stable_after=-1)).connect()
        # The policy reaches the session: a client that stays up keeps working with it.
        policy = nomq.mqtt.Reconnect(initial_delay=0.05, max_delay=1, stable_after=0.5)
        async with Client(url(broker), client_id=f"py-policy-{os.getpid()}", reconnect=policy) as c:
            await c.publish("t", b"x", qos=1)

    run(main())


def test_cancelling_a_pending_await_is_clean(broker):
    async def main():
        async with Client(url(broker), client_id=f"py-cancel-{os.getpid()}") as c:
            await c.subscribe(f"py/{os.getpid()}/cancel", 1)
            waiter = asyncio.ensure_future(c.recv())
            await asyncio.sleep(0.05)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            pub = asyncio.ensure_future(c.publish(f"py/{os.getpid()}/cancel", b"x", qos=1))
            await asyncio.sleep(0)  # the publish is queued in the core, then its await is cancelled
            pub.cancel()
            with pytest.raises(asyncio.CancelledError):
                await pub
            # The client keeps working; the cancelled publish was still delivered.
            assert await c.publish(f"py/{os.getpid()}/cancel", b"y", qos=1) == 0
            got = [(await c.recv(timeout=5)).payload for _ in range(2)]
            assert got == [b"x", b"y"], "nothing lost to the cancelled receive, order kept"

    run(main())


def test_concurrent_and_timed_out_receives_lose_nothing(broker):
    """Receives wait through callbacks the driver calls (``wait_many``): two waiting at once both
    get a message (the one that finds none waits again), and receives that time out or are
    cancelled leave nothing behind that would take later messages."""

    async def main():
        topic = f"py/{os.getpid()}/concurrent"
        async with Client(url(broker), client_id=f"py-conc-{os.getpid()}") as c:
            await c.subscribe(topic, 1)
            for _ in range(50):
                assert await c.recv(timeout=0.001) is None
            for _ in range(50):
                waiter = asyncio.ensure_future(c.recv())
                await asyncio.sleep(0)
                waiter.cancel()
            first, second = asyncio.ensure_future(c.recv(timeout=5)), asyncio.ensure_future(c.recv(timeout=5))
            await asyncio.sleep(0.05)
            await c.publish(topic, b"a", qos=1)
            await c.publish(topic, b"b", qos=1)
            got = sorted([(await first).payload, (await second).payload])
            assert got == [b"a", b"b"]
            await c.publish(topic, b"c", qos=1)
            assert (await c.recv(timeout=5)).payload == b"c"

    run(main())


def test_disconnect_fails_pending_and_ends_iteration(broker):
    async def main():
        c = await Client(url(broker), client_id=f"py-end-{os.getpid()}").connect()
        await c.subscribe(f"py/{os.getpid()}/end", 0)
        reader = asyncio.ensure_future(_collect(c))
        await asyncio.sleep(0.05)
        await c.disconnect()
        assert await asyncio.wait_for(reader, 5) == []
        with pytest.raises(nomq.ClosedError):
            await c.publish("t", b"x")

    run(main())


async def _collect(c):
    return [m async for m in c.messages()]


def test_connect_options_object(broker):
    async def main():
        opts = ConnectOptions(host="127.0.0.1", port=broker, client_id=f"py-opts-{os.getpid()}", keepalive=30)
        c = await Client(opts).connect()
        assert c.options.keepalive == 30
        await c.disconnect()

    run(main())


def test_a_request_the_server_never_answers_times_out():
    """A server that accepts the connection but never answers SUBSCRIBE: ``subscribe`` raises
    TimedOutError (also a TimeoutError) after ``request_timeout``, and the client goes on."""

    async def main():
        async def server(reader, writer):
            await reader.read(1024)  # CONNECT
            writer.write(b"\x20\x02\x00\x00")  # CONNACK, accepted
            await writer.drain()
            while await reader.read(1024):  # SUBSCRIBE and the rest: never answered
                pass
            writer.close()

        srv = await asyncio.start_server(server, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        async with Client(url(port), client_id="no-answers", request_timeout=0.2) as c:
            with pytest.raises(nomq.TimedOutError) as timed_out:
                await asyncio.wait_for(c.subscribe("a/b", qos=1), 5)
            assert isinstance(timed_out.value, TimeoutError) and timed_out.value.code == 602
            await c.publish("a/b", b"still connected", qos=0)
        srv.close()

    run(main())


def test_publishes_fired_without_waiting_are_bounded():
    """Against a server that never acknowledges: beyond the inflight window, the outbox and the
    line of publishes waiting for room, a publish fails at once with QueueFull instead of
    holding its message in a task; the waiting ones fail with ClosedError at disconnect."""

    async def main():
        async def server(reader, writer):
            await reader.read(1024)  # CONNECT
            writer.write(b"\x20\x02\x00\x00")  # CONNACK, accepted; no PUBACK ever
            await writer.drain()
            while await reader.read(65536):
                pass
            writer.close()

        srv = await asyncio.start_server(server, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        c = Client(url(port), client_id="bounded", max_inflight=1, max_outbox_messages=1)
        await c.connect()
        tasks = [asyncio.ensure_future(c.publish("t", b"x" * 100, qos=1)) for _ in range(3000)]
        await asyncio.sleep(0.5)
        full = [t for t in tasks if t.done() and isinstance(t.exception(), nomq.QueueFull)]
        # 1 in flight, 1 in the outbox, 1024 waiting for room: the rest were refused.
        assert len(full) == 3000 - 1 - 1 - 1024, len(full)
        await c.disconnect()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, (nomq.QueueFull, nomq.ClosedError)) for r in results)
        srv.close()

    run(main())


@pytest.mark.parametrize("expiry", [None, 0])
def test_a_v5_session_outlives_the_connection_by_default(broker, expiry):
    # Default (None): the server keeps the session for five minutes, so messages published
    # while the client is away wait for it; 0 ends the session with the connection.
    async def main():
        cid = f"py-expiry-{expiry}-{os.getpid()}"
        topic = f"py/{os.getpid()}/expiry/{expiry}"
        extra = {} if expiry is None else {"session_expiry": expiry}
        async with Client(url(broker), client_id=cid, version=5, **extra) as c:
            await c.subscribe(topic, 1)
        async with Client(url(broker), client_id=f"{cid}-pub", version=5) as p:
            await p.publish(topic, b"while away", qos=1)
        async with Client(url(broker), client_id=cid, version=5, clean_start=False, **extra) as c:
            m = await c.recv(timeout=2)
            if expiry is None:
                assert m is not None and m.payload == b"while away"
            else:
                assert m is None

    run(main())
