#!/usr/bin/env bash
# MQTT through the Kotlin bindings against Eclipse Paho Java 1.2.5 on the same JVM, and
# against the native Rust client (`nomq bench mqtt`), one private mosquitto, alternating
# clients, ROUNDS rounds; prints medians and ratios (benches/kotlin-bench/src/main/kotlin/Bench.kt
# says what each mode measures).
#
#   ROUNDS=3 COUNT=100000 scripts/bench-kotlin.sh     (after scripts/test-kotlin.sh, which
#                                                      installs the nomq-kotlin artifact)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-100000}
MVN=(mvn -B -q)
[ -n "${NOMQ_M2:-}" ] && MVN+=("-Dmaven.repo.local=$NOMQ_M2")
"${MVN[@]}" -f benches/kotlin-bench/pom.xml package
CP=$ROOT/benches/kotlin-bench/target/classes:$(cat benches/kotlin-bench/target/classpath.txt)
cargo build --release --locked -p nomq-cli >/dev/null

dir=$(mktemp -d)
port=$(python3 tests/support/mosquitto.py start "$dir/broker")
trap 'python3 tests/support/mosquitto.py stop "$dir/broker"; rm -rf "$dir"' EXIT

results=$dir/results.jsonl
run() { # client mode qos count
    local line
    if [ "$1" = nomq-rust ]; then
        line=$(./target/release/nomq bench mqtt --port "$port" --mode "$2" --qos "$3" --count "$4" --size 64)
    else
        line=$(java -cp "$CP" dev.nomq.bench.BenchKt "$1" "$2" "$3" "$4" "$port")
    fi
    echo "{\"client\":\"$1\",\"mode\":\"$2\",\"qos\":$3,\"result\":$line}" >> "$results"
    echo "  $1 $2 QoS $3: $line" >&2
}
echo "single calls across the FFI (JNA), after warm-up:" >&2
java -cp "$CP" dev.nomq.bench.BenchKt nomq-kotlin calls 0 20000 "$port" >/dev/null
for round in $(seq "$ROUNDS"); do
    echo "round $round" >&2
    for client in nomq-kotlin nomq-kotlin-batch paho-java nomq-rust; do
        for qos in 0 1 2; do run "$client" throughput "$qos" "$COUNT"; done
        [ "$client" = nomq-kotlin-batch ] || run "$client" rtt 1 2000
    done
done
python3 - "$results" "$ROUNDS" "$COUNT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(client, mode, qos, key):
    return statistics.median(r["result"][key] for r in rows if r["client"] == client and r["mode"] == mode and r["qos"] == qos)
clients = ("nomq-kotlin", "nomq-kotlin-batch", "paho-java", "nomq-rust")
print(f"\n{sys.argv[3]} messages of 64 bytes, median of {sys.argv[2]} rounds, one mosquitto, alternating clients\n")
print("| measure | Kotlin `publish` | Kotlin `publishBatch` | Paho Java | Rust | batch / Paho | batch / Rust | publish / Paho |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for qos in (0, 1, 2):
    k, b, p, r = (med(c, "throughput", qos, "msgs_per_s") for c in clients)
    print(f"| throughput QoS {qos} (msg/s) | {k:,.0f} | {b:,.0f} | {p:,.0f} | {r:,.0f} | {b / p:.2f}x | {b / r:.0%} | {k / p:.2f}x |")
for key in ("p50_us", "p99_us"):
    k, p, r = (med(c, "rtt", 1, key) for c in ("nomq-kotlin", "paho-java", "nomq-rust"))
    print(f"| RTT QoS 1 {key[:3]} (us) | {k:,.0f} | | {p:,.0f} | {r:,.0f} | | | {k / p:.2f}x the time |")
PY
