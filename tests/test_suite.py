"""`tinybench suite`: the stages chained on one benchmark, the synthetic-data note carried into
every output, and a second run that finds everything done."""
from __future__ import annotations

import csv
import json

import pytest

from tinybench.errors import UserError
from tinybench.report.formats import SYNTHETIC_NOTE
from tinybench.suite import SuiteOptions, run_suite


def test_suite_runs_every_stage_and_labels_synthetic_data(shared_dir, tmp_path):
    log: list[str] = []
    options = SuiteOptions(out=tmp_path / "suite", benchmarks=["kws01"], models=shared_dir / "models",
                           synthetic=True, short_window=0.2, log=log.append)
    [outcome] = run_suite(options)
    assert outcome.error is None
    assert sorted(outcome.results) == ["accuracy", "layers", "performance"]
    for mode, folder in outcome.results.items():
        text = (folder / "results.txt").read_text()
        assert f"Note: {SYNTHETIC_NOTE}" in text, mode
    system = (tmp_path / "suite" / "results" / "closed" / "tinybench" / "systems" / "host.json")
    assert SYNTHETIC_NOTE in system.read_text()
    html = (tmp_path / "suite" / "report" / "report.html").read_text()
    assert SYNTHETIC_NOTE.replace("'", "&#x27;") in html
    rows = list(csv.DictReader(open(tmp_path / "suite" / "summary.csv")))
    assert all(SYNTHETIC_NOTE in row["SoftwareNotes"] for row in rows)
    assert any("synthetic data" in line for line in log)   # the checker refuses it
    # accuracy ran every file of the exported eval set once
    labels = (tmp_path / "suite" / "kws01" / "eval" / "y_labels.csv").read_text().splitlines()
    steps = json.loads((outcome.results["accuracy"] / "results.json").read_text())
    assert sorted(s["file"] for s in steps) == sorted(line.split(",")[0] for line in labels)

    # everything is there: a second run redoes nothing
    log.clear()
    run_suite(options)
    assert any("already in" in line for line in log)
    assert not any(line.startswith("\n== kws01: run") for line in log)


def test_suite_without_data_or_models_says_what_to_give(tmp_path):
    with pytest.raises(UserError, match="--synthetic"):
        run_suite(SuiteOptions(out=tmp_path, benchmarks=["ad01"]))


def test_suite_on_a_real_board_builds_and_flashes_or_says_what_is_missing(shared_dir, tmp_path):
    """With --port and --board the suite builds each benchmark's firmware and flashes it; with no
    flashing tool or no board attached here, it says which and runs nothing against the port."""
    log: list[str] = []
    [outcome] = run_suite(SuiteOptions(out=tmp_path / "suite", benchmarks=["ad01"], emulate=None,
                                       port="socket://127.0.0.1:9", board="nucleo-l4r5zi",
                                       models=shared_dir / "models", synthetic=True,
                                       log=log.append))
    assert outcome.error is not None and "flash" in outcome.error
    assert ("no flashing tool found" in outcome.error
            or "is the board connected" in outcome.error)
    assert (tmp_path / "suite" / "ad01" / "firmware" / "nucleo-l4r5zi" / "dut.elf").is_file()
    assert outcome.results == {}
