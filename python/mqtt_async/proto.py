"""``MQTTProto``: the MQTT protocol on one connection, as in mqboard. A new instance is made for
each connection; ``MQTTClient`` does the reconnecting and retransmitting.

Like mqboard's, its operations block without time limits (a watchdog, ``MQTTClient``, calls
``disconnect()`` when the connection stops answering), failures and end of file raise
``OSError``, and every packet received is handed to one of the callbacks given at construction.
The bytes on the wire come from ``_codec``; each packet is written with one ``write``, so
packets from concurrent callers never interleave.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import ssl as _ssl
from typing import Any, Callable, Dict, Optional, Set, Tuple

from nomq.errors import ProtocolError

from . import _codec
from ._common import CONN_CLOSED, CONN_ERRS, PROTO_ERROR, MQTTMessage, Text, qos_check, to_bytes
from ._platform import ticks_ms

log = logging.getLogger("mqtt_async")

_READ_SIZE = 65536
_DISCONNECT_GRACE_S = 0.2


class _Stream:
    """One TCP or TLS connection in the shape of MicroPython's ``uasyncio`` stream, which is what
    mqboard's ``MQTTProto._sock`` is (tests write to and close it directly)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, n: int) -> bytes:
        return await self._reader.read(n)

    def write(self, data: bytes) -> None:
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()

    def close(self) -> None:
        self._writer.close()

    async def wait_closed(self) -> None:
        await self._writer.wait_closed()

    def abort(self) -> None:
        self._writer.transport.abort()


def _tls(params: Any) -> Tuple[Optional[_ssl.SSLContext], Optional[str]]:
    """An SSL context and server name from ``ssl_params``: an ``SSLContext``, True, or the
    keyword arguments of ``ssl.wrap_socket`` (``ca_certs``, ``certfile``, ``keyfile``,
    ``cert_reqs``, ``server_hostname``). Unlike MicroPython's, the server's certificate is
    verified unless ``cert_reqs`` is ``ssl.CERT_NONE``."""
    if not params:
        return None, None
    if isinstance(params, _ssl.SSLContext):
        return params, None
    options: Dict[str, Any] = params if isinstance(params, dict) else {}
    context = _ssl.create_default_context(cafile=options.get("ca_certs") or options.get("cafile"))
    if options.get("certfile"):
        context.load_cert_chain(options["certfile"], options.get("keyfile"))
    if options.get("cert_reqs") is not None:
        context.check_hostname = options["cert_reqs"] != _ssl.CERT_NONE
        context.verify_mode = options["cert_reqs"]
    return context, options.get("server_hostname")


