"""`tinybench compile`: .tflite -> C for the firmware, the compile report, and `--check`.

The stages: read the flatbuffer (tinybench.tflite), lower it to Steps (lower.py), plan the
activation arena (planner.py), write model.h / model.c (emit_c.py). `--check` builds the C on the
host with a small generated harness and compares it, layer by layer, with the numpy golden model
(golden.py) and the tflite-micro interpreter on random inputs.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinybench import benchmarks
from tinybench.compiler import emit_c, golden, planner
from tinybench.compiler.ir import Step
from tinybench.compiler.lower import int8_interface, lower
from tinybench.errors import UserError
from tinybench.tflite import Graph, read_graph

ENGINE_DIR = Path(__file__).resolve().parents[2] / "firmware" / "engine"
HOST_CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra"]
# The report's code size and stack figures come from the Cortex-M4 build when that compiler is
# installed (the reference board), else from the host compiler (and say so).
_CORTEX_M4 = ("arm-none-eabi-gcc", ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                                    "-mfpu=fpv4-sp-d16"], "arm-none-eabi-size", "Cortex-M4")
_HOST = ("gcc", [], "size", "host")


# ----------------------------------------------------------------------------------------------
# compile

@dataclass
class Compiled:
    graph: Graph                  # as compiled: int8 input and output (see lower.int8_interface)
    steps: list[Step]
    plan: planner.Plan
    out_dir: Path
    name: str
    benchmark_id: str
    float_interface: bool = False  # the .tflite's float32 QUANTIZE / DEQUANTIZE were left out
    report: dict = field(default_factory=dict)


def compile_model(model: str | Path, out_dir: str | Path, name: str | None = None,
                  measure: bool = True) -> Compiled:
    """Compile MODEL into out_dir/model.h + model.c (+ report.json, report.txt)."""
    model = Path(model)
    source = read_graph(model)
    graph = int8_interface(source)
    steps = lower(graph)
    plan = planner.plan(graph, steps)   # verified byte by byte before any C is written
    bench = benchmarks.match_model(graph.input.shape, graph.output.shape)
    benchmark_id = bench.id if bench else ""
    float_interface = graph is not source
    name = name or model.stem
    if not re.fullmatch(r"[\w.\-]+", name):
        raise UserError(f"--name {name!r}: use letters, digits, '_', '-' and '.' only")
    out_dir = Path(out_dir)
    emit_c.emit(graph, steps, plan, out_dir, name, benchmark_id, float_interface=float_interface)
    compiled = Compiled(graph, steps, plan, out_dir, name, benchmark_id,
                        float_interface=float_interface)
    compiled.report = build_report(compiled, measure=measure)
    (out_dir / "report.json").write_text(json.dumps(compiled.report, indent=2) + "\n")
    (out_dir / "report.txt").write_text(format_report(compiled.report))
    return compiled


# ----------------------------------------------------------------------------------------------
# report: MACs, flash (weights + code), RAM (arena + stack), per model and per layer

def _params_bytes(step: Step) -> int:
    """Bytes of the step's const params struct (4 per field) and the arrays it points to."""
    return 4 * len(step.params) + sum(v.nbytes for v in step.array_params().values())


def _compiler():
    for cc, flags, size, label in (_CORTEX_M4, _HOST):
        if shutil.which(cc) and shutil.which(size):
            return cc, flags, size, label
    return None


