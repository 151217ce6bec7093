"""The engine's Cortex-M DSP paths (firmware/engine/tb_dsp.h and the TB_USE_DSP code in the
kernels), run on the emulated Cortex-M4 (QEMU mps2-an386) through a test image that moves raw bytes
by semihosting (tests/engine_qemu.py): the four official models give tflite-micro's outputs byte
for byte, and every layer equals the host build's; so do generated models whose shapes reach the
leftover paths of the unrolled loops (odd channel, row, pixel and depth counts, strides,
dilations, paddings, filters too large for the pixel-pair buffer, depthwise filters other than
3x3); the one-SMLAL requantization equals tflite-micro's arithmetic over its whole domain."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import engine_qemu
import modelgen
from tinybench import benchmarks, tflm
from tinybench.compiler import compile as compiler

pytestmark = pytest.mark.skipif(engine_qemu.missing_tools() is not None,
                                reason=f"{engine_qemu.missing_tools()}: the Cortex-M4 tests need "
                                       f"gcc-arm-none-eabi and qemu-system-arm")

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _random_inputs(size: int, count: int, seed: int) -> np.ndarray:
    """`count` random int8 inputs, then the two extremes (every value -128, every value 127)."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.integers(-128, 128, size=(count, size), dtype=np.int8),
                           np.full((1, size), -128, np.int8), np.full((1, size), 127, np.int8)])


def _first_layer_difference(compiled, raw_a: bytes, raw_b: bytes, count: int) -> str:
    layers_a = compiler.split_layers(compiled.graph, compiled.steps, raw_a, count)
    layers_b = compiler.split_layers(compiled.graph, compiled.steps, raw_b, count)
    for i, (a, b) in enumerate(zip(layers_a, layers_b)):
        for step in compiled.steps:
            key = step.outputs[0]
            if not np.array_equal(a[key], b[key]):
                differ = np.count_nonzero(a[key] != b[key])
                return (f"input {i}: layer {compiled.steps.index(step)} ({step.opcode}) differs "
                        f"in {differ} of {a[key].size} values")
    return "no layer differs"


def _check_against_host(tmp_path, compiled, inputs: np.ndarray, defines=()) -> np.ndarray:
    """Runs the DSP build on QEMU; asserts every layer equals the host build's; returns the
    outputs."""
    elf = engine_qemu.build(compiled.out_dir, tmp_path / "qemu", defines=list(defines), dump=True)
    result = engine_qemu.run(elf, inputs, compiled.graph.output.size, len(compiled.steps))
    exe = compiler.build_host(compiled.out_dir, tmp_path / "host", layer_hook=True)
    host_outputs, host_layers = compiler.run_host(exe, compiled.graph, inputs, layers=True)
    assert result.layer_bytes == host_layers, _first_layer_difference(
        compiled, result.layer_bytes, host_layers, len(inputs))
    assert np.array_equal(result.outputs, host_outputs)
    return result.outputs


def _tflm_outputs(model, inputs: np.ndarray) -> np.ndarray:
    interp = tflm.interpreter(model)
    return np.stack([tflm.run(model, x, interp).reshape(-1) for x in inputs])


def _check_model(tmp_path, model, count: int, seed: int, defines=()) -> None:
    """Compiles `model`; on `count` random inputs (and the two extremes) the DSP build equals the
    host build layer by layer, and its outputs equal tflite-micro's."""
    compiled = compiler.compile_model(model, tmp_path / "model", measure=False)
    inputs = _random_inputs(compiled.graph.input.size, count, seed)
    outputs = _check_against_host(tmp_path, compiled, inputs, defines)
    assert np.array_equal(outputs, _tflm_outputs(model, inputs))


# ---- the official models ---------------------------------------------------------------------------

@pytest.mark.parametrize("bench_id", list(benchmarks.BENCHMARKS))
def test_official_model_on_cortex_m4_matches_tflite_micro(tmp_path, official_model, bench_id):
    _check_model(tmp_path, official_model(bench_id), 24, seed=len(bench_id) + ord(bench_id[0]))


def test_single_pixel_path_matches_tflite_micro(tmp_path, official_model):
    """Built with no room for pixel pairs, every convolution takes the one-pixel, four-row path."""
    _check_model(tmp_path, official_model("kws01"), 8, seed=5, defines=["TB_PAIR_MAX_DEPTH=0"])


# ---- generated models that reach the leftover paths ------------------------------------------------

def _conv(filters, kernel, stride=1, padding="same", dilation=1, activation=None, bias=True):
    return dict(type="conv", filters=filters, kernel=list(kernel), stride=stride, padding=padding,
                dilation=dilation, activation=activation, bias=bias)


def _depthwise(kernel, stride=1, padding="same", dilation=1, multiplier=1, activation=None,
               bias=True):
    return dict(type="depthwise", kernel=list(kernel), stride=stride, padding=padding,
                dilation=dilation, multiplier=multiplier, activation=activation, bias=bias)


def _dense(units, activation=None, bias=True):
    return dict(type="dense", units=units, activation=activation, bias=bias)


