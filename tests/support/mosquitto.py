#!/usr/bin/env python3
"""A private mosquitto for the tests and benchmarks of every language: one configuration, one
readiness check (the port accepts a connection), one way to stop and restart it.

From Python::

    with Mosquitto(extra="...") as broker:      # a free loopback port
        broker.port; broker.restart()

From a shell or another language (the broker keeps running after the command returns)::

    port=$(tests/support/mosquitto.py start DIR [--extra TEXT])   # prints the port
    tests/support/mosquitto.py restart DIR                        # same port, same data
    tests/support/mosquitto.py stop DIR

DIR holds the configuration, the persistence database, the log and the pid; it is created if
missing. mosquitto itself is installed by scripts/test.sh (apt-get).
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Optional

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


def executable() -> str:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if candidate and os.path.exists(candidate):
            return candidate
    raise RuntimeError("mosquitto is not installed: run scripts/test.sh, which installs it with apt-get")


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    """Whether `pid` still runs. A process that exited but is not reaped yet (a zombie, when
    another command started it and init reaps it later) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


class Mosquitto:
    """A mosquitto on 127.0.0.1 with anonymous access, persistence in its directory, no limit
    on queued messages and 1000 inflight messages per client (so clients can use windows of
    100), plus any `extra` configuration lines (TLS listeners, password files)."""

    def __init__(self, directory: Optional[str] = None, extra: str = "", port: Optional[int] = None):
        self.owns_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="nomq-mosquitto-")
        os.makedirs(self.dir, exist_ok=True)
        # Started as root, mosquitto drops to its own user and must still write its database.
        os.chmod(self.dir, 0o777)
        self.port = port or free_port()
        with open(self._path("mosquitto.conf"), "w") as f:
            f.write(
                f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                f"persistence true\npersistence_location {self.dir}/\n"
                f"max_queued_messages 0\nmax_inflight_messages 1000\n"
                f"log_dest file {self.dir}/mosquitto.log\n{extra}\n"
            )
        with open(self._path("port"), "w") as f:
            f.write(str(self.port))

    @classmethod
    def existing(cls, directory: str) -> "Mosquitto":
        """The broker whose directory is `directory` (made by `start` from the command line)."""
        broker = cls.__new__(cls)
        broker.owns_dir = False
        broker.dir = directory
        with open(broker._path("port")) as f:
            broker.port = int(f.read())
        return broker

    def _path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def pid(self) -> Optional[int]:
        try:
            with open(self._path("mosquitto.pid")) as f:
                return int(f.read())
        except (OSError, ValueError):
            return None

    def listeners(self) -> list[int]:
        """Every port the configuration listens on (the main one and those in `extra`)."""
        with open(self._path("mosquitto.conf")) as f:
            words = [line.split() for line in f]
        return [int(w[1]) for w in words if len(w) >= 2 and w[0] == "listener"]

    def start(self) -> "Mosquitto":
        """Starts it and returns once every listener accepts connections."""
        proc = subprocess.Popen(
            [executable(), "-c", self._path("mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # outlives a command-line `start`
        )
        with open(self._path("mosquitto.pid"), "w") as f:
            f.write(str(proc.pid))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(_accepts(port) for port in self.listeners()):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"mosquitto did not start on {self.listeners()}; see {self._path('mosquitto.log')}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """SIGTERM (it saves its database), SIGKILL if it lingers; returns once it is gone."""
        pid = self.pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)
        try:  # reap it when it is our own child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        os.remove(self._path("mosquitto.pid"))

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Mosquitto":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "restart"])
    parser.add_argument("dir", help="the broker's directory (configuration, data, log, pid)")
    parser.add_argument("--extra", default="", help="more configuration lines")
    args = parser.parse_args()
    try:
        if args.command == "start":
            print(Mosquitto(args.dir, extra=args.extra).start().port)
        elif args.command == "stop":
            Mosquitto.existing(args.dir).stop()
        else:
            Mosquitto.existing(args.dir).restart()
    except RuntimeError as e:
        print(f"mosquitto.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
