"""Performance mode, by the run rules: 5 windows on the first 5 inputs (ad01: their first window),
each `infer N W` lasting at least 10 s and 10 inferences. N comes from a calibration inference
unless given; the result is the median throughput (and latency = 1000 / median, in ms).

A shorter window may be asked for by name (--short-window, for tests and quick looks); the results
then say that they are not valid for submission, and carry no line the submission checker accepts.
"""
from __future__ import annotations

import math
import statistics
from pathlib import Path

from tinybench.benchmarks import MIN_WINDOW_INFERENCES, MIN_WINDOW_SECONDS, PERFORMANCE_WINDOWS
from tinybench.data import evalset
from tinybench.progress import progress_bar
from tinybench.runner import scoring
from tinybench.runner.context import RunContext
from tinybench.runner.output import results_prefix

DEFAULT_WARMUPS = 10
"""Warmups for a model that is none of the four (the reference firmware's default)."""
WINDOW_MARGIN = 1.2          # aim this far above the minimum window length
WINDOW_REPEATS = 2           # times a window that came out too short is run again, longer
CALIBRATION_MIN_US = 2000    # calibrate on at least this much DUT time, for timer resolution
CALIBRATION_TIMEOUT = 60.0


def window_inputs(ctx: RunContext, dataset: Path, entries: list[evalset.EvalEntry]):
    """(entry, bytes) of the windows' inputs: consecutive files from the first, as the official
    test scripts use them."""
    chosen = [entries[k % len(entries)] for k in range(PERFORMANCE_WINDOWS)]
    return [(entry, ctx.segments(dataset, entry)[0]) for entry in chosen]


def calibration_run(ctx: RunContext, measure, enough: float) -> tuple[int, float]:
    """(count, elapsed) of the first measure(count), for count = 1, 10, 100 ..., whose elapsed
    time reaches `enough` (so that the clock's resolution does not matter)."""
    count = 1
    while True:
        elapsed = ctx.steps.run("calibration", lambda: measure(count))
        if elapsed >= enough or count >= 10**6:
            return count, elapsed
        count *= 10


def calibrate(ctx: RunContext, data: bytes, warmups: int) -> float:
    """Seconds per inference, measured on the DUT's own clock."""
    def measure(count):
        ctx.client.load(data, ctx.chunk_bytes)
        result = ctx.client.infer(count, warmups, CALIBRATION_TIMEOUT)
        ctx.check_results(result.results, f"infer {count} {warmups}")
        return result.elapsed_time

    count, elapsed = calibration_run(ctx, measure, CALIBRATION_MIN_US)
    seconds = max(elapsed, 1) / 1e6 / count
    ctx.output.log(f"calibration: {count} inference(s) in {elapsed} us, {seconds * 1e3:.4f} ms each")
    return seconds


def run(ctx: RunContext, dataset: Path, entries: list[evalset.EvalEntry],
        iterations: int | None = None, short_window: float | None = None) -> list[str]:
    window_seconds = short_window if short_window is not None else MIN_WINDOW_SECONDS
    warmups = ctx.bench.performance.warmups if ctx.bench else DEFAULT_WARMUPS
    inputs = window_inputs(ctx, dataset, entries)
    done = {s["window"] for s in ctx.output.steps}
    if len(done) < PERFORMANCE_WINDOWS:
        per_inference = calibrate(ctx, inputs[0][1], warmups)
        count = first_count(ctx, iterations, window_seconds, per_inference)
        with progress_bar(total=PERFORMANCE_WINDOWS, initial=len(done),
                          desc=f"{ctx.name} performance", unit="window") as bar:
            ctx.bar = bar
            for window in range(1, PERFORMANCE_WINDOWS + 1):
                if window in done:
                    continue
                entry, data = inputs[window - 1]

                def measure(count, per_inference):
                    result = _window(ctx, window, data, count, warmups, per_inference)
                    return result, result.elapsed_time / 1e6
                result, count, per_inference = long_enough_window(
                    ctx, window, measure, count, per_inference, window_seconds,
                    fixed_count=iterations is not None)
                ctx.output.record(dict(ctx.truth(entry, 1), window=window,
                                       infer=result.as_dict(), mode="p"))
                bar.update(1)
            ctx.bar = None
    return summary_lines(ctx, window_seconds, short_window is not None)


def first_count(ctx: RunContext, iterations: int | None, window_seconds: float,
                per_inference: float) -> int:
    """Inferences per window: as asked, else those of the windows already run (resuming), else
    enough for the window length."""
    if iterations is not None:
        return iterations
    if ctx.output.steps:
        return ctx.output.steps[-1]["infer"]["iterations"]
    return max(MIN_WINDOW_INFERENCES, math.ceil(window_seconds * WINDOW_MARGIN / per_inference))


