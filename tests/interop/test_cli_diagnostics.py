"""The `nomq` command says why nothing is happening: a publisher waiting for a confirmation
reports it while it waits, and a receiver refusing datagrams (other keys) says so on stderr."""

import socket
import subprocess
import time


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_other_keys_are_reported_on_both_sides(nomq_bin, tmp_path):
    port = free_udp_port()
    for name in ("sub.cfg", "pub.cfg"):
        subprocess.run([nomq_bin, "keygen", "--out", str(tmp_path / name)], check=True, capture_output=True)
    sub = subprocess.Popen(
        [nomq_bin, "sub", "--bind", f"127.0.0.1:{port}", "--channel", "t", "--seconds", "6",
         "--config", str(tmp_path / "sub.cfg")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(0.5)
        pub = subprocess.run(
            [nomq_bin, "pub", "--to", f"127.0.0.1:{port}", "--channel", "t", "--qos", "1", "--ttl", "3",
             "--config", str(tmp_path / "pub.cfg"), "hello"],
            capture_output=True, text=True, timeout=30,
        )
    finally:
        sub.terminate()
        _, sub_err = sub.communicate(timeout=10)
    assert pub.returncode == 1, pub.stdout + pub.stderr
    assert "not confirmed after" in pub.stderr and "same keys and version" in pub.stderr, pub.stderr
    assert "expired #0" in pub.stdout
    assert "failed authentication (other keys?)" in sub_err, sub_err


def test_pub_to_an_ipv6_address_binds_ipv6_and_is_confirmed(nomq_bin, tmp_path):
    # Without --bind, `nomq pub` binds on the family of --to: an IPv6 destination works, and a
    # message is reported only when it was confirmed.
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        s.bind(("::1", 0))
        port = s.getsockname()[1]
    subprocess.run([nomq_bin, "keygen", "--out", str(tmp_path / "k.cfg")], check=True, capture_output=True)
    sub = subprocess.Popen(
        [nomq_bin, "sub", "--bind", f"[::1]:{port}", "--channel", "t", "--count", "1", "--seconds", "10",
         "--config", str(tmp_path / "k.cfg")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(0.5)
        pub = subprocess.run(
            [nomq_bin, "pub", "--to", f"[::1]:{port}", "--channel", "t", "--qos", "1", "--ttl", "5",
             "--config", str(tmp_path / "k.cfg"), "over six"],
            capture_output=True, text=True, timeout=30,
        )
        sub_out, _ = sub.communicate(timeout=15)
    finally:
        sub.kill()
    assert pub.returncode == 0, pub.stdout + pub.stderr
    assert "expired" not in pub.stdout
    assert "over six" in sub_out
    assert sub.returncode == 0