def measure_code(model_dir: Path, kernels: set[str]) -> dict | None:
    """Compile the engine and model.c to objects: .text of the engine files whose kernels the
    model uses plus tb_model_invoke, and a stack estimate (deepest kernel file + invoke frame)."""
    tool = _compiler()
    if tool is None:
        return None
    cc, flags, size_tool, label = tool
    with tempfile.TemporaryDirectory(prefix="tb-size-") as tmp:
        sources = sorted(ENGINE_DIR.glob("*.c")) + [Path(model_dir) / "model.c"]
        objects = []
        for src in sources:
            obj = Path(tmp) / (src.stem + ".o")
            cmd = [cc, *flags, "-std=c99", "-O2", "-fstack-usage", f"-I{ENGINE_DIR}",
                   f"-I{model_dir}", "-c", str(src), "-o", str(obj)]
            result = subprocess.run(cmd, capture_output=True, text=True)
            if result.returncode:
                return None
            objects.append((src, obj))
        code, stack, invoke_stack = 0, 0, 0
        for src, obj in objects:
            text = subprocess.run([size_tool, "-A", str(obj)], capture_output=True, text=True)
            sections = dict(re.findall(r"^(\.text\S*)\s+(\d+)", text.stdout, re.M))
            text_bytes = sum(int(v) for v in sections.values())
            usage = obj.with_suffix(".su")
            frames = {}
            if usage.exists():
                for line in usage.read_text().splitlines():
                    parts = line.split("\t")
                    frames[parts[0].rsplit(":", 1)[-1]] = int(parts[1])
            if src.name == "model.c":
                code += text_bytes
                invoke_stack = frames.get("tb_model_invoke", 0)
            elif any(f"tb_{k}" in frames for k in kernels):
                code += text_bytes
                stack = max(stack, sum(frames.values()))   # every function of the file nested
    return {"code_bytes": code, "stack_bytes": stack + invoke_stack, "compiler": label}


def build_report(c: Compiled, measure: bool = True) -> dict:
    graph, steps = c.graph, c.steps
    layers = []
    for i, s in enumerate(steps):
        weights = sum(graph.tensor(k).nbytes for k in s.constants if k >= 0)
        activations = sum(graph.tensor(t).nbytes for t in dict.fromkeys(s.inputs + s.outputs))
        layers.append({
            "layer": i, "operator": s.op_index, "op": s.opcode, "kernel": f"tb_{s.kernel}",
            "output_shape": list(graph.tensor(s.outputs[0]).shape), "macs": s.macs,
            "weight_bytes": weights, "param_bytes": _params_bytes(s),
            "activation_bytes": activations,
        })
    weight_bytes = sum(graph.tensor(k).nbytes for k in {k for s in steps for k in s.constants
                                                         if k >= 0})
    param_bytes = sum(_params_bytes(s) for s in steps)
    measured = measure_code(c.out_dir, {s.kernel for s in steps}) if measure else None
    report = {
        "name": c.name, "benchmark": c.benchmark_id, "layers_count": len(steps),
        "macs": sum(s.macs for s in steps),
        "weight_bytes": weight_bytes, "param_bytes": param_bytes,
        "arena_bytes": int(c.plan.arena_bytes),
        "scratch_bytes": max((s.scratch_bytes for s in steps), default=0),
        "float_interface_dropped": c.float_interface,
        "code_bytes": measured["code_bytes"] if measured else None,
        "stack_bytes": measured["stack_bytes"] if measured else None,
        "measured_with": measured["compiler"] if measured else None,
        "layers": layers,
    }
    report["flash_bytes"] = (weight_bytes + param_bytes + (report["code_bytes"] or 0))
    report["peak_ram_bytes"] = (report["arena_bytes"] + report["scratch_bytes"]
                                + (report["stack_bytes"] or 0))
    return report


