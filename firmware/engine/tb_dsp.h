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
 * A cheaper requantization with tflite-micro's bits (tb_requantize in tb_internal.h) for the
 * usual channel: multiplier M in (2^30, 2^31) and shift -e with 2 <= e <= 31. tflite-micro
 * computes y = floor((acc * M + 2^30) / 2^31), then rounds y / 2^e halves away from zero:
 * floor((y + 2^(e-1) - [y < 0]) / 2^e). Both floors merge into one (floor(floor(a / m) + c) / k)
 * = floor((a + c * m) / (m * k)) for integers):
 *     z = floor((acc * M + 2^30 + 2^(30+e) - [y < 0] * 2^31) / 2^(31+e))
 * and with M > 2^30, y < 0 exactly when acc < 0. So one SMLAL onto the 64-bit constant
 * (high word 2^(e-2) - [acc < 0], low word 2^30 + [acc < 0] * 2^31) and an arithmetic shift of
 * the high word by e - 1 give z, for every int32 acc (|acc * M + constant| < 2^63). A channel
 * with M = 0 gives 0 in both forms (any e >= 2 will do, and is used). tb_dsp_scale_exact says
 * whether every channel of a layer is of these kinds, once per call.
 */
typedef struct {          /* 16 bytes; the assembly reads the fields at 0, 4, 8 and 12 */
    int32_t multiplier;
    int32_t high;         /* 2^(e-2) */
    int32_t right;        /* e - 1 */
    int32_t start;        /* where the channel's accumulators start: its bias (+ offset) */
} tb_dsp_scale;

/* Whether tb_dsp_requantize is exact for `channels` channels (multiplier[0], shift[0] alone
 * unless per_channel). */
static inline int32_t tb_dsp_scale_exact(const int32_t *multiplier, const int32_t *shift,
                                         int32_t per_channel, int32_t channels)
{
    int32_t c;
#ifdef TB_DSP_GENERAL_REQUANTIZE   /* tests: the general requantization everywhere */
    return 0;
#endif
    for (c = 0; c < (per_channel ? channels : 1); ++c) {
        const int32_t m = multiplier[c], s = shift[c];
        const int32_t usual = m > (1 << 30) && s <= -2 && s >= -31;
        if (!usual && !(m == 0 && s <= 31 && s >= -31)) {
            return 0;
        }
    }
    return 1;
}

static inline tb_dsp_scale tb_dsp_scale_of(int32_t multiplier, int32_t shift, int32_t start)
{
    int32_t e_minus_2 = -shift - 2;
    tb_dsp_scale scale;
    e_minus_2 &= ~(e_minus_2 >> 31);   /* max(e - 2, 0): only a zero multiplier has e < 2 */
    scale.multiplier = multiplier;
    scale.high = (int32_t)(1u << (uint32_t)e_minus_2);
    scale.right = e_minus_2 + 1;
    scale.start = start;
    return scale;
}

/* acc * M * 2^shift rounded as tflite-micro does (see above). */
static inline int32_t tb_dsp_requantize(int32_t acc, const tb_dsp_scale *scale)
{
    uint32_t low = ((uint32_t)acc & 0x80000000u) | 0x40000000u;
    int32_t high = scale->high - (int32_t)((uint32_t)acc >> 31);
    __asm__("smlal  %0, %1, %2, %3" : "+r"(low), "+r"(high) : "r"(acc), "r"(scale->multiplier));
    return high >> scale->right;
}

/* One lane of the packed requantizations below: acc scaled by the tb_dsp_scale at
 * [scales, #k], plus the output offset, saturated to int8 and put in place by `insert`. */
#define TB_REQUANTIZE_LANE(acc, k, insert)                              \
    "ldrd    %[m], %[h], [%[scales], #" #k "]\n\t"                      \
    "ldr     %[r], [%[scales], #" #k " + 8]\n\t"                        \
    "and     %[lo], %[" acc "], #0x80000000\n\t"                        \
    "orr     %[lo], %[lo], #0x40000000\n\t"                             \
    "sub     %[h], %[h], %[" acc "], lsr #31\n\t"                       \
    "smlal   %[lo], %[h], %[" acc "], %[m]\n\t"                         \
    "asr     %[h], %[h], %[r]\n\t"                                      \
    "add     %[h], %[h], %[offset]\n\t"                                 \
    "ssat    %[h], #8, %[h]\n\t"                                        \
    insert "\n\t"

