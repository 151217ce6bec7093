"""Lowering: a TFLite Graph -> a list of Steps, one kernel call each, with every parameter computed
ahead of time in TFLM's integer conventions.

What is decided here, once, for both back ends (the C engine and the numpy golden model):
- requantization multipliers: a Q31 significand and a power-of-two exponent per output channel,
  from the real scale computed in double precision exactly as tflite-micro does;
- padding offsets (SAME / VALID, with strides and dilation), zero-point offsets, activation ranges;
- for MEAN and SOFTMAX, the derived constants TFLM computes in its Prepare/Eval.

Anything outside what the engine implements is a UserError that names the op, its index and what
is supported: the compiler never produces a silently wrong result.
"""
from __future__ import annotations

import math

import numpy as np

from tinybench.compiler.ir import Step
from tinybench.errors import UserError
from tinybench.tflite import Graph, Operator, Tensor, macs_of

INT8_MIN, INT8_MAX = -128, 127
SUPPORTED_ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


# ----------------------------------------------------------------------------------------------
# TFLM's fixed-point conventions (facts of its integer semantics, implemented here)

def round_half_away(x: float) -> int:
    """std::round: halves go away from zero (Python's round() goes to even)."""
    whole = math.trunc(x)
    frac = x - whole                     # exact for any double
    if frac >= 0.5:
        whole += 1
    elif frac <= -0.5:
        whole -= 1
    return int(whole)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """A positive real multiplier -> (Q31 significand, exponent): real ~= m * 2**(e - 31).

    frexp gives a significand in [0.5, 1); it is rounded half away from zero to 31 bits; a
    significand that rounds up to 2**31 is halved; exponents below -31 flush the multiplier to 0.
    """
    if real == 0.0:
        return 0, 0
    significand, exponent = math.frexp(real)
    fixed = round_half_away(significand * (1 << 31))
    if fixed == 1 << 31:
        fixed //= 2
        exponent += 1
    if exponent < -31:
        return 0, 0
    return int(fixed), int(exponent)


def quantize_float32(value: float, scale: float, zero_point: int) -> int:
    """zero_point + round(value / scale), the division in float32 as TFLM does it."""
    q = np.float32(value) / np.float32(scale)
    return int(zero_point) + round_half_away(float(q))


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """The int8 output range a fused activation clamps to (NONE: the whole int8 range)."""
    lo, hi = INT8_MIN, INT8_MAX
    if activation in ("RELU", "RELU6", "RELU_N1_TO_1"):
        lower = -1.0 if activation == "RELU_N1_TO_1" else 0.0
        lo = max(lo, quantize_float32(lower, scale, zero_point))
    if activation == "RELU6":
        hi = min(hi, quantize_float32(6.0, scale, zero_point))
    elif activation == "RELU_N1_TO_1":
        hi = min(hi, quantize_float32(1.0, scale, zero_point))
    return lo, hi


def out_size(padding: str, in_size: int, filter_size: int, stride: int, dilation: int) -> int:
    effective = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    return (in_size - effective + stride) // stride


