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
    # Futures complete on nomq's runtime threads, and listeners run on threads of their own,
    # which JNA attaches to the JVM for each callback and detaches after it unless told
    # otherwise: an attach and a detach cost more than the call. One statement in the
    # library's initialisation keeps those threads attached (as daemons) for every callback
    # nomq makes; uniffi has no setting for it. The anchor is checked, so a change in uniffi's
    # output stops the build rather than the speed.
    python3 - "$out/dev/nomq/nomq.kt" <<'PY'
import sys
path = sys.argv[1]
kt = open(path).read()
anchor = "        uniffiCallbackInterfaceNodeListener.register(this)\n"
callbacks = ["uniffiRustFutureContinuationCallbackImpl",
             "uniffiCallbackInterfaceMqttListener.`onMessage`", "uniffiCallbackInterfaceMqttListener.`onState`",
             "uniffiCallbackInterfaceNodeListener.`onMessage`"]
# The callbacks' names are checked by the compiler; the anchor here.
if anchor not in kt:
    sys.exit(f"uniffi-generate.sh: {anchor.strip()!r} not found in {path} (uniffi's Kotlin changed)")
keep = ("        com.sun.jna.CallbackThreadInitializer(true, false, \"nomq\").let { k ->\n"
        "            listOf<com.sun.jna.Callback>(" + ", ".join(callbacks) + ")\n"
        "                .forEach { com.sun.jna.Native.setCallbackThreadInitializer(it, k) }\n"
        "        }\n")
open(path, "w").write(kt.replace(anchor, anchor + keep, 1))
PY
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
