"""The four reference architectures: built with batch size 1 and quantized, each must give the
official int8 model's op sequence, tensor shapes, op options, quantization granularity and MACs."""
from __future__ import annotations

import numpy as np
import pytest

from tinybench import benchmarks, models
from tinybench.errors import UserError
from tinybench.tflite import parameter_count, read_graph, total_macs

BENCH_IDS = ["kws01", "vww01", "ic01", "ad01"]
CALIBRATION_SAMPLES = 4


def structure(graph) -> list[tuple]:
    """What two graphs of the same architecture share whatever their weights: per operator the
    opcode, its options, the shapes of its inputs (None for an omitted optional input, such as a
    missing bias) and outputs, and which inputs are quantized per channel."""
    rows = []
    for op in graph.operators:
        inputs = [graph.tensor(t) if t >= 0 else None for t in op.inputs]
        rows.append((
            op.opcode, op.options,
            [t.shape if t is not None else None for t in inputs],
            [graph.tensor(t).shape for t in op.outputs],
            [t.per_channel if t is not None else None for t in inputs]))
    return rows


def as_if_trained(model, rng) -> None:
    """Give an untrained model non-trivial weights: with all-zero biases the converter drops the
    bias operand of FULLY_CONNECTED, which a trained model always has."""
    for variable in model.weights:
        values = rng.normal(0.0, 0.1, variable.shape)
        if "variance" in variable.path:
            values = 1.0 + np.abs(values)
        variable.assign(values.astype(np.float32))


@pytest.fixture(scope="module")
def quantized_architecture():
    """quantized_architecture('kws01') -> Graph of our architecture converted to int8 (each
    benchmark converted once per module: a conversion costs a few seconds)."""
    from tinybench import quantize
    cache = {}

    def get(bench_id):
        if bench_id not in cache:
            rng = np.random.default_rng(7)
            model = models.build(bench_id)
            as_if_trained(model, rng)
            shape = benchmarks.get(bench_id).input_shape[1:]
            samples = rng.uniform(0.0, 1.0, (CALIBRATION_SAMPLES,) + shape).astype(np.float32)
            cache[bench_id] = read_graph(quantize.convert(model, samples, show_progress=False))
        return cache[bench_id]
    return get


@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_build_has_the_benchmark_input_and_output(bench_id):
    bench = benchmarks.get(bench_id)
    model = models.build(bench_id)
    outputs = bench.input_elements if bench_id == "ad01" else bench.num_classes
    assert tuple(model.input_shape) == bench.input_shape
    assert tuple(model.output_shape) == (1, outputs)
    training_model = models.build(bench_id, batch_size=None)
    assert training_model.input_shape[0] is None
    assert training_model.count_params() == model.count_params()


@pytest.mark.slow
@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_quantized_architecture_has_the_official_structure(bench_id, quantized_architecture,
                                                          official_model):
    ours = quantized_architecture(bench_id)
    official = read_graph(official_model(bench_id))
    assert [op.opcode for op in ours.operators] == [op.opcode for op in official.operators]
    assert structure(ours) == structure(official)
    assert total_macs(ours) == total_macs(official)
    assert parameter_count(ours) == parameter_count(official)
    for ours_t, official_t in ((ours.input, official.input), (ours.output, official.output)):
        assert ours_t.shape == official_t.shape and ours_t.dtype == official_t.dtype == np.int8


@pytest.mark.slow
@pytest.mark.parametrize("bench_id", BENCH_IDS)
def test_architecture_has_the_official_float_weights_layout(bench_id, float_model_dir):
    """Our untrained model holds the same weight tensors, in the same order, as the official fp32
    reference model, so trained reference weights would fit it one to one."""
    from tinybench import float_models
    name = "kws_saved_model" if bench_id == "kws01" else f"{bench_id}.h5"
    official = float_models.load(float_model_dir / name)
    ours = models.build(bench_id)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in official.weights]


def test_unknown_benchmark_is_a_user_error():
    with pytest.raises(UserError, match="unknown benchmark 'kws02'"):
        models.build("kws02")
