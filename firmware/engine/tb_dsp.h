/*
 * The Cortex-M DSP extension (Armv7E-M: Cortex-M4, M7, M33 with DSP) for the engine's hot loops,
 * internal to the engine. TB_USE_DSP is 1 where the compiler targets it (__ARM_FEATURE_DSP) and
 * the build did not ask for the portable C with -DTB_NO_DSP.
 *
 * The instructions used: SXTB16 sign-extends bytes 0 and 2 of a word into two int16 halves (with
 * ROR #8 first, bytes 1 and 3); SXTAB16 does the same and adds a pair of int16; SMLAD multiplies
 * two pairs of int16 and adds both products to an int32 accumulator; SMLABB / SMLATT multiply the
 * bottom (top) halves only; QADD adds with saturation. Every sum here is an exact integer sum, so
 * the DSP paths give the portable C's results bit for bit.
 */
#ifndef TB_DSP_H
#define TB_DSP_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(TB_NO_DSP)
#define TB_USE_DSP 1
#else
#define TB_USE_DSP 0
#endif

#if TB_USE_DSP
#include <arm_acle.h>

/* Four bytes from any address: a single LDR (Armv7-M loads words unaligned). */
static inline uint32_t tb_load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void tb_store4(int8_t *p, uint32_t v) { memcpy(p, &v, 4); }

/* Bytes 0 and 2 of v as int16 pairs. */
static inline uint32_t tb_sxtb16(uint32_t v) { return (uint32_t)__sxtb16((int32_t)v); }

/* Bytes 1 and 3 of v as int16 pairs (GCC 12 has no __ror to fold into SXTB16's rotation). */
static inline uint32_t tb_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* pair + bytes 0 and 2 of v; pair + bytes 1 and 3 of v (halfword-wise). */
static inline uint32_t tb_sxtab16(uint32_t pair, uint32_t v)
{
    return (uint32_t)__sxtab16((int32_t)pair, (int32_t)v);
}

static inline uint32_t tb_sxtab16_ror8(uint32_t pair, uint32_t v)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(pair), "r"(v));
    return r;
}

static inline int32_t tb_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlad((int32_t)a, (int32_t)b, acc);
}

static inline int32_t tb_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlabb((int32_t)a, (int32_t)b, acc);
}

static inline int32_t tb_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return __smlatt((int32_t)a, (int32_t)b, acc);
}

/* tb_srdhm (tb_internal.h) without a branch: the doubled high word of a * b + 2^30 saturates in
 * exactly the one case tflite-micro saturates, a == b == INT32_MIN (every other product keeps
 * |a * b + 2^30| below 2^62). */
static inline int32_t tb_srdhm_dsp(int32_t a, int32_t b)
{
    const int64_t product = (int64_t)a * b + ((int64_t)1 << 30);
    const int32_t high = (int32_t)(product >> 32);
    return __qadd(high, high) + (int32_t)((uint32_t)product >> 31);
}
/*
 * A cheaper requantization, exact (tflite-micro's bits, as tb_requantize in tb_internal.h) where
 * the scale goes down (shift < 0, the usual case) and the accumulator stays below 2^30 in
 * magnitude; tb_dsp_scale_exact says whether that holds for a whole layer, once per call. Then
 * y = tb_srdhm_dsp(acc, multiplier) has |y| < 2^30, so the rounding divide by 2^e adds without
 * overflow: floor((y + 2^(e-1) - [y < 0]) / 2^e), halves away from zero, is
 * (y + 2^(e-1) + (y >> 31)) >> e with an arithmetic shift.
 */
#define TB_DSP_ACC_LIMIT (1 << 30)

/* Whether tb_dsp_scale is exact for `channels` channels (bias[c] + bias_offset added to sums
 * below sum_bound in magnitude; shift[0] alone unless per_channel). */
static inline int32_t tb_dsp_scale_exact(const int32_t *bias, int32_t bias_offset,
                                         const int32_t *shift, int32_t per_channel,
                                         int32_t channels, int32_t sum_bound)
{
    const int32_t room = TB_DSP_ACC_LIMIT - sum_bound;
    int32_t c;
    if (sum_bound >= TB_DSP_ACC_LIMIT) {
        return 0;
    }
    for (c = 0; c < channels; ++c) {
        const int32_t s = shift[per_channel ? c : 0];
        const int64_t b = (int64_t)(bias ? bias[c] : 0) + bias_offset;
        if (s >= 0 || s < -31 || b <= -room || b >= room) {
            return 0;
        }
    }
    return 1;
}

/* acc * multiplier * 2^shift rounded as tflite-micro does, when tb_dsp_scale_exact holds. */
static inline int32_t tb_dsp_scale(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t y = tb_srdhm_dsp(acc, multiplier);
    const int32_t half = (int32_t)(1u << (uint32_t)(-shift - 1));
    return (y + half + (y >> 31)) >> -shift;
}

/* v saturated to [-128, 127]. */
static inline uint32_t tb_ssat8(int32_t v)
{
    uint32_t r;
    __asm__("ssat   %0, #8, %1" : "=r"(r) : "r"(v));
    return r;
}

/* Four values saturated to int8 and packed into a word, a in byte 0 .. d in byte 3. */
static inline uint32_t tb_dsp_pack4(int32_t a, int32_t b, int32_t c, int32_t d)
{
    return (tb_ssat8(a) & 0xFFu) | ((tb_ssat8(b) & 0xFFu) << 8) | ((tb_ssat8(c) & 0xFFu) << 16)
           | (tb_ssat8(d) << 24);
}

/* Each int8 lane of v clamped to [lo, hi] (lo4, hi4: the bounds in every byte): SSUB8 sets a GE
 * flag per lane, SEL picks per lane by it. One statement, so nothing comes between the two. */
static inline uint32_t tb_dsp_clamp4(uint32_t v, uint32_t lo4, uint32_t hi4)
{
    uint32_t scratch;
    __asm__("ssub8  %[t], %[v], %[lo]\n\t"
            "sel    %[v], %[v], %[lo]\n\t"
            "ssub8  %[t], %[v], %[hi]\n\t"
            "sel    %[v], %[hi], %[v]"
            : [v] "+r"(v), [t] "=&r"(scratch) : [lo] "r"(lo4), [hi] "r"(hi4) : "cc");
    return v;
}

/* An int8 bound in every byte. */
static inline uint32_t tb_dsp_splat4(int32_t value) { return (uint32_t)(uint8_t)value * 0x01010101u; }

#endif /* TB_USE_DSP */

#endif /* TB_DSP_H */