def format_report(r: dict) -> str:
    unknown = "n/a (no C compiler found)"
    code = f"{r['code_bytes']:,} B code ({r['measured_with']} build)" if r["code_bytes"] \
        is not None else f"code {unknown}"
    stack = f"{r['stack_bytes']:,} B stack estimate" if r["stack_bytes"] is not None \
        else f"stack {unknown}"
    lines = [
        f"model        {r['name']}" + (f"  (benchmark {r['benchmark']})" if r["benchmark"] else ""),
        f"layers       {r['layers_count']}",
        f"MACs         {r['macs']:,}",
        f"flash        {r['flash_bytes']:,} B = {r['weight_bytes']:,} B weights + "
        f"{r['param_bytes']:,} B layer parameters + {code}",
        f"peak RAM     {r['peak_ram_bytes']:,} B = {r['arena_bytes']:,} B activation arena + "
        f"{r['scratch_bytes']:,} B kernel scratch + {stack}",
        *(["interface    the model's float32 QUANTIZE / DEQUANTIZE are left to the caller: "
           "tb_model_invoke takes and returns int8 (TB_INPUT_SCALE, TB_OUTPUT_SCALE)"]
          if r["float_interface_dropped"] else []),
        "",
        f"{'#':>3}  {'op':<18} {'operator':>8}  {'output':<16} {'MACs':>11} {'weights B':>10} "
        f"{'params B':>9} {'act. B':>8}",
    ]
    for layer in r["layers"]:
        shape = "x".join(str(d) for d in layer["output_shape"])
        lines.append(f"{layer['layer']:>3}  {layer['op']:<18} {layer['operator']:>8}  {shape:<16} "
                     f"{layer['macs']:>11,} {layer['weight_bytes']:>10,} "
                     f"{layer['param_bytes']:>9,} {layer['activation_bytes']:>8,}")
    lines.append("")
    lines.append("act. B: bytes of the layer's input and output activations")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------
# host build: the generated C plus a small harness, for --check, the tests and bench/

HARNESS = r"""/* Host harness for a compiled tinybench model (generated by tinybench compile --check).
 *   harness run INPUTS OUTPUTS [LAYERS]  each TB_INPUT_SIZE bytes of INPUTS -> TB_OUTPUT_SIZE
 *                                        bytes of OUTPUTS (and every layer output to LAYERS)
 *   harness bench COUNT                  prints CPU nanoseconds per inference (CPU time, so
 *                                        that other processes on the machine count less)
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

static FILE *layer_file;

#ifdef TB_LAYER_HOOK
void tb_layer_hook(int32_t layer, const void *output, int32_t output_bytes)
{
    (void)layer;
    if (layer_file) {
        fwrite(output, 1, (size_t)output_bytes, layer_file);
    }
}
#endif

static int run(const char *inputs_path, const char *outputs_path, const char *layers_path)
{
    static int8_t input[TB_INPUT_SIZE], output[TB_OUTPUT_SIZE];
    FILE *in = fopen(inputs_path, "rb"), *out = fopen(outputs_path, "wb");
    if (!in || !out) {
        fprintf(stderr, "cannot open %s or %s\n", inputs_path, outputs_path);
        return 2;
    }
    if (layers_path) {
        layer_file = fopen(layers_path, "wb");
        if (!layer_file) {
            fprintf(stderr, "cannot open %s\n", layers_path);
            return 2;
        }
    }
    while (fread(input, 1, TB_INPUT_SIZE, in) == TB_INPUT_SIZE) {
        tb_model_invoke(input, output);
        fwrite(output, 1, TB_OUTPUT_SIZE, out);
    }
    fclose(in);
    if (fclose(out) != 0 || (layer_file && fclose(layer_file) != 0)) {
        return 2;
    }
    return 0;
}

static int bench(long count)
{
    static int8_t input[TB_INPUT_SIZE], output[TB_OUTPUT_SIZE];
    struct timespec t0, t1;
    unsigned state = 12345u;
    long i;
    int checksum = 0;
    for (i = 0; i < TB_INPUT_SIZE; ++i) {
        state = state * 1103515245u + 12345u;
        input[i] = (int8_t)(state >> 24);
    }
    tb_model_invoke(input, output);   /* warm the caches */
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    for (i = 0; i < count; ++i) {
        tb_model_invoke(input, output);
        checksum += output[0];
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    printf("%.1f %d\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / count,
           checksum);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "run") == 0) {
        return run(argv[2], argv[3], argc >= 5 ? argv[4] : NULL);
    }
    if (argc == 3 && strcmp(argv[1], "bench") == 0) {
        return bench(atol(argv[2]));
    }
    fprintf(stderr, "usage: %s run INPUTS OUTPUTS [LAYERS] | bench COUNT\n", argv[0]);
    return 2;
}
"""


