/*
 * The int8 matrix-vector product behind CONV_2D (one im2col column per output pixel) and
 * FULLY_CONNECTED: rows of weights times one input vector, four rows at a time so that each
 * input load serves four accumulators.
 *
 * The sums are exact integer sums, so every path below gives the same result; the portable C
 * path is the reference (define TB_NO_SIMD, or TB_NO_DSP on Cortex-M, to use it everywhere).
 * On x86 an SSE2 path computes the four dot products; on Cortex-M with the DSP extension
 * (tb_dsp.h) the whole product has its own path, at the end of this file.
 */
#include <stddef.h>

#include "tb_engine.h"
#include "tb_internal.h"

#if TB_USE_DSP
/* see the end of the file */
#elif defined(__SSE2__) && !defined(TB_NO_SIMD)
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

#if !TB_USE_DSP
static inline int8_t tb_stage_output(const tb_output_stage *s, int32_t row, int32_t sum)
{
    const int32_t q = s->per_channel ? row : 0;
    return tb_requantize(sum + s->bias[row] + s->acc_offset, s->multiplier[q], s->shift[q],
                         s->output_offset, s->act_min, s->act_max);
}

void tb_output_stage_check(tb_output_stage *stage, int32_t rows)
{
    (void)rows;
    stage->fast = 0;   /* the portable path has one requantization */
}

void tb_matvec_s8(const tb_output_stage *stage, const int8_t *w, int32_t n, int32_t rows,
                  const int8_t *x, int8_t *out)
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
            out[r + k] = tb_stage_output(stage, r + k, acc[k]);
        }
    }
    for (; r < rows; ++r) {   /* the last rows < 4 */
        const int8_t *wr = w + r * n;
        int32_t acc = 0;
        for (i = 0; i < n; ++i) {
            acc += (int32_t)x[i] * wr[i];
        }
        out[r] = tb_stage_output(stage, r, acc);
    }
}
#endif

#if TB_USE_DSP
/*
 * Cortex-M DSP path. A word of four int8 becomes two words of int16 pairs: bytes 0 and 2
 * (SXTB16), bytes 1 and 3 (SXTB16 ROR 8). Unpacking input and weights the same way lines the
 * pairs up, so two SMLAD add all four products. Unpacking costs as much as multiplying, so each
 * unpacked word serves several accumulators: four rows x one column (tb_matvec_s8), or two rows
 * x two columns (tb_matvec2_s8, the convolutions' pixel pairs) where the columns were unpacked
 * once beforehand for all the rows (tb_widen_column).
 *
 * The inner loops are inline assembly: they need all fourteen allocatable registers, and GCC 12
 * spills some of them when it schedules the same code from C. Each loop step takes one word
 * (four values) of every row; the next row sits `n` bytes after the previous one, which costs a
 * single offset register for all of them.
 */

/* One word of one column (x) times four rows (w, w + n, w2, w2 + n), pointers advanced by 4. */
#define TB_STEP_1X4                                      \
    "ldr    %[x13], [%[x]], #4\n\t"                      \
    "sxtb16 %[x02], %[x13]\n\t"                          \
    "sxtb16 %[x13], %[x13], ror #8\n\t"                  \
    "ldr    %[v13], [%[w]], #4\n\t"                      \
    "sxtb16 %[v02], %[v13]\n\t"                          \
    "sxtb16 %[v13], %[v13], ror #8\n\t"                  \
    "smlad  %[s0], %[x02], %[v02], %[s0]\n\t"            \
    "smlad  %[s0], %[x13], %[v13], %[s0]\n\t"            \
    "ldr    %[v13], [%[w], %[off]]\n\t"                  \
    "sxtb16 %[v02], %[v13]\n\t"                          \
    "sxtb16 %[v13], %[v13], ror #8\n\t"                  \
    "smlad  %[s1], %[x02], %[v02], %[s1]\n\t"            \
    "smlad  %[s1], %[x13], %[v13], %[s1]\n\t"            \
    "ldr    %[v13], [%[w2]], #4\n\t"                     \
    "sxtb16 %[v02], %[v13]\n\t"                          \
    "sxtb16 %[v13], %[v13], ror #8\n\t"                  \
    "smlad  %[s2], %[x02], %[v02], %[s2]\n\t"            \
    "smlad  %[s2], %[x13], %[v13], %[s2]\n\t"            \
    "ldr    %[v13], [%[w2], %[off]]\n\t"                 \
    "sxtb16 %[v02], %[v13]\n\t"                          \
    "sxtb16 %[v13], %[v13], ror #8\n\t"                  \
    "smlad  %[s3], %[x02], %[v02], %[s3]\n\t"            \
    "smlad  %[s3], %[x13], %[v13], %[s3]\n\t"

