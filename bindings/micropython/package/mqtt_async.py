"""mqboard's `mqtt_async` (MicroPython, by Thorsten von Eicken) over nomq's MQTT core.

Code written for mqboard's module runs unchanged:

    from mqtt_async import MQTTClient, config
    import uasyncio as asyncio

    config.server = "192.168.0.14"          # or config["server"]: a dict with attribute access
    config.ssid = "wifi-ssid"
    config.wifi_pw = "wifi-password"
    config.subs_cb = lambda topic, msg, retained, qos: print(topic, msg)
    async def conn_callback(client): await client.subscribe("test/mqtt_async", 1)
    config.connect_coro = conn_callback

    async def main(client):
        await client.connect()
        await client.publish("test/mqtt_async", "Hello World!", qos=1)

    asyncio.run(main(MQTTClient(config)))

The API and its semantics are mqboard's: `config` holds the defaults merged into each
client's settings (a dict with attribute access; copy it with `config.copy()`, as mqboard's
tests do: MicroPython's `dict(config)` does not accept a dict subclass);
`set_last_will(config, topic, message, retain, qos)`; `MQTTMessage`; `MQTTClient(config)`
with `connect()` (raises OSError when the first connection fails, then keeps the connection
up in the background), `start()` (connects in the background, never raises),
`publish(topic, msg, retain=False, qos=0, sync=True)`, `subscribe(topic, qos=0)`,
`disconnect()` (final). `connect_coro(client)` runs after the first connection,
`wifi_coro(True/False)` on each connection and loss; `subs_cb(topic, msg, retained, qos, dup)`
(topic and msg as bytes) may also declare four or three parameters, as mqboard's hello world
and mqtt_as do, and may be a coroutine function. `clean=True` starts a clean session once,
then keeps a persistent one so that a lost connection loses nothing.

What differs, because the MQTT session is nomq's Rust core (`_nomq.MqttSession`) rather than
Python packet code:

- QoS 2 (publish, subscribe, will), where mqboard raises ValueError; `unsubscribe`;
- every publish joins the core's bounded outbox (`max_outbox_messages`, `max_outbox_bytes`) and
  leaves in call order, also across reconnects, where the core resends what was not
  acknowledged; QoS 0 `publish` returns once queued (written in the next batch), and waits
  for room while the outbox is full (mqboard blocks while disconnected);
- `publish(..., sync=False)` at QoS 1/2 returns once at most `async_window` (default 1, as
  mqboard's streaming) such publishes are unacknowledged;
- reconnecting is the core's, with exponential backoff and jitter instead of a fixed delay;
  the MQTT keep alive is `response_time`: the core pings when the connection is idle that long
  and counts it dead when no PINGRESP follows (mqboard pings on the same schedule);
- acknowledgements of received QoS 1/2 messages are the core's, sent when the message is
  received, not after `subs_cb` returns; `dup` is always 0 (the core suppresses QoS 2
  duplicates);
- `MQTTProto` (mqboard's per-connection layer) does not exist.

WiFi: on a board with `network`, `config["interface"]` (the station interface by default) is
brought up with `ssid`/`wifi_pw` before connecting and again when it drops, as mqboard does. On
the unix port (no `network`) the host keeps the network up and WiFi is skipped.
"""
import sys
from binascii import hexlify

from micropython import const

try:
    import asyncio
except ImportError:
    import uasyncio as asyncio

from nomq._mqtt_driver import DONE, Driver, is_full
from _nomq import MQTT_CONFIRMED, MQTT_SENT, NomqError

try:
    import network
    from machine import unique_id

    STA_IF = network.WLAN(network.STA_IF)
    _STAT_CONNECTING = getattr(network, "STAT_CONNECTING", 1)
except ImportError:
    # The unix port: no WiFi to manage, and no machine.unique_id.
    network = None
    _STAT_CONNECTING = 1

    def unique_id():
        return b"\xbe\xef\xf0\x0d"  # mqboard's stand-in on unix

    class _HostInterface:
        """`config["interface"]` off a board: the host keeps its network up."""

        def active(self, *on):
            return True

        def connect(self, *args, **kwargs):
            pass

        def disconnect(self):
            pass

        def isconnected(self):
            return True

        def status(self):
            return 1010  # STAT_GOT_IP

    STA_IF = _HostInterface()

