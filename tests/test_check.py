"""The submission checker (`tinybench check`) on results trees written by the runner.

The trees are written through the runner's own writer (RunOutput and the performance/accuracy
summary lines of tinybench.runner), fed with per-step records like those a DUT run produces, so
results.txt holds exactly what `tinybench run` writes. One test runs the real runner against the
host-emulated DUT.
"""
from __future__ import annotations

import csv
import json
import math
import os

import numpy as np
import pytest

from tinybench import benchmarks
from tinybench.report import check
from tinybench.runner import accuracy, performance
from tinybench.runner.context import RunContext
from tinybench.runner.output import RunOutput

SYSTEM_DESCRIPTION = {
    "Status": "available", "Board Name": "host (emulated)", "Processor(s) Name": "x86-64",
    "Processor(s) Frequencies": "n/a", "Processor memory type and capacity": "DDR",
    "Accelerator": "", "Accelerator(s) Frequencies": "", "Accelerator memory type and capacity": "",
    "Hardware Notes": "", "Inference Framework": "tinybench", "Software Libraries": "",
    "Software Notes": "",
}
# Latency (ms) per benchmark the synthetic performance windows are built around.
LATENCY_MS = {"kws01": 7.5, "vww01": 21.0, "ic01": 30.0, "ad01": 0.9}


def _writer(root, bench, mode, division, submitter, system):
    out = RunOutput(root, division, submitter, system, bench.submission_name, mode)
    out.open(dict(model=bench.id, mode=mode), resume=False, overwrite=False,
             early_log=["m-name-dut-[tinybench]"])
    ctx = RunContext(client=None, steps=None, output=out, bench=bench,
                     model=bench.submission_name, num_classes=bench.num_classes, chunk_bytes=31,
                     line_timeout=5.0)
    return out, ctx


def performance_steps(bench_id: str, window_seconds: float = 11.0) -> list[dict]:
    """Five windows of at least window_seconds, with slightly different speeds."""
    steps = []
    for window, spread in enumerate((1.00, 1.02, 0.99, 1.03, 0.98), 1):
        us_per_inference = LATENCY_MS[bench_id] * 1000 * spread
        iterations = math.ceil(window_seconds * 1e6 / us_per_inference)
        elapsed = round(iterations * us_per_inference)
        steps.append(dict(file=f"input_{window}.bin", window=window, mode="p", infer=dict(
            results=[0.5], start_time=1000, end_time=1000 + elapsed, elapsed_time=elapsed,
            total_inferences=1, iterations=iterations, warmups=10,
            throughput=iterations / (elapsed / 1e6))))
    return steps


