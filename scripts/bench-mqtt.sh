#!/usr/bin/env bash
# `nomq bench mqtt` against rumqttc 0.25 (benches/rumqttc-bench), same broker, same run.
# Starts its own mosquitto on a free loopback port (max_inflight_messages 1000, so both
# clients can use an inflight window of 100, rumqttc's default), runs every mode ROUNDS times
# alternating the clients, and prints medians and ratios.
#
# rumqttc runs twice per round: with its defaults (Nagle's algorithm on) and with TCP_NODELAY,
# the socket setting nomq always uses (NODELAY=1, the same program). BENCH_RUNTIME=current_thread
# runs every client on tokio's single-threaded runtime instead of the multi-threaded one.
# BENCH_INFLIGHT=N sets nomq's inflight window (default 100, rumqttc's; the client's own default
# is 20).
#   ROUNDS=3 COUNT=20000 scripts/bench-mqtt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-20000}
cargo build --release --locked -p nomq-cli >/dev/null
(cd benches/rumqttc-bench && cargo build --release --locked >/dev/null)
NOMQ=${NOMQ:-./target/release/nomq}  # NOMQ=path compares another build
RUMQTTC=./benches/rumqttc-bench/target/release/rumqttc-bench

dir=$(mktemp -d)
port=$(python3 tests/support/mosquitto.py start "$dir/broker")
trap 'python3 tests/support/mosquitto.py stop "$dir/broker"; rm -rf "$dir"' EXIT

results="$dir/results.jsonl"
run() { # client mode qos count
    local bin=$NOMQ args=(bench mqtt) nodelay=0
    case "$1" in
        rumqttc) bin=$RUMQTTC args=() ;;
        rumqttc-nodelay) bin=$RUMQTTC args=() nodelay=1 ;;
    esac
    local line
    line=$(NODELAY=$nodelay "$bin" "${args[@]}" --port "$port" --mode "$2" --qos "$3" --count "$4" --size 64)
    echo "{\"client\":\"$1\",\"mode\":\"$2\",\"qos\":$3,\"result\":$line}" >> "$results"
}
for round in $(seq "$ROUNDS"); do
    for client in nomq rumqttc rumqttc-nodelay; do
        for qos in 0 1 2; do run "$client" throughput "$qos" "$COUNT"; done
        run "$client" rtt 1 2000
        run "$client" connect 0 200
    done
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(client, mode, qos, key):
    vals = [r["result"][key] for r in rows if r["client"] == client and r["mode"] == mode and r["qos"] == qos]
    return statistics.median(vals), len(vals)
clients = ("nomq", "rumqttc", "rumqttc-nodelay")
print(f"{'measure':<30}" + "".join(f"{c:>17}" for c in clients) + f"{'vs rumqttc':>12}{'vs nodelay':>12}")
def line(label, mode, qos, key, fmt):
    vals = [med(c, mode, qos, key)[0] for c in clients]
    print(f"{label:<30}" + "".join(f"{v:>17{fmt}}" for v in vals)
          + f"{vals[0] / vals[1]:>11.2f}x{vals[0] / vals[2]:>11.2f}x")
for qos in (0, 1, 2):
    line(f"throughput QoS {qos} (msg/s)", "throughput", qos, "msgs_per_s", ",.0f")
for qos in (0, 1, 2):
    line(f"CPU QoS {qos} (us/msg)", "throughput", qos, "cpu_us_per_msg", ".2f")
for key in ("p50_us", "p99_us"):
    line(f"rtt QoS 1 {key}", "rtt", 1, key, ",.0f")
line("connect median (ms)", "connect", 0, "median_ms", ".3f")
_, k = med("nomq", "rtt", 1, "p50_us")
print(f"medians of {k} rounds each, same broker, alternating clients; CPU is both clients' process time")
PY