try:
    import logging

    log = logging.getLogger(__name__)
except ImportError:

    class Logger:  # mqboard's fallback when micropython-logging is not installed
        def debug(self, msg, *args):
            pass

        def info(self, msg, *args):
            print(msg % (args or ()))

        def warning(self, msg, *args):
            print(msg % (args or ()))

        def exc(self, e, msg, *args):
            print(msg % (args or ()))
            sys.print_exception(e)

    log = Logger()

# Seconds between WiFi attempts (mqboard's name; tests may lower it). Broker reconnects follow
# the core's backoff instead.
_CONN_DELAY = const(1)

# Error strings of OSError(-1, ...) (mqboard's).
CONN_CLOSED = "Connection closed"
CONN_TIMEOUT = "Connection timed out"
PROTO_ERROR = "Protocol error"
CONN_ERRS = ["inv proto vers", "client_id rejected", "srv down", "user/pass malformed", "not auth"]

# Failed broker reconnects in a row after which WiFi is taken down and up again (mqboard
# bounces WiFi after each failed reconnect; the core already backs off between attempts).
_WIFI_BOUNCE_AFTER = const(3)


class Config(dict):
    """mqboard's configuration: a dict whose keys also read and write as attributes
    (`config.server = "..."`, as mqboard's README and hello-world.py write it)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)

    def __setattr__(self, name, value):
        self[name] = value

    def copy(self):
        # MicroPython's dict() copies only exact dicts; a subclass goes item by item.
        return Config(self.items())


config = Config(
    {
        "client_id": hexlify(unique_id()),
        "server": None,
        "port": 0,
        "user": None,
        "password": b"",
        "response_time": 10,  # s the broker has to answer before the connection counts as dead
        "keepalive": 600,  # s; must be at least twice response_time (mqboard's check)
        "ssl_params": None,
        "interface": STA_IF,
        "clean": True,
        "will": None,  # an MQTTMessage: set_last_will()
        "subs_cb": lambda *_: None,  # callback when a message arrives for a subscription
        "wifi_coro": None,  # notified True/False when MQTT connects/disconnects
        "connect_coro": None,  # run once when MQTT first becomes ready
        "ssid": None,
        "wifi_pw": None,
        # Beyond mqboard:
        "async_window": 1,  # publish(sync=False) left unacknowledged at most
        "max_inflight": 8,  # QoS 1/2 publishes unacknowledged at once
        "max_outbox_messages": 32,
        "max_outbox_bytes": 16384,
        "max_packet_size": 16384,  # largest packet accepted from the broker
    }
)


def _qos_check(qos):
    if not (qos == 0 or qos == 1 or qos == 2):
        raise ValueError("unsupported qos")


def _bytes(s):
    return s.encode() if isinstance(s, str) else s


def _text(s):
    return s if isinstance(s, str) else bytes(s).decode()


def set_last_will(config, topic, message, retain=False, qos=0):
    """Records the last will in `config`; the broker publishes it when the connection ends
    without DISCONNECT."""
    _qos_check(qos)
    if not topic:
        raise ValueError("empty topic")
    config["will"] = MQTTMessage(topic, message, retain, qos)


class MQTTMessage:
    """A message (the last will): topic and message as bytes."""

    def __init__(self, topic, message, retain=False, qos=0, pid=None):
        _qos_check(qos)
        self.topic = _bytes(topic)
        self.message = _bytes(message)
        self.retain = retain
        self.qos = qos
        self.pid = pid


def _is_arity_error(e):
    # MicroPython: "function takes 4 positional arguments but 5 were given"
    return "positional arguments but" in str(e) or "function takes" in str(e)


def _delivered(value):
    """Whether a finished publish (its PUBLISH_DONE event; None: the client closed) arrived."""
    return value is not None and (value[2] == MQTT_CONFIRMED or value[2] == MQTT_SENT)


class MQTTClient(Driver):
    """mqboard's client; see the module docstring."""

    def __init__(self, conf):
        c = config.copy()
        for k, v in conf.items():
            c[k] = v
        self._c = c
        if c["will"] is None:
            c["keepalive"] = 0  # no point sending a keepalive for the will without a will
        elif not isinstance(c["will"], MQTTMessage):
            raise ValueError("will must be MQTTMessage")
        if c["keepalive"] >= 65536:
            raise ValueError("invalid keepalive")
        if c["keepalive"] > 0 and c["keepalive"] < c["response_time"] * 2:
            raise ValueError("keepalive <2x response_time")
        if c["port"] == 0:
            c["port"] = 8883 if c["ssl_params"] else 1883
        if c["server"] is None:
            raise ValueError("no server")
        window = c.get("async_window", 1)
        if not isinstance(window, int) or window < 1:
            raise ValueError("async_window must be an int of at least 1")
        self._window = window
        will = c["will"]
        kw = {}
        if will is not None:
            kw = dict(
                will_topic=_text(will.topic), will_payload=will.message, will_qos=will.qos, will_retain=bool(will.retain)
            )
        ssl, hostname = self._ssl_context(c["ssl_params"])
        super().__init__(
            c["server"],
            c["port"],
            ssl,
            hostname,
            client_id=_text(c["client_id"]),
            version=4,
            clean_start=bool(c["clean"]),
            keep_alive=c["response_time"],
            username=None if c["user"] is None else _text(c["user"]),
            password=None if c["user"] is None else c["password"],
            max_inflight=c["max_inflight"],
            max_outbox_messages=c["max_outbox_messages"],
            max_outbox_bytes=c["max_outbox_bytes"],
            max_packet_size=c["max_packet_size"],
            connect_timeout_ms=c["response_time"] * 1000,
            **kw
        )
        self.max_outbox_bytes = c["max_outbox_bytes"]
        self._state = 0  # 0: never connected, 1: has connected, 2: disconnected for good
        self._attempt_failed = False  # a connection attempt ended since connect() started
        self._failures = 0  # failed attempts in a row
        self._up = False  # the connection that the next DISCONNECTED ends reached CONNACK
        self._wifi_task = None
        self._streaming = []  # Done of sync=False publishes not yet acknowledged
        self._cb_args = 5  # parameters subs_cb takes (mqboard: 5; its hello world: 4)

    @staticmethod
    def _ssl_context(params):
        """mqboard's `ssl_params` (keyword arguments of ussl.wrap_socket, e.g.
        {"server_hostname": ...}) as an SSLContext and a server name; True for defaults."""
        if not params:
            return None, None
        import ssl

        if isinstance(params, ssl.SSLContext):
            return params, None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        p = params if isinstance(params, dict) else {}
        if "cert_reqs" in p:
            ctx.verify_mode = p["cert_reqs"]
        elif "cadata" not in p:
            ctx.verify_mode = ssl.CERT_NONE  # ussl.wrap_socket's default: no verification
        if "cadata" in p:
            ctx.load_verify_locations(cadata=p["cadata"])
        if "cert" in p and "key" in p:
            ctx.load_cert_chain(p["cert"], p["key"])
        return ctx, p.get("server_hostname")

    # ===== WiFi (boards with `network` only)

    async def wifi_connect(self):
        """Brings `config["interface"]` up with ssid and wifi_pw (mqboard's)."""
        log.info("connecting wifi")
        s = self._c["interface"]
        if not self._c["ssid"]:
            raise OSError(-1, "no SSID to connect to Wifi")
        s.active(True)
        s.connect(self._c["ssid"], self._c["wifi_pw"])
        if sys.platform == "pyboard":  # no STAT_CONNECTING constant
            while s.status() in (1, 2):
                await asyncio.sleep(_CONN_DELAY)
        else:
            while s.status() == _STAT_CONNECTING:
                await asyncio.sleep_ms(200)
        if not s.isconnected():
            log.warning("Wifi failed to connect")
            raise OSError(-1, "Wifi failed to connect")

    async def _keep_wifi(self, bounce):
        """Brings WiFi back while the client runs; the core's reconnects then succeed."""
        s = self._c["interface"]
        try:
            if bounce:
                s.disconnect()
                await asyncio.sleep(_CONN_DELAY)
            while self._state < 2 and not s.isconnected():
                try:
                    await self.wifi_connect()
                except OSError as e:
                    log.warning("error in Wifi reconnect: %s", e)
                    await asyncio.sleep(_CONN_DELAY)
        finally:
            self._wifi_task = None

    # ===== connecting

    async def connect(self):
        """Connects; raises OSError when that fails. From then on the connection is kept up
        in the background until disconnect()."""
        if self._state > 1:
            raise ValueError("cannot reuse")
        if self.connected:
            return
        if network is not None and not self._c["interface"].isconnected():
            await self.wifi_connect()
        log.info("Connecting to %s:%s id=%s clean=%d", self.host, self.port, self._c["client_id"], self._c["clean"])
        self._attempt_failed = False
        self.start()
        while not self.connected:
            if self._state > 1:
                raise OSError(-1, "disconnect while connecting")
            if self._attempt_failed and self._state == 0:
                # mqboard: a failed first connect raises and takes no further action.
                self.stop()
                e = self.last_error
                refused = self.disconnect_reason is not None and self.disconnect_reason[0] == 6
                if isinstance(e, OSError) and e.args[0] > 0 and not refused:
                    log.info("OSError in open_connection: %s", e)
                    raise e
                raise OSError(-1, self._failure_text())
            await self.wait_change()

    def start(self):
        """Connects in the background instead of raising when the broker is unreachable."""
        if self._state > 1:
            raise ValueError("cannot reuse")
        Driver.start(self)

    def _on_connected(self, session_present, reason):
        first = self._state == 0
        self._state = 1
        self._failures = 0
        self._up = True
        log.debug("Connected")
        if first and self._c["connect_coro"] is not None:
            asyncio.create_task(self._c["connect_coro"](self))
            self._c["connect_coro"] = None  # only after the first connection (mqboard's)
        if self._c["wifi_coro"] is not None:
            asyncio.create_task(self._c["wifi_coro"](True))

    disconnect_reason = None

    def _on_disconnected(self, why, reason):
        self._attempt_failed = True
        self.disconnect_reason = (why, reason)
        if self._state == 1 and why != 5:  # not our own DISCONNECT
            log.info("dead socket: %s (reason %d)", _REASONS.get(why, why), reason)
            if self._c["wifi_coro"] is not None:
                asyncio.create_task(self._c["wifi_coro"](False))
        self._failures = 0 if self._up else self._failures + 1
        self._up = False
        if network is not None and self._state < 2 and self._wifi_task is None:
            s = self._c["interface"]
            bounce = self._failures >= _WIFI_BOUNCE_AFTER
            if bounce or not s.isconnected():
                self._failures = 0
                self._wifi_task = asyncio.create_task(self._keep_wifi(bounce))

    async def disconnect(self):
        """Sends DISCONNECT (the broker then drops the will) and stops for good; publishes
        and subscriptions still waiting raise OSError."""
        self._state = 2
        if not self.closed:
            Driver.disconnect(self)
            await asyncio.sleep_ms(0)
            self.close()

    def _failure_text(self):
        why, reason = self.disconnect_reason or (0, 0)
        if why == 6:  # CONNACK refused: mqboard's texts for the 3.1.1 return codes
            if 1 <= reason <= len(CONN_ERRS):
                return "CONNECT refused: " + CONN_ERRS[reason - 1]
            return "CONNECT refused"
        return "connect failed: %s" % (_REASONS.get(why, why),)

    def isconnected(self):
        return self.connected

    # ===== publishing and subscribing

    def _check_open(self):
        if self._state > 1 or self.closed:
            raise OSError(-1, CONN_CLOSED)

    def publish(self, topic, msg, retain=False, qos=0, sync=True):
        """QoS 0 returns once queued; QoS 1/2 with sync=True once acknowledged (PUBACK,
        PUBCOMP); sync=False once at most `async_window` such publishes are unacknowledged.
        Returns an awaitable, as mqboard's coroutine."""
        # QoS 0, and sync=False within the window, with room in the outbox are the hot
        # paths: queued here, and what is returned has already finished (see Ready). Anything
        # else, refusals included, goes to the coroutine, so errors are raised where the
        # caller awaits.
        pid = None
        try:
            if self._state <= 1 and not self.closed and isinstance(topic, str) \
                    and len(topic) + len(msg) <= self.max_outbox_bytes \
                    and (qos == 0 or (not sync and (qos == 1 or qos == 2) and self._window_open())):
                pid = self.session.publish(topic, msg, qos, retain)
        except Exception:  # noqa: BLE001 - nothing was queued; _publish raises it again
            pid = None
        if pid is None:
            return self._publish(topic, msg, retain, qos, sync)
        if qos:
            self._streaming.append(self.track_publish(pid))
        self.wake()
        return DONE

    def _window_open(self):
        """Whether a sync=False publish fits the window now. Forgets the delivered ones at
        its front; a failed one stays there for `_publish` to raise, as mqboard's would."""
        streaming = self._streaming
        while streaming and streaming[0].is_set():
            if not _delivered(streaming[0].value):
                return False
            streaming.pop(0)
        return len(streaming) < self._window

    async def _publish(self, topic, msg, retain, qos, sync):
        if qos != 0 and qos != 1 and qos != 2:
            raise ValueError("unsupported qos")
        if self._state > 1 or self.closed:
            raise OSError(-1, CONN_CLOSED)
        if not isinstance(topic, str):
            topic = bytes(topic).decode()
        if len(topic) + len(msg) > self.max_outbox_bytes:
            raise ValueError("message too long")
        while True:
            try:
                pid = self.session.publish(topic, msg, qos, retain)
                break
            except NomqError as e:
                if not is_full(e):
                    raise
            self._service()
            await self.wait_change()  # mqboard blocks while it cannot send
            self._check_open()
        if qos == 0:
            self.wake()
            return
        done = self.track_publish(pid)
        if sync:
            self._service()
            await done.wait()
            self._outcome(done.value)
            return
        streaming = self._streaming
        streaming.append(done)
        if len(streaming) <= self._window:
            self.wake()  # written with the next batch
            return
        # Over the window: write now (this waits anyway) rather than wake the pump.
        while len(streaming) > self._window:
            first = streaming[0]
            if not first.is_set():
                self._service()
                await first.wait()
            if streaming and streaming[0] is first:
                streaming.pop(0)
                self._outcome(first.value)

    def _outcome(self, value):
        if value is None:
            raise OSError(-1, CONN_CLOSED)
        if not _delivered(value):
            raise OSError(-1, "publish failed: outcome %d reason 0x%02x" % (value[2], value[3]))

    async def _request(self, rid):
        done = self.track_request(rid)
        self._service()
        await done.wait()
        if done.value is None:
            raise OSError(-1, CONN_CLOSED)
        return done.value[2]

    async def subscribe(self, topic, qos=0):
        """Subscribes and waits for SUBACK; raises OSError when refused or granted another
        QoS."""
        _qos_check(qos)
        self._check_open()
        codes = await self._request(self.session.subscribe(_text(topic), qos))
        granted = codes[0] if codes else 0x80
        if granted == 0x80:
            raise OSError(-1, "subscribe failed: refused")
        if granted != qos:
            raise OSError(-1, "subscribe failed: qos mismatch")

    async def unsubscribe(self, topic):
        """Unsubscribes and waits for UNSUBACK (not in mqboard)."""
        self._check_open()
        await self._request(self.session.unsubscribe(_text(topic)))

    # ===== receiving

    def _on_message(self, ev):
        # mqboard passes topic and message as bytes.
        args = (ev[1].encode(), ev[2], ev[4], ev[3], 0)
        cb = self._c["subs_cb"]
        while True:
            try:
                r = cb(*args[: self._cb_args])
                break
            except TypeError as e:
                # A callback declaring fewer parameters (mqboard's hello world takes four,
                # mqtt_as three): the call fails before the body runs, so calling again with
                # fewer is safe.
                if self._cb_args > 3 and _is_arity_error(e):
                    self._cb_args -= 1
                    continue
                log.exc(e, "exception in handler")
                return None
            except Exception as e:  # noqa: BLE001 - mqboard logs handler errors and goes on
                log.exc(e, "exception in handler")
                return None
        # A coroutine function's result is awaited before more is read (mqboard's).
        if r is not None and r.__class__.__name__ == "generator":
            return r
        return None

    def _handler_error(self, e):
        log.exc(e, "exception in handler")


_REASONS = {
    1: "closed by the broker",
    2: "keep alive timeout",
    3: "protocol error",
    4: "connection closed",
    5: "disconnected",
    6: "CONNECT refused",
    7: "connect timed out",
}
