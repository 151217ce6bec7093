"""Every supported op, built by hand as a one- or two-op .tflite, with the options the converter
rarely produces (per-tensor conv weights, RELU_N1_TO_1, depth multiplier 3, dilation with strides,
batched dense layers, weight zero points, MEAN over other axes, PADV2, SOFTMAX with beta, QUANTIZE and
DEQUANTIZE inside the graph): the host build of the compiled C, the numpy golden model and
tflite-micro must agree on every layer, byte for byte. Unsupported ops and options must be refused
with an error that names the operator."""
from __future__ import annotations

import flatbuffers
import numpy as np
import pytest

from tinybench.compiler import compile as compiler
from tinybench.compiler.lower import lower
from tinybench.errors import UserError
from tinybench.tflite import read_graph

fb = pytest.importorskip("ai_edge_litert.schema_py_generated")

SAME, VALID = 0, 1
NONE, RELU, RELU_N1_TO_1, RELU6, TANH = 0, 1, 2, 3, 4
_TYPES = {np.dtype(np.int8): 9, np.dtype(np.int32): 2, np.dtype(np.float32): 0,
          np.dtype(np.int16): 7}
INT8_STD = 74.0     # standard deviation of uniform random int8 values


class ModelBuilder:
    """A single-subgraph .tflite written with the flatbuffer schema's object API."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.tensors, self.operators, self.codes, self.buffers = [], [], [], [fb.BufferT()]

    def tensor(self, shape, dtype=np.int8, scale=None, zero_point=0, data=None, axis=0) -> int:
        t = fb.TensorT()
        t.shape = [int(d) for d in shape]
        t.type = _TYPES[np.dtype(dtype)]
        t.name = f"t{len(self.tensors)}".encode()
        buffer = fb.BufferT()
        if data is not None:
            raw = np.ascontiguousarray(np.asarray(data, dtype=dtype).reshape(shape)).tobytes()
            buffer.data = np.frombuffer(raw, dtype=np.uint8)
        self.buffers.append(buffer)
        t.buffer = len(self.buffers) - 1
        if scale is not None:
            scales = np.atleast_1d(np.asarray(scale, dtype=np.float64))
            q = fb.QuantizationParametersT()
            q.scale = [float(s) for s in scales]
            q.zeroPoint = [int(z) for z in np.broadcast_to(zero_point, scales.shape)]
            q.quantizedDimension = axis
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def activation(self, shape, scale, zero_point=0, dtype=np.int8) -> int:
        return self.tensor(shape, dtype, scale, zero_point)

    def weights(self, shape, scales, axis=0, zero_point=0) -> int:
        data = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        return self.tensor(shape, np.int8, scales, zero_point, data, axis)

    def bias(self, channels, scales) -> int:
        data = self.rng.integers(-3000, 3000, size=channels).astype(np.int32)
        return self.tensor([channels], np.int32, scales, 0, data)

    def ints(self, values, shape=None) -> int:
        values = np.asarray(values, dtype=np.int32)
        return self.tensor(shape or values.shape, np.int32, data=values)

    def op(self, opcode: str, inputs, outputs, options: str | None = None, **fields) -> None:
        code = getattr(fb.BuiltinOperator, opcode)
        if code not in self.codes:
            self.codes.append(code)
        o = fb.OperatorT()
        o.opcodeIndex = self.codes.index(code)
        o.inputs, o.outputs = list(inputs), list(outputs)
        if options:
            o.builtinOptionsType = getattr(fb.BuiltinOptions, options)
            o.builtinOptions = getattr(fb, options + "T")()
            for key, value in fields.items():
                setattr(o.builtinOptions, key, value)
        self.operators.append(o)

    def build(self, inputs, outputs) -> bytes:
        model = fb.ModelT()
        model.version = 3
        model.description = b"tinybench compiler test"
        model.buffers = self.buffers
        model.operatorCodes = []
        for code in self.codes:
            c = fb.OperatorCodeT()
            c.builtinCode = code
            c.deprecatedBuiltinCode = min(code, 127)
            c.version = 1
            model.operatorCodes.append(c)
        sub = fb.SubGraphT()
        sub.tensors, sub.operators = self.tensors, self.operators
        sub.inputs, sub.outputs = list(inputs), list(outputs)
        model.subgraphs = [sub]
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _output_scale(in_scale, w_scales, taps) -> float:
    """An output scale that keeps typical accumulators inside the int8 range, unsaturated."""
    return float(in_scale * np.mean(w_scales) * np.sqrt(taps) * INT8_STD * INT8_STD / 40)


# ---- the cases ---------------------------------------------------------------------------------

def conv(per_channel=True, stride=(1, 1), dilation=(1, 1), padding=SAME, act=NONE, bias=True,
         shape=(1, 9, 11, 3), kernel=(3, 3), filters=5, seed=0):
    m = ModelBuilder(seed)
    s_in, zp_in = 0.05, int(m.rng.integers(-20, 20))
    s_w = m.rng.uniform(0.005, 0.02, filters if per_channel else 1)
    x = m.activation(shape, s_in, zp_in)
    w = m.weights((filters, *kernel, shape[3]), s_w)
    b = m.bias(filters, s_in * np.broadcast_to(s_w, filters)) if bias else -1
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if padding == SAME:
        out_hw = [-(-n // s) for n, s in zip(shape[1:3], stride)]
    else:
        out_hw = [(n - e) // s + 1 for n, e, s in zip(shape[1:3], eff, stride)]
    y = m.activation((1, *out_hw, filters), _output_scale(s_in, s_w, np.prod(kernel) * shape[3]),
                     int(m.rng.integers(-10, 10)))
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", padding=padding, strideH=stride[0],
         strideW=stride[1], dilationHFactor=dilation[0], dilationWFactor=dilation[1],
         fusedActivationFunction=act)
    return m.build([x], [y])


def depthwise(multiplier=1, channels=3, stride=(1, 1), dilation=(1, 1), padding=SAME, act=NONE,
              shape_hw=(8, 7), kernel=(3, 3), per_channel=True, bias=True, seed=0):
    m = ModelBuilder(seed)
    out_c = channels * multiplier
    s_in, zp_in = 0.04, int(m.rng.integers(-20, 20))
    s_w = m.rng.uniform(0.01, 0.03, out_c if per_channel else 1)
    x = m.activation((1, *shape_hw, channels), s_in, zp_in)
    w = m.weights((1, *kernel, out_c), s_w, axis=3)
    b = m.bias(out_c, s_in * np.broadcast_to(s_w, out_c)) if bias else -1
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    if padding == SAME:
        out_hw = [-(-n // s) for n, s in zip(shape_hw, stride)]
    else:
        out_hw = [(n - e) // s + 1 for n, e, s in zip(shape_hw, eff, stride)]
    y = m.activation((1, *out_hw, out_c), _output_scale(s_in, s_w, np.prod(kernel)),
                     int(m.rng.integers(-10, 10)))
    m.op("DEPTHWISE_CONV_2D", [x, w, b], [y], "DepthwiseConv2DOptions", padding=padding,
         strideH=stride[0], strideW=stride[1], dilationHFactor=dilation[0],
         dilationWFactor=dilation[1], depthMultiplier=multiplier, fusedActivationFunction=act)
    return m.build([x], [y])


def dense(batches=1, depth=24, units=7, per_channel=False, weight_zero_point=0, act=NONE,
          bias=True, keep_num_dims=False, seed=0):
    m = ModelBuilder(seed)
    s_in = 0.06
    s_w = m.rng.uniform(0.005, 0.02, units if per_channel else 1)
    x = m.activation((batches, depth), s_in, int(m.rng.integers(-30, 30)))
    w = m.weights((units, depth), s_w, zero_point=weight_zero_point)
    b = m.bias(units, s_in * np.broadcast_to(s_w, units)) if bias else -1
    y = m.activation((batches, units), _output_scale(s_in, s_w, depth), 4)
    m.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions",
         fusedActivationFunction=act, keepNumDims=keep_num_dims)
    return m.build([x], [y])


def pool(kind="AVERAGE_POOL_2D", size=(3, 3), stride=(2, 2), padding=SAME, act=NONE,
         shape=(1, 9, 8, 5)):
    m = ModelBuilder(1)
    x = m.activation(shape, 0.1, 7)
    if padding == SAME:
        out_hw = [-(-n // s) for n, s in zip(shape[1:3], stride)]
    else:
        out_hw = [(n - k) // s + 1 for n, k, s in zip(shape[1:3], size, stride)]
    y = m.activation((shape[0], *out_hw, shape[3]), 0.1, 7)
    m.op(kind, [x], [y], "Pool2DOptions", padding=padding, strideH=stride[0], strideW=stride[1],
         filterHeight=size[0], filterWidth=size[1], fusedActivationFunction=act)
    return m.build([x], [y])


def mean(axes=(1, 2), keep_dims=True, same_quantization=False, shape=(1, 5, 6, 8)):
    m = ModelBuilder(2)
    x = m.activation(shape, 0.07, -9)
    out_shape = [1 if i in axes else d for i, d in enumerate(shape)] if keep_dims else \
        [d for i, d in enumerate(shape) if i not in axes]
    y = m.activation(out_shape, 0.07 if same_quantization else 0.031,
                     -9 if same_quantization else 12)
    m.op("MEAN", [x, m.ints(list(axes))], [y], "ReducerOptions", keepDims=keep_dims)
    return m.build([x], [y])


def add(act=NONE, scales=(0.05, 0.08, 0.1)):
    """ADD(x, f(x)) with f a 1x1 depthwise conv: two inputs of their own scales, one graph input."""
    m = ModelBuilder(3)
    shape = (1, 6, 5, 4)
    x = m.activation(shape, scales[0], 3)
    fx = m.activation(shape, scales[1], -7)
    y = m.activation(shape, scales[2], 2)
    w_scales = np.full(4, 0.02)
    m.op("DEPTHWISE_CONV_2D", [x, m.weights((1, 1, 1, 4), w_scales, axis=3),
                               m.bias(4, scales[0] * w_scales)], [fx],
         "DepthwiseConv2DOptions", padding=SAME, strideH=1, strideW=1, depthMultiplier=1,
         dilationHFactor=1, dilationWFactor=1)
    m.op("ADD", [x, fx], [y], "AddOptions", fusedActivationFunction=act)
    return m.build([x], [y])


def softmax(beta=1.0, shape=(3, 7), in_scale=0.1):
    m = ModelBuilder(4)
    x = m.activation(shape, in_scale, 5)
    y = m.activation(shape, 1 / 256, -128)
    m.op("SOFTMAX", [x], [y], "SoftmaxOptions", beta=beta)
    return m.build([x], [y])


def pad(paddings=((0, 0), (1, 2), (0, 1), (0, 0)), value=None, shape=(1, 4, 5, 3)):
    m = ModelBuilder(5)
    x = m.activation(shape, 0.05, -3)
    out = [d + a + b for d, (a, b) in zip(shape, paddings)]
    y = m.activation(out, 0.05, -3)
    inputs = [x, m.ints(paddings)]
    if value is None:
        m.op("PAD", inputs, [y], "PadOptions")
    else:
        m.op("PADV2", inputs + [m.tensor([1], np.int8, 0.05, -3, np.array([value]))], [y],
             "PadV2Options")
    return m.build([x], [y])


def requantize():
    m = ModelBuilder(6)
    x = m.activation((1, 50), 0.05, 3)
    y = m.activation((1, 50), 0.03, -10)
    m.op("QUANTIZE", [x], [y], "QuantizeOptions")
    return m.build([x], [y])


def dequantize_quantize():
    m = ModelBuilder(7)
    x = m.activation((1, 40), 0.05, 3)
    f = m.tensor((1, 40), np.float32)
    y = m.activation((1, 40), 0.07, -4)
    m.op("DEQUANTIZE", [x], [f], "DequantizeOptions")
    m.op("QUANTIZE", [f], [y], "QuantizeOptions")
    return m.build([x], [y])


def reshape_then_dense():
    m = ModelBuilder(8)
    x = m.activation((1, 2, 3, 4), 0.05, 1)
    r = m.activation((1, 24), 0.05, 1)
    m.op("RESHAPE", [x, m.ints([1, 24])], [r], "ReshapeOptions", newShape=[1, 24])
    s_w = np.full(1, 0.01)
    w = m.weights((6, 24), s_w)
    y = m.activation((1, 6), _output_scale(0.05, s_w, 24), 0)
    m.op("FULLY_CONNECTED", [r, w, -1], [y], "FullyConnectedOptions")
    return m.build([x], [y])


CASES = {
    "conv per-tensor RELU_N1_TO_1 stride 2": lambda: conv(per_channel=False, stride=(2, 2),
                                                          act=RELU_N1_TO_1),
    "conv valid stride 2x1 dilation 1x2 RELU6": lambda: conv(stride=(2, 1), dilation=(1, 2),
                                                             padding=VALID, act=RELU6),
    "conv same dilation 2 no bias RELU": lambda: conv(dilation=(2, 2), act=RELU, bias=False),
    "conv 5x2 kernel one input channel": lambda: conv(kernel=(5, 2), shape=(1, 12, 6, 1),
                                                      filters=9, stride=(2, 2)),
    "conv 1x1 stride 2": lambda: conv(kernel=(1, 1), stride=(2, 2), filters=6,
                                      shape=(1, 7, 7, 20)),
    "conv many channels": lambda: conv(shape=(1, 5, 5, 21), filters=19, act=RELU6),
    "depthwise multiplier 3 dilation 2": lambda: depthwise(multiplier=3, channels=2,
                                                           dilation=(2, 2), act=RELU),
    "depthwise 20 channels stride 2 valid": lambda: depthwise(channels=20, stride=(2, 2),
                                                              padding=VALID, act=RELU6),
    # (no depthwise case without bias: tflite-micro's depthwise kernel crashes on one)
    "depthwise 32 channels per-tensor": lambda: depthwise(channels=32, per_channel=False),
    "depthwise 5x3 kernel multiplier 2 stride 2x1": lambda: depthwise(
        multiplier=2, channels=3, kernel=(5, 3), stride=(2, 1), shape_hw=(9, 6)),
    "dense batched per-channel RELU": lambda: dense(batches=3, per_channel=True, act=RELU),
    "dense weight zero point": lambda: dense(weight_zero_point=3, depth=33, units=9),
    "dense no bias RELU_N1_TO_1": lambda: dense(bias=False, act=RELU_N1_TO_1, units=4),
    "avg pool same 3x3 stride 2 RELU6": lambda: pool(act=RELU6),
    "avg pool valid 2x3 stride 1x2": lambda: pool(size=(2, 3), stride=(1, 2), padding=VALID),
    "max pool same 3x2 RELU": lambda: pool("MAX_POOL_2D", size=(3, 2), stride=(2, 1), act=RELU),
    "max pool valid 2x2": lambda: pool("MAX_POOL_2D", size=(2, 2), stride=(2, 2),
                                       padding=VALID),
    "mean over H,W keep dims": lambda: mean(),
    "mean over H,W dropped dims": lambda: mean(keep_dims=False),
    "mean same quantization": lambda: mean(same_quantization=True, keep_dims=False),
    "mean over channels": lambda: mean(axes=(3,), keep_dims=False),
    "mean over W": lambda: mean(axes=(2,), keep_dims=True),
    "add different scales RELU6": lambda: add(act=RELU6),
    "add plain": lambda: add(scales=(0.02, 0.02, 0.04)),
    "softmax beta 1 several rows": lambda: softmax(),
    "softmax beta 0.5 wide": lambda: softmax(beta=0.5, shape=(2, 40), in_scale=0.3),
    "softmax small input scale": lambda: softmax(shape=(1, 10), in_scale=0.01),
    "pad 4-D": lambda: pad(),
    "padv2 constant": lambda: pad(value=17),
    "pad 2-D": lambda: pad(paddings=((0, 0), (3, 1)), shape=(1, 6)),
    "quantize int8 to int8": requantize,
    "dequantize then quantize": dequantize_quantize,
    "reshape then dense": reshape_then_dense,
}


@pytest.mark.parametrize("name", list(CASES))
def test_c_golden_and_tflm_agree_layer_by_layer(tmp_path, name):
    path = tmp_path / "model.tflite"
    path.write_bytes(CASES[name]())
    result = compiler.check(path, count=12, seed=3)
    assert result.ok, result.format()


def test_cases_cover_every_supported_op():
    from tinybench.compiler.lower import LOWERERS
    seen = set()
    for make in CASES.values():
        seen |= {op.opcode for op in read_graph(make()).operators}
    assert set(LOWERERS) <= seen, f"untested: {sorted(set(LOWERERS) - seen)}"


# ---- refusals: unsupported ops, options and types name the operator ---------------------------

def _single(opcode, options=None, in_dtype=np.int8, **fields):
    m = ModelBuilder(9)
    x = m.activation((1, 10), 0.05, 0, dtype=in_dtype)
    y = m.activation((1, 10), 0.05, 0, dtype=in_dtype)
    m.op(opcode, [x], [y], options, **fields)
    return m.build([x], [y])


def _lowering_error(data: bytes) -> str:
    with pytest.raises(UserError) as err:
        lower(read_graph(data))
    return str(err.value)


def test_unsupported_op_names_op_index_and_the_supported_ops():
    message = _lowering_error(_single("TANH"))
    assert "operator 0 (TANH)" in message
    assert "CONV_2D" in message and "SOFTMAX" in message


def test_unsupported_fused_activation_is_refused():
    data = conv()
    graph = read_graph(data)
    graph.operators[0].options["fused_activation_function"] = "TANH"
    with pytest.raises(UserError, match=r"operator 0 \(CONV_2D\): fused activation TANH"):
        lower(graph)


def test_int16_activations_are_refused():
    m = ModelBuilder(10)
    x = m.activation((1, 4, 4, 2), 0.01, 0, dtype=np.int16)
    y = m.activation((1, 2, 2, 2), 0.01, 0, dtype=np.int16)
    m.op("MAX_POOL_2D", [x], [y], "Pool2DOptions", padding=VALID, strideH=2, strideW=2,
         filterHeight=2, filterWidth=2)
    message = _lowering_error(m.build([x], [y]))
    assert "int16" in message and "int8" in message


def test_conv_weights_with_a_zero_point_are_refused():
    graph = read_graph(conv())
    weights = graph.tensor(graph.operators[0].inputs[1])
    weights.zero_point = np.full_like(weights.zero_point, 2)
    with pytest.raises(UserError, match=r"operator 0 \(CONV_2D\).*zero point"):
        lower(graph)


def test_add_with_broadcasting_is_refused():
    m = ModelBuilder(11)
    a = m.activation((1, 4, 4, 3), 0.05, 0)
    b = m.tensor((1, 1, 1, 3), np.int8, 0.05, 0, np.array([1, 2, 3]))
    y = m.activation((1, 4, 4, 3), 0.05, 0)
    m.op("ADD", [a, b], [y], "AddOptions")
    message = _lowering_error(m.build([a], [y]))
    assert "operator 0 (ADD)" in message
