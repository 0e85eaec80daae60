"""cProfile of decode_pod on the benchmark manifest, the YAML and the JSON path apart.

    .venv/bin/python bench/profile_decode.py [--loops 2000] [--top 25] [--dump DIR]

For each path it prints the top functions by tottime and by cumtime, then the same
restricted to ``fastpod``. ``--dump DIR`` also writes ``DIR/yaml.prof`` and
``DIR/json.prof`` for snakeviz, ``python -m pstats`` or flameprof.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.test_manifest import MANIFEST, NODE, SOURCE
from fastpod.manifest.decode import decode_pod
from tests.support.corpus import MISSING, corpus_location


def _profile(name: str, data: bytes, loops: int, top: int, dump: Path | None) -> None:
    for _ in range(50):  # warm caches (the Struct schema walk is cached after one call)
        decode_pod(data, SOURCE, NODE)
    start = time.perf_counter()
    for _ in range(loops):
        decode_pod(data, SOURCE, NODE)
    plain = (time.perf_counter() - start) / loops
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(loops):
        decode_pod(data, SOURCE, NODE)
    profiler.disable()
    print(f"\n=== {name}: {loops} x decode_pod, {plain * 1e6:.0f} µs/call unprofiled ===")
    stats = pstats.Stats(profiler)
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        stats.dump_stats(dump / f"{name}.prof")
    stats.strip_dirs()
    for order in ("tottime", "cumtime"):
        print(f"\n--- {name}: top {top} by {order} ---")
        stats.sort_stats(order).print_stats(top)
    print(f"\n--- {name}: fastpod only, by tottime ---")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(r"fastpod", top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dump", type=Path, default=None)
    parser.add_argument("--path", choices=("yaml", "json", "both"), default="both")
    args = parser.parse_args()
    manifest = corpus_location() / MANIFEST
    if not manifest.is_file():
        sys.exit(f"profile_decode: {MISSING}")
    yaml_bytes = manifest.read_bytes()
    json_bytes = json.dumps(yaml.safe_load(yaml_bytes)).encode()
    if args.path in ("yaml", "both"):
        _profile("yaml", yaml_bytes, args.loops, args.top, args.dump)
    if args.path in ("json", "both"):
        _profile("json", json_bytes, args.loops, args.top, args.dump)


if __name__ == "__main__":
    main()
