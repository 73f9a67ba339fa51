#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: installs what it needs (mosquitto with
# apt-get, Python packages in .venv, cargo-fuzz when a nightly toolchain is present), then checks formatting, lints, the
# Rust tests (simulator included), the no_std build, the CLI demo and self-check, the Python and
# interop tests against the installed wheel and binary, the Python stub and types, the C header,
# the C tests (ASan, valgrind, firmware profile, an ESP32-C3 cross build), the MicroPython module (a host
# interpreter and a native .mpy on PyPI's MicroPython), the Kotlin bindings (Maven, JUnit) and
# the Swift bindings' freshness, and a bounded fuzz run (the
# decoders, and two stateful targets: two NoMQ endpoints over a hostile network, an MQTT session
# against a hostile broker). `.ci/run` calls
# this script; the README names it.
#
#   NOMQ_FUZZ_SECONDS=30   seconds per fuzz target (0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FUZZ_SECONDS=${NOMQ_FUZZ_SECONDS:-30}

step() { printf '\n==> %s\n' "$*"; }

step "Python environment (.venv): pytest, cryptography, maturin, mypy"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
PY=$ROOT/.venv/bin/python
"$PY" -m pip install --quiet --upgrade pip
"$PY" -m pip install --quiet -r tests/python/requirements.txt

step "mosquitto (MQTT broker for the client tests; each test starts its own on a free port)"
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >/dev/null
fi
# gcc and valgrind for the C tests (tests/c/run.sh).
for tool in gcc valgrind; do
    if ! command -v $tool >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $tool >/dev/null
    fi
done
# The Debian package may start a system broker on 1883; the tests never use it.
/usr/sbin/mosquitto -h 2>/dev/null | head -n 1 || true

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (workspace)"
cargo test --workspace --locked

step "no_std build of nomq-proto (canary with its own panic handler)"
cargo build --locked --manifest-path core/proto/nostd-check/Cargo.toml --release

step "nomq binary, demo (the README's main job) and self-check"
cargo build --release --locked -p nomq-cli
./target/release/nomq demo --count 500
./target/release/nomq selfcheck --iterations 20000

step "pip install . (the wheel); Python and interop tests (independent v1/v2 implementations vs. nomq)"
"$PY" -m pip install --quiet .
NOMQ_BIN=$ROOT/target/release/nomq "$PY" -m pytest -q
# The opt-in latency mode (the loop polls completions before sleeping) against the same broker.
NOMQ_SPIN_US=150 "$PY" -m pytest -q tests/python/test_mqtt_client.py tests/python/test_endpoint.py

step "C: include/nomq.h matches the pinned cbindgen's output"
scripts/gen-header.sh --check

step "C: tests/c and examples (ESP-IDF example on Linux) with gcc, under ASan and valgrind; firmware profile"
tests/c/run.sh

step "MicroPython: _nomq in a host interpreter (plain, valgrind) and as an x64 native .mpy"
scripts/test-micropython.sh

step "Kotlin/JVM: uniffi bindings generated, compiled with Maven, JUnit against mosquitto (TLS too) and the CLI; Swift bindings fresh"
scripts/test-kotlin.sh

step "C: firmware build for ESP32-C3 (riscv32imc-unknown-none-elf, no_std, opt-level z)"
if rustup target list --installed 2>/dev/null | grep -q riscv32imc-unknown-none-elf ||
        rustup target add riscv32imc-unknown-none-elf >/dev/null 2>&1; then
    cargo rustc --locked -p nomq-ffi --no-default-features --profile firmware \
        --target riscv32imc-unknown-none-elf --crate-type staticlib
    code=$(size target/riscv32imc-unknown-none-elf/firmware/libnomq.a | grep -v compiler_builtins |
        awk '/rcgu/ {s += $1} END {print s}')
    echo "ESP32-C3 archive: $code bytes of code in the nomq object"
else
    echo "riscv32imc-unknown-none-elf not installable here (rustup offline): skipped"
fi

step "Firmware footprint: linked images per feature set for ESP32-C3 and Cortex-M4 (scripts/size.sh)"
scripts/size.sh

step "Python typing: the hand-written stub against the built module (stubtest), mypy --strict"
"$PY" -m mypy.stubtest nomq._nomq --allowlist tests/python/stubtest-allowlist.txt
"$PY" -m mypy --strict python/nomq python/mqtt_async python/NoMQ.py

if [ "$FUZZ_SECONDS" -gt 0 ] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    step "fuzz: ${FUZZ_SECONDS}s per target (nightly found)"
    if ! cargo fuzz --version >/dev/null 2>&1; then
        cargo install cargo-fuzz --locked --quiet
    fi
    for target in open roundtrip mqtt_decode endpoint_exchange mqtt_session; do
        (cd core/proto/fuzz && cargo +nightly fuzz run "$target" -- -max_total_time="$FUZZ_SECONDS" -max_len=4096 2>&1 | tail -n 1)
    done
else
    step "fuzz: skipped (no nightly toolchain, or NOMQ_FUZZ_SECONDS=0)"
fi

step "all checks passed"
