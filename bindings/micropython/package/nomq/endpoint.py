"""nomq.Endpoint: a NoMQ node on a UDP socket, for MicroPython's asyncio.

    ep = Endpoint(encryption_key, hmac_key, bind=("0.0.0.0", 8888))   # or Endpoint.from_config()
    await ep.start()
    ep.subscribe("sensors/temp")
    await ep.publish("sensors/temp", b"21.5", ("192.168.1.20", 8888), qos=1)  # returns once confirmed
    async for msg in ep:                      # or: msg = await ep.recv()
        print(msg.channel, msg.payload, msg.addr)
    ep.close()

The protocol runs in the `_nomq` core (sans-IO): this module owns the socket and two tasks, a
reader that waits for the socket to be readable and feeds each datagram to the core, and a
timer that runs the core's retransmissions and expiries when `poll_timeout` says. What the core
has to send is sent at once, after each call into it.

Every queue is bounded. The embedded defaults below suit a board with about 100 KB of heap;
pass any of them (or the core's other bounds: window_ms, initial_retry_ms, max_retry_ms,
heartbeat_interval_ms, peer_timeout_ms) to the constructor to change it:

    max_pending 32               QoS 1/2 publishes awaiting confirmation
    max_inbound 512              packet ids remembered against duplicates and replays
    max_sessions 32              sender sessions tracked
    max_subscriptions 16         local subscriptions
    max_peers 32                 peers tracked for liveness
    max_events 64                undelivered events in the core
    max_transmits 64             queued outgoing datagrams
    max_event_bytes 32768        payload bytes of undelivered messages
    max_retained_channels 8      channels with retained messages
    max_retained_per_channel 2   retained messages kept per channel
    max_payload 1024             largest payload sent or received (it sizes the receive
                                 buffers; a larger incoming one is refused as malformed)
    message_buffer 16            received messages taken from the core, not yet read

These are the core's embedded profile: such an endpoint holds about 12.5 KB of heap after 100
QoS 2 exchanges each way with each of two peers (core/proto/tests/embedded_heap.rs,
docs/micropython.md). The versions carry up to 1919 bytes (v1, the most a reference node
receives) and 65,402 (v2): raise max_payload to take larger messages.

When the message buffer is full the endpoint leaves further messages in the core, whose own
bounds then refuse new messages unanswered (their senders retransmit): a slow reader slows its
senders down and loses nothing. Publish outcomes and peer events are taken past those waiting
messages, so a task awaiting its publishes is not held up by messages nobody reads yet.
"""
import errno
import os
import socket
import sys
from collections import deque

import asyncio
import _nomq
from _nomq import NomqError

try:
    # How asyncio's own streams wait for a readable socket; read at each use, since
    # asyncio.new_event_loop() replaces it.
    from asyncio import core as _core

    _core._io_queue
except (ImportError, AttributeError):
    _core = None

__all__ = ["Endpoint", "Message", "ExpiredError", "ClosedError", "DEFAULTS", "OUTCOME_CLOSED"]

_EV_MESSAGE = _nomq.EV_MESSAGE
_EV_PUBLISH_DONE = _nomq.EV_PUBLISH_DONE
_EV_PEER_ALIVE = _nomq.EV_PEER_ALIVE
_EV_DROPPED = _nomq.EV_DROPPED
_EXPIRED = _nomq.OUTCOME_EXPIRED
# The outcome a publish gets when the endpoint closes before the core reported one.
OUTCOME_CLOSED = -1

DEFAULTS = {
    "max_pending": 32,
    "max_inbound": 512,
    "max_sessions": 32,
    "max_subscriptions": 16,
    "max_peers": 32,
    "max_events": 64,
    "max_transmits": 64,
    "max_event_bytes": 32 * 1024,
    "max_retained_channels": 8,
    "max_retained_per_channel": 2,
    "max_payload": 1024,
}
# Datagrams read per wake-up before the other tasks get a turn.
_READ_BATCH = 8
# Resolved addresses kept (host names and, on the unix port, sockaddrs); cleared when full.
_ADDR_CACHE = 16


class ExpiredError(NomqError):
    """A QoS 1/2 publish was not confirmed within its ttl (the core stopped retransmitting)."""


class ClosedError(NomqError):
    """The endpoint is closed (or not started): nothing is sent or received."""


