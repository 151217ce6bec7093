"""The four official MLPerf Tiny int8 models, compiled to C: 200 random inputs each give outputs equal
to tflite-micro's byte for byte; C, the numpy golden model and tflite-micro agree on every layer; the
generated header describes the model as the benchmark registry does."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tinybench import benchmarks, tflm
from tinybench.compiler import compile as compiler
from tinybench.tflite import read_graph, total_macs

BENCH_IDS = list(benchmarks.BENCHMARKS)
RANDOM_INPUTS = 200


@pytest.fixture(scope="module")
def built(tmp_path_factory, official_model):
    """built(bench_id) -> (model path, Compiled, host executable), compiled once per module."""
    cache = {}

    def get(bench_id):
        if bench_id not in cache:
            model = official_model(bench_id)
            work = tmp_path_factory.mktemp(bench_id)
            compiled = compiler.compile_model(model, work / "model")
            exe = compiler.build_host(compiled.out_dir, work / "harness")
            cache[bench_id] = (model, compiled, exe)
        return cache[bench_id]
    return get


@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_outputs_equal_tflite_micro_on_random_inputs(built, bench_id):
    model, compiled, exe = built(bench_id)
    rng = np.random.default_rng(sum(map(ord, bench_id)))
    inputs = rng.integers(-128, 128, size=(RANDOM_INPUTS, compiled.graph.input.size),
                          dtype=np.int8)
    outputs = compiler.run_host(exe, compiled.graph, inputs)
    interp = tflm.interpreter(model)
    expected = np.stack([tflm.run(model, x, interp).reshape(-1) for x in inputs])
    mismatched = np.flatnonzero((outputs != expected).any(axis=1))
    assert mismatched.size == 0, f"{mismatched.size} of {RANDOM_INPUTS} inputs differ, " \
                                 f"first at input {mismatched[:1]}"
    # random inputs must exercise the model: not every input may give the same output
    assert len({o.tobytes() for o in outputs}) > 1


@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_every_layer_agrees_with_golden_and_tflite_micro(built, bench_id):
    model, compiled, _ = built(bench_id)
    result = compiler.check(model, count=2, seed=5, compiled=compiled)
    assert result.ok, result.format()


HEADER_PROBE = r"""
#include <stdio.h>
#include "model.h"
static const int input_shape[] = TB_INPUT_SHAPE;
static const int output_shape[] = TB_OUTPUT_SHAPE;
int main(void)
{
    int i;
    printf("%s|%s|%d|%d|%.9g|%d|%.9g|%d|%d|%d|", TB_MODEL_NAME, TB_MODEL_BENCHMARK,
           TB_INPUT_SIZE, TB_OUTPUT_SIZE, (double)TB_INPUT_SCALE, TB_INPUT_ZERO_POINT,
           (double)TB_OUTPUT_SCALE, TB_OUTPUT_ZERO_POINT, TB_ARENA_BYTES, TB_LAYER_COUNT);
    for (i = 0; i < TB_INPUT_RANK; ++i) printf("%d,", input_shape[i]);
    printf("|");
    for (i = 0; i < TB_OUTPUT_RANK; ++i) printf("%d,", output_shape[i]);
    printf("\n");
    return 0;
}
"""


@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_header_describes_the_model_as_the_registry_does(built, tmp_path, bench_id):
    model, compiled, _ = built(bench_id)
    probe = tmp_path / "probe.c"
    probe.write_text(HEADER_PROBE)
    exe = tmp_path / "probe"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", f"-I{compiled.out_dir}", str(probe),
                    "-o", str(exe)], check=True)
    fields = subprocess.run([str(exe)], capture_output=True, text=True,
                            check=True).stdout.strip().split("|")
    bench = benchmarks.get(bench_id)
    graph = read_graph(model)
    assert fields[0] == bench_id                      # --name defaults to the file stem
    assert fields[1] == bench_id                      # matched by shape in the registry
    assert int(fields[2]) == bench.input_elements
    assert int(fields[3]) == graph.output.size
    assert float(fields[4]) == pytest.approx(bench.official_input_scale, rel=1e-6)
    assert int(fields[5]) == bench.official_input_zero_point
    assert float(fields[6]) == pytest.approx(float(graph.output.scale[0]), rel=1e-7)
    assert int(fields[7]) == int(graph.output.zero_point[0])
    assert int(fields[8]) == compiled.plan.arena_bytes
    assert int(fields[9]) == len(graph.operators)
    assert tuple(int(d) for d in fields[10].rstrip(",").split(",")) == bench.input_shape
    assert tuple(int(d) for d in fields[11].rstrip(",").split(",")) == graph.output.shape


@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_report_counts_macs_weights_and_memory(built, bench_id):
    model, compiled, _ = built(bench_id)
    report = compiled.report
    graph = read_graph(model)
    assert report["macs"] == total_macs(graph)
    assert sum(layer["macs"] for layer in report["layers"]) == report["macs"]
    weights = sum(graph.tensor(op.inputs[1]).nbytes for op in graph.operators
                  if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))
    # conv and dense biases travel with the layer parameters (offset folded in), so the weight
    # figure holds at least every weight tensor
    assert report["weight_bytes"] >= weights
    assert report["flash_bytes"] >= report["weight_bytes"] + report["param_bytes"]
    assert report["arena_bytes"] == compiled.plan.arena_bytes
    assert report["peak_ram_bytes"] >= report["arena_bytes"]
    if report["code_bytes"] is not None:
        assert 0 < report["code_bytes"] < 64 * 1024
        assert 0 < report["stack_bytes"] < 4 * 1024
    text = (compiled.out_dir / "report.txt").read_text()
    assert f"{report['macs']:,}" in text and len(report["layers"]) == len(graph.operators)
