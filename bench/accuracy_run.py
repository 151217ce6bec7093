"""Time a full kws01 accuracy run (1,000 files, as the official eval set has) against the host DUT,
through the real serial protocol on a pseudo-terminal, and split the time between the serial
exchange, the DUT's inferences and the runner itself.

    .venv/bin/python bench/accuracy_run.py [--files 1000] [--model kws01.tflite] [--chunk-bytes 31]

The inputs are random int8 MFCC-shaped files in the MLPerf eval-set format (the official .bin files
are not public); the protocol work per file is the same: `db load 490`, 16 `db` chunks of 31
bytes, `infer 1 0`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tinybench import benchmarks  # noqa: E402
from tinybench.data import evalset  # noqa: E402
from tinybench.dut.emulate import build_for_model  # noqa: E402
from tinybench.dut.host import HostDut  # noqa: E402
from tinybench.runner import RunOptions, run  # noqa: E402

SHARED_MODEL = Path(os.environ.get("TINYBENCH_SHARED", PROJECT.parent / "shared")) / \
    "mlperf-tiny" / "models" / "kws01.tflite"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=benchmarks.get("kws01").eval_set_size)
    parser.add_argument("--model", type=Path, default=SHARED_MODEL)
    parser.add_argument("--chunk-bytes", type=int, default=31)
    args = parser.parse_args()

    bench = benchmarks.get("kws01")
    with tempfile.TemporaryDirectory(prefix="tb-bench-") as tmp:
        tmp = Path(tmp)
        program, _ = build_for_model(args.model, build_dir=tmp / "build")
        rng = np.random.default_rng(0)
        evalset.write(tmp / "eval", [(f"tst_{i:06d}.bin",
                                      rng.integers(-128, 128, bench.eval_file_bytes).astype(np.int8),
                                      i % bench.num_classes) for i in range(args.files)], bench)
        with HostDut(program) as dut:
            started = time.perf_counter()
            result = run(RunOptions(port=dut.port, mode="accuracy", dataset=tmp / "eval",
                                    out=tmp / "results", system="host",
                                    chunk_bytes=args.chunk_bytes))
            wall = time.perf_counter() - started
        steps = json.loads((result.results_dir / "results.json").read_text())

    per_command = result.summary["seconds_by_command"]
    exchange = result.summary["exchange_seconds"]
    dut_compute = sum(s["infer"]["elapsed_time"] for s in steps) / 1e6
    serial = exchange - dut_compute
    print(f"kws01 accuracy run on the host DUT: {len(steps)} files, chunks of {args.chunk_bytes} B")
    print(f"  wall time                 {wall:8.2f} s")
    print(f"  files per second          {len(steps) / wall:8.1f}")
    print(f"  serial exchange           {serial:8.2f} s  {100 * serial / wall:5.1f} %  "
          f"(db {per_command.get('db', 0):.2f} s, infer round trips less inference "
          f"{per_command.get('infer', 0) - dut_compute:.2f} s)")
    print(f"  DUT inference (m-lap-us)  {dut_compute:8.2f} s  {100 * dut_compute / wall:5.1f} %")
    print(f"  runner, journal, scoring  {wall - exchange:8.2f} s  "
          f"{100 * (wall - exchange) / wall:5.1f} %")
    print(f"  per file: {1e3 * serial / len(steps):.3f} ms exchange for "
          f"{2 + -(-bench.eval_file_bytes // args.chunk_bytes)} round trips")


if __name__ == "__main__":
    main()
