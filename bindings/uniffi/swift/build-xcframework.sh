#!/usr/bin/env bash
# Builds NomqFFI.xcframework (the static Rust library for iOS devices, the iOS simulator and
# macOS, with the uniffi C headers) beside Package.swift. macOS with Xcode only; not run on
# the Linux machine the rest of the project is tested on.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
cd "$ROOT"
[ "$(uname)" = Darwin ] || { echo "build-xcframework.sh needs macOS and Xcode" >&2; exit 1; }

TARGETS="aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin"
for t in $TARGETS; do
    rustup target add "$t"
    cargo build --locked --release -p nomq-uniffi --lib --target "$t"
done
LIB=libnomq_uniffi.a
OUT=$ROOT/target/xcframework
rm -rf "$OUT" "$HERE/NomqFFI.xcframework"
mkdir -p "$OUT/ios-sim" "$OUT/macos"
# One library per platform: the simulator and macOS slices are fat (arm64 + x86_64).
lipo -create target/aarch64-apple-ios-sim/release/$LIB target/x86_64-apple-ios/release/$LIB -output "$OUT/ios-sim/$LIB"
lipo -create target/aarch64-apple-darwin/release/$LIB target/x86_64-apple-darwin/release/$LIB -output "$OUT/macos/$LIB"
xcodebuild -create-xcframework \
    -library target/aarch64-apple-ios/release/$LIB -headers "$HERE/Headers" \
    -library "$OUT/ios-sim/$LIB" -headers "$HERE/Headers" \
    -library "$OUT/macos/$LIB" -headers "$HERE/Headers" \
    -output "$HERE/NomqFFI.xcframework"
echo "$HERE/NomqFFI.xcframework"
