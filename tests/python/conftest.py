"""Fixtures for the Python tests: a real mosquitto broker on a free loopback port (installed by
scripts/test.sh), stopped by its pid."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from typing import Iterator

import pytest
from support import free_port


@pytest.fixture(scope="session")
def broker() -> Iterator[int]:
    """The port of a running mosquitto (persistence off, anonymous access)."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(exe):
        pytest.fail("mosquitto is not installed: run scripts/test.sh, which installs it")
    port = free_port()
    d = tempfile.mkdtemp(prefix="nomq-py-broker-")
    os.chmod(d, 0o777)  # mosquitto drops to its own user when started as root
    conf = os.path.join(d, "m.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 0\n")
    proc = subprocess.Popen([exe, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail("mosquitto did not start")
    yield port
    os.kill(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
    shutil.rmtree(d, ignore_errors=True)

