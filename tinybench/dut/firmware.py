"""Building the DUT firmware (firmware/Makefile) for a model folder written by `tinybench compile`.

The firmware needs one fact from the benchmark registry, the size of its `db` buffer; this module
hands it to make (and `python -m tinybench.dut.firmware db-buffer-bytes DIR` answers it for a
hand-run `make`), so the number lives only in tinybench/benchmarks.py.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tinybench import benchmarks
from tinybench.errors import UserError

_DEFINE = re.compile(r"^\s*#\s*define\s+(TB_\w+)\s+(.+?)\s*(?:/\*.*)?$")


def firmware_dir() -> Path:
    """The firmware source tree: $TINYBENCH_FIRMWARE, or firmware/ beside the tinybench package."""
    path = Path(os.environ.get("TINYBENCH_FIRMWARE") or Path(__file__).resolve().parents[2] / "firmware")
    if not (path / "Makefile").is_file():
        raise UserError(f"firmware sources not found at {path}: run from a tinybench checkout or "
                        f"set TINYBENCH_FIRMWARE to its firmware/ folder")
    return path


@dataclass(frozen=True)
class ModelHeader:
    """The facts model.h (written by `tinybench compile`) declares."""
    name: str
    benchmark: str          # "" for a model that is none of the four
    input_size: int
    output_size: int
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int


def read_model_header(model_dir: Path) -> ModelHeader:
    path = Path(model_dir) / "model.h"
    if not path.is_file():
        raise UserError(f"{path}: not found; the model folder must be written by `tinybench compile`")
    defines = {}
    for line in path.read_text().splitlines():
        match = _DEFINE.match(line)
        if match:
            defines[match.group(1)] = match.group(2).strip()

    def value(key, convert):
        if key not in defines:
            raise UserError(f"{path}: no #define {key}; rebuild it with `tinybench compile`")
        text = defines[key].strip("()").rstrip("fF") if convert is not str else defines[key]
        try:
            return convert(text)
        except ValueError:
            raise UserError(f"{path}: cannot read {key} = {defines[key]!r}") from None

    def string(text):
        if not (text.startswith('"') and text.endswith('"')):
            raise ValueError(text)
        return text[1:-1]

    return ModelHeader(
        name=value("TB_MODEL_NAME", string), benchmark=value("TB_MODEL_BENCHMARK", string),
        input_size=value("TB_INPUT_SIZE", int), output_size=value("TB_OUTPUT_SIZE", int),
        input_scale=value("TB_INPUT_SCALE", float), input_zero_point=value("TB_INPUT_ZERO_POINT", int),
        output_scale=value("TB_OUTPUT_SCALE", float),
        output_zero_point=value("TB_OUTPUT_ZERO_POINT", int))


def conventions(header: ModelHeader, benchmark: str | None = None) -> benchmarks.Benchmark | None:
    """The benchmark whose input and result conventions the firmware follows for this model (the
    override, else the one model.h declares), checked against the model's sizes; None for a model
    that is none of the four."""
    bench_id = benchmark or header.benchmark
    if not bench_id:
        return None
    bench = benchmarks.get(bench_id)
    if header.input_size != bench.input_elements or header.output_size != bench.output_elements:
        raise UserError(f"model {header.name!r} has {header.input_size} inputs and "
                        f"{header.output_size} outputs, but {bench.id} needs {bench.input_elements} "
                        f"and {bench.output_elements}: leave out --benchmark to run it as a model "
                        f"of its own")
    return bench


def db_buffer_bytes(header: ModelHeader, benchmark: str | None = None) -> int:
    bench = conventions(header, benchmark)
    return bench.db_buffer_bytes if bench else header.input_size


def build(model_dir: Path, build_dir: Path, board: str = "host", benchmark: str | None = None,
          jobs: int = 2, energy: bool = False, layer_hook: bool = False,
          flash: bool = False) -> Path:
    """Build the firmware into build_dir with make; returns the program (host board) or the ELF
    image (Cortex-M boards).
    energy: the energy-mode firmware (timestamps on the pin, the benchmark's energy baud rate).
    layer_hook: time every layer for the `layers` command (never for measured runs).
    flash: also put it on the board (`make flash`: openocd, st-flash or pyocd)."""
    model_dir, build_dir = Path(model_dir).resolve(), Path(build_dir).resolve()
    header = read_model_header(model_dir)
    command = ["make", "-C", str(firmware_dir()), f"-j{jobs}", f"BOARD={board}",
               f"MODEL={model_dir}", f"BUILD={build_dir}",
               f"DB_BUFFER_BYTES={db_buffer_bytes(header, benchmark)}"]
    if benchmark:
        command.append(f"BENCHMARK={benchmark}")
    if layer_hook:
        command.append("CFLAGS=-DTB_LAYER_HOOK")
    bench = conventions(header, benchmark)
    if energy:
        command.append("ENERGY=1")
    if bench:   # the benchmark's official UART rate (ad01 performance: 921600)
        command.append(f"BAUD={bench.baud_energy if energy else bench.baud_performance}")
    if flash:
        command.append("flash")
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise UserError("`make` was not found: install make and a C compiler (gcc)") from None
    if done.returncode != 0:
        overflow = re.search(r"region [`']?(\w+)'? overflowed by (\d+) bytes", done.stderr)
        if overflow:
            raise UserError(f"the model in {model_dir} does not fit the {board} board: its "
                            f"{overflow.group(1).lower()} is {overflow.group(2)} bytes short")
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        action = "building or flashing" if flash else "building"
        raise UserError(f"{action} the {board} firmware for {model_dir} failed:\n{tail}")
    return build_dir / ("dut" if board == "host" else "dut.elf")


def _main(argv: list[str]) -> int:
    if len(argv) in (2, 3) and argv[0] == "db-buffer-bytes":
        try:
            print(db_buffer_bytes(read_model_header(Path(argv[1])), argv[2] if len(argv) == 3 else None))
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    print("usage: python -m tinybench.dut.firmware db-buffer-bytes MODEL_DIR [BENCHMARK]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
