"""nomq.NoMQ on MicroPython, the reference implementation's API: its parameter names and
defaults, which methods are coroutines, constants and attributes, gen_signature and
authenticate, logged refusals, listen().mssg(), pending_messages, config files (its own, and
`nomq keygen`'s), the reference's import path, a second node on a busy port, and the Rust CLI
as the peer; gc.collect() between the steps. The CPython drop-in's tests
(tests/python/test_nomq_compat.py) check the same behaviour."""
import gc
import hashlib
import json
import socket
import sys
import time

import asyncio
import _nomq
import nomq_net as net
from mptest import check, finish, raises
from nomq import ConfigError, Listener, NoMQ, SimpleLogger, create_config

import nomq.compat

compat = sys.modules["nomq.compat"]
folder = net.setup("compat")
SETTINGS = {"ip": "127.0.0.1", "port": 0, "use_ipv6": False, "encryption_key": "11" * 32, "hmac_key": "22" * 32}
HMAC_KEY = bytes([0x22] * 32)
CONSTANTS = {
    "MAX_RETAINED_MESSAGES": 5, "MAX_PENDING_MESSAGES": 50, "MAX_CHANNELS": 20, "MAX_PAYLOAD_SIZE": 1024,
    "DEFAULT_TTL": 3600, "BUFFER_SIZE": 2048, "HEARTBEAT_INTERVAL": 30, "SESSION_TIMEOUT": 300, "MAX_RETRIES": 3,
    "TIMESTAMP_WINDOW": 30, "NONCE_WINDOW": 100, "MAX_BACKOFF": 60, "PROTOCOL_VERSION": 1, "MAGIC_NUMBER": 0x4E4D,
}


class Recorder:
    """A logger that keeps (level, text): NoMQ takes any object with these four methods."""

    def __init__(self):
        self.lines = []

    def debug(self, msg):
        self.lines.append(("DEBUG", msg))

    def info(self, msg):
        self.lines.append(("INFO", msg))

    def warning(self, msg):
        self.lines.append(("WARNING", msg))

    def error(self, msg):
        self.lines.append(("ERROR", msg))

    def count(self, level, text=""):
        return sum(1 for lv, msg in self.lines if lv == level and text in msg)


def config(name="nomq_config.json", **settings):
    path = folder + "/" + name
    create_config(dict(SETTINGS, **settings), path)  # no config needed first
    return path


def node(port=None, timeout=1, **settings):
    n = NoMQ(config(port=port or net.free_port(), **settings), "ERROR", timeout)
    n.logger = Recorder()
    return n


