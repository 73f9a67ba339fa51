"""nomq.NoMQ, the reference implementation's API: its signatures, defaults, constants and
attributes, gen_signature and authenticate, listen().mssg(), the reference's import path
(`from NoMQ.nomq import NoMQ`), the config files of the reference and of `nomq keygen`, and
scripts in the reference's style run as separate processes sharing one directory and config."""
import asyncio
import hashlib
import inspect
import json
import os
import pathlib
import socket
import subprocess
import sys
import textwrap
import time

import nomq
import pytest
from support import free_port

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"
SETTINGS = {"ip": "127.0.0.1", "port": 0, "use_ipv6": False, "encryption_key": "11" * 32, "hmac_key": "22" * 32}
REQUIRED = inspect.Parameter.empty


def config(directory, **settings):
    path = directory / "nomq_config.json"
    nomq.create_config(dict(SETTINGS, **settings), path)  # no config needed first
    return path


def node(directory, log_level="ERROR", **settings):
    return nomq.NoMQ(str(config(directory, **settings)), log_level, 1)


async def until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def next_message(listener, seconds=5.0):
    deadline = time.monotonic() + seconds
    while True:
        m = listener.mssg()
        if m is not None:
            return m
        assert time.monotonic() < deadline, "no message"
        await asyncio.sleep(0.01)


def datagram_at(sink):
    sink.settimeout(5)
    return sink.recvfrom(4096)[0]


# The reference's interface: parameter names and defaults, which methods are coroutines, the
# class constants and their values.
SIGNATURES = {
    "__init__": [("config_file", "nomq_config.json"), ("log_level", "INFO"), ("timeout", 5)],
    "gen_signature": [("message", "auth")],
    "authenticate": [("signature", REQUIRED), ("message", REQUIRED), ("addr", REQUIRED)],
    "subscribe": [("channel", REQUIRED), ("priority", 0), ("signature", None), ("message", None), ("addr", None)],
    "publish": [("channel", REQUIRED), ("message", REQUIRED), ("qos", 1), ("retain", False), ("ttl", 3600),
                ("priority", 0), ("ip", "255.255.255.255"), ("port", 8888), ("signature", None),
                ("auth_message", None)],
    "unsubscribe": [("channel", REQUIRED)],
    "listen": [],
    "create_config": [("config_dict", REQUIRED), ("output_file", REQUIRED)],
    "close": [],
}
COROUTINES = {"authenticate", "subscribe", "publish", "unsubscribe", "listen"}
CONSTANTS = {
    "MAX_RETAINED_MESSAGES": 5, "MAX_PENDING_MESSAGES": 50, "MAX_CHANNELS": 20, "MAX_PAYLOAD_SIZE": 1024,
    "DEFAULT_TTL": 3600, "BUFFER_SIZE": 2048, "HEARTBEAT_INTERVAL": 30, "SESSION_TIMEOUT": 300, "MAX_RETRIES": 3,
    "TIMESTAMP_WINDOW": 30, "NONCE_WINDOW": 100, "MAX_BACKOFF": 60, "PROTOCOL_VERSION": 1, "MAGIC_NUMBER": 0x4E4D,
}


def test_signatures_coroutines_and_constants():
    for name, expected in SIGNATURES.items():
        method = getattr(nomq.NoMQ, name)
        params = list(inspect.signature(method).parameters.values())
        assert params[0].name == "self", name
        got = [(p.name, p.default) for p in params[1:]]
        assert got == expected, name
        assert all(p.kind == p.POSITIONAL_OR_KEYWORD for p in params), name
        assert inspect.iscoroutinefunction(method) == (name in COROUTINES), name
    for name, value in CONSTANTS.items():
        assert getattr(nomq.NoMQ, name) == value, name


