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
