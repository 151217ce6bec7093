"""The MLPerf training log (tinybench/train_log.py): what mllog writes for a run, MLPerf's
compliance checker with our ruleset accepting it and refusing damaged logs, and time-to-train
scoring over seeds."""
from __future__ import annotations

import json

import pytest

from tinybench import benchmarks, train_log


def write_run(path, epochs=3, reached=True, benchmark="kws01"):
    log = train_log.TrainingLog(path)
    c = log.constants
    log.submission(benchmark)
    log.start(c.INIT_START)
    log.hyperparameters(batch_size=8, optimizer="adam", learning_rate=1e-3, seed=4,
                        train_samples=120, eval_samples=30, epochs=epochs)
    log.end(c.INIT_STOP)
    log.start(c.RUN_START)
    for epoch in range(1, epochs + 1):
        log.start(c.EPOCH_START, epoch_num=epoch)
        log.epoch(epoch, 0.5 + 0.1 * epoch)
    log.run_stop(reached)
    log.close()
    return path.read_text().splitlines()


def records(lines):
    return [json.loads(line.split(" ", 1)[1]) for line in lines]


def test_a_run_writes_mllog_lines_the_checker_accepts(tmp_path):
    lines = write_run(tmp_path / train_log.LOG_FILE)
    assert all(line.startswith(":::MLLOG {") for line in lines)
    keys = [r["key"] for r in records(lines)]
    assert keys[:5] == ["submission_benchmark", "submission_division", "submission_org",
                        "submission_status", "submission_platform"]
    assert keys.count("epoch_stop") == keys.count("eval_accuracy") == 3
    stop = records(lines)[-1]
    assert stop["key"] == "run_stop" and stop["metadata"]["status"] == "success"
    ok, messages = train_log.check(tmp_path / train_log.LOG_FILE)
    assert ok, messages


def test_every_benchmark_of_the_registry_is_accepted(tmp_path):
    for bench_id in benchmarks.BENCHMARKS:
        write_run(tmp_path / f"{bench_id}.txt", epochs=1, benchmark=bench_id)
        assert train_log.check(tmp_path / f"{bench_id}.txt")[0]


@pytest.mark.parametrize("damage,expected", [
    (lambda ls: [l for l in ls if '"run_stop"' not in l], "run_stop"),
    (lambda ls: [l for l in ls if not ('"eval_accuracy"' in l and '"epoch_num": 2' in l)],
     "evaluated"),
    (lambda ls: [l.replace('"kws01"', '"resnet"') for l in ls], "submission_benchmark"),
    (lambda ls: [l for l in ls if '"init_stop"' not in l], "init_stop"),
    (lambda ls: [l for l in ls if '"global_batch_size"' not in l], "global_batch_size"),
    (lambda ls: [l.replace('"epoch_num": 3', '"epoch_num": 4') for l in ls], "epoch_start"),
])
def test_the_checker_refuses_a_damaged_log(tmp_path, damage, expected):
    lines = write_run(tmp_path / "good.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(damage(lines)) + "\n")
    ok, messages = train_log.check(bad)
    assert not ok and expected in messages


def test_two_logs_in_one_process_stay_apart(tmp_path):
    first = train_log.TrainingLog(tmp_path / "a.txt")
    second = train_log.TrainingLog(tmp_path / "b.txt")
    first.event("seed", 1)
    second.event("seed", 2)
    first.close()
    second.close()
    assert [r["value"] for r in records((tmp_path / "a.txt").read_text().splitlines())] == [1]
    assert [r["value"] for r in records((tmp_path / "b.txt").read_text().splitlines())] == [2]


def test_time_to_train_drops_the_fastest_and_slowest():
    assert train_log.time_to_train([10.0, 30.0, 20.0, 25.0, 5.0])[0] == pytest.approx(55.0 / 3)
    # one run that missed the target is the slowest, and dropped
    assert train_log.time_to_train([10.0, None, 20.0, 30.0])[0] == pytest.approx(25.0)
    score, why = train_log.time_to_train([10.0, None, None, 30.0])
    assert score is None and "2 of 4 runs missed" in why
    assert train_log.time_to_train([12.0, 14.0])[0] == pytest.approx(13.0)
    assert train_log.time_to_train([None])[0] is None
