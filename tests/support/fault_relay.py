#!/usr/bin/env python3
"""A fault-injecting relay between two endpoints on loopback, for the fault tests of every
language. The kernel here has no netem, so the faults are injected in user space, by a relay
that the client talks to instead of its peer.

- UDP (``UdpRelay``): every client address gets its own upstream socket, so the target sees
  the relay as its peer and its replies find their way back. Each datagram, in both
  directions, may be dropped, duplicated, held back and released after later ones
  (reordered), or delayed, by percentages drawn from a seeded random generator.
- TCP (``TcpRelay``): one upstream connection per accepted client, bytes pumped both ways.
  Connections can be cut abruptly (an RST on both sides) after every N bytes or on demand,
  stalled (nothing forwarded, sockets kept open), trickled (at most K bytes per tick in each
  direction), and new connections refused for a while.

Each relay runs an asyncio loop in a background thread; the methods may be called from any
other thread (including another asyncio loop's). Standard library only.

From Python::

    with UdpRelay(("127.0.0.1", 9000), drop=30, duplicate=10, reorder=10, seed=1) as relay:
        relay.port; relay.stats()            # send to 127.0.0.1:relay.port instead of 9000

    with TcpRelay(("127.0.0.1", 1883), cut_every=4000) as relay:
        relay.cut_all(); relay.stall(2.0); relay.trickle(64); relay.refuse(); relay.accept()

From a shell or another language (it prints the port, then reads commands on stdin, one per
line: ``stats``, ``cut``, ``stall SECONDS``, ``resume``, ``trickle BYTES [TICK]``,
``refuse``, ``accept``, ``quit``; without stdin it runs until SIGINT or SIGTERM)::

    tests/support/fault_relay.py udp --target 127.0.0.1:9000 --drop 30 --duplicate 10 --reorder 10
    tests/support/fault_relay.py tcp --target 127.0.0.1:1883 --cut-every 4000
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import dataclasses
import json
import random
import signal
import socket
import struct
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Coroutine, Dict, Optional, Set, Tuple, TypeVar

Address = Tuple[str, int]
T = TypeVar("T")

CALL_TIMEOUT_S = 10.0
"""How long a method waits for the relay's thread: far longer than any call takes."""
MAX_DATAGRAM = 65535
TCP_CHUNK = 65536
UDP_BUFFER_BYTES = 4 << 20
CONNECT_TIMEOUT_S = 5.0


# ---------------------------------------------------------------------------------------------
# The loop thread, shared by both relays


class _LoopThread:
    """An asyncio loop in a daemon thread. Sockets are bound by the caller's thread in
    ``start`` (so a bad address raises there); everything after that runs on the loop, and
    the public methods hop onto it with ``_call``."""

    def __init__(self) -> None:
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None

    def _bind(self) -> None:
        """Creates and binds the listening socket(s); runs on the caller's thread."""
        raise NotImplementedError

    def _begin(self) -> None:
        """Starts serving; runs on the loop."""
        raise NotImplementedError

    async def _end(self) -> None:
        """Stops serving and closes every socket; runs on the loop."""
        raise NotImplementedError

    def start(self) -> "_LoopThread":
        """Binds, starts the thread and returns once the relay forwards."""
        if self._loop is not None:
            return self
        self._bind()
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run, args=(loop,), name=type(self).__name__, daemon=True)
        self._thread.start()
        self._call(self._begin)
        return self

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        loop.run_forever()

    def stop(self) -> None:
        """Closes every connection and socket, then the loop; idempotent."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._end(), loop).result(CALL_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(CALL_TIMEOUT_S)
            loop.close()
            self._loop = self._thread = None

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Runs ``fn(*args)`` on the loop and returns its result: relay state is only ever
        touched from the loop's thread, so it needs no lock."""
        loop = self._loop
        if loop is None:
            raise RuntimeError(f"{type(self).__name__} is not running: call start() or use `with`")
        if threading.current_thread() is self._thread:
            return fn(*args)
        done: "concurrent.futures.Future[T]" = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn(*args))
            except BaseException as e:  # handed to the caller's thread
                done.set_exception(e)

        loop.call_soon_threadsafe(run)
        return done.result(CALL_TIMEOUT_S)

    def _await(self, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
        """Runs the coroutine ``fn(*args)`` on the loop and returns its result."""
        loop = self._loop
        if loop is None:
            raise RuntimeError(f"{type(self).__name__} is not running: call start() or use `with`")
        if threading.current_thread() is self._thread:
            raise RuntimeError("cannot wait for the relay's loop from its own thread")
        return asyncio.run_coroutine_threadsafe(fn(*args), loop).result(CALL_TIMEOUT_S)

    def __enter__(self: "RelayT") -> "RelayT":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


RelayT = TypeVar("RelayT", bound=_LoopThread)


def _listening_socket(kind: int, listen: Address) -> socket.socket:
    """A socket bound to ``listen``. Port 0 is resolved to a free port first and then bound
    explicitly: on Linux a listening TCP socket whose port was chosen by the kernel loses it
    when listening stops (``TcpRelay.refuse``); one bound by number keeps it."""
    host, port = listen
    for _ in range(20):
        chosen = port or _free_port(kind, host)
        sock = socket.socket(socket.AF_INET, kind)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, chosen))
        except OSError:
            sock.close()
            if port:
                raise
            continue  # someone took the free port meanwhile
        sock.setblocking(False)
        return sock
    raise OSError(f"no free port on {host}")