# name: (input shape, layers, dense weights per tensor)
SPECS = {
    # odd output channels (a last single row), odd pixel counts (a last single pixel), column
    # lengths that are not a multiple of four, strided and contiguous 1x1 filters
    "conv_leftovers": ((7, 9, 3), (_conv(5, (3, 3), activation="relu6"),
                                   _conv(7, (2, 3), stride=2, padding="valid", activation="relu"),
                                   _conv(6, (1, 1), stride=2), _conv(3, (1, 1), bias=False)), False),
    "conv_dilated": ((9, 8, 5), (_conv(4, (3, 3), dilation=2, activation="relu"),
                                 _conv(9, (5, 1), padding="valid"),
                                 _conv(2, (1, 3), stride=2)), False),
    # 3 x 3 x 72 = 648 values per column: more than the pixel-pair buffer holds
    "conv_wide": ((5, 6, 72), (_conv(6, (3, 3), activation="relu"),
                               _conv(5, (1, 1))), False),
    # depth multiplier 1 with channels in fours: 3x3 windows inside and across every border
    "depthwise_3x3": ((7, 9, 8), (_depthwise((3, 3), activation="relu"),
                                  _depthwise((3, 3), stride=2),
                                  _depthwise((3, 3), padding="valid", activation="relu6"),
                                  _conv(5, (1, 1))), False),
    "depthwise_other": ((8, 7, 12), (_depthwise((5, 5), activation="relu"),
                                     _depthwise((2, 3), stride=2, padding="valid"),
                                     _depthwise((3, 3), dilation=2),
                                     _depthwise((3, 3), multiplier=2),
                                     _conv(3, (1, 1))), False),
    # channels that are not a multiple of four take the portable depthwise path
    "depthwise_odd_channels": ((6, 6, 6), (_depthwise((3, 3), activation="relu"),
                                           _conv(4, (3, 3))), False),
    "dense_per_channel": ((3, 5, 3), (dict(type="flatten"), _dense(7, "relu"), _dense(5),
                                      _dense(9, bias=False)), False),
    "dense_per_tensor": ((3, 3, 3), (dict(type="flatten"), _dense(6, "relu"), _dense(3)), True),
    # ADD of two differently scaled inputs (one of them halved by tflite-micro's scaling)
    "residual": ((6, 7, 8), (_conv(8, (3, 3), activation="relu"),
                             dict(type="residual", relu=True,
                                  branch=(_conv(8, (3, 3), activation="relu"), _conv(8, (3, 3)))),
                             dict(type="residual", relu=False, branch=(_conv(8, (1, 1)),))),
                 False),
}


@pytest.fixture(scope="module")
def spec_model(request):
    """spec_model(name) -> .tflite path of SPECS[name], converted once per cache folder."""
    import modelgen as generator
    cache = generator.pytest_cache_dir(request.config)

    def make(name):
        shape, layers, per_tensor = SPECS[name]
        spec = generator.ModelSpec("dsp-" + name, 0, shape, layers, per_tensor, False)
        path = cache / f"dsp-{name}-{spec.key()}.tflite"
        if not path.is_file():
            path.write_bytes(generator.convert(spec))
        return path
    return make


@pytest.mark.parametrize("name", list(SPECS))
def test_generated_model_on_cortex_m4_matches_tflite_micro(tmp_path, spec_model, name):
    _check_model(tmp_path, spec_model(name), 10, seed=3)


def test_generated_leftovers_on_the_single_pixel_path(tmp_path, spec_model):
    _check_model(tmp_path, spec_model("conv_leftovers"), 6, seed=4,
                 defines=["TB_PAIR_MAX_DEPTH=0"])


@pytest.mark.parametrize("name", ["conv_leftovers", "depthwise_3x3", "dense_per_channel",
                                  "residual"])
def test_general_requantization_in_the_dsp_kernels(tmp_path, spec_model, name):
    """Every layer of the models here has scales the one-SMLAL form covers: the kernels' other
    branch (tb_requantize) is forced with TB_DSP_GENERAL_REQUANTIZE."""
    _check_model(tmp_path, spec_model(name), 4, seed=6, defines=["TB_DSP_GENERAL_REQUANTIZE"])


def test_mixed_generated_models_on_cortex_m4(tmp_path, modelgen_cache):
    for seed in (0, 1):
        path = tmp_path / f"mixed-{seed}.tflite"
        path.write_bytes(modelgen.generate(seed, "mixed", cache_dir=modelgen_cache))
        compiled = compiler.compile_model(path, tmp_path / f"model-{seed}", measure=False)
        inputs = _random_inputs(compiled.graph.input.size, 6, seed=seed)
        _check_against_host(tmp_path / f"run-{seed}", compiled, inputs)


# ---- the requantization itself ---------------------------------------------------------------------

