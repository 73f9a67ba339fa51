"""The relay itself (tests/support/fault_relay.py), against plain sockets: the fault tests rest
on it doing what it says. UDP: faithful forwarding both ways with one upstream socket per
client, faults at their rates, reproducible decisions. TCP: bytes both ways, a cut after
exactly N bytes that resets both sides, cut on demand, stall until resumed, trickle, refusal,
and the command line."""
from __future__ import annotations

import contextlib
import pathlib
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, Iterator, List, Optional, Set, Tuple

import pytest
from fault_relay import TcpRelay, UdpRelay

Address = Tuple[str, int]
RELAY_SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "support" / "fault_relay.py"


# UDP peers


class UdpPeer:
    """A UDP socket on loopback served by a thread: it records what arrives (payload and
    sender) and, as an echo, sends each datagram back."""

    def __init__(self, echo: bool) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.echo = echo
        self.got: List[bytes] = []
        self.senders: Set[Address] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> Address:
        return ("127.0.0.1", self.sock.getsockname()[1])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, sender = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.got.append(data)
            self.senders.add(sender)
            if self.echo:
                self.sock.sendto(data, sender)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@contextlib.contextmanager
def udp_peer(echo: bool) -> Iterator[UdpPeer]:
    peer = UdpPeer(echo)
    try:
        yield peer
    finally:
        peer.close()


def udp_client() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    return s


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Waits for ``condition``; the timeout only bounds a failing test."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def send_paced(sock: socket.socket, to: Address, payloads: List[bytes]) -> None:
    """Sends with a pause every few datagrams, so no socket buffer on the way overflows: a
    loss there would be the kernel's, not the relay's."""
    for i, p in enumerate(payloads):
        sock.sendto(p, to)
        if i % 20 == 19:
            time.sleep(0.002)


def test_udp_without_faults_forwards_both_ways_with_one_upstream_per_client() -> None:
    with udp_peer(echo=True) as target, UdpRelay(target.address) as relay:
        clients = [udp_client(), udp_client()]
        for k, c in enumerate(clients):
            for i in range(50):
                c.sendto(b"%d:%d" % (k, i), ("127.0.0.1", relay.port))
                assert c.recvfrom(100) == (b"%d:%d" % (k, i), ("127.0.0.1", relay.port))
        assert len(target.senders) == 2, "each client is a peer of its own at the target"
        assert relay.port not in {port for _, port in target.senders}
        stats = relay.stats()
        assert stats["to_target"].forwarded == stats["to_client"].forwarded == 100
        assert stats["total"].dropped == stats["total"].duplicated == stats["total"].reordered == 0
        for c in clients:
            c.close()


def test_udp_a_burst_is_not_dropped_by_the_relay_itself() -> None:
    """An unpaced burst of 300 datagrams of 4 KiB (1.2 MB): the relay's own socket buffers
    must hold it, so that the only losses are those it decides."""
    with udp_peer(echo=False) as target, UdpRelay(target.address) as relay:
        c = udp_client()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        for i in range(300):
            c.sendto(b"%04d" % i + bytes(4092), ("127.0.0.1", relay.port))
        wait_for(lambda: relay.stats()["to_target"].received == 300, "the relay to read the whole burst")
        c.close()


def test_udp_faults_are_applied_at_their_rates() -> None:
    n = 2000
    payloads = [b"%d" % i for i in range(n)]
    with udp_peer(echo=False) as target, \
            UdpRelay(target.address, drop=30, duplicate=10, reorder=10, reorder_hold_ms=5000, seed=7) as relay:
        c = udp_client()
        send_paced(c, ("127.0.0.1", relay.port), payloads)
        wait_for(lambda: relay.stats()["to_target"].received == n, "the relay to read everything")
        wait_for(lambda: len(target.got) == relay.stats()["to_target"].forwarded, "the target to read everything")
        c.close()
    up = relay.stats()["to_target"]
    assert up.forwarded == n - up.dropped + up.duplicated
    assert 0.25 * n < up.dropped < 0.35 * n, up
    assert 0.05 * up.received < up.duplicated < 0.15 * up.received, up
    assert up.reordered > 0.05 * n * 0.7, up
    got = [int(p) for p in target.got]
    assert len(set(got)) == n - up.dropped
    assert len(got) - len(set(got)) == up.duplicated
    inversions = sum(1 for a, b in zip(got, got[1:]) if b < a)
    assert inversions > 0, "reordering shows at the target"