#define TB_OPERANDS_1X4                                                                     \
    [x] "+r"(x), [w] "+r"(w), [w2] "+r"(w2), [s0] "+r"(s[0]), [s1] "+r"(s[1]),               \
        [s2] "+r"(s[2]), [s3] "+r"(s[3]), [x02] "=&r"(x02), [x13] "=&r"(x13),               \
        [v02] "=&r"(v02), [v13] "=&r"(v13)

/* s[k] += row k (at w + k * n) times the column x, k < 4, over the first 4 * words values. Not
 * inlined: the caller's own live values would leave the assembly too few registers. */
__attribute__((noinline)) static void tb_dot_1x4(const int8_t *x, const int8_t *w, int32_t n,
                                                 int32_t words, int32_t s[4])
{
    const int32_t off = n - 4;
    const int8_t *end = x + 4 * (words & ~1), *w2 = w + 2 * n;
    uint32_t x02, x13, v02, v13;
    if (words & 1) {
        __asm__(TB_STEP_1X4 : TB_OPERANDS_1X4 : [off] "r"(off) : "memory");
        end += 4;
    }
    if (x != end) {
        __asm__("1:\n\t" TB_STEP_1X4 TB_STEP_1X4
                "cmp    %[x], %[end]\n\t"
                "bne    1b"
                : TB_OPERANDS_1X4 : [off] "r"(off), [end] "r"(end) : "cc", "memory");
    }
}

void tb_output_stage_check(tb_output_stage *stage, int32_t rows)
{
    stage->fast = tb_dsp_scale_exact(stage->multiplier, stage->shift, stage->per_channel, rows);
}

static inline tb_dsp_scale tb_row_scale(const tb_output_stage *st, int32_t row)
{
    const int32_t q = st->per_channel ? row : 0;
    return tb_dsp_scale_of(st->multiplier[q], st->shift[q], st->bias[row] + st->acc_offset);
}

void tb_dsp_stage_scales(const tb_output_stage *stage, int32_t rows, tb_dsp_scale *scales)
{
    int32_t r;
    for (r = 0; r < rows; ++r) {
        scales[r] = tb_row_scale(stage, r);
    }
}

/* Row `row`'s output for the accumulator acc (bias included), clamped: the general
 * requantization, for stages where the fast one is not exact. */
static inline int32_t tb_row_general(const tb_output_stage *st, int32_t row, int32_t acc)
{
    const int32_t q = st->per_channel ? row : 0;
    return tb_requantize(acc, st->multiplier[q], st->shift[q], st->output_offset, st->act_min,
                         st->act_max);
}

/* The same by either requantization. */
static inline int32_t tb_row_output(const tb_output_stage *st, int32_t row, int32_t acc)
{
    if (st->fast) {
        const tb_dsp_scale scale = tb_row_scale(st, row);
        return tb_clamp(tb_dsp_requantize(acc, &scale) + st->output_offset, st->act_min,
                        st->act_max);
    }
    return tb_row_general(st, row, acc);
}

