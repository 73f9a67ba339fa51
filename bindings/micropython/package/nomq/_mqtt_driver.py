"""The asyncio driver shared by `nomq.mqtt.MqttClient` and `mqtt_async.MQTTClient`.

It runs one `_nomq.MqttSession` (MQTT packets, QoS 0/1/2 state, keep alive, bounded outbox
and reconnect backoff, all in nomq's core) over asyncio streams. The driver only moves bytes
and time:

- OPEN_TRANSPORT: open TCP (or TLS) with `asyncio.open_connection`, then `session.connect()`,
  or `session.connection_lost()` when that fails; the core decides when to try again;
- bytes read go to `handle_bytes`; bytes from `poll_transmit` go to the stream;
- `poll_timeout` arms one timer (the pump task), which calls `handle_timeout`;
- DISCONNECTED: close the socket.

Writes are batched: a publish only queues into the session and wakes the pump, so every
publish made before the application next yields leaves in one write (each `poll_transmit`
gives up to 8 KiB). A publish that is going to wait anyway (QoS 1/2 awaited) flushes at once.
Only one place writes at a time: uasyncio's `Stream.drain` loses bytes written while it waits,
so while a drain is in progress new bytes stay in the session until it ends.

Per connection there are a reader task and a writer task (the writer only drains when the
socket is full); one pump task per client arms the timer and opens connections.
"""
import asyncio
import sys

from _nomq import (
    MQTT_CONNECTED,
    MQTT_DISCONNECTED,
    MQTT_DROPPED,
    MQTT_MESSAGE,
    MQTT_OPEN_TRANSPORT,
    MQTT_PUBLISH_DONE,
    MQTT_SUBSCRIBED,
    MQTT_UNSUBSCRIBED,
    MqttSession,
    NomqError,
    QueueFull,
    monotonic_ms,
)
from os import urandom
from micropython import const

# Bytes asked of the socket per read: small enough for a board's heap, large enough that a
# burst of small messages is handled in a few calls.
_READ_SIZE = const(2048)

# setsockopt(IPPROTO_TCP, TCP_NODELAY): not every port's socket module names them.
_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)
_TCP_QUICKACK = const(12)  # Linux only
_LINUX = sys.platform == "linux"

# Publishes queued without a write before one is forced even if the application never yields
# (a tight `await publish()` loop at QoS 0 does not give the pump a turn).
_BATCH = const(32)


class Ready:
    """An awaitable that has already finished, with `value` as its result: what a publish
    that completed on the spot returns, so the hot paths create no coroutine. On MicroPython
    a coroutine object costs a heap allocation and its share of collections, several times
    the publish itself. `await x` is `yield from iter(x)`; `send` makes it acceptable to
    `asyncio.create_task`, `wait_for` and `gather`, as the coroutine it stands for was."""

    def __init__(self, value=None):
        self.value = value

    def __iter__(self):
        # With no result, an empty iterator ends the await without raising StopIteration.
        return iter(()) if self.value is None else self

    def __next__(self):
        raise StopIteration(self.value)

    def send(self, value):
        raise StopIteration(self.value)

    def throw(self, *exc):
        raise exc[0] if exc else StopIteration

    def close(self):
        pass


# The finished awaitable without a result; stateless, so one instance serves every caller.
DONE = Ready()


def is_full(e):
    """Whether the session refused a publish because its outbox is full."""
    return isinstance(e, QueueFull)


class Done:
    """The end of one publish or request: `value` is the event tuple that ended it
    (PUBLISH_DONE, DROPPED, SUBSCRIBED, UNSUBSCRIBED), or None when the client closed. The
    asyncio.Event to wait on is made only when someone waits before the end: most streamed
    publishes end before anyone looks, and an Event (with its task queue) per publish would
    cost more than the publish."""

    def __init__(self):
        self.value = None
        self.ended = False
        self._event = None

    def finish(self, value):
        self.value = value
        self.ended = True
        if self._event is not None:
            self._event.set()

    def is_set(self):
        return self.ended

    def wait(self):
        """An awaitable that ends with the publish or request."""
        if self.ended:
            return DONE
        if self._event is None:
            self._event = asyncio.Event()
        return self._event.wait()


def _close_socket(stream):
    # uasyncio's Stream.close() does nothing and wait_closed() only closes the socket without
    # yielding, so close the socket here, synchronously, wherever the connection is dropped.
    try:
        stream.s.close()
    except Exception:  # noqa: BLE001 - already closed or broken: nothing left to do
        pass


