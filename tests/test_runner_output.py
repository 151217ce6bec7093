"""The results folder: submission layout, the journal that --resume reads, and nothing that looks
complete before the run is."""
from __future__ import annotations

import json

import pytest

from tinybench.errors import UserError
from tinybench.runner.output import JOURNAL, LOG, RESULTS_JSON, RESULTS_TXT, RunOutput

HEADER = {"model": "kws01", "mode": "accuracy", "dataset": "/data/kws01"}


def output(root, mode="accuracy") -> RunOutput:
    return RunOutput(root, "closed", "acme", "board1", "kws", mode)


def test_layout_follows_the_submission_tree(tmp_path):
    out = output(tmp_path)
    assert out.dir == tmp_path / "closed" / "acme" / "results" / "board1" / "kws" / "accuracy"
    with pytest.raises(UserError, match="submitter"):
        RunOutput(tmp_path, "closed", "a/b", "board1", "kws", "accuracy")


def test_results_appear_only_when_the_run_is_complete(tmp_path):
    out = output(tmp_path)
    out.open(HEADER, resume=False, overwrite=False, early_log=["before the folder was known"])
    out.log("> name%")
    out.record({"file": "a.bin", "infer": {"results": [1.0]}})
    assert not (out.dir / RESULTS_TXT).exists() and not (out.dir / RESULTS_JSON).exists()
    assert not out.complete
    out.finish(["0101.000000 ulp-mlperf: Top 1% = 100.0"])
    assert sorted(p.name for p in out.dir.iterdir()) == [LOG, RESULTS_JSON, RESULTS_TXT]
    assert json.loads((out.dir / RESULTS_JSON).read_text()) == [
        {"file": "a.bin", "infer": {"results": [1.0]}}]
    log = (out.dir / LOG).read_text()
    assert "before the folder was known" in log and "> name%" in log
    assert output(tmp_path).complete


def test_a_complete_run_is_kept_unless_overwritten(tmp_path):
    first = output(tmp_path)
    first.open(HEADER, False, False, [])
    first.finish(["done"])
    for resume in (False, True):
        with pytest.raises(UserError, match="complete run.*--overwrite"):
            output(tmp_path).open(HEADER, resume, False, [])
    again = output(tmp_path)
    again.open(HEADER, False, True, [])
    assert not (again.dir / RESULTS_TXT).exists() and again.steps == []
    again.close()


def test_resume_keeps_completed_steps_and_survives_a_torn_line(tmp_path):
    first = output(tmp_path)
    first.open(HEADER, False, False, [])
    first.record({"file": "a.bin"})
    first.record({"file": "b.bin"})
    first.close()
    with open(first.dir / JOURNAL, "a") as journal:
        journal.write('{"step": {"file": "c.b')        # the run died mid-write
    with pytest.raises(UserError, match="interrupted run.*--resume"):
        output(tmp_path).open(HEADER, False, False, [])
    with pytest.raises(UserError, match="same options"):
        output(tmp_path).open(dict(HEADER, dataset="/other"), True, False, [])
    resumed = output(tmp_path)
    resumed.open(HEADER, True, False, [])
    assert [s["file"] for s in resumed.steps] == ["a.bin", "b.bin"]
    resumed.record({"file": "c.bin"})
    resumed.close()
    lines = (first.dir / JOURNAL).read_text().splitlines()
    assert [json.loads(line).get("step", {}).get("file") for line in lines] == \
        [None, "a.bin", "b.bin", "c.bin"]
