"""Instructions per inference of the official models on the emulated Cortex-M4 (board qemu-an386:
QEMU mps2-an386 under -icount shift=0, where the firmware's microsecond clock counts thousands of
instructions), for the firmware with the engine's Cortex-M DSP paths and for the same firmware
with the portable C engine (-DTB_NO_DSP), and the MACs per instruction of each.

Each model is compiled and its firmware built twice (in a temporary folder), started under QEMU,
given one input (db load) and timed by the DUT itself with `infer N 1`: the m-lap-us timestamps
of the MLPerf Tiny protocol, as `tinybench run --emulate qemu --mode performance` times it. The
counts are exact (no noise): one run each is enough.

    .venv/bin/python bench/qemu_instructions.py [kws01 vww01 ic01 ad01] [--iterations 10]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinybench import benchmarks  # noqa: E402
from tinybench.compiler.compile import compile_model  # noqa: E402
from tinybench.dut import firmware  # noqa: E402
from tinybench.dut.protocol import DutClient  # noqa: E402
from tinybench.dut.qemu import QemuDut  # noqa: E402
from tinybench.dut.transport import open_port  # noqa: E402

SHARED = ROOT.parent / "shared" / "mlperf-tiny" / "models"
BUILDS = (("portable C", "-DTB_NO_DSP"), ("Cortex-M DSP", ""))


def build(model_dir: Path, build_dir: Path, bench_id: str, cflags: str) -> Path:
    """The qemu-an386 firmware; cflags reach the compiler through make's CFLAGS."""
    saved = os.environ.get("CFLAGS")
    os.environ["CFLAGS"] = cflags
    try:
        return firmware.build(model_dir, build_dir, "qemu-an386", bench_id)
    finally:
        if saved is None:
            del os.environ["CFLAGS"]
        else:
            os.environ["CFLAGS"] = saved


def one_input(bench: benchmarks.Benchmark) -> bytes:
    """A random input in the bytes the DUT's db buffer takes for this benchmark."""
    rng = np.random.default_rng(0)
    dtype = np.dtype(bench.eval_file_dtype)
    count = bench.db_buffer_bytes // dtype.itemsize
    if dtype.kind == "f":
        return rng.normal(0.0, 1.0, count).astype(dtype).tobytes()
    return rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, count, dtype=dtype,
                        endpoint=True).tobytes()


def instructions_per_inference(image: Path, bench: benchmarks.Benchmark, data: bytes,
                               iterations: int) -> float:
    with QemuDut(image) as dut:
        port = open_port(dut.port, bench.baud_performance)
        try:
            client = DutClient(port)
            client.load(data)
            result = client.infer(iterations, 1, timeout=600)
        finally:
            port.close()
        return result.elapsed_time * dut.instructions_per_us / iterations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=list(benchmarks.BENCHMARKS))
    parser.add_argument("--iterations", type=int, default=10,
                        help="inferences in the timed window (default 10)")
    args = parser.parse_args()

    print(f"{'model':<7} {'MACs':>11}  " + "  ".join(f"{name + ' instr/inf':>24} {'MAC/instr':>9}"
                                                   for name, _ in BUILDS) + f"  {'speed-up':>8}")
    for bench_id in args.models:
        bench = benchmarks.get(bench_id)
        model = SHARED / f"{bench_id}.tflite"
        with tempfile.TemporaryDirectory(prefix="tb-qemu-bench-") as tmp:
            compiled = compile_model(model, Path(tmp) / "model", measure=False)
            macs = compiled.report["macs"]
            data = one_input(bench)
            counts = [instructions_per_inference(
                build(compiled.out_dir, Path(tmp) / f"build{i}", bench_id, cflags), bench, data,
                args.iterations) for i, (_, cflags) in enumerate(BUILDS)]
        print(f"{bench_id:<7} {macs:>11,}  "
              + "  ".join(f"{count:>24,.0f} {macs / count:>9.3f}" for count in counts)
              + f"  {counts[0] / counts[1]:>7.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