class Driver:
    """One MqttSession over asyncio streams. Subclasses receive `_on_message(event)` (may
    return an awaitable, awaited before more is read), `_on_connected(session_present,
    reason)` and `_on_disconnected(why, reason)`."""

    def __init__(self, host, port, ssl=None, server_hostname=None, **session_kw):
        # MQTT 3.1.1 ends a clean session with its connection (MQTT-3.1.2-6), so a session
        # that starts clean could never be resumed after a loss, and QoS 1/2 messages in
        # flight would be lost with it. As mqboard does, start clean once on a connection of
        # its own, then run the session with clean_start off from the first connection on.
        self._wipe = None
        if session_kw.get("version", 4) == 4 and session_kw.get("clean_start", True) and session_kw.get("client_id"):
            session_kw["clean_start"] = False
            self._wipe = dict(client_id=session_kw["client_id"], version=4, clean_start=True, keep_alive=0,
                              reconnect=False, username=session_kw.get("username"),
                              password=session_kw.get("password"))
        self._wipe_task = None
        self._connect_timeout = session_kw.get("connect_timeout_ms") or 10000
        self.session = MqttSession(**session_kw)
        self.host = host
        self.port = port
        self.ssl = ssl
        self.server_hostname = server_hostname
        self.connected = False
        self.closed = False
        self.max_outbox_bytes = session_kw.get("max_outbox_bytes")
        self._stream = None
        self._gen = 0  # bumped whenever the connection is dropped: late openers give up
        self._reader = None
        self._writer = None
        self._opener = None
        self._pump_task = None
        self._draining = False
        self._drain = asyncio.Event()  # the writer task drains the stream
        self._wake = asyncio.Event()  # the pump re-reads the timer
        self._change = asyncio.Event()  # connected, disconnected, or an outbox place freed
        self._paused = False
        self._resume = asyncio.Event()
        self._pubs = {}  # publish id -> Done, for the publishes someone waits on
        self._reqs = {}  # subscribe/unsubscribe request id -> Done
        self._awaiting = []  # awaitables returned by _on_message
        self._queued = 0  # publishes queued since the last flush
        self.last_error = None  # the OSError that ended the last connection attempt, if any

    # ===== overridden by the clients

    def _on_message(self, event):
        return None

    def _on_connected(self, session_present, reason):
        pass

    def _on_disconnected(self, why, reason):
        pass

    # ===== running

    def start(self):
        """Asks the session for a connection (unless it is connected or trying already) and
        starts the pump."""
        if self._pump_task is None:
            self._pump_task = asyncio.create_task(self._pump())
        if self._wipe is not None:
            if self._wipe_task is None:
                self._wipe_task = asyncio.create_task(self._start_clean())
        elif self.session.is_idle():
            self.session.start()
        self._wake.set()

    def stop(self):
        """No more connection attempts until start()."""
        if self._wipe_task is not None and self._wipe_task is not asyncio.current_task():
            self._wipe_task.cancel()
        self._wipe_task = None
        self.session.disconnect()
        self._service()

    async def _start_clean(self):
        """Discards the broker's stored session (3.1.1 clean start, see __init__), retrying
        with a growing delay, then starts the real session."""
        delay = 500
        try:
            while not self.closed:
                try:
                    await self._clean_slate()
                    break
                except (OSError, ValueError, NomqError) as e:  # TLS failures are ValueErrors
                    self.last_error = e
                    why, reason = (6, e.args[1]) if len(e.args) > 1 and e.args[0] == -6 else (4, 0)
                    self._signal()
                    self._on_disconnected(why, reason)
                await asyncio.sleep_ms(delay // 2 + urandom(1)[0] * delay // 512)
                delay = min(delay * 2, 30000)
            else:
                return
            self._wipe = None
            self.session.start()
            self._wake.set()
        except asyncio.CancelledError:
            pass
        finally:
            if self._wipe_task is asyncio.current_task():
                self._wipe_task = None

    async def _clean_slate(self):
        """One clean connection with a throwaway session: CONNECT, CONNACK, DISCONNECT.
        Raises OSError (-6, CONNACK return code) when the broker refuses."""
        s = MqttSession(**self._wipe)
        st = None
        try:
            s.start()
            s.poll_event()  # OPEN_TRANSPORT
            st = await self._open_stream()
            s.connect()
            deadline = monotonic_ms() + self._connect_timeout
            while True:
                data = s.poll_transmit()
                while data is not None:
                    st.write(data)
                    data = s.poll_transmit()
                await st.drain()
                ev = s.poll_event()
                while ev is not None:
                    if ev[0] == MQTT_CONNECTED:
                        s.disconnect()
                        data = s.poll_transmit()
                        while data is not None:
                            st.write(data)
                            data = s.poll_transmit()
                        await st.drain()
                        return
                    if ev[0] == MQTT_DISCONNECTED:
                        raise OSError(-6, ev[2]) if ev[1] == 6 else OSError(-1, "Connection closed")
                    ev = s.poll_event()
                left = deadline - monotonic_ms()
                if left <= 0:
                    raise OSError(-1, "Connection timed out")
                try:
                    data = await asyncio.wait_for_ms(st.read(256), left)
                except asyncio.TimeoutError:
                    raise OSError(-1, "Connection timed out")
                if not data:
                    raise OSError(-1, "Connection closed")
                s.handle_bytes(data)
        finally:
            if st is not None:
                _close_socket(st)
            s.close()

    async def _open_stream(self):
        if self.ssl:
            reader, _ = await asyncio.open_connection(
                self.host, self.port, ssl=self.ssl, server_hostname=self.server_hostname or self.host
            )
        else:
            reader, _ = await asyncio.open_connection(self.host, self.port)
        # MicroPython's open_connection returns one stream twice (reader, writer).
        try:
            # No Nagle: a small write (an acknowledgement, the tail of a stream) would wait for
            # the peer's delayed ACK, up to 40 ms, before leaving.
            reader.s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
        except (AttributeError, OSError):
            pass  # a TLS socket or a port without the option
        return reader

    def wake(self):
        """The application queued something: it is written at the pump's next turn, or now
        if enough has piled up (see _BATCH)."""
        self._queued += 1
        if self._queued >= _BATCH:
            self._service()
        elif not self._wake.state:  # set() is a Python call: skip it when already set
            self._wake.set()

    async def wait_change(self):
        """Waits until the connection state changes or an outbox place frees."""
        self._change.clear()
        await self._change.wait()

    def _signal(self):
        self._change.set()

    async def _pump(self):
        s = self.session
        wake = self._wake
        try:
            while not self.closed:
                due = s.poll_timeout()
                if due is not None and due <= monotonic_ms():
                    s.handle_timeout()
                self._service()
                if self._awaiting:
                    await self._run_awaiting()
                due = s.poll_timeout()
                if due is None:
                    await wake.wait()
                else:
                    delay = due - monotonic_ms()
                    if delay > 0:
                        try:
                            await asyncio.wait_for_ms(wake.wait(), delay)
                        except asyncio.TimeoutError:
                            pass
                wake.clear()
        except asyncio.CancelledError:
            pass

    def _service(self):
        """Writes what the session has to send, then takes its events (the session's calling
        contract: transmit, events, then the timer, which the pump re-reads)."""
        if self.closed:
            return
        self._flush()
        s = self.session
        poll = s.poll_event
        pubs = self._pubs
        change = self._change
        again = False  # whether handling the events may have queued bytes
        while True:
            ev = poll()
            if ev is None:
                break
            kind = ev[0]
            if kind == MQTT_PUBLISH_DONE or kind == MQTT_DROPPED:
                done = pubs.pop(ev[1], None)
                if done is not None:
                    done.finish(ev)
                if not change.state:  # an outbox place freed (set() is a Python call)
                    change.set()
            elif kind == MQTT_MESSAGE:
                try:
                    r = self._on_message(ev)
                except Exception as e:  # noqa: BLE001 - the application's handler failed
                    self._handler_error(e)
                    r = None
                if r is not None:
                    self._awaiting.append(r)
            elif kind == MQTT_SUBSCRIBED or kind == MQTT_UNSUBSCRIBED:
                done = self._reqs.pop(ev[1], None)
                if done is not None:
                    done.finish(ev)
            elif kind == MQTT_CONNECTED:
                again = True
                self.connected = True
                self._signal()
                self._on_connected(ev[1], ev[2])
            elif kind == MQTT_DISCONNECTED:
                self.connected = False
                self._drop_stream()
                self._signal()
                self._wake.set()
                self._on_disconnected(ev[1], ev[2])
            elif kind == MQTT_OPEN_TRANSPORT:
                self._drop_stream()
                self._opener = asyncio.create_task(self._open(self._gen))
        if again:
            # A CONNACK resends what was in flight and what was queued meanwhile.
            self._flush()

    def _handler_error(self, e):
        print("mqtt: message handler failed:")
        sys.print_exception(e)

    async def _run_awaiting(self):
        while self._awaiting:
            r = self._awaiting.pop(0)
            try:
                await r
            except Exception as e:  # noqa: BLE001 - the application's coroutine failed
                self._handler_error(e)

    def _flush(self):
        """Writes every pending byte the socket takes now; the rest waits for the writer."""
        st = self._stream
        if st is None or self._draining:
            return
        self._queued = 0
        pt = self.session.poll_transmit
        try:
            while True:
                data = pt()
                if data is None:
                    return
                st.write(data)
                if st.out_buf:
                    # The socket is full: the writer task drains; until then the session
                    # keeps the rest (Stream.drain would lose bytes written meanwhile).
                    self._draining = True
                    self._drain.set()
                    return
        except (OSError, ValueError):  # MicroPython's TLS reports handshake failures as ValueError
            self._lost(st)

    # ===== the connection

    async def _open(self, gen):
        try:
            reader = await self._open_stream()
        except asyncio.CancelledError:
            return
        except Exception as e:  # noqa: BLE001 - OSError, DNS or TLS failures alike: try later
            self.last_error = e
            if gen == self._gen and not self.closed:
                self.session.connection_lost()
                self._wake.set()
            return
        finally:
            if self._opener is asyncio.current_task():
                self._opener = None
        if gen != self._gen or self.closed:
            _close_socket(reader)
            return
        self._stream = reader
        self._draining = False
        self._drain.clear()
        self._reader = asyncio.create_task(self._read(reader))
        self._writer = asyncio.create_task(self._write(reader))
        self.last_error = None
        self.session.connect()
        self._service()
        self._wake.set()

    def _drop_stream(self):
        """Closes the current connection (if any) and stops its tasks."""
        self._gen += 1
        cur = asyncio.current_task()
        opener = self._opener
        self._opener = None
        if opener is not None and opener is not cur:
            opener.cancel()
        st = self._stream
        if st is None:
            return
        self._stream = None
        self._draining = False
        for t in (self._reader, self._writer):
            if t is not None and t is not cur:
                t.cancel()
        self._reader = self._writer = None
        _close_socket(st)

    def _lost(self, st):
        """The connection `st` failed or closed (only the current one counts)."""
        if st is not self._stream or self.closed:
            return
        self._drop_stream()
        self.session.connection_lost()
        self._wake.set()  # the DISCONNECTED event and the backoff timer

    async def _read(self, st):
        s = self.session
        quickack = _LINUX
        try:
            while self._stream is st:
                data = await st.read(_READ_SIZE)
                if not data:
                    break
                if quickack and len(self._pubs) > 1:
                    # Linux delays ACKs (up to 40 ms) and falls back to that after each read;
                    # a broker with Nagle on (mosquitto's default) then holds its next small
                    # packets, the acknowledgements at the end of a stream, until it comes.
                    # Only while several publishes await acknowledgements: with one, our next
                    # packet carries the ACK, and a separate one would only cost.
                    try:
                        st.s.setsockopt(_IPPROTO_TCP, _TCP_QUICKACK, 1)
                    except (AttributeError, OSError):  # a TLS socket has no setsockopt
                        quickack = False
                s.handle_bytes(data)
                self._service()
                if self._awaiting:
                    await self._run_awaiting()
                while self._paused and self._stream is st:
                    self._resume.clear()
                    await self._resume.wait()
        except asyncio.CancelledError:
            return
        except (OSError, ValueError) as e:  # ValueError: a TLS failure
            self.last_error = e
        self._lost(st)

    async def _write(self, st):
        try:
            while self._stream is st:
                await self._drain.wait()
                self._drain.clear()
                await st.drain()
                self._draining = False
                self._service()
        except asyncio.CancelledError:
            return
        except (OSError, ValueError):  # ValueError: a TLS failure
            self._lost(st)

    # ===== reading back-pressure

    def pause_reading(self, paused):
        """Stops (or resumes) reading the socket: TCP pushes back on the broker while the
        application cannot take more messages."""
        if paused == self._paused:
            return
        self._paused = paused
        self.session.set_reading_paused(paused)
        if not paused:
            self._resume.set()

    # ===== requests

    def track_publish(self, pid):
        done = Done()
        self._pubs[pid] = done
        return done

    def track_request(self, rid):
        done = Done()
        self._reqs[rid] = done
        return done

    def disconnect(self):
        """Sends DISCONNECT when connected (the broker then drops the will) and stops
        reconnecting; the socket closes once the DISCONNECTED event is handled."""
        if self.closed:
            return
        self.stop()
        self._drop_stream()

    def close(self):
        """Ends everything: tasks, socket and the native session. Waiters get None."""
        if self.closed:
            return
        self._drop_stream()
        self.closed = True
        cur = asyncio.current_task()
        if self._wipe_task is not None and self._wipe_task is not cur:
            self._wipe_task.cancel()
        if self._pump_task is not None and self._pump_task is not cur:
            self._pump_task.cancel()
        self._pump_task = None
        for table in (self._pubs, self._reqs):
            for done in table.values():
                done.finish(None)
            table.clear()
        self.connected = False
        self._signal()
        self._resume.set()
        self.session.close()
