"""Scores computed the way the official MLPerf Tiny runner computes them (SPEC section 2.7).

Accuracy: per step, a result of more than one value is normalised to sum 1 (only when the values
are scores: none negative, sum positive, as the outputs of the four benchmarks always are; the raw
outputs of other models are kept); the steps of one file (the ad01 windows) are averaged. Top-1 is the share of files whose averaged vector's argmax is the
label. AUC is sklearn's roc_auc_score: on column 1 for two classes, one-vs-rest macro for more,
and on the score itself for ad01, whose "Top 1%" is the runner's precision/recall pseudo-accuracy.
Performance: throughput per window = iterations / seconds; the result is the median.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class AccuracySummary:
    files: int
    top1: float | None            # percent
    auc: float | None
    auc_problem: str | None = None   # why there is no AUC (for example one class only)


def per_file(steps: list[dict]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(file names, labels, averaged result vectors), files in the order they first appear."""
    grouped: dict[str, list] = {}
    labels: dict[str, int] = {}
    for step in steps:
        values = np.asarray(step["infer"]["results"], dtype=np.float64)
        if values.size > 1 and values.min() >= 0 and values.sum() > 0:
            values = values / values.sum()
        grouped.setdefault(step["file"], []).append(values)
        labels[step["file"]] = int(step["class"])
    names = list(grouped)
    vectors = np.array([np.mean(grouped[n], axis=0) for n in names])
    return names, np.array([labels[n] for n in names]), vectors


def anomaly_pseudo_accuracy(scores: np.ndarray, labels: np.ndarray) -> float:
    """The official runner's ad01 "Top 1%": over 100 thresholds from the lowest score upward in
    steps of 1% of the score range, the best 100 * (precision + recall) / 2, where a score above the
    threshold predicts an anomaly (label 1)."""
    low, high = float(np.min(scores)), float(np.max(scores))
    best = 0.0
    for threshold in low + np.arange(0.0, 1.0, 0.01) * (high - low):
        predicted = scores > threshold
        tp = np.sum(predicted & (labels == 1))
        fp = np.sum(predicted & (labels == 0))
        fn = np.sum(~predicted & (labels == 1))
        precision = tp / (tp + fp + 1e-8)
        recall = tp / (tp + fn + 1e-8)
        best = max(best, 100.0 * (precision + recall) / 2)
    return best


def accuracy(steps: list[dict], num_classes: int) -> AccuracySummary:
    from sklearn.metrics import roc_auc_score

    _, labels, vectors = per_file(steps)
    if vectors.ndim != 2 or vectors.shape[0] == 0:
        return AccuracySummary(0, None, None, "no results")
    single_score = vectors.shape[1] == 1
    if single_score:
        top1 = anomaly_pseudo_accuracy(vectors[:, 0], labels)
    else:
        top1 = 100.0 * float(np.mean(np.argmax(vectors, axis=1) == labels))
    if len(set(labels.tolist())) < 2:
        return AccuracySummary(len(labels), top1, None, "the labels hold a single class")
    try:
        if single_score:
            auc = roc_auc_score(labels, vectors[:, 0])
        elif vectors.shape[1] == 2:
            auc = roc_auc_score(labels, vectors[:, 1])
        else:
            auc = roc_auc_score(labels, vectors, multi_class="ovr",
                                labels=list(range(max(num_classes, vectors.shape[1]))))
    except ValueError as exc:   # e.g. a class that never occurs in the labels
        return AccuracySummary(len(labels), top1, None, str(exc))
    if not np.isfinite(auc):
        return AccuracySummary(len(labels), top1, None, "undefined for these labels")
    return AccuracySummary(len(labels), top1, float(auc))


def throughput(step: dict) -> float:
    infer = step["infer"]
    return infer["iterations"] / (infer["elapsed_time"] / 1e6) if infer["elapsed_time"] else 0.0


def median_throughput(steps: list[dict]) -> float:
    return float(np.median([throughput(s) for s in steps]))
