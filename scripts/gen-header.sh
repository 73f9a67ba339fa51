#!/usr/bin/env bash
# Regenerates include/nomq.h from bindings/c/src with the pinned cbindgen (installed when
# missing). `--check` fails when the committed header differs (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
CBINDGEN_VERSION=0.29.4
if [ "$(cbindgen --version 2>/dev/null)" != "cbindgen $CBINDGEN_VERSION" ]; then
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked --quiet --force
fi
out=include/nomq.h
if [ "${1:-}" = "--check" ]; then
    out=$(mktemp)
fi
# cbindgen leaves an empty line for each associated constant of the core's types it reads
# (cbindgen.toml, [parse]); squeeze them.
raw=$(mktemp)
cbindgen --quiet --config bindings/c/cbindgen.toml --crate nomq-ffi --output "$raw" bindings/c
cat -s "$raw" >"$out"
rm -f "$raw"
if [ "${1:-}" = "--check" ]; then
    if ! diff -u include/nomq.h "$out"; then
        echo "include/nomq.h is stale: run scripts/gen-header.sh and commit it" >&2
        exit 1
    fi
    rm -f "$out"
fi
