"""Keras builders of the four MLPerf Tiny reference architectures (SPEC.md section 4).

Each builder returns an untrained, uncompiled `keras.Model` whose layers match the official fp32
reference model layer for layer, so that post-training quantization (tinybench.quantize) yields
the same TFLite op sequence, tensor shapes and MAC count as the official int8 model.
"""
from __future__ import annotations

from tinybench import benchmarks


def build(bench_id: str, batch_size: int | None = 1):
    """The reference architecture of a benchmark. batch_size=None gives a model with a free batch
    dimension (for training); the default 1 is what an inference graph has."""
    bench = benchmarks.get(bench_id)
    if bench.id == "kws01":
        from tinybench.models.ds_cnn import build_ds_cnn as builder
    elif bench.id == "vww01":
        from tinybench.models.mobilenet_v1 import build_mobilenet_v1 as builder
    elif bench.id == "ic01":
        from tinybench.models.resnet8 import build_resnet8 as builder
    else:
        from tinybench.models.autoencoder import build_autoencoder as builder
    return builder(bench, batch_size)
