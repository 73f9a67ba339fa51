#!/usr/bin/env python3
"""Checks bindings/micropython/package/package.json, the mip manifest: it installs every
module of the package and nothing else, each from its own path in the repository, and its
version is the workspace's. Prints one line and exits 1 on a mismatch."""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bindings" / "micropython" / "package"
PREFIX = "github:nomq/nomq/bindings/micropython/package/"

manifest = json.loads((PACKAGE / "package.json").read_text())
listed = {target: url for target, url in manifest["urls"]}
present = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")}
problems = []
if set(listed) != present:
    problems.append(f"listed but absent: {sorted(set(listed) - present)}; "
                    f"present but not listed: {sorted(present - set(listed))}")
problems += [f"{t}: url {u} is not {PREFIX}{t}" for t, u in listed.items() if u != PREFIX + t]
workspace = re.search(r'^\[workspace\.package\][^\[]*?^version = "([^"]+)"',
                      (ROOT / "Cargo.toml").read_text(), re.M | re.S)
if workspace is None or manifest.get("version") != workspace.group(1):
    problems.append(f"version {manifest.get('version')!r} is not the workspace's "
                    f"{workspace.group(1) if workspace else '?'}")
if problems:
    print("package.json: " + "; ".join(problems))
    sys.exit(1)
print(f"package.json: {len(listed)} modules, version {manifest['version']}, matches the package")
