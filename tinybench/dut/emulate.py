"""From a .tflite model to a running emulated DUT: compile (tinybench compile), build the firmware
for the board, start it.

    with emulated_dut("kws01.tflite") as dut:
        ... dut.port is the serial port to run against ...

Each model gets its own build folder (by default firmware/build/<board>/<model name>-<hash>), so
rebuilding after a change in the firmware only recompiles what changed.
"""
from __future__ import annotations

import filecmp
import hashlib
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from tinybench.dut import firmware
from tinybench.dut.host import HostDut
from tinybench.dut.qemu import QemuDut
from tinybench.errors import UserError

BOARDS = {"host": "host", "qemu": "qemu-an386"}
"""Boards that can be emulated on this machine: the name --emulate takes -> the firmware board."""


def default_build_dir(model: Path, board: str, benchmark: str | None,
                      energy: bool = False, layer_hook: bool = False) -> Path:
    digest = hashlib.sha256(Path(model).read_bytes()).hexdigest()[:10]
    suffix = ((f"-{benchmark}" if benchmark else "") + ("-energy" if energy else "")
              + ("-layers" if layer_hook else ""))
    return firmware.firmware_dir() / "build" / board / f"{Path(model).stem}-{digest}{suffix}"


def compile_into(model: Path, model_dir: Path) -> None:
    """Compile the model into model_dir, replacing model.c / model.h only when their text changed
    (so that make rebuilds only what it must)."""
    from tinybench.compiler.compile import compile_model

    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tb-compile-", dir=model_dir.parent) as tmp:
        compile_model(model, tmp, measure=False)
        for name in ("model.c", "model.h"):
            new, old = Path(tmp) / name, model_dir / name
            if not old.exists() or not filecmp.cmp(new, old, shallow=False):
                shutil.move(new, old)


def build_for_model(model: Path, board: str = "host", benchmark: str | None = None,
                    build_dir: Path | None = None, energy: bool = False,
                    layer_hook: bool = False) -> tuple[Path, firmware.ModelHeader]:
    """Compile and build; returns (the DUT program, the model's header facts)."""
    model = Path(model)
    if board not in BOARDS:
        raise UserError(f"board {board!r} cannot be emulated here: choose one of {', '.join(BOARDS)}")
    if energy and board != "host":
        raise UserError(f"energy mode needs a board whose timestamp pin a power monitor can see: "
                        f"use --emulate host (simulated monitor) or a real board")
    if not model.is_file():
        raise UserError(f"{model}: no such model file")
    build_dir = Path(build_dir) if build_dir else default_build_dir(model, board, benchmark, energy,
                                                                    layer_hook)
    model_dir = build_dir / "model"
    compile_into(model, model_dir)
    header = firmware.read_model_header(model_dir)
    firmware.conventions(header, benchmark)   # a clear error before make when sizes do not fit
    program = firmware.build(model_dir, build_dir, BOARDS[board], benchmark, energy=energy,
                             layer_hook=layer_hook)
    return program, header


@contextmanager
def emulated_dut(model: Path, board: str = "host", benchmark: str | None = None,
                 build_dir: Path | None = None, energy: bool = False,
                 dut_arguments: tuple[str, ...] = (), layer_hook: bool = False):
    """A running emulated DUT for the model (a HostDut or QemuDut: .port, .stop(), .reset()).
    energy: the energy-mode firmware; dut_arguments: more for its command line (a simulated power
    monitor's --signals FIFO); layer_hook: the firmware that times every layer (layers mode)."""
    program, _ = build_for_model(model, board, benchmark, build_dir, energy, layer_hook)
    dut = QemuDut(program) if board == "qemu" else HostDut(program, dut_arguments)
    with dut:
        yield dut