def test_udp_decisions_are_reproducible_with_a_seed() -> None:
    def run(seed: int) -> Tuple[int, int, int]:
        with udp_peer(echo=False) as target, \
                UdpRelay(target.address, drop=30, duplicate=10, reorder=10, reorder_hold_ms=5000, seed=seed) as relay:
            c = udp_client()
            send_paced(c, ("127.0.0.1", relay.port), [b"x"] * 500)
            wait_for(lambda: relay.stats()["to_target"].received == 500, "the relay to read everything")
            c.close()
            s = relay.stats()["to_target"]
            return s.dropped, s.duplicated, s.reordered

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_udp_delay_is_applied_to_every_datagram() -> None:
    with udp_peer(echo=True) as target, UdpRelay(target.address, delay_ms=(1, 5)) as relay:
        c = udp_client()
        for i in range(20):
            c.sendto(b"%d" % i, ("127.0.0.1", relay.port))
        got = sorted(int(c.recvfrom(100)[0]) for _ in range(20))
        assert got == list(range(20))
        stats = relay.stats()["total"]
        assert stats.delayed == stats.forwarded == 40
        c.close()


# TCP peers


class TcpServer:
    """A TCP server on loopback with a thread per connection running ``handler``."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.05)
        self.handler = handler
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def address(self) -> Address:
        return ("127.0.0.1", self.sock.getsockname()[1])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            conn.settimeout(10)
            t = threading.Thread(target=self._run, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _run(self, conn: socket.socket) -> None:
        with conn:
            self.handler(conn)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for t in self._threads:
            t.join(10)
        self.sock.close()


@contextlib.contextmanager
def tcp_server(handler: Callable[[socket.socket], None]) -> Iterator[TcpServer]:
    server = TcpServer(handler)
    try:
        yield server
    finally:
        server.close()


def echo(conn: socket.socket) -> None:
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)
    except OSError:
        return


class Recorder:
    """A handler that records what each connection received and how it ended."""

    def __init__(self) -> None:
        self.received: List[bytes] = []
        self.endings: List[str] = []

    def __call__(self, conn: socket.socket) -> None:
        got = bytearray()
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    self.endings.append("eof")
                    break
                got += data
        except ConnectionResetError:
            self.endings.append("reset")
        self.received.append(bytes(got))


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_exactly(s: socket.socket, n: int) -> bytes:
    got = bytearray()
    while len(got) < n:
        data = s.recv(n - len(got))
        assert data, f"connection closed after {len(got)} of {n} bytes"
        got += data
    return bytes(got)


def read_until_reset(s: socket.socket) -> Tuple[bytes, Optional[str]]:
    """Everything that arrives, and how the connection ended (``reset`` or ``eof``)."""
    got = bytearray()
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return bytes(got), "eof"
            got += data
    except ConnectionResetError:
        return bytes(got), "reset"


def test_tcp_relays_both_ways_and_closes_cleanly() -> None:
    blob = bytes(range(256)) * 400
    with tcp_server(echo) as server, TcpRelay(server.address) as relay:
        with connect(relay.port) as s:
            s.sendall(blob)
            assert read_exactly(s, len(blob)) == blob
            s.shutdown(socket.SHUT_WR)
            assert read_until_reset(s) == (b"", "eof")
        wait_for(lambda: relay.stats().closed == 1, "the relay to close the connection")
        stats = relay.stats()
        assert (stats.bytes_to_target, stats.bytes_to_client, stats.cut, stats.reset, stats.open) == \
            (len(blob), len(blob), 0, 0, 0)


def test_tcp_cut_every_forwards_exactly_n_bytes_then_resets_both_sides() -> None:
    recorder = Recorder()
    with tcp_server(recorder) as server, TcpRelay(server.address, cut_every=1000) as relay:
        for round_ in range(3):
            with connect(relay.port) as s:
                s.sendall(bytes([round_]) * 600)  # under the limit: goes through
                time.sleep(0.05)
                s.sendall(bytes([round_]) * 600)  # crosses it
                assert read_until_reset(s) == (b"", "reset")
        wait_for(lambda: len(recorder.endings) == 3, "the server to see three connections end")
        assert recorder.received == [bytes([r]) * 1000 for r in range(3)]
        assert recorder.endings == ["reset"] * 3
        assert relay.stats().cut == 3


def test_tcp_cut_all_resets_every_open_connection() -> None:
    with tcp_server(echo) as server, TcpRelay(server.address) as relay:
        clients = [connect(relay.port) for _ in range(3)]
        for s in clients:
            s.sendall(b"ping")
            assert read_exactly(s, 4) == b"ping"
        assert relay.cut_all() == 3
        for s in clients:
            assert read_until_reset(s) == (b"", "reset")
            s.close()
        wait_for(lambda: relay.stats().open == 0, "the relay to forget the connections")
        assert relay.stats().cut == 3
        with connect(relay.port) as s:  # new connections are not affected
            s.sendall(b"again")
            assert read_exactly(s, 5) == b"again"


def test_tcp_stall_holds_bytes_until_it_ends() -> None:
    with tcp_server(echo) as server, TcpRelay(server.address) as relay:
        with connect(relay.port) as s:
            wait_for(lambda: relay.stats().open == 1, "the relay to connect upstream")
            assert relay.stall() == 1
            s.sendall(b"held")
            s.settimeout(0.3)
            with pytest.raises(socket.timeout):
                s.recv(10)
            with connect(relay.port) as fresh:  # a new connection is not stalled
                fresh.sendall(b"fresh")
                assert read_exactly(fresh, 5) == b"fresh"
            relay.resume()
            s.settimeout(10)
            assert read_exactly(s, 4) == b"held"
            wait_for(lambda: relay.stats().open == 1, "the relay to close the fresh connection")
            assert relay.stall(0.2) == 1  # a stall with an end lifts by itself
            s.sendall(b"later")
            assert read_exactly(s, 5) == b"later"
        assert relay.stats().stalled == 2


def test_tcp_stall_holds_an_end_of_stream_too() -> None:
    """The target closes its side during a stall: the client must not see the close before
    the stall ends (a stalled path carries nothing)."""
    close_now = threading.Event()

    def close_when_told(conn: socket.socket) -> None:
        close_now.wait(10)

    with tcp_server(close_when_told) as server, TcpRelay(server.address) as relay:
        with connect(relay.port) as s:
            wait_for(lambda: relay.stats().open == 1, "the relay to connect upstream")
            relay.stall()
            close_now.set()
            s.settimeout(0.5)
            with pytest.raises(socket.timeout):
                s.recv(10)
            relay.resume()
            s.settimeout(10)
            assert s.recv(10) == b""


def test_tcp_trickle_delivers_everything() -> None:
    blob = bytes(range(256)) * 20
    with tcp_server(echo) as server, TcpRelay(server.address, trickle=256, tick=0.002) as relay:
        with connect(relay.port) as s:
            s.sendall(blob)
            assert read_exactly(s, len(blob)) == blob
        relay.trickle(None)
        with connect(relay.port) as s:
            s.sendall(blob)
            assert read_exactly(s, len(blob)) == blob


def test_tcp_refuse_then_accept_on_the_same_port() -> None:
    with tcp_server(echo) as server, TcpRelay(server.address) as relay:
        with connect(relay.port) as kept:
            # Accepted by the relay first: connections still in the listening socket's backlog
            # when it stops listening are reset.
            wait_for(lambda: relay.stats().open == 1, "the relay to accept the connection")
            relay.refuse()
            with pytest.raises(ConnectionRefusedError):
                connect(relay.port)
            kept.sendall(b"open ones go on")
            assert read_exactly(kept, 15) == b"open ones go on"
            relay.accept()
            with connect(relay.port) as s:
                s.sendall(b"back")
                assert read_exactly(s, 4) == b"back"


def test_tcp_target_down_resets_the_client() -> None:
    with tcp_server(echo) as server:
        target = server.address
    with TcpRelay(target) as relay:  # nobody listens at the target any more
        try:
            with connect(relay.port) as s:
                assert read_until_reset(s) == (b"", "reset")
        except ConnectionResetError:
            pass  # the reset came before connect() read the socket's status: reset all the same
        wait_for(lambda: relay.stats().upstream_failed == 1, "the relay to count the failure")


def test_command_line() -> None:
    with tcp_server(echo) as server:
        proc = subprocess.Popen(
            [sys.executable, str(RELAY_SCRIPT), "tcp", "--target", f"{server.address[0]}:{server.address[1]}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            port = int(proc.stdout.readline())
            with connect(port) as s:
                s.sendall(b"via cli")
                assert read_exactly(s, 7) == b"via cli"
                proc.stdin.write("cut\n")
                proc.stdin.flush()
                assert proc.stdout.readline().strip() == "cut 1"
                assert read_until_reset(s) == (b"", "reset")
            proc.stdin.write("stats\nquit\n")
            proc.stdin.flush()
            assert '"cut": 1' in proc.stdout.readline()
            assert proc.wait(10) == 0
        finally:
            proc.kill()
            proc.wait()
