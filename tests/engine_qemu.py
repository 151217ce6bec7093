"""Build and run engine test images on the emulated Cortex-M4 (QEMU mps2-an386, -icount shift=0):
raw int8 outputs of many inputs in one QEMU run, every layer's output, and instruction counts.

    elf = build(model_dir, tmp / "dsp", layers=True, dump=True)   # the DSP build
    elf = build(model_dir, tmp / "c", defines=["TB_NO_DSP"])       # portable C on the same core
    result = run(elf, inputs, output_size, layer_count)            # a Run

The compiler and linker flags are the firmware's for Cortex-M (firmware/arch/cortex-m/cortex-m.mk,
asked from make) with the qemu-an386 board's linker script; only main() and the vector table are
the test image's own (tests/engine_qemu_main.c; files in and out through ARM semihosting,
tests/engine_qemu_semihost.h).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench.dut.qemu import MACHINE, QEMU

PROJECT = Path(__file__).resolve().parents[1]
FIRMWARE = PROJECT / "firmware"
ENGINE = FIRMWARE / "engine"
MAIN = Path(__file__).resolve().parent / "engine_qemu_main.c"
CC = "arm-none-eabi-gcc"
INSTRUCTIONS_PER_COUNT = 40   # SysTick at the 25 MHz core clock, 1 ns per instruction (-icount 0)


def missing_tools() -> str | None:
    """Why the images cannot be built and run here, or None."""
    missing = [tool for tool in (CC, QEMU) if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


def _cortex_m_flags(build_dir: Path) -> tuple[list[str], list[str], list[str]]:
    """(compile flags, link flags, libraries) of firmware/arch/cortex-m/cortex-m.mk."""
    rule = "tb-print-flags: ; @echo $(BOARD_CFLAGS); echo $(BOARD_LDFLAGS); echo $(BOARD_LDLIBS)"
    done = subprocess.run(["make", "-s", "-C", str(FIRMWARE), "-f", "arch/cortex-m/cortex-m.mk",
                           "--eval", rule, "tb-print-flags",
                           "LINKER_SCRIPT=boards/qemu-an386/linker.ld", f"BUILD={build_dir}"],
                          capture_output=True, text=True, check=True)
    cflags, ldflags, libs = (line.split() for line in done.stdout.splitlines()[:3])
    return cflags, ldflags, libs


def build_image(sources: list[Path], include_dirs: list[Path], build_dir: Path,
                defines: list[str] = ()) -> Path:
    """Compile and link `sources` (plus the Cortex-M reset handler) into build_dir/image.elf."""
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    cflags, ldflags, libs = _cortex_m_flags(build_dir)
    command = [CC, *cflags, "-std=c99", "-Wall", "-Wextra", "-ffp-contract=off",
               *[f"-D{d}" for d in defines], *[f"-I{Path(d).resolve()}" for d in include_dirs],
               *[str(Path(s).resolve()) for s in sources],
               str(FIRMWARE / "arch" / "cortex-m" / "startup.c"), *ldflags,
               "-o", str(build_dir / "image.elf"), *libs]
    done = subprocess.run(command, cwd=FIRMWARE, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"building the test image failed:\n{done.stderr}")
    return build_dir / "image.elf"


def build(model_dir: Path, build_dir: Path, defines: list[str] = (), layers: bool = False,
          dump: bool = False) -> Path:
    """The engine with model_dir/model.c and the test image's main. layers: count each layer's
    instructions; dump: also write each layer's output."""
    flags = [*defines, *(["TB_LAYER_HOOK"] if layers or dump else []),
             *(["TB_DUMP_LAYERS"] if dump else [])]
    return build_image([*sorted(ENGINE.glob("*.c")), Path(model_dir) / "model.c", MAIN],
                       [ENGINE, Path(model_dir)], build_dir, flags)


def run_image(elf: Path, files: dict[str, bytes], timeout: float = 600.0) -> dict[str, bytes]:
    """Run the image under QEMU in a fresh folder holding `files`; returns every file it left."""
    with tempfile.TemporaryDirectory(prefix="tb-engine-qemu-") as tmp:
        tmp = Path(tmp)
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        done = subprocess.run([QEMU, *MACHINE, "-serial", "none",
                               "-semihosting-config", "enable=on,target=native",
                               "-kernel", str(Path(elf).resolve())],
                              cwd=tmp, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"the test image exited with {done.returncode} (3: a fault, "
                               f"2: a file error): {done.stderr.strip()}")
        return {p.name: p.read_bytes() for p in tmp.iterdir() if p.name not in files}


@dataclass
class Run:
    outputs: np.ndarray                 # [N, output size] int8
    instructions: np.ndarray            # [N] per inference, exact to INSTRUCTIONS_PER_COUNT
    layer_instructions: np.ndarray      # [N, layers] (empty without layer counts)
    layer_bytes: bytes                  # every layer's output, input after input (with dump)


def run(elf: Path, inputs: np.ndarray, output_size: int, layer_count: int = 0) -> Run:
    """Every input through the image built by build(); layer_count: the model's layers when the
    image counts them."""
    inputs = np.ascontiguousarray(np.asarray(inputs, dtype=np.int8).reshape(len(inputs), -1))
    files = run_image(elf, {"inputs.bin": inputs.tobytes()})
    outputs = np.frombuffer(files["outputs.bin"], dtype=np.int8).reshape(len(inputs), output_size)
    counts = np.frombuffer(files["counts.bin"], dtype="<u4").reshape(len(inputs), -1)
    counts = counts.astype(np.int64) * INSTRUCTIONS_PER_COUNT
    if counts.shape[1] != 1 + layer_count:
        raise RuntimeError(f"the image counted {counts.shape[1] - 1} layers, not {layer_count}")
    return Run(outputs, counts[:, 0], counts[:, 1:], files.get("layers.bin", b""))
