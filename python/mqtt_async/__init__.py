"""mqboard's ``mqtt_async`` API over the nomq Rust core.

Existing MicroPython/CPython code written for ``mqtt_async`` runs unchanged::

    from mqtt_async import MQTTClient, config
    import asyncio

    config["server"] = "127.0.0.1"
    config["subs_cb"] = lambda topic, msg, retained, qos, dup: print(topic, msg)
    async def conn_callback(client): await client.subscribe("test/mqtt_async", 1)
    config["connect_coro"] = conn_callback

    async def main(client):
        await client.connect()
        await client.publish("test/mqtt_async", "Hello World!", qos=1)

    asyncio.run(main(MQTTClient(config)))

Same semantics as mqboard: ``config`` is a dict merged into the client's settings; ``subs_cb``
gets ``(topic: bytes, msg: bytes, retained: bool, qos: int, dup: int)`` and may be a
coroutine function; ``connect_coro(client)`` runs once after the first connection;
``wifi_coro(True)`` after it; ``clean=True`` connects with a clean session once, then keeps a
persistent session (clean=False) so that reconnects lose nothing; ``publish(..., sync=False)``
returns once the message is queued. Beyond mqboard: QoS 2, ``unsubscribe``, reconnect with
backoff and jitter, and every QoS 1/2 message kept across reconnects.

Off the board, ``ssid``, ``wifi_pw`` and ``interface`` are accepted and ignored. ``dup`` is
always 0: duplicate QoS 2 deliveries are suppressed by the core, and QoS 1 redeliveries are not
marked. ``ssl_params`` takes the keys of ``ssl.wrap_socket``/``ssl.create_default_context``
(``ca_certs``/``cafile``, ``certfile``, ``keyfile``, ``server_hostname``).
"""
from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Dict, Optional, Set, Union

import nomq.mqtt as _mqtt
from nomq.errors import NomqError

__all__ = ["MQTTClient", "MQTTMessage", "config", "set_last_will"]

log = logging.getLogger("mqtt_async")

config: Dict[str, Any] = {
    "client_id": b"nomq-" + __import__("os").urandom(4).hex().encode(),
    "server": None,
    "port": 0,
    "user": None,
    "password": b"",
    "response_time": 10,
    "keepalive": 600,
    "ssl_params": None,
    "interface": None,
    "clean": True,
    "will": None,
    "subs_cb": lambda *_: None,
    "wifi_coro": None,
    "connect_coro": None,
    "ssid": None,
    "wifi_pw": None,
}


def _text(value: Union[str, bytes]) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def _bytes(value: Union[str, bytes]) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class MQTTMessage:
    """A message (the last will, in the configuration)."""

    def __init__(self, topic: Union[str, bytes], message: Union[str, bytes], retain: bool = False, qos: int = 0,
                 pid: Optional[int] = None) -> None:
        if qos not in (0, 1, 2):
            raise ValueError("unsupported qos")
        self.topic = _bytes(topic)
        self.message = _bytes(message)
        self.retain = retain
        self.qos = qos
        self.pid = pid


def set_last_will(config: Dict[str, Any], topic: Union[str, bytes], message: Union[str, bytes],
                  retain: bool = False, qos: int = 0) -> None:
    """Sets ``config["will"]``."""
    if not topic:
        raise ValueError("empty topic")
    config["will"] = MQTTMessage(topic, message, retain, qos)


def _os_error(e: BaseException) -> OSError:
    return e if isinstance(e, OSError) else OSError(-1, str(e))