class Message:
    """A received message: `channel` (str), `payload` (bytes), `addr` (the sender's
    `(ip, port)`), `qos`, `retain`, `priority`, `session_id`, `packet_id` and `timestamp_ms` (the
    sender's clock, Unix milliseconds); `text` decodes the payload as UTF-8."""

    def __init__(self, event):
        (_, self.channel, self.payload, self.addr, self.qos, self.retain, self.priority,
         self.session_id, self.packet_id, self.timestamp_ms) = event

    @property
    def text(self):
        return self.payload.decode()

    def __repr__(self):
        return "<Message %s %r from %s:%d qos %d>" % (self.channel, self.payload, self.addr[0], self.addr[1], self.qos)


def _address_info(host, port, family):
    """The socket's own address form for (host, port): a tuple on lwIP ports, sockaddr bytes
    on the unix port."""
    return socket.getaddrinfo(host, port, family, socket.SOCK_DGRAM)[0][-1]


class Endpoint:
    """A NoMQ node: `version=1` is the reference's wire format, `version=2` the secure v2.
    `bind` is the local `(ip, port)`; port 0 takes a free port at random (MicroPython sockets
    cannot tell which port the system chose). The keys are 32 bytes each."""

    def __init__(self, encryption_key, hmac_key, *, version=1, bind=("0.0.0.0", 8888), message_buffer=16,
                 urandom=None, **bounds):
        options = dict(DEFAULTS)
        options.update(bounds)
        if message_buffer < 1:
            raise ValueError("message_buffer must be at least 1")
        self._core = _nomq.Endpoint(encryption_key, hmac_key, version, urandom=urandom, **options)
        self.version = version
        self._bind = bind
        self._sock = None
        self._family = socket.AF_INET6 if ":" in bind[0] else socket.AF_INET
        self._tuple_addrs = True
        self._port = bind[1]
        self._buffer = message_buffer
        self._messages = deque((), message_buffer)
        self._waiters = {}  # publish id -> callback(outcome)
        self._resolved = {}  # (host, port) -> the core's form of the address
        self._sockaddrs = {}  # (ip, port) -> the socket's form (unix port)
        self._arrived = asyncio.Event()
        self._timer_wake = asyncio.Event()
        self._timer_at = None
        self._reader = None
        self._timer = None
        self._send_errors = 0
        self._receive_errors = 0
        self._dropped = 0
        self.session_id = None
        # on_peer(addr, alive): called when a peer is heard from (again) or goes quiet.
        self.on_peer = None

    @classmethod
    def from_config(cls, path="nomq_config.json", *, version=1, **options):
        """An endpoint with the keys of a reference config file (encrypted, or the plain JSON
        of `nomq keygen --plain`), bound to its ip and port. Raises OSError for a file that
        cannot be read, ConfigError for one that is not a config."""
        with open(path) as f:
            settings = _nomq.read_config(f.read())
        ip = settings["ip"]
        if settings["use_ipv6"] and ip == "0.0.0.0":
            ip = "::"
        options.setdefault("bind", (ip, settings["port"]))
        return cls(settings["encryption_key"], settings["hmac_key"], version=version, **options)

    # ---- life cycle ---------------------------------------------------------------------

    async def start(self):
        """Binds the socket and starts the reader and timer tasks. Raises OSError when the
        address cannot be bound (EADDRINUSE: another socket has the port)."""
        self._open()
        return self

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        self.close()

    def _open(self, port=None):
        """start() without awaiting: tasks are created, to run once the loop does. `port`
        overrides the bind port (0: a free one)."""
        core = self._live()
        if self._sock is not None:
            return
        ip = self._bind[0]
        if port is None:
            port = self._bind[1]
        sock = socket.socket(self._family, socket.SOCK_DGRAM)
        try:
            if port == 0:
                port = self._bind_free(sock, ip)
            else:
                sock.bind(_address_info(ip, port, self._family))
            # Broadcast destinations (the reference's default, 255.255.255.255) need it.
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            except (AttributeError, OSError):
                pass
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._port = port
        self._tuple_addrs = isinstance(_address_info(ip, port, self._family), tuple)
        self._max_datagram = core.max_datagram_len()
        self._reader = asyncio.create_task(self._run_reader())
        self._timer = asyncio.create_task(self._run_timer())

    def _bind_free(self, sock, ip):
        error = None
        for _ in range(64):
            port = 49152 + int.from_bytes(os.urandom(2), "big") % 16384
            try:
                sock.bind(_address_info(ip, port, self._family))
                return port
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                error = e
        raise error

    @property
    def local_addr(self):
        """The bound address, "ip:port" ("[ip]:port" for IPv6)."""
        ip = self._bind[0]
        return ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, self._port)

    @property
    def closed(self):
        return self._core is None

    def close(self):
        """Stops the node: the tasks end, the socket closes, publishes still awaited raise
        ClosedError and `recv` returns None. Unconfirmed publishes stop being retransmitted."""
        core = self._core
        if core is None:
            return
        self._core = None
        current = getattr(_core, "cur_task", None)
        for task in (self._reader, self._timer):
            # A task cannot cancel itself; one closing its own endpoint ends at its next check.
            if task is not None and task is not current:
                task.cancel()
        self._reader = self._timer = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        core.close()
        waiters = self._waiters
        self._waiters = {}
        for done in waiters.values():
            self._call(done, OUTCOME_CLOSED)
        self._arrived.set()
        self._timer_wake.set()

    def _live(self):
        if self._core is None:
            raise ClosedError("Endpoint is closed")
        return self._core

    # ---- channels and publishing --------------------------------------------------------

    def subscribe(self, channel):
        """Delivers `channel`'s messages (local: nothing is sent)."""
        self._live().subscribe(channel)

    def unsubscribe(self, channel):
        """Stops delivering `channel`."""
        self._live().unsubscribe(channel)

    async def publish(self, channel, payload, addr, qos=1, retain=False, priority=0, ttl=3600):
        """Publishes `payload` (bytes, or str; v1 payloads must be UTF-8 text) to `addr`, an
        `(ip or host name, port)` tuple, and returns when the QoS flow completes: sent (0),
        ACK (1), PUBCOMP (2). Raises ExpiredError when no confirmation came within `ttl`
        seconds, ClosedError when the endpoint closes first, ValueError for a payload over
        max_payload or an argument out of range, TypeError for one of the wrong type."""
        done = asyncio.Event()
        outcome = [None]

        def finished(result):
            outcome[0] = result
            done.set()

        publish_id = self.publish_nowait(channel, payload, addr, qos, retain, priority, ttl, finished)
        await done.wait()
        if outcome[0] == _EXPIRED:
            raise ExpiredError("publish %d on %s: not confirmed within its ttl (%d s)" % (publish_id, channel, ttl))
        if outcome[0] == OUTCOME_CLOSED:
            raise ClosedError("publish %d on %s: the endpoint closed first" % (publish_id, channel))

    def publish_nowait(self, channel, payload, addr, qos=1, retain=False, priority=0, ttl=3600, done=None):
        """Publishes without waiting; returns the publish id. `done(outcome)`, if given, is
        called with _nomq.OUTCOME_SENT, OUTCOME_CONFIRMED or OUTCOME_EXPIRED, or with
        OUTCOME_CLOSED, possibly before this returns (QoS 0)."""
        core = self._live()
        if self._sock is None:
            raise ClosedError("Endpoint not started: await start() first")
        publish_id = core.publish(self._peer(addr), channel, payload, qos, retain, priority, ttl)
        if done is not None:
            self._waiters[publish_id] = done
        self._service()
        return publish_id

    def heartbeat(self, addr):
        """Sends a HEARTBEAT to `addr`; a nomq peer answers, which the peer events report."""
        core = self._live()
        if self._sock is None:
            raise ClosedError("Endpoint not started: await start() first")
        core.heartbeat(self._peer(addr))
        self._service()

    # ---- receiving ----------------------------------------------------------------------

    async def recv(self, timeout_ms=None):
        """The next message; None after `timeout_ms` milliseconds, or once closed."""
        if timeout_ms is not None:
            deadline = _nomq.monotonic_ms() + timeout_ms
        while True:
            message = self.recv_nowait()
            if message is not None or self._core is None:
                return message
            self._arrived.clear()
            if timeout_ms is None:
                await self._arrived.wait()
                continue
            left = deadline - _nomq.monotonic_ms()
            if left <= 0:
                return None
            try:
                await asyncio.wait_for_ms(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    def recv_nowait(self):
        """The next message already received, or None."""
        messages = self._messages
        if not messages:
            return None
        was_full = len(messages) >= self._buffer
        message = messages.popleft()
        if was_full and self._core is not None:
            self._service()  # room again: take the events the core kept
        return message

    def __aiter__(self):
        return self

    async def __anext__(self):
        message = await self.recv()
        if message is None:
            raise StopAsyncIteration
        return message

    def stats(self):
        """The core's counters (datagrams in and out, rejections by reason, duplicates,
        deliveries, retransmissions...) plus this endpoint's: send_errors, receive_errors,
        dropped (events the core could not keep) and waiting (messages not read yet)."""
        s = self._live().stats()
        s["send_errors"] = self._send_errors
        s["receive_errors"] = self._receive_errors
        s["dropped"] = self._dropped
        s["waiting"] = len(self._messages)
        return s

    # ---- the I/O around the core --------------------------------------------------------

    def _peer(self, addr):
        """The core's form of a destination. IP addresses, sockaddrs (the unix port's) and
        anything else go to the core as they are, which checks them; host names are resolved
        once (cached)."""
        if type(addr) is not tuple or len(addr) != 2 or not isinstance(addr[0], str):
            return addr
        host = addr[0]
        if ":" in host or host.replace(".", "").isdigit():
            return addr
        to = self._resolved.get(addr)
        if to is None:
            port = addr[1]
            # getaddrinfo would take any port modulo 65536
            if type(port) is not int:
                raise TypeError("addr: the port must be an int")
            if not 0 <= port <= 65535:
                raise ValueError("addr: the port must be within 0..65535")
            # An IPv6 socket also reaches IPv4 hosts (mapped when sent to)
            info = _address_info(host, port, 0 if self._family == socket.AF_INET6 else socket.AF_INET)
            to = info if isinstance(info, tuple) else bytes(info)
            if len(self._resolved) >= _ADDR_CACHE:
                self._resolved.clear()
            self._resolved[addr] = to
        return to

    def _sockaddr(self, to):
        """The socket's form of the core's `(ip, port)`. The core reports IPv4-mapped senders
        as IPv4; an IPv6 socket sends to them mapped again."""
        if self._family == socket.AF_INET6 and ":" not in to[0]:
            to = ("::ffff:" + to[0], to[1])
        if self._tuple_addrs:
            return to
        sockaddr = self._sockaddrs.get(to)
        if sockaddr is None:
            sockaddr = _address_info(to[0], to[1], self._family)
            if len(self._sockaddrs) >= _ADDR_CACHE:
                self._sockaddrs.clear()
            self._sockaddrs[to] = sockaddr
        return sockaddr

    def _call(self, fn, *args):
        # A callback's exception must not end the reader or the timer task.
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            sys.print_exception(e)

    def _service(self):
        """Sends what the core has to send, then takes its events while the message buffer
        has room. Run after every call into the core."""
        core = self._core
        if core is None:
            return
        sock = self._sock
        while True:
            out = core.poll_transmit()
            if out is None:
                break
            data, to = out
            if self.session_id is None and self.version == 1:
                self.session_id = int.from_bytes(data[9:13], "big")  # v1 header: magic..packet id, session id
            try:
                sock.sendto(data, self._sockaddr(to))
            except OSError:
                # Lost like a datagram on the air: QoS 1/2 exchanges retransmit.
                self._send_errors += 1
        messages = self._messages
        while True:
            # With the message buffer full, messages stay in the core (whose bounds then push
            # back on their senders) while outcomes and peer events still come out.
            event = core.poll_event(len(messages) < self._buffer)
            if event is None:
                break
            kind = event[0]
            if kind == _EV_MESSAGE:
                messages.append(Message(event))
                self._arrived.set()
            elif kind == _EV_PUBLISH_DONE:
                done = self._waiters.pop(event[1], None)
                if done is not None:
                    self._call(done, event[2])
            elif kind == _EV_DROPPED:
                self._dropped += event[1]
            elif self.on_peer is not None:
                self._call(self.on_peer, event[1], kind == _EV_PEER_ALIVE)
            if self._core is None:
                return  # a callback closed the endpoint
        at = core.poll_timeout()
        if at is not None and (self._timer_at is None or at < self._timer_at):
            self._timer_wake.set()

    async def _readable(self, sock):
        if _core is not None:
            yield _core._io_queue.queue_read(sock)
        else:
            await asyncio.sleep_ms(10)  # an asyncio without its I/O queue: poll

    async def _run_reader(self):
        sock = self._sock
        size = self._max_datagram
        while self._core is not None:
            await self._readable(sock)
            core = self._core
            if core is None:
                break
            for _ in range(_READ_BATCH):
                try:
                    data, addr = sock.recvfrom(size)
                except OSError as e:
                    if e.errno != errno.EAGAIN:
                        self._receive_errors += 1
                    break
                try:
                    # Refused datagrams (wrong keys, stale, malformed) are counted by the core.
                    core.handle_datagram(data, addr)
                except (NomqError, ValueError, TypeError):
                    self._receive_errors += 1
            self._service()

    async def _run_timer(self):
        wake = self._timer_wake
        while True:
            core = self._core
            if core is None:
                break
            at = core.poll_timeout()
            self._timer_at = at
            if at is None:
                await wake.wait()
            else:
                now = _nomq.monotonic_ms()
                if at <= now:
                    try:
                        core.handle_timeout(now)
                    except NomqError:
                        self._receive_errors += 1
                    self._timer_at = None
                    self._service()
                    continue
                try:
                    await asyncio.wait_for_ms(wake.wait(), at - now)
                except asyncio.TimeoutError:
                    pass
            wake.clear()
