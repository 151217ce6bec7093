/* DEPTHWISE_CONV_2D, int8 with per-channel (or per-tensor) requantization. */
#include <stddef.h>

#include "tb_engine.h"
#include "tb_internal.h"

/* Channels accumulated together per output pixel: contiguous in input, weights and output. A
 * block of fixed size lets compilers vectorize the loop at -O2 (no remainder iterations). */
#define TB_DW_BLOCK 16

/* acc[c] += (x[c] + input_offset) * w[c] for one full block of channels. The product fits in
 * 16 bits (|x + input_offset| <= 255, |w| <= 128), which lets vector units multiply 8 at once. */
static inline void tb_dw_block(const int8_t *x, const int8_t *w, int32_t input_offset,
                               int32_t *acc)
{
    int32_t c;
    for (c = 0; c < TB_DW_BLOCK; ++c) {
        const int16_t shifted = (int16_t)(x[c] + input_offset);
        acc[c] += (int16_t)(shifted * w[c]);
    }
}

#if TB_USE_DSP
/*
 * DEPTHWISE_CONV_2D on Cortex-M DSP, depth multiplier 1: four channels at a time, one output
 * row of them per pass so that what belongs to the four channels is prepared once per row: their
 * weights unpacked into int16 pairs (SXTB16) in a small buffer, their biases and requantization
 * constants. Per tap, SXTAB16 unpacks four input bytes into two int16 pairs and adds the input
 * offset to each (|x + offset| <= 255 fits); SMLABB / SMLATT multiply-accumulate the bottom /
 * top halves, one channel each. Outputs are requantized, packed and clamped four at a time.
 */
#define TB_DW_MAX_TAPS 25   /* 5x5 filters; larger ones take the portable path */

/* One tap: four input bytes at x, the tap's unpacked weights at v[0] (channels 0, 2) and v[1]
 * (channels 1, 3), accumulated into s0..s3. */
#define TB_DW_TAP(x, v)                                                   \
    do {                                                                   \
        const uint32_t xw_ = tb_load4(x);                                  \
        const uint32_t x02_ = tb_sxtab16(offset_pair, xw_);                \
        const uint32_t x13_ = tb_sxtab16_ror8(offset_pair, xw_);           \
        s0 = tb_smlabb(x02_, (v)[0], s0);                                  \
        s2 = tb_smlatt(x02_, (v)[0], s2);                                  \
        s1 = tb_smlabb(x13_, (v)[1], s1);                                  \
        s3 = tb_smlatt(x13_, (v)[1], s3);                                  \
    } while (0)

/* One tap in assembly: the input word at `addr`, the unpacked weights at w (post-incremented). */
#define TB_DW_STEP(addr)                                       \
    "ldr     %[x13], " addr "\n\t"                             \
    "ldrd    %[w02], %[w13], [%[w]], #8\n\t"                   \
    "sxtab16 %[x02], %[off], %[x13]\n\t"                       \
    "sxtab16 %[x13], %[off], %[x13], ror #8\n\t"               \
    "smlabb  %[s0], %[x02], %[w02], %[s0]\n\t"                 \
    "smlatt  %[s2], %[x02], %[w02], %[s2]\n\t"                 \
    "smlabb  %[s1], %[x13], %[w13], %[s1]\n\t"                 \
    "smlatt  %[s3], %[x13], %[w13], %[s3]\n\t"

#define TB_DW_ROW                                              \
    TB_DW_STEP("[%[x]]")                                       \
    TB_DW_STEP("[%[x], %[c]]")                                 \
    TB_DW_STEP("[%[x], %[c], lsl #1]")

#define TB_DW_OPERANDS                                                                      \
    : [x] "+r"(x), [w] "+r"(w), [s0] "+r"(s[0]), [s1] "+r"(s[1]), [s2] "+r"(s[2]),           \
      [s3] "+r"(s[3]), [x02] "=&r"(x02), [x13] "=&r"(x13), [w02] "=&r"(w02), [w13] "=&r"(w13) \
    : [c] "r"(c), [off] "r"(offset_pair)                                                      \
    : "memory"