def build_host(model_dir: str | Path, exe: str | Path, layer_hook: bool = False,
               cc: str = "gcc", extra_flags: list[str] | None = None) -> Path:
    """Compile model_dir/model.c + the engine + the harness into a host executable."""
    if not ENGINE_DIR.is_dir():
        raise UserError(f"the engine sources are missing ({ENGINE_DIR}); run from a tinybench "
                        f"checkout")
    if not shutil.which(cc):
        raise UserError(f"{cc} not found: the host build needs a C compiler (apt-get install gcc)")
    model_dir, exe = Path(model_dir), Path(exe)
    with tempfile.TemporaryDirectory(prefix="tb-harness-") as tmp:
        # the harness stays out of model_dir: the firmware build compiles every .c found there
        harness = Path(tmp) / "harness.c"
        harness.write_text(HARNESS)
        cmd = [cc, *HOST_CFLAGS, *(extra_flags or []), f"-I{ENGINE_DIR}", f"-I{model_dir}",
               *(["-DTB_LAYER_HOOK"] if layer_hook else []),
               *[str(p) for p in sorted(ENGINE_DIR.glob("*.c"))], str(model_dir / "model.c"),
               str(harness), "-o", str(exe)]
        result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise UserError(f"the host build failed:\n{result.stderr.strip()}")
    return exe


def run_host(exe: Path, graph: Graph, inputs: np.ndarray, layers: bool = False):
    """Run N inputs ([N, input size] int8) through the host build: outputs [N, output size], and
    with layers=True also the raw bytes of every layer output, per input."""
    inputs = np.ascontiguousarray(np.asarray(inputs, dtype=np.int8).reshape(len(inputs), -1))
    with tempfile.TemporaryDirectory(prefix="tb-run-") as tmp:
        tmp = Path(tmp)
        (tmp / "in.bin").write_bytes(inputs.tobytes())
        args = [str(exe), "run", str(tmp / "in.bin"), str(tmp / "out.bin")]
        if layers:
            args.append(str(tmp / "layers.bin"))
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode:
            raise UserError(f"the host build of the model failed to run: {result.stderr.strip()}")
        outputs = np.frombuffer((tmp / "out.bin").read_bytes(), dtype=np.int8)
        outputs = outputs.reshape(len(inputs), graph.output.size)
        if not layers:
            return outputs
        return outputs, (tmp / "layers.bin").read_bytes()


def split_layers(graph: Graph, steps: list[Step], raw: bytes, count: int) -> list[dict]:
    """The layer dump of `count` inputs -> per input {tensor index: array}."""
    result, pos = [], 0
    for _ in range(count):
        values = {}
        for s in steps:
            t = graph.tensor(s.outputs[0])
            values[t.index] = np.frombuffer(raw[pos:pos + t.nbytes], dtype=t.dtype).reshape(t.shape)
            pos += t.nbytes
        result.append(values)
    if pos != len(raw):
        raise UserError("the host build wrote an unexpected amount of layer data")
    return result


# ----------------------------------------------------------------------------------------------
# --check: C vs golden vs tflite-micro, layer by layer

@dataclass
class LayerCheck:
    layer: int
    step: Step
    status: str            # "ok" or a description of the disagreement


def _difference(a: np.ndarray, b: np.ndarray) -> str:
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64)).reshape(-1)
    return f"{np.count_nonzero(diff)} of {diff.size} values differ, by up to {diff.max():g}"