#define TB_REQUANTIZE_OPERANDS                                                                 \
    : [packed] "=&r"(packed), [m] "=&r"(m), [h] "=&r"(h), [r] "=&r"(r), [lo] "=&r"(lo)        \
    : [a] "r"(a), [b] "r"(b), [c] "r"(c), [d] "r"(d), [scales] "r"(scales),                   \
      [offset] "r"(offset)                                                                    \
    : "memory"

/* tb_dsp_requantize of a, b, c, d with scales[0], [1], [2], [3], plus the output offset,
 * saturated to int8 and packed (a in byte 0). In assembly: GCC 12 spills when it schedules
 * this from C next to a kernel's other live values. */
static inline uint32_t tb_dsp_requantize4(int32_t a, int32_t b, int32_t c, int32_t d,
                                          const tb_dsp_scale scales[4], int32_t offset)
{
    uint32_t packed, m, h, r, lo;
    __asm__(TB_REQUANTIZE_LANE("a", 0, "uxtb    %[packed], %[h]")
            TB_REQUANTIZE_LANE("b", 16, "bfi     %[packed], %[h], #8, #8")
            TB_REQUANTIZE_LANE("c", 32, "bfi     %[packed], %[h], #16, #8")
            TB_REQUANTIZE_LANE("d", 48, "bfi     %[packed], %[h], #24, #8")
            TB_REQUANTIZE_OPERANDS);
    return packed;
}

/* The same with scales[0], [1], [0], [1]: two channels of two pixels. */
static inline uint32_t tb_dsp_requantize2x2(int32_t a, int32_t b, int32_t c, int32_t d,
                                            const tb_dsp_scale scales[2], int32_t offset)
{
    uint32_t packed, m, h, r, lo;
    __asm__(TB_REQUANTIZE_LANE("a", 0, "uxtb    %[packed], %[h]")
            TB_REQUANTIZE_LANE("b", 16, "bfi     %[packed], %[h], #8, #8")
            TB_REQUANTIZE_LANE("c", 0, "bfi     %[packed], %[h], #16, #8")
            TB_REQUANTIZE_LANE("d", 16, "bfi     %[packed], %[h], #24, #8")
            TB_REQUANTIZE_OPERANDS);
    return packed;
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
static inline uint32_t tb_dsp_splat4(int32_t value)
{
    return (uint32_t)(uint8_t)value * 0x01010101u;
}

/* The unpacked pair of columns: for each word k < n / 4 of the columns a and b, four words
 * [a02 a13 b02 b13] (the int16 pairs of tb_sxtb16 and tb_sxtb16_ror8). When n % 4 != 0, one
 * more such block holds each column's last four values with those already counted zeroed: it
 * meets each row's last four weights (so n >= 4). */
static inline void tb_widen_words(uint32_t *dst, const int8_t *src, int32_t words)
{
    for (; words > 0; --words, src += 4, dst += 4) {
        const uint32_t v = tb_load4(src);
        dst[0] = tb_sxtb16(v);
        dst[1] = tb_sxtb16_ror8(v);
    }
}

static inline void tb_widen_column(uint32_t *pair, const int8_t *column, int32_t n,
                                   int32_t which)
{
    const int32_t words = n >> 2, rest = n & 3;
    uint32_t *dst = pair + 2 * which;
    tb_widen_words(dst, column, words);
    if (rest) {
        const uint32_t v = tb_load4(column + n - 4) & (0xFFFFFFFFu << (8 * (4 - rest)));
        dst[4 * words] = tb_sxtb16(v);
        dst[4 * words + 1] = tb_sxtb16_ror8(v);
    }
}

#endif /* TB_USE_DSP */

#endif /* TB_DSP_H */