def _large_buffers(sock: socket.socket) -> None:
    """Asks for 4 MiB socket buffers (the kernel caps them at net.core.rmem_max/wmem_max): a
    burst of datagrams must not overflow the relay's sockets, or the kernel would drop
    datagrams the relay never decided to drop."""
    for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, UDP_BUFFER_BYTES)
        except OSError:
            pass


def _free_port(kind: int, host: str) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------------------------
# UDP


@dataclass
class UdpCounters:
    """What a UDP relay did with the datagrams of one direction (or of both, added)."""

    received: int = 0
    forwarded: int = 0
    """Datagrams sent on, duplicates included."""
    dropped: int = 0
    duplicated: int = 0
    """Datagrams sent twice."""
    reordered: int = 0
    """Datagrams held back and sent after later ones."""
    delayed: int = 0
    send_errors: int = 0

    def __add__(self, other: "UdpCounters") -> "UdpCounters":
        return UdpCounters(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))


class _Lane:
    """One direction of a UDP relay: its counters, and the one datagram it may hold back."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.counters = UdpCounters()
        self.held: Optional[Tuple[bytes, Callable[[bytes], Any]]] = None
        self.held_for = 0
        """Later datagrams still to go before the held one."""
        self.held_timer: Optional[asyncio.TimerHandle] = None


class _Upstream:
    """The socket that speaks to the target for one client address."""

    def __init__(self, sock: socket.socket, client: Address) -> None:
        self.sock = sock
        self.client = client


class UdpRelay(_LoopThread):
    """A UDP relay from ``listen`` to ``target`` with faults by percentage (0 to 100), drawn
    from ``random.Random(seed)`` in both directions:

    - ``drop``: the datagram is not forwarded;
    - ``duplicate``: it is forwarded twice;
    - ``reorder``: it is held and released after 1 to ``reorder_gap`` later datagrams of the
      same direction, or after ``reorder_hold_ms`` when none come;
    - ``delay_ms=(low, high)``: each datagram waits a uniform time in that range (which
      reorders too, when the range is wide).

    The decisions come from one seeded generator, so a run's sequence of decisions is
    reproducible; which datagram meets which decision still depends on how the two
    directions interleave. Counters: ``stats()``. At most ``max_clients`` client addresses
    are remembered; past that the oldest mapping is forgotten (its socket closed)."""

    def __init__(
        self,
        target: Address,
        listen: Address = ("127.0.0.1", 0),
        *,
        drop: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        delay_ms: Tuple[float, float] = (0.0, 0.0),
        reorder_gap: int = 3,
        reorder_hold_ms: float = 50.0,
        seed: int = 0,
        max_clients: int = 256,
    ) -> None:
        super().__init__()
        for name, value in (("drop", drop), ("duplicate", duplicate), ("reorder", reorder)):
            if not 0.0 <= value <= 100.0:
                raise ValueError(f"{name} is a percentage: {value}")
        if not 0.0 <= delay_ms[0] <= delay_ms[1]:
            raise ValueError(f"delay_ms must be (low, high) with 0 <= low <= high: {delay_ms}")
        self.target = target
        self.listen = listen
        self.drop, self.duplicate, self.reorder = drop, duplicate, reorder
        self.delay_ms = delay_ms
        self.reorder_gap = max(1, reorder_gap)
        self.reorder_hold_ms = reorder_hold_ms
        self.max_clients = max_clients
        self._rng = random.Random(seed)
        self._sock: Optional[socket.socket] = None
        self._clients: Dict[Address, _Upstream] = {}
        self._to_target = _Lane("to_target")
        self._to_client = _Lane("to_client")

    @property
    def port(self) -> int:
        """The port clients send to."""
        assert self._sock is not None, "not started"
        return int(self._sock.getsockname()[1])

    @property
    def address(self) -> str:
        """``"ip:port"`` to send to."""
        return f"{self.listen[0]}:{self.port}"

    def stats(self) -> Dict[str, UdpCounters]:
        """Counters per direction (``to_target``, ``to_client``) and their ``total``."""
        if self._loop is None:
            return self._snapshot()
        return self._call(self._snapshot)

    def _snapshot(self) -> Dict[str, UdpCounters]:
        up = dataclasses.replace(self._to_target.counters)
        down = dataclasses.replace(self._to_client.counters)
        return {"to_target": up, "to_client": down, "total": up + down}

    def _bind(self) -> None:
        self._sock = _listening_socket(socket.SOCK_DGRAM, self.listen)
        _large_buffers(self._sock)

    def _begin(self) -> None:
        assert self._loop is not None and self._sock is not None
        self._loop.add_reader(self._sock.fileno(), self._from_clients)

    async def _end(self) -> None:
        assert self._loop is not None
        for lane in (self._to_target, self._to_client):
            if lane.held_timer is not None:
                lane.held_timer.cancel()
        for upstream in list(self._clients.values()):
            self._forget(upstream)
        if self._sock is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()

    # Datagrams in

    def _from_clients(self) -> None:
        """Datagrams on the listening socket: from clients, towards the target."""
        assert self._sock is not None
        for _ in range(64):  # then let the other sockets have a turn
            try:
                data, client = self._sock.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # an ICMP error for an earlier send: not this datagram's concern
            upstream = self._upstream_for(client)
            self._offer(self._to_target, data, upstream.sock.send)

    def _from_target(self, upstream: _Upstream) -> None:
        """Datagrams on a client's upstream socket: the target's replies, back to the client."""
        sock = self._sock
        assert sock is not None

        def send(data: bytes) -> None:
            sock.sendto(data, upstream.client)

        for _ in range(64):
            try:
                data = upstream.sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue  # the target's port was closed (ICMP): keep listening
            self._offer(self._to_client, data, send)

    def _upstream_for(self, client: Address) -> _Upstream:
        """The client's own socket towards the target, made on its first datagram."""
        upstream = self._clients.get(client)
        if upstream is not None:
            return upstream
        if len(self._clients) >= self.max_clients:
            self._forget(next(iter(self._clients.values())))
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _large_buffers(sock)
        sock.bind((self.listen[0], 0))
        sock.connect(self.target)
        sock.setblocking(False)
        upstream = _Upstream(sock, client)
        self._clients[client] = upstream
        assert self._loop is not None
        self._loop.add_reader(sock.fileno(), self._from_target, upstream)
        return upstream

    def _forget(self, upstream: _Upstream) -> None:
        assert self._loop is not None
        self._loop.remove_reader(upstream.sock.fileno())
        upstream.sock.close()
        del self._clients[upstream.client]

    # Faults

    def _chance(self, percent: float) -> bool:
        return percent > 0 and self._rng.random() * 100.0 < percent

    def _offer(self, lane: _Lane, data: bytes, send: Callable[[bytes], Any]) -> None:
        """Applies the faults to one datagram of ``lane``: drop, else one or two copies, each
        of which may be held back (reorder) or delayed."""
        lane.counters.received += 1
        if self._chance(self.drop):
            lane.counters.dropped += 1
            return
        copies = 1
        if self._chance(self.duplicate):
            lane.counters.duplicated += 1
            copies = 2
        for _ in range(copies):
            # Drawn whether or not a datagram is held already, so the sequence of decisions
            # does not depend on when held datagrams were released.
            hold = self._chance(self.reorder)
            if hold and lane.held is None:
                self._hold(lane, data, send)
            else:
                self._delay_then_send(lane, data, send)
                self._later_one_went(lane)

    def _hold(self, lane: _Lane, data: bytes, send: Callable[[bytes], Any]) -> None:
        assert self._loop is not None
        lane.counters.reordered += 1
        lane.held = (data, send)
        lane.held_for = self._rng.randint(1, self.reorder_gap)
        lane.held_timer = self._loop.call_later(self.reorder_hold_ms / 1000.0, self._release, lane)

    def _later_one_went(self, lane: _Lane) -> None:
        """A datagram went past the held one; once enough have, the held one follows."""
        if lane.held is None:
            return
        lane.held_for -= 1
        if lane.held_for <= 0:
            self._release(lane)

    def _release(self, lane: _Lane) -> None:
        if lane.held is None:
            return
        data, send = lane.held
        lane.held = None
        if lane.held_timer is not None:
            lane.held_timer.cancel()
            lane.held_timer = None
        self._send(lane, data, send)

    def _delay_then_send(self, lane: _Lane, data: bytes, send: Callable[[bytes], Any]) -> None:
        low, high = self.delay_ms
        delay = self._rng.uniform(low, high) if high > 0 else 0.0
        if delay <= 0:
            self._send(lane, data, send)
            return
        assert self._loop is not None
        lane.counters.delayed += 1
        self._loop.call_later(delay / 1000.0, self._send, lane, data, send)

    def _send(self, lane: _Lane, data: bytes, send: Callable[[bytes], Any]) -> None:
        try:
            send(data)
            lane.counters.forwarded += 1
        except OSError:  # a full buffer or a forgotten client: the datagram is lost, as on a network
            lane.counters.send_errors += 1


