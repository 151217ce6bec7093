"""`tinybench quantize`: post-training full-int8 quantization of a float Keras model.

The result has int8 input and output, per-channel quantized convolutions and per-tensor quantized
fully-connected layers, as the official MLPerf Tiny int8 models have. The model is converted with
a free batch dimension and with Flatten as a reshape to (-1, features), which is how the reference
models were converted: the converter then keeps the RESHAPE before FULLY_CONNECTED (with a fixed
batch of 1 it folds it away) and emits no SHAPE/STRIDED_SLICE/PACK ops.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from tinybench import benchmarks, float_models, tflm
from tinybench.benchmarks import Benchmark
from tinybench.data import evalset, prepare
from tinybench.errors import UserError
from tinybench.progress import progress_bar
from tinybench.tflite import Graph, Tensor, op_counts, read_graph

# Calibration inputs used when --samples is not given. kws01 (120), vww01 (11) and ic01 (500) are
# the sizes of the reference calibration sets (SPEC.md 4.2-4.4); the ad01 reference calibrates on
# every 5th vector of 1,400 training clips, far more than needed: we cap it at 1,000 vectors.
DEFAULT_SAMPLES = {"kws01": 120, "vww01": 11, "ic01": 500, "ad01": 1000}
# ad01 eval files are cut into windows 512 bytes (one mel frame) apart; every 5th window is a
# non-overlapping 5-frame vector, the way the reference picked its calibration vectors.
AD01_WINDOW_STEP = 5
_PREDICT_BATCH = 64


# --------------------------------------------------------------------------------------------
# Calibration inputs


def calibration_inputs(bench: Benchmark, source: str | Path, limit: int) -> np.ndarray:
    """Float model inputs, shaped (N, *input shape without batch), N <= limit, from a prepared
    dataset folder (`tinybench datasets prepare`: the reference's calibration picks), an eval-set
    folder in the MLPerf format, or a .npy / .npz file of float inputs."""
    source = Path(source)
    if not source.exists():
        raise UserError(f"{source}: no such file or folder")
    if source.is_dir():
        if not any(source.iterdir()):
            raise UserError(f"{source}: the calibration folder is empty; give a prepared dataset, "
                            f"an eval-set folder (.bin files and {evalset.LABELS_FILE}) or a "
                            f".npy/.npz of inputs")
        if prepare.is_prepared(source):
            samples = prepare.calibration_inputs(bench.id, source)
            samples = samples[prepare.evenly_spaced(len(samples), limit)]
        else:
            samples = _from_eval_set(bench, source, limit)
    elif source.suffix in (".npy", ".npz"):
        samples = _from_array_file(bench, source, limit)
    else:
        raise UserError(f"{source}: --calibration takes a prepared dataset folder, an eval-set "
                        f"folder (.bin files and {evalset.LABELS_FILE}) or a .npy/.npz file of "
                        f"float model inputs")
    if len(samples) == 0:
        raise UserError(f"{source}: holds no calibration inputs")
    return samples


def eval_file_to_float(bench: Benchmark, entry: evalset.EvalEntry, data: np.ndarray) -> np.ndarray:
    """The float model inputs one eval file stands for, the way the reference pipeline feeds the
    float model: kws01 int8 MFCC dequantized with the official input scale and zero point, vww01
    pixels / 255, ic01 raw pixels 0..255, ad01 one 640-float vector per window."""
    shape = bench.input_shape[1:]
    if bench.id == "kws01":
        x = (data.astype(np.float32) - bench.official_input_zero_point) * bench.official_input_scale
    elif bench.id in ("vww01", "ic01"):
        x = data.astype(np.float32) * np.float32(bench.preprocessing["pixel_scale"])
    else:
        vectors = [np.frombuffer(w, dtype=np.float32) for w in evalset.windows(entry, data, bench)]
        return np.stack(vectors).reshape((-1,) + shape)
    return x.reshape((1,) + shape)


def _from_eval_set(bench: Benchmark, folder: Path, limit: int) -> np.ndarray:
    entries = evalset.read_labels(folder)
    wrong = [e for e in entries if e.num_classes != bench.num_classes]
    if wrong:
        raise UserError(f"{folder}/{evalset.LABELS_FILE}: {wrong[0].file} has {wrong[0].num_classes} "
                        f"classes but {bench.id} has {bench.num_classes}; is this the eval set of "
                        f"another benchmark?")
    if bench.id != "ad01":
        chosen = [entries[i] for i in prepare.evenly_spaced(len(entries), limit)]
        return np.concatenate([eval_file_to_float(bench, e, evalset.read_input(folder, e, bench))
                               for e in chosen])
    vectors = []
    for e in entries:
        windows = eval_file_to_float(bench, e, evalset.read_input(folder, e, bench))
        vectors.append(windows[::AD01_WINDOW_STEP])
    vectors = np.concatenate(vectors)
    return vectors[prepare.evenly_spaced(len(vectors), limit)]


def _from_array_file(bench: Benchmark, path: Path, limit: int) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError, OSError, EOFError, zipfile errors ...
        raise UserError(f"{path}: not a readable numpy file ({type(exc).__name__}: {exc})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.keys())
            key = keys[0] if len(keys) == 1 else next((k for k in ("x", "inputs") if k in keys), None)
            if key is None:
                raise UserError(f"{path}: holds arrays {keys}; name the inputs 'x' (or store one array)")
            array = loaded[key]
    else:
        array = loaded
    shape = bench.input_shape[1:]
    if array.dtype.kind != "f":
        raise UserError(f"{path}: holds {array.dtype} values; give float inputs exactly as the float "
                        f"model takes them (e.g. pixels / 255 for vww01, raw 0..255 for ic01)")
    if tuple(array.shape) == shape:
        array = array[None]
    if tuple(array.shape[1:]) != shape:
        raise UserError(f"{path}: inputs shaped {tuple(array.shape)}, but {bench.id} takes "
                        f"(N, {', '.join(map(str, shape))})")
    if not np.isfinite(array).all():
        raise UserError(f"{path}: the inputs contain NaN or infinite values")
    return array[prepare.evenly_spaced(len(array), limit)].astype(np.float32)


# --------------------------------------------------------------------------------------------
# Conversion


def check_model(model, bench: Benchmark, label: str = "the model") -> None:
    """UserError unless the float model takes and returns what the benchmark's model does."""
    inputs, outputs = model.inputs, model.outputs
    if len(inputs) != 1 or len(outputs) != 1:
        raise UserError(f"{label}: has {len(inputs)} inputs and {len(outputs)} outputs; a {bench.id} "
                        f"model has one of each")
    in_shape = tuple(model.input_shape[1:])
    out_shape = tuple(model.output_shape[1:])
    want_out = (bench.output_elements,)
    if in_shape != bench.input_shape[1:]:
        raise UserError(f"{label}: takes inputs shaped {in_shape}, but {bench.id} inputs are "
                        f"{bench.input_shape[1:]}; is this a model of another benchmark?")
    if out_shape != want_out:
        raise UserError(f"{label}: gives outputs shaped {out_shape}, but a {bench.id} model gives "
                        f"{want_out}")


def _conversion_model(model):
    """A copy of a Keras 3 model with a free batch dimension and Flatten layers that reshape to
    (-1, features). Keras 2 (tf_keras) models already flatten that way and are used as they are."""
    keras = float_models.import_keras()
    if not isinstance(model, keras.Model):
        return model  # a tf_keras model

    class FlattenToFeatures(keras.layers.Flatten):
        def call(self, inputs):
            return keras.ops.reshape(inputs, (-1, math.prod(inputs.shape[1:])))

    def clone_layer(layer):
        config = layer.get_config()
        if type(layer) is keras.layers.Flatten and config.get("data_format") != "channels_first":
            return FlattenToFeatures.from_config(config)
        return layer.__class__.from_config(config)

    free_batch = keras.Input(shape=model.input_shape[1:], dtype=model.inputs[0].dtype)
    if isinstance(model.input, list):  # models loaded from Keras 2 files list their one input
        free_batch = [free_batch]
    try:
        clone = keras.models.clone_model(model, input_tensors=free_batch,
                                         clone_function=clone_layer)
    except ValueError:  # a subclassed model cannot be cloned: convert it as it is
        return model
    clone.set_weights(model.get_weights())
    return clone


def _writes_to_fd(stream, fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, ValueError, OSError):  # a stand-in stream (tests, notebooks)
        return False


@contextlib.contextmanager
def _quiet_output():
    """The converter prints a line per variable and an export note on stdout (C and Python
    level) and notes on the C-level stderr. Both file descriptors go to a temp file, whose text is
    kept in log["text"] for error messages; Python's sys.stderr keeps reaching the terminal so
    that progress bars created inside stay visible."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    terminal = (open(os.dup(saved[2]), "w", buffering=1) if _writes_to_fd(sys.stderr, 2)
                else sys.stderr)
    log = {}
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(terminal):
                warnings.simplefilter("ignore")
                yield log
        finally:
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            # `terminal` is left open: a logging handler created inside (the root handler
            # TensorFlow adds) holds it for the rest of the process; it closes when collected.
            sink.seek(0)
            log["text"] = sink.read().decode(errors="replace")


def convert(model, samples: np.ndarray, show_progress: bool = True) -> bytes:
    """Full-int8 TFLite flatbuffer of a float Keras model, calibrated on samples (float model
    inputs shaped (N, *input shape without batch))."""
    float_models.import_keras()
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(_conversion_model(model))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    # The reference quantizes fully-connected weights per tensor (TF 2.21 defaults to per channel).
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    log = {}
    try:
        with _quiet_output() as log, progress_bar(total=len(samples), desc="calibrating",
                                                  unit="input", disable=not show_progress) as bar:
            def representative_dataset():
                for sample in samples:
                    bar.update(1)
                    yield [sample[None].astype(np.float32)]

            converter.representative_dataset = representative_dataset
            data = converter.convert()
    except Exception as exc:
        detail = [line for line in log.get("text", "").splitlines() if "error" in line.lower()]
        reason = detail[-1].strip() if detail else f"{type(exc).__name__}: {str(exc).strip()[:300]}"
        raise UserError(f"the TFLite converter could not quantize the model to full int8: "
                        f"{reason}") from None
    return data


def validate(data: bytes) -> Graph:
    """The graph of a converted model; UserError unless it is full int8 (int8 input, output and
    activations), which is what the firmware needs."""
    graph = read_graph(data)
    for role, tensor in (("input", graph.input), ("output", graph.output)):
        if tensor.dtype != np.int8:
            raise UserError(f"the quantized model's {role} is {tensor.dtype.name}, not int8: it is "
                            f"not a full-int8 model")
    floats = [t.name for t in graph.tensors if t.dtype == np.float32]
    if floats:
        raise UserError(f"the quantized model still computes in float (tensor {floats[0]!r}); an "
                        f"op of this model has no int8 version in TFLite")
    return graph


# --------------------------------------------------------------------------------------------
# Agreement of the int8 model with the float model


def _quantize_input(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    v = x / scale
    rounded = np.trunc(v + np.copysign(0.5, v))  # TFLite rounds half away from zero
    return np.clip(rounded + zero_point, -128, 127).astype(np.int8)


def agreement(bench: Benchmark, model, data: bytes, samples: np.ndarray,
              show_progress: bool = True) -> dict:
    """How closely the int8 model (run with tflite-micro) follows the float model on samples.

    Classifiers: the share of inputs whose int8 top-1 equals the float top-1, and the largest
    absolute difference of the dequantized probabilities. ad01: the mean absolute difference of
    the dequantized int8 and the float reconstructions, relative to the float output's range."""
    graph = read_graph(data)
    in_t, out_t = graph.input, graph.output
    in_scale, in_zp = float(in_t.scale[0]), int(in_t.zero_point[0])
    out_scale, out_zp = float(out_t.scale[0]), int(out_t.zero_point[0])

    float_out = np.asarray(model.predict(samples, batch_size=_PREDICT_BATCH, verbose=0))
    float_out = float_out.reshape(len(samples), -1)
    interp = tflm.interpreter(data)
    int8_out = np.empty_like(float_out)
    with progress_bar(total=len(samples), desc="comparing float and int8", unit="input",
                      disable=not show_progress) as bar:
        for i, sample in enumerate(samples):
            q = tflm.run(data, _quantize_input(sample, in_scale, in_zp), interp=interp)
            int8_out[i] = (q.reshape(-1).astype(np.float32) - out_zp) * out_scale
            bar.update(1)

    if bench.id == "ad01":
        value_range = float(float_out.max() - float_out.min()) or 1.0
        return dict(samples=len(samples),
                    relative_mean_abs_error=float(np.abs(int8_out - float_out).mean() / value_range))
    return dict(samples=len(samples),
                top1_agreement=float((int8_out.argmax(1) == float_out.argmax(1)).mean()),
                max_probability_difference=float(np.abs(int8_out - float_out).max()))


# --------------------------------------------------------------------------------------------
# The command


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _tensor_summary(tensor: Tensor) -> dict:
    return dict(dtype=tensor.dtype.name, shape=list(tensor.shape),
                scale=float(tensor.scale[0]), zero_point=int(tensor.zero_point[0]))


def quantize(bench_id: str, model_path: str | Path, calibration: str | Path, out: str | Path,
             samples: int | None = None, show_progress: bool = True) -> dict:
    """Quantize the float model at model_path to a full-int8 .tflite at out; returns the summary
    (also the --json output)."""
    bench = benchmarks.get(bench_id)
    out = Path(out)
    if out.is_dir():
        raise UserError(f"{out}: is a folder; --out takes the path of the .tflite file to write")
    limit = samples or DEFAULT_SAMPLES[bench.id]
    inputs = calibration_inputs(bench, calibration, limit)
    model = float_models.load(model_path)
    check_model(model, bench, str(model_path))

    data = convert(model, inputs, show_progress)
    graph = validate(data)
    match = agreement(bench, model, data, inputs, show_progress)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(out, data)
    except OSError as exc:
        raise UserError(f"{out}: cannot write the model ({exc.strerror or exc})") from None

    return dict(benchmark=bench.id, model=str(model_path), calibration=str(calibration),
                out=str(out), size_bytes=len(data), ops=op_counts(graph),
                input=_tensor_summary(graph.input), output=_tensor_summary(graph.output),
                agreement=match)


def format_summary(s: dict) -> str:
    def quant(t):
        return (f"{t['dtype']} {t['shape']}  scale {t['scale']:.7g}, zero point "
                f"{t['zero_point']}")

    a = s["agreement"]
    if "top1_agreement" in a:
        agree = (f"top-1 equal on {a['top1_agreement']:.1%} of {a['samples']} calibration inputs, "
                 f"largest probability difference {a['max_probability_difference']:.4f}")
    else:
        agree = (f"mean absolute reconstruction difference {a['relative_mean_abs_error']:.2%} of "
                 f"the float output range ({a['samples']} calibration vectors)")
    return "\n".join([
        f"wrote        {s['out']} ({s['size_bytes']:,} bytes)",
        f"benchmark    {s['benchmark']}",
        "ops          " + ", ".join(f"{k} x{v}" for k, v in s["ops"].items()),
        f"input        {quant(s['input'])}",
        f"output       {quant(s['output'])}",
        f"float/int8   {agree}",
    ])
