"""mqboard's ``mqtt_async`` (an MQTT 3.1.1 client for asyncio) for CPython, plus QoS 2.

Code and tests written for mqboard's module run unchanged::

    from mqtt_async import MQTTClient, config
    import asyncio

    config.server = "127.0.0.1"            # or config["server"]: a dict with attribute access
    config.subs_cb = lambda topic, msg, retained, qos, dup: print(topic, msg)
    async def conn_callback(client): await client.subscribe("test/mqtt_async", 1)
    config.connect_coro = conn_callback

    async def main(client):
        await client.connect()
        await client.publish("test/mqtt_async", "Hello World!", qos=1)

    asyncio.run(main(MQTTClient(config)))

The two layers are mqboard's. ``MQTTProto`` speaks MQTT on one connection: ``connect(addr,
client_id, clean, user, pwd, ssl, keepalive, lw)``, ``ping``, ``publish(msg, dup)``,
``subscribe(topic, qos, pid)``, ``read_msg``, ``disconnect``, ``isconnected``, ``last_ack``.
``MQTTClient`` makes one per connection through its ``_MQTTProto`` attribute (tests replace
it with a fake), keeps the connection up, retransmits, and streams ``publish(sync=False)``.

Semantics are mqboard's: ``config`` holds the defaults merged into each client's settings;
without a will the keepalive sent is 0; ``keepalive`` must be at least twice
``response_time``; ``clean=True`` connects clean once, then keeps a persistent session;
``connect_coro(client)`` runs after the first connection, ``wifi_coro(True/False)`` on each
connection and loss; ``subs_cb(topic, msg, retained, qos, dup)`` may be a coroutine function,
and QoS 1 messages are acknowledged once it returns. ``publish(..., sync=False)`` at QoS 1/2
returns once at most ``config["async_window"]`` (default 1, mqboard's) such publishes are
unacknowledged; raising it lets more travel at once. Publishes leave in call order.

Beyond mqboard: QoS 2 (publish, subscribe, will), where mqboard raises ``ValueError``;
``unsubscribe``; ``async_window``. Importing the module adds ``sleep_ms`` and ``sleep_us`` to
asyncio, as mqboard's CPython support does.
"""
from __future__ import annotations

from binascii import hexlify

from ._common import (
    CONN_CLOSED,
    CONN_ERRS,
    CONN_TIMEOUT,
    PING_PID,
    PROTO_ERROR,
    Config,
    MQTTMessage,
    set_last_will,
)
from ._platform import HostInterface, install_sleep_ms, unique_id
from .client import MQTTClient
from .proto import MQTTProto

__all__ = [
    "CONN_CLOSED",
    "CONN_ERRS",
    "CONN_TIMEOUT",
    "MQTTClient",
    "MQTTMessage",
    "MQTTProto",
    "PING_PID",
    "PROTO_ERROR",
    "config",
    "set_last_will",
]

install_sleep_ms()

_CONN_DELAY: float = 1
"""Seconds between connection attempts; tests lower it."""

config = Config({
    "client_id": hexlify(unique_id()),
    "server": None,
    "port": 0,
    "user": None,
    "password": b"",
    "response_time": 10,  # s the broker has to answer before the connection counts as dead
    "keepalive": 600,  # s; sent only with a will (it tells the broker when to publish it)
    "ssl_params": None,
    "interface": HostInterface(),
    "clean": True,
    "will": None,  # an MQTTMessage: set_last_will()
    "subs_cb": lambda *_: None,
    "wifi_coro": None,
    "connect_coro": None,
    "ssid": None,
    "wifi_pw": None,
    "async_window": 1,  # publish(sync=False) left unacknowledged at most; beyond mqboard
})
