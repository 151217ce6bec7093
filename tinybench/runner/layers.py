"""Layers mode: the time of each layer of one inference, from a DUT whose firmware was built with
the per-layer hook (`layers%`, docs/protocol-extensions.md). It is a separate run, with its own
firmware build, so that the hook never slows down a performance or accuracy run."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from tinybench.data import evalset
from tinybench.dut.protocol import DutRefused
from tinybench.errors import UserError
from tinybench.report.layers import Layer, collect, format_layer_line
from tinybench.runner.context import RunContext


def run(ctx: RunContext, dataset: Path, entries: list[evalset.EvalEntry]) -> list[str]:
    """One inference on the first eval input, then the DUT's per-layer times."""
    if ctx.output.steps:   # resumed after the layers were written: nothing left to do
        layers = ctx.output.steps[-1]["layers"]
        return [format_layer_line(Layer(**layer)) for layer in layers]
    entry = entries[0]
    data = ctx.segments(dataset, entry)[0]

    def exchange():
        ctx.client.load(data, ctx.chunk_bytes)
        result = ctx.client.infer(1, 0)
        ctx.check_results(result.results, "infer 1 0")
        try:
            return collect(ctx.client)
        except DutRefused:
            raise UserError("the DUT does not time its layers: build its firmware with "
                            "CFLAGS=-DTB_LAYER_HOOK (tinybench run --mode layers --emulate ... "
                            "does it for an emulated board)") from None
    layers, _ = ctx.steps.run("layers", exchange)
    ctx.output.record(dict(ctx.truth(entry, 1), layers=[asdict(x) for x in layers], mode="layers"))
    ctx.summary.update(layers=len(layers), total_us=sum(x.us for x in layers))
    return [format_layer_line(x) for x in layers]

