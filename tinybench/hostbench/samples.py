"""The query sample library of a hostbench run: what LoadGen's sample indices point at.

A sample is one input the DUT would be sent: an eval-set file (the MLPerf Tiny `.bin` +
y_labels.csv format), or one ad01 window of a file. Each sample carries its payload bytes (what a
DUT's db buffer receives) and the int8 model input the DUT makes of them, so every system under
test answers the same question.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybench.benchmarks import Benchmark
from tinybench.data import evalset
from tinybench.errors import UserError
from tinybench.tflite import Tensor


@dataclass(frozen=True)
class Sample:
    file: str
    label: int | None
    window: int            # ad01: the window of the file; else 0
    windows: int           # how many windows the file has
    payload: bytes         # the bytes a DUT's db buffer receives
    model_input: np.ndarray  # int8, the model's input elements


def quantize_half_away(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """round(x / scale) + zero point, halves away from zero, clamped to int8: how the DUT quantizes
    a float32 payload (firmware/core bench_io.c, in float32 arithmetic as there)."""
    scaled = np.asarray(values, dtype=np.float32) / np.float32(scale)
    rounded = np.trunc(scaled + np.copysign(np.float32(0.5), scaled))
    rounded = np.nan_to_num(rounded, nan=0.0, posinf=1e6, neginf=-1e6)
    return np.clip(rounded + zero_point, -128, 127).astype(np.int8)


def model_input(payload: bytes, dtype: str, model_in: Tensor) -> np.ndarray:
    """The int8 model input a DUT makes of its db buffer: int8 bytes as they are, uint8 pixels
    minus 128, float32 quantized with the model's input scale and zero point."""
    data = np.frombuffer(payload, dtype=dtype)
    if data.dtype == np.int8:
        x = data
    elif data.dtype == np.uint8:
        x = (data.astype(np.int16) - 128).astype(np.int8)
    else:
        x = quantize_half_away(data, float(model_in.scale[0]), int(model_in.zero_point[0]))
    if x.size < model_in.size:
        raise UserError(f"an input of {x.size} values is too short for the model's "
                        f"{model_in.size}")
    return np.ascontiguousarray(x[:model_in.size])


def from_eval_set(folder: Path, bench: Benchmark, model_in: Tensor) -> list[Sample]:
    """Every file of the eval set (ad01: every window of every file), in label-file order."""
    samples = []
    for entry in evalset.read_labels(folder):
        data = evalset.read_input(folder, entry, bench)
        parts = evalset.windows(entry, data, bench)
        for k, payload in enumerate(parts):
            samples.append(Sample(entry.file, entry.label, k, len(parts), payload,
                                  model_input(payload, bench.eval_file_dtype, model_in)))
    if not samples:
        raise UserError(f"{folder}: the eval set has no inputs")
    return samples


def random_samples(model_in: Tensor, dtype: str, count: int, seed: int) -> list[Sample]:
    """Random inputs over the whole int8 range (a performance run that needs no eval set; no
    labels), each as the payload of `dtype` that a DUT turns into exactly that int8 input."""
    rng = np.random.default_rng(seed)
    scale, zero_point = float(model_in.scale[0]), int(model_in.zero_point[0])
    samples = []
    for i in range(count):
        q = rng.integers(-128, 128, size=model_in.size, dtype=np.int8)
        if np.dtype(dtype) == np.uint8:
            payload = (q.astype(np.int16) + 128).astype(np.uint8)
        elif np.dtype(dtype) == np.float32:
            payload = ((q.astype(np.float32) - zero_point) * np.float32(scale)).astype(np.float32)
        else:
            payload = q
        payload = payload.tobytes()
        samples.append(Sample(f"random_{i:04d}", None, 0, 1, payload,
                              model_input(payload, dtype, model_in)))
    return samples