/* `taps` taps of one window row (no dilation), added to s[0..3]: x at the first tap, c bytes
 * between taps, their unpacked weights at w. */
static void tb_dw_row(const int8_t *x, int32_t c, const uint32_t *w, int32_t taps,
                      uint32_t offset_pair, int32_t s[4])
{
    uint32_t x02, x13, w02, w13;
    for (; taps >= 3; taps -= 3) {
        __asm__(TB_DW_ROW "add     %[x], %[x], %[c], lsl #1\n\t"
                "add     %[x], %[x], %[c]\n\t" TB_DW_OPERANDS);
    }
    if (taps == 2) {
        __asm__(TB_DW_STEP("[%[x]]") TB_DW_STEP("[%[x], %[c]]") TB_DW_OPERANDS);
    } else if (taps == 1) {
        __asm__(TB_DW_STEP("[%[x]]") TB_DW_OPERANDS);
    }
}

/* What four channels need for one output row, and the layer's constants. The assembly of
 * tb_dsp_dw_run reads the fields at the offsets noted. */
typedef struct {
    uint32_t weights[2 * TB_DW_MAX_TAPS];   /*   0 per tap: channels (0, 2), channels (1, 3) */
    tb_dsp_scale scale[4];                   /* 200 */
    int32_t start[4];                        /* 264 where the sums start: the biases */
    int32_t tap_bytes, row_bytes;            /* 280 between taps, rows of tb_dw_inside_3x3 */
    uint32_t offset_pair;                    /* 288 the input offset in both halfwords */
    int32_t output_offset;                   /* 292 */
    uint32_t lo4, hi4;                       /* 296 the activation range in every byte */
    uint32_t zero_points;                    /* 304 the input zero point in every byte */
    int32_t channels;                        /* 308 between outputs (and input pixels) */
    const int8_t *x;                         /* 312 the next window of a run */
    int32_t x_delta;                         /* 316 from its last row to the next window */
    int32_t count;                           /* 320 windows left in the run */
} tb_dw_group;

typedef char tb_dw_group_layout[(offsetof(tb_dw_group, scale) == 200
                                 && offsetof(tb_dw_group, start) == 264
                                 && offsetof(tb_dw_group, tap_bytes) == 280
                                 && offsetof(tb_dw_group, lo4) == 296
                                 && offsetof(tb_dw_group, channels) == 308
                                 && offsetof(tb_dw_group, count) == 320) ? 1 : -1];

/* The four channels' outputs from their sums: requantized, packed, clamped. */
static inline uint32_t tb_dw_outputs(const tb_dw_group *g, int32_t s0, int32_t s1, int32_t s2,
                                     int32_t s3)
{
    return tb_dsp_clamp4(tb_dsp_requantize4(s0, s1, s2, s3, g->scale, g->output_offset), g->lo4,
                         g->hi4);
}

/*
 * A run of 3x3 windows inside the input, in assembly (the nine taps as TB_DW_TAP, then the
 * requantization of tb_dsp_requantize4, clamp and store), the loop state in the group:
 * g->count windows from g->x, outputs from `out`, `channels` bytes apart. The group pointer
 * stays in lr and the weights are read at fixed offsets from it, which leaves the taps'
 * registers free.
 */
void tb_dsp_dw_run(tb_dw_group *g, int8_t *out);

#define TB_DW_RUN_STEP(addr, k)                                       \
    "ldr     r10, " addr "\n\t"                                       \
    "ldrd    r11, r12, [lr, #" #k "]\n\t"                             \
    "sxtab16 r9, r4, r10\n\t"                                         \
    "sxtab16 r10, r4, r10, ror #8\n\t"                                \
    "smlabb  r5, r9, r11, r5\n\t"                                     \
    "smlatt  r7, r9, r11, r7\n\t"                                     \
    "smlabb  r6, r10, r12, r6\n\t"                                    \
    "smlatt  r8, r10, r12, r8\n\t"