def long_enough_window(ctx: RunContext, window: int, measure, count: int, per_inference: float,
                       window_seconds: float, fixed_count: bool):
    """Run one window by measure(count, per_inference) -> (result, seconds); one that lasted less
    than window_seconds is run again with more inferences (up to WINDOW_REPEATS times) unless the
    count was asked for. Returns (result, count, per_inference), the last two for the next
    windows."""
    for repeat in range(WINDOW_REPEATS + 1):
        result, seconds = measure(count, per_inference)
        if seconds >= window_seconds or fixed_count or repeat == WINDOW_REPEATS:
            return result, count, per_inference
        longer = math.ceil(count * window_seconds * WINDOW_MARGIN / max(seconds, 1e-6))
        ctx.warn(f"window {window} lasted {seconds:.3f} s, less than "
                 f"{window_seconds:g} s: running it again with {longer} inferences")
        count, per_inference = longer, max(seconds, 1e-6) / count


def window_timeout(ctx: RunContext, count: int, warmups: int, per_inference: float) -> float:
    """Seconds to wait for the answer to `infer count warmups`: three times the calibrated time,
    plus room for the serial line."""
    return (count + warmups) * per_inference * 3 + ctx.line_timeout + 10


def _window(ctx, window, data, count, warmups, per_inference):
    text = f"infer {count} {warmups}"
    timeout = window_timeout(ctx, count, warmups, per_inference)

    def exchange():
        ctx.client.load(data, ctx.chunk_bytes)
        result = ctx.client.infer(count, warmups, timeout)
        ctx.check_results(result.results, text)
        return result
    return ctx.steps.run(f"performance window {window}", exchange)


def _meets_rules(step: dict) -> bool:
    infer = step["infer"]
    return (infer["elapsed_time"] / 1e6 >= MIN_WINDOW_SECONDS
            and infer["iterations"] >= MIN_WINDOW_INFERENCES)


def summary_lines(ctx: RunContext, window_seconds: float, short: bool) -> list[str]:
    steps = sorted(ctx.output.steps, key=lambda s: s["window"])
    prefix = results_prefix()
    lines = []
    for step in steps:
        infer = step["infer"]
        lines += [prefix + f"Performance results for window {step['window']}:",
                  prefix + f"  # Inferences : {infer['iterations']:>13}",
                  prefix + f"  Runtime      : {infer['elapsed_time'] / 1e6:>10.3f} sec.",
                  prefix + f"  Throughput   : {scoring.throughput(step):>10.3f} inf./sec."]
        if _meets_rules(step):
            lines.append(prefix + "  Runtime requirements have been met.")
    median = scoring.median_throughput(steps)
    latency = 1000.0 / median if median else float("inf")
    problems = []
    if short:
        problems.append(f"windows of {window_seconds:g} s were asked for (--short-window)")
    if len(steps) != PERFORMANCE_WINDOWS:
        problems.append(f"{len(steps)} windows instead of {PERFORMANCE_WINDOWS}")
    if not all(_meets_rules(s) for s in steps):
        problems.append(f"the rules require every window to last at least {MIN_WINDOW_SECONDS:g} s "
                        f"and {MIN_WINDOW_INFERENCES} inferences")
    lines += _instruction_lines(ctx, steps, prefix)
    lines.append(prefix + "---------------------------------------------------------")
    if problems:
        lines += [prefix + "ERROR - not valid for submission: " + "; ".join(problems),
                  prefix + f"Median throughput of these windows: {median:.3f} inf./sec. "
                           f"(latency {latency:.3f} ms)"]
    else:
        lines += [prefix + f"Median throughput is {median:>10.3f} inf./sec.",
                  prefix + f"Median latency is {latency:>10.3f} ms."]
    lines.append(prefix + "---------------------------------------------------------")
    ctx.summary.update(median_throughput=median, latency_ms=latency, windows=len(steps),
                       valid_for_submission=not problems)
    return lines


def _instruction_lines(ctx: RunContext, steps: list[dict], prefix: str) -> list[str]:
    """On an emulated Cortex-M under QEMU's instruction counting, the DUT's microseconds count
    instructions: report them per inference (instructions, not cycles) with MACs per instruction."""
    if not ctx.instructions_per_us or not steps:
        return []
    per_inference = statistics.median(
        s["infer"]["elapsed_time"] * ctx.instructions_per_us / s["infer"]["iterations"]
        for s in steps)
    ctx.summary["instructions_per_inference"] = per_inference
    lines = [prefix + f"Median instructions per inference: {per_inference:,.0f} "
                      f"(emulated clock, {ctx.instructions_per_us:g} instructions per us)"]
    if ctx.model_macs:
        ctx.summary["macs_per_instruction"] = ctx.model_macs / per_inference
        lines.append(prefix + f"MACs per instruction: {ctx.model_macs / per_inference:.3f} "
                              f"({ctx.model_macs:,} MACs per inference)")
    return lines
