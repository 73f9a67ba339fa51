"""What the network tests share: their environment, free ports, peers run in the background
(the Rust CLI, other MicroPython scripts) and the files those write.

Environment:
  NOMQ_CLI          the Rust CLI (target/release/nomq)
  NOMQ_TMP          a scratch directory (each test uses a folder of its own in it)
  NOMQ_MICROPYTHON  the interpreter for child scripts (default: sys.executable)
  MICROPYPATH       passed on to child scripts (with tests/micropython/board first, for
                    scripts written for a board)

Peers run under `timeout`, so none outlives a test that crashed; `stop_all()` ends the rest.
"""
import errno
import json
import os
import socket
import sys
import time

import asyncio

CLI = os.getenv("NOMQ_CLI")
TMP = os.getenv("NOMQ_TMP")
MICROPYTHON = os.getenv("NOMQ_MICROPYTHON") or sys.executable
NET = __file__.rsplit("/", 1)[0]
TESTS = NET.rsplit("/", 1)[0]  # tests/micropython
ROOT = TESTS.rsplit("/", 2)[0]
BOARD = TESTS + "/board"

KEY1 = bytes(range(32))
KEY2 = bytes(range(100, 132))

_running = []  # names of the peers started and not seen to exit


def setup(name):
    """Checks the environment and returns the test's own scratch folder."""
    if not CLI or not TMP:
        print("NOMQ_CLI (the Rust CLI) and NOMQ_TMP (a scratch directory) must be set")
        sys.exit(2)
    folder = TMP + "/" + name
    sh("rm -rf '%s' && mkdir -p '%s'" % (folder, folder))
    return folder


def sh(command):
    """Runs a shell command; its exit status."""
    return os.system(command) >> 8


def free_port():
    """A UDP port nobody has bound (MicroPython sockets cannot report the port the system
    picks for port 0, so one is tried at random)."""
    for _ in range(200):
        port = 20000 + int.from_bytes(os.urandom(2), "big") % 30000
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(socket.getaddrinfo("0.0.0.0", port)[0][-1])
            return port
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
        finally:
            s.close()
    raise OSError(errno.EADDRINUSE)


def quote(arg):
    return "'" + str(arg).replace("'", "'\\''") + "'"


def spawn(folder, name, args, seconds=30, env=""):
    """Starts `args` (a list) in the background in `folder`, for at most `seconds`: its output
    goes to name.out and name.err there, its exit status to name.rc when it ends."""
    base = folder + "/" + name
    script = (
        "cd %s\n%s timeout %d %s > %s.out 2> %s.err &\necho $! > %s.pid\nwait $!\necho $? > %s.rc\n"
        % (quote(folder), env, seconds, " ".join(quote(a) for a in args), quote(base), quote(base), quote(base),
           quote(base))
    )
    with open(base + ".sh", "w") as f:
        f.write(script)
    sh("rm -f %s.rc %s.pid; sh %s.sh > /dev/null 2>&1 &" % (quote(base), quote(base), quote(base)))
    _running.append(base)
    return base


def run(folder, name, args, seconds=30, env=""):
    """Runs `args` in `folder` to its end (at most `seconds`); its exit status. The output is
    in name.out and name.err."""
    base = folder + "/" + name
    return sh("cd %s && %s timeout %d %s > %s.out 2> %s.err" % (quote(folder), env, seconds,
                                                               " ".join(quote(a) for a in args), quote(base),
                                                               quote(base)))


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def exit_status(base):
    """The peer's exit status, or None while it runs."""
    text = read(base + ".rc").strip()
    return int(text) if text else None


async def until(condition, seconds=10):
    """Waits (letting the other tasks run) until condition() is true; whether it became so."""
    deadline = time.ticks_add(time.ticks_ms(), int(seconds * 1000))
    while not condition():
        if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
            return False
        await asyncio.sleep_ms(20)
    return True


async def wait_text(path, text, seconds=10):
    return await until(lambda: text in read(path), seconds)


async def wait_exit(base, seconds=30):
    """The peer's exit status once it ends, or None if it still runs after `seconds`."""
    await until(lambda: exit_status(base) is not None, seconds)
    status = exit_status(base)
    if status is not None and base in _running:
        _running.remove(base)
    return status


def stop(base):
    pid = read(base + ".pid").strip()
    if pid and exit_status(base) is None:
        sh("kill %s 2> /dev/null" % pid)
    if base in _running:
        _running.remove(base)


def stop_all():
    for base in list(_running):
        stop(base)


def json_lines(path):
    """The JSON objects of a file written one per line (what `nomq sub --json` prints)."""
    out = []
    for line in read(path).split("\n"):
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def cli(*args):
    return [CLI] + [str(a) for a in args]


def child_path(board=False):
    """MICROPYPATH for a child interpreter: this one's, with the board stand-ins first when
    `board` (network, machine.unique_id, uasyncio)."""
    path = os.getenv("MICROPYPATH") or ".frozen"
    return (BOARD + ":" + path) if board else path


def micropython(script, *args, board=False):
    """(env, args) to run a MicroPython script in a child interpreter."""
    return "MICROPYPATH=" + quote(child_path(board)), [MICROPYTHON, script] + [str(a) for a in args]


def write_config(path, ip="127.0.0.1", port=8888, keys=(KEY1, KEY2), plain=False):
    """A config file in the reference's encrypted format (or plain JSON) with these keys."""
    import _nomq

    if plain:
        from binascii import hexlify

        text = json.dumps({"ip": ip, "port": port, "use_ipv6": False, "encryption_key": hexlify(keys[0]).decode(),
                           "hmac_key": hexlify(keys[1]).decode()})
    else:
        text = _nomq.write_config(keys[0], keys[1], ip, port, False)
    with open(path, "w") as f:
        f.write(text + "\n")
    return path
