/*
 * SOFTMAX int8 -> int8 (scale 1/256, zero point -128) in fixed point, as tflite-micro computes it:
 * differences to the row maximum are scaled to Q5.26, exponentiated to Q0.31 (exact bits of
 * exp(-2^k/4) for the integer part, a Taylor polynomial around -1/8 for the rest), summed in
 * Q12.19, and divided through a Newton-Raphson reciprocal.
 */
#include "tb_engine.h"
#include "tb_internal.h"

#define TB_Q0_ONE TB_INT32_MAX   /* 1.0 in Q0.31 saturates to the largest value */

/* x * 2^exponent, saturating at the int32 limits (exponent 1..30). */
static int32_t tb_saturating_left_shift(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
    if (x > threshold) {
        return TB_INT32_MAX;
    }
    if (x < -threshold) {
        return TB_INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out. */
static int32_t tb_exp_on_interval(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668;   /* round(2^31 * exp(-1/8)) */
    const int32_t one_third = 715827883;               /* round(2^31 / 3) */
    const int32_t x = a + (1 << 28);                   /* a + 1/8 */
    const int32_t x2 = tb_srdhm(x, x);
    const int32_t x3 = tb_srdhm(x2, x);
    const int32_t x4 = tb_srdhm(x2, x2);
    const int32_t x4_over_4 = tb_rounding_divide_by_pot(x4, 2);
    const int32_t poly =
        tb_rounding_divide_by_pot(tb_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth + tb_srdhm(exp_minus_one_eighth, x + poly);
}

/* exp(a) for a <= 0 in Q5.26; result Q0.31. */
static int32_t tb_exp_on_negative_values(int32_t a)
{
    /* round(2^31 * exp(-2^k / 4)) for k = 0..6, applied when bit 24 + k of -a is set */
    static const int32_t barrel[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535,
                                      720401, 242};
    const int32_t quarter = 1 << 24;
    const int32_t a_mod_quarter_minus_quarter = (a & (quarter - 1)) - quarter;
    const int32_t remainder = a_mod_quarter_minus_quarter - a;
    int32_t result = tb_exp_on_interval(tb_saturating_left_shift(a_mod_quarter_minus_quarter, 5));
    int32_t k;
    for (k = 0; k < 7; ++k) {
        if (remainder & (1 << (24 + k))) {
            result = tb_srdhm(result, barrel[k]);
        }
    }
    return a == 0 ? TB_Q0_ONE : result;
}

/* 1 / (1 + a) for a in [0, 1) in Q0.31, returned halved in Q0.31 (that is, Q1.30 of the value). */
static int32_t tb_one_over_one_plus_x(int32_t a)
{
    const int64_t sum = (int64_t)a + TB_Q0_ONE;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    const int32_t one_q2 = 1 << 29;                     /* 1.0 in Q2.29 */
    /* initial estimate 48/17 - 32/17 * d in Q2.29 */
    int32_t x = 1515870810 + tb_srdhm(half_denominator, -1010580540);
    int32_t i;
    for (i = 0; i < 3; ++i) {
        const int32_t product = tb_srdhm(half_denominator, x);
        x = x + tb_saturating_left_shift(tb_srdhm(x, one_q2 - product), 2);
    }
    return tb_saturating_left_shift(x, 1);
}

static int32_t tb_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

void tb_softmax_s8(const tb_softmax_params *p, const int8_t *input, int8_t *output)
{
    int32_t r, c;

    for (r = 0; r < p->rows; ++r) {
        const int8_t *in = input + r * p->depth;
        int8_t *out = output + r * p->depth;
        int32_t max_value = -128, sum = 0, headroom, bits_over_unit, reciprocal;

        for (c = 0; c < p->depth; ++c) {
            max_value = in[c] > max_value ? in[c] : max_value;
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_value;
            if (diff >= p->diff_min) {
                const int32_t scaled = tb_srdhm(diff * (1 << p->input_left_shift),
                                                p->input_multiplier);
                sum += tb_rounding_divide_by_pot(tb_exp_on_negative_values(scaled), 12);
            }
        }
        /* reciprocal of the Q12.19 sum: normalise into [1, 2), invert, keep the exponent */
        headroom = tb_leading_zeros((uint32_t)sum);
        bits_over_unit = 12 - headroom;
        reciprocal = tb_one_over_one_plus_x(
            (int32_t)(((uint32_t)sum << headroom) - 0x80000000u));
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_value;
            int32_t value = -128;
            if (diff >= p->diff_min) {
                const int32_t scaled = tb_srdhm(diff * (1 << p->input_left_shift),
                                                p->input_multiplier);
                const int32_t e = tb_exp_on_negative_values(scaled);
                value = tb_rounding_divide_by_pot(tb_srdhm(reciprocal, e),
                                                  bits_over_unit + 31 - 8) - 128;
                value = tb_clamp(value, -128, 127);
            }
            out[c] = (int8_t)value;
        }
    }
}