# ---------------------------------------------------------------------------------------------
# TCP


@dataclass
class TcpCounters:
    """What a TCP relay did."""

    accepted: int = 0
    refused: int = 0
    """Connection attempts refused (``refuse``), as far as the relay saw them."""
    upstream_failed: int = 0
    """Accepted clients reset because the target could not be reached."""
    cut: int = 0
    """Connections cut with an RST by ``cut_every`` or ``cut_all``."""
    reset: int = 0
    """Connections one side reset or broke; the relay resets the other."""
    closed: int = 0
    """Connections both sides closed in an orderly way."""
    stalled: int = 0
    """Connections stalled (each ``stall`` counts every connection it stalled)."""
    bytes_to_target: int = 0
    bytes_to_client: int = 0
    open: int = 0
    """Connections open now."""


class _Link:
    """One client connection and its upstream connection."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.stall_timer: Optional[asyncio.TimerHandle] = None
        self.forwarded = 0
        """Bytes forwarded in both directions, for ``cut_every``."""
        self.ended = asyncio.Event()
        self.how = ""
        """How it ended: "cut", "reset" or "closed" (empty while it lasts)."""
        self.eofs = 0

    def end(self, how: str) -> None:
        """Ends the link; the first reason given is the one that counts."""
        if not self.how:
            self.how = how
        self.ended.set()


def _reset(sock: socket.socket) -> None:
    """Closes ``sock`` abruptly: with SO_LINGER 0 the kernel sends an RST instead of a FIN
    and discards what was not sent yet, as when a device or a NAT drops the connection."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


