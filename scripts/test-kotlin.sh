#!/usr/bin/env bash
# Kotlin/JVM: generates the bindings with the crate's own uniffi-bindgen, compiles them with
# Maven (kotlin-maven-plugin, JNA, kotlinx-coroutines) and runs the JUnit tests against real
# peers: a private mosquitto (plain and TLS, with a CA made here by openssl) and the Rust
# `nomq` CLI over UDP. Then installs the artifact into a local Maven repository and runs
# examples/kotlin against it. Also checks that the committed Swift bindings are fresh.
#
#   NOMQ_M2=DIR   the local Maven repository (default: ~/.m2/repository)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
step() { printf '\n--> %s\n' "$*"; }

# A JDK (17 or later), Maven and openssl: from Debian's packages when the machine lacks them.
missing=()
command -v java >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
MVN=(mvn -B -q -e)
if [ -n "${NOMQ_M2:-}" ]; then
    MVN+=("-Dmaven.repo.local=$NOMQ_M2")
fi

step "uniffi: libnomq_uniffi.so and the Kotlin bindings (crate's own uniffi-bindgen, --library)"
cargo build --locked --release -p nomq-cli
scripts/uniffi-generate.sh kotlin

step "Swift: the committed bindings match a fresh generation"
scripts/uniffi-generate.sh swift --check

WORK=$ROOT/target/kotlin
rm -rf "$WORK"
mkdir -p "$WORK/certs"

step "peers: a CA and a server certificate (openssl), mosquitto with a TLS listener"
(
    cd "$WORK/certs"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=nomq test CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 \
        -extfile san.ext 2>/dev/null
    chmod 644 ./*.pem ./*.key
)
TLS_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BROKER=$WORK/mosquitto
MQTT_PORT=$(python3 tests/support/mosquitto.py start "$BROKER" --extra "listener $TLS_PORT 127.0.0.1
cafile $WORK/certs/ca.pem
certfile $WORK/certs/server.pem
keyfile $WORK/certs/server.key")
trap 'python3 tests/support/mosquitto.py stop "$BROKER" >/dev/null 2>&1 || true' EXIT
export NOMQ_ROOT=$ROOT MQTT_PORT MQTT_TLS_PORT=$TLS_PORT MQTT_CA_PEM=$WORK/certs/ca.pem MOSQUITTO_DIR=$BROKER
export NOMQ_CLI=$ROOT/target/release/nomq
echo "mosquitto on $MQTT_PORT (TLS on $TLS_PORT)"

step "Maven: compile the bindings, run the JUnit tests (bindings/uniffi/kotlin)"
rm -rf bindings/uniffi/kotlin/target/surefire-reports   # counted below: none left from earlier runs
"${MVN[@]}" -f bindings/uniffi/kotlin/pom.xml install
ran=0
for report in bindings/uniffi/kotlin/target/surefire-reports/*.txt; do
    line=$(grep -m1 '^Tests run:' "$report")
    echo "$(basename "$report" .txt): $line"
    ran=$((ran + $(echo "$line" | sed -E 's/^Tests run: ([0-9]+).*/\1/')))
done
# JUnit skips a test method that returns a value (`fun t() = runBlocking { ... }` ending in
# an expression) without a word: every @Test must have run.
declared=$(grep -rho '@Test\b' bindings/uniffi/kotlin/src/test | wc -l)
if [ "$ran" -ne "$declared" ]; then
    echo "test-kotlin.sh: $declared @Test methods, $ran ran (a test returning a value is skipped by JUnit)" >&2
    exit 1
fi
echo "Kotlin: $ran tests ran and passed"

step "benches/kotlin-bench compiles (scripts/bench-kotlin.sh runs it; not part of the tests)"
"${MVN[@]}" -f benches/kotlin-bench/pom.xml package

step "examples/kotlin, built against the installed artifact, against the same broker"
"${MVN[@]}" -f examples/kotlin/pom.xml package exec:java -Dexec.args="127.0.0.1 $MQTT_PORT"
