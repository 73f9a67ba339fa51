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