class TcpRelay(_LoopThread):
    """A TCP relay from ``listen`` to ``target``: one upstream connection per client, bytes
    pumped both ways. Faults:

    - ``cut_every``: after that many bytes (both directions together) a connection is cut:
      the bytes up to the limit are forwarded, then both sides get an RST. Each new
      connection counts from zero, so a long stream is cut again and again;
    - ``cut_all()``: cuts every open connection now;
    - ``stall(seconds)``: the connections open now forward nothing (no bytes, and no end of
      stream or reset either; nor do they read, so TCP pushes back) for ``seconds``, or until
      ``resume()``; their sockets stay open. New
      connections are not stalled: a client that gives up on a stalled connection can come
      back through a fresh one;
    - ``trickle(k, tick)``: every connection forwards at most ``k`` bytes per ``tick`` seconds
      in each direction (``trickle(None)`` ends it);
    - ``refuse()`` / ``accept()``: new connections are refused (on Linux the port stops
      listening and a connect fails with ECONNREFUSED; elsewhere they are accepted and reset
      at once) until ``accept()``; open connections are left alone, and those the kernel had
      completed but the relay had not accepted yet are reset.

    A client whose target cannot be reached is accepted and then reset: depending on timing
    it sees the reset on its first read or already from ``connect``.

    Counters: ``stats()``."""

    def __init__(
        self,
        target: Address,
        listen: Address = ("127.0.0.1", 0),
        *,
        cut_every: Optional[int] = None,
        trickle: Optional[int] = None,
        tick: float = 0.01,
    ) -> None:
        super().__init__()
        if cut_every is not None and cut_every < 1:
            raise ValueError(f"cut_every must be at least 1 byte: {cut_every}")
        self.target = target
        self.listen = listen
        self.cut_every = cut_every
        self._trickle: Optional[int] = None
        self._tick = tick
        self._set_trickle(trickle, tick)
        self._sock: Optional[socket.socket] = None
        self._port = 0
        self._links: Dict[_Link, "asyncio.Task[None]"] = {}
        self._opening: Set["asyncio.Task[None]"] = set()
        self._accepting: Optional["asyncio.Task[None]"] = None
        self._refusing = False
        self._counters = TcpCounters()

    @property
    def port(self) -> int:
        """The port clients connect to."""
        assert self._port, "not started"
        return self._port

    def stats(self) -> TcpCounters:
        if self._loop is None:
            return dataclasses.replace(self._counters)
        return self._call(self._snapshot)

    def _snapshot(self) -> TcpCounters:
        return dataclasses.replace(self._counters, open=len(self._links))

    # Faults, callable from any thread

    def cut_all(self) -> int:
        """Cuts every open connection (RST both ways); returns how many there were."""
        return self._call(self._cut_all)

    def stall(self, seconds: Optional[float] = None) -> int:
        """Stalls the connections open now for ``seconds`` (None: until ``resume``); returns
        how many were stalled."""
        return self._call(self._stall, seconds)

    def resume(self) -> None:
        """Ends every stall now."""
        self._call(self._resume)

    def trickle(self, k: Optional[int], tick: float = 0.01) -> None:
        """Forwards at most ``k`` bytes per ``tick`` seconds per direction and connection;
        None forwards at full speed again."""
        self._call(self._set_trickle, k, tick)

    def refuse(self) -> None:
        """Refuses new connections until ``accept``."""
        self._await(self._refuse)

    def accept(self) -> None:
        """Accepts new connections again."""
        self._await(self._accept)

    # Loop side

    def _bind(self) -> None:
        self._sock = _listening_socket(socket.SOCK_STREAM, self.listen)
        self._sock.listen(128)
        self._port = int(self._sock.getsockname()[1])

    def _begin(self) -> None:
        self._accepting = asyncio.ensure_future(self._accept_loop())

    async def _end(self) -> None:
        await self._stop_accepting()
        for opening in list(self._opening):
            opening.cancel()
        await asyncio.gather(*self._opening, return_exceptions=True)
        for link in list(self._links):
            link.end("closed")
        tasks = list(self._links.values())
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._sock is not None:
            self._sock.close()

    async def _stop_accepting(self) -> None:
        task, self._accepting = self._accepting, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _set_trickle(self, k: Optional[int], tick: float) -> None:
        if k is not None and k < 1:
            raise ValueError(f"trickle must forward at least 1 byte per tick: {k}")
        if tick <= 0:
            raise ValueError(f"tick must be positive: {tick}")
        self._trickle, self._tick = k, tick

    def _cut_all(self) -> int:
        links = [link for link in self._links if not link.ended.is_set()]
        for link in links:
            link.end("cut")
        return len(links)

    def _stall(self, seconds: Optional[float]) -> int:
        assert self._loop is not None
        links = [link for link in self._links if not link.ended.is_set()]
        for link in links:
            link.flowing.clear()
            if link.stall_timer is not None:
                link.stall_timer.cancel()
            link.stall_timer = None if seconds is None else self._loop.call_later(seconds, link.flowing.set)
            self._counters.stalled += 1
        return len(links)

    def _resume(self) -> None:
        for link in self._links:
            if link.stall_timer is not None:
                link.stall_timer.cancel()
                link.stall_timer = None
            link.flowing.set()

    async def _refuse(self) -> None:
        """Stops listening. On Linux, shutdown(SHUT_RD) on a listening socket stops listening
        and keeps the port bound (it was bound by number): connects are refused by the kernel
        and ``accept`` listens again on the same port. Elsewhere the accept loop resets what
        it accepts while refusing. The accept loop is stopped first, so no pending accept
        sees the socket change under it."""
        if self._refusing:
            return
        self._refusing = True
        if sys.platform.startswith("linux"):
            await self._stop_accepting()
            assert self._sock is not None
            self._sock.shutdown(socket.SHUT_RD)

    async def _accept(self) -> None:
        if not self._refusing:
            return
        self._refusing = False
        if self._accepting is None:
            assert self._sock is not None
            self._sock.listen(128)
            if self._sock.getsockname()[1] != self._port:  # the port was lost: take it again
                self._sock.close()
                self._sock = _listening_socket(socket.SOCK_STREAM, (self.listen[0], self._port))
                self._sock.listen(128)
            self._accepting = asyncio.ensure_future(self._accept_loop())

    async def _accept_loop(self) -> None:
        loop = asyncio.get_running_loop()
        assert self._sock is not None
        while True:
            try:
                client, _ = await loop.sock_accept(self._sock)
            except OSError:  # out of descriptors, or a connection reset in the backlog
                await asyncio.sleep(0.05)
                continue
            client.setblocking(False)
            if self._refusing:
                self._counters.refused += 1
                _reset(client)
                continue
            self._counters.accepted += 1
            opening = asyncio.ensure_future(self._open(client))
            self._opening.add(opening)
            opening.add_done_callback(self._opening.discard)

    async def _open(self, client: socket.socket) -> None:
        """Connects upstream for a new client and serves the pair; a client whose target
        cannot be reached is reset, as the target would have refused it."""
        loop = asyncio.get_running_loop()
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(upstream, self.target), CONNECT_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError):
            self._counters.upstream_failed += 1
            upstream.close()
            _reset(client)
            return
        except asyncio.CancelledError:  # the relay is stopping
            upstream.close()
            _reset(client)
            raise
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(client, upstream)
        self._links[link] = asyncio.ensure_future(self._serve(link))

    async def _serve(self, link: _Link) -> None:
        """Runs both pumps until the link ends, then closes both sockets: with an RST when it
        was cut or one side broke, else normally. The sockets are closed only after the pumps
        have stopped, so no pending read outlives its socket (a descriptor number reused by
        the next connection must not be touched by a stale read)."""
        pumps = [
            asyncio.ensure_future(self._pump(link, link.client, link.upstream, "to_target")),
            asyncio.ensure_future(self._pump(link, link.upstream, link.client, "to_client")),
        ]
        try:
            await link.ended.wait()
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            if link.stall_timer is not None:
                link.stall_timer.cancel()
            how = link.how or "closed"
            for sock in (link.client, link.upstream):
                if how == "closed":
                    sock.close()
                else:
                    _reset(sock)
            setattr(self._counters, how, getattr(self._counters, how) + 1)
            del self._links[link]

    async def _pump(self, link: _Link, src: socket.socket, dst: socket.socket, direction: str) -> None:
        """Forwards ``src`` to ``dst`` with the stall, trickle and cut faults."""
        loop = asyncio.get_running_loop()
        while True:
            await link.flowing.wait()
            try:
                data: Optional[bytes] = await loop.sock_recv(src, self._trickle or TCP_CHUNK)
            except OSError:
                data = None
            # A read already waiting when a stall began may end during it: what it brings
            # (bytes, the end of the stream or a reset) waits for the stall to end too.
            await link.flowing.wait()
            if data is None:  # reset or broken by one side: the other side is reset too
                link.end("reset")
                return
            if not data:
                self._half_close(link, dst)
                return
            data, cut = self._within_budget(link, data)
            try:
                await loop.sock_sendall(dst, data)
            except OSError:
                link.end("reset")
                return
            self._count(direction, len(data))
            if cut:
                link.end("cut")
                return
            if self._trickle is not None:
                await asyncio.sleep(self._tick)

    def _within_budget(self, link: _Link, data: bytes) -> Tuple[bytes, bool]:
        """The part of ``data`` that fits before the ``cut_every`` limit, and whether the
        link is to be cut after it."""
        if self.cut_every is None:
            return data, False
        room = self.cut_every - link.forwarded
        if len(data) < room:
            link.forwarded += len(data)
            return data, False
        link.forwarded = self.cut_every
        return data[:room], True

    def _count(self, direction: str, n: int) -> None:
        if direction == "to_target":
            self._counters.bytes_to_target += n
        else:
            self._counters.bytes_to_client += n

    @staticmethod
    def _half_close(link: _Link, dst: socket.socket) -> None:
        """One side finished sending: pass the FIN on; once both have, the link is over."""
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            link.end("reset")
            return
        link.eofs += 1
        if link.eofs == 2:
            link.end("closed")