def test_gen_signature_is_the_raw_digest_and_authenticate_takes_it(tmp_path):
    async def main():
        n = node(tmp_path, port=free_port())
        hmac_key = bytes.fromhex(SETTINGS["hmac_key"])
        assert n.gen_signature() == hashlib.sha256(b"auth" + hmac_key).digest()
        assert n.gen_signature("héllo") == hashlib.sha256("héllo".encode() + hmac_key).digest()
        assert n.gen_signature(bytearray(b"x")) == n.gen_signature(b"x") == n.gen_signature("x")
        assert len(n.gen_signature()) == 32 and isinstance(n.gen_signature(), bytes)
        with pytest.raises(ValueError):
            n.gen_signature(42)
        sig = n.gen_signature("auth")
        assert await n.authenticate(sig, "auth", ("127.0.0.1", 1)) is True
        assert await n.authenticate(bytearray(sig), b"auth", None) is True
        assert await n.authenticate(sig, "other", ("127.0.0.1", 1)) is False
        assert await n.authenticate(sig.hex(), "auth", ("127.0.0.1", 1)) is False  # the raw bytes only
        assert await n.authenticate(sig, 42, ("127.0.0.1", 1)) is False
        n.close()

    asyncio.run(main())


def test_attributes_and_return_values(tmp_path, capsys):
    port = free_port()

    async def main():
        n = node(tmp_path, port=port)
        assert (n.ip, n.port, n.use_ipv6, n.timeout) == ("127.0.0.1", port, False, 1)
        assert n.encryption_key == bytes.fromhex(SETTINGS["encryption_key"])
        assert n.hmac_key == bytes.fromhex(SETTINGS["hmac_key"])
        assert n.running is True and n.channels == [] and n.pending_messages == {}
        assert abs(n.session_start - time.time()) < 60
        assert len(n.device_id) == 64 and int(n.device_id, 16) >= 0
        assert isinstance(n.logger, nomq.SimpleLogger)
        assert n.local_addr == f"127.0.0.1:{port}"

        assert await n.subscribe("a/b", priority=20) is None
        assert await n.subscribe("a/b", priority=3) is None  # already subscribed: unchanged
        assert n.channels == [{"name": "a/b", "id": hashlib.sha256(b"a/b").digest()[:16], "priority": 15}]
        assert await n.unsubscribe("a/b") is None and n.channels == []
        assert await n.unsubscribe("never") is None

        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        assert await n.publish("a/b", "x", qos=1, ip="127.0.0.1", port=sink.getsockname()[1]) is None
        assert len(datagram_at(sink)) > 0
        [entry] = n.pending_messages.values()  # nobody confirms it
        assert (entry["channel"], entry["ip"], entry["port"], entry["qos"]) == ("a/b", "127.0.0.1",
                                                                               sink.getsockname()[1], 1)
        assert n.create_config(dict(SETTINGS), tmp_path / "copy.json") is None
        assert nomq.read_config(tmp_path / "copy.json")["hmac_key"] == SETTINGS["hmac_key"]
        n.close()
        assert n.running is False and n.channels == [] and n.pending_messages == {}
        sink.close()

    asyncio.run(main())
    assert "[ERROR]" not in capsys.readouterr().out


def test_refusals_are_logged_not_raised_and_send_nothing(tmp_path, capsys):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    to = {"ip": "127.0.0.1", "port": sink.getsockname()[1]}

    async def main():
        n = node(tmp_path, "WARNING", port=free_port())
        refused = [
            n.publish("c", b"bytes", **to),
            n.publish("c", "", **to),
            n.publish("c", "x" * (nomq.NoMQ.MAX_PAYLOAD_SIZE + 1), **to),
            n.publish("c", "x", qos=3, **to),
            n.publish("c", "x", ttl=70000, **to),
            n.publish("c", "x", signature=b"not it", auth_message="auth", **to),
            n.subscribe(""),
            n.subscribe("c", signature=b"not it", message="auth", addr=("127.0.0.1", 1)),
        ]
        for call in refused:
            assert await call is None
        assert n.channels == [] and n.pending_messages == {}
        # A signature alone checks nothing (the reference checks all three or none).
        await n.subscribe("c", signature=b"not it")
        await n.publish("c", "x" * nomq.NoMQ.MAX_PAYLOAD_SIZE, qos=0, signature=b"not it", **to)
        await asyncio.sleep(0.2)
        n.close()
        return n

    n = asyncio.run(main())
    out = capsys.readouterr().out
    assert out.count("[ERROR]") == 6 and out.count("[WARNING] Authentication failed") == 2, out
    assert len(sink.recv(4096)) > 1024  # only the last publish went out
    with pytest.raises(BlockingIOError):
        sink.recv(4096)
    sink.close()
    assert n.running is False


