#!/usr/bin/env bash
# Builds the C library (host profile), compiles tests/c and examples/c with gcc against
# include/nomq.h and libnomq.a, and runs every program three ways: plain, under
# AddressSanitizer + UBSan, and under valgrind (errors and definite/indirect/possible leaks
# fail). Starts its own mosquitto for the MQTT test.
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

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dir=$(mktemp -d)
chmod 777 "$dir"
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$dir/m.conf"
"$(command -v mosquitto || echo /usr/sbin/mosquitto)" -c "$dir/m.conf" >/dev/null 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null; rm -rf "$dir"' EXIT
sleep 0.3

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

programs=(tests/c/test_framing.c tests/c/test_errors.c tests/c/test_endpoint.c tests/c/test_mqtt.c
          examples/c/framing.c)
for src in "${programs[@]}"; do
    name=$(basename "$src" .c)
    args=()
    [ "$name" = test_mqtt ] && args=("$port")
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
for src in tests/c/test_framing.c tests/c/test_errors.c tests/c/test_endpoint.c tests/c/test_mqtt.c examples/c/framing.c; do
    name=$(basename "$src" .c)
    args=()
    [ "$name" = test_mqtt ] && args=("$port")
    gcc -std=c11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE -I include -I tests/c -I "$OUT" "$src" "$FW" -o "$OUT/$name.fw"
    echo "--- $name (firmware profile: no_std, malloc/free allocator)"
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
        "$OUT/$name.fw" "${args[@]}" | tail -n 1
done
code=$(size "$FW" | grep -v compiler_builtins | awk '/rcgu/ {s += $1} END {print s}')
echo "firmware archive (x86_64, opt-level z): $code bytes of code in the nomq object"