void tb_matvec_s8(const tb_output_stage *stage, const int8_t *w, int32_t n, int32_t rows,
                  const int8_t *x, int8_t *out)
{
    const tb_output_stage st = *stage;   /* a copy the output stores cannot alias */
    const int32_t words = n >> 2, done = n & ~3;
    const uint32_t lo4 = tb_dsp_splat4(st.act_min), hi4 = tb_dsp_splat4(st.act_max);
    int32_t r = 0, i, k;

    for (; r + 4 <= rows; r += 4) {
        const int8_t *wr = w + r * n;
        tb_dsp_scale scales[4];
        int32_t s[4];
        uint32_t packed;
        for (k = 0; k < 4; ++k) {
            scales[k] = tb_row_scale(&st, r + k);
            s[k] = scales[k].start;
        }
        tb_dot_1x4(x, wr, n, words, s);
        for (i = done; i < n; ++i) {   /* the last n % 4 values */
            for (k = 0; k < 4; ++k) {
                s[k] += (int32_t)x[i] * wr[k * n + i];
            }
        }
        if (st.fast) {
            packed = tb_dsp_requantize4(s[0], s[1], s[2], s[3], scales, st.output_offset);
        } else {
            packed = tb_dsp_pack4(tb_row_general(&st, r, s[0]), tb_row_general(&st, r + 1, s[1]),
                                  tb_row_general(&st, r + 2, s[2]),
                                  tb_row_general(&st, r + 3, s[3]));
        }
        tb_store4(out + r, tb_dsp_clamp4(packed, lo4, hi4));
    }
    for (; r < rows; ++r) {   /* the last rows < 4 */
        const int8_t *wr = w + r * n;
        int32_t s = st.bias[r] + st.acc_offset;
        for (i = 0; i < n; ++i) {
            s += (int32_t)x[i] * wr[i];
        }
        out[r] = (int8_t)tb_row_output(&st, r, s);
    }
}

/*
 * Row pairs of tb_matvec2_s8 in assembly, from the dot products to the stored bytes: each turn
 * takes two rows and both unpacked columns, so 14 registers hold the loop (4 sums, 4 column
 * words, 2 unpacked weights, the column and row pointers, the row offset and the end), which
 * GCC 12 cannot keep from C; the loop state lives in the job below between the phases.
 *
 * One step: a block of the columns (LDRD twice) and a word of each row, unpacked (SXTB16 with
 * and without ROR 8), eight SMLAD. Then the four sums (s00 = row 0 column a, s01 = row 0
 * column b, s10, s11) are requantized as tb_dsp_requantize does (the scales of rows 0 and 1
 * are loaded once), saturated (SSAT), packed as [out0 row 0, out0 row 1, out1 row 0,
 * out1 row 1], clamped to the activation range (SSUB8 / SEL per byte), and stored as two
 * halfwords.
 */
typedef struct {
    const uint32_t *pair;           /*  0 the unpacked columns (tb_widen_column) */
    const int8_t *w;                /*  4 the next row pair's weights (advanced) */
    int32_t off;                    /*  8 n - 4: row 1 after row 0's post-increment */
    int32_t quads_bytes;            /* 12 bytes of `pair` taken four blocks at a time */
    int32_t more;                   /* 16 bit 1: 2 more blocks; bit 0: 1 more; bits 2-3: n % 4 */
    const tb_dsp_scale *scales;     /* 20 the next row pair's scales (advanced) */
    int8_t *out0, *out1;            /* 24, 28 the columns' next outputs (advanced) */
    int32_t output_offset;          /* 32 */
    uint32_t lo4, hi4;              /* 36, 40 the activation range in every byte */
    int32_t pairs;                  /* 44 row pairs left (counted down, > 0 on entry) */
} tb_dsp_rows_job;

/* The assembly below copies the job to its stack frame and reads it (and tb_dsp_scale at 0, 4,
 * 8, 12) at these offsets. */
typedef char tb_dsp_rows_job_layout[(sizeof(tb_dsp_rows_job) == 48
                                     && offsetof(tb_dsp_rows_job, scales) == 20
                                     && offsetof(tb_dsp_rows_job, pairs) == 44
                                     && sizeof(tb_dsp_scale) == 16
                                     && offsetof(tb_dsp_scale, start) == 12) ? 1 : -1];

void tb_dsp_rows2x2(const tb_dsp_rows_job *job);

/* r0 columns, r1 weights of row 0 (row 1 at r1 + r2 after the post-increment), r4..r7 sums,
 * r8..r11 column words, r12 / lr unpacked weights. */
#define TB_ROWS_STEP                                                  \
    "ldrd    r8, r9, [r0], #16\n\t"                                   \
    "ldrd    r10, r11, [r0, #-8]\n\t"                                 \
    "ldr     lr, [r1], #4\n\t"                                        \
    "sxtb16  r12, lr\n\t"                                             \
    "sxtb16  lr, lr, ror #8\n\t"                                      \
    "smlad   r4, r8, r12, r4\n\t"                                     \
    "smlad   r4, r9, lr, r4\n\t"                                      \
    "smlad   r5, r10, r12, r5\n\t"                                    \
    "smlad   r5, r11, lr, r5\n\t"                                     \
    "ldr     lr, [r1, r2]\n\t"                                        \
    "sxtb16  r12, lr\n\t"                                             \
    "sxtb16  lr, lr, ror #8\n\t"                                      \
    "smlad   r6, r8, r12, r6\n\t"                                     \
    "smlad   r6, r9, lr, r6\n\t"                                      \
    "smlad   r7, r10, r12, r7\n\t"                                    \
    "smlad   r7, r11, lr, r7\n\t"

