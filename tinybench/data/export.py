"""`tinybench datasets export-eval`: a prepared dataset -> an MLPerf Tiny evaluation set (one `.bin`
per input and `y_labels.csv`, see tinybench.data.evalset), named as the official sets are:

- kws01: int8 MFCC, 490 bytes, quantized with the model's input scale and zero point,
  `tst_{i:06d}_{Label}_{label}.bin`;
- vww01: uint8 HWC 96x96x3, `{12-digit COCO id}.bin`;
- ic01: uint8 HWC 32x32x3, named after the CIFAR file (`emu_s_002009.bin`);
- ad01: float32 little-endian 200 x 128 log-mel of the whole clip (frames 50..249),
  `{normal|anomaly}_id_XX_NNNNNNNN_hist_librosa.bin`, rows `file,2,label,2560,512`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from tinybench import benchmarks
from tinybench.data import cifar10, evalset, features, toyadmos, vww
from tinybench.data.prepare import Prepared, open_prepared
from tinybench.errors import UserError
from tinybench.progress import progress_bar


def _names(bench_id: str, source_names: list[str], labels: np.ndarray, rows: np.ndarray) -> list[str]:
    bench = benchmarks.get(bench_id)
    if bench_id == "kws01":  # positional, as the reference numbers its test clips
        return [f"tst_{i:06d}_{bench.labels[labels[r]]}_{labels[r]}.bin" for i, r in enumerate(rows)]
    to_file = {"vww01": vww.eval_file_name, "ic01": cifar10.eval_file_name,
               "ad01": toyadmos.eval_file_name}[bench_id]
    return [to_file(source_names[r]) for r in rows]


def _balanced(labels: np.ndarray, count: int, num_classes: int) -> np.ndarray:
    """count rows taken round-robin over the classes (one of each class in turn, each class in its
    stored order), so that any prefix of the set is balanced too."""
    per_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
    turns = [(k, c) for c, rows in enumerate(per_class) for k in range(len(rows))]
    turns.sort()  # k-th member of every class before any (k+1)-th
    return np.array([per_class[c][k] for k, c in turns[:count]], dtype=np.int64)


def _select_by_file(select: Path, names: list[str]) -> np.ndarray:
    """Rows whose eval-file names are listed in a y_labels.csv, in the file's order."""
    wanted = [e.file for e in evalset.read_labels(select.parent, select.name)]
    index = {name: row for row, name in enumerate(names)}
    missing = [w for w in wanted if w not in index]
    if missing:
        raise UserError(f"{select}: {len(missing)} of {len(wanted)} listed files are not in this "
                        f"dataset (first: {missing[0]})")
    return np.array([index[w] for w in wanted], dtype=np.int64)


def export_eval(bench_id: str, data: Prepared | Path, out: Path, count: int | None = None,
                select: Path | None = None, input_scale: float | None = None,
                input_zero_point: int | None = None, split: str | None = None) -> Path:
    """Write the eval set and return the path of its y_labels.csv. By default the benchmark's
    official count of inputs, balanced over the classes; `select` instead takes exactly the files a
    y_labels.csv lists (for instance the official list, when the source is the real dataset).
    kws01 quantizes with input_scale / input_zero_point (default: the official model's)."""
    bench = benchmarks.get(bench_id)
    data = data if isinstance(data, Prepared) else open_prepared(data, bench.id)
    split = split or data.meta["eval_split"]
    labels = data.y(split)
    source_names = data.names(split)
    all_rows = np.arange(len(labels))
    if select is not None:
        if bench.id == "kws01":
            raise UserError("--select does not apply to kws01: its official files are numbered by "
                            "the position of each clip in the reference's test order")
        rows = _select_by_file(Path(select), _names(bench.id, source_names, labels, all_rows))
    else:
        rows = _balanced(labels, count or bench.eval_set_size, bench.num_classes)
    names = _names(bench.id, source_names, labels, rows)
    if len(set(names)) != len(names):
        raise UserError(f"{data.folder}: two inputs map to the same eval file name; the source "
                        f"file names are not unique")
    scale = input_scale if input_scale is not None else bench.official_input_scale
    zero_point = input_zero_point if input_zero_point is not None else bench.official_input_zero_point
    x = data.x(split)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # An old label file next to half-rewritten .bin files would look like a complete set.
    (out / evalset.LABELS_FILE).unlink(missing_ok=True)
    items = []
    with progress_bar(total=len(rows), desc=f"{bench.id} export", unit="file") as bar:
        for name, row in zip(names, rows):
            if bench.id == "kws01":
                payload = features.kws_quantize(x[row].reshape(-1), scale, zero_point)
            else:
                payload = np.asarray(x[row]).reshape(-1)
            items.append((name, payload.astype(bench.eval_file_dtype), int(labels[row])))
            bar.update()
    return evalset.write(out, items, bench)