def test_channel_limit_applies_to_new_channels(tmp_path, capsys):
    async def main():
        n = node(tmp_path, port=free_port())
        for i in range(nomq.NoMQ.MAX_CHANNELS + 1):
            await n.subscribe(f"c{i}")
        assert [c["name"] for c in n.channels] == [f"c{i}" for i in range(nomq.NoMQ.MAX_CHANNELS)]
        await n.subscribe("c0")  # already there: no error at the limit
        n.close()

    asyncio.run(main())
    assert capsys.readouterr().out.count("Max channel limit") == 1


def test_listen_returns_at_once_and_mssg_yields_messages_in_order(tmp_path):
    port = free_port()

    async def main():
        n = node(tmp_path, port=port)
        await n.subscribe("to/me")
        listener = await asyncio.wait_for(n.listen(), 1)
        assert await n.listen() is listener and listener.nomq is n
        assert listener.mssg() is None
        for i in range(3):
            await n.publish("to/me", f"m{i}", qos=2, ip="127.0.0.1", port=port)
        got = [await next_message(listener) for _ in range(3)]
        assert got == [{"channel": "to/me", "message": f"m{i}"} for i in range(3)]
        await until(lambda: not n.pending_messages)  # each confirmed by the node itself
        # The reference's receive loop stops when `running` is cleared.
        n.running = False
        await n.publish("to/me", "late", qos=0, ip="127.0.0.1", port=port)
        await asyncio.sleep(0.2)
        assert listener.mssg() is None
        n.close()

    asyncio.run(main())


def test_a_burst_of_publishes_is_delivered_and_confirmed_whole(tmp_path):
    """More publishes than the in-flight window, without awaiting confirmations: publish waits
    for room instead of dropping any."""
    port = free_port()

    async def main():
        n = node(tmp_path, port=port)
        await n.subscribe("burst")
        listener = await n.listen()
        count = 3000
        for i in range(count):
            await n.publish("burst", str(i), qos=1, ip="127.0.0.1", port=port)
        got = [(await next_message(listener, 20))["message"] for _ in range(count)]
        assert sorted(got, key=int) == [str(i) for i in range(count)]
        await until(lambda: not n.pending_messages, 20)
        n.close()

    asyncio.run(main())


def test_close_sends_the_publishes_already_made(tmp_path):
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sink.bind(("127.0.0.1", 0))

    async def main():
        n = node(tmp_path, port=free_port())
        for i in range(200):
            await n.publish("c", str(i), qos=1, ip="127.0.0.1", port=sink.getsockname()[1])
        n.close()

    asyncio.run(main())
    assert sum(1 for _ in range(200) if datagram_at(sink)) == 200
    sink.close()


