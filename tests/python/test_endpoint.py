"""nomq.Endpoint and nomq.sync.Endpoint over loopback UDP: QoS 0/1/2 in v1 and v2, delivery as
it arrives, wrong keys, expiry, bad input, cancellation."""
import asyncio
import time

import nomq
import pytest
from nomq import _bridge
from support import KEYS
from nomq.sync import Endpoint as BlockingEndpoint


def pair(version):
    a = nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1], version=version)
    b = nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1], version=version)
    return a, b


@pytest.mark.parametrize("version", [1, 2])
def test_every_qos_is_confirmed_and_delivered(version):
    async def main():
        a, b = pair(version)
        async with a, b:
            await b.subscribe("sensors/temp")
            for qos in (0, 1, 2):
                await a.publish(b.local_addr, "sensors/temp", f"21.{qos}", qos=qos)
                m = await b.recv(timeout=5)
                assert (m.channel, m.payload, m.qos, m.text) == ("sensors/temp", f"21.{qos}".encode(), qos, f"21.{qos}")
                assert m.sender == a.local_addr
            stats = await b.stats()
            assert stats["delivered"] == 3 and stats["rejected_auth"] == 0
            assert not await b.unsubscribe("other")

    asyncio.run(main())


def test_messages_iterate_as_they_arrive_and_end_on_close():
    async def main():
        a, b = pair(2)
        await b.subscribe("c")
        got = []

        async def reader():
            async for m in b.messages():
                got.append(m.payload)

        task = asyncio.ensure_future(reader())
        await asyncio.gather(*(a.publish(b.local_addr, "c", bytes([i]), qos=1) for i in range(200)))
        while len(got) < 200:
            await asyncio.sleep(0.01)
        await b.close()
        await asyncio.wait_for(task, 5)
        assert sorted(got) == [bytes([i]) for i in range(200)]
        await a.close()

    asyncio.run(main())


def test_wrong_keys_are_refused_and_the_publish_expires():
    async def main():
        a = nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[1], trailer_key=KEYS[0])
        b = nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1])
        async with a, b:
            await b.subscribe("c")
            with pytest.raises(nomq.ExpiredError):
                await a.publish(b.local_addr, "c", "x", qos=1, ttl=1)
            assert await b.recv(timeout=0.2) is None
            assert (await b.stats())["rejected_auth"] >= 1

    asyncio.run(main())


def test_bad_input_raises_clear_errors():
    with pytest.raises(nomq.ConfigError):
        nomq.Endpoint("127.0.0.1:0", encryption_key=b"short", trailer_key=KEYS[1])
    with pytest.raises(nomq.InvalidArgument, match="address"):
        nomq.Endpoint("nowhere", encryption_key=KEYS[0], trailer_key=KEYS[1])

    async def main():
        async with nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1]) as a:
            with pytest.raises(nomq.InvalidArgument, match="qos"):
                await a.publish("127.0.0.1:9", "c", "x", qos=3)
            with pytest.raises(nomq.InvalidArgument):
                await a.publish("127.0.0.1:9", "c", b"\xff")  # v1 messages are text
            with pytest.raises(nomq.PayloadTooLarge):
                await a.publish("127.0.0.1:9", "c", "x" * 5000, qos=0)
            with pytest.raises(nomq.InvalidArgument):
                await a.publish(("127.0.0.1",), "c", "x")  # type: ignore[arg-type]

    asyncio.run(main())


def test_cancelled_receive_loses_nothing():
    async def main():
        a, b = pair(1)
        async with a, b:
            await b.subscribe("c")
            waiter = asyncio.ensure_future(b.recv())
            await asyncio.sleep(0.05)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            await a.publish(b.local_addr, "c", "after-cancel", qos=1)
            assert (await b.recv(timeout=5)).text == "after-cancel"

    asyncio.run(main())


