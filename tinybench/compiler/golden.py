"""The golden model: the lowered Steps executed by numpy kernels with TFLM's integer arithmetic.

Every kernel here has the name of its C counterpart (tb_<kernel> in firmware/engine) and reads the
same params, so a disagreement between C and numpy points at one kernel. Integer values are held in
int64 arrays and wrapped to int32 wherever the C code works in int32.
"""
from __future__ import annotations

import numpy as np

from tinybench.compiler.ir import Step
from tinybench.tflite import Graph

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


# ----------------------------------------------------------------------------------------------
# fixed-point primitives (element-wise on int64 arrays holding int32 values)

def wrap32(x):
    return ((np.asarray(x, dtype=np.int64) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _trunc_div_pow2_31(x):
    """x / 2**31 rounded toward zero, as C integer division does."""
    return np.where(x >= 0, x >> 31, -((-x) >> 31))


def srdhm(a, b):
    """Saturating rounding doubling high multiply: a * b / 2**31 nudged by 2**30 (toward zero
    for negative products) and truncated, which rounds ties toward +infinity; the single overflow
    case (-2**31 * -2**31) saturates."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    result = _trunc_div_pow2_31(ab + nudge)
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, result)


def rounding_divide_by_pot(x, exponent):
    """x / 2**exponent rounded to nearest, halves away from zero (exponent 0..31)."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x, multiplier, shift):
    """x * multiplier * 2**(shift - 31): a left shift (wrapping in int32), the doubling high
    multiply, then a rounding right shift."""
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    x = wrap32(np.asarray(x, dtype=np.int64) << left)
    return rounding_divide_by_pot(srdhm(x, multiplier), right)


def saturating_left_shift(x, exponent: int):
    """x * 2**exponent saturated to int32 (gemmlowp's SaturatingRoundingMultiplyByPOT, exponent>0)."""
    x = np.asarray(x, dtype=np.int64)
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX,
                    np.where(x < -threshold, INT32_MIN, wrap32(x << exponent)))


def c_div(a, b):
    """C integer division (toward zero) of an int64 array by positive ints."""
    a = np.asarray(a, dtype=np.int64)
    return np.sign(a) * (np.abs(a) // b)


def _requantize(acc, p):
    """Per-channel (or per-tensor: one value broadcast) scaling of the int32 accumulators."""
    out = multiply_by_quantized_multiplier(acc, p["multiplier"], p["shift"]) + p["output_offset"]
    return np.clip(out, p["act_min"], p["act_max"]).astype(np.int8)


# ----------------------------------------------------------------------------------------------
# kernels: (params, *inputs, *constants) -> output array

def _patches(x, p, pad_value):
    """[B, OH, OW, KH, KW, C] windows of the NHWC input, out-of-bounds taps set to pad_value."""
    b, h, w, c = x.shape
    kh, kw = p["filter_h"], p["filter_w"]
    sh, sw = p["stride_h"], p["stride_w"]
    dh, dw = p.get("dilation_h", 1), p.get("dilation_w", 1)
    oh, ow = p["out_h"], p["out_w"]
    top, left = p["pad_top"], p["pad_left"]
    bottom = max(0, (oh - 1) * sh + (kh - 1) * dh + 1 - h - top)
    right = max(0, (ow - 1) * sw + (kw - 1) * dw + 1 - w - left)
    padded = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)),
                    constant_values=pad_value)
    taps = np.empty((b, oh, ow, kh, kw, c), dtype=x.dtype)
    for ky in range(kh):
        for kx in range(kw):
            taps[:, :, :, ky, kx, :] = padded[:, ky * dh: ky * dh + (oh - 1) * sh + 1: sh,
                                              kx * dw: kx * dw + (ow - 1) * sw + 1: sw, :]
    return taps


def _with_bias(acc, bias):
    return acc if bias is None else acc + bias.astype(np.int64)


def conv2d_s8(p, x, weights):
    x = x.reshape(p["batches"], p["in_h"], p["in_w"], p["in_c"]).astype(np.int64)
    # padded taps hold the input zero point; the input offset is folded into params["bias"]
    taps = _patches(x, p, -p["input_offset"])
    cols = taps.reshape(taps.shape[:3] + (-1,)).astype(np.float64)
    w = weights.reshape(p["out_c"], -1).astype(np.float64)
    acc = np.rint(cols @ w.T).astype(np.int64)    # exact: |sums| stay far below 2**53
    return _requantize(acc + p["bias"], p)


