"""nomq.NoMQ, the reference API: scripts in the reference's style (examples/python) run
unchanged as separate processes; signatures, create_config before any config, bad keys."""
import asyncio
import pathlib
import subprocess
import sys

import nomq
import pytest
from support import free_port

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"
SETTINGS = {"ip": "127.0.0.1", "port": 0, "use_ipv6": False, "encryption_key": "11" * 32, "hmac_key": "22" * 32}


def config(tmp_path, port):
    nomq.create_config(dict(SETTINGS, port=port), tmp_path / "nomq_config.json")  # no config needed first


def test_reference_style_sender_and_receiver_scripts(tmp_path):
    receiver_dir, sender_dir = tmp_path / "r", tmp_path / "s"
    receiver_dir.mkdir()
    sender_dir.mkdir()
    port = free_port()
    config(receiver_dir, port)
    config(sender_dir, 0)
    receiver = subprocess.Popen([sys.executable, str(EXAMPLES / "nomq_receiver.py")], cwd=receiver_dir,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert receiver.stdout.readline().strip() == "ready"
    sender = subprocess.run([sys.executable, str(EXAMPLES / "nomq_sender.py"), str(port)], cwd=sender_dir,
                            capture_output=True, text=True, timeout=30)
    assert sender.returncode == 0, sender.stderr
    out, err = receiver.communicate(timeout=30)
    assert receiver.returncode == 0, err
    assert out.splitlines() == [f"sensors/temp reading {i}" for i in range(3)]


def test_api_surface_and_signatures(tmp_path):
    port = free_port()
    config(tmp_path, port)

    async def main():
        node = nomq.NoMQ(config_file=str(tmp_path / "nomq_config.json"), log_level="WARNING", timeout=1)
        sig = node.gen_signature("hello")
        assert await node.authenticate(sig, "hello", ("127.0.0.1", 1))
        assert not await node.authenticate(sig, "hello!", ("127.0.0.1", 1))
        assert await node.subscribe("c", priority=3, signature=sig, message="hello", addr=("127.0.0.1", 1))
        assert not await node.subscribe("d", signature="00" * 32, message="hello", addr=("127.0.0.1", 1))
        listener = await node.listen()
        assert listener.mssg() is None
        # To ourselves: delivered, confirmed.
        assert await node.publish("c", "to me", ip="127.0.0.1", port=port, qos=2)
        for _ in range(100):
            m = listener.mssg()
            if m:
                break
            await asyncio.sleep(0.01)
        assert m == {"channel": "c", "message": "to me"}
        # Nobody listening there: not confirmed within `timeout`, False, retried in background.
        assert not await node.publish("c", "lost", ip="127.0.0.1", port=free_port(), qos=1, ttl=2)
        assert not await node.publish("c", "x", signature="bad", auth_message="x")
        assert await node.unsubscribe("c")
        node.close()

    asyncio.run(main())


def test_bad_config_and_keys(tmp_path):
    with pytest.raises(FileNotFoundError):
        nomq.NoMQ(config_file=str(tmp_path / "missing.json"))
    with pytest.raises(nomq.ConfigError):
        nomq.create_config({"encryption_key": "zz" * 32, "hmac_key": "22" * 32}, tmp_path / "bad.json")
    assert not (tmp_path / "bad.json").exists()


def test_wire_against_the_independent_v1_implementation(tmp_path):
    """NoMQ.publish puts reference-format bytes on the wire (checked by the independent Python
    v1 implementation), and a reference node's ACK confirms it; a reference node's PUBLISH is
    delivered through listen().mssg()."""
    import socket

    import nomq_v1_reference as ref

    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(5)
    port = free_port()
    config(tmp_path, port)
    ref_node = ref.Node(bytes.fromhex(SETTINGS["encryption_key"]), bytes.fromhex(SETTINGS["hmac_key"]))

    async def main():
        node = nomq.NoMQ(config_file=str(tmp_path / "nomq_config.json"), log_level="WARNING", timeout=5)
        await node.subscribe("from/ref")
        listener = await node.listen()
        loop = asyncio.get_running_loop()
        publish = asyncio.ensure_future(node.publish("to/ref", "héllo", qos=1, ip="127.0.0.1",
                                                     port=peer.getsockname()[1]))
        datagram, source = await loop.run_in_executor(None, peer.recvfrom, 4096)
        got = ref_node.open(datagram)
        assert got["type"] == ref.PUBLISH and got["channel_id"] == ref.channel_id("to/ref")
        assert ref.parse_inner(got["plaintext"])["text"] == "héllo"
        peer.sendto(ref_node.reply(ref.ACK, got), source)
        assert await publish is True
        peer.sendto(ref_node.publish("from/ref", "from a reference node", 0), ("127.0.0.1", port))
        for _ in range(200):
            m = listener.mssg()
            if m:
                break
            await asyncio.sleep(0.01)
        assert m == {"channel": "from/ref", "message": "from a reference node"}
        node.close()

    asyncio.run(main())
    peer.close()
