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