#define TB_DW_RUN_ROW(k0, k1, k2)                                     \
    TB_DW_RUN_STEP("[r0]", k0)                                        \
    TB_DW_RUN_STEP("[r0, r2]", k1)                                    \
    TB_DW_RUN_STEP("[r0, r2, lsl #1]", k2)

#define TB_DW_RUN_LANE(acc, k, k8, insert)                            \
    "ldrd    r9, r10, [lr, #" #k "]\n\t"                              \
    "ldr     r11, [lr, #" #k8 "]\n\t"                                 \
    "and     r0, " acc ", #0x80000000\n\t"                            \
    "orr     r0, r0, #0x40000000\n\t"                                 \
    "sub     r2, r10, " acc ", lsr #31\n\t"                           \
    "smlal   r0, r2, " acc ", r9\n\t"                                 \
    "asr     r2, r2, r11\n\t"                                         \
    "add     r2, r2, r4\n\t"                                          \
    "ssat    r2, #8, r2\n\t"                                          \
    insert "\n\t"

__asm__(".section .text.tb_dsp_dw_run,\"ax\",%progbits\n\t"
        ".syntax unified\n\t"
        ".thumb\n\t"
        ".p2align 2\n\t"
        ".global tb_dsp_dw_run\n\t"
        ".thumb_func\n\t"
        ".type   tb_dsp_dw_run, %function\n"
        "tb_dsp_dw_run:\n\t"
        "push    {r4-r11, lr}\n\t"
        "mov     lr, r0\n"                    /* the group */
        "0:\n\t"
        "ldr     r0, [lr, #312]\n\t"          /* the window */
        "ldrd    r2, r3, [lr, #280]\n\t"      /* tap bytes, row bytes */
        "ldr     r4, [lr, #288]\n\t"          /* input offset pair */
        "ldrd    r5, r6, [lr, #264]\n\t"      /* sums r5..r8 from the biases */
        "ldrd    r7, r8, [lr, #272]\n\t"
        TB_DW_RUN_ROW(0, 8, 16)
        "add     r0, r0, r3\n\t"
        TB_DW_RUN_ROW(24, 32, 40)
        "add     r0, r0, r3\n\t"
        TB_DW_RUN_ROW(48, 56, 64)
        "ldr     r2, [lr, #316]\n\t"
        "add     r0, r0, r2\n\t"
        "str     r0, [lr, #312]\n\t"          /* the next window */
        "ldr     r4, [lr, #292]\n\t"          /* output offset */
        TB_DW_RUN_LANE("r5", 200, 208, "uxtb    r12, r2")
        TB_DW_RUN_LANE("r6", 216, 224, "bfi     r12, r2, #8, #8")
        TB_DW_RUN_LANE("r7", 232, 240, "bfi     r12, r2, #16, #8")
        TB_DW_RUN_LANE("r8", 248, 256, "bfi     r12, r2, #24, #8")
        "ldrd    r0, r2, [lr, #296]\n\t"      /* clamp each byte to [lo, hi] */
        "ssub8   r3, r12, r0\n\t"
        "sel     r12, r12, r0\n\t"
        "ssub8   r3, r12, r2\n\t"
        "sel     r12, r2, r12\n\t"
        "str     r12, [r1]\n\t"
        "ldr     r0, [lr, #308]\n\t"
        "add     r1, r1, r0\n\t"
        "ldr     r0, [lr, #320]\n\t"
        "subs    r0, r0, #1\n\t"
        "str     r0, [lr, #320]\n\t"
        "bne     0b\n\t"
        "pop     {r4-r11, pc}\n\t"
        ".size   tb_dsp_dw_run, .-tb_dsp_dw_run\n\t"
        ".text");

