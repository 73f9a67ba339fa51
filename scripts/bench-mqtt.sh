#!/usr/bin/env bash
# `nomq bench mqtt` against rumqttc 0.25 (benches/rumqttc-bench), same broker, same run (issue 4
# §4). Starts its own mosquitto on a free loopback port (max_inflight_messages 1000, so both
# clients can use an inflight window of 100, rumqttc's default), runs every mode ROUNDS times
# alternating the clients, and prints medians and ratios.
#   ROUNDS=3 COUNT=20000 scripts/bench-mqtt.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-20000}
cargo build --release --locked -p nomq-cli >/dev/null
(cd benches/rumqttc-bench && cargo build --release --locked >/dev/null)
NOMQ=./target/release/nomq
RUMQTTC=./benches/rumqttc-bench/target/release/rumqttc-bench

dir=$(mktemp -d)
chmod 777 "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\nmax_queued_messages 0\n' "$port" > "$dir/m.conf"
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
"$MOSQUITTO" -c "$dir/m.conf" >/dev/null 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null; rm -rf "$dir"' EXIT
sleep 0.5

results="$dir/results.jsonl"
run() { # client mode qos count
    local bin=$NOMQ args=(bench mqtt)
    [ "$1" = rumqttc ] && bin=$RUMQTTC && args=()
    local line
    line=$("$bin" "${args[@]}" --port "$port" --mode "$2" --qos "$3" --count "$4" --size 64)
    echo "{\"client\":\"$1\",\"mode\":\"$2\",\"qos\":$3,\"result\":$line}" >> "$results"
}
for round in $(seq "$ROUNDS"); do
    for client in nomq rumqttc; do
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
print(f"{'measure':<34}{'nomq':>12}{'rumqttc':>12}{'nomq/rumqttc':>14}")
for qos in (0, 1, 2):
    n, k = med("nomq", "throughput", qos, "msgs_per_s"); r, _ = med("rumqttc", "throughput", qos, "msgs_per_s")
    print(f"{'throughput QoS %d (msg/s)' % qos:<28}{n:>12,.0f}{r:>12,.0f}{n / r:>13.2f}x")
for qos in (0, 1, 2):
    n, _ = med("nomq", "throughput", qos, "cpu_us_per_msg"); r, _ = med("rumqttc", "throughput", qos, "cpu_us_per_msg")
    print(f"{'CPU QoS %d (us/msg, both clients)' % qos:<28}{n:>12.2f}{r:>12.2f}{n / r:>13.2f}x")
for key in ("p50_us", "p99_us"):
    n, _ = med("nomq", "rtt", 1, key); r, _ = med("rumqttc", "rtt", 1, key)
    print(f"{'rtt QoS 1 ' + key:<28}{n:>12,.0f}{r:>12,.0f}{n / r:>13.2f}x")
n, _ = med("nomq", "connect", 0, "median_ms"); r, _ = med("rumqttc", "connect", 0, "median_ms")
print(f"{'connect median (ms)':<28}{n:>12.3f}{r:>12.3f}{n / r:>13.2f}x")
print(f"medians of {k} rounds each, same broker, alternating clients")
PY