class MQTTClient:
    """mqboard's client. ``connect()`` raises ``OSError`` when the first connection fails;
    ``start()`` keeps trying in the background instead."""

    def __init__(self, conf: Dict[str, Any]) -> None:
        self._c = dict(config)
        self._c.update(conf)
        will = self._c["will"]
        if will is not None and not isinstance(will, MQTTMessage):
            raise ValueError("will must be MQTTMessage")
        if self._c["keepalive"] >= 65536:
            raise ValueError("invalid keepalive")
        if not self._c["server"]:
            raise ValueError("no server")
        if not self._c["port"]:
            self._c["port"] = 8883 if self._c["ssl_params"] else 1883
        self._client: Optional[_mqtt.Client] = None
        self._state = 0  # 0 new, 1 running, 2 disconnected for good
        self._connected = asyncio.Event() if _has_loop() else None
        self._tasks: Set["asyncio.Task[Any]"] = set()

    def _options(self, clean: bool) -> _mqtt.ConnectOptions:
        c = self._c
        will = c["will"]
        ssl = c["ssl_params"]
        tls = None
        if ssl:
            ssl = ssl if isinstance(ssl, dict) else {}
            tls = _mqtt.TLS.from_files(
                ca_file=ssl.get("ca_certs") or ssl.get("cafile"),
                cert_file=ssl.get("certfile"),
                key_file=ssl.get("keyfile"),
                server_name=ssl.get("server_hostname"),
            )
        return _mqtt.ConnectOptions(
            host=c["server"],
            port=c["port"],
            client_id=_text(c["client_id"]),
            version=4,
            clean_start=clean,
            keepalive=c["keepalive"],
            username=None if c["user"] is None else _text(c["user"]),
            password=None if c["user"] is None else _bytes(c["password"] or b""),
            will=None if will is None else _mqtt.Will(_text(will.topic), will.message, will.qos, will.retain),
            tls=tls,
            connect_timeout=float(c["response_time"]),
            max_inflight=20,
        )

    async def connect(self) -> None:
        """Connects; with ``clean=True`` the first session is clean, later ones persistent."""
        if self._state == 2:
            raise ValueError("cannot reuse")
        if self._connected is None:
            self._connected = asyncio.Event()
        if self._client is not None:
            return
        try:
            if self._c["clean"]:
                # mqboard: start clean once, then keep a persistent session (MQTT-3.1.2-6) so
                # that reconnects keep subscriptions and queued messages.
                first = _mqtt.Client(self._options(True))
                await first.connect()
                await first.disconnect()
            client = _mqtt.Client(self._options(False))
            await client.connect()
        except NomqError as e:
            raise _os_error(e) from e
        self._client = client
        self._state = 1
        self._connected.set()
        log.info("connected to %s:%s", self._c["server"], self._c["port"])
        self._spawn(self._receive(client))
        if self._c["connect_coro"] is not None:
            self._spawn(self._c["connect_coro"](self))
            self._c["connect_coro"] = None
        if self._c["wifi_coro"] is not None:
            self._spawn(self._c["wifi_coro"](True))

    def start(self) -> None:
        """Connects in the background, retrying every second until it succeeds."""
        if self._state > 0:
            raise ValueError("cannot reuse")
        self._state = 1
        self._spawn(self._keep_trying())

    async def _keep_trying(self) -> None:
        while self._client is None and self._state != 2:
            try:
                self._state = 0
                await self.connect()
            except OSError as e:
                self._state = 1
                log.warning("connect failed: %s; retrying", e)
                await asyncio.sleep(1)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _receive(self, client: _mqtt.Client) -> None:
        async for m in client.messages():
            try:
                r = self._c["subs_cb"](m.topic.encode("utf-8"), m.payload, m.retain, m.qos, 0)
                if inspect.isawaitable(r):
                    await r
            except Exception:
                log.exception("subs_cb failed")

    async def _ready(self) -> _mqtt.Client:
        if self._state == 2:
            raise OSError(-1, "disconnected")
        if self._client is None:
            if self._connected is None:
                self._connected = asyncio.Event()
            await self._connected.wait()
        assert self._client is not None
        return self._client

    async def publish(self, topic: Union[str, bytes], msg: Union[str, bytes], retain: bool = False, qos: int = 0,
                      sync: bool = True) -> None:
        """Publishes. ``sync=True`` returns when the QoS flow completes (PUBACK, PUBCOMP);
        ``sync=False`` once the message is queued (it is still retried across reconnects)."""
        if qos not in (0, 1, 2):
            raise ValueError("unsupported qos")
        client = await self._ready()
        done = client.publish(_text(topic), _bytes(msg), qos, retain)
        if sync:
            try:
                await done
            except NomqError as e:
                raise _os_error(e) from e
        else:
            self._spawn(self._report(done))

    @staticmethod
    async def _report(done: Any) -> None:
        try:
            await done
        except NomqError as e:
            log.warning("publish failed: %s", e)

    async def subscribe(self, topic: Union[str, bytes], qos: int = 0) -> None:
        """Subscribes; raises ``OSError`` when the server refuses."""
        if qos not in (0, 1, 2):
            raise ValueError("unsupported qos")
        client = await self._ready()
        try:
            await client.subscribe(_text(topic), qos)
        except NomqError as e:  # SubscribeRefused among them
            raise _os_error(e) from e

    async def unsubscribe(self, topic: Union[str, bytes]) -> None:
        """Unsubscribes (not in mqboard)."""
        client = await self._ready()
        await client.unsubscribe(_text(topic))

    async def disconnect(self) -> None:
        """Sends DISCONNECT (the will is not published) and stops for good."""
        self._state = 2
        client, self._client = self._client, None
        if client is not None:
            await client.disconnect()
        for t in list(self._tasks):
            t.cancel()


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False