def _reference_requantize(acc: int, multiplier: int, shift: int) -> int:
    """tflite-micro's MultiplyByQuantizedMultiplier: a wrapping left shift, the saturating
    rounding doubling high multiply (nudge, then division truncating toward zero), the rounding
    divide by a power of two (halves away from zero)."""
    left, right = max(shift, 0), max(-shift, 0)
    a = ((acc << left) + (1 << 31)) % (1 << 32) - (1 << 31)
    if a == INT32_MIN and multiplier == INT32_MIN:
        y = INT32_MAX
    else:
        ab = a * multiplier
        nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
        total = ab + nudge
        y = abs(total) // (1 << 31) * (1 if total >= 0 else -1)
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (1 if y < 0 else 0)
    return (y >> right) + (1 if (y & mask) > threshold else 0)


def _requantize_records(rng: np.random.Generator, count: int) -> np.ndarray:
    """[count, 4] records {acc, multiplier, shift, output offset}: the fast form's domain
    (multiplier in (2^30, 2^31), shift in [-31, -2]; zero multipliers with any shift) with
    accumulators over the whole int32 range and near its edges, and records outside the domain
    (small multipliers, shifts above -2)."""
    acc = np.concatenate([rng.integers(-(1 << 16), 1 << 16, count // 2),
                          rng.integers(INT32_MIN, INT32_MAX, count // 4, endpoint=True),
                          rng.choice([INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX],
                                     count - count // 2 - count // 4)])
    rng.shuffle(acc)
    multiplier = rng.integers((1 << 30) + 1, 1 << 31, count)
    multiplier[rng.random(count) < 0.05] = (1 << 30) + 1
    multiplier[rng.random(count) < 0.05] = INT32_MAX
    shift = rng.integers(-31, -1, count)
    zero = rng.random(count) < 0.05
    multiplier[zero], shift[zero] = 0, rng.integers(-31, 32, int(zero.sum()))
    outside = rng.random(count) < 0.1
    multiplier[outside] = rng.integers(0, 1 << 31, int(outside.sum()))
    shift[outside] = rng.integers(-3, 3, int(outside.sum()))
    offset = rng.integers(-128, 128, count)
    records = np.stack([acc, multiplier, shift, offset], axis=1).astype(np.int64)
    records[0, :3] = (INT32_MIN, INT32_MIN, 0)   # the one product that saturates
    return records


def test_one_smlal_requantization_equals_tflite_micro_arithmetic(tmp_path):
    records = _requantize_records(np.random.default_rng(17), 4096)
    elf = engine_qemu.build_image([engine_qemu.PROJECT / "tests" / "engine_qemu_requantize.c"],
                                  [engine_qemu.ENGINE, engine_qemu.FIRMWARE / "arch" / "cortex-m"],
                                  tmp_path / "image")
    raw = engine_qemu.run_image(elf, {"inputs.bin": records.astype("<i4").tobytes()})
    results = np.frombuffer(raw["outputs.bin"], dtype="<i4").reshape(-1, 14).astype(np.int64)
    assert len(results) == len(records) // 4
    checked = {"general": 0, "fast": 0, "packed": 0}
    for group, out in zip(records.reshape(-1, 4, 4), results):
        expected = [_reference_requantize(int(a), int(m), int(s)) for a, m, s, _ in group]
        fast = [bool(m > (1 << 30) and -31 <= s <= -2) or (m == 0 and -31 <= s <= 31)
                for _, m, s, _ in group]
        assert list(out[0:4]) == expected, group
        checked["general"] += 4
        assert list(out[4:8]) == [int(f) for f in fast], group
        for k in range(4):
            if fast[k]:
                assert out[8 + k] == expected[k], group[k]
                checked["fast"] += 1
        offset = int(group[0][3])

        def lanes(word):
            return [((int(word) >> (8 * k)) + 128) % 256 - 128 for k in range(4)]

        def clamp(v):
            return max(-128, min(127, v + offset))
        if all(fast):
            assert lanes(out[12]) == [clamp(e) for e in expected], group
            pairs = [expected[0], expected[1],
                     _reference_requantize(int(group[2][0]), int(group[0][1]), int(group[0][2])),
                     _reference_requantize(int(group[3][0]), int(group[1][1]), int(group[1][2]))]
            assert lanes(out[13]) == [clamp(e) for e in pairs], group
            checked["packed"] += 1
    assert checked["fast"] > 2000 and checked["packed"] > 200, checked


# ---- the DSP build is what runs ----------------------------------------------------------------------

def test_dsp_instructions_only_in_the_dsp_build(tmp_path, official_model):
    objdump = shutil.which("arm-none-eabi-objdump")
    if objdump is None:
        pytest.skip("arm-none-eabi-objdump is not installed")
    compiled = compiler.compile_model(official_model("ad01"), tmp_path / "model", measure=False)
    counts = {}
    for name, defines in (("dsp", []), ("portable", ["TB_NO_DSP"])):
        elf = engine_qemu.build(compiled.out_dir, tmp_path / name, defines=defines)
        text = subprocess.run([objdump, "-d", str(elf)], capture_output=True, text=True,
                              check=True).stdout
        counts[name] = sum(text.count(f"\t{op}\t") for op in ("smlad", "sxtb16", "sxtab16"))
    assert counts["dsp"] > 0 and counts["portable"] == 0, counts
