"""The random model generator: its models hold the ops they promise, are full int8, and run under
tflite-micro (the reference the compiler tests hold our kernels against)."""
from __future__ import annotations

import numpy as np
import pytest

import modelgen
from tinybench import tflm
from tinybench.tflite import read_graph

SEED = 0


@pytest.fixture(scope="session")
def case_graph(modelgen_cache):
    """case_graph(kind) -> (tflite bytes, Graph) of the model `kind` at SEED."""
    made = {}

    def get(kind):
        if kind not in made:
            data = modelgen.generate(SEED, kind, cache_dir=modelgen_cache)
            made[kind] = (data, read_graph(data))
        return made[kind]
    return get


def _ops(graph, opcode):
    return [op for op in graph.operators if op.opcode == opcode]


@pytest.mark.parametrize("kind", modelgen.CASES)
def test_case_holds_its_ops_is_int8_and_runs_under_tflm(case_graph, kind):
    data, graph = case_graph(kind)
    spec = modelgen.spec(SEED, kind)
    opcodes = {op.opcode for op in graph.operators}
    assert spec.promises <= opcodes, f"missing {sorted(spec.promises - opcodes)}"

    io_dtype = np.float32 if spec.float_io else np.int8
    assert graph.input.dtype == io_dtype and graph.output.dtype == io_dtype
    assert graph.input.shape == (1, *spec.input_shape)
    # Full int8: every activation between QUANTIZE and DEQUANTIZE is int8, and so is every weight.
    for op in graph.operators:
        if op.opcode in ("QUANTIZE", "DEQUANTIZE"):
            continue
        activations = [t for t in op.inputs + op.outputs if t >= 0 and not graph.tensor(t).is_constant]
        for t in activations:
            assert graph.tensor(t).dtype == np.int8, f"{op.opcode} activation {t}"
        if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            assert graph.tensor(op.inputs[1]).dtype == np.int8, f"{op.opcode} weights"

    rng = np.random.default_rng(1)
    if spec.float_io:
        x = rng.uniform(-1, 1, graph.input.shape).astype(np.float32)
    else:
        x = rng.integers(-128, 128, graph.input.shape, dtype=np.int8)
    y = tflm.run(data, x)
    assert y.shape == graph.output.shape and y.dtype == io_dtype
    if "SOFTMAX" in opcodes:   # probabilities: the dequantized outputs sum to about one
        probs = y
        if not spec.float_io:
            scale, zero = float(graph.output.scale[0]), int(graph.output.zero_point[0])
            probs = (y.astype(np.float64) - zero) * scale
        assert abs(float(np.sum(probs)) - 1.0) < 0.05


def test_conv_case_covers_dilation_strides_paddings_and_fused_activations(case_graph):
    _, graph = case_graph("conv")
    convs = [op.options for op in _ops(graph, "CONV_2D")]
    assert any(o["dilation_h_factor"] == 2 for o in convs)
    assert {o["stride_h"] for o in convs} >= {1, 2}
    assert {o["padding"] for o in convs} >= {"SAME", "VALID"}
    assert {o["fused_activation_function"] for o in convs} >= {"RELU", "RELU6", "NONE"}


def test_depthwise_case_has_multipliers_one_and_two(case_graph):
    _, graph = case_graph("depthwise")
    assert {op.options["depth_multiplier"] for op in _ops(graph, "DEPTHWISE_CONV_2D")} == {1, 2}


@pytest.mark.parametrize("kind, per_channel", [("dense_per_tensor", False),
                                               ("dense_per_channel", True)])
def test_dense_weights_are_quantized_as_asked(case_graph, kind, per_channel):
    _, graph = case_graph(kind)
    fcs = _ops(graph, "FULLY_CONNECTED")
    assert len(fcs) == 2
    for op in fcs:
        assert graph.tensor(op.inputs[1]).per_channel == per_channel
    # one Dense layer has a bias, the other none (the optional input is then -1)
    assert sorted(op.inputs[2] >= 0 for op in fcs) == [False, True]


def test_residual_case_fuses_relu_into_one_add(case_graph):
    _, graph = case_graph("residual")
    acts = sorted(op.options["fused_activation_function"] for op in _ops(graph, "ADD"))
    assert acts == ["NONE", "RELU"]


def test_float_io_case_quantizes_at_the_input_and_dequantizes_at_the_output(case_graph):
    _, graph = case_graph("float_io")
    assert graph.operators[0].opcode == "QUANTIZE"
    assert graph.operators[-1].opcode == "DEQUANTIZE"


def test_specs_are_reproducible_and_vary_with_the_seed():
    assert modelgen.spec(5, "mixed") == modelgen.spec(5, "mixed")
    assert len({repr(modelgen.spec(s, "mixed").layers) for s in range(10)}) == 10


def test_specs_over_many_seeds_cover_every_hyperparameter():
    """Cheap (no conversion): the drawn hyperparameters span what the compiler must support."""
    seen: dict[str, set] = {}

    def note(layer):
        for key, value in layer.items():
            if key != "branch":
                seen.setdefault(f"{layer['type']}.{key}", set()).add(repr(value))
        for inner in layer.get("branch", ()):
            note(inner)
    for seed in range(60):
        for kind in modelgen.CASES:
            for layer in modelgen.spec(seed, kind).layers:
                note(layer)
    for kind in ("conv", "depthwise"):
        assert seen[f"{kind}.stride"] == {"1", "2"}
        assert seen[f"{kind}.dilation"] == {"1", "2"}
        assert seen[f"{kind}.padding"] == {"'same'", "'valid'"}
        assert seen[f"{kind}.bias"] == {"True", "False"}
        assert seen[f"{kind}.activation"] == {"None", "'relu'", "'relu6'"}
    assert len(seen["conv.kernel"]) >= 8
    assert seen["depthwise.multiplier"] == {"1", "2"}
    for kind in ("avgpool", "maxpool"):
        assert seen[f"{kind}.padding"] == {"'same'", "'valid'"}
        assert seen[f"{kind}.stride"] == {"1", "2"}
    assert seen["residual.relu"] == {"True", "False"}
    assert {"dense", "reshape", "flatten", "gap", "softmax", "pad"} <= {k.split(".")[0] for k in seen}


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown model kind"):
        modelgen.spec(0, "transformer")


def test_cache_returns_the_converted_bytes_without_leftovers(case_graph, modelgen_cache):
    data, _ = case_graph("pad")
    assert modelgen.generate(SEED, "pad", cache_dir=modelgen_cache) == data
    assert not list(modelgen_cache.glob("*.part"))
    spec = modelgen.spec(SEED, "pad")
    assert (modelgen_cache / f"pad-{SEED}-{spec.key()}.tflite").read_bytes() == data
