#!/usr/bin/env bash
# Firmware footprint: links the images of core/proto/footprint (one per set of features an
# application uses) for ESP32-C3 (riscv32imc-unknown-none-elf) and Cortex-M4
# (thumbv7em-none-eabihf) with the firmware profile's settings (opt-level z, fat LTO, one
# codegen unit, panic = abort, --gc-sections; .cargo/config.toml: compact SHA-256 and AES, no
# unwind tables), and prints text, rodata, data and bss per image
# and the biggest symbols of the largest. bss includes the images' 32 KiB stand-in heap arena.
#
#   scripts/size.sh [--symbols N]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/core/proto/footprint"
SYMBOLS=10
[ "${1:-}" = "--symbols" ] && SYMBOLS=${2:?}
IMAGES="framing nomq mqtt all"
for target in riscv32imc-unknown-none-elf thumbv7em-none-eabihf; do
    if ! rustup target list --installed 2>/dev/null | grep -qx "$target" &&
            ! rustup target add "$target" >/dev/null 2>&1; then
        echo "SKIPPED: $target is not installed and rustup could not add it: no sizes for it" >&2
        continue
    fi
    # .cargo/config.toml adds the firmware targets' flags (compact SHA-256 and AES, no unwind
    # tables); a RUSTFLAGS from the environment would replace them.
    env -u RUSTFLAGS cargo build --locked --release --quiet --target "$target"
    echo
    echo "$target (bytes; linked, --gc-sections)"
    printf '%-10s %8s %8s %6s %6s\n' image text rodata data bss
    for image in $IMAGES; do
        size -A "target/$target/release/$image" | awk -v image="$image" '
            $1 == ".text" || $1 ~ /^\.text\./ {t += $2}
            $1 ~ /^\.rodata/ || $1 ~ /^\.srodata/ {r += $2}
            $1 ~ /^\.s?data/ {d += $2}
            $1 ~ /^\.s?bss/ {z += $2}
            END {printf "%-10s %8d %8d %6d %6d\n", image, t, r, d, z}'
    done
    echo "biggest symbols of 'all':"
    nm --size-sort -S -C "target/$target/release/all" | tail -n "$SYMBOLS" | sort -k2 -r |
        while read -r _ size _ name; do printf '  %6d %s\n' "$((16#$size))" "$name"; done
done