def test_session_id_is_the_one_on_the_wire(tmp_path):
    """Needs the native module's `NativeEndpoint.session_id`."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))

    async def main():
        n = node(tmp_path, port=free_port())
        await n.publish("c", "x", qos=0, ip="127.0.0.1", port=sink.getsockname()[1])
        header = datagram_at(sink)[:13]  # magic 2, version 1, type 1, flags 1, packet id 4, session id 4
        assert n.session_id == int.from_bytes(header[9:13], "big")
        n.close()

    asyncio.run(main())
    sink.close()


def test_config_errors_raise_runtime_error_as_the_reference(tmp_path):
    with pytest.raises(RuntimeError, match="Config load failed"):
        nomq.NoMQ(config_file=str(tmp_path / "missing.json"))
    (tmp_path / "garbage.json").write_text("not a config\n")
    with pytest.raises(RuntimeError, match="Config load failed"):
        nomq.NoMQ(config_file=str(tmp_path / "garbage.json"))
    with pytest.raises(nomq.ConfigError):
        nomq.create_config({"encryption_key": "zz" * 32, "hmac_key": "22" * 32}, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


def test_a_plain_json_config_is_read_everywhere(tmp_path):
    """`nomq keygen --plain` writes the JSON object itself; every Python reader takes it."""
    port = free_port()
    path = tmp_path / "plain.json"
    path.write_text(json.dumps(dict(SETTINGS, port=port)) + "\n")
    assert nomq.read_config(path) == dict(SETTINGS, port=port)

    async def main():
        n = nomq.NoMQ(str(path), "ERROR")
        assert n.local_addr == f"127.0.0.1:{port}" and n.hmac_key == bytes.fromhex(SETTINGS["hmac_key"])
        n.close()
        async with nomq.Endpoint.from_config(path) as ep:
            assert ep.local_addr == f"127.0.0.1:{port}"

    asyncio.run(main())
    path.write_text(json.dumps(dict(SETTINGS, hmac_key="22")))
    with pytest.raises(nomq.ConfigError, match="hmac_key"):
        nomq.read_config(path)


def test_a_second_node_on_a_busy_port_takes_its_own(tmp_path, capsys):
    port = free_port()

    async def main():
        first = node(tmp_path, port=port)
        second = nomq.NoMQ(str(tmp_path / "nomq_config.json"), "WARNING", 1)
        assert first.local_addr == f"127.0.0.1:{port}" != second.local_addr
        await first.subscribe("c")
        listener = await first.listen()
        await second.publish("c", "hello", ip="127.0.0.1", port=port)
        assert await next_message(listener) == {"channel": "c", "message": "hello"}
        await until(lambda: not second.pending_messages)
        second.close()
        first.close()

    asyncio.run(main())
    assert f"127.0.0.1:{port} is in use by another program" in capsys.readouterr().out


def test_the_reference_import_path():
    script = textwrap.dedent("""
        import nomq
        from NoMQ.nomq import NoMQ, SimpleLogger
        from NoMQ.logger import SimpleLogger as Logger
        import NoMQ.nomq
        assert NoMQ.nomq.NoMQ is nomq.NoMQ and SimpleLogger is Logger is nomq.SimpleLogger
        print(NoMQ.__file__)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # A module file, never a `NoMQ/` folder: beside `nomq/` that folder would be the same name on
    # case-insensitive file systems.
    module = pathlib.Path(out.stdout.strip())
    assert module.name == "NoMQ.py"
    assert sorted(n for n in os.listdir(module.parent) if n.casefold() in ("nomq", "nomq.py")) == ["NoMQ.py", "nomq"]


# Scripts in the reference's style: a receiver and a sender in one directory with one config.
REFERENCE_STYLE_RECEIVER = """
import asyncio, json
from NoMQ.nomq import NoMQ

async def main():
    nomq = NoMQ('nomq_config.json', 'INFO', 5)
    signature = nomq.gen_signature()
    await nomq.subscribe("test_channel", priority=0, signature=signature)
    listener = await nomq.listen()
    print("listening", flush=True)
    while True:
        msg = listener.mssg()
        if msg:
            print(f"Received JSON: {msg['channel']} -> {json.loads(msg['message'])}", flush=True)
            break
        await asyncio.sleep(0.1)
    nomq.close()

asyncio.run(main())
"""

REFERENCE_STYLE_SENDER = """
import asyncio, json
from nomq import NoMQ

async def main():
    nomq = NoMQ('nomq_config.json', 'INFO', 5)
    signature = nomq.gen_signature()
    await nomq.subscribe("test_channel", priority=0, signature=signature)
    reading = {"device_id": "0a1b2c", "data": {"temperature": {"value": 25.3, "unit": "Celsius"}}}
    await nomq.publish("test_channel", json.dumps(reading), qos=2, retain=True, ip="127.255.255.255",
                       port=nomq.port, signature=signature)
    listener = await nomq.listen()
    for _ in range(50):
        if not nomq.pending_messages:
            break
        await asyncio.sleep(0.1)
    nomq.close()
    print("pending", len(nomq.pending_messages))

asyncio.run(main())
"""