/* Sum `acc` requantized with the scale (multiplier m, high h, right e), plus the output offset
 * (r3), saturated into r1 and put in place by `insert` into r2; r0 is scratch. */
#define TB_ROWS_LANE(acc, m, h, e, insert)                            \
    "and     r0, " acc ", #0x80000000\n\t"                            \
    "orr     r0, r0, #0x40000000\n\t"                                 \
    "sub     r1, " h ", " acc ", lsr #31\n\t"                         \
    "smlal   r0, r1, " acc ", " m "\n\t"                              \
    "asr     r1, r1, " e "\n\t"                                       \
    "add     r1, r1, r3\n\t"                                          \
    "ssat    r1, #8, r1\n\t"                                          \
    insert "\n\t"

__asm__(".section .text.tb_dsp_rows2x2,\"ax\",%progbits\n\t"
        ".syntax unified\n\t"
        ".thumb\n\t"
        ".p2align 2\n\t"
        ".global tb_dsp_rows2x2\n\t"
        ".thumb_func\n\t"
        ".type   tb_dsp_rows2x2, %function\n"
        "tb_dsp_rows2x2:\n\t"
        "push    {r4-r11, lr}\n\t"
        "sub     sp, sp, #48\n\t"
        "ldm     r0, {r1-r12}\n\t"            /* the job, to the stack frame */
        "stm     sp, {r1-r12}\n"
        "0:\n\t"
        "ldr     r3, [sp, #20]\n\t"
        "ldr     r4, [r3, #12]\n\t"           /* the sums start at the rows' biases */
        "ldr     r6, [r3, #28]\n\t"
        "mov     r5, r4\n\t"
        "mov     r7, r6\n\t"
        "ldrd    r0, r1, [sp]\n\t"            /* columns, row 0 */
        "ldrd    r2, r3, [sp, #8]\n\t"        /* n - 4, bytes of the four-block steps */
        "add     r3, r0, r3\n\t"
        "cmp     r0, r3\n\t"
        "beq     2f\n"
        "1:\n\t"
        TB_ROWS_STEP TB_ROWS_STEP TB_ROWS_STEP TB_ROWS_STEP
        "cmp     r0, r3\n\t"
        "bne     1b\n"
        "2:\n\t"
        "ldr     r3, [sp, #16]\n\t"
        "tst     r3, #2\n\t"
        "beq     3f\n\t"
        TB_ROWS_STEP TB_ROWS_STEP
        "3:\n\t"
        "tst     r3, #1\n\t"
        "beq     4f\n\t"
        TB_ROWS_STEP
        "4:\n\t"
        "lsrs    r3, r3, #2\n\t"              /* n % 4: the last block meets the last weights */
        "beq     5f\n\t"
        "subs    r3, r3, #4\n\t"
        "add     r1, r1, r3\n\t"
        TB_ROWS_STEP
        "5:\n\t"
        "add     r1, r1, r2\n\t"              /* row 0 + n + n: the next row pair */
        "adds    r1, r1, #4\n\t"
        "str     r1, [sp, #4]\n\t"
        "ldr     r0, [sp, #20]\n\t"
        "add     r1, r0, #32\n\t"
        "str     r1, [sp, #20]\n\t"
        "ldr     r3, [sp, #32]\n\t"           /* output offset */
        "ldrd    r8, r9, [r0]\n\t"            /* row 0: multiplier, high, right */
        "ldr     r10, [r0, #8]\n\t"
        "ldrd    r11, r12, [r0, #16]\n\t"     /* row 1 */
        "ldr     lr, [r0, #24]\n\t"
        TB_ROWS_LANE("r4", "r8", "r9", "r10", "uxtb    r2, r1")
        TB_ROWS_LANE("r6", "r11", "r12", "lr", "bfi     r2, r1, #8, #8")
        TB_ROWS_LANE("r5", "r8", "r9", "r10", "bfi     r2, r1, #16, #8")
        TB_ROWS_LANE("r7", "r11", "r12", "lr", "bfi     r2, r1, #24, #8")
        "ldrd    r0, r1, [sp, #36]\n\t"       /* clamp each byte to [lo, hi] */
        "ssub8   r3, r2, r0\n\t"
        "sel     r2, r2, r0\n\t"
        "ssub8   r3, r2, r1\n\t"
        "sel     r2, r1, r2\n\t"
        "ldrd    r0, r1, [sp, #24]\n\t"
        "strh    r2, [r0], #2\n\t"
        "lsrs    r2, r2, #16\n\t"
        "strh    r2, [r1], #2\n\t"
        "strd    r0, r1, [sp, #24]\n\t"
        "ldr     r3, [sp, #44]\n\t"
        "subs    r3, r3, #1\n\t"
        "str     r3, [sp, #44]\n\t"
        "bne     0b\n\t"
        "add     sp, sp, #48\n\t"
        "pop     {r4-r11, pc}\n\t"
        ".size   tb_dsp_rows2x2, .-tb_dsp_rows2x2\n\t"
        ".text");

