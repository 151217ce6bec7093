"""The MLPerf Tiny evaluation-set format: one raw `.bin` per input beside a `y_labels.csv`.

CSV rows have no header: `file,num_classes,label` for the classifiers and
`file,num_classes,label,window_bytes,stride_bytes` for ad01 (LF line endings). Payload dtypes per
benchmark are in the registry (`Benchmark.eval_file_dtype`).
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench.benchmarks import Benchmark
from tinybench.errors import UserError

LABELS_FILE = "y_labels.csv"


@dataclass(frozen=True)
class EvalEntry:
    file: str
    num_classes: int
    label: int
    window_bytes: int | None = None
    stride_bytes: int | None = None


def read_labels(folder: Path, labels_file: str = LABELS_FILE) -> list[EvalEntry]:
    """Rows of an eval set's label file. Extra spaces around fields are tolerated, as the official
    runner tolerates them."""
    path = Path(folder) / labels_file
    if not path.is_file():
        raise UserError(f"{path}: no such file; an eval set is a folder of .bin files with a "
                        f"{labels_file} (make one with `tinybench datasets export-eval`)")
    entries = []
    with open(path, newline="") as f:
        for line_no, row in enumerate(csv.reader(f), 1):
            if not row or not "".join(row).strip():
                continue
            try:
                fields = [x.strip() for x in row]
                entries.append(EvalEntry(
                    fields[0], int(fields[1]), int(fields[2]),
                    int(fields[3]) if len(fields) > 3 and fields[3] else None,
                    int(fields[4]) if len(fields) > 4 and fields[4] else None))
            except (IndexError, ValueError):
                raise UserError(f"{path}:{line_no}: expected 'file,num_classes,label' "
                                f"(ad01: ',window_bytes,stride_bytes'), got {','.join(row)!r}") from None
    if not entries:
        raise UserError(f"{path}: the label file is empty")
    return entries


def read_input(folder: Path, entry: EvalEntry, bench: Benchmark) -> np.ndarray:
    """The payload of one eval file as a 1-D array of the benchmark's eval-file dtype."""
    path = Path(folder) / entry.file
    if not path.is_file():
        raise UserError(f"{path}: listed in {LABELS_FILE} but missing")
    data = np.fromfile(path, dtype=bench.eval_file_dtype)
    if bench.id != "ad01" and data.nbytes != bench.eval_file_bytes:
        raise UserError(f"{path}: {data.nbytes} bytes, but a {bench.id} input has "
                        f"{bench.eval_file_bytes}")
    if bench.id == "ad01" and (data.nbytes < bench.window_bytes or path.stat().st_size % 4):
        raise UserError(f"{path}: {path.stat().st_size} bytes is not a float32 ad01 spectrogram of "
                        f"at least one {bench.window_bytes}-byte window")
    return data


def windows(entry: EvalEntry, data: np.ndarray, bench: Benchmark) -> list[bytes]:
    """The byte windows the runner sends for one file: the whole file for the classifiers, and
    for ad01 every `window_bytes` slice `stride_bytes` apart."""
    raw = data.tobytes()
    if bench.window_bytes is None:
        return [raw]
    size = entry.window_bytes or bench.window_bytes
    stride = entry.stride_bytes or bench.window_stride_bytes
    return [raw[start:start + size] for start in range(0, len(raw) - size + 1, stride)]


def write(folder: Path, items: list[tuple[str, np.ndarray, int]], bench: Benchmark) -> Path:
    """Write an eval set: items are (file name, payload, label). Files are written under temporary
    names and the label file last, so an interrupted export never looks complete."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, payload, label in items:
        payload = np.ascontiguousarray(payload, dtype=bench.eval_file_dtype)
        tmp = folder / (name + ".tmp")
        payload.tofile(tmp)
        os.replace(tmp, folder / name)
        row = [name, str(bench.num_classes), str(int(label))]
        if bench.window_bytes is not None:
            row += [str(bench.window_bytes), str(bench.window_stride_bytes)]
        rows.append(",".join(row))
    tmp = folder / (LABELS_FILE + ".tmp")
    tmp.write_text("".join(r + "\n" for r in rows))
    os.replace(tmp, folder / LABELS_FILE)
    return folder / LABELS_FILE