def tflm_input(model_input, graph: Graph, x: np.ndarray) -> np.ndarray:
    """The int8 input as the .tflite takes it: a float32 interface gets values that its QUANTIZE
    turns back into exactly x."""
    if np.dtype(model_input.dtype) != np.float32:
        return x
    t = graph.input
    return ((x.astype(np.float32) - np.float32(t.zero_point[0])) * np.float32(t.scale[0]))


def tflm_layers(model: Path, graph: Graph, steps: list[Step], inputs: np.ndarray) -> list[dict]:
    """tflite-micro's value of every step output, per input."""
    from tinybench import tflm
    interp = tflm.interpreter(model, preserve_all_tensors=True)
    source_input = read_graph(model).input
    result = []
    for x in inputs:
        tflm.run(model, tflm_input(source_input, graph, x), interp)
        values = {}
        for s in steps:
            t = graph.tensor(s.outputs[0])
            data = interp.GetTensor(t.index, 0)["tensor_data"]
            values[t.index] = np.array(data).reshape(t.shape)
        result.append(values)
    return result


@dataclass
class CheckResult:
    layers: list[LayerCheck]      # per layer up to and including the first disagreement
    layer_count: int
    inputs: int
    outputs_equal: bool           # final C outputs equal tflite-micro's, byte for byte

    @property
    def ok(self) -> bool:
        return (self.outputs_equal and len(self.layers) == self.layer_count
                and all(c.status == "ok" for c in self.layers))

    def format(self) -> str:
        lines = [f"{'#':>3}  {'op':<18} {'operator':>8}  result"]
        for c in self.layers:
            lines.append(f"{c.layer:>3}  {c.step.opcode:<18} {c.step.op_index:>8}  {c.status}")
        verdict = ("C, numpy golden and tflite-micro agree on every layer; outputs equal byte for "
                   "byte" if self.ok else "DISAGREEMENT: the first one is shown above")
        lines.append(f"{self.inputs} random inputs, {self.layer_count} layers: {verdict}")
        return "\n".join(lines) + "\n"


def check(model: str | Path, count: int = 3, seed: int = 0,
          compiled: Compiled | None = None) -> CheckResult:
    """Run `count` random inputs through the host build of the compiled C (MODEL compiled into a
    temporary folder unless `compiled` is given), the golden model and tflite-micro; per layer
    "ok" up to the first disagreement."""
    model = Path(model)
    with tempfile.TemporaryDirectory(prefix="tb-check-") as tmp:
        if compiled is None:
            compiled = compile_model(model, Path(tmp) / "model", measure=False)
        graph, steps = compiled.graph, compiled.steps
        exe = build_host(compiled.out_dir, Path(tmp) / "harness", layer_hook=True)
        rng = np.random.default_rng(seed)
        inputs = rng.integers(-128, 128, size=(count, graph.input.size), dtype=np.int8)
        outputs, raw = run_host(exe, graph, inputs, layers=True)
        c_layers = split_layers(graph, steps, raw, count)
    gold_layers = [golden.run(graph, steps, x) for x in inputs]
    ref_layers = tflm_layers(model, graph, steps, inputs)

    checks = []
    for i, s in enumerate(steps):
        t = s.outputs[0]
        status = "ok"
        for n in range(count):
            c, g, r = c_layers[n][t], gold_layers[n][t], ref_layers[n][t]
            pairs = [("C", c, "tflite-micro", r), ("golden", g, "tflite-micro", r),
                     ("C", c, "golden", g)]
            bad = [f"{a} vs {b}: {_difference(x, y)}" for a, x, b, y in pairs
                   if not np.array_equal(x, y)]
            if bad:
                status = f"input {n}: " + "; ".join(bad)
                break
        checks.append(LayerCheck(i, s, status))
        if status != "ok":
            break
    reference = np.stack([r[graph.outputs[0]].reshape(-1) for r in ref_layers])
    return CheckResult(checks, len(steps), count, bool(np.array_equal(outputs, reference)))
