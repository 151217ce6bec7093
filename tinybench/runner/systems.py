"""System descriptions (`<division>/<submitter>/systems/<system>.json`) for the boards tinybench
builds for. A submission needs one per system; tinybench writes it for the boards it knows and
never overwrites one the user wrote."""
from __future__ import annotations

import json
import platform
from pathlib import Path

from tinybench import __version__

_SOFTWARE = {
    "Inference Framework": f"tinybench {__version__} (compiled int8 model, no interpreter)",
    "Software Libraries": "tinybench int8 engine (firmware/engine)",
}

BOARDS = {
    "host": {
        "Status": "rdi",
        "Board Name": "host-native emulated DUT",
        "Processor(s) Name": platform.processor() or platform.machine(),
        "Processor(s) Frequencies": "",
        "Processor memory type and capacity": "",
        "Hardware Notes": "The DUT firmware built as a native program on the host, serving the "
                          "MLPerf Tiny protocol on a pseudo-terminal: not a microcontroller.",
    },
    "qemu": {
        "Status": "rdi",
        "Board Name": "QEMU mps2-an386 (emulated)",
        "Processor(s) Name": "Arm Cortex-M4F (emulated)",
        "Processor(s) Frequencies": "25 MHz virtual clock",
        "Processor memory type and capacity": "linked for 2 MB flash, 640 KB SRAM",
        "Hardware Notes": "QEMU with -icount shift=0: one virtual ns per instruction, so the "
                          "latency is an instruction count, not the time of a real part.",
    },
    "nucleo-l4r5zi": {
        "Status": "available",
        "Board Name": "NUCLEO-L4R5ZI",
        "Processor(s) Name": "STM32L4R5ZI (Arm Cortex-M4F)",
        "Processor(s) Frequencies": "120 MHz",
        "Processor memory type and capacity": "2 MB flash, 640 KB SRAM",
        "Hardware Notes": "",
    },
}


def write_system_description(root: Path, division: str, submitter: str, system: str, board: str,
                             notes: str = "") -> Path:
    """Write systems/<system>.json for a known board unless one is already there."""
    path = Path(root) / division / submitter / "systems" / f"{system}.json"
    if path.exists():
        return path
    description = dict(BOARDS[board], **_SOFTWARE)
    description.update({"Accelerator": "", "Accelerator(s) Frequencies": "",
                        "Accelerator memory type and capacity": "", "Software Notes": notes})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(description, indent=2) + "\n")
    tmp.replace(path)
    return path