# ---------------------------------------------------------------------------------------------
# Command line


def _address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def _delay(text: str) -> Tuple[float, float]:
    low, _, high = text.partition(":")
    try:
        return float(low), float(high or low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN:MAX in milliseconds, got {text!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True)
    udp = modes.add_parser("udp", help="relay datagrams with drop, duplicate, reorder and delay")
    tcp = modes.add_parser("tcp", help="relay connections with cuts, stalls, trickle and refusal")
    for mode in (udp, tcp):
        mode.add_argument("--target", type=_address, required=True, help="HOST:PORT to forward to")
        mode.add_argument("--listen", type=_address, default=("127.0.0.1", 0), help="HOST:PORT (default: a free port)")
    udp.add_argument("--drop", type=float, default=0.0, help="percent of datagrams dropped")
    udp.add_argument("--duplicate", type=float, default=0.0, help="percent of datagrams sent twice")
    udp.add_argument("--reorder", type=float, default=0.0, help="percent of datagrams held back")
    udp.add_argument("--delay", type=_delay, default=(0.0, 0.0), help="MIN:MAX milliseconds")
    udp.add_argument("--seed", type=int, default=0)
    tcp.add_argument("--cut-every", type=int, default=None, help="cut each connection after this many bytes")
    tcp.add_argument("--trickle", type=int, default=None, help="at most this many bytes per tick")
    tcp.add_argument("--tick", type=float, default=0.01, help="seconds (default 0.01)")
    return parser


def _relay_from(args: argparse.Namespace) -> _LoopThread:
    if args.mode == "udp":
        return UdpRelay(args.target, args.listen, drop=args.drop, duplicate=args.duplicate, reorder=args.reorder,
                        delay_ms=args.delay, seed=args.seed)
    return TcpRelay(args.target, args.listen, cut_every=args.cut_every, trickle=args.trickle, tick=args.tick)


def _stats_json(relay: _LoopThread) -> str:
    if isinstance(relay, UdpRelay):
        return json.dumps({k: dataclasses.asdict(v) for k, v in relay.stats().items()})
    assert isinstance(relay, TcpRelay)
    return json.dumps(dataclasses.asdict(relay.stats()))


def _command(relay: _LoopThread, line: str) -> Optional[str]:
    """Runs one command line; returns the answer to print, or None to quit."""
    words = line.split()
    if not words:
        return ""
    verb, rest = words[0], words[1:]
    if verb == "quit":
        return None
    if verb == "stats":
        return _stats_json(relay)
    if not isinstance(relay, TcpRelay):
        return f"error: {verb!r} needs a tcp relay"
    if verb == "cut":
        return f"cut {relay.cut_all()}"
    if verb == "stall":
        return f"stalled {relay.stall(float(rest[0]) if rest else None)}"
    if verb == "resume":
        relay.resume()
    elif verb == "trickle":
        relay.trickle(int(rest[0]) if rest and rest[0] != "off" else None, float(rest[1]) if len(rest) > 1 else 0.01)
    elif verb == "refuse":
        relay.refuse()
    elif verb == "accept":
        relay.accept()
    else:
        return f"error: unknown command {verb!r}"
    return "ok"


def main() -> int:
    args = _parser().parse_args()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with _relay_from(args) as relay:
        print(relay.port, flush=True)  # type: ignore[attr-defined]
        reader = threading.Thread(target=_read_commands, args=(relay, stop), daemon=True)
        reader.start()
        while not stop.wait(0.2):
            pass
        print(_stats_json(relay), flush=True)
    return 0


def _read_commands(relay: _LoopThread, stop: threading.Event) -> None:
    """Commands from stdin until ``quit``; at the end of stdin the relay runs on until a
    signal, so it can be started in the background with no stdin."""
    for line in sys.stdin:
        try:
            answer = _command(relay, line)
        except (ValueError, IndexError) as e:
            answer = f"error: {e}"
        if answer is None:
            stop.set()
            return
        if answer:
            print(answer, flush=True)


if __name__ == "__main__":
    sys.exit(main())