def sink():
    """A plain socket to publish to: nobody confirms."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port = net.free_port()
    s.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    s.setblocking(False)
    return s, port


async def datagram_at(s, seconds=2):
    got = []

    def ready():
        try:
            got.append(s.recvfrom(4096)[0])
            return True
        except OSError:
            return False

    await net.until(ready, seconds)
    return got[0] if got else None


async def next_message(listener, seconds=5):
    got = []

    def ready():
        m = listener.mssg()
        if m is not None:
            got.append(m)
        return bool(got)

    await net.until(ready, seconds)
    return got[0] if got else None


async def interface():
    """Constants, coroutines, parameter names (by keyword) and defaults (by behaviour)."""
    for name, value in CONSTANTS.items():
        check(getattr(NoMQ, name) == value, "constant " + name)
    n = NoMQ(config_file=config(port=net.free_port()), log_level="ERROR", timeout=1)
    n.logger = Recorder()
    generator = type((lambda: (yield))())
    for name, args in (("authenticate", (b"", "m", None)), ("subscribe", ("c",)), ("publish", ("c", "m")),
                       ("unsubscribe", ("c",)), ("listen", ()), ("send_heartbeat_response", (("127.0.0.1", 1),)),
                       ("cleanup_expired_messages", ())):
        check(type(getattr(n, name)(*args)) is generator, name + " is a coroutine")
    check(type(n.gen_signature()) is bytes, "gen_signature is not")
    check(await n.subscribe(channel="kw", priority=1, signature=None, message=None, addr=None) is None,
          "subscribe's parameter names")
    sig = n.gen_signature(message="auth")
    check(await n.authenticate(signature=sig, message="auth", addr=None) is True, "authenticate's parameter names")
    s, port = sink()
    check(await n.publish(channel="kw", message="m", qos=1, retain=False, ttl=60, priority=0, ip="127.0.0.1",
                          port=port, signature=None, auth_message=None) is None, "publish's parameter names")
    check(await datagram_at(s) is not None, "published")
    check(await n.unsubscribe(channel="kw") is None, "unsubscribe's parameter names")
    check(n.create_config(config_dict=dict(SETTINGS), output_file=folder + "/kw.json") is None,
          "create_config's parameter names")
    # publish's defaults: qos 1, ttl 3600, the broadcast address on port 8888 (a channel
    # nobody subscribes to)
    n.pending_messages.clear()
    await n.publish("mp-compat-defaults/%d" % port, "m")
    entries = list(n.pending_messages.values())
    check(len(entries) == 1 and (entries[0]["ip"], entries[0]["port"], entries[0]["qos"], entries[0]["ttl"])
          == ("255.255.255.255", 8888, 1, 3600), "publish's defaults: %r" % entries)
    check(n.logger.count("ERROR") == 0, "no errors: %r" % n.logger.lines)
    n.close()
    s.close()
    check(NoMQ.__init__ is not None and Listener is compat.Listener, "Listener exported")


async def attributes_and_return_values():
    port = net.free_port()
    n = NoMQ(config(port=port), "ERROR", 1)
    check((n.ip, n.port, n.use_ipv6, n.timeout) == ("127.0.0.1", port, False, 1), "config attributes")
    check(n.encryption_key == bytes([0x11] * 32) and n.hmac_key == HMAC_KEY, "keys as bytes")
    check(n.running is True and n.channels == [] and n.pending_messages == {} and n.backoff_count == 0,
          "initial state")
    check(abs(n.session_start - time.time()) < 60, "session_start")
    check(len(n.device_id) == 64 and int(n.device_id, 16) >= 0, "device_id: %s" % n.device_id)
    check(isinstance(n.logger, SimpleLogger) and n.logger.level == "ERROR", "logger")
    check(n.local_addr == "127.0.0.1:%d" % port, "local_addr")
    check(n.session_id is None, "session_id before the first datagram")
    n.logger = Recorder()

    check(await n.subscribe("a/b", priority=20) is None, "subscribe returns None")
    check(await n.subscribe("a/b", priority=3) is None, "subscribe again: unchanged")
    check(n.channels == [{"name": "a/b", "id": hashlib.sha256(b"a/b").digest()[:16], "priority": 15}],
          "channels: %r" % n.channels)
    check(await n.unsubscribe("a/b") is None and n.channels == [], "unsubscribe")
    check(await n.unsubscribe("never") is None and n.logger.count("WARNING", "Channel never not subscribed") == 1,
          "unsubscribe of an unknown channel: a warning")

    s, sink_port = sink()
    check(await n.publish("a/b", "x", qos=1, ip="127.0.0.1", port=sink_port) is None, "publish returns None")
    datagram = await datagram_at(s)
    check(datagram is not None and datagram[:3] == b"\x4e\x4d\x01", "a v1 datagram on the wire")
    entries = list(n.pending_messages.values())
    check(len(entries) == 1 and (entries[0]["channel"], entries[0]["ip"], entries[0]["port"], entries[0]["qos"])
          == ("a/b", "127.0.0.1", sink_port, 1), "pending_messages: %r" % entries)
    check(n.session_id == int.from_bytes(datagram[9:13], "big"), "session_id as on the wire")
    check(n.create_config(dict(SETTINGS), folder + "/copy.json") is None, "create_config returns None")
    with open(folder + "/copy.json") as f:
        check(_nomq.read_config(f.read())["hmac_key"] == HMAC_KEY, "create_config wrote the keys")
    check(n.logger.count("INFO", "Config saved to") == 1, "create_config logged")
    n.close()
    check(n.running is False and n.channels == [] and n.pending_messages == {}, "close clears")
    n.close()
    await n.publish("a/b", "after close", ip="127.0.0.1", port=sink_port)
    check(n.logger.count("ERROR", "Publish failed") == 1, "publish after close: logged")
    s.close()


async def signatures():
    n = node()
    check(n.gen_signature() == hashlib.sha256(b"auth" + HMAC_KEY).digest(), "gen_signature()")
    check(n.gen_signature("h\u00e9llo") == hashlib.sha256("h\u00e9llo".encode() + HMAC_KEY).digest(), "UTF-8")
    check(n.gen_signature(bytearray(b"x")) == n.gen_signature(b"x") == n.gen_signature("x"), "str, bytes, bytearray")
    check(len(n.gen_signature()) == 32, "32 raw bytes")
    raises(ValueError, "gen_signature(42)", n.gen_signature, 42)
    sig = n.gen_signature("auth")
    check(await n.authenticate(sig, "auth", ("127.0.0.1", 1)) is True, "authenticate")
    check(await n.authenticate(bytearray(sig), b"auth", None) is True, "authenticate bytearray")
    check(await n.authenticate(memoryview(sig), b"auth", None) is True, "authenticate memoryview")
    check(await n.authenticate(sig, "other", ("127.0.0.1", 1)) is False, "another message")
    check(await n.authenticate(sig[:31], "auth", None) is False, "a short signature")
    check(await n.authenticate(sig.hex(), "auth", None) is False, "the hex text is not the signature")
    check(await n.authenticate(sig, 42, None) is False, "a message of the wrong type")
    check(n.logger.count("INFO", "Device ('127.0.0.1', 1) authenticated successfully") == 1, "logged success")
    check(n.logger.count("WARNING", "Authentication failed for") == 3, "logged failures")
    check(n.logger.count("ERROR", "Authentication error: Message must be bytes or string") == 1, "logged error")
    n.close()


async def refusals_are_logged_not_raised():
    s, port = sink()
    to = {"ip": "127.0.0.1", "port": port}
    n = node()
    refused = [
        n.publish("c", b"bytes", **to),
        n.publish("c", "", **to),
        n.publish("c", "x" * (NoMQ.MAX_PAYLOAD_SIZE + 1), **to),
        n.publish("c", "x", qos=3, **to),
        n.publish("c", "x", ttl=70000, **to),
        n.publish("c", "x", signature=b"not it", auth_message="auth", **to),
        n.subscribe(""),
        n.subscribe("c", signature=b"not it", message="auth", addr=("127.0.0.1", 1)),
    ]
    for call in refused:
        check(await call is None, "refusal returns None")
    check(n.channels == [] and n.pending_messages == {} and n._in_flight == 0, "nothing kept")
    # a signature alone checks nothing (the reference checks all three or none)
    await n.subscribe("c", signature=b"not it")
    await n.publish("c", "x" * NoMQ.MAX_PAYLOAD_SIZE, qos=0, signature=b"not it", **to)
    errors = n.logger.count("ERROR")
    check(errors == 6, "6 errors logged: %r" % n.logger.lines)
    check(n.logger.count("WARNING", "Authentication failed") == 2, "2 failed signatures")
    datagram = await datagram_at(s)
    check(datagram is not None and len(datagram) > 1024, "only the last publish went out")
    check(await datagram_at(s, 0.2) is None, "nothing else")
    n.close()
    s.close()

    n = node()
    for i in range(NoMQ.MAX_CHANNELS + 1):
        await n.subscribe("c%d" % i)
    check([c["name"] for c in n.channels] == ["c%d" % i for i in range(NoMQ.MAX_CHANNELS)], "MAX_CHANNELS")
    await n.subscribe("c0")
    check(n.logger.count("ERROR", "Max channel limit") == 1, "the limit logged once")
    n.close()


async def listen_and_mssg():
    port = net.free_port()
    n = node(port)
    await n.subscribe("to/me")
    listener = await n.listen()
    check(await n.listen() is listener and listener.nomq is n and isinstance(listener, Listener), "one listener")
    check(listener.mssg() is None, "nothing yet")
    for i in range(3):
        await n.publish("to/me", "m%d" % i, qos=2, ip="127.0.0.1", port=port)
    got = []
    for _ in range(3):
        got.append(await next_message(listener))
    check(got == [{"channel": "to/me", "message": "m%d" % i} for i in range(3)], "mssg in order: %r" % got)
    check(await net.until(lambda: not n.pending_messages, 3), "each confirmed by the node itself")
    check(n.logger.count("INFO", "Confirmed: to/me to 127.0.0.1:%d" % port) == 3, "confirmations logged")
    check(n.logger.count("INFO", "Received on to/me: m") == 3, "receptions logged")
    # the reference's receive loop stops when `running` is cleared
    n.running = False
    await n.publish("to/me", "late", qos=0, ip="127.0.0.1", port=port)
    await asyncio.sleep_ms(200)
    check(listener.mssg() is None, "running False: nothing delivered")
    n.close()

    # a burst larger than every buffer, read while it is published: nothing lost
    gc.collect()
    port = net.free_port()
    n = node(port, timeout=5)
    await n.subscribe("burst")
    listener = await n.listen()
    got = []

    async def reader():
        while len(got) < 200:
            m = listener.mssg()
            if m is None:
                await asyncio.sleep_ms(5)
            else:
                got.append(int(m["message"]))

    task = asyncio.create_task(reader())
    for i in range(200):
        await n.publish("burst", str(i), qos=1, ip="127.0.0.1", port=port)
    check(await net.until(lambda: len(got) == 200, 20), "200 messages read (%d)" % len(got))
    check(sorted(got) == list(range(200)), "each once")
    check(await net.until(lambda: not n.pending_messages, 10), "all confirmed")
    check(n.logger.count("ERROR") == 0, "no errors: %r" % [x for x in n.logger.lines if x[0] == "ERROR"][:3])
    task.cancel()
    n.close()


async def in_flight_limit_and_expiry():
    s, port = sink()
    n = node(timeout=0.3)
    for i in range(NoMQ.MAX_PENDING_MESSAGES):
        await n.publish("c", str(i), qos=1, ttl=60, ip="127.0.0.1", port=port)
    check(len(n.pending_messages) == NoMQ.MAX_PENDING_MESSAGES and n.logger.count("ERROR") == 0,
          "MAX_PENDING_MESSAGES in flight")
    start = time.ticks_ms()
    await n.publish("c", "one more", qos=1, ip="127.0.0.1", port=port)
    waited = time.ticks_diff(time.ticks_ms(), start)
    check(n.logger.count("ERROR", "earlier publishes still unconfirmed after 0.3 s") == 1,
          "one more waited for room, then logged: %r" % n.logger.lines[-1:])
    check(250 <= waited < 1000, "waited the timeout (%d ms)" % waited)
    n.close()

    n = node()
    await n.publish("c", "nobody confirms", qos=1, ttl=1, ip="127.0.0.1", port=port)
    check(len(n.pending_messages) == 1, "pending")
    check(await net.until(lambda: not n.pending_messages, 3), "gone once its ttl passed")
    check(n.logger.count("WARNING", "Not confirmed within its ttl: c") == 1, "expiry logged")
    n.close()
    s.close()


async def config_files():
    raises(RuntimeError, "a missing config", NoMQ, folder + "/missing.json")
    with open(folder + "/garbage.json", "w") as f:
        f.write("not a config\n")
    e = raises(RuntimeError, "a garbage config", NoMQ, folder + "/garbage.json")
    check(e is not None and "Config load failed" in str(e), "Config load failed: %s" % e)
    raises(ConfigError, "create_config with bad keys", create_config,
           {"encryption_key": "zz" * 32, "hmac_key": "22" * 32}, folder + "/bad.json")
    raises(ConfigError, "create_config with a short key", create_config,
           {"encryption_key": "11" * 31, "hmac_key": "22" * 32}, folder + "/bad.json")
    check(net.read(folder + "/bad.json") == "", "no file written")
    e = raises(RuntimeError, "an address of no interface here", NoMQ, config("foreign.json", ip="203.0.113.7",
                                                                               port=net.free_port()), "ERROR")
    check(e is not None and "Socket bind failed" in str(e), "Socket bind failed: %s" % e)

    # plain JSON, and both forms written by the Rust CLI
    port = net.free_port()
    with open(folder + "/plain.json", "w") as f:
        f.write(json.dumps(dict(SETTINGS, port=port)) + "\n")
    n = NoMQ(folder + "/plain.json", "ERROR")
    check(n.local_addr == "127.0.0.1:%d" % port and n.hmac_key == HMAC_KEY, "a plain JSON config")
    n.close()
    for form, flags in (("encrypted", []), ("plain", ["--plain"])):
        port = net.free_port()
        path = folder + "/keygen-%s.json" % form
        status = net.run(folder, "keygen-" + form, net.cli("keygen", "--out", path, "--ip", "127.0.0.1", "--port",
                                                            port, *flags))
        check(status == 0, "nomq keygen " + form)
        n = NoMQ(path, "ERROR")
        check(n.port == port and len(n.encryption_key) == 32, "nomq keygen's %s config" % form)
        n.close()
    # the port's int log level
    n = NoMQ(config(port=net.free_port()), 20)
    check(n.logger.level == "INFO", "log_level 20 is INFO")
    n.close()


async def simple_logger_and_busy_port():
    printed = []
    compat.print = lambda *args: printed.append(" ".join(str(a) for a in args))
    try:
        logger = SimpleLogger("WARNING")
        logger.debug("d")
        logger.info("i")
        logger.warning("w")
        logger.error("e")
        check(printed == ["[WARNING] w", "[ERROR] e"], "SimpleLogger levels and format: %r" % printed)
        del printed[:]
        SimpleLogger("ALL").debug("shown")
        check(printed == ["[DEBUG] shown"], "an unknown level shows all")

        # a second node on the same config: a port of its own, and a warning
        port = net.free_port()
        path = config(port=port)
        first = NoMQ(path, "WARNING", 1)
        del printed[:]
        second = NoMQ(path, "WARNING", 1)
        check(first.local_addr == "127.0.0.1:%d" % port != second.local_addr, "two ports")
        check(len(printed) == 1 and printed[0].startswith("[WARNING] 127.0.0.1:%d is in use by another program"
                                                          % port), "the warning: %r" % printed)
        await first.subscribe("c")
        listener = await first.listen()
        await second.publish("c", "hello", ip="127.0.0.1", port=port)
        check(await next_message(listener) == {"channel": "c", "message": "hello"}, "delivered")
        check(await net.until(lambda: not second.pending_messages, 3), "confirmed")
        second.close()
        first.close()
    finally:
        del compat.print


async def heartbeat():
    a = node()
    b = node()
    await a.send_heartbeat_response(("127.0.0.1", b.port))
    check(a.logger.count("INFO", "Sent heartbeat to ('127.0.0.1', %d)" % b.port) == 1, "heartbeat logged")
    check(await net.until(lambda: b._endpoint.stats()["heartbeats_answered"] == 1, 2), "answered")
    check(await a.cleanup_expired_messages() is None, "cleanup_expired_messages")
    a.close()
    b.close()


async def with_the_rust_cli():
    port = net.free_port()
    path = config("cli.json", port=port)
    n = NoMQ(path, "ERROR", 1)
    n.logger = Recorder()
    await n.subscribe("from/cli")
    listener = await n.listen()
    pub = net.spawn(folder, "cli_pub", net.cli("pub", "--config", path, "--to", "127.0.0.1:%d" % port, "--channel",
                                               "from/cli", "--qos", 2, "--count", 3, "--json", '{"seq": {i}}'))
    got = []
    for _ in range(3):
        got.append(await next_message(listener))
    check(got == [{"channel": "from/cli", "message": '{"seq": %d}' % i} for i in range(3)], "CLI -> NoMQ: %r" % got)
    check(await net.wait_exit(pub) == 0, "the CLI's QoS 2 publishes confirmed")

    sub_port = net.free_port()
    sub = net.spawn(folder, "cli_sub", net.cli("sub", "--config", path, "--bind", "127.0.0.1:%d" % sub_port,
                                               "--channel", "to/cli", "--count", 2, "--json"))
    check(await net.wait_text(sub + ".err", "listening"), "the CLI subscriber started")
    await n.publish("to/cli", "h\u00e9llo", qos=1, ip="127.0.0.1", port=sub_port)
    await n.publish("to/cli", "bye", qos=2, ip="localhost", port=sub_port)
    check(await net.wait_exit(sub) == 0, "the CLI received both")
    lines = net.json_lines(sub + ".out")
    check([(o["message"], o["qos"]) for o in lines] == [("h\u00e9llo", 1), ("bye", 2)], "NoMQ -> CLI: %r" % lines)
    check(lines and lines[0]["session_id"] == n.session_id, "the session id the CLI saw")
    check(await net.until(lambda: not n.pending_messages, 3), "both confirmed")
    check(n.logger.count("INFO", "Confirmed: to/cli to") == 2, "confirmations logged")
    n.close()


def import_paths():
    from NoMQ.logger import SimpleLogger as Logger
    from NoMQ.nomq import NoMQ as Reference, SimpleLogger as RefLogger

    import NoMQ.nomq

    # (`import NoMQ.nomq` made NoMQ the module in this function)
    check(Reference is compat.NoMQ and RefLogger is Logger is SimpleLogger, "from NoMQ.nomq import NoMQ, SimpleLogger")
    check(sys.modules["NoMQ"].nomq is compat, "NoMQ.nomq is nomq.compat")


async def main():
    try:
        for step in (interface, attributes_and_return_values, signatures, refusals_are_logged_not_raised,
                     listen_and_mssg, in_flight_limit_and_expiry, config_files, simple_logger_and_busy_port, heartbeat,
                     with_the_rust_cli):
            gc.collect()
            await step()
        import_paths()
    finally:
        net.stop_all()


asyncio.run(main())
finish("test_nomq_compat")