def accuracy_steps(bench_id: str, quality: float, files: int = 48) -> list[dict]:
    """Per-file records: classifiers get `quality` (0..1) of their files right; ad01 gets scores
    whose ranking puts that share of the anomalies above every normal file."""
    bench = benchmarks.get(bench_id)
    rng = np.random.default_rng(1)
    steps = []
    for i in range(files):
        label = i % bench.num_classes
        if bench.quality_metric == "auc":
            ranked_high = label == 1 and (i // 2) < quality * files / 2
            values = [float(2.0 + rng.random() if ranked_high else rng.random() * 2.5)]
        else:
            right = i < round(quality * files)
            vector = rng.random(bench.num_classes) * 0.1
            vector[label if right else (label + 1) % bench.num_classes] = 1.0
            values = [round(float(v), 3) for v in vector]
        steps.append(dict(file=f"f{i:04d}.bin", classes=bench.num_classes, mode="a",
                          **{"class": label}, infer=dict(results=values, iterations=1, warmups=0)))
    return steps


def write_run(root, bench_id, mode, steps, division="closed", submitter="acme", system="host",
              short_window=None):
    bench = benchmarks.get(bench_id)
    out, ctx = _writer(root, bench, mode, division, submitter, system)
    for step in steps:
        out.record(step)
    if mode == "performance":
        lines = performance.summary_lines(ctx, short_window or benchmarks.MIN_WINDOW_SECONDS,
                                          short_window is not None)
    else:
        lines = accuracy.summary_lines(ctx)
    return out.finish(lines).parent


def write_system(root, division="closed", submitter="acme", system="host", **changes):
    folder = root / division / submitter / "systems"
    folder.mkdir(parents=True, exist_ok=True)
    description = {k: v for k, v in dict(SYSTEM_DESCRIPTION, **changes).items() if v is not None}
    (folder / f"{system}.json").write_text(json.dumps(description, indent=1))


def build_submission(root, quality=0.95, division="closed", system="host", submitter="acme"):
    """A complete submission of all four benchmarks for one system."""
    for bench_id in LATENCY_MS:
        write_run(root, bench_id, "performance", performance_steps(bench_id), division,
                  submitter, system)
        write_run(root, bench_id, "accuracy", accuracy_steps(bench_id, quality), division,
                  submitter, system)
    write_system(root, division, submitter, system)
    return root


def expected_median_throughput(bench_id):
    steps = performance_steps(bench_id)
    return float(np.median([s["infer"]["iterations"] / (s["infer"]["elapsed_time"] / 1e6)
                            for s in steps]))


def messages(report, level="error"):
    return [str(f) for f in report.findings if f.level == level]


def test_a_runner_tree_of_all_four_benchmarks_passes(tmp_path):
    root = build_submission(tmp_path / "sub")
    report = check.check(root)
    assert report.ok, report.text()
    assert report.summary_line() == "SUMMARY: submission looks OK"
    rows = {r["Model"]: r for r in report.rows}
    assert set(rows) == {"kws", "vww", "ic", "ad"}
    for bench_id in LATENCY_MS:
        row = rows[benchmarks.get(bench_id).submission_name]
        assert row["Result"] == pytest.approx(expected_median_throughput(bench_id), abs=5e-4)
        assert row["Division"] == "closed" and row["Availability"] == "available"
        assert row["BoardName"] == "host (emulated)" and row["HasPower"] is False
    # 46 of 48 files right (0.95 rounded) -> 95.8 %; ad01: sklearn's AUC of the written scores.
    assert rows["kws"]["Accuracy"] == "95.8"
    ad_steps = accuracy_steps("ad01", 0.95)
    from sklearn.metrics import roc_auc_score
    auc = roc_auc_score([s["class"] for s in ad_steps], [s["infer"]["results"][0] for s in ad_steps])
    assert float(rows["ad"]["Accuracy"]) == pytest.approx(auc, abs=5e-4)


def test_summary_csv_has_the_official_columns(tmp_path):
    report = check.check(build_submission(tmp_path / "sub"))
    path = tmp_path / "summary.csv"
    check.write_summary(report, path)
    text = path.read_text()
    header, first = text.splitlines()[:2]
    assert header.split(",")[:5] == ["Organization", "Availability", "Division", "BoardName",
                                     "SystemDesc"]
    assert header.split(",")[-3:] == ["FalsePositives", "FalseNegatives", "DutyCycle"]
    assert '"' not in header and first.startswith('"acme","available","closed"')
    rows = list(csv.DictReader(text.splitlines()))
    assert len(rows) == 4 and {r["ResultUnit"] for r in rows} == {"inf./sec."}


def test_missing_log_fails_and_names_the_file(tmp_path):
    root = build_submission(tmp_path / "sub")
    (root / "closed/acme/results/host/ic/performance/log.txt").unlink()
    report = check.check(root)
    assert not report.ok
    assert any("results/host/ic/performance" in m and "missing log.txt" in m
               for m in messages(report))
    assert "ic" not in {r["Model"] for r in report.rows}


def test_missing_accuracy_folder_fails(tmp_path):
    root = build_submission(tmp_path / "sub")
    accuracy_dir = root / "closed/acme/results/host/vww/accuracy"
    for f in accuracy_dir.iterdir():
        f.unlink()
    accuracy_dir.rmdir()
    report = check.check(root)
    assert any("vww/accuracy" in m and "missing" in m for m in messages(report))


def test_accuracy_below_target_fails_in_closed_only(tmp_path):
    closed = build_submission(tmp_path / "closed_sub", quality=0.8)
    report = check.check(closed)
    assert not report.ok
    errors = messages(report)
    # 38 of 48 right = 79.2 %: below kws01's 90 and ic01's 85, also below vww01's 80.
    assert any("kws/accuracy" in m and "below the closed-division target 90" in m for m in errors)
    assert any("ic/accuracy" in m and "target 85" in m for m in errors)
    opened = build_submission(tmp_path / "open_sub", quality=0.8, division="open")
    report = check.check(opened)
    assert report.ok, report.text()       # the open division records accuracy, no target
    assert {r["Accuracy"] for r in report.rows if r["Model"] == "kws"} == {"79.2"}


def test_short_windows_are_a_run_rule_error(tmp_path):
    root = build_submission(tmp_path / "sub")
    target = root / "closed/acme/results/host/kws/performance"
    for f in target.iterdir():
        f.unlink()
    write_run(root, "kws01", "performance", performance_steps("kws01", window_seconds=0.5),
              short_window=0.5)
    report = check.check(root)
    errors = messages(report)
    assert any("kws/performance/results.txt" in m and "run-rule error" in m
               and "not valid for submission" in m for m in errors), errors
    assert any("no 'Median throughput is" in m for m in errors)


def test_official_runner_error_lines_are_run_rule_errors(tmp_path):
    root = build_submission(tmp_path / "sub")
    path = root / "closed/acme/results/host/ad/performance/results.txt"
    path.write_text(path.read_text() + "0101.120000 ulp-mlperf: ERROR 1 - loop_count was not "
                                       "exactly 5.\n")
    report = check.check(root)
    assert any("ERROR 1 - loop_count was not exactly 5." in m for m in messages(report))


def test_system_description_is_checked(tmp_path):
    root = build_submission(tmp_path / "sub")
    write_system(root, Status="beta")
    assert any("\"Status\" is 'beta'" in m for m in messages(check.check(root)))
    write_system(root, system_type="edge")
    assert any("system_type" in m for m in messages(check.check(root)))
    (root / "closed/acme/systems/host.json").unlink()
    assert any("systems/host.json" in m and "missing" in m for m in messages(check.check(root)))
    write_system(root, **{"Board Name": None})
    report = check.check(root)
    assert report.ok and any("'Board Name'" in m for m in messages(report, "warning"))


def test_folder_hygiene(tmp_path):
    root = build_submission(tmp_path / "sub")
    model = root / "closed/acme/results/host/kws"
    (model / "__pycache__").mkdir()
    (model / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (root / "closed/acme/results/host/ad/empty").mkdir()
    os.symlink(model / "accuracy/log.txt", model / "accuracy/link.txt")
    (model / "performance/.hidden").write_text("x")
    (root / "nightly").mkdir()
    report = check.check(root)
    errors, warnings = messages(report), messages(report, "warning")
    assert any("__pycache__" in m for m in errors)
    assert any("ad/empty" in m and "empty folder" in m for m in errors)
    assert any("accuracy/link.txt" in m and "symbolic link" in m for m in errors)
    assert any("invalid division 'nightly'" in m for m in errors)
    assert any(".hidden" in m and "dot" in m for m in warnings)


def test_closed_model_names_are_checked_and_open_ones_mapped(tmp_path):
    root = build_submission(tmp_path / "sub")
    results = root / "closed/acme/results/host"
    os.rename(results / "kws", results / "keywords")
    assert any("unknown model 'keywords'" in m for m in messages(check.check(root)))

    opened = build_submission(tmp_path / "open", division="open")
    results = opened / "open/acme/results/host"
    os.rename(results / "kws", results / "my_kws")
    assert any("unknown model 'my_kws'" in m for m in messages(check.check(opened)))
    (opened / "open/acme/model_mapping.json").write_text(json.dumps({"my_kws": "kws"}))
    report = check.check(opened)
    assert report.ok, report.text()
    assert {(r["Model"], r["MlperfModel"]) for r in report.rows} >= {("my_kws", "kws")}


def test_energy_results_fill_the_power_columns(tmp_path):
    root = build_submission(tmp_path / "sub")
    energy = root / "closed/acme/results/host/kws/energy"
    energy.mkdir()
    (energy / "log.txt").write_text("trial log\n")
    (energy / "results.txt").write_text(
        "0101.120000 ulp-mlperf: Energy/Inf : 410.123 uJ/inf\n"
        "0101.120000 ulp-mlperf: Median energy cost is 412.5000 uJ/inf.\n")
    (energy / "energy_inf_000.png").write_bytes(b"\x89PNG")
    report = check.check(root)
    assert report.ok, report.text()
    row = next(r for r in report.rows if r["Model"] == "kws")
    assert row["HasPower"] is True and row["Power"] == 412.5 and row["PowerUnit"] == "uJ/inf."
    (energy / "results.txt").write_text("0101.120000 ulp-mlperf: Energy/Inf : 410.123 uJ/inf\n")
    assert any("Median energy cost" in m for m in messages(check.check(root)))


def test_cli_check_exit_codes_and_summary(tmp_path, cli):
    root = build_submission(tmp_path / "sub")
    csv_path = tmp_path / "out" / "summary.csv"
    result = cli("check", root, "--csv", csv_path)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("SUMMARY: submission looks OK")
    assert len(csv_path.read_text().splitlines()) == 5
    (root / "closed/acme/results/host/ic/accuracy/results.txt").unlink()
    result = cli("check", root, "--csv", csv_path)
    assert result.exit_code == 1
    assert "ic/accuracy" in result.output and "missing results.txt" in result.output
    assert result.output.strip().endswith("SUMMARY: submission has errors")
    result = cli("check", tmp_path / "nowhere")
    assert result.exit_code == 1 and "not a folder" in result.output


@pytest.mark.slow
def test_a_real_run_on_the_host_dut(tmp_path, official_model, cli):
    """`tinybench run` against the host-emulated DUT: its accuracy results meet the target
    (labels are the model's own TFLM predictions, which the firmware reproduces bit for bit), and
    a performance run with short windows is rejected with the runner's reason."""
    from tinybench import tflm
    from tinybench.data import evalset

    model = official_model("kws01")
    bench = benchmarks.get("kws01")
    rng = np.random.default_rng(3)
    interp = tflm.interpreter(model)
    items = []
    for i in range(6):
        x = rng.integers(-128, 128, size=bench.eval_file_bytes, dtype=np.int8)
        items.append((f"tst_{i:06d}.bin", x, int(np.argmax(tflm.run(None, x, interp)))))
    evalset.write(tmp_path / "eval", items, bench)
    common = ["run", "--emulate", "host", "--model", model, "--dataset", tmp_path / "eval",
              "--out", tmp_path / "sub", "--submitter", "acme", "--system", "host",
              "--build-dir", tmp_path / "build"]
    assert cli(*common, "--mode", "accuracy").exit_code == 0
    assert cli(*common, "--mode", "performance", "--short-window", "0.1").exit_code == 0
    write_system(tmp_path / "sub")
    report = check.check(tmp_path / "sub")
    errors = messages(report)
    assert not any("accuracy" in m for m in errors), errors
    assert any("kws/performance/results.txt" in m and "--short-window" in m for m in errors)
