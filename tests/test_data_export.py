"""export-eval writes the MLPerf Tiny eval-set format: files that read back byte for byte, rows
and names shaped like the official label files."""
from __future__ import annotations

import re

import numpy as np
import pytest

from tinybench import benchmarks
from tinybench.data import evalset, export, prepare, synth
from tinybench.errors import UserError

SIZES = {"kws01": dict(per_class=4, noise_seconds=3.0), "vww01": dict(per_class=10),
         "ic01": dict(per_class=8), "ad01": dict(per_class=3, seconds=8.2)}
# The shape of every row of the official label files (../shared/mlperf-tiny/labels).
ROW = {
    "kws01": r"tst_\d{6}_(?P<name>[A-Za-z]+)_(?P<k>\d+)\.bin,12,(?P<label>\d+)",
    "vww01": r"\d{12}\.bin,2,(?P<label>[01])",
    "ic01": r"[a-z0-9_]+_s_\d{6}\.bin,10,(?P<label>\d)",
    "ad01": r"(?P<name>normal|anomaly)_id_\d\d_\d{8}_hist_librosa\.bin,2,(?P<label>[01]),2560,512",
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    return {b: prepare.prepare(b, synth.synthesize(b, root / f"{b}-raw", seed=2, **SIZES[b]), root / b)
            for b in SIZES}


@pytest.mark.parametrize("bench_id", list(ROW))
def test_official_label_files_have_the_row_shape_we_write(shared_dir, bench_id):
    rows = (shared_dir / "labels" / f"{bench_id}_y_labels.csv").read_text()
    assert "\r" not in rows
    for row in rows.splitlines():
        assert re.fullmatch(ROW[bench_id], row), row


@pytest.mark.parametrize("bench_id", list(ROW))
def test_export_reads_back_byte_for_byte(prepared, tmp_path, bench_id):
    bench = benchmarks.get(bench_id)
    data = prepared[bench_id]
    labels_path = export.export_eval(bench_id, data, tmp_path)
    text = labels_path.read_bytes().decode()
    assert text.endswith("\n") and "\r" not in text
    entries = evalset.read_labels(tmp_path)
    split = data.meta["eval_split"]
    assert len(entries) == min(bench.eval_set_size, len(data.y(split)))
    for row, entry in zip(text.splitlines(), entries):
        match = re.fullmatch(ROW[bench_id], row)
        assert match, row
        assert int(match["label"]) == entry.label
        if bench_id == "kws01":
            assert match["name"] == bench.labels[entry.label] and int(match["k"]) == entry.label
        if bench_id == "ad01":
            assert match["name"] == bench.labels[entry.label]

    # The payload of each file, computed here from the prepared arrays without the exporter.
    names = data.names(split)
    x, y = data.x(split), data.y(split)
    for i, entry in enumerate(entries):
        raw = (tmp_path / entry.file).read_bytes()
        if bench_id == "kws01":
            row = _kws_rows(y, len(entries))[i]  # names are positional: the documented pick order
            levels = np.trunc(x[row].astype(np.float32) / np.float32(bench.official_input_scale)
                              + np.float32(bench.official_input_zero_point))
            expected = np.clip(levels, -128, 127).astype(np.int8).tobytes()
        else:
            wanted = entry.file
            row = next(r for r, n in enumerate(names) if _eval_name(bench_id, n) == wanted)
            expected = np.ascontiguousarray(x[row]).astype(bench.eval_file_dtype).astype(
                np.dtype(bench.eval_file_dtype).newbyteorder("<")).tobytes()
        assert raw == expected, entry.file
        assert entry.label == y[row]
        back = evalset.read_input(tmp_path, entry, bench)
        assert back.tobytes() == raw
    if bench_id == "ad01":
        assert all((tmp_path / e.file).stat().st_size == 200 * 128 * 4 for e in entries)
        first = evalset.read_input(tmp_path, entries[0], bench)
        assert len(evalset.windows(entries[0], first, bench)) == 196


def _kws_rows(labels, count):
    """Round-robin over the classes, each class in stored order (the exporter's documented pick)."""
    per_class = [list(np.flatnonzero(labels == c)) for c in range(12)]
    order = sorted((k, c) for c in range(12) for k in range(len(per_class[c])))
    return [per_class[c][k] for k, c in order][:count]


def _eval_name(bench_id, name):
    from pathlib import Path
    stem = Path(name).stem
    if bench_id == "vww01":
        return stem[-12:] + ".bin"
    if bench_id == "ad01":
        return stem + "_hist_librosa.bin"
    return stem + ".bin"


def test_select_exports_exactly_the_listed_files(prepared, tmp_path):
    full = export.export_eval("ic01", prepared["ic01"], tmp_path / "all")
    rows = full.read_text().splitlines()
    chosen = [rows[5], rows[1], rows[30]]
    (tmp_path / "pick.csv").write_text("".join(r + "\n" for r in chosen))
    picked = export.export_eval("ic01", prepared["ic01"], tmp_path / "picked",
                                select=tmp_path / "pick.csv")
    assert picked.read_text().splitlines() == chosen
    for row in chosen:
        name = row.split(",")[0]
        assert (tmp_path / "picked" / name).read_bytes() == (tmp_path / "all" / name).read_bytes()
    (tmp_path / "bad.csv").write_text("airplane_s_999999.bin,10,0\n")
    with pytest.raises(UserError, match="not in this dataset"):
        export.export_eval("ic01", prepared["ic01"], tmp_path / "x", select=tmp_path / "bad.csv")


def test_kws_export_uses_the_given_quantization(prepared, tmp_path):
    export.export_eval("kws01", prepared["kws01"], tmp_path / "a", count=5)
    export.export_eval("kws01", prepared["kws01"], tmp_path / "b", count=5, input_scale=1.0,
                       input_zero_point=0)
    a = np.fromfile(tmp_path / "a" / "tst_000000_Down_0.bin", dtype=np.int8)
    b = np.fromfile(tmp_path / "b" / "tst_000000_Down_0.bin", dtype=np.int8)
    assert a.size == b.size == 490 and not np.array_equal(a, b)


def test_a_failed_export_leaves_no_label_file(prepared, tmp_path, monkeypatch):
    out = tmp_path / "eval"
    export.export_eval("ic01", prepared["ic01"], out)
    assert (out / "y_labels.csv").is_file()

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(evalset, "write", broken)
    with pytest.raises(OSError):
        export.export_eval("ic01", prepared["ic01"], out)
    assert not (out / "y_labels.csv").exists()  # the old label file does not vouch for new files


def test_cli_export_eval(cli, prepared, tmp_path, official_model):
    result = cli("datasets", "export-eval", "kws01", "--data", prepared["kws01"].folder,
                 "--out", tmp_path / "eval", "--model", official_model("kws01"), "--count", 12)
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "eval" / "y_labels.csv").read_text().splitlines()) == 12
    result = cli("datasets", "export-eval", "kws01", "--data", tmp_path, "--out", tmp_path / "x")
    assert result.exit_code == 1 and "not a prepared dataset" in result.output
