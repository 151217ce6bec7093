/*
 * The int8 matrix-vector product behind CONV_2D (one im2col column per output pixel) and
 * FULLY_CONNECTED: rows of weights times one input vector, four rows at a time so that each
 * input load serves four accumulators.
 *
 * The sums are exact integer sums, so every path below gives the same result; the portable C
 * path is the reference (define TB_NO_SIMD to use it everywhere). Feature-specific paths (x86
 * SSE2 now, Cortex-M DSP later) change only how the four dot products are computed.
 */
#include "tb_engine.h"
#include "tb_internal.h"

#if defined(__SSE2__) && !defined(TB_NO_SIMD)
#include <emmintrin.h>

/* 16 int8 lanes -> two vectors of 8 int16 lanes (sign extended). */
static inline void tb_widen(__m128i v, __m128i *lo, __m128i *hi)
{
    *lo = _mm_srai_epi16(_mm_unpacklo_epi8(v, v), 8);
    *hi = _mm_srai_epi16(_mm_unpackhi_epi8(v, v), 8);
}

static inline int32_t tb_hsum(__m128i v)
{
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
    v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(v);
}

/* acc[r] = sum over i < n16 of x[i] * w[r * n + i] for r < 4; returns n16 (a multiple of 16). */
static int32_t tb_dot4_simd(const int8_t *x, const int8_t *w, int32_t n, int32_t acc[4])
{
    __m128i sum[4];
    int32_t i, r;
    const int32_t n16 = n & ~15;
    for (r = 0; r < 4; ++r) {
        sum[r] = _mm_setzero_si128();
    }
    for (i = 0; i < n16; i += 16) {
        __m128i x_lo, x_hi;
        tb_widen(_mm_loadu_si128((const __m128i *)(x + i)), &x_lo, &x_hi);
        for (r = 0; r < 4; ++r) {
            __m128i w_lo, w_hi;
            tb_widen(_mm_loadu_si128((const __m128i *)(w + r * n + i)), &w_lo, &w_hi);
            /* pairwise int16 products summed into int32 lanes: |2 * 128 * 128| fits */
            sum[r] = _mm_add_epi32(sum[r], _mm_add_epi32(_mm_madd_epi16(x_lo, w_lo),
                                                         _mm_madd_epi16(x_hi, w_hi)));
        }
    }
    for (r = 0; r < 4; ++r) {
        acc[r] = tb_hsum(sum[r]);
    }
    return n16;
}
#else
/* Portable path: nothing done here, the scalar loop below computes every sum. */
static int32_t tb_dot4_simd(const int8_t *x, const int8_t *w, int32_t n, int32_t acc[4])
{
    (void)x;
    (void)w;
    (void)n;
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    return 0;
}
#endif

void tb_matvec_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t rows,
                  const int32_t *bias, int32_t acc_offset, int32_t per_channel,
                  const int32_t *multiplier, const int32_t *shift, int32_t output_offset,
                  int32_t act_min, int32_t act_max, int8_t *out)
{
    int32_t r = 0, i, k;

    for (; r + 4 <= rows; r += 4) {
        const int8_t *w0 = w + r * n;
        int32_t acc[4];
        i = tb_dot4_simd(x, w0, n, acc);
        for (; i < n; ++i) {
            const int32_t xi = x[i];
            acc[0] += xi * w0[i];
            acc[1] += xi * w0[n + i];
            acc[2] += xi * w0[2 * n + i];
            acc[3] += xi * w0[3 * n + i];
        }
        for (k = 0; k < 4; ++k) {
            const int32_t q = per_channel ? r + k : 0;
            out[r + k] = tb_requantize(acc[k] + bias[r + k] + acc_offset, multiplier[q],
                                       shift[q], output_offset, act_min, act_max);
        }
    }
    for (; r < rows; ++r) {   /* the last rows < 4 */
        const int8_t *wr = w + r * n;
        const int32_t q = per_channel ? r : 0;
        int32_t acc = 0;
        for (i = 0; i < n; ++i) {
            acc += (int32_t)x[i] * wr[i];
        }
        out[r] = tb_requantize(acc + bias[r] + acc_offset, multiplier[q], shift[q],
                               output_offset, act_min, act_max);
    }
}
