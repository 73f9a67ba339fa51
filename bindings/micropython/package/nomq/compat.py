"""nomq.NoMQ: the API of the reference NoMQ implementation, over nomq's core.

Scripts written for the reference run unchanged, with either of its imports (`from nomq import
NoMQ`, or `from NoMQ.nomq import NoMQ, SimpleLogger` through the module `NoMQ`):

    nomq = NoMQ("nomq_config.json", "INFO", 5)
    await nomq.subscribe("sensors/temp")
    await nomq.publish("sensors/temp", "21.5", qos=1, ip="192.168.1.20", port=8888)
    listener = await nomq.listen()
    while True:
        msg = listener.mssg()          # {"channel": ..., "message": ...} or None
        await asyncio.sleep(0.1)

Names, signatures, defaults, return values, class constants and log lines (`[LEVEL] text`) are
the reference's, and it behaves as the CPython drop-in (python/nomq/compat.py; docs/python.md
lists where both differ from the reference). It speaks NoMQ v1, byte-compatible with the
reference. A node runs on nomq.Endpoint with its embedded bounds, except that it subscribes to
MAX_CHANNELS channels, keeps MAX_PENDING_MESSAGES publishes in flight and MAX_RETAINED_MESSAGES
retained messages per channel, as the reference does, and takes messages of up to 1919 bytes
(the most a reference node receives).

Differences from the CPython drop-in, where MicroPython has less:

- `session_id` is None until the node has sent its first datagram (it is read from that
  datagram's header; the core does not report it otherwise);
- `device_id` hashes `machine.unique_id()`; a port without it (unix) hashes 6 random bytes
  drawn once per run;
- `create_config` writes the five settings the core knows (ip, port, use_ipv6 and the keys),
  without setting file permissions (MicroPython has no chmod);
- the core's own log records are not routed anywhere (there is no `logging`).
"""
import binascii
import errno
import hashlib
import os
import time

import asyncio
import _nomq
from _nomq import ConfigError, NomqError

from .endpoint import OUTCOME_CLOSED, Endpoint

__all__ = ["NoMQ", "Listener", "SimpleLogger", "create_config"]

_EXPIRED = _nomq.OUTCOME_EXPIRED
_LEVEL_NAMES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR"}
# The most v1 carries: the text a reference node's 2048-byte receive buffer holds.
_V1_MAX_PAYLOAD = 1919
_device_key = None


def _config_text(config_dict):
    """The reference's encrypted config text for `config_dict`. Raises ConfigError for keys
    that are not 64 hex characters, rather than writing a file no node can load."""
    keys = []
    for name in ("encryption_key", "hmac_key"):
        value = config_dict.get(name)
        try:
            if not isinstance(value, str) or len(value) != 64:
                raise ValueError("must be 64 hex characters")
            keys.append(binascii.unhexlify(value))
        except ValueError as e:
            raise ConfigError("config %s: %s" % (name, e))
    return _nomq.write_config(keys[0], keys[1], config_dict.get("ip", "0.0.0.0"), config_dict.get("port", 8888),
                              bool(config_dict.get("use_ipv6", False)))


def _write_text(path, text):
    # Written beside the target and renamed over it, so a reset mid-write leaves the old file.
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def create_config(config_dict, output_file):
    """Writes the reference's encrypted config file; needs no existing config, unlike
    `NoMQ(...).create_config`."""
    _write_text(output_file, _config_text(config_dict))