/* `count` output pixels of a 3x3 filter whose windows lie inside the input: the first window
 * at x (taps g->tap_bytes apart, rows g->row_bytes apart), the next x_step bytes further;
 * outputs at out, g->channels bytes apart. */
static void tb_dw_inside_3x3(tb_dw_group *g, const int8_t *x, int8_t *out, int32_t count,
                             int32_t x_step)
{
    if (count > 0) {
        g->x = x;
        g->x_delta = x_step - 2 * g->row_bytes;
        g->count = count;
        tb_dsp_dw_run(g, out);
    }
}

/* Whether output column ox's window (no dilation) lies inside the input's width. */
static int32_t tb_dw_inside(const tb_depthwise_params *p, int32_t ox)
{
    const int32_t x0 = ox * p->stride_w - p->pad_left;
    return x0 >= 0 && x0 + p->filter_w <= p->in_w;
}

/* One output pixel whose window crosses the border: the taps [ky_lo, ky_hi) x [kx_lo, kx_hi)
 * lie inside (origin: the window's first tap, inside or not). The taps outside add nothing,
 * their (zero point + offset) * w being 0. */
__attribute__((noinline)) static void tb_dw_border(const tb_dw_group *g, const int8_t *origin,
                                                   int32_t ky_lo, int32_t ky_hi, int32_t kx_lo,
                                                   int32_t kx_hi, int32_t kw, int32_t tap_bytes,
                                                   int8_t *out)
{
    const uint32_t offset_pair = g->offset_pair;
    int32_t s[4] = {g->start[0], g->start[1], g->start[2], g->start[3]};
    int32_t ky, kx;
    for (ky = ky_lo; ky < ky_hi; ++ky) {
        const int8_t *x = origin + ky * g->row_bytes + kx_lo * tap_bytes;
        const uint32_t *v = g->weights + 2 * (ky * kw + kx_lo);
        if (tap_bytes == g->tap_bytes) {   /* no dilation */
            tb_dw_row(x, tap_bytes, v, kx_hi - kx_lo, offset_pair, s);
            continue;
        }
        for (kx = kx_lo; kx < kx_hi; ++kx) {
            int32_t s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
            TB_DW_TAP(x, v);
            s[0] = s0;
            s[1] = s1;
            s[2] = s2;
            s[3] = s3;
            x += tap_bytes;
            v += 2;
        }
    }
    tb_store4(out, tb_dw_outputs(g, s[0], s[1], s[2], s[3]));
}

/* Prepares g for channels c..c+3: their unpacked weights, scales and biases. */
static void tb_dw_prepare(tb_dw_group *g, const tb_depthwise_params *p, const int8_t *filter,
                          const int32_t *bias, int32_t c)
{
    const int32_t taps = p->filter_h * p->filter_w, channels = p->out_c;
    int32_t t, k;
    for (t = 0; t < taps; ++t) {
        const uint32_t v = tb_load4(filter + t * channels + c);
        g->weights[2 * t] = tb_sxtb16(v);
        g->weights[2 * t + 1] = tb_sxtb16_ror8(v);
    }
    for (k = 0; k < 4; ++k) {
        const int32_t q = p->per_channel ? c + k : 0;
        g->start[k] = bias ? bias[c + k] : 0;
        g->scale[k] = tb_dsp_scale_of(p->multiplier[q], p->shift[q], g->start[k]);
    }
}

/* Small 3x3 layers of stride 1 go through planes of four channels with the input zero point
 * around them, where every window lies inside: borders are where such layers spend their time
 * otherwise (with a larger stride, copying the plane costs more than it saves). The plane lives
 * on the stack, up to this many words (a 12 x 12 input with a border of 1). */
#define TB_DW_PLANE_WORDS 196

