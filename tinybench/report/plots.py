"""The report's plots (matplotlib, Agg backend): each function returns PNG bytes, or None when the
results hold nothing to plot."""
from __future__ import annotations

import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from tinybench.report import published  # noqa: E402
from tinybench.report.formats import ACCURACY_LABEL  # noqa: E402
from tinybench.report.results import SystemResults, benchmark_order  # noqa: E402

OUR_COLOURS = plt.get_cmap("tab10").colors
PUBLISHED_GREYS = ("#9e9e9e", "#c7b299", "#7f9fb5", "#b0b0b0")


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def _log_axis(ax, values: list[float]) -> None:
    """A log x axis from the decade below the smallest value to the decade above the largest
    (room for the labels), ticks labelled as plain numbers."""
    lo, hi = min(values), max(values)
    ax.set_xscale("log")
    ax.set_xlim(10 ** math.floor(math.log10(lo * 0.8)), 10 ** math.ceil(math.log10(hi * 2.5)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _grouped_bars(keys: list[str], series: list[tuple[str, dict, str, str]], xlabel: str,
                  title: str) -> bytes:
    """Horizontal bars on a log axis: one group per key, one bar per series
    (label, key -> value, colour, hatch). Bars read top-down in series order."""
    n = len(series)
    height = 0.8 / n
    fig, ax = plt.subplots(figsize=(9, 0.9 + 0.32 * n * len(keys) + 0.25 * len(keys)))
    everything = []
    for i, (label, values, colour, hatch) in enumerate(series):
        ys, xs = [], []
        for g, k in enumerate(keys):
            if values.get(k):
                ys.append(g + (i - (n - 1) / 2) * height)
                xs.append(values[k])
        bars = ax.barh(ys, xs, height=height * 0.92, color=colour, hatch=hatch, label=label,
                       edgecolor="white" if not hatch else "#555555", linewidth=0.5)
        for bar, x in zip(bars, xs):
            ax.annotate(_figure(x), (x, bar.get_y() + bar.get_height() / 2), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=7)
        everything += xs
    _log_axis(ax, everything)
    ax.set_yticks(range(len(keys)), keys)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=11)
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _png(fig)


def _ours(systems, keys, value):
    """One series per system that has a value for some key (colours stay with the system)."""
    series = []
    for i, s in enumerate(systems):
        values = {k: value(s.models[k]) for k in keys if k in s.models}
        if any(v is not None for v in values.values()):
            series.append((s.name, values, OUR_COLOURS[i % len(OUR_COLOURS)], ""))
    return series


def latency(systems: list[SystemResults]) -> bytes | None:
    keys = [k for k in benchmark_order(systems)
            if any(k in s.models and s.models[k].latency_ms for s in systems)]
    if not keys:
        return None
    series = _ours(systems, keys, lambda r: r.latency_ms)
    series += [(f"{p.stack} ({published.BOARD.split(' ')[0]})", p.latency_ms,
                PUBLISHED_GREYS[i % len(PUBLISHED_GREYS)], "//")
               for i, p in enumerate(published.PUBLISHED)]
    return _grouped_bars(keys, series, "latency per inference (ms, log scale)",
                         "Latency per benchmark beside the published reference-board results")


def energy(systems: list[SystemResults]) -> bytes | None:
    keys = [k for k in benchmark_order(systems)
            if any(k in s.models and s.models[k].energy_uj is not None for s in systems)]
    if not keys:
        return None
    series = _ours(systems, keys, lambda r: r.energy_uj)
    series += [(f"{p.stack} ({published.BOARD.split(' ')[0]})", p.energy_uj,
                PUBLISHED_GREYS[i % len(PUBLISHED_GREYS)], "//")
               for i, p in enumerate(x for x in published.PUBLISHED if x.energy_uj)]
    return _grouped_bars(keys, series, "energy per inference (uJ, log scale)",
                         "Energy per inference beside the published reference-board results")


def accuracy(systems: list[SystemResults]) -> bytes | None:
    keys = [k for k in benchmark_order(systems)
            if any(k in s.models and s.models[k].accuracy is not None for s in systems)]
    if not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(2.2 + 1.9 * len(keys), 3.4), squeeze=False)
    for ax, k in zip(axes[0], keys):
        results = [(i, s.models[k]) for i, s in enumerate(systems)
                   if k in s.models and s.models[k].accuracy is not None]
        bench = results[0][1].benchmark
        for pos, (i, r) in enumerate(results):
            colour = OUR_COLOURS[i % len(OUR_COLOURS)]
            below = r.meets_target is False
            ax.bar(pos, r.accuracy, color=colour, alpha=0.45 if below else 1.0,
                   hatch="xx" if below else "", edgecolor="red" if below else colour,
                   linewidth=1.5)
            ax.annotate(f"{r.accuracy:.3g}" + (" below" if below else ""), (pos, r.accuracy),
                        xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8,
                        color="red" if below else "black")
        if bench:
            top = 100.0 if bench.quality_metric == "top1" else 1.0
            ax.axhline(bench.quality_target, color="black", linestyle="--", linewidth=1)
            ax.set_ylim(0, top * 1.12)
            ax.set_title(f"{k} (target {bench.quality_target:g})", fontsize=10)
        else:
            ax.set_title(k, fontsize=10)
            ax.set_ylabel(ACCURACY_LABEL[bench.quality_metric])
        ax.set_xticks(range(len(results)), [systems[i].name for i, _ in results], rotation=30,
                      ha="right", fontsize=8)
        ax.set_xlim(-0.6, max(len(results), 1) - 0.4)
    fig.suptitle("Accuracy against the quality target (dashed)", fontsize=11)
    fig.tight_layout()
    return _png(fig)


def layers(system: str, model: str, result_layers) -> bytes:
    """One bar per layer, in execution order, coloured by operator."""
    opcodes = list(dict.fromkeys(x.opcode for x in result_layers))
    colour = {op: OUR_COLOURS[i % len(OUR_COLOURS)] for i, op in enumerate(opcodes)}
    total = sum(x.us for x in result_layers) or 1
    fig, ax = plt.subplots(figsize=(8, 1.0 + 0.22 * len(result_layers)))
    ys = range(len(result_layers))
    ax.barh(ys, [x.us for x in result_layers], color=[colour[x.opcode] for x in result_layers])
    ax.set_yticks(ys, [f"{x.index} {x.opcode}" for x in result_layers], fontsize=7)
    ax.invert_yaxis()
    for y, x in zip(ys, result_layers):
        ax.annotate(f"{x.us:,} us ({100 * x.us / total:.0f}%)", (x.us, y), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=6.5)
    ax.margins(x=0.2)
    ax.set_xlabel("time of the layer in the last inference (us)")
    ax.set_title(f"Per-layer time: {model} on {system} (total {total:,} us)", fontsize=10)
    ax.grid(axis="x", alpha=0.25)
    return _png(fig)


def hostbench(systems: list[SystemResults]) -> bytes | None:
    """Latency percentiles of every host scenario run that has them."""
    rows = [(f"{s.name} {r.model} {run.record.get('scenario')}", run.summary.percentiles_ms())
            for s in systems for r in s.models.values() for run in r.hostbench_runs()
            if run.summary and run.summary.percentiles_ms()]
    if not rows:
        return None
    keys = [label for label, _ in rows]
    series = [(p, {label: lat.get(p) for label, lat in rows}, OUR_COLOURS[i], "")
              for i, p in enumerate(("p50", "p90", "p99"))]
    return _grouped_bars(keys, series, "latency (ms, log scale, from LoadGen; multi-stream: per query)",
                         "Host scenario latency percentiles")