def test_reference_style_sender_and_receiver_share_one_directory_and_config(tmp_path):
    config(tmp_path, ip="0.0.0.0", port=free_port())
    (tmp_path / "receiver.py").write_text(REFERENCE_STYLE_RECEIVER)
    (tmp_path / "sender.py").write_text(REFERENCE_STYLE_SENDER)
    receiver = subprocess.Popen([sys.executable, "receiver.py"], cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    try:
        while (line := receiver.stdout.readline()) and line.strip() != "listening":
            pass
        sender = subprocess.run([sys.executable, "sender.py"], cwd=tmp_path, capture_output=True, text=True,
                                timeout=60)
        out, err = receiver.communicate(timeout=30)
    finally:
        receiver.kill()
    assert sender.returncode == 0, sender.stderr
    assert "[INFO] Confirmed: test_channel" in sender.stdout and "pending 0" in sender.stdout, sender.stdout
    assert receiver.returncode == 0, err
    expected = {"device_id": "0a1b2c", "data": {"temperature": {"value": 25.3, "unit": "Celsius"}}}
    assert f"Received JSON: test_channel -> {expected}" in out.splitlines(), out


def run_example(name, cwd, *args, timeout=30):
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def test_the_examples_run_the_obvious_way(tmp_path):
    """Receiver, then sender, from one directory with one config (the reference's defaults:
    every address, one port)."""
    config(tmp_path, ip="0.0.0.0", port=free_port())
    receiver = subprocess.Popen([sys.executable, str(EXAMPLES / "nomq_receiver.py")], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        sender = run_example("nomq_sender.py", tmp_path)
        out, err = receiver.communicate(timeout=30)
    finally:
        receiver.kill()
    assert sender.returncode == 0, sender.stdout + sender.stderr
    assert "3 messages confirmed" in sender.stdout
    assert receiver.returncode == 0, err
    assert out.splitlines() == [f"sensors/temp reading {i}" for i in range(3)]


def test_the_example_sender_fails_when_nothing_is_confirmed(tmp_path):
    config(tmp_path, ip="0.0.0.0", port=free_port())  # nobody listening
    sender = run_example("nomq_sender.py", tmp_path)
    assert sender.returncode == 1
    assert "3 of 3 messages not confirmed" in sender.stderr


def test_wire_against_the_independent_v1_implementation(tmp_path):
    """NoMQ.publish puts reference-format bytes on the wire (checked by the independent Python
    v1 implementation), and a reference node's ACK confirms it; a reference node's PUBLISH is
    delivered through listen().mssg()."""
    import nomq_v1_reference as ref

    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(5)
    port = free_port()
    ref_node = ref.Node(bytes.fromhex(SETTINGS["encryption_key"]), bytes.fromhex(SETTINGS["hmac_key"]))

    async def main():
        n = node(tmp_path, port=port)
        await n.subscribe("from/ref")
        listener = await n.listen()
        loop = asyncio.get_running_loop()
        await n.publish("to/ref", "héllo", qos=1, ip="127.0.0.1", port=peer.getsockname()[1])
        datagram, source = await loop.run_in_executor(None, peer.recvfrom, 4096)
        got = ref_node.open(datagram)
        assert got["type"] == ref.PUBLISH and got["channel_id"] == ref.channel_id("to/ref")
        assert ref.parse_inner(got["plaintext"])["text"] == "héllo"
        assert len(n.pending_messages) == 1
        peer.sendto(ref_node.reply(ref.ACK, got), source)
        await until(lambda: not n.pending_messages)
        peer.sendto(ref_node.publish("from/ref", "from a reference node", 0), ("127.0.0.1", port))
        assert await next_message(listener) == {"channel": "from/ref", "message": "from a reference node"}
        n.close()

    asyncio.run(main())
    peer.close()