def depthwise_conv2d_s8(p, x, weights, bias):
    x = x.reshape(p["batches"], p["in_h"], p["in_w"], p["in_c"]).astype(np.int64)
    taps = _patches(x + p["input_offset"], p, 0)
    taps = np.repeat(taps, p["depth_multiplier"], axis=-1)  # channel c*m + j reads input c
    w = weights.reshape(p["filter_h"], p["filter_w"], p["out_c"]).astype(np.int64)
    acc = np.einsum("bhwyxc,yxc->bhwc", taps, w)
    return _requantize(_with_bias(acc, bias), p)


def fully_connected_s8(p, x, weights):
    x = x.reshape(p["batches"], p["in_depth"]).astype(np.int64)
    w = weights.reshape(p["out_depth"], p["in_depth"]).astype(np.int64)
    # the offsets' constant part is folded into params["bias"]; the input-dependent part:
    acc = x @ w.T + p["filter_offset"] * x.sum(axis=1, keepdims=True)
    return _requantize(acc + p["bias"], p)


def _pool_windows(p, x, pad_value):
    x = x.reshape(p["batches"], p["in_h"], p["in_w"], p["channels"]).astype(np.int64)
    return _patches(x, p, pad_value)


def avg_pool_s8(p, x):
    sums = _pool_windows(p, x, 0).sum(axis=(3, 4))
    ones = np.ones((1, p["in_h"], p["in_w"], 1), dtype=np.int64)
    counts = _patches(ones, p, 0).sum(axis=(3, 4))
    half = counts // 2
    avg = np.where(sums > 0, c_div(sums + half, counts), c_div(sums - half, counts))
    return np.clip(avg, p["act_min"], p["act_max"]).astype(np.int8)


def max_pool_s8(p, x):
    peak = _pool_windows(p, x, -(1 << 40)).max(axis=(3, 4))
    return np.clip(peak, p["act_min"], p["act_max"]).astype(np.int8)


def mean_s8(p, x):
    sums = x.reshape(p["outer"], p["count"], p["inner"]).astype(np.int64).sum(axis=1)
    shifted = wrap32(sums - p["input_zero_point"] * p["count"])
    out = multiply_by_quantized_multiplier(shifted, p["multiplier"], p["shift"])
    out = out + p["output_zero_point"]
    return np.clip(out, -128, 127).astype(np.int8)


def add_s8(p, a, b):
    def scaled(x, offset, mult, shift):
        shifted = (x.astype(np.int64) + offset) * (1 << p["left_shift"])
        return multiply_by_quantized_multiplier(shifted, mult, shift)
    total = (scaled(a, p["input1_offset"], p["input1_multiplier"], p["input1_shift"])
             + scaled(b, p["input2_offset"], p["input2_multiplier"], p["input2_shift"]))
    out = multiply_by_quantized_multiplier(wrap32(total), p["output_multiplier"],
                                           p["output_shift"]) + p["output_offset"]
    return np.clip(out, p["act_min"], p["act_max"]).astype(np.int8)


def reshape(p, x):
    return x.copy()


def pad_s8(p, x):
    x = x.reshape(tuple(int(d) for d in p["in_shape"]))
    widths = list(zip(p["pad_before"].tolist(), p["pad_after"].tolist()))
    return np.pad(x, widths, constant_values=p["pad_value"]).astype(np.int8)


def quantize_f32_s8(p, x):
    q = x.astype(np.float32) / np.float32(p["scale"])      # float32 division, as in C
    whole = np.trunc(q)                                     # round half away from zero, exactly
    frac = q - whole
    rounded = whole + (frac >= 0.5) - (frac <= -0.5)
    rounded = np.clip(rounded.astype(np.float64), -(1 << 30), 1 << 30)
    out = rounded.astype(np.int64) + p["zero_point"]
    return np.clip(out, -128, 127).astype(np.int8)


def requantize_s8(p, x):
    out = multiply_by_quantized_multiplier(x.astype(np.int64) + p["input_offset"],
                                           p["multiplier"], p["shift"]) + p["output_offset"]
    return np.clip(out, -128, 127).astype(np.int8)


def dequantize_s8_f32(p, x):
    return (np.float32(p["scale"]) * (x.astype(np.int64) - p["zero_point"]).astype(np.float32))


# ---- softmax: gemmlowp-style fixed point (Q0.31 results, Q5.26 inputs, Q12.19 sums) ----------