def pad_before(in_size: int, filter_size: int, stride: int, dilation: int, out: int) -> int:
    """Rows (or columns) of implicit padding before the input: half the total, rounded down."""
    effective = (filter_size - 1) * dilation + 1
    total = (out - 1) * stride + effective - in_size
    return max(total // 2, 0)


# ----------------------------------------------------------------------------------------------
# checks shared by the op lowerers

def _fail(op: Operator, message: str) -> UserError:
    return UserError(f"operator {op.index} ({op.opcode}): {message}")


def _scale(t: Tensor) -> float:
    return float(t.scale[0])


def _zero_point(t: Tensor) -> int:
    return int(t.zero_point[0])


def _tensor(graph: Graph, op: Operator, position: int, what: str) -> Tensor:
    inputs = op.inputs
    if position >= len(inputs) or inputs[position] < 0:
        raise _fail(op, f"the {what} input is missing")
    return graph.tensor(inputs[position])


def _activation_tensor(graph: Graph, op: Operator, t: Tensor, what: str, dtype=np.int8) -> Tensor:
    if t.is_constant:
        raise _fail(op, f"the {what} ({t.name}) is a constant; tinybench supports constant "
                        f"weights and biases only, not constant activations")
    if np.dtype(t.dtype) != np.dtype(dtype):
        raise _fail(op, f"the {what} ({t.name}) is {np.dtype(t.dtype).name}; this op is "
                        f"supported with {np.dtype(dtype).name} {what} only (full-int8 models)")
    if np.dtype(dtype) == np.int8:
        if t.scale is None or t.zero_point is None:
            raise _fail(op, f"the {what} ({t.name}) has no quantization parameters")
        if t.per_channel:
            raise _fail(op, f"the {what} ({t.name}) is quantized per channel; activations must "
                            f"be quantized per tensor")
    return t


def _input(graph, op, position=0, what="input", dtype=np.int8) -> Tensor:
    return _activation_tensor(graph, op, _tensor(graph, op, position, what), what, dtype)


def _output(graph, op, dtype=np.int8) -> Tensor:
    if len(op.outputs) != 1:
        raise _fail(op, f"has {len(op.outputs)} outputs; one is supported")
    return _activation_tensor(graph, op, graph.tensor(op.outputs[0]), "output", dtype)


def _activation(op: Operator, output: Tensor) -> tuple[int, int]:
    act = op.options.get("fused_activation_function", "NONE")
    if act not in SUPPORTED_ACTIVATIONS:
        raise _fail(op, f"fused activation {act} is not supported "
                        f"(supported: {', '.join(SUPPORTED_ACTIVATIONS)})")
    return activation_range(act, _scale(output), _zero_point(output))


def _weights(graph, op, position, what, ndim) -> Tensor:
    w = _tensor(graph, op, position, what)
    if not w.is_constant:
        raise _fail(op, f"the {what} ({w.name}) is not a constant tensor; tinybench needs "
                        f"constant weights")
    if np.dtype(w.dtype) != np.int8:
        raise _fail(op, f"the {what} ({w.name}) is {np.dtype(w.dtype).name}; int8 weights are "
                        f"supported (a float model needs post-training int8 quantization first)")
    if w.scale is None:
        raise _fail(op, f"the {what} ({w.name}) has no quantization parameters")
    if len(w.shape) != ndim:
        raise _fail(op, f"the {what} has shape {list(w.shape)}; {ndim} dimensions are supported")
    return w


def _bias(graph, op, position, channels) -> int:
    """Tensor index of the int32 bias, or -1 when the op has none."""
    if position >= len(op.inputs) or op.inputs[position] < 0:
        return -1
    b = graph.tensor(op.inputs[position])
    if not b.is_constant or np.dtype(b.dtype) != np.int32:
        raise _fail(op, f"the bias ({b.name}) must be a constant int32 tensor "
                        f"(it is {np.dtype(b.dtype).name}{'' if b.is_constant else ', not constant'})")
    if b.size != channels:
        raise _fail(op, f"the bias has {b.size} values for {channels} output channels")
    return b.index


def _channel_multipliers(op, input_scale: float, w: Tensor, output_scale: float, channels: int,
                         channel_axis: int, symmetric: bool = True):
    """Per-channel (or per-tensor) requantization: input * filter scale / output scale, in double.

    Returns (per_channel flag, multipliers int32 array, shifts int32 array)."""
    if symmetric and np.any(w.zero_point != 0):
        raise _fail(op, "the weights have a nonzero zero point; symmetric int8 weights are supported")
    scales = w.scale
    if len(scales) > 1:
        if w.quantized_dimension != channel_axis or len(scales) != channels:
            raise _fail(op, f"the weights are quantized along axis {w.quantized_dimension} with "
                            f"{len(scales)} scales; per-channel weights must be quantized along "
                            f"axis {channel_axis} ({channels} scales)")
    pairs = [quantize_multiplier(input_scale * float(s) / output_scale) for s in scales]
    multipliers = np.array([m for m, _ in pairs], dtype=np.int32)
    shifts = np.array([s for _, s in pairs], dtype=np.int32)
    return int(len(scales) > 1), multipliers, shifts


def _check_shape(op: Operator, output: Tensor, expected: tuple) -> None:
    if tuple(output.shape) != tuple(expected):
        raise _fail(op, f"the output shape {list(output.shape)} does not match the computed "
                        f"{list(expected)}; the model looks corrupt")


def _nhwc(op: Operator, t: Tensor, what: str) -> tuple[int, int, int, int]:
    if len(t.shape) != 4:
        raise _fail(op, f"the {what} has shape {list(t.shape)}; 4-D NHWC tensors are supported")
    return tuple(int(d) for d in t.shape)


def _padding(op: Operator) -> str:
    padding = op.options.get("padding", "SAME")
    if padding not in ("SAME", "VALID"):
        raise _fail(op, f"padding {padding} is not supported (supported: SAME, VALID)")
    return padding


# ----------------------------------------------------------------------------------------------
# one lowerer per TFLite op

def _conv_like(graph: Graph, op: Operator, depthwise: bool) -> Step:
    x = _input(graph, op)
    y = _output(graph, op)
    w = _weights(graph, op, 1, "weights", 4)
    batches, in_h, in_w, in_c = _nhwc(op, x, "input")
    stride_h, stride_w = int(op.options.get("stride_h", 1)), int(op.options.get("stride_w", 1))
    dil_h = int(op.options.get("dilation_h_factor", 1))
    dil_w = int(op.options.get("dilation_w_factor", 1))
    if min(stride_h, stride_w, dil_h, dil_w) < 1:
        raise _fail(op, "strides and dilation factors must be at least 1")
    padding = _padding(op)
    if depthwise:
        _, kh, kw, out_c = w.shape  # [1, kh, kw, out_c]
        if w.shape[0] != 1:
            raise _fail(op, f"depthwise weights of shape {list(w.shape)}; [1, kh, kw, channels] "
                            f"is supported")
        multiplier = int(op.options.get("depth_multiplier", 0)) or out_c // max(in_c, 1)
        if in_c * multiplier != out_c:
            raise _fail(op, f"{in_c} input channels x depth multiplier {multiplier} does not "
                            f"give the {out_c} output channels of the weights")
        channel_axis = 3
    else:
        out_c, kh, kw, filter_c = w.shape  # [out_c, kh, kw, in_c]
        if filter_c != in_c:
            raise _fail(op, f"grouped convolution ({in_c} input channels, weights for "
                            f"{filter_c}) is not supported")
        multiplier = 1
        channel_axis = 0
    out_h = out_size(padding, in_h, kh, stride_h, dil_h)
    out_w = out_size(padding, in_w, kw, stride_w, dil_w)
    _check_shape(op, y, (batches, out_h, out_w, out_c))
    per_channel, mult, shift = _channel_multipliers(op, _scale(x), w, _scale(y), out_c,
                                                    channel_axis)
    act_min, act_max = _activation(op, y)
    bias = _bias(graph, op, 2, out_c)
    params = dict(
        batches=batches, in_h=in_h, in_w=in_w, in_c=in_c, out_h=out_h, out_w=out_w, out_c=out_c,
        filter_h=kh, filter_w=kw, stride_h=stride_h, stride_w=stride_w,
        dilation_h=dil_h, dilation_w=dil_w,
        pad_top=pad_before(in_h, kh, stride_h, dil_h, out_h),
        pad_left=pad_before(in_w, kw, stride_w, dil_w, out_w),
        input_offset=-_zero_point(x), output_offset=_zero_point(y),
        act_min=act_min, act_max=act_max, per_channel=per_channel,
        multiplier=mult, shift=shift)
    if depthwise:
        params["depth_multiplier"] = multiplier
        return Step(op.index, op.opcode, "depthwise_conv2d_s8", "tb_depthwise_params", params,
                    inputs=[x.index], constants=[w.index, bias], outputs=[y.index],
                    macs=macs_of(graph, op))
    params["bias"] = _folded_bias(op, graph, bias, w.data.reshape(out_c, -1), -_zero_point(x))
    pointwise = kh == 1 and kw == 1
    return Step(op.index, op.opcode, "conv2d_s8", "tb_conv_params", params,
                inputs=[x.index], constants=[w.index], outputs=[y.index],
                macs=macs_of(graph, op), scratch_bytes=0 if pointwise else kh * kw * in_c)


def _folded_bias(op, graph, bias: int, weights: np.ndarray, input_offset: int,
                 filter_offset: int = 0) -> np.ndarray:
    """bias + the constant part of sum((x + input_offset) * (w + filter_offset)) per output:
    input_offset * sum(w) + depth * input_offset * filter_offset (the engine adds the rest)."""
    rows = weights.astype(np.int64)
    folded = (input_offset * rows.sum(axis=1)
              + rows.shape[1] * input_offset * filter_offset)
    if bias >= 0:
        folded = folded + graph.tensor(bias).data.astype(np.int64).reshape(-1)
    if np.any(np.abs(folded) >= 1 << 31):
        raise _fail(op, "the bias with the input zero point folded in exceeds int32")
    return folded.astype(np.int32)


def _conv2d(graph, op):
    return _conv_like(graph, op, depthwise=False)


def _depthwise_conv2d(graph, op):
    return _conv_like(graph, op, depthwise=True)


def _fully_connected(graph: Graph, op: Operator) -> Step:
    x = _input(graph, op)
    y = _output(graph, op)
    w = _weights(graph, op, 1, "weights", 2)
    fmt = op.options.get("weights_format", 0)
    if fmt not in (0, "DEFAULT"):
        raise _fail(op, f"weights format {fmt} is not supported (supported: DEFAULT)")
    out_depth, in_depth = (int(d) for d in w.shape)
    if x.size % in_depth:
        raise _fail(op, f"the input has {x.size} elements, not a multiple of the "
                        f"{in_depth} the weights take")
    batches = x.size // in_depth
    if y.size != batches * out_depth:
        raise _fail(op, f"the output has {y.size} elements; {batches} x {out_depth} expected")
    # per-tensor dense weights may have a zero point (tflite-micro applies it); per-channel may not
    per_tensor = len(w.scale) == 1
    filter_offset = -int(w.zero_point[0]) if per_tensor else 0
    per_channel, mult, shift = _channel_multipliers(op, _scale(x), w, _scale(y), out_depth, 0,
                                                    symmetric=not per_tensor)
    act_min, act_max = _activation(op, y)
    bias = _folded_bias(op, graph, _bias(graph, op, 2, out_depth), w.data, -_zero_point(x),
                        filter_offset)
    params = dict(batches=batches, in_depth=in_depth, out_depth=out_depth,
                  input_offset=-_zero_point(x), filter_offset=filter_offset,
                  output_offset=_zero_point(y), act_min=act_min, act_max=act_max,
                  per_channel=per_channel, multiplier=mult, shift=shift, bias=bias)
    return Step(op.index, op.opcode, "fully_connected_s8", "tb_fc_params", params,
                inputs=[x.index], constants=[w.index], outputs=[y.index],
                macs=macs_of(graph, op))


def _pool(graph: Graph, op: Operator, kind: str) -> Step:
    x = _input(graph, op)
    y = _output(graph, op)
    if _scale(x) != _scale(y) or _zero_point(x) != _zero_point(y):
        raise _fail(op, "input and output quantization differ; int8 pooling needs them equal")
    batches, in_h, in_w, channels = _nhwc(op, x, "input")
    kh, kw = int(op.options.get("filter_height", 1)), int(op.options.get("filter_width", 1))
    stride_h, stride_w = int(op.options.get("stride_h", 1)), int(op.options.get("stride_w", 1))
    if min(kh, kw, stride_h, stride_w) < 1:
        raise _fail(op, "filter sizes and strides must be at least 1")
    padding = _padding(op)
    out_h = out_size(padding, in_h, kh, stride_h, 1)
    out_w = out_size(padding, in_w, kw, stride_w, 1)
    _check_shape(op, y, (batches, out_h, out_w, channels))
    act_min, act_max = _activation(op, y)
    params = dict(batches=batches, in_h=in_h, in_w=in_w, channels=channels,
                  out_h=out_h, out_w=out_w, filter_h=kh, filter_w=kw,
                  stride_h=stride_h, stride_w=stride_w,
                  pad_top=pad_before(in_h, kh, stride_h, 1, out_h),
                  pad_left=pad_before(in_w, kw, stride_w, 1, out_w),
                  act_min=act_min, act_max=act_max)
    return Step(op.index, op.opcode, f"{kind}_pool_s8", "tb_pool_params", params,
                inputs=[x.index], outputs=[y.index])


def _average_pool(graph, op):
    return _pool(graph, op, "avg")


def _max_pool(graph, op):
    return _pool(graph, op, "max")


def _constant_ints(graph: Graph, op: Operator, position: int, what: str) -> np.ndarray:
    t = _tensor(graph, op, position, what)
    if not t.is_constant or np.dtype(t.dtype) not in (np.dtype(np.int32), np.dtype(np.int64)):
        raise _fail(op, f"the {what} must be a constant int32 tensor")
    return t.data.astype(np.int64)


def _mean(graph: Graph, op: Operator) -> Step:
    x = _input(graph, op)
    y = _output(graph, op)
    dims = [int(d) for d in x.shape]
    axes = sorted({int(a) + len(dims) if a < 0 else int(a)
                   for a in _constant_ints(graph, op, 1, "axis").reshape(-1)})
    if not axes or axes[0] < 0 or axes[-1] >= len(dims):
        raise _fail(op, f"axis {axes} is out of range for a {len(dims)}-D input")
    if axes != list(range(axes[0], axes[-1] + 1)):
        raise _fail(op, f"reducing over axes {axes} is not supported; the reduced axes must be "
                        f"adjacent (for example [1, 2], global average pooling)")
    outer = int(np.prod(dims[:axes[0]], dtype=np.int64))
    count = int(np.prod(dims[axes[0]:axes[-1] + 1], dtype=np.int64))
    inner = int(np.prod(dims[axes[-1] + 1:], dtype=np.int64))
    if y.size != outer * inner:
        raise _fail(op, f"the output has {y.size} elements; {outer * inner} expected")
    # The scale ratio with 1/count folded in, as tflite-micro derives it at run time (also when
    # input and output share their quantization: measured, it then rounds rather than
    # truncates). 31 + shift >= 0 because quantize_multiplier never returns a shift below -31.
    multiplier, shift = quantize_multiplier(_scale(x) / _scale(y))
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    multiplier = int((multiplier << extra) // count)
    shift -= extra
    params = dict(outer=outer, count=count, inner=inner,
                  input_zero_point=_zero_point(x), output_zero_point=_zero_point(y),
                  multiplier=multiplier, shift=shift)
    return Step(op.index, op.opcode, "mean_s8", "tb_mean_params", params,
                inputs=[x.index], constants=[], outputs=[y.index])


def _add(graph: Graph, op: Operator) -> Step:
    a = _input(graph, op, 0, "first input")
    b = _input(graph, op, 1, "second input")
    y = _output(graph, op)
    if tuple(a.shape) != tuple(b.shape) or a.size != y.size:
        raise _fail(op, f"adding shapes {list(a.shape)} and {list(b.shape)} needs broadcasting, "
                        f"which is not supported; ADD of two tensors of the same shape is")
    left_shift = 20
    twice_max = 2.0 * max(_scale(a), _scale(b))
    m1, s1 = quantize_multiplier(_scale(a) / twice_max)
    m2, s2 = quantize_multiplier(_scale(b) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << left_shift) * _scale(y)))
    act_min, act_max = _activation(op, y)
    params = dict(size=y.size, input1_offset=-_zero_point(a), input2_offset=-_zero_point(b),
                  output_offset=_zero_point(y), left_shift=left_shift,
                  input1_multiplier=m1, input1_shift=s1, input2_multiplier=m2, input2_shift=s2,
                  output_multiplier=mo, output_shift=so, act_min=act_min, act_max=act_max)
    return Step(op.index, op.opcode, "add_s8", "tb_add_params", params,
                inputs=[a.index, b.index], outputs=[y.index], in_place=True)


