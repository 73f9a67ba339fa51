#!/usr/bin/env python3
"""Print the framing benchmark as a table: median time, packets/s, and the ratio to the floor
measured in the same run. Run after `cargo bench -p nomq-proto --bench framing`."""
import json
import pathlib
import platform
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")


def median_ns(group: str, name: str, size: int) -> float:
    path = root / group / name / str(size) / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"]


def cpu_flags() -> set:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


flags = cpu_flags()
print(f"cpu: {platform.machine()}, aes-ni={'aes' in flags}, sha-ni={'sha_ni' in flags}")
print(f"{'case':<18}{'median':>11}{'pkts/s':>12}{'floor':>11}{'ratio':>8}")
worst = 0.0
for version in ("v1", "v2"):
    for op in ("seal", "open"):
        for size in (64, 1000):
            ours = median_ns(f"framing_{version}", op, size)
            floor = median_ns(f"framing_{version}", f"floor_{op}", size)
            ratio = ours / floor
            worst = max(worst, ratio)
            print(f"{version} {op} {size:>4} B   {ours:>8.0f} ns{1e9 / ours:>12,.0f}{floor:>8.0f} ns{ratio:>8.2f}x")
print(f"worst ratio to floor: {worst:.2f}x (target <= 1.30x)")