_EXP_BARREL = [  # round(2**31 * exp(-2**k / 4)) applied when bit k of the remainder is set
    (0, 1672461947), (1, 1302514674), (2, 790015084), (3, 290630308), (4, 39332535),
    (5, 720401), (6, 242)]


def _exp_on_interval(a):
    """exp(a) for a in [-1/4, 0), Q0.31 in and out: a Taylor expansion around -1/8."""
    exp_minus_one_eighth = 1895147668      # round(2**31 * exp(-1/8))
    one_third = 715827883                  # round(2**31 / 3)
    x = wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(wrap32(srdhm(wrap32(x4_over_4 + x3), one_third) + x2), 1)
    return wrap32(exp_minus_one_eighth + srdhm(exp_minus_one_eighth, wrap32(x + poly)))


def exp_on_negative_values(a):
    """exp(a) for a <= 0 given in Q5.26; the result is Q0.31."""
    fractional_bits = 26
    quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_quarter = wrap32((a & (quarter - 1)) - quarter)
    result = _exp_on_interval(saturating_left_shift(a_mod_quarter_minus_quarter, 5))
    remainder = wrap32(a_mod_quarter_minus_quarter - a)
    for k, multiplier in _EXP_BARREL:
        if k + fractional_bits - 2 > 30:
            break
        bit = (remainder & (1 << (fractional_bits - 2 + k))) != 0
        result = np.where(bit, srdhm(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def _one_over_one_plus_x(a):
    """1 / (1 + a) for a in [0, 1) in Q0.31, by Newton-Raphson; the result is Q0.31 (halved)."""
    half_denominator = (a + INT32_MAX)          # rounding half sum of a and one
    half_denominator = np.where(half_denominator >= 0, (half_denominator + 1) // 2,
                                -((-half_denominator + 1) // 2))
    x = wrap32(1515870810 + srdhm(half_denominator, -1010580540))   # 48/17 - 32/17 * d, Q2.29
    one_q2 = 1 << 29
    for _ in range(3):
        product = srdhm(half_denominator, x)
        correction = srdhm(x, wrap32(one_q2 - product))
        x = wrap32(x + saturating_left_shift(correction, 2))
    return saturating_left_shift(x, 1)


def softmax_s8(p, x):
    rows = x.reshape(p["rows"], p["depth"]).astype(np.int64)
    diff = rows - rows.max(axis=1, keepdims=True)
    valid = diff >= p["diff_min"]
    scaled = srdhm(wrap32(diff << p["input_left_shift"]), p["input_multiplier"])
    exps = exp_on_negative_values(scaled)
    sums = np.where(valid, rounding_divide_by_pot(exps, 12), 0).sum(axis=1, keepdims=True)
    sums = wrap32(sums)
    # reciprocal of the Q12.19 sum: normalise into [1, 2), invert, remember the exponent
    headroom = 32 - np.frexp(sums.astype(np.float64))[1].astype(np.int64)  # leading zeros
    bits_over_unit = 12 - headroom
    shifted_minus_one = wrap32((sums << headroom) - (1 << 31))
    reciprocal = _one_over_one_plus_x(shifted_minus_one)
    out = rounding_divide_by_pot(srdhm(reciprocal, exps), bits_over_unit + 31 - 8) - 128
    out = np.where(valid, np.clip(out, -128, 127), -128)
    return out.astype(np.int8)


# ----------------------------------------------------------------------------------------------

def run_step(graph: Graph, step: Step, values: dict) -> np.ndarray:
    kernel = globals()[step.kernel]
    args = [values[t] for t in step.inputs]
    args += [graph.tensor(c).data if c >= 0 else None for c in step.constants]
    out = kernel(step.params, *args)
    t = graph.tensor(step.outputs[0])
    return np.asarray(out).astype(t.dtype, copy=False).reshape(t.shape)


def run(graph: Graph, steps: list[Step], input_int8) -> dict[int, np.ndarray]:
    """Execute the steps on one input; every activation tensor by index (the input included)."""
    x = np.asarray(input_int8)
    if x.size != graph.input.size:
        raise ValueError(f"the input has {x.size} elements; the model takes {graph.input.size}")
    values = {graph.inputs[0]: x.astype(np.int8).reshape(graph.input.shape)}
    for step in steps:
        values[step.outputs[0]] = run_step(graph, step, values)
    return values