/* The sums of row w with both unpacked columns, from `start`. */
static void tb_dot_1x2(const uint32_t *pair, const int8_t *w, int32_t n, int32_t start,
                       int32_t *s0, int32_t *s1)
{
    const int32_t blocks = (n + 3) >> 2;
    int32_t a = start, b = start, k;
    for (k = 0; k < blocks; ++k) {
        /* the last block meets the row's last four weights */
        const uint32_t v = tb_load4(k == (n >> 2) ? w + n - 4 : w + 4 * k);
        const uint32_t v02 = tb_sxtb16(v), v13 = tb_sxtb16_ror8(v);
        a = tb_smlad(pair[4 * k + 1], v13, tb_smlad(pair[4 * k], v02, a));
        b = tb_smlad(pair[4 * k + 3], v13, tb_smlad(pair[4 * k + 2], v02, b));
    }
    *s0 = a;
    *s1 = b;
}

/* tb_matvec2_s8 with the general requantization, for stages where the fast one is not exact. */
__attribute__((noinline)) static void tb_matvec2_general(const tb_output_stage *stage,
                                                         const int8_t *w, int32_t n,
                                                         int32_t rows, const uint32_t *pair,
                                                         int8_t *out0, int8_t *out1)
{
    int32_t r, s0, s1, y0, y1;
    for (r = 0; r < rows; ++r) {
        tb_dot_1x2(pair, w + r * n, n, stage->bias[r] + stage->acc_offset, &s0, &s1);
        y0 = tb_row_general(stage, r, s0);
        y1 = tb_row_general(stage, r, s1);
        out0[r] = (int8_t)y0;
        out1[r] = (int8_t)y1;
    }
}

void tb_matvec2_s8(const tb_output_stage *stage, const tb_dsp_scale *scales, const int8_t *w,
                   int32_t n, int32_t rows, const uint32_t *pair, int8_t *out0, int8_t *out1)
{
    const int32_t offset = stage->output_offset;
    const uint32_t lo4 = tb_dsp_splat4(stage->act_min), hi4 = tb_dsp_splat4(stage->act_max);
    int32_t r;

    if (!scales) {
        tb_matvec2_general(stage, w, n, rows, pair, out0, out1);
        return;
    }
    if (rows >= 2) {
        const int32_t words = n >> 2;
        const tb_dsp_rows_job job = {pair, w, n - 4, (words >> 2) * 64,
                                     (words & 3) | ((n & 3) << 2), scales, out0, out1, offset,
                                     lo4, hi4, rows >> 1};
        tb_dsp_rows2x2(&job);
    }
    r = rows & ~1;
    w += r * n;
    scales += r;
    if (r < rows) {   /* an odd last row */
        int32_t s0, s1, y0, y1;
        tb_dot_1x2(pair, w, n, scales[0].start, &s0, &s1);
        y0 = tb_clamp(tb_dsp_requantize(s0, scales) + offset, stage->act_min, stage->act_max);
        y1 = tb_clamp(tb_dsp_requantize(s1, scales) + offset, stage->act_min, stage->act_max);
        out0[r] = (int8_t)y0;
        out1[r] = (int8_t)y1;
    }
}
#endif /* TB_USE_DSP */
