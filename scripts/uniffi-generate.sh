#!/usr/bin/env bash
# Generates the uniffi bindings with the crate's own uniffi-bindgen (library mode: the
# interface is read from the built library itself).
#
#   scripts/uniffi-generate.sh kotlin        # -> bindings/uniffi/kotlin/target/generated-sources/uniffi,
#                                            #    and the library into bindings/uniffi/kotlin/target/native
#   scripts/uniffi-generate.sh swift         # -> bindings/uniffi/swift/{Sources,Headers} (committed)
#   scripts/uniffi-generate.sh swift --check # fails when the committed Swift differs from a fresh generation
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
what=${1:?usage: scripts/uniffi-generate.sh kotlin|swift [--check]}

cargo build --locked --release -p nomq-uniffi
LIB=$ROOT/target/release/libnomq_uniffi.so
BINDGEN=$ROOT/target/release/uniffi-bindgen

case "$what" in
kotlin)
    out=bindings/uniffi/kotlin/target/generated-sources/uniffi
    rm -rf "$out"
    "$BINDGEN" generate --library "$LIB" --language kotlin --out-dir "$out" --no-format
    # Futures complete, and listeners run, on nomq's runtime threads, which JNA attaches to
    # the JVM for each callback and detaches after it, unless told otherwise: an attach and a
    # detach cost far more than the call (about 100 us per publish). One line in the library's
    # initialisation keeps those threads attached (as daemons); uniffi has no setting for it.
    kt=$out/dev/nomq/nomq.kt
    anchor='uniffiCallbackInterfaceNodeListener.register(this)'
    grep -q "$anchor" "$kt" || { echo "uniffi-generate.sh: '$anchor' not found in $kt (uniffi's Kotlin changed)" >&2; exit 1; }
    sed -i "s|^\( *\)$anchor|&\n\1com.sun.jna.Native.setCallbackThreadInitializer(uniffiRustFutureContinuationCallbackImpl, com.sun.jna.CallbackThreadInitializer(true, false, \"nomq\"))|" "$kt"
    # JNA looks for the library on the classpath under its platform folder; the release
    # profile's line tables are left out of the copy that goes into the jar.
    mkdir -p bindings/uniffi/kotlin/target/native/linux-x86-64
    strip --strip-debug -o bindings/uniffi/kotlin/target/native/linux-x86-64/libnomq_uniffi.so "$LIB"
    echo "Kotlin bindings in $out ($(find "$out" -name '*.kt' | wc -l) files)"
    ;;
swift)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$BINDGEN" generate --library "$LIB" --language swift --out-dir "$tmp" --no-format
    # Both crates' Swift files go to one Swift module (Sources/Nomq): uniffi's Swift refers
    # to the other crate's types without an import. The C headers and one module map of both
    # FFI modules go to Headers/, for build-xcframework.sh.
    mkdir -p "$tmp/pkg/Sources/Nomq" "$tmp/pkg/Headers"
    mv "$tmp"/*.swift "$tmp/pkg/Sources/Nomq/"
    mv "$tmp"/*.h "$tmp/pkg/Headers/"
    cat "$tmp"/*.modulemap > "$tmp/pkg/Headers/module.modulemap"
    dest=bindings/uniffi/swift
    if [ "${2:-}" = "--check" ]; then
        for d in Sources Headers; do
            if ! diff -ru "$dest/$d" "$tmp/pkg/$d"; then
                echo "bindings/uniffi/swift/$d is stale: run scripts/uniffi-generate.sh swift and commit" >&2
                exit 1
            fi
        done
        echo "Swift bindings are fresh: $(cd "$dest" && ls Sources/*/*.swift Headers/* | tr '\n' ' ')"
    else
        rm -rf "$dest/Sources" "$dest/Headers"
        cp -r "$tmp/pkg/Sources" "$tmp/pkg/Headers" "$dest/"
        echo "Swift bindings written to $dest"
    fi
    ;;
*)
    echo "usage: scripts/uniffi-generate.sh kotlin|swift [--check]" >&2
    exit 2
    ;;
esac
