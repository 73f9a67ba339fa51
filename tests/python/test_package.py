"""The installed wheel: version of the Rust crates it was built from, an explicit public API,
both top-level modules, and a clean shutdown (no warnings, no threads left to Python)."""
import pathlib
import re
import subprocess
import sys

import nomq
import pytest


def test_version_matches_the_workspace():
    cargo = (pathlib.Path(__file__).parents[2] / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    assert nomq.__version__ == version


def test_public_names_are_explicit_and_importable():
    assert "_nomq" not in nomq.__all__
    for name in nomq.__all__:
        assert hasattr(nomq, name), name
    import mqtt_async

    assert set(mqtt_async.__all__) == {"MQTTClient", "MQTTMessage", "MQTTProto", "config", "set_last_will",
                                       "CONN_CLOSED", "CONN_TIMEOUT", "PROTO_ERROR", "CONN_ERRS", "PING_PID"}
    for name in mqtt_async.__all__:
        assert hasattr(mqtt_async, name), name
    assert issubclass(nomq.NetworkError, OSError) and issubclass(nomq.InvalidArgument, ValueError)


def test_shutdown_leaves_no_warnings_and_no_python_threads(broker):
    script = f"""
import asyncio, threading, warnings
warnings.simplefilter("error")
import nomq
from nomq.mqtt import Client

async def main():
    async with Client("mqtt://127.0.0.1:{broker}", client_id="shutdown-check") as c:
        await c.subscribe("shutdown/check", 1)
        await c.publish("shutdown/check", b"x", qos=1)
        assert (await c.recv(timeout=5)).payload == b"x"
    async with nomq.Endpoint("127.0.0.1:0", encryption_key=bytes(32), trailer_key=bytes(32)) as ep:
        await ep.subscribe("c")
asyncio.run(main())
assert threading.active_count() == 1, threading.enumerate()
print("clean")
"""
    out = subprocess.run([sys.executable, "-X", "dev", "-W", "error", "-c", script], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "clean"
    assert "Warning" not in out.stderr, out.stderr


def test_a_forked_child_gets_a_clear_error(broker):
    """After fork() the child has none of the runtime's threads: an inherited client raises
    ClosedError (naming fork) instead of hanging; the parent keeps working."""
    import os

    import pytest

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    script = f"""
import asyncio, os, sys
import nomq
from nomq.sync import MqttClient
c = MqttClient("mqtt://127.0.0.1:{broker}", client_id="fork-parent-%d" % os.getpid())
c.publish("fork/t", b"parent", qos=1)
pid = os.fork()
if pid == 0:
    try:
        c.publish("fork/t", b"child", qos=1)
        os._exit(3)
    except nomq.ClosedError as e:
        os._exit(0 if "fork" in str(e) else 4)
    except BaseException:
        os._exit(5)
_, status = os.waitpid(pid, 0)
c.publish("fork/t", b"parent again", qos=1)
c.disconnect()
print(os.waitstatus_to_exitcode(status))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0", out.stdout + out.stderr


def test_every_error_kind_has_its_exception_class():
    from nomq import _nomq, errors

    kinds = _nomq.error_kinds()
    codes = [code for code, _, _, _ in kinds]
    assert codes == sorted(set(codes)) and codes[0] == 0
    for code, kind, class_name, text in kinds:
        cls = getattr(errors, class_name)
        assert issubclass(cls, errors.NomqError), kind
        assert class_name in errors.__all__ and text, kind
    by_kind = {kind: (code, cls) for code, kind, cls, _ in kinds}
    assert by_kind["AuthFailed"] == (202, "AuthenticationError")
    assert by_kind["InvalidUrl"] == (105, "InvalidUrl")


def test_raised_errors_carry_their_kind_code():
    import pytest

    from nomq import Codec, errors

    with pytest.raises(errors.InvalidArgument) as bad_version:
        Codec(b"\x01" * 32, b"\x02" * 32, version=3)
    assert bad_version.value.code == 101
    sealed = Codec(b"\x01" * 32, b"\x02" * 32, version=2).seal_publish("ch", b"hi")
    with pytest.raises(errors.AuthenticationError) as wrong_keys:
        # Another tag key: the tag check refuses it, whatever the random IV.
        Codec(b"\x01" * 32, b"\x03" * 32, version=2).open(sealed)
    assert wrong_keys.value.code == 202


def test_after_fork_the_child_rekeys_and_refuses_runtime_objects():
    """A codec used across fork() gives the child fresh random bytes (never the parent's IVs),
    and an endpoint made in a child forked after the runtime started is refused clearly."""
    import os

    import pytest

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    script = """
import os, sys
import nomq
codec = nomq.Codec(b"\\x01" * 32, b"\\x02" * 32, version=2)
same = dict(packet_id=1, session_id=1, timestamp_ms=1_700_000_000_000)
codec.seal_publish("c", b"x", **same)  # the generator holds buffered bytes now
parent_side = nomq.Endpoint("127.0.0.1:0", encryption_key=b"\\x01" * 32, trailer_key=b"\\x02" * 32, version=2)  # runtime started
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(w, codec.seal_publish("c", b"x", **same).hex().encode() + b"\\n")
    try:
        nomq.Endpoint("127.0.0.1:0", encryption_key=b"\\x01" * 32, trailer_key=b"\\x02" * 32, version=2)
        os._exit(3)
    except nomq.ClosedError as e:
        os._exit(0 if "fork" in str(e) else 4)
    except BaseException:
        os._exit(5)
mine = codec.seal_publish("c", b"x", **same).hex()
_, status = os.waitpid(pid, 0)
child = os.read(r, 65536).decode().strip()
print(os.waitstatus_to_exitcode(status), "same" if child == mine else "different")
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "different"], out.stdout + out.stderr


def test_a_panic_in_spawned_work_fails_its_future_instead_of_hanging():
    # The runtime's tasks catch their panics: the awaiting coroutine gets a NomqError of kind
    # Panic, and the module keeps working.
    import asyncio

    from nomq import _bridge, _nomq
    from nomq.errors import NomqError

    async def main():
        with pytest.raises(NomqError, match="panic") as caught:
            await asyncio.wait_for(_bridge.call(_nomq._panic_in_task), 10)
        panic = next(code for code, kind, _, _ in _nomq.error_kinds() if kind == "Panic")
        assert caught.value.code == panic
        assert _nomq.channel_id("still works")

    asyncio.run(main())
