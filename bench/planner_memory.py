"""Activation RAM of the static memory planner against TFLM and the lower bounds, per official model.

    .venv/bin/python bench/planner_memory.py [MODELS_DIR]

MODELS_DIR holds kws01.tflite ... ad01.tflite: by default ../shared/mlperf-tiny/models (or
$TINYBENCH_SHARED/mlperf-tiny/models), else models/reference (where `tinybench models download`
puts them). Columns: our arena; TFLM's total arena (tflite-micro, 64-bit host: it also holds TFLM's
own bookkeeping, our figure is activations only, weights and quantization data stay in flash); the
single-layer bound (largest input+output of one layer); the live bound (bytes live at the busiest
step of our schedule, the floor for any placement of it); and how far our arena is above it.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from tinybench import benchmarks, tflm
from tinybench.compiler import lower, planner
from tinybench.reference_models import DEFAULT_DIR
from tinybench.tflite import read_graph

PROJECT = Path(__file__).resolve().parents[1]


def models_dir() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    shared = Path(os.environ.get("TINYBENCH_SHARED", PROJECT.parent / "shared"))
    for candidate in (shared / "mlperf-tiny" / "models", PROJECT / DEFAULT_DIR):
        if candidate.is_dir():
            return candidate
    sys.exit("no official models found: pass their folder, or run `tinybench models download`")


def main() -> None:
    folder = models_dir()
    print(f"models: {folder}")
    print(f"{'model':<6} {'ours B':>9} {'TFLM B':>9} {'ours/TFLM':>9} {'1-layer B':>10} "
          f"{'live B':>9} {'over live':>10} {'plan ms':>8}  placement")
    for bench_id in benchmarks.BENCHMARKS:
        path = folder / f"{bench_id}.tflite"
        if not path.is_file():
            print(f"{bench_id:<6} missing: {path}")
            continue
        graph = read_graph(path)
        steps = lower.lower(graph)
        start = time.perf_counter()
        plan = planner.plan(graph, steps)     # includes verify
        ms = (time.perf_counter() - start) * 1000
        tflm_bytes = tflm.arena_bytes(path)
        layer_bound = planner.single_layer_bound(graph)
        over = (plan.arena_bytes - plan.live_bound) / plan.live_bound * 100
        print(f"{bench_id:<6} {plan.arena_bytes:>9,} {tflm_bytes:>9,} "
              f"{plan.arena_bytes / tflm_bytes:>9.1%} {layer_bound:>10,} {plan.live_bound:>9,} "
              f"{over:>9.1f}% {ms:>8.1f}  {plan.strategy}")


if __name__ == "__main__":
    main()
