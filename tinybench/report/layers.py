"""Per-layer timing: the `layers` DUT command (a tinybench extension, outside the official set).

After an `infer`, the command `layers%` makes the DUT report how long each layer of the last
inference took, one line per layer in execution order, then the usual final line:

    m-layer-0-CONV_2D-us-1234
    m-layer-1-DEPTHWISE_CONV_2D-us-567
    ...
    m-ready

Before any inference it answers `e-[No inference has run yet]`; firmware built without per-layer
timing answers `e-[Unknown command: layers]` like any DUT that does not know the command. The
format is written down in docs/protocol-extensions.md.

The runner stores the DUT's lines verbatim in `<model>/layers/results.txt` (beside log.txt and a
results.json of the parsed layers); the report reads them back with read_layers().
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from tinybench.errors import UserError

COMMAND = "layers"
TEST_DIR = "layers"
LAYER_LINE = re.compile(r"^m-layer-(\d+)-([A-Za-z0-9_#]+)-us-(\d+)$")


@dataclass(frozen=True)
class Layer:
    index: int
    opcode: str
    us: int


def parse_layer_lines(lines: list[str]) -> list[Layer]:
    """The layers in a `layers` reply (other lines, such as m-ready, are skipped). Raises
    ValueError when the indices are not 0, 1, 2, ... in order: a reply with lost lines."""
    layers = []
    for line in lines:
        m = LAYER_LINE.match(line.strip())
        if m:
            layers.append(Layer(int(m.group(1)), m.group(2).split("#")[0], int(m.group(3))))
    if [layer.index for layer in layers] != list(range(len(layers))):
        raise ValueError("layer lines are not numbered 0, 1, 2, ... in order: lines were lost")
    return layers


def collect(client, timeout: float | None = None) -> tuple[list[Layer], list[str]]:
    """Ask a DUT (a tinybench.dut.protocol.DutClient, after an `infer`) for the per-layer times of
    its last inference: (layers, the reply's lines). A DUT without the command raises DutRefused."""
    lines = client.command(COMMAND, timeout)
    try:
        return parse_layer_lines(lines), lines
    except ValueError as exc:
        from tinybench.dut.protocol import DutGarbled
        raise DutGarbled(f"the answer to '{COMMAND}': {exc}") from None


def format_layer_line(layer: Layer) -> str:
    return f"m-layer-{layer.index}-{layer.opcode}-us-{layer.us}"


def write_layers(folder: Path, layers: list[Layer], log_lines: list[str]) -> None:
    """Write a layers/ test folder: results.txt (the DUT's lines), results.json, log.txt."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "log.txt").write_text("".join(line + "\n" for line in log_lines))
    (folder / "results.json").write_text(json.dumps([asdict(x) for x in layers], indent=1) + "\n")
    # results.txt last: a folder with it is complete.
    (folder / "results.txt").write_text("".join(format_layer_line(x) + "\n" for x in layers))


def read_layers(folder: Path) -> list[Layer]:
    path = Path(folder) / "results.txt"
    try:
        layers = parse_layer_lines(path.read_text(errors="replace").splitlines())
    except OSError as exc:
        raise UserError(f"cannot read the per-layer profile {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UserError(f"{path}: {exc}; run the profile again") from None
    if not layers:
        raise UserError(f"{path} holds no m-layer-... lines; run the profile again")
    return layers
