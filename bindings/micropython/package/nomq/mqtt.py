"""`nomq.mqtt`: a small asyncio MQTT 3.1.1/5.0 client for MicroPython over nomq's core.

    from nomq.mqtt import MqttClient

    c = MqttClient("192.168.1.10", client_id="sensor-1")
    await c.connect()
    granted = await c.subscribe("cmd/#", 1)        # b"\\x01"
    await c.publish("sensors/t", b"21.5", qos=1)   # returns after PUBACK
    async for m in c:                              # or: m = await c.recv()
        print(m.topic, m.payload, m.qos, m.retain)
    await c.disconnect()

The MQTT session (packets, QoS 0/1/2 state machines, keep alive, bounded outbox, reconnect
backoff with jitter) is nomq's Rust core (`_nomq.MqttSession`); this module drives it with
asyncio streams (nomq/_mqtt_driver.py, shared with mqtt_async). Reconnecting is the core's:
after a loss it asks for a new connection after its backoff, resumes the session and resends
unacknowledged QoS 1/2 messages.

Defaults suit a board with about 100 KB of heap: 8 QoS 1/2 publishes in flight, an outbox of
32 messages or 16 KiB, packets from the broker up to 16 KiB, a receive queue of 32 messages
or 16 KiB.

Publishing (`publish`):

- QoS 0 returns once the session queued the message: it leaves in the next write, which
  batches every publish made before the application yields (`await c.flush()` waits for it);
- QoS 1 returns after PUBACK, QoS 2 after PUBCOMP; `wait=False` returns a `Delivery` at once
  instead, to stream many messages (`await d.wait()`, or `await c.drain()` for all);
- a refused message (MQTT 5 reason >= 0x80), a QoS 2 message whose session the broker lost
  after PUBREC, and a message dropped by the outbox policy raise `MqttPublishError`;
- when the outbox is full, `outbox_policy` decides: "wait" (default) waits for room, "fail"
  raises `QueueFull` (a `NomqError`), "drop_oldest" drops the oldest queued message (its `publish`
  raises `MqttPublishError`).

Receiving: messages join a queue bounded by `max_queued_messages` and `max_queued_bytes`.
When either bound is reached the client stops reading the socket until `recv()` takes a
message: TCP pushes back on the broker, which keeps or queues what follows under its own
QoS rules, so nothing is dropped here. The messages of the read in progress still join (the
queue can exceed its bounds by one read, 2 KiB). A consumer that stops reading for good also
stops acknowledgements from being read: keep consuming while awaiting a QoS 1/2 publish.
"""
import asyncio

from _nomq import MQTT_CONFIRMED, MQTT_DROPPED, MQTT_SENT, NomqError
from micropython import const

from ._mqtt_driver import DONE, Driver, Ready, is_full

_OUTBOX_POLICIES = ("wait", "fail", "drop_oldest")

# How long a connect() waits for the first CONNACK by default (ms): the core keeps trying
# in the background anyway.
_CONNECT_WAIT_MS = const(15000)


class MqttPublishError(NomqError):
    """A publish ended without delivery: `outcome` is the core's (MQTT_REFUSED,
    MQTT_SESSION_LOST, MQTT_EXPIRED) or MQTT_DROPPED; `reason` the MQTT reason code."""

    def __init__(self, message, outcome=None, reason=0):
        super().__init__(message)
        self.outcome = outcome
        self.reason = reason


class MqttMessage:
    """A received message: `topic` (str), `payload` (bytes), `qos`, `retain`."""

    def __init__(self, topic, payload, qos, retain):
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain

    def __repr__(self):
        return "MqttMessage(%r, %d bytes, qos=%d, retain=%s)" % (self.topic, len(self.payload), self.qos, self.retain)


_OUTCOME_NAMES = {2: "refused by the broker", 3: "expired", 4: "session lost after PUBREC: delivery unknown"}


def _result(value):
    """Raises unless `value` (the event that ended a publish) is a delivery."""
    if value is None:
        raise MqttPublishError("publish: client closed")
    if value[0] == MQTT_DROPPED:
        raise MqttPublishError("publish: dropped from the full outbox (drop_oldest)", MQTT_DROPPED)
    outcome = value[2]
    if outcome != MQTT_CONFIRMED and outcome != MQTT_SENT:
        raise MqttPublishError(
            "publish: %s (reason 0x%02x)" % (_OUTCOME_NAMES.get(outcome, "failed"), value[3]), outcome, value[3]
        )


class Delivery:
    """A publish in progress (`publish(..., wait=False)`): `await d.wait()` returns once it is
    acknowledged, or raises `MqttPublishError`; `d.done()` tells whether it has ended."""

    def __init__(self, done):
        self._done = done

    def done(self):
        return self._done is None or self._done.is_set()

    async def wait(self):
        if self._done is not None:
            await self._done.wait()
            _result(self._done.value)