static int32_t tb_depthwise_planes(const tb_depthwise_params *p, const int8_t *input,
                                   const int8_t *filter, const int32_t *bias, int8_t *output,
                                   tb_dw_group *g)
{
    const int32_t channels = p->out_c, in_h = p->in_h, in_w = p->in_w;
    const int32_t out_h = p->out_h, out_w = p->out_w;
    /* the input rows and columns the windows span, from -pad_top and -pad_left */
    const int32_t plane_h = (out_h - 1) * p->stride_h + 2 * p->dilation_h + 1;
    const int32_t plane_w = (out_w - 1) * p->stride_w + 3;
    uint32_t plane[TB_DW_PLANE_WORDS];
    int32_t b, c, y, x, oy;

    if (p->stride_h != 1 || p->stride_w != 1 || plane_h * plane_w > TB_DW_PLANE_WORDS) {
        return 0;
    }
    g->tap_bytes = 4;
    g->row_bytes = p->dilation_h * plane_w * 4;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + b * in_h * in_w * channels;
        int8_t *out_b = output + b * out_h * out_w * channels;
        for (c = 0; c < channels; c += 4) {
            uint32_t *cell = plane;
            tb_dw_prepare(g, p, filter, bias, c);
            for (y = -p->pad_top; y < plane_h - p->pad_top; ++y) {
                for (x = -p->pad_left; x < plane_w - p->pad_left; ++x) {
                    const int32_t inside = y >= 0 && y < in_h && x >= 0 && x < in_w;
                    *cell++ = inside ? tb_load4(in_b + (y * in_w + x) * channels + c)
                                     : g->zero_points;
                }
            }
            for (oy = 0; oy < out_h; ++oy) {
                tb_dw_inside_3x3(g, (const int8_t *)(plane + oy * p->stride_h * plane_w),
                                 out_b + oy * out_w * channels + c, out_w, p->stride_w * 4);
            }
        }
    }
    return 1;
}

static int32_t tb_depthwise_dsp(const tb_depthwise_params *p, const int8_t *input,
                                const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, channels = p->out_c;
    const int32_t out_w = p->out_w, kh = p->filter_h, kw = p->filter_w, taps = kh * kw;
    const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w, per_channel = p->per_channel;
    const int32_t tap_bytes = dil_w * channels, x_step = p->stride_w * channels;
    /* the usual 3x3 window, unrolled over the run of pixels whose windows lie inside */
    const int32_t three = kh == 3 && kw == 3 && dil_w == 1;
    int32_t inside_lo = 0, inside_hi;   /* that run: [inside_lo, inside_hi) */
    tb_dw_group g;
    int32_t b, oy, ox, c;

    if (taps > TB_DW_MAX_TAPS || (channels & 3) != 0 || p->depth_multiplier != 1
        || !tb_dsp_scale_exact(p->multiplier, p->shift, per_channel, channels)) {
        return 0;
    }
    g.output_offset = p->output_offset;
    g.lo4 = tb_dsp_splat4(p->act_min);
    g.hi4 = tb_dsp_splat4(p->act_max);
    g.offset_pair = (uint32_t)(p->input_offset & 0xFFFF) * 0x10001u;
    g.zero_points = tb_dsp_splat4(-p->input_offset);
    g.channels = channels;
    if (three && tb_depthwise_planes(p, input, filter, bias, output, &g)) {
        return 1;
    }
    g.tap_bytes = channels;
    g.row_bytes = dil_h * in_w * channels;
    while (inside_lo < out_w && !tb_dw_inside(p, inside_lo)) {
        ++inside_lo;
    }
    for (inside_hi = inside_lo; inside_hi < out_w && tb_dw_inside(p, inside_hi); ++inside_hi) {
    }
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + b * in_h * in_w * channels;
        int8_t *out_b = output + b * p->out_h * out_w * channels;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t ky_lo = tb_first_tap(y0, dil_h);
            const int32_t ky_hi = tb_end_tap(y0, dil_h, in_h, kh);
            const int32_t row_inside = three && ky_lo == 0 && ky_hi == 3;
            int8_t *out_row = out_b + oy * out_w * channels;
            for (c = 0; c < channels; c += 4) {
                tb_dw_prepare(&g, p, filter, bias, c);
                for (ox = 0; ox < out_w; ++ox) {
                    const int32_t x0 = ox * p->stride_w - p->pad_left;
                    const int8_t *origin = in_b + (y0 * in_w + x0) * channels + c;
                    int32_t kx_lo, kx_hi;
                    if (row_inside && ox == inside_lo && inside_lo < inside_hi) {
                        tb_dw_inside_3x3(&g, origin, out_row + ox * channels + c,
                                         inside_hi - inside_lo, x_step);
                        ox = inside_hi - 1;
                        continue;
                    }
                    kx_lo = tb_first_tap(x0, dil_w);
                    kx_hi = tb_end_tap(x0, dil_w, in_w, kw);
                    tb_dw_border(&g, origin, ky_lo, ky_hi, kx_lo, kx_hi, kw, tap_bytes,
                                 out_row + ox * channels + c);
                }
            }
        }
    }
    return 1;
}
#endif