@pytest.mark.parametrize("second", ["recv", "messages"])
def test_a_batch_taken_by_a_cancelled_receive_reaches_a_receive_already_waiting(second):
    """A receive waiting in a task (``messages()`` with nothing waiting) can take a message just
    before its future is cancelled; the batch goes back to the stash. A receive that started
    waiting meanwhile, either way (``recv``: a callback from the driver; ``messages()``: a task),
    must be woken to take it, not wait for the next message."""

    async def main():
        b = nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1], version=2)
        async with b:
            await b.subscribe("c")
            # The general receive, in a task holding the receiver (as `messages()` waits).
            taker = _bridge.call(b._native.recv_many, 1, None)
            await asyncio.sleep(0.05)
            # The loop is blocked from here to the cancel: the task takes the message, and
            # nothing is resolved.
            with BlockingEndpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1], version=2) as a:
                a.publish(b.local_addr, "c", "taken", qos=0)
            time.sleep(0.1)
            assert not taker.done()
            taker.cancel()
            if second == "recv":
                waiter = asyncio.ensure_future(b.recv(timeout=5))
            else:
                waiter = asyncio.ensure_future(b.messages().__anext__())
            # The waiter starts waiting first; then the loop finds the cancelled taker's batch.
            m = await asyncio.wait_for(waiter, 2)
            assert m is not None and m.text == "taken"

    asyncio.run(main())


def test_blocking_endpoint():
    with BlockingEndpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1], version=2) as b, \
            BlockingEndpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1], version=2) as a:
        b.subscribe("c")
        a.publish(b.local_addr, "c", b"\x00\x01", qos=2)
        m = b.recv(timeout=5)
        assert m is not None and m.payload == b"\x00\x01"
        assert b.recv(timeout=0.1) is None
        assert b.stats()["delivered"] == 1


def test_one_broken_future_does_not_stop_the_rest_of_a_batch():
    """The loop's completer settles every finished operation of a batch even when one of them
    cannot be settled; the failure is reported after the batch."""
    import time

    from nomq import _nomq

    class Broken:
        def done(self) -> bool:
            raise RuntimeError("broken future")

    async def main() -> None:
        async with nomq.Endpoint("127.0.0.1:0", encryption_key=bytes(32), trailer_key=bytes(32)) as ep:
            loop = asyncio.get_running_loop()
            completer = _nomq.Completer()  # not registered with the loop: resolved by hand here
            good = loop.create_future()
            # The node answers its commands in order: the broken entry is queued first.
            ep._native.stats((completer, Broken()))
            ep._native.stats((completer, good))
            deadline = time.monotonic() + 5
            while not completer.ready() and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.3)  # both answered: one batch
            with pytest.raises(RuntimeError, match="broken future"):
                completer.resolve()
            assert good.done() and isinstance(good.result(), dict)

    asyncio.run(main())


def test_a_port_in_use_is_an_error_unless_shared():
    from nomq.sync import Endpoint as Blocking

    first = Blocking("127.0.0.1:0", encryption_key=bytes(32), trailer_key=bytes(32))
    try:
        with pytest.raises(nomq.NetworkError):
            Blocking(first.local_addr, encryption_key=bytes(32), trailer_key=bytes(32))
    finally:
        first.close()
    a = Blocking("127.0.0.1:0", encryption_key=bytes(32), trailer_key=bytes(32), share_port=True)
    b = Blocking(a.local_addr, encryption_key=bytes(32), trailer_key=bytes(32), share_port=True)
    a.close()
    b.close()


def test_refused_datagrams_are_logged_with_their_reason_at_most_every_ten_seconds(caplog):
    # Datagrams under other keys look like silence unless the receiver says why it refuses
    # them; a flood of them must not become a flood of log records.
    import logging

    async def main():
        wrong = nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[1], trailer_key=KEYS[0])
        b = nomq.Endpoint("127.0.0.1:0", encryption_key=KEYS[0], trailer_key=KEYS[1])
        async with wrong, b:
            await b.subscribe("c")
            for i in range(300):
                await wrong.publish(b.local_addr, "c", f"m{i}", qos=0)
            deadline = time.monotonic() + 5
            while (await b.stats())["rejected_auth"] < 300 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            assert (await b.stats())["rejected_auth"] == 300

    with caplog.at_level(logging.WARNING, logger="nomq"):
        asyncio.run(main())
    refused = [r for r in caplog.records if "refused" in r.getMessage() and "failed authentication" in r.getMessage()]
    assert len(refused) == 1, [r.getMessage() for r in refused]
