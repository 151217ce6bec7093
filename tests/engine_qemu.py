"""Build and run the engine test image (tests/engine_qemu_main.c) on the emulated Cortex-M4: raw int8
outputs of many inputs in one QEMU run, and instruction counts per inference (and per layer).

    exe = build(model_dir, tmp / "dsp")                        # the DSP build
    exe = build(model_dir, tmp / "c", defines=["TB_NO_DSP"])   # portable C on the same core
    outputs, counts = run(exe, inputs)   # [N, output size] int8, [N] instructions per inference

The compiler and linker flags are the firmware's for Cortex-M (firmware/arch/cortex-m/cortex-m.mk,
asked from make) with the qemu-an386 board's linker script; only main() and the vector table are
this image's own.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

PROJECT = Path(__file__).resolve().parents[1]
FIRMWARE = PROJECT / "firmware"
MAIN = Path(__file__).resolve().parent / "engine_qemu_main.c"
CC = "arm-none-eabi-gcc"
QEMU = "qemu-system-arm"
INSTRUCTIONS_PER_COUNT = 40   # SysTick at the 25 MHz core clock, 1 ns per instruction (-icount 0)


def available() -> str | None:
    """Why the image cannot be built and run here, or None."""
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


def build(model_dir: Path, build_dir: Path, defines: list[str] = (), layers: bool = False) -> Path:
    """Compile the engine, model_dir/model.c and the test image's main into build_dir/engine.elf."""
    model_dir, build_dir = Path(model_dir).resolve(), Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    cflags, ldflags, libs = _cortex_m_flags(build_dir)
    sources = [*sorted((FIRMWARE / "engine").glob("*.c")), model_dir / "model.c", MAIN,
               FIRMWARE / "arch" / "cortex-m" / "startup.c"]
    command = [CC, *cflags, "-std=c99", "-Wall", "-Wextra", "-ffp-contract=off",
               *[f"-D{d}" for d in defines], *(["-DTB_LAYER_HOOK"] if layers else []),
               "-Iengine", f"-I{model_dir}", *map(str, sources), *ldflags,
               "-o", str(build_dir / "engine.elf"), *libs]
    done = subprocess.run(command, cwd=FIRMWARE, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"building the engine test image failed:\n{done.stderr}")
    return build_dir / "engine.elf"


def run(elf: Path, inputs: np.ndarray, output_size: int, layer_count: int = 0,
        timeout: float = 600.0):
    """Run every input through the image under QEMU (-icount shift=0). Returns the int8 outputs
    [N, output_size] and the instructions per inference [N] (with layer_count, the image being
    built with layers=True: [N, 1 + layer_count], the whole inference then each layer), exact to
    INSTRUCTIONS_PER_COUNT."""
    inputs = np.ascontiguousarray(np.asarray(inputs, dtype=np.int8).reshape(len(inputs), -1))
    with tempfile.TemporaryDirectory(prefix="tb-engine-qemu-") as tmp:
        tmp = Path(tmp)
        (tmp / "inputs.bin").write_bytes(inputs.tobytes())
        done = subprocess.run([QEMU, "-M", "mps2-an386", "-cpu", "cortex-m4", "-icount", "shift=0",
                               "-display", "none", "-monitor", "none", "-serial", "none",
                               "-semihosting-config", "enable=on,target=native",
                               "-kernel", str(Path(elf).resolve())],
                              cwd=tmp, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"the engine test image exited with {done.returncode} "
                               f"(3: a fault, 2: a file error): {done.stderr.strip()}")
        outputs = np.frombuffer((tmp / "outputs.bin").read_bytes(), dtype=np.int8)
        counts = np.frombuffer((tmp / "counts.bin").read_bytes(), dtype="<u4")
    counts = counts.reshape(len(inputs), 1 + layer_count).astype(np.int64) * INSTRUCTIONS_PER_COUNT
    return outputs.reshape(len(inputs), output_size), counts[:, 0] if not layer_count else counts
