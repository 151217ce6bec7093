"""Random small full-int8 TFLite models for the compiler tests.

A model is drawn in two stages. `spec(seed, kind)` picks the layers and every hyperparameter from a
numpy generator seeded with `seed` (cheap, no TensorFlow); `generate(seed, kind)` builds that spec in
Keras with random weights and converts it with the TFLite converter (post-training int8, calibrated on
random inputs). Each named case promises the TFLite ops it must contain (`ModelSpec.promises`), so a
test can check that the converter produced them. Conversion takes about half a second per model
after TensorFlow's import; `generate(..., cache_dir=...)` keeps converted models on disk keyed by the
spec and the TensorFlow/Keras versions, so a test suite converts each model once.

    from modelgen import CASES, generate
    tflite_bytes = generate(seed=3, kind="depthwise", cache_dir=some_dir)
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import warnings
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

GENERATOR_VERSION = 1   # bump when the drawing or building below changes, to invalidate caches
CALIBRATION_SAMPLES = 8

# The TFLite builtin op each spec layer type becomes.
_OPCODES = {
    "conv": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D", "dense": "FULLY_CONNECTED",
    "avgpool": "AVERAGE_POOL_2D", "maxpool": "MAX_POOL_2D", "gap": "MEAN", "residual": "ADD",
    "reshape": "RESHAPE", "flatten": "RESHAPE", "softmax": "SOFTMAX", "pad": "PAD",
}


@dataclass(frozen=True)
class ModelSpec:
    kind: str
    seed: int
    input_shape: tuple[int, ...]      # without the batch dimension (the batch is fixed at 1)
    layers: tuple[dict, ...]          # applied in order; a "residual" layer holds its own branch
    dense_per_tensor: bool            # fully-connected weights quantized per tensor, not per channel
    float_io: bool                    # float32 input/output: the model gains QUANTIZE / DEQUANTIZE

    @property
    def promises(self) -> frozenset[str]:
        """TFLite opcodes the converted model must contain."""
        ops = set()

        def walk(layers):
            for layer in layers:
                ops.add(_OPCODES[layer["type"]])
                walk(layer.get("branch", ()))
        walk(self.layers)
        if self.float_io:
            ops |= {"QUANTIZE", "DEQUANTIZE"}
        return frozenset(ops)

    def key(self) -> str:
        versions = [_version(p) for p in ("tensorflow-cpu", "tensorflow", "keras")]
        text = json.dumps([asdict(self), versions, GENERATOR_VERSION], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


# ---- drawing layers with shape bookkeeping ---------------------------------------------------------

class _Drawer:
    """Draws layers one after another, tracking the activation shape so every layer stays valid."""

    def __init__(self, rng: np.random.Generator, shape: tuple[int, ...]):
        self.rng = rng
        self.shape = shape
        self.layers: list[dict] = []

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]

    def _window(self, kernel, stride, padding, dilation=(1, 1)):
        """Output (h, w) of a sliding window; None when a VALID window does not fit."""
        out = []
        for size, k, s, d in zip(self.shape[:2], kernel, stride, dilation):
            span = (k - 1) * d + 1
            if padding == "same":
                out.append(-(-size // s))
            elif span <= size:
                out.append((size - span) // s + 1)
            else:
                return None
        return tuple(out)

    def _conv_like(self, depthwise: bool, fixed: dict) -> dict:
        h, w, c = self.shape
        kernel = fixed.get("kernel") or (self.pick((1, 2, 3, 5)), self.pick((1, 3, 5)))
        stride = fixed.get("stride") or self.pick((1, 2))
        dilation = fixed.get("dilation") or (self.pick((1, 1, 2)) if stride == 1 else 1)
        padding = fixed.get("padding") or self.pick(("same", "valid"))
        if max(kernel) == 1:
            dilation = 1
        out_hw = self._window(kernel, (stride, stride), padding, (dilation, dilation))
        if out_hw is None:                   # too big a window for VALID: pad instead
            padding = "same"
            out_hw = self._window(kernel, (stride, stride), padding, (dilation, dilation))
        layer = dict(kernel=list(kernel), stride=stride, dilation=dilation, padding=padding,
                     bias=fixed.get("bias", bool(self.rng.integers(2))),
                     activation=fixed.get("activation", self.pick((None, "relu", "relu6"))))
        if depthwise:
            layer.update(type="depthwise",
                         multiplier=fixed.get("multiplier") or self.pick((1, 2)))
            channels = c * layer["multiplier"]
        else:
            layer.update(type="conv", filters=fixed.get("filters") or int(self.rng.integers(2, 9)))
            channels = layer["filters"]
        self.shape = (*out_hw, channels)
        return layer

    def conv(self, **fixed):
        self.layers.append(self._conv_like(False, fixed))

    def depthwise(self, **fixed):
        self.layers.append(self._conv_like(True, fixed))

    def pool(self, kind: str, **fixed):
        pool = fixed.get("pool") or (self.pick((2, 3)), self.pick((2, 3)))
        stride = fixed.get("stride") or self.pick((1, 2))
        padding = fixed.get("padding") or self.pick(("same", "valid"))
        out_hw = self._window(pool, (stride, stride), padding)
        if out_hw is None:
            padding = "same"
            out_hw = self._window(pool, (stride, stride), padding)
        self.layers.append(dict(type=kind, pool=list(pool), stride=stride, padding=padding))
        self.shape = (*out_hw, self.shape[2])

    def pad(self):
        amounts = [[int(self.rng.integers(0, 3)) for _ in range(2)] for _ in range(2)]
        amounts[0][0] = max(amounts[0][0], 1)          # never an identity pad
        self.layers.append(dict(type="pad", amounts=amounts))
        h, w, c = self.shape
        self.shape = (h + sum(amounts[0]), w + sum(amounts[1]), c)

    def residual(self, relu: bool):
        """x + f(x) with f one or two shape-keeping convolutions."""
        h, w, c = self.shape
        branch = _Drawer(self.rng, self.shape)
        for _ in range(int(self.rng.integers(1, 3))):
            branch.conv(stride=1, padding="same", filters=c, activation=branch.pick((None, "relu")))
        self.layers.append(dict(type="residual", branch=branch.layers, relu=relu))

    def reshape(self):
        h, w, c = self.shape
        target = [w, h, c] if h != w else [h * w, c, 1]
        self.layers.append(dict(type="reshape", target=target))
        self.shape = tuple(target)

    def flatten(self):
        self.layers.append(dict(type="flatten"))
        self.shape = (int(np.prod(self.shape)),)

    def gap(self):
        self.layers.append(dict(type="gap"))
        self.shape = (self.shape[2],)

    def dense(self, **fixed):
        units = fixed.get("units") or int(self.rng.integers(2, 11))
        self.layers.append(dict(type="dense", units=units,
                                bias=fixed.get("bias", bool(self.rng.integers(2))),
                                activation=fixed.get("activation", self.pick((None, "relu")))))
        self.shape = (units,)

    def softmax(self):
        self.layers.append(dict(type="softmax"))


def _draw_case(kind: str, d: _Drawer) -> tuple[bool, bool]:
    """Append the layers of one named case; returns (dense_per_tensor, float_io)."""
    per_tensor, float_io = bool(d.rng.integers(2)), False
    if kind == "conv":
        d.conv(stride=1, dilation=2, kernel=(3, 3), padding="same", activation="relu6", bias=True)
        d.conv(stride=2, padding="valid", activation="relu", bias=False)
        d.conv(activation=None)
    elif kind == "depthwise":
        d.depthwise(multiplier=1, stride=2, activation="relu")
        d.depthwise(multiplier=2, stride=1, dilation=2, kernel=(3, 3))
        d.conv(kernel=(1, 1))
    elif kind == "dense_per_channel":
        d.conv(stride=2)
        d.flatten()
        d.dense(bias=True)
        d.dense(bias=False, activation=None)
        per_tensor = False
    elif kind == "dense_per_tensor":
        d.conv(stride=2)
        d.gap()
        d.dense(bias=True, activation="relu")
        d.dense(activation=None)
        per_tensor = True
    elif kind == "pooling":
        d.conv(stride=1)
        d.pool("avgpool", stride=2, padding="same")
        d.pool("maxpool", stride=1, padding="valid", pool=(2, 2))
        d.pool(d.pick(("avgpool", "maxpool")))
    elif kind == "global_pool":
        d.conv()
        d.gap()
        d.dense()
    elif kind == "residual":
        d.conv(stride=1, activation="relu")
        d.residual(relu=True)
        d.residual(relu=False)
    elif kind == "reshape":
        d.conv(stride=1)
        d.reshape()
        d.conv(stride=1)
        d.flatten()
        d.dense()
    elif kind == "softmax":
        d.conv(stride=2)
        d.gap()
        d.dense(activation=None)
        d.softmax()
    elif kind == "pad":
        d.pad()
        d.conv(padding="valid")
        d.pad()
        d.pool("maxpool")
    elif kind == "float_io":
        d.conv()
        d.gap()
        d.dense(activation=None)
        d.softmax()
        float_io = True
    elif kind == "mixed":
        for _ in range(int(d.rng.integers(3, 7))):
            choice = d.pick(("conv", "depthwise", "pool", "pad", "residual"))
            if choice == "pool":
                d.pool(d.pick(("avgpool", "maxpool")))
            elif choice == "residual":
                d.residual(relu=bool(d.rng.integers(2)))
            else:
                getattr(d, choice)()
        # The converter drops a flatten of a 1x1 map (FULLY_CONNECTED flattens anyway): use GAP.
        if d.rng.integers(2) or d.shape[0] * d.shape[1] == 1:
            d.gap()
        else:
            d.flatten()
        d.dense(activation=None)
        if d.rng.integers(2):
            d.softmax()
        float_io = bool(d.rng.integers(4) == 0)
    else:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(CASES)}")
    return per_tensor, float_io


CASES = ("conv", "depthwise", "dense_per_channel", "dense_per_tensor", "pooling", "global_pool",
         "residual", "reshape", "softmax", "pad", "float_io", "mixed")
"""The named cases; `kind=None` means "mixed" (a random chain of every layer type)."""


def spec(seed: int, kind: str | None = None) -> ModelSpec:
    kind = kind or "mixed"
    if kind not in CASES:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(CASES)}")
    rng = np.random.default_rng([seed, CASES.index(kind)])
    shape = (int(rng.integers(6, 11)), int(rng.integers(6, 11)), int(rng.integers(1, 5)))
    drawer = _Drawer(rng, shape)
    per_tensor, float_io = _draw_case(kind, drawer)
    return ModelSpec(kind, seed, shape, tuple(drawer.layers), per_tensor, float_io)


# ---- building and converting -----------------------------------------------------------------------

def _apply(layer: dict, x):
    from keras import layers as L
    t = layer["type"]
    if t == "conv":
        return L.Conv2D(layer["filters"], layer["kernel"], strides=layer["stride"],
                        padding=layer["padding"], dilation_rate=layer["dilation"],
                        use_bias=layer["bias"], activation=layer["activation"])(x)
    if t == "depthwise":
        return L.DepthwiseConv2D(layer["kernel"], strides=layer["stride"], padding=layer["padding"],
                                 depth_multiplier=layer["multiplier"],
                                 dilation_rate=layer["dilation"], use_bias=layer["bias"],
                                 activation=layer["activation"])(x)
    if t == "avgpool":
        return L.AveragePooling2D(layer["pool"], strides=layer["stride"],
                                  padding=layer["padding"])(x)
    if t == "maxpool":
        return L.MaxPooling2D(layer["pool"], strides=layer["stride"], padding=layer["padding"])(x)
    if t == "pad":
        return L.ZeroPadding2D(tuple(tuple(a) for a in layer["amounts"]))(x)
    if t == "residual":
        y = x
        for inner in layer["branch"]:
            y = _apply(inner, y)
        y = L.Add()([x, y])
        return L.ReLU()(y) if layer["relu"] else y
    if t == "reshape":
        return L.Reshape(tuple(layer["target"]))(x)
    if t == "flatten":
        return L.Flatten()(x)
    if t == "gap":
        return L.GlobalAveragePooling2D()(x)
    if t == "dense":
        return L.Dense(layer["units"], use_bias=layer["bias"], activation=layer["activation"])(x)
    if t == "softmax":
        return L.Softmax()(x)
    raise ValueError(f"unknown layer type {t!r}")


def _randomize_weights(model, rng: np.random.Generator) -> None:
    """Random weights scaled by fan-in (so activations keep a sensible range) and random biases."""
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        fresh = []
        for w in weights:
            if w.ndim == 1:                                    # bias
                fresh.append(rng.uniform(-0.3, 0.3, w.shape))
            else:                                              # kernel: all but the last axis feed it
                fan_in = int(np.prod(w.shape[:-1]))
                if w.ndim == 4 and layer.__class__.__name__ == "DepthwiseConv2D":
                    fan_in = w.shape[0] * w.shape[1]
                fresh.append(rng.normal(0.0, 1.0 / np.sqrt(fan_in), w.shape))
        layer.set_weights([f.astype(np.float32) for f in fresh])


@contextlib.contextmanager
def _silenced():
    """The converter prints through Python (keras export) and through C (MLIR): swallow both, and
    show what was said only if conversion fails."""
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = [os.dup(1), os.dup(2)]
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        text = io.StringIO()
        try:
            with contextlib.redirect_stdout(text), contextlib.redirect_stderr(text), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        except Exception as exc:
            sink.seek(0)
            said = sink.read().decode(errors="replace") + text.getvalue()
            raise RuntimeError(f"model conversion failed: {exc}\n{said[-4000:]}") from exc
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def convert(model_spec: ModelSpec) -> bytes:
    """Build the spec in Keras with random weights and convert it to a full-int8 .tflite."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    with _silenced():
        import keras
        import tensorflow as tf

        rng = np.random.default_rng([model_spec.seed, 7919])
        inputs = keras.Input(model_spec.input_shape, batch_size=1)
        x = inputs
        for layer in model_spec.layers:
            x = _apply(layer, x)
        model = keras.Model(inputs, x)
        _randomize_weights(model, rng)
        samples = [rng.uniform(-1.0, 1.0, (1, *model_spec.input_shape)).astype(np.float32)
                   for _ in range(CALIBRATION_SAMPLES)]

        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([s] for s in samples)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if not model_spec.float_io:
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        if model_spec.dense_per_tensor:
            converter._experimental_disable_per_channel_quantization_for_dense_layers = True
        return converter.convert()


def generate(seed: int, kind: str | None = None, cache_dir: str | Path | None = None) -> bytes:
    """The .tflite bytes of the model `spec(seed, kind)`, converted once per cache_dir."""
    model_spec = spec(seed, kind)
    if cache_dir is None:
        return convert(model_spec)
    path = Path(cache_dir) / f"{model_spec.kind}-{seed}-{model_spec.key()}.tflite"
    if path.is_file():
        return path.read_bytes()
    data = convert(model_spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(path)               # atomic: a reader never sees half a model
    return data


def pytest_cache_dir(config) -> Path:
    """A cache folder that survives between pytest runs (under .pytest_cache), or a fresh
    temporary one when pytest runs without its cache plugin (-p no:cacheprovider)."""
    cache = getattr(config, "cache", None)
    if cache is None:
        return Path(tempfile.mkdtemp(prefix="tinybench-modelgen-"))
    return Path(cache.mkdir("tinybench-modelgen"))
