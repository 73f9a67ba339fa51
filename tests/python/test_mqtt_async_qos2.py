"""QoS 2 in mqtt_async (beyond mqboard) against a scripted server that cuts connections at the
awkward moments: an outgoing message the server acknowledged with PUBREC is resumed with PUBREL,
never sent again, and an incoming one is delivered once however often it comes."""
import asyncio

import mqtt_async
import pytest
from mqtt_async import MQTTClient, config

CONNACK = b"\x20\x02\x00\x00"


async def read_packet(reader):
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return first, await reader.readexactly(length)


class ScriptedServer:
    """Runs one coroutine per accepted connection, in order, each given (reader, writer) after
    CONNECT was read and CONNACK sent."""

    def __init__(self, *scripts):
        self.scripts = list(scripts)
        self.failures = []

    async def handle(self, reader, writer):
        script = self.scripts.pop(0)
        try:
            first, _ = await read_packet(reader)
            assert first == 0x10
            writer.write(CONNACK)
            await script(reader, writer)
        except Exception as e:  # reported by the test, not lost in the server's task
            self.failures.append(repr(e))
        finally:
            writer.close()


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch):
    monkeypatch.setattr(mqtt_async, "_CONN_DELAY", 0.02)


def test_qos2_resumes_with_pubrel_and_delivers_incoming_once():
    delivered = []
    seen = {}

    async def first_connection(reader, writer):
        kind, body = await read_packet(reader)
        assert kind == 0x34 and body[:5] == b"\x00\x03q/2" and body[7:] == b"exactly once"
        seen["pid"] = body[5:7]
        writer.write(b"\x50\x02" + seen["pid"])  # PUBREC, then the connection is lost
        assert await read_packet(reader) == (0x62, seen["pid"])  # PUBREL
        # The same incoming message twice, the second time as a resend, then lost before PUBREL.
        for flags in (0x34, 0x3C):
            writer.write(bytes([flags, 12]) + b"\x00\x03in/\x00\x09hello")
            assert await read_packet(reader) == (0x50, b"\x00\x09")  # PUBREC each time

    async def second_connection(reader, writer):
        assert await read_packet(reader) == (0x62, seen["pid"])  # PUBREL again, not PUBLISH
        writer.write(b"\x70\x02" + seen["pid"])  # PUBCOMP: the publish completes
        writer.write(b"\x3c\x0c\x00\x03in/\x00\x09hello")  # the server resends it after the loss
        assert await read_packet(reader) == (0x50, b"\x00\x09")
        writer.write(b"\x62\x02\x00\x09")  # PUBREL
        assert await read_packet(reader) == (0x70, b"\x00\x09")  # PUBCOMP
        seen["done"] = True
        await reader.read()  # until the client disconnects

    server = ScriptedServer(first_connection, second_connection)

    async def main():
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        port = listener.sockets[0].getsockname()[1]
        client = MQTTClient(dict(config, server="127.0.0.1", port=port, clean=False, response_time=2,
                                 subs_cb=lambda *a: delivered.append(a)))
        await client.connect()
        await asyncio.wait_for(client.publish("q/2", "exactly once", qos=2), 5)
        for _ in range(300):
            if seen.get("done") or server.failures:
                break
            await asyncio.sleep(0.01)
        await client.disconnect()
        listener.close()
        await listener.wait_closed()

    asyncio.run(main())
    assert server.failures == [] and seen.get("done")
    assert delivered == [(b"in/", b"hello", False, 2, 0)]
