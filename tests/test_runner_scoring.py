"""Scores as the official MLPerf Tiny runner computes them (SPEC 2.7), on hand-checkable cases."""
from __future__ import annotations

import pytest

from tinybench.runner import scoring


def step(file, label, results, elapsed=1_000_000, iterations=10):
    return {"file": file, "class": label,
            "infer": {"results": results, "elapsed_time": elapsed, "iterations": iterations}}


def test_results_are_normalised_per_step_and_averaged_per_file():
    steps = [step("a", 1, [1.0, 3.0]), step("a", 1, [3.0, 1.0]), step("b", 0, [0.2]),
             step("b", 0, [0.4])]
    names, labels, vectors = scoring.per_file(steps[:2])
    assert names == ["a"] and list(labels) == [1]
    assert vectors.tolist() == [[0.5, 0.5]]          # (0.25 + 0.75) / 2 each
    _, _, scores = scoring.per_file(steps[2:])
    assert scores.tolist() == [[pytest.approx(0.3)]]  # single values are not normalised


def test_two_class_top1_and_auc():
    separated = [step("a", 0, [0.9, 0.1]), step("b", 1, [0.2, 0.8]), step("c", 0, [0.6, 0.4]),
                 step("d", 1, [0.45, 0.55])]
    summary = scoring.accuracy(separated, 2)
    assert (summary.files, summary.top1, summary.auc) == (4, 100.0, 1.0)
    swapped = [step(s["file"], 1 - s["class"], s["infer"]["results"]) for s in separated]
    summary = scoring.accuracy(swapped, 2)
    assert (summary.top1, summary.auc) == (0.0, 0.0)


def test_multi_class_auc_is_one_vs_rest():
    steps = [step("a", 0, [0.7, 0.2, 0.1]), step("b", 1, [0.1, 0.8, 0.1]),
             step("c", 2, [0.2, 0.2, 0.6]), step("d", 2, [0.5, 0.1, 0.4])]
    summary = scoring.accuracy(steps, 3)
    assert summary.top1 == 75.0
    assert summary.auc == 1.0       # each class's true members score highest on its column


def test_anomaly_pseudo_accuracy_is_the_best_mean_of_precision_and_recall():
    # thresholds 1.00, 1.03, ..., 3.97: above 1 -> p 1/3 r 1/2; above 2 -> p 1/2 r 1/2; above 3 -> 0
    steps = [step(n, label, [score]) for n, label, score in
             [("a", 1, 1.0), ("b", 0, 2.0), ("c", 1, 3.0), ("d", 0, 4.0)]]
    summary = scoring.accuracy(steps, 2)
    assert summary.top1 == pytest.approx(50.0, abs=1e-5)
    assert summary.auc == 0.25     # one of the four (anomaly, normal) pairs is ordered right


def test_auc_is_reported_missing_when_one_class_only():
    summary = scoring.accuracy([step("a", 0, [0.9, 0.1]), step("b", 0, [0.8, 0.2])], 2)
    assert summary.top1 == 100.0 and summary.auc is None and summary.auc_problem


def test_median_throughput():
    steps = [step(str(i), 0, [1.0], elapsed=1_000_000, iterations=n)
             for i, n in enumerate([10, 30, 20, 50, 40])]
    assert scoring.median_throughput(steps) == 30.0
