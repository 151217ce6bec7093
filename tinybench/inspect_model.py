"""`tinybench inspect`: what is in an int8 .tflite model."""
from __future__ import annotations

from pathlib import Path

from tinybench import benchmarks, tflm
from tinybench.errors import UserError
from tinybench.tflite import Graph, macs_of, op_counts, parameter_count, read_graph, total_macs


def summarize(path: str | Path) -> dict:
    """Everything `inspect` reports, as plain data (also the --json output). tflm_arena_bytes is
    None, with the reason in tflm_error, for models tflite-micro cannot load (e.g. hybrid
    float/int8 models such as the official kws01_float32.tflite)."""
    graph = read_graph(path)
    try:
        arena, arena_error = tflm.arena_bytes(path), None
    except UserError as exc:
        arena, arena_error = None, str(exc)
    bench = benchmarks.match_model(graph.input.shape, graph.output.shape)
    layers = []
    for op in graph.operators:
        layers.append(dict(
            index=op.index, op=op.opcode,
            inputs=[_tensor_info(graph, t) for t in op.inputs if t >= 0],
            outputs=[_tensor_info(graph, t) for t in op.outputs],
            options=op.options, macs=macs_of(graph, op)))
    return dict(
        file=str(path),
        size_bytes=Path(path).stat().st_size,
        benchmark=bench.id if bench else None,
        input=_tensor_info(graph, graph.inputs[0]),
        output=_tensor_info(graph, graph.outputs[0]),
        ops=op_counts(graph),
        macs=total_macs(graph),
        parameters=parameter_count(graph),
        tflm_arena_bytes=arena,
        tflm_error=arena_error,
        layers=layers,
    )


def _tensor_info(graph: Graph, index: int) -> dict:
    t = graph.tensor(index)
    info = dict(index=t.index, name=t.name, shape=list(t.shape), dtype=t.dtype.name,
                constant=t.is_constant)
    if t.scale is not None:
        if t.per_channel:
            info["quantization"] = dict(per_channel=len(t.scale), axis=t.quantized_dimension)
        else:
            info["quantization"] = dict(scale=float(t.scale[0]), zero_point=int(t.zero_point[0]))
    return info


def _quant_text(info: dict) -> str:
    q = info.get("quantization")
    if not q:
        return "not quantized"
    if "per_channel" in q:
        return f"per-channel, {q['per_channel']} scales on axis {q['axis']}"
    return f"scale {q['scale']:.7g}, zero point {q['zero_point']}"


def format_text(s: dict) -> str:
    lines = [
        f"model        {s['file']} ({s['size_bytes']:,} bytes)",
        f"benchmark    {s['benchmark'] or 'none of the four (open division)'}",
        f"input        {s['input']['dtype']} {s['input']['shape']}  {_quant_text(s['input'])}",
        f"output       {s['output']['dtype']} {s['output']['shape']}  {_quant_text(s['output'])}",
        "ops          " + ", ".join(f"{k} x{v}" for k, v in s["ops"].items()),
        f"MACs         {s['macs']:,}",
        f"parameters   {s['parameters']:,}",
        (f"TFLM arena   {s['tflm_arena_bytes']:,} bytes (tflite-micro, reference kernels, this host)"
         if s["tflm_arena_bytes"] is not None else f"TFLM arena   not available: {s['tflm_error']}"),
        "",
        f"{'#':>3}  {'op':<20} {'output':<18} {'weights':<18} {'MACs':>12}",
    ]
    for layer in s["layers"]:
        out = "x".join(map(str, layer["outputs"][0]["shape"]))
        consts = [i for i in layer["inputs"] if i["constant"] and len(i["shape"]) > 1]
        weights = "x".join(map(str, consts[0]["shape"])) if consts else ""
        lines.append(f"{layer['index']:>3}  {layer['op']:<20} {out:<18} {weights:<18} "
                     f"{layer['macs']:>12,}")
    return "\n".join(lines)
