"""Randomly generated small full-int8 models (tests/modelgen.py: varying shapes, strides, paddings,
dilations, depth multipliers, activations, per-tensor and per-channel weights, float32 interfaces):
the host build of the compiled C, the numpy golden model and tflite-micro agree on every layer."""
from __future__ import annotations

import pytest

import modelgen
from tinybench.compiler import compile as compiler

SEEDS = (0, 1)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", modelgen.CASES)
def test_generated_model_agrees_with_tflite_micro(tmp_path, modelgen_cache, kind, seed):
    path = tmp_path / f"{kind}-{seed}.tflite"
    path.write_bytes(modelgen.generate(seed, kind, cache_dir=modelgen_cache))
    compiled = compiler.compile_model(path, tmp_path / "model", measure=False)
    result = compiler.check(path, count=10, seed=seed, compiled=compiled)
    assert result.ok, result.format()
    if modelgen.spec(seed, kind).float_io:
        assert compiled.float_interface   # compiled with the int8 API, QUANTIZE/DEQUANTIZE left out