void tb_depthwise_conv2d_s8(const tb_depthwise_params *p, const int8_t *input,
                            const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c, out_c = p->out_c;
    const int32_t kh = p->filter_h, kw = p->filter_w;
    const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
    const int32_t dm = p->depth_multiplier;
    const int32_t input_offset = p->input_offset;
    int32_t acc[TB_DW_BLOCK];
    int32_t b, oy, ox, c0, c, ky, kx;

#if TB_USE_DSP
    if (tb_depthwise_dsp(p, input, filter, bias, output)) {
        return;
    }
#endif

    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + b * in_h * in_w * in_c;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t ky_lo = tb_first_tap(y0, dil_h);
            const int32_t ky_hi = tb_end_tap(y0, dil_h, in_h, kh);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t kx_lo = tb_first_tap(x0, dil_w);
                const int32_t kx_hi = tb_end_tap(x0, dil_w, in_w, kw);
                /* taps outside the input are skipped: (zero point + input_offset) * w = 0 */
                for (c0 = 0; c0 < out_c; c0 += TB_DW_BLOCK) {
                    const int32_t n = out_c - c0 < TB_DW_BLOCK ? out_c - c0 : TB_DW_BLOCK;
                    const int32_t full = dm == 1 && n == TB_DW_BLOCK;
                    for (c = 0; c < TB_DW_BLOCK; ++c) {
                        acc[c] = (bias && c < n) ? bias[c0 + c] : 0;
                    }
                    for (ky = ky_lo; ky < ky_hi; ++ky) {
                        for (kx = kx_lo; kx < kx_hi; ++kx) {
                            const int8_t *px = in_b + ((y0 + ky * dil_h) * in_w
                                                       + (x0 + kx * dil_w)) * in_c;
                            const int8_t *w = filter + (ky * kw + kx) * out_c + c0;
                            if (full) {
                                tb_dw_block(px + c0, w, input_offset, acc);
                            } else if (dm == 1) {
                                for (c = 0; c < n; ++c) {
                                    acc[c] += ((int32_t)px[c0 + c] + input_offset) * w[c];
                                }
                            } else {
                                /* output channel i * dm + j reads input channel i */
                                for (c = 0; c < n; ++c) {
                                    acc[c] += ((int32_t)px[(c0 + c) / dm] + input_offset) * w[c];
                                }
                            }
                        }
                    }
                    for (c = 0; c < n; ++c) {
                        const int32_t q = p->per_channel ? c0 + c : 0;
                        output[c0 + c] = tb_requantize(acc[c], p->multiplier[q], p->shift[q],
                                                       p->output_offset, p->act_min, p->act_max);
                    }
                }
                output += out_c;
            }
        }
    }
}
