"""``MQTTClient``: mqboard's client. It keeps a connection up (reconnecting, and bringing the
interface back when reconnecting fails), retransmits unacknowledged publishes on each new
connection and streams ``publish(sync=False)``. The protocol object of each connection comes
from ``self._MQTTProto`` (``MQTTProto`` unless replaced, as tests do with a fake).

Every publish joins one queue, the outbox, when it is called, and leaves it once written (QoS 0)
or acknowledged (QoS 1 PUBACK, QoS 2 PUBCOMP). A new connection first writes, in call order,
everything in the outbox that it has not carried, and only then takes new publishes: publishes
leave in call order whatever their QoS and ``sync``, across reconnects too.

The outbox is bounded without a limit of its own: an entry stays only while its ``publish``
call has not returned (its caller waits, holding the message anyway) or, for ``sync=False``,
while it is one of at most ``async_window`` unacknowledged ones. It holds no more messages than
the application has publishes in progress plus ``async_window``.
"""
from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import sys
from collections import deque
from types import ModuleType
from typing import Any, Deque, Dict, List, Optional, Set

from ._common import CONN_CLOSED, CONN_TIMEOUT, PING_PID, Config, MQTTMessage, Text, qos_check
from ._platform import STAT_CONNECTING, ticks_diff, ticks_ms

log = logging.getLogger("mqtt_async")

def _package() -> ModuleType:
    """The ``mqtt_async`` module: ``config``, ``MQTTProto`` and ``_CONN_DELAY`` are read from it
    when used, so that applications and tests may replace them after import, as with mqboard."""
    return sys.modules[__package__]


def _conn_delay() -> float:
    return float(_package()._CONN_DELAY)


def _resolve(future: "asyncio.Future[None]") -> None:
    if not future.done():
        future.set_result(None)


class _Outgoing:
    """A publish in the outbox. ``sent_on`` is the connection that last carried it."""

    __slots__ = ("msg", "sync", "sent_on", "done")

    def __init__(self, msg: MQTTMessage, sync: bool, done: "asyncio.Future[None]") -> None:
        self.msg = msg
        self.sync = sync
        self.sent_on: Any = None
        self.done = done


