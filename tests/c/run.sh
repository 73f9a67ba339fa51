#!/usr/bin/env bash
# Builds the C library (host profile), compiles tests/c and examples/c with gcc against
# include/nomq.h and libnomq.a, and runs every program three ways: plain, under
# AddressSanitizer + UBSan, and under valgrind (errors and definite/indirect/possible leaks
# fail). Starts its own mosquitto (tests/support/mosquitto.py) for the MQTT tests, and restarts
# it under the ESP-IDF MQTT example.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/target/c-tests
mkdir -p "$OUT"
cargo build --release --locked -p nomq-ffi
LIB=$ROOT/target/release/libnomq.a
python3 tests/c/gen_vectors.py "$OUT/vectors.h"
CFLAGS=(-std=c11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE -DNOMQ_HOST_BUILD -I include -I tests/c -I "$OUT")
LIBS=("$LIB" -lpthread -ldl -lm)

dir=$(mktemp -d)
MOSQUITTO=(python3 tests/support/mosquitto.py)
port=$("${MOSQUITTO[@]}" start "$dir/broker")
trap '"${MOSQUITTO[@]}" stop "$dir/broker"; rm -rf "$dir"' EXIT

# The ESP-IDF example's C files, built for Linux (POSIX sockets stand in for lwIP).
esp=examples/esp-idf
gcc "${CFLAGS[@]}" -I "$esp/main" "$esp/linux/main.c" "$esp/main/sensor_publisher.c" "$esp/main/mqtt_client.c" \
    "${LIBS[@]}" -o "$OUT/esp_example"
gcc "${CFLAGS[@]}" -fsanitize=address,undefined -I "$esp/main" "$esp/linux/main.c" "$esp/main/sensor_publisher.c" \
    "$esp/main/mqtt_client.c" "${LIBS[@]}" -o "$OUT/esp_example.asan"
NOMQ=$ROOT/target/release/nomq
[ -x "$NOMQ" ] || cargo build --release --locked -p nomq-cli
for variant in plain asan valgrind; do
    echo "--- esp-idf example on Linux ($variant): NoMQ sensor -> \`nomq sub\`, MQTT client -> mosquitto"
    run=("$OUT/esp_example")
    [ $variant = asan ] && run=("$OUT/esp_example.asan")
    [ $variant = valgrind ] && run=(valgrind -q --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect,possible "$OUT/esp_example")
    udp=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$NOMQ" keygen --ip 127.0.0.1 --port "$udp" --out "$dir/sensor.cfg"
    "$NOMQ" sub --bind "127.0.0.1:$udp" --channel sensors/temp --count 5 --seconds 30 --config "$dir/sensor.cfg" \
        > "$dir/sub.out" &
    sub=$!
    sleep 0.3
    "${run[@]}" sensor "$dir/sensor.cfg" 127.0.0.1 "$udp" 5
    wait $sub
    [ "$(wc -l < "$dir/sub.out")" -eq 5 ] || { echo "nomq sub got: $(cat "$dir/sub.out")"; exit 1; }
    "${run[@]}" mqtt 127.0.0.1 "$port" "esp-linux-$variant" 5 >/dev/null
    echo "    sensor: 5 readings confirmed by nomq sub; mqtt: 5 published, confirmed and received"
    rm -f "$dir/sensor.cfg"
done

# The MQTT example through a broker restart: it has no reconnect code beyond opening a socket
# when the session asks, and must still see every QoS 1 reading confirmed and back.
echo "--- esp-idf MQTT example on Linux through a broker restart"
"$OUT/esp_example" mqtt 127.0.0.1 "$port" esp-linux-restart 30 > "$dir/restart.out" &
example=$!
for _ in $(seq 100); do  # until the first readings are confirmed (10 s at most)
    grep -q "connected (1)" "$dir/restart.out" 2>/dev/null && break
    sleep 0.1
done
sleep 0.8
"${MOSQUITTO[@]}" stop "$dir/broker"
sleep 1
"${MOSQUITTO[@]}" restart "$dir/broker"
if ! wait $example; then
    cat "$dir/restart.out"
    echo "the MQTT example lost readings across the broker restart" >&2
    exit 1
fi
tail -n 1 "$dir/restart.out"
grep -q "connected (2)" "$dir/restart.out" || { cat "$dir/restart.out"; echo "no reconnect happened" >&2; exit 1; }
echo "    every reading confirmed and received once the session reconnected by itself"

programs=(tests/c/test_framing.c tests/c/test_errors.c tests/c/test_endpoint.c tests/c/test_mqtt.c
          tests/c/test_options.c examples/c/framing.c)
for src in "${programs[@]}"; do
    name=$(basename "$src" .c)
    args=()
    [ "$name" = test_mqtt ] && args=("$port")
    [ "$name" = test_options ] && args=(tests/cases/mqtt_options.txt)
    gcc "${CFLAGS[@]}" "$src" "${LIBS[@]}" -o "$OUT/$name"
    gcc "${CFLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer "$src" "${LIBS[@]}" -o "$OUT/$name.asan"
    echo "--- $name"
    "$OUT/$name" "${args[@]}"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 "$OUT/$name.asan" "${args[@]}" >/dev/null
    echo "    AddressSanitizer + UBSan: clean"
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
        "$OUT/$name" "${args[@]}" >/dev/null
    echo "    valgrind: no errors, no leaks"
done

# The firmware profile (no_std, heap over C malloc/free, panic = abort) for this host: the
# same tests linked against it, under valgrind (the allocator is C's, so valgrind sees it).
cargo build --locked -p nomq-ffi --no-default-features --profile firmware
FW=$ROOT/target/firmware/libnomq.a
for src in tests/c/test_framing.c tests/c/test_errors.c tests/c/test_endpoint.c tests/c/test_mqtt.c \
        tests/c/test_options.c examples/c/framing.c; do
    name=$(basename "$src" .c)
    args=()
    [ "$name" = test_mqtt ] && args=("$port")
    [ "$name" = test_options ] && args=(tests/cases/mqtt_options.txt)
    gcc -std=c11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE -I include -I tests/c -I "$OUT" "$src" "$FW" -o "$OUT/$name.fw"
    echo "--- $name (firmware profile: no_std, malloc/free allocator)"
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
        "$OUT/$name.fw" "${args[@]}" | tail -n 1
done
code=$(size "$FW" | grep -v compiler_builtins | awk '/rcgu/ {s += $1} END {print s}')
echo "firmware archive (x86_64, opt-level z): $code bytes of code in the nomq object"
