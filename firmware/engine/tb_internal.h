/*
 * Helpers shared by the kernels (internal to the engine): fixed-point arithmetic, window bounds
 * and the int8 dot product of the inner loops.
 *
 * These reproduce tflite-micro's integer requantization: a Q31 significand and a power-of-two
 * exponent, a saturating rounding doubling high multiply, and a rounding (half away from zero)
 * divide by a power of two. Signed right shifts are arithmetic on every compiler we target.
 */
#ifndef TB_INTERNAL_H
#define TB_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "tb_dsp.h"

#define TB_INT32_MIN (-2147483647 - 1)
#define TB_INT32_MAX 2147483647

/* The saturating rounding doubling high multiply: a * b / 2^31 rounded to nearest, where
 * tflite-micro nudges by 2^30 and truncates toward zero. For every product that equals adding 2^30
 * and shifting right arithmetically (checked exhaustively on edge cases against the truncating
 * form), which is cheaper; (-2^31) * (-2^31) saturates. */
static inline int32_t tb_srdhm(int32_t a, int32_t b)
{
#if TB_USE_DSP
    return tb_srdhm_dsp(a, b);
#else
    if (a == TB_INT32_MIN && b == TB_INT32_MIN) {
        return TB_INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
#endif
}

/* x / 2^exponent rounded to nearest, halves away from zero (exponent 0..31). */
static inline int32_t tb_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^(shift - 31) as tflite-micro computes it (the left shift wraps). */
static inline int32_t tb_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier,
                                                          int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = left - shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return tb_rounding_divide_by_pot(tb_srdhm(shifted, multiplier), right);
}

static inline int32_t tb_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* int32 accumulator -> int8 output: scale, add the output zero point, clamp. */
static inline int8_t tb_requantize(int32_t acc, int32_t multiplier, int32_t shift,
                                   int32_t output_offset, int32_t act_min, int32_t act_max)
{
    const int32_t scaled = tb_multiply_by_quantized_multiplier(acc, multiplier, shift);
    return (int8_t)tb_clamp(scaled + output_offset, act_min, act_max);
}

/* Byte copy and fill for the short runs of im2col: word moves (memcpy of 4 bytes is one load or
 * store where unaligned access is allowed) where newlib-nano's memcpy and memset go byte by
 * byte. The last bytes are spelled out: compilers turn a byte loop into a library call. */
static inline void tb_copy_bytes(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        memcpy(dst, src, 4);
    }
    if (n & 2) {
        memcpy(dst, src, 2);
        dst += 2;
        src += 2;
    }
    if (n & 1) {
        *dst = *src;
    }
}

static inline void tb_fill_bytes(int8_t *dst, int8_t value, int32_t n)
{
    const uint32_t word = (uint32_t)(uint8_t)value * 0x01010101u;
    for (; n >= 4; n -= 4, dst += 4) {
        memcpy(dst, &word, 4);
    }
    if (n & 2) {
        memcpy(dst, &word, 2);
        dst += 2;
    }
    if (n & 1) {
        *dst = value;
    }
}

/* tb_copy_bytes for n >= 4 in whole words only: the last word overlaps the one before, which
 * rewrites a few bytes with the same values instead of spelling out the tail. */
static inline void tb_copy_run(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i;
    for (i = 0; i + 4 < n; i += 4) {
        memcpy(dst + i, src + i, 4);
    }
    memcpy(dst + n - 4, src + n - 4, 4);
}

/* First tap k >= 0 of a window starting at `origin` (step `dilation`) that lies inside [0, size). */
static inline int32_t tb_first_tap(int32_t origin, int32_t dilation)
{
    return origin >= 0 ? 0 : (-origin + dilation - 1) / dilation;
}

/* One past the last tap k < taps with origin + k * dilation < size. */
static inline int32_t tb_end_tap(int32_t origin, int32_t dilation, int32_t size, int32_t taps)
{
    int32_t end;
    if (origin >= size) {
        return 0;
    }
    end = (size - origin + dilation - 1) / dilation;
    return end < taps ? end : taps;
}

/* What turns the int32 sum of a weight row into an int8 output (CONV_2D, FULLY_CONNECTED):
 * out[r] = requantize(bias[r] + acc_offset + sum). */
typedef struct {
    const int32_t *bias;            /* per row */
    int32_t acc_offset;             /* added to every row */
    int32_t per_channel;            /* 1: multiplier/shift per row; 0: one value */
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t output_offset, act_min, act_max;
    int32_t fast;                   /* tb_dsp_requantize is exact for every row (DSP only) */
} tb_output_stage;

/* Sets stage->fast for `rows` rows (once per call: it reads every row's scale). */
void tb_output_stage_check(tb_output_stage *stage, int32_t rows);

/* out[r] = stage(sum over i < n of x[i] * w[r * n + i]) for every row r < rows: the hot loop of
 * CONV_2D (one im2col column per output pixel) and FULLY_CONNECTED (tb_matvec.c). */
void tb_matvec_s8(const tb_output_stage *stage, const int8_t *w, int32_t n, int32_t rows,
                  const int8_t *x, int8_t *out);

/* Cortex-M DSP only (TB_MATVEC_PAIRS): the same for two columns at once, unpacked beforehand
 * into `pair` (tb_widen_column in tb_dsp.h, once for all rows; n + 4 words for n >= 4 values),
 * into out0 and out1: each weight load serves both columns. `scales`: every row's constants
 * from tb_dsp_stage_scales when stage->fast, else NULL. */
#if TB_USE_DSP
void tb_dsp_stage_scales(const tb_output_stage *stage, int32_t rows, tb_dsp_scale *scales);
void tb_matvec2_s8(const tb_output_stage *stage, const tb_dsp_scale *scales, const int8_t *w,
                   int32_t n, int32_t rows, const uint32_t *pair, int8_t *out0, int8_t *out1);
#endif
#define TB_MATVEC_PAIRS TB_USE_DSP

#endif /* TB_INTERNAL_H */