class MQTTClient:
    """mqboard's client: ``MQTTClient(config)``, then ``connect()`` (or ``start()``),
    ``publish``, ``subscribe``, ``disconnect``. See the package docstring."""

    def __init__(self, conf: Dict[str, Any]) -> None:
        package = _package()
        self._c = Config(package.config)
        self._c.update(conf)
        if self._c["will"] is None:
            self._c["keepalive"] = 0  # the keepalive only tells the broker when to send the will
        elif not isinstance(self._c["will"], MQTTMessage):
            raise ValueError("will must be MQTTMessage")
        if self._c["keepalive"] >= 65536:
            raise ValueError("invalid keepalive")
        if 0 < self._c["keepalive"] < self._c["response_time"] * 2:
            raise ValueError("keepalive <2x response_time")
        if self._c["port"] == 0:
            self._c["port"] = 8883 if self._c["ssl_params"] else 1883
        if self._c["server"] is None:
            raise ValueError("no server")
        window = self._c.get("async_window", 1)
        if not isinstance(window, int) or window < 1:
            raise ValueError("async_window must be an int of at least 1")
        self._window = window
        self._MQTTProto = package.MQTTProto
        self._proto: Any = None
        self._addr: Any = None
        self._lastpid = 0
        self._unacked_pids: Dict[int, List[Any]] = {}
        """pid -> [future done when the broker answers, SUBACK's granted QoS]: publishes,
        subscriptions and the ping (``PING_PID``) waiting for the broker."""
        self._state = 0  # 0: never connected, 1: has connected, 2: disconnected for good
        self._conn_keeper: Optional["asyncio.Task[None]"] = None
        self._outbox: Deque[_Outgoing] = deque()
        self._qos2_received: Set[int] = set()
        self._tasks: Set["asyncio.Task[Any]"] = set()
        self._watchdogs: Set["asyncio.Task[Any]"] = set()  # the _keep_alive tasks
        self._change: Optional["asyncio.Future[None]"] = None

    # ===== waiting

    def _signal(self) -> None:
        """Wakes whatever waits for the connection or the client's state to change."""
        change, self._change = self._change, None
        if change is not None:
            _resolve(change)

    async def _until(self, future: Optional["asyncio.Future[None]"] = None,
                     timeout: Optional[float] = None) -> bool:
        """Waits until ``future`` is done, the connection or state changes, or ``timeout``
        seconds pass; True when ``future`` is done."""
        if future is not None and future.done():
            return True
        if self._change is None:
            self._change = asyncio.get_running_loop().create_future()
        waits: Set["asyncio.Future[None]"] = {self._change}
        if future is not None:
            waits.add(future)
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return future is not None and future.done()

    def _check_open(self) -> None:
        if self._state > 1:
            raise OSError(-1, CONN_CLOSED)

    def _set_proto(self, proto: Any) -> None:
        self._proto = proto
        self._signal()

    def _spawn(self, coro: Any, tasks: Optional[Set["asyncio.Task[Any]"]] = None) -> "asyncio.Task[Any]":
        """Runs ``coro`` in a task held in ``tasks`` (the event loop keeps only a weak
        reference) until it ends."""
        held = self._tasks if tasks is None else tasks
        task: "asyncio.Task[Any]" = asyncio.ensure_future(coro)
        held.add(task)
        task.add_done_callback(held.discard)
        return task

    # ===== connecting

    async def wifi_connect(self) -> None:
        """Brings ``config["interface"]`` up with ``ssid`` and ``wifi_pw``."""
        log.info("connecting wifi")
        interface = self._c["interface"]
        if not self._c["ssid"]:
            raise OSError(-1, "no SSID to connect to Wifi")
        interface.active(True)
        interface.connect(self._c["ssid"], self._c["wifi_pw"])
        while interface.status() == STAT_CONNECTING:
            await asyncio.sleep(0.2)
        if not interface.isconnected():
            log.warning("Wifi failed to connect")
            raise OSError(-1, "Wifi failed to connect")

    def _dns_lookup(self) -> None:
        """Resolves the server (blocking, so only before the first connection)."""
        found = socket.getaddrinfo(self._c["server"], self._c["port"])
        if found and len(found[0]) > 1:
            self._addr = found[0][-1]
        log.debug("DNS %s->%s", self._c["server"], self._addr)

    def _ssl_params(self) -> Any:
        """``ssl_params`` naming the server for the certificate check when it does not say
        (connections go to the address resolved by ``_dns_lookup``)."""
        params = self._c["ssl_params"]
        named = isinstance(params, dict) and "server_hostname" in params
        if not params or named or isinstance(params, ssl.SSLContext):
            return params
        return dict(params if isinstance(params, dict) else {}, server_hostname=self._c["server"])

    async def connect(self) -> None:
        """Connects once; raises ``OSError`` on failure. From then on the connection is kept
        up in the background until ``disconnect()``."""
        if self._state > 1:
            raise ValueError("cannot reuse")
        if self._proto is not None:
            return
        if not self._c["interface"].isconnected():
            await self.wifi_connect()
        first = self._state == 0
        if first:
            self._dns_lookup()
        clean = first and bool(self._c["clean"])
        if clean:
            self._qos2_received.clear()
        proto = self._MQTTProto(self._c["subs_cb"], self._got_puback, self._got_suback, self._got_pingresp)
        proto.qos2_received = self._qos2_received
        await proto.connect(self._addr, self._c["client_id"], clean, user=self._c["user"], pwd=self._c["password"],
                            ssl=self._ssl_params(), keepalive=self._c["keepalive"], lw=self._c["will"])
        if self._state > 1:
            await proto.disconnect()
            raise OSError(-1, "disconnect while connecting")
        if first:
            self._state = 1
            if clean:
                # A clean session also ends with its connection (MQTT-3.1.2-6): start clean
                # once, then keep a persistent session so that a lost connection loses nothing.
                await proto.disconnect()
                return await self.connect()
        try:
            await self._resend(proto)
        except OSError:
            await proto.disconnect()
            raise
        self._set_proto(proto)
        if self._conn_keeper is None:
            self._conn_keeper = self._spawn(self._keep_connected())
        self._spawn(self._handle_msgs(proto))
        self._spawn(self._keep_alive(proto), self._watchdogs)
        if self._c["connect_coro"] is not None:
            self._spawn(self._c["connect_coro"](self))
            self._c["connect_coro"] = None  # only after the first connection
        if self._c["wifi_coro"] is not None:
            self._spawn(self._c["wifi_coro"](True))

    async def _resend(self, proto: Any) -> None:
        """Writes to a new connection, in call order, every publish it has not carried: those
        a lost connection left unacknowledged (again, with DUP) and those queued meanwhile."""
        while True:
            todo = [o for o in self._outbox if not o.done.done() and o.sent_on is not proto]
            if not todo:
                return
            for o in todo:
                if o.sent_on is not None:
                    log.debug("repub->%s qos=%d pid=%s", o.msg.topic, o.msg.qos, o.msg.pid)
                await self._write(o, proto)

    async def disconnect(self) -> None:
        """Sends DISCONNECT (the broker then drops the will) and stops for good: waiting
        publishes and subscriptions raise ``OSError``."""
        self._state = 2
        self._signal()
        # The keeper and the watchdogs only wait; the readers end when their connection closes
        # (one may be running subs_cb, which is left to finish).
        current = asyncio.current_task()
        for task in [self._conn_keeper, *self._watchdogs]:
            if task is not None and task is not current:
                task.cancel()
        proto = self._proto
        self._proto = None
        if proto is not None:
            await proto.disconnect()

    def start(self) -> None:
        """Connects in the background instead of raising when the broker is not reachable."""
        if self._state > 0 or self._conn_keeper is not None:
            raise ValueError("cannot reuse")
        self._conn_keeper = self._spawn(self._keep_connected())

    async def _reconnect(self, proto: Any, why: str, detail: Any = "n/a") -> None:
        """Drops ``proto`` if it is still the current connection (a failure may be noticed by
        several tasks; only the first acts); the keeper then makes a new one."""
        if self._state != 1 or self._proto is not proto:
            return
        log.info("dead socket: %s failed (%s)", why, detail)
        self._set_proto(None)
        await proto.disconnect()
        if self._c["wifi_coro"] is not None:
            self._spawn(self._c["wifi_coro"](False))

    async def _pause(self) -> None:
        """``_CONN_DELAY`` seconds between connection attempts, or less if the client ends."""
        await self._until(timeout=_conn_delay())

    async def _keep_connected(self) -> None:
        """Runs until ``disconnect()``: reconnects when the connection is lost, and when that
        fails, takes the interface down and up again."""
        try:
            while self._state <= 1:
                if self._proto is not None:
                    await self._until()
                    if self._proto is None:
                        await self._pause()
                    continue
                interface = self._c["interface"]
                if interface.isconnected():
                    try:
                        await self.connect()
                        continue
                    except OSError as e:
                        log.warning("reconnect failed: %s", e)
                    interface.disconnect()
                    await self._pause()
                    continue
                try:
                    await self.wifi_connect()
                except OSError as e:
                    log.warning("error in Wifi reconnect: %s", e)
                    await self._pause()
        finally:
            self._conn_keeper = None

    async def _handle_msgs(self, proto: Any) -> None:
        """Reads packets until the connection fails."""
        try:
            while True:
                await proto.read_msg()
        except Exception as e:
            await self._reconnect(proto, "read_msg", e)

    async def _keep_alive(self, proto: Any) -> None:
        """Pings when the broker has acknowledged nothing for ``response_time``; an unanswered
        ping ends the connection."""
        response_time = self._c["response_time"]
        rt_ms = response_time * 1000
        try:
            while proto.isconnected() and self._proto is proto:
                idle = ticks_diff(ticks_ms(), proto.last_ack)
                if idle > rt_ms:
                    answered = asyncio.get_running_loop().create_future()
                    self._unacked_pids[PING_PID] = [answered, None]
                    await proto.ping()
                    if not await self._until(answered, response_time) and self._proto is proto:
                        raise OSError(-1, CONN_TIMEOUT)
                    idle = ticks_diff(ticks_ms(), proto.last_ack)
                await asyncio.sleep(max(rt_ms - idle, rt_ms / 4) / 1000)
        except Exception as e:
            await self._reconnect(proto, "keepalive", e)
        finally:
            self._unacked_pids.pop(PING_PID, None)

    # ===== acknowledgements

    def _newpid(self) -> int:
        for _ in range(65535):
            self._lastpid = self._lastpid % 65535 + 1
            if self._lastpid not in self._unacked_pids:
                return self._lastpid
        raise OSError(-1, "every packet id is in use")

    def _got_puback(self, pid: int) -> None:
        waiter = self._unacked_pids.pop(pid, None)
        if waiter is not None:
            _resolve(waiter[0])
        self._trim()

    def _trim(self) -> None:
        """Drops the publishes that are done from the head of the outbox (acknowledgements
        arrive in order, so the head is where they are)."""
        while self._outbox and self._outbox[0].done.done():
            self._outbox.popleft()

    def _got_pingresp(self) -> None:
        self._got_puback(PING_PID)

    def _got_suback(self, pid: int, granted: int) -> None:
        waiter = self._unacked_pids.get(pid)
        if waiter is not None:
            waiter[1] = granted
            _resolve(waiter[0])

    # ===== publishing and subscribing

    async def _write(self, out: _Outgoing, proto: Any) -> None:
        dup = 0 if out.sent_on is None else 1
        out.sent_on = proto
        await proto.publish(out.msg, dup)
        if out.msg.qos == 0:
            _resolve(out.done)
            self._trim()

    async def _finish(self, out: _Outgoing) -> None:
        """Waits until ``out`` is done, connection after connection. A QoS 1/2 publish the
        broker leaves unacknowledged for ``response_time`` ends its connection."""
        while not out.done.done():
            self._check_open()
            proto = self._proto
            if proto is None or out.msg.qos == 0:
                await self._until(out.done)
            elif not await self._until(out.done, self._c["response_time"]):
                await self._reconnect(proto, "pub", OSError(-1, CONN_TIMEOUT))

    async def publish(self, topic: Text, msg: Text, retain: bool = False, qos: int = 0, sync: bool = True) -> None:
        """Publishes. QoS 0 returns once written. QoS 1 and 2: ``sync=True`` returns once
        acknowledged (PUBACK, PUBCOMP); ``sync=False`` once at most ``async_window`` (1 unless
        configured) ``sync=False`` publishes are unacknowledged, this one included. Waits while
        disconnected; retransmits after reconnects."""
        self._check_open()
        message = MQTTMessage(topic, msg, retain, qos)
        if qos:
            message.pid = self._newpid()
        out = _Outgoing(message, sync, asyncio.get_running_loop().create_future())
        self._outbox.append(out)
        if message.pid is not None:
            self._unacked_pids[message.pid] = [out.done, None]
        proto = self._proto
        if proto is not None:
            try:
                await self._write(out, proto)
            except OSError as e:
                await self._reconnect(proto, "pub", e)
        if qos == 0 or sync:
            if not out.done.done():
                await self._finish(out)
            return
        while True:
            streaming = [o for o in self._outbox if not o.sync and o.msg.qos and not o.done.done()]
            if len(streaming) <= self._window:
                return
            await self._finish(streaming[0])

    async def _request(self, send: Any, pid: int, why: str) -> Any:
        """Sends a SUBSCRIBE or UNSUBSCRIBE with ``send(proto)`` until the broker answers, on
        this or later connections; returns SUBACK's granted QoS."""
        answered = asyncio.get_running_loop().create_future()
        self._unacked_pids[pid] = [answered, None]
        try:
            while True:
                self._check_open()
                proto = self._proto
                if proto is None:
                    await self._until()
                    continue
                try:
                    await send(proto)
                    if await self._until(answered, self._c["response_time"]):
                        return self._unacked_pids[pid][1] if pid in self._unacked_pids else None
                    if self._proto is proto:
                        raise OSError(-1, CONN_TIMEOUT)
                except OSError as e:
                    await self._reconnect(proto, why, e)
        finally:
            self._unacked_pids.pop(pid, None)

    async def subscribe(self, topic: Text, qos: int = 0) -> None:
        """Subscribes; raises ``OSError`` when the broker refuses or grants another QoS."""
        qos_check(qos)
        pid = self._newpid()
        granted = await self._request(lambda proto: proto.subscribe(topic, qos, pid), pid, "sub")
        if granted == 0x80:
            raise OSError(-1, "subscribe failed: refused")
        if granted != qos:
            raise OSError(-1, "subscribe failed: qos mismatch")

    async def unsubscribe(self, topic: Text) -> None:
        """Unsubscribes (not in mqboard)."""
        pid = self._newpid()
        await self._request(lambda proto: proto.unsubscribe(topic, pid), pid, "unsub")
