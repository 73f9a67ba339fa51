"""The nomq binary against an independent Python implementation of the reference's v1 behaviour
(tests/python/nomq_v1_reference.py, itself checked against the reference's captures), over real
UDP on loopback: every packet of the PUBLISH/ACK/PUBREC/PUBREL/PUBCOMP exchanges, both ways."""
import json
import socket
import struct
import subprocess
import time

import pytest

import nomq_v1_reference as v1
from reference_config import read_reference_config

CHANNEL = "sensors/temp"


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(5)
    return s


def receive(sock, node, want_type, seen_pids=()):
    """The next packet of `want_type`, skipping retransmissions of what was already handled."""
    while True:
        data, addr = sock.recvfrom(4096)
        p = node.open(data)
        if p["type"] == want_type and p["packet_id"] not in seen_pids:
            return p, addr


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_nomq_pub_to_a_reference_receiver(nomq_bin, keys, qos):
    enc, mac, config = keys
    node, sock = v1.Node(enc, mac), udp_socket()
    port = sock.getsockname()[1]
    text = "21.5 °C"
    proc = subprocess.Popen([nomq_bin, "pub", "--bind", "127.0.0.1:0", "--to", f"127.0.0.1:{port}",
                             "--channel", CHANNEL, "--config", str(config), "--qos", str(qos), "--json", text],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pub, addr = receive(sock, node, v1.PUBLISH)
        # Header and inner payload exactly as the reference lays them out (§3, §4, §10).
        assert pub["flags"] == v1.publish_flags(qos, False, 0)
        assert pub["channel_id"] == v1.channel_id(CHANNEL)
        assert pub["ttl"] == 3600 and pub["iv"] == pub["iv_header"]
        assert abs(pub["timestamp"] - time.time()) < 5
        inner = v1.parse_inner(pub["plaintext"])
        assert (inner["text"], inner["offset"]) == (text, 16)
        assert abs(inner["timestamp"] - pub["timestamp"]) <= 1
        if qos == 1:
            sock.sendto(node.reply(v1.ACK, pub), addr)
        elif qos == 2:
            sock.sendto(node.reply(v1.PUBREC, pub), addr)
            rel, rel_addr = receive(sock, node, v1.PUBREL)
            assert rel_addr == addr
            assert (rel["packet_id"], rel["flags"], rel["channel_id"]) == (pub["packet_id"], 0, pub["channel_id"])
            assert rel["plaintext"] == struct.pack(">I", pub["packet_id"])
            assert rel["session_id"] == pub["session_id"]
            sock.sendto(node.reply(v1.PUBCOMP, rel), addr)
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    line = json.loads(out.splitlines()[-1])
    assert line["outcome"] == ("sent" if qos == 0 else "confirmed")


def test_nomq_pub_reference_listener_layout(nomq_bin, keys):
    """--reference-listener puts 4 filler bytes before the text (§22.1)."""
    enc, mac, config = keys
    node, sock = v1.Node(enc, mac), udp_socket()
    proc = subprocess.Popen([nomq_bin, "pub", "--to", f"127.0.0.1:{sock.getsockname()[1]}", "--channel", CHANNEL,
                             "--config", str(config), "--qos", "0", "--reference-listener", "hello"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pub, _ = receive(sock, node, v1.PUBLISH)
    proc.communicate(timeout=10)
    inner = v1.parse_inner(pub["plaintext"])
    assert (inner["text"], inner["offset"]) == ("hello", 20)
    assert pub["plaintext"][16:20] == bytes(4)


def send_until_answered(sock, packet, to, node, want_type):
    """A reference peer does not retransmit; this one resends the same bytes until nomq is up."""
    sock.settimeout(0.25)
    for _ in range(40):
        sock.sendto(packet, to)
        try:
            return receive(sock, node, want_type)
        except socket.timeout:
            continue
    raise AssertionError(f"no answer of type {want_type}")


def test_reference_sender_to_nomq_sub(nomq_bin, keys):
    enc, mac, config = keys
    node, sock = v1.Node(enc, mac), udp_socket()
    probe = udp_socket()
    port = probe.getsockname()[1]
    probe.close()
    proc = subprocess.Popen([nomq_bin, "sub", "--bind", f"127.0.0.1:{port}", "--channel", CHANNEL, "--config",
                             str(config), "--count", "2", "--seconds", "20", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        to = ("127.0.0.1", port)
        # QoS 1: the ACK carries the id in the header and as the u32 plaintext, flags 0x01 (§5).
        pub1 = node.publish(CHANNEL, "first", qos=1)
        sent1 = node.open(pub1)
        ack, _ = send_until_answered(sock, pub1, to, node, v1.ACK)
        assert (ack["packet_id"], ack["flags"], ack["channel_id"]) == (sent1["packet_id"], 1, sent1["channel_id"])
        assert ack["plaintext"] == struct.pack(">I", sent1["packet_id"])
        assert ack["session_id"] != node.session_id, "replies carry the replier's session id"
        # QoS 2: PUBREC, then our PUBREL is answered with PUBCOMP; a repeated PUBREL too (§22.5).
        pub2 = node.publish(CHANNEL, "second ✓", qos=2)
        sent2 = node.open(pub2)
        rec, _ = send_until_answered(sock, pub2, to, node, v1.PUBREC)
        assert (rec["packet_id"], rec["flags"]) == (sent2["packet_id"], 0)
        for _ in range(2):
            sock.sendto(node.reply(v1.PUBREL, rec), to)
            comp, _ = receive(sock, node, v1.PUBCOMP)
            assert comp["packet_id"] == sent2["packet_id"]
            assert comp["plaintext"] == struct.pack(">I", sent2["packet_id"])
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = [json.loads(l) for l in out.splitlines()]
    assert [(l["message"], l["qos"], l["channel"]) for l in lines] == [("first", 1, CHANNEL), ("second ✓", 2, CHANNEL)]
    assert all(l["from"] == f"127.0.0.1:{sock.getsockname()[1]}" for l in lines)


def test_keygen_writes_a_file_the_reference_format_reads(nomq_bin, tmp_path):
    out = tmp_path / "generated.conf"
    subprocess.run([nomq_bin, "keygen", "--out", str(out), "--port", "9999"], check=True, capture_output=True)
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    doc = read_reference_config(out)
    assert doc["port"] == 9999 and doc["ip"] == "0.0.0.0" and doc["use_ipv6"] is False
    assert len(bytes.fromhex(doc["encryption_key"])) == 32 and len(bytes.fromhex(doc["hmac_key"])) == 32


@pytest.mark.parametrize("plain", [False, True])
def test_python_reads_what_keygen_writes(nomq_bin, tmp_path, plain):
    """Both forms `nomq keygen` writes (the reference's, and `--plain` JSON) configure Python's
    nodes, which then talk to `nomq sub` holding the same file."""
    import asyncio

    import nomq

    config = tmp_path / "nomq_config.json"
    probe = udp_socket()
    sub_port = probe.getsockname()[1]
    probe.close()
    subprocess.run([nomq_bin, "keygen", "--out", str(config), "--ip", "127.0.0.1", "--port", "0"]
                   + (["--plain"] if plain else []), check=True, capture_output=True)
    settings = nomq.read_config(config)
    assert (settings["ip"], settings["port"]) == ("127.0.0.1", 0)
    proc = subprocess.Popen([nomq_bin, "sub", "--bind", f"127.0.0.1:{sub_port}", "--channel", CHANNEL, "--config",
                             str(config), "--count", "1", "--seconds", "20", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    async def main():
        async with nomq.Endpoint.from_config(config) as ep:
            assert ep.local_addr.startswith("127.0.0.1:")
        node = nomq.NoMQ(str(config), "ERROR", 5)
        deadline = time.monotonic() + 20
        await node.publish(CHANNEL, "from python", qos=1, ip="127.0.0.1", port=sub_port)
        while node.pending_messages and time.monotonic() < deadline:  # sub may still be starting
            await asyncio.sleep(0.05)
        node.close()

    try:
        asyncio.run(main())
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert [json.loads(line)["message"] for line in out.splitlines()] == ["from python"]

def test_wrong_keys_are_refused_and_unconfirmed_publish_fails(nomq_bin, keys, tmp_path):
    enc, mac, config = keys
    sock = udp_socket()
    stranger = v1.Node(bytes(32), bytes(32))
    proc = subprocess.run([nomq_bin, "pub", "--to", f"127.0.0.1:{sock.getsockname()[1]}", "--channel", CHANNEL,
                           "--config", str(config), "--qos", "1", "--ttl", "1", "x"], capture_output=True, text=True,
                          timeout=20)
    assert proc.returncode == 1, "unconfirmed within its ttl: exit status 1"
    assert "expired" in proc.stdout
    data, _ = sock.recvfrom(4096)
    with pytest.raises(v1.Rejected, match="bad_trailer"):
        stranger.open(data)