class MQTTProto:
    """One MQTT 3.1.1 connection. ``subs_cb(topic, msg, retained, qos, dup)`` (a plain or
    coroutine function) receives each PUBLISH, ``puback_cb(pid)`` each PUBACK, PUBCOMP and
    UNSUBACK, ``suback_cb(pid, granted_qos)`` each SUBACK, ``pingresp_cb()`` each PINGRESP."""

    def __init__(self, subs_cb: Callable[..., Any], puback_cb: Callable[[int], Any],
                 suback_cb: Callable[[int, int], Any], pingresp_cb: Callable[[], Any],
                 sock_cb: Optional[Callable[..., Any]] = None) -> None:
        self._subs_cb = subs_cb
        self._puback_cb = puback_cb
        self._suback_cb = suback_cb
        self._pingresp_cb = pingresp_cb
        self._sock_cb = sock_cb  # accepted as in mqboard, where it is not used either
        self._sock: Optional[_Stream] = None
        self._read_buf = bytearray()
        self.last_ack: float = 0
        """``ticks_ms()`` of the last CONNACK, PINGRESP or acknowledgement received."""
        self.qos2_received: Set[int] = set()
        """Ids of QoS 2 messages delivered and not yet released by PUBREL. ``MQTTClient`` gives
        every connection of a session the same set, so a redelivery after a reconnect is not
        delivered twice."""
        self._qos2_sent: Dict[int, MQTTMessage] = {}

    async def connect(self, addr: Tuple[Any, ...], client_id: Text, clean: bool, user: Optional[Text] = None,
                      pwd: Optional[Text] = None, ssl: Any = None, keepalive: int = 0,
                      lw: Optional[MQTTMessage] = None) -> None:
        """Opens the connection to ``addr`` (a ``getaddrinfo`` address) and waits for CONNACK;
        raises ``OSError`` when either fails. Without a last will the keepalive is 0, as in
        mqboard: it only tells the broker when to publish the will."""
        if lw is None:
            keepalive = 0
        log.info("Connecting to %s id=%s clean=%d", addr, client_id, clean)
        context, hostname = _tls(ssl)
        if context is not None and hostname is None:
            hostname = str(addr[0])
        reader, writer = await asyncio.open_connection(addr[0], addr[1], ssl=context, server_hostname=hostname)
        self._sock = _Stream(reader, writer)
        try:
            will = None if lw is None else (lw.topic, lw.message, lw.qos, bool(lw.retain))
            await self._as_write(_codec.connect(
                to_bytes(client_id), bool(clean), keepalive, None if user is None else to_bytes(user),
                None if user is None or pwd is None else to_bytes(pwd), will))
            ack = await self._read_packet()
            if ack.kind != _codec.CONNACK:
                raise OSError(-1, "Bad CONNACK")
            if ack.code:
                reason = ": " + CONN_ERRS[ack.code - 1] if ack.code < 6 else ""
                raise OSError(-1, "CONNECT refused" + reason)
        except BaseException:
            await self._close()
            raise
        self.last_ack = ticks_ms()

    # ===== reading and writing

    async def _fill(self) -> None:
        """Reads what the socket has into the buffer; end of file raises ``OSError``."""
        if self._sock is None:
            raise OSError(-1, CONN_CLOSED)
        data = await self._sock.read(_READ_SIZE)
        if not data:
            raise OSError(-1, CONN_CLOSED)
        self._read_buf += data

    async def _as_read(self, n: int) -> bytes:
        """The next ``n`` bytes received; ``OSError`` on error and at end of file."""
        while len(self._read_buf) < n:
            await self._fill()
        data = bytes(self._read_buf[:n])
        del self._read_buf[:n]
        return data

    async def _as_write(self, data: bytes, drain: bool = True) -> None:
        if self._sock is None:
            raise OSError(-1, CONN_CLOSED)
        self._sock.write(data)
        if drain:
            await self._sock.drain()

    async def _read_packet(self) -> _codec.Packet:
        while True:
            try:
                got = _codec.decode(self._read_buf)
            except ProtocolError as e:
                raise OSError(-1, PROTO_ERROR, str(e)) from e
            if got is not None:
                packet, used = got
                del self._read_buf[:used]
                return packet
            await self._fill()

    async def _close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        sock.close()
        try:
            # Closing waits for unsent bytes; a peer that stopped reading gets an abort.
            await asyncio.wait_for(sock.wait_closed(), _DISCONNECT_GRACE_S)
        except Exception:
            sock.abort()

    # ===== public operations

    async def ping(self) -> None:
        await self._as_write(_codec.PINGREQ)

    async def disconnect(self) -> None:
        """Sends DISCONNECT, so that the broker does not publish the last will, and closes."""
        if self._sock is None:
            return
        try:
            self._sock.write(_codec.DISCONNECT)
            await asyncio.wait_for(self._sock.drain(), _DISCONNECT_GRACE_S)
        except Exception:
            pass
        await self._close()

    def isconnected(self) -> bool:
        return self._sock is not None

    async def publish(self, msg: MQTTMessage, dup: int = 0) -> None:
        """Writes ``msg`` (``msg.pid`` set for QoS 1 and 2). A QoS 2 message the broker already
        acknowledged with PUBREC is resumed with PUBREL instead (MQTT-4.3.3)."""
        if msg.qos == 2 and msg.pubrec:
            await self._as_write(_codec.ack(_codec.PUBREL, msg.pid or 0))
            return
        packet = _codec.publish(msg.topic, msg.message, msg.qos, bool(msg.retain), bool(dup), msg.pid)
        if msg.qos == 2 and msg.pid is not None:
            self._qos2_sent[msg.pid] = msg
        await self._as_write(packet)

    async def subscribe(self, topic: Text, qos: int, pid: int) -> None:
        qos_check(qos)
        await self._as_write(_codec.subscribe(pid, to_bytes(topic), qos))

    async def unsubscribe(self, topic: Text, pid: int) -> None:
        """Not in mqboard (its version is commented out); UNSUBACK goes to ``puback_cb``."""
        await self._as_write(_codec.unsubscribe(pid, to_bytes(topic)))

    async def read_msg(self) -> int:
        """Reads one packet, hands it to its callback (PUBLISH: then acknowledges it) and returns
        its type (3 PUBLISH, 4 PUBACK, 9 SUBACK, 13 PINGRESP...)."""
        p = await self._read_packet()
        kind, pid = p.kind, p.packet_id or 0
        if kind == _codec.PUBLISH:
            await self._deliver(p)
        elif kind == _codec.PINGRESP:
            self.last_ack = ticks_ms()
            self._pingresp_cb()
        elif kind in (_codec.PUBACK, _codec.PUBCOMP, _codec.UNSUBACK):
            self.last_ack = ticks_ms()
            self._puback_cb(pid)
        elif kind == _codec.SUBACK:
            self.last_ack = ticks_ms()
            self._suback_cb(pid, p.code)
        elif kind == _codec.PUBREC:
            self.last_ack = ticks_ms()
            sent = self._qos2_sent.pop(pid, None)
            if sent is not None:
                sent.pubrec = True
            await self._as_write(_codec.ack(_codec.PUBREL, pid))
        elif kind == _codec.PUBREL:
            self.qos2_received.discard(pid)
            await self._as_write(_codec.ack(_codec.PUBCOMP, pid))
        else:
            raise OSError(-1, PROTO_ERROR, "bad op", kind)
        return kind

    async def _deliver(self, p: _codec.Packet) -> None:
        """Calls ``subs_cb``, then acknowledges: PUBACK once it returned, as mqboard does. A QoS 2
        message is delivered on PUBLISH and remembered until PUBREL, so that a resend of it is
        acknowledged without a second delivery."""
        pid = p.packet_id or 0
        first = p.qos < 2 or pid not in self.qos2_received
        if p.qos == 2:
            self.qos2_received.add(pid)
        if first:
            try:
                # dup as mqboard passes it: the DUP bit of the fixed header (0 or 8).
                r = self._subs_cb(p.topic, p.payload, p.retain, p.qos, 8 if p.dup else 0)
                if inspect.isawaitable(r):
                    await r
            except Exception:
                log.exception("exception in handler")
        if p.qos == 1:
            await self._as_write(_codec.ack(_codec.PUBACK, pid))
        elif p.qos == 2:
            await self._as_write(_codec.ack(_codec.PUBREC, pid))
