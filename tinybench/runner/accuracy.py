"""Accuracy mode: every input of the eval set once (`infer 1 0`), ad01 window by window; then
top-1 and AUC as the official runner computes them."""
from __future__ import annotations

import os
from pathlib import Path

from tinybench.data import evalset
from tinybench.progress import progress_bar
from tinybench.runner import scoring
from tinybench.runner.context import RunContext
from tinybench.runner.output import results_prefix

FIRST_INFER_TIMEOUT = 30.0
"""Seconds the first `infer 1 0` may take before the DUT counts as silent (the official runner's
wait); later ones may take the answer timeout plus three times the slowest inference so far."""


def _segment_count(folder: Path, entry: evalset.EvalEntry, ctx: RunContext) -> int:
    if ctx.window_bytes is None:
        return 1
    size = os.path.getsize(Path(folder) / entry.file)
    window = entry.window_bytes or ctx.window_bytes
    stride = entry.stride_bytes or ctx.window_stride_bytes
    return max(0, (size - window) // stride + 1)


def run(ctx: RunContext, dataset: Path, entries: list[evalset.EvalEntry]) -> list[str]:
    """Run every step not yet in the journal; returns the results.txt lines."""
    done = {(s["file"], s.get("segment", 0)) for s in ctx.output.steps}
    total = sum(_segment_count(dataset, e, ctx) for e in entries)
    slowest = max((s["infer"]["elapsed_time"] / 1e6 for s in ctx.output.steps), default=None)
    with progress_bar(total=total, initial=len(done), desc=f"{ctx.name} accuracy",
                      unit="inf") as bar:
        ctx.bar = bar
        for entry in entries:
            if all((entry.file, k) in done for k in range(_segment_count(dataset, entry, ctx))):
                continue
            segments = ctx.segments(dataset, entry)
            for index, data in enumerate(segments):
                if (entry.file, index) in done:
                    continue

                timeout = FIRST_INFER_TIMEOUT if slowest is None else \
                    ctx.line_timeout + 3 * slowest

                def exchange(data=data, timeout=timeout):
                    ctx.client.load(data, ctx.chunk_bytes)
                    result = ctx.client.infer(1, 0, timeout)
                    ctx.check_results(result.results, "infer 1 0")
                    return result

                result = ctx.steps.run(f"{entry.file} (window {index})" if len(segments) > 1
                                       else entry.file, exchange)
                ctx.output.record(dict(ctx.truth(entry, len(segments)), segment=index,
                                       infer=result.as_dict(), mode="a"))
                slowest = max(slowest or 0.0, result.elapsed_time / 1e6)
                bar.update(1)
        ctx.bar = None
    return summary_lines(ctx)


def summary_lines(ctx: RunContext) -> list[str]:
    classes = ctx.num_classes
    if not ctx.output.steps:
        return [results_prefix() + "ERROR - no results"]
    result_values = len(ctx.output.steps[0]["infer"]["results"])
    if result_values != 1 and classes and result_values != classes:
        return [results_prefix() + f"No accuracy metric: the model gives {result_values} values "
                                   f"per input and the label file has {classes} classes"]
    summary = scoring.accuracy(ctx.output.steps, classes)
    prefix = results_prefix()
    lines = [prefix + f"Top 1% = {summary.top1:2.1f}"]
    if summary.auc is None:
        lines.append(prefix + f"AUC not available: {summary.auc_problem}")
    else:
        lines.append(prefix + f"AUC = {summary.auc:.3f}")
    ctx.summary.update(files=summary.files, top1=summary.top1, auc=summary.auc)
    return lines