class MqttClient(Driver):
    """An MQTT client over nomq's session; see the module docstring."""

    def __init__(
        self,
        host,
        port=None,
        *,
        client_id="",
        version=4,
        clean_start=True,
        keep_alive=60,
        username=None,
        password=None,
        will=None,
        ssl=None,
        server_hostname=None,
        session_expiry=None,
        max_inflight=8,
        max_outbox_messages=32,
        max_outbox_bytes=16384,
        max_packet_size=16384,
        outbox_policy="wait",
        max_queued_messages=32,
        max_queued_bytes=16384,
        connect_timeout_ms=10000,
        reconnect=True,
        reconnect_initial_ms=100,
        reconnect_max_ms=30000,
        reconnect_stable_ms=10000
    ):
        """`will` is a (topic, payload, qos, retain) tuple; `ssl` True or an SSLContext
        enables TLS (port 8883 by default); `session_expiry` (MQTT 5) defaults to 300 s so a
        reconnect resumes the session (0 in 3.1.1, which keeps it by client id)."""
        if outbox_policy not in _OUTBOX_POLICIES:
            raise ValueError("outbox_policy must be one of %s" % (_OUTBOX_POLICIES,))
        if port is None:
            port = 8883 if ssl else 1883
        if session_expiry is None:
            session_expiry = 300 if version == 5 else 0
        kw = {}
        if will is not None:
            topic, payload = will[0], will[1]
            kw["will_topic"] = topic
            kw["will_payload"] = payload
            kw["will_qos"] = will[2] if len(will) > 2 else 0
            kw["will_retain"] = will[3] if len(will) > 3 else False
        super().__init__(
            host,
            port,
            ssl,
            server_hostname,
            client_id=client_id,
            version=version,
            clean_start=clean_start,
            keep_alive=keep_alive,
            username=username,
            password=password,
            session_expiry=session_expiry,
            max_inflight=max_inflight,
            max_outbox_messages=max_outbox_messages,
            max_outbox_bytes=max_outbox_bytes,
            max_packet_size=max_packet_size,
            drop_oldest=outbox_policy == "drop_oldest",
            connect_timeout_ms=connect_timeout_ms,
            reconnect=reconnect,
            reconnect_initial_ms=reconnect_initial_ms,
            reconnect_max_ms=reconnect_max_ms,
            reconnect_stable_ms=reconnect_stable_ms,
            **kw
        )
        self.max_outbox_bytes = max_outbox_bytes
        self._policy = outbox_policy
        self._queue = []  # received MqttMessage, oldest first
        self._queue_bytes = 0
        self._max_queued = max_queued_messages
        self._max_queued_bytes = max_queued_bytes
        self._arrived = asyncio.Event()
        self._streaming = []  # Done of publish(wait=False), for drain()
        self._stream_error = None  # the first failure among them, raised by drain()
        self.session_present = False
        self.disconnect_reason = None  # (why, reason code) of the last connection loss

    # ===== connection

    async def connect(self, timeout_ms=_CONNECT_WAIT_MS):
        """Starts the session and waits until connected; raises OSError(ETIMEDOUT) after
        `timeout_ms` (the core keeps trying in the background until `disconnect()`).
        Returns whether the broker resumed a stored session."""
        if self.closed:
            raise NomqError("MqttClient: closed")
        self.start()
        if not self.connected:
            try:
                await asyncio.wait_for_ms(self._until_connected(), timeout_ms)
            except asyncio.TimeoutError:
                raise OSError(110, "MQTT connect timed out (%s)" % (self.disconnect_reason,))
        return self.session_present

    async def _until_connected(self):
        while not self.connected:
            if self.closed:
                raise NomqError("MqttClient: closed")
            await self.wait_change()

    def _on_connected(self, session_present, reason):
        self.session_present = session_present

    def _on_disconnected(self, why, reason):
        self.disconnect_reason = (why, reason)

    async def disconnect(self):
        """Sends DISCONNECT (the broker drops the will), closes the connection and stops
        reconnecting. Publishes still waiting raise `MqttPublishError`. The metrics stay
        readable; `close()` frees the native session (collection does too)."""
        if self.closed:
            return
        self._final_metrics = None
        Driver.disconnect(self)
        await asyncio.sleep_ms(0)
        self._final_metrics = self.session.metrics()
        self.close()

    def metrics(self):
        """The core's counters and gauges: sent, received, retransmitted, reconnects, dropped,
        duplicates, inflight, queued_messages, queued_bytes."""
        if self.closed:
            return getattr(self, "_final_metrics", None) or {}
        return self.session.metrics()

    # ===== publishing

    def publish(self, topic, payload, qos=0, retain=False, wait=True):
        """Publishes; see the module docstring. Returns an awaitable whose result is None,
        or a `Delivery` with `wait=False` at QoS 1/2."""
        # QoS 0, and QoS 1/2 with wait=False, with room in the outbox are the hot paths:
        # queued here, and what is returned has already finished (no coroutine object: see
        # Ready). Anything else, refusals included, goes to the coroutine, so errors are
        # raised where the caller awaits.
        pid = None
        try:
            if (qos == 0 or not wait) and not self.closed and len(topic) + len(payload) <= self.max_outbox_bytes:
                pid = self.session.publish(topic, payload, qos, retain)
        except Exception:  # noqa: BLE001 - nothing was queued; _publish raises it again
            pid = None
        if pid is None:
            return self._publish(topic, payload, qos, retain, wait)
        self.wake()
        if qos == 0:
            return DONE
        return Ready(self._track_streamed(pid))

    async def _publish(self, topic, payload, qos, retain, wait):
        if self.closed:
            raise NomqError("MqttClient: closed")
        if len(topic) + len(payload) > self.max_outbox_bytes:
            # It could never fit: refuse now rather than wait for room forever.
            raise ValueError("message of %d bytes exceeds max_outbox_bytes (%d)"
                             % (len(topic) + len(payload), self.max_outbox_bytes))
        while True:
            try:
                pid = self.session.publish(topic, payload, qos, retain)
                break
            except NomqError as e:
                if not is_full(e) or self._policy != "wait":
                    raise
            # Full: write what is queued, then wait for a place (an acknowledgement, or a
            # reconnect that lets the outbox drain).
            self._service()
            await self.wait_change()
            if self.closed:
                raise NomqError("MqttClient: closed")
        if qos == 0:
            self.wake()
            return None
        if not wait:
            self.wake()
            return self._track_streamed(pid)
        done = self.track_publish(pid)
        self._service()  # it waits anyway: write now rather than at the pump's turn
        await done.wait()
        _result(done.value)
        return None

    async def flush(self):
        """Writes everything queued now (QoS 0 publishes included) and yields."""
        self._service()
        await asyncio.sleep_ms(0)

    def _track_streamed(self, pid):
        """Tracks a wait=False publish; its Delivery."""
        done = self.track_publish(pid)
        streaming = self._streaming
        streaming.append(done)
        # Forget the finished ones at the front (acknowledgements come in order), so the
        # list stays about as long as what is in flight.
        while len(streaming) > 16 and streaming[0].is_set():
            self._note_stream_result(streaming.pop(0))
        return Delivery(done)

    def _note_stream_result(self, done):
        try:
            _result(done.value)
        except MqttPublishError as e:
            if self._stream_error is None:
                self._stream_error = e

    async def drain(self):
        """Waits until every `publish(..., wait=False)` so far has ended; raises the first
        failure among them (after waiting for all)."""
        self._service()
        streaming = self._streaming
        while streaming:
            done = streaming[0]
            await done.wait()
            if streaming and streaming[0] is done:
                streaming.pop(0)
                self._note_stream_result(done)
        e, self._stream_error = self._stream_error, None
        if e is not None:
            raise e

    # ===== subscribing

    async def _request(self, rid):
        done = self.track_request(rid)
        self._service()
        await done.wait()
        if done.value is None:
            raise NomqError("MqttClient: closed")
        return done.value[2]

    async def subscribe(self, topic_filter, qos=0):
        """Subscribes and returns the broker's reason codes (bytes, one per filter: the
        granted QoS, or >= 0x80 when refused). Resubscribed by the core after a reconnect
        that lost the session."""
        if self.closed:
            raise NomqError("MqttClient: closed")
        return await self._request(self.session.subscribe(topic_filter, qos))

    async def unsubscribe(self, topic_filter):
        """Unsubscribes; returns the reason codes (MQTT 5; empty in 3.1.1)."""
        if self.closed:
            raise NomqError("MqttClient: closed")
        return await self._request(self.session.unsubscribe(topic_filter))

    # ===== receiving

    def _on_message(self, ev):
        m = MqttMessage(ev[1], ev[2], ev[3], ev[4])
        self._queue.append(m)
        self._queue_bytes += len(m.payload)
        if len(self._queue) >= self._max_queued or self._queue_bytes >= self._max_queued_bytes:
            self.pause_reading(True)
        self._arrived.set()
        return None

    def pending(self):
        """Messages waiting in the receive queue."""
        return len(self._queue)

    async def recv(self):
        """The next message (an MqttMessage); waits for one. Raises NomqError once the client
        is closed and the queue is empty."""
        q = self._queue
        while not q:
            if self.closed:
                raise NomqError("MqttClient: closed")
            self._arrived.clear()
            await self._arrived.wait()
        m = q.pop(0)
        self._queue_bytes -= len(m.payload)
        if self._paused and len(q) < self._max_queued and self._queue_bytes < self._max_queued_bytes:
            self.pause_reading(False)
        return m

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.recv()
        except NomqError:
            if self.closed:
                raise StopAsyncIteration
            raise

    def close(self):
        """Frees everything now (the native session included); waiting calls end."""
        Driver.close(self)
        self._arrived.set()