def _same(a, b):
    """Compares two byte strings in time independent of where they differ."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


class SimpleLogger:
    """The reference's logger: `[LEVEL] message` on standard output for levels at or above
    `level` (DEBUG < INFO < WARNING < ERROR; an unknown level shows all)."""

    def __init__(self, level="INFO"):
        self.level = level
        self.levels = {"DEBUG": 0, "INFO": 1, "WARNING": 2, "ERROR": 3}

    def _log(self, level, msg):
        if self.levels.get(level, 0) >= self.levels.get(self.level, 0):
            print("[%s] %s" % (level, msg))

    def debug(self, msg):
        self._log("DEBUG", msg)

    def info(self, msg):
        self._log("INFO", msg)

    def warning(self, msg):
        self._log("WARNING", msg)

    def error(self, msg):
        self._log("ERROR", msg)


class Listener:
    """What `listen()` returns: `mssg()` gives the next received message, or None."""

    def __init__(self, nomq):
        self.nomq = nomq
        # Messages taken from the node and not returned yet. Refilled only once empty, so a
        # reader that falls behind leaves the backlog in the node's bounded buffers, which then
        # hold back the senders (they retransmit) instead of this list growing.
        self.message_queue = []

    def mssg(self):
        """The oldest unread message as {"channel": ..., "message": ...}, or None."""
        queue = self.message_queue
        if not queue:
            self.nomq._take(queue)
        return queue.pop(0) if queue else None


class NoMQ:
    """A NoMQ v1 node bound to the ip and port of a config file (the reference's encrypted
    format, or the plain JSON object)."""

    # The reference's constants. MAX_CHANNELS and MAX_PAYLOAD_SIZE (characters) limit subscribe
    # and publish, DEFAULT_TTL is publish's default, MAX_PENDING_MESSAGES the publishes in
    # flight and MAX_RETAINED_MESSAGES the retained messages kept per channel; the others
    # describe the reference's internals and change nothing here.
    MAX_RETAINED_MESSAGES = 5
    MAX_PENDING_MESSAGES = 50
    MAX_CHANNELS = 20
    MAX_PAYLOAD_SIZE = 1024
    DEFAULT_TTL = 3600
    BUFFER_SIZE = 2048
    HEARTBEAT_INTERVAL = 30
    SESSION_TIMEOUT = 300
    MAX_RETRIES = 3
    TIMESTAMP_WINDOW = 30
    NONCE_WINDOW = 100
    MAX_BACKOFF = 60
    PROTOCOL_VERSION = 1
    MAGIC_NUMBER = 0x4E4D

    def __init__(self, config_file="nomq_config.json", log_level="INFO", timeout=5):
        """Reads the config and binds its address. Raises RuntimeError when either fails, as
        the reference does. `timeout` bounds how long `publish` waits while
        MAX_PENDING_MESSAGES earlier publishes are unfinished."""
        if isinstance(log_level, int):
            log_level = _LEVEL_NAMES.get(log_level, log_level)
        self.logger = SimpleLogger(level=log_level)
        self.timeout = timeout
        self.session_start = time.time()
        self.channels = []
        self.pending_messages = {}
        self.running = False
        self.backoff_count = 0  # the socket is never rebuilt
        self._listener = None
        self._in_flight = 0
        self._room = asyncio.Event()
        self._next_key = 0
        self._device_id = None
        self._closed = False
        self._load_config(config_file)
        self._endpoint = self._bind()
        self.running = True
        self.logger.info("NoMQ initialized on %s (IPv%s)" % (self.local_addr, "6" if self.use_ipv6 else "4"))

    def _load_config(self, config_file):
        try:
            with open(config_file) as f:
                settings = _nomq.read_config(f.read())
            self.ip = settings["ip"]
            self.port = settings["port"]
            self.use_ipv6 = settings["use_ipv6"]
            self.encryption_key = settings["encryption_key"]
            self.hmac_key = settings["hmac_key"]
        except (OSError, ValueError, TypeError, NomqError) as e:
            self.logger.error("Failed to load config: %s" % e)
            raise RuntimeError("Config load failed: %s" % e)

    def _bind(self):
        ip = "::" if self.use_ipv6 and self.ip == "0.0.0.0" else self.ip
        port = self.port
        endpoint = None
        try:
            endpoint = Endpoint(self.encryption_key, self.hmac_key, version=1, bind=(ip, port),
                                max_subscriptions=self.MAX_CHANNELS, max_pending=self.MAX_PENDING_MESSAGES,
                                max_retained_per_channel=self.MAX_RETAINED_MESSAGES, max_payload=_V1_MAX_PAYLOAD)
            try:
                endpoint._open()
                return endpoint
            except OSError as e:
                if port == 0 or e.errno != errno.EADDRINUSE:
                    raise
            # The reference shares the port (SO_REUSEADDR). On one host that splits unicast
            # datagrams between the two programs unpredictably, so a second node on the same
            # host and config (a sender beside its receiver) takes a port of its own: its
            # publishes go out and their confirmations come back.
            endpoint._open(0)
        except (OSError, NomqError, ValueError) as e:
            if endpoint is not None:
                endpoint.close()
            self.logger.error("Socket initialization failed: %s" % e)
            raise RuntimeError("Socket bind failed: %s" % e)
        self.logger.warning("%s:%d is in use by another program; this node is bound to %s (messages sent to port "
                            "%d reach the other program)" % (ip, port, endpoint.local_addr, port))
        return endpoint

    @property
    def local_addr(self):
        """The bound address, "ip:port" (beyond the reference)."""
        return self._endpoint.local_addr

    @property
    def session_id(self):
        """The node's session id, as on the wire; None before its first datagram."""
        return self._endpoint.session_id

    @property
    def device_id(self):
        """SHA-256 of the board's unique id, in hex (as the reference)."""
        if self._device_id is None:
            global _device_key
            try:
                from machine import unique_id

                key = unique_id()
            except (ImportError, AttributeError):
                if _device_key is None:
                    _device_key = os.urandom(6)
                key = _device_key
            self._device_id = binascii.hexlify(hashlib.sha256(key).digest()).decode()
        return self._device_id

    def create_config(self, config_dict, output_file):
        """Writes `config_dict` as an encrypted config file. Raises ConfigError for keys that
        are not 64 hex characters, rather than writing a file no node can load."""
        try:
            _write_text(output_file, _config_text(config_dict))
        except (OSError, ValueError, TypeError, NomqError) as e:
            self.logger.error("Failed to save config: %s" % e)
            raise
        self.logger.info("Config saved to %s" % output_file)

    def gen_signature(self, message="auth"):
        """SHA-256 of `message` followed by the hmac key: 32 bytes. Local only, never sent."""
        if isinstance(message, str):
            data = message.encode("utf-8")
        elif isinstance(message, (bytes, bytearray)):
            data = bytes(message)
        else:
            raise ValueError("Message must be bytes or string, got %s" % type(message))
        return hashlib.sha256(data + self.hmac_key).digest()

    async def authenticate(self, signature, message, addr):
        """Whether `signature` is `gen_signature(message)` (the raw 32 bytes), compared in
        constant time. `addr` only appears in the log."""
        try:
            expected = self.gen_signature(message)
        except ValueError as e:
            self.logger.error("Authentication error: %s" % e)
            return False
        if isinstance(signature, (bytes, bytearray, memoryview)) and _same(expected, signature):
            self.logger.info("Device %s authenticated successfully" % (addr,))
            return True
        self.logger.warning("Authentication failed for %s" % (addr,))
        return False

    async def subscribe(self, channel, priority=0, signature=None, message=None, addr=None):
        """Receives `channel`. As in the reference, a signature is checked only when a
        signature, a message and an address are all given, and failures are logged, not
        raised."""
        try:
            if not isinstance(channel, str) or not channel:
                raise ValueError("Channel must be a non-empty string")
            if signature and message and addr and not await self.authenticate(signature, message, addr):
                return
            for c in self.channels:
                if c["name"] == channel:
                    return
            if len(self.channels) >= self.MAX_CHANNELS:
                raise RuntimeError("Max channel limit reached")
            self._endpoint.subscribe(channel)
        except (NomqError, ValueError, TypeError, RuntimeError, OSError) as e:
            self.logger.error("Subscribe failed: %s" % e)
            return
        priority = min(max(priority, 0), 15)
        self.channels.append({"name": channel, "id": _nomq.channel_id(channel), "priority": priority})
        self.logger.info("Subscribed to %s with priority %d" % (channel, priority))

    async def unsubscribe(self, channel):
        """Stops receiving `channel`."""
        for i, c in enumerate(self.channels):
            if c["name"] == channel:
                try:
                    self._endpoint.unsubscribe(channel)
                except NomqError as e:
                    self.logger.error("Unsubscribe error: %s" % e)
                    return
                del self.channels[i]
                self.logger.info("Unsubscribed from %s" % channel)
                return
        self.logger.warning("Channel %s not subscribed" % channel)

    async def publish(self, channel, message, qos=1, retain=False, ttl=DEFAULT_TTL, priority=0, ip="255.255.255.255",
                      port=8888, signature=None, auth_message=None):
        """Sends `message` (a non-empty str) to `ip:port`, broadcast by default, and returns
        without waiting for a confirmation, as the reference does. Until one comes (or `ttl`
        passes) the core retransmits and the publish is listed in `pending_messages`. Failures
        are logged, not raised."""
        key = None
        try:
            if not isinstance(message, str):
                raise ValueError("Message must be a string, got %s" % type(message))
            if not message:
                raise ValueError("Message cannot be empty")
            if len(message) > self.MAX_PAYLOAD_SIZE:
                raise ValueError("Message exceeds max payload size (%d characters)" % self.MAX_PAYLOAD_SIZE)
            if signature and auth_message and not await self.authenticate(signature, auth_message, (ip, port)):
                return
            if self._in_flight >= self.MAX_PENDING_MESSAGES and not await self._wait_for_room():
                self.logger.error("Publish failed: %d earlier publishes still unconfirmed after %s s"
                                  % (self._in_flight, self.timeout))
                return
            # Listed before the core is called: a QoS 0 publish finishes inside the call.
            if qos:
                key = self._next_key
                self._next_key += 1
                self.pending_messages[key] = {"channel": channel, "ip": ip, "port": port, "qos": qos, "ttl": ttl,
                                              "timestamp": time.time()}
            self._in_flight += 1
            try:
                self._endpoint.publish_nowait(channel, message, (ip, port), qos, retain, min(max(priority, 0), 15),
                                              ttl, lambda outcome: self._finished(key, outcome))
            except BaseException:
                self._in_flight -= 1
                raise
        except (NomqError, ValueError, TypeError, OSError) as e:
            if key is not None:
                self.pending_messages.pop(key, None)
            self.logger.error("Publish failed: %s" % e)
            return
        self.logger.info("Published to %s: %s" % (channel, message))

    async def _wait_for_room(self):
        """Waits up to `timeout` seconds for an in-flight publish to finish."""
        deadline = time.ticks_add(time.ticks_ms(), int(self.timeout * 1000))
        while self._in_flight >= self.MAX_PENDING_MESSAGES:
            left = time.ticks_diff(deadline, time.ticks_ms())
            if left <= 0:
                return False
            self._room.clear()
            try:
                await asyncio.wait_for_ms(self._room.wait(), left)
            except asyncio.TimeoutError:
                pass
        return True

    def _finished(self, key, outcome):
        self._in_flight -= 1
        entry = self.pending_messages.pop(key, None) if key is not None else None
        self._room.set()
        if outcome == _EXPIRED:
            self.logger.warning("Not confirmed within its ttl: %s" % (entry["channel"] if entry else "a publish"))
        elif outcome != OUTCOME_CLOSED and entry is not None:
            self.logger.info("Confirmed: %s to %s:%s" % (entry["channel"], entry["ip"], entry["port"]))

    async def listen(self):
        """Returns the listener at once; the reference's runs the receive loop until close()
        and returns only then. Messages are received and confirmed by the node whether or not
        anyone listens (while its bounded buffers have room)."""
        self.running = True
        if self._listener is None:
            self._listener = Listener(self)
        return self._listener

    def _take(self, queue):
        """Moves the messages the node has received to `queue` (nothing once `running` is
        False)."""
        if not self.running or self._closed:
            return
        endpoint = self._endpoint
        for _ in range(endpoint._buffer):
            m = endpoint.recv_nowait()
            if m is None:
                break
            try:
                text = m.payload.decode("utf-8")
            except UnicodeError:
                continue  # v1 messages are text; the core does not deliver others
            self.logger.info("Received on %s: %s" % (m.channel, text))
            queue.append({"channel": m.channel, "message": text})

    async def send_heartbeat_response(self, addr):
        """Sends a HEARTBEAT to `addr`."""
        try:
            self._endpoint.heartbeat((addr[0], addr[1]))
        except (NomqError, OSError, ValueError, TypeError) as e:
            self.logger.error("Heartbeat send error: %s" % e)
            return
        self.logger.info("Sent heartbeat to %s" % (addr,))

    async def cleanup_expired_messages(self):
        """Nothing to do: the core expires retained and pending messages on its own timers."""

    def close(self):
        """Stops the node. Publishes already made were sent when made; unconfirmed ones stop
        being retransmitted."""
        if self._closed:
            return
        self._closed = True
        self.running = False
        self._endpoint.close()
        self.channels.clear()
        self.pending_messages.clear()
        self.logger.info("NoMQ resources cleaned up")
