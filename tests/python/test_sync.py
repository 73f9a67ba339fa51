"""nomq.sync.MqttClient: blocking calls that release the GIL (another Python thread keeps
running while one waits)."""
import os
import threading
import time

import nomq
import pytest
from nomq.sync import MqttClient


def test_blocking_client_round_trip_and_gil_release(broker):
    with MqttClient(f"mqtt://127.0.0.1:{broker}", client_id=f"sync-{os.getpid()}") as c:
        topic = f"sync/{os.getpid()}"
        assert c.subscribe(topic, qos=2) == [2]
        assert c.publish(topic, "blocking", qos=2) == 0
        m = c.recv(timeout=5)
        assert m is not None and m.payload == b"blocking"
        # While recv waits 0.5 s, another thread counts: the GIL is released.
        ticks = []
        t = threading.Thread(target=lambda: [ticks.append(time.sleep(0.01)) for _ in range(20)])
        t.start()
        assert c.recv(timeout=0.5) is None
        t.join()
        assert len(ticks) == 20
        assert c.metrics()["received"] == 1
    with pytest.raises(nomq.NetworkError):
        MqttClient("mqtt://127.0.0.1:1", connect_timeout=2)


def test_ctrl_c_interrupts_a_blocking_call():
    """SIGINT (Ctrl-C) raises KeyboardInterrupt in a blocking receive instead of being ignored
    until a message arrives."""
    import subprocess
    import sys

    script = """
import os, signal, threading
from nomq.sync import Endpoint
ep = Endpoint("127.0.0.1:0", encryption_key=bytes(32), trailer_key=bytes(32))
threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
try:
    ep.recv()
    print("returned")
except KeyboardInterrupt:
    print("interrupted")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "interrupted", out.stdout + out.stderr


def test_a_blocking_publish_can_time_out():
    """A server that never acknowledges: a blocking QoS 1 publish with ``timeout`` raises
    TimedOutError instead of waiting for ever."""
    import socket
    import threading

    import nomq
    from nomq.sync import MqttClient

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(1024)  # CONNECT
        conn.sendall(b"\x20\x02\x00\x00")  # CONNACK, accepted; no PUBACK ever
        while conn.recv(65536):
            pass
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    c = MqttClient(f"mqtt://127.0.0.1:{port}", client_id="never-acked")
    try:
        with pytest.raises(nomq.TimedOutError):
            c.publish("t", b"x", qos=1, timeout=0.3)
    finally:
        c.disconnect()
        listener.close()