def _reshape(graph: Graph, op: Operator) -> Step:
    x = _tensor(graph, op, 0, "input")
    y = graph.tensor(op.outputs[0])
    _activation_tensor(graph, op, x, "input", x.dtype)
    if np.dtype(x.dtype) not in (np.dtype(np.int8), np.dtype(np.float32)):
        raise _fail(op, f"{np.dtype(x.dtype).name} tensors are not supported (int8, float32)")
    if x.nbytes != y.nbytes or x.dtype != y.dtype:
        raise _fail(op, "the output does not hold the same data as the input")
    if x.scale is not None and y.scale is not None and (
            _scale(x) != _scale(y) or _zero_point(x) != _zero_point(y)):
        raise _fail(op, "input and output quantization differ; a reshape cannot requantize")
    return Step(op.index, op.opcode, "reshape", "tb_copy_params", dict(bytes=x.nbytes),
                inputs=[x.index], outputs=[y.index], in_place=True)


def _softmax(graph: Graph, op: Operator) -> Step:
    x = _input(graph, op)
    y = _output(graph, op)
    if abs(_scale(y) - 1 / 256) > 1e-3 / 256 or _zero_point(y) != -128:
        raise _fail(op, f"int8 softmax needs output scale 1/256 and zero point -128 "
                        f"(the output has {_scale(y):g} / {_zero_point(y)})")
    depth = int(x.shape[-1]) if x.shape else 1
    scaled_diff_integer_bits = 5
    beta = float(np.float32(op.options.get("beta", 1.0)))
    real = min(beta * _scale(x) * (1 << (31 - scaled_diff_integer_bits)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise _fail(op, f"input scale {_scale(x):g} x beta {beta:g} is too small for the "
                        f"int8 softmax")
    radius = math.floor(((1 << scaled_diff_integer_bits) - 1)
                        * (1 << (31 - scaled_diff_integer_bits)) / (1 << left_shift))
    params = dict(rows=x.size // depth, depth=depth, input_multiplier=multiplier,
                  input_left_shift=left_shift, diff_min=-radius)
    return Step(op.index, op.opcode, "softmax_s8", "tb_softmax_params", params,
                inputs=[x.index], outputs=[y.index])


def _pad(graph: Graph, op: Operator) -> Step:
    x = _input(graph, op)
    y = _output(graph, op)
    if _scale(x) != _scale(y) or _zero_point(x) != _zero_point(y):
        raise _fail(op, "input and output quantization differ; PAD cannot requantize")
    pads = _constant_ints(graph, op, 1, "paddings")
    rank = len(x.shape)
    if rank > 4 or pads.shape != (rank, 2) or np.any(pads < 0):
        raise _fail(op, f"paddings {pads.tolist()} for a {rank}-D input are not supported "
                        f"(up to 4-D, non-negative)")
    pad_value = _zero_point(y)
    if op.opcode == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        value = graph.tensor(op.inputs[2])
        if not value.is_constant or np.dtype(value.dtype) != np.int8:
            raise _fail(op, "the pad value must be a constant int8 tensor")
        pad_value = int(value.data.reshape(-1)[0])
    lead = 4 - rank   # work in 4-D: missing leading dimensions are 1, unpadded
    in_shape = np.array([1] * lead + list(x.shape), dtype=np.int32)
    before = np.array([0] * lead + pads[:, 0].tolist(), dtype=np.int32)
    after = np.array([0] * lead + pads[:, 1].tolist(), dtype=np.int32)
    _check_shape(op, y, tuple(int(d) for d in (in_shape + before + after)[lead:]))
    params = dict(in_shape=in_shape, pad_before=before, pad_after=after, pad_value=pad_value)
    return Step(op.index, op.opcode, "pad_s8", "tb_pad_params", params,
                inputs=[x.index], outputs=[y.index])


def _quantize(graph: Graph, op: Operator) -> Step:
    x = _tensor(graph, op, 0, "input")
    y = _output(graph, op)
    if np.dtype(x.dtype) == np.float32:
        _activation_tensor(graph, op, x, "input", np.float32)
        params = dict(size=y.size, scale=np.float32(_scale(y)), zero_point=_zero_point(y))
        return Step(op.index, op.opcode, "quantize_f32_s8", "tb_affine_params", params,
                    inputs=[x.index], outputs=[y.index])
    _input(graph, op)
    multiplier, shift = quantize_multiplier(_scale(x) / _scale(y))
    params = dict(size=y.size, input_offset=-_zero_point(x), output_offset=_zero_point(y),
                  multiplier=multiplier, shift=shift)
    return Step(op.index, op.opcode, "requantize_s8", "tb_requantize_params", params,
                inputs=[x.index], outputs=[y.index], in_place=True)


def _dequantize(graph: Graph, op: Operator) -> Step:
    x = _input(graph, op)
    y = _output(graph, op, dtype=np.float32)
    params = dict(size=x.size, scale=np.float32(_scale(x)), zero_point=_zero_point(x))
    return Step(op.index, op.opcode, "dequantize_s8_f32", "tb_affine_params", params,
                inputs=[x.index], outputs=[y.index])


LOWERERS = {
    "ADD": _add,
    "AVERAGE_POOL_2D": _average_pool,
    "CONV_2D": _conv2d,
    "DEPTHWISE_CONV_2D": _depthwise_conv2d,
    "DEQUANTIZE": _dequantize,
    "FULLY_CONNECTED": _fully_connected,
    "MAX_POOL_2D": _max_pool,
    "MEAN": _mean,
    "PAD": _pad,
    "PADV2": _pad,
    "QUANTIZE": _quantize,
    "RESHAPE": _reshape,
    "SOFTMAX": _softmax,
}


def int8_interface(graph: Graph) -> Graph:
    """The graph as the engine runs it: int8 in, int8 out.

    A full-int8 model converted with a float32 interface starts with QUANTIZE (float32 -> int8)
    and ends with DEQUANTIZE (int8 -> float32). Those two are left to the caller (the firmware
    quantizes its input with TB_INPUT_SCALE / TB_INPUT_ZERO_POINT anyway), so the compiled model
    keeps the int8 API. Anything else is returned unchanged."""
    operators, inputs, outputs = list(graph.operators), list(graph.inputs), list(graph.outputs)

    def consumers(t):
        return [op for op in operators if t in op.inputs]

    if len(inputs) == 1 and np.dtype(graph.tensor(inputs[0]).dtype) == np.float32:
        users = consumers(inputs[0])
        if (len(users) == 1 and users[0].opcode == "QUANTIZE"
                and np.dtype(graph.tensor(users[0].outputs[0]).dtype) == np.int8):
            operators.remove(users[0])
            inputs = [users[0].outputs[0]]
    if len(outputs) == 1 and np.dtype(graph.tensor(outputs[0]).dtype) == np.float32:
        makers = [op for op in operators if outputs[0] in op.outputs]
        if (len(makers) == 1 and makers[0].opcode == "DEQUANTIZE"
                and np.dtype(graph.tensor(makers[0].inputs[0]).dtype) == np.int8):
            operators.remove(makers[0])
            outputs = [makers[0].inputs[0]]
    if operators == graph.operators:
        return graph
    return Graph(graph.tensors, operators, inputs, outputs, graph.description)


def _check_interface(graph: Graph) -> None:
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UserError(f"the model has {len(graph.inputs)} inputs and {len(graph.outputs)} "
                        f"outputs; tinybench compiles models with one input and one output")
    for role, t in (("input", graph.input), ("output", graph.output)):
        if np.dtype(t.dtype) != np.int8:
            raise UserError(f"the model {role} ({t.name}) is {np.dtype(t.dtype).name}; tinybench "
                            f"compiles full-int8 models: quantize it first (`tinybench "
                            f"quantize`, or post-training int8 quantization of every op)")
        if t.scale is None or t.per_channel:
            raise UserError(f"the model {role} ({t.name}) has no per-tensor quantization")
    if not graph.operators:
        raise UserError("the model has no operators")


def lower(graph: Graph) -> list[Step]:
    """One Step per operator, in graph order; UserError for anything the engine does not support.
    (Pass int8_interface(graph) to accept models with a float32 interface.)"""
    _check_interface(graph)
    steps = []
    for op in graph.operators:
        lowerer = LOWERERS.get(op.opcode)
        if lowerer is None:
            raise UserError(f"operator {op.index} ({op.opcode}) is not supported; tinybench "
                            f"compiles {', '.join(sorted(LOWERERS))}")
        steps.append(lowerer(graph, op))
    return steps
