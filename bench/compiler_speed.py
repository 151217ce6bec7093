"""Speed of the compiled C models against the tflite-micro interpreter, on this machine, in one run.

For each official model: compile it, build the host harness (gcc -O2, as the host firmware
build), time many inferences of each, and print the CPU time per inference and the ratio. CPU time
(not wall time) is measured because the machine may be shared; each figure is the best of a few
rounds. The tflite-micro figure includes the Python call of invoke(), a few microseconds.

    .venv/bin/python bench/compiler_speed.py [kws01 vww01 ic01 ad01] [--seconds 1.0]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinybench import benchmarks  # noqa: E402
from tinybench.compiler.compile import build_host, compile_model  # noqa: E402

SHARED = ROOT.parent / "shared" / "mlperf-tiny" / "models"
ROUNDS = 3


def time_c(exe: Path, seconds: float) -> float:
    """Best-of-ROUNDS CPU microseconds per inference of the host build."""
    probe = float(subprocess.run([str(exe), "bench", "3"], capture_output=True, text=True,
                                 check=True).stdout.split()[0])
    count = max(3, int(seconds * 1e9 / max(probe, 1.0)))
    best = min(float(subprocess.run([str(exe), "bench", str(count)], capture_output=True,
                                    text=True, check=True).stdout.split()[0])
               for _ in range(ROUNDS))
    return best / 1e3


def time_tflm(model: Path, seconds: float) -> float:
    """Best-of-ROUNDS CPU microseconds per invoke() of the tflite-micro interpreter."""
    from tinybench import tflm
    interp = tflm.interpreter(model)
    detail = interp.get_input_details(0)
    rng = np.random.default_rng(0)
    interp.set_input(rng.integers(-128, 128, size=detail["shape"], dtype=np.int8), 0)
    interp.invoke()
    start = time.process_time()
    interp.invoke()
    probe = time.process_time() - start
    count = max(3, int(seconds / max(probe, 1e-6)))
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        for _ in range(count):
            interp.invoke()
        best = min(best, (time.process_time() - start) / count)
    return best * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(benchmarks.BENCHMARKS))
    parser.add_argument("--seconds", type=float, default=1.0,
                        help="approximate CPU time per measurement round")
    args = parser.parse_args()
    print(f"{'model':<8} {'MACs':>12} {'C us':>10} {'TFLM us':>10} {'speed-up':>9}")
    worst = float("inf")
    with tempfile.TemporaryDirectory(prefix="tb-speed-") as tmp:
        for name in args.models:
            model = SHARED / f"{name}.tflite"
            if not model.exists():
                print(f"{name}: {model} not found, skipped")
                continue
            out = Path(tmp) / name
            compiled = compile_model(model, out, measure=False)
            exe = build_host(out, Path(tmp) / f"{name}_harness")
            c_us = time_c(exe, args.seconds)
            tflm_us = time_tflm(model, args.seconds)
            worst = min(worst, tflm_us / c_us)
            print(f"{name:<8} {compiled.report['macs']:>12,} {c_us:>10.1f} {tflm_us:>10.1f} "
                  f"{tflm_us / c_us:>8.2f}x", flush=True)
    if worst != float("inf"):
        print(f"slowest speed-up: {worst:.2f}x (target: at least 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
