/* CONV_2D and DEPTHWISE_CONV_2D, int8 with per-channel (or per-tensor) requantization. */
#include <string.h>

#include "tb_engine.h"
#include "tb_internal.h"

/* Gathers the receptive field of one output pixel into `column` as [kh][kw][in_c], taps outside
 * the input holding the input zero point (they then add nothing, see tb_conv_params). */
static void tb_im2col_s8(const tb_conv_params *p, const int8_t *in_b, int32_t y0, int32_t x0,
                         int8_t *column)
{
    const int32_t in_c = p->in_c, kw = p->filter_w, dil_w = p->dilation_w;
    const int8_t zero_point = (int8_t)(-p->input_offset);
    const int32_t kx_lo = tb_first_tap(x0, dil_w);
    const int32_t kx_hi = tb_end_tap(x0, dil_w, p->in_w, kw);
    int32_t ky, kx;

    for (ky = 0; ky < p->filter_h; ++ky) {
        const int32_t y = y0 + ky * p->dilation_h;
        if (y < 0 || y >= p->in_h || kx_lo >= kx_hi) {
            memset(column, zero_point, (size_t)(kw * in_c));
        } else {
            const int8_t *row = in_b + y * p->in_w * in_c;
            memset(column, zero_point, (size_t)(kx_lo * in_c));
            if (dil_w == 1) {   /* the valid taps of a row are contiguous in memory */
                memcpy(column + kx_lo * in_c, row + (x0 + kx_lo) * in_c,
                       (size_t)((kx_hi - kx_lo) * in_c));
            } else {
                for (kx = kx_lo; kx < kx_hi; ++kx) {
                    memcpy(column + kx * in_c, row + (x0 + kx * dil_w) * in_c, (size_t)in_c);
                }
            }
            memset(column + kx_hi * in_c, zero_point, (size_t)((kw - kx_hi) * in_c));
        }
        column += kw * in_c;
    }
}

/* The im2col column of output pixel `pixel` (row-major over the output): the input pixel itself
 * for a 1x1 filter (it never pads), else gathered into `buffer`. */
static const int8_t *tb_conv_column(const tb_conv_params *p, const int8_t *in_b, int32_t pixel,
                                    int32_t pointwise, int8_t *buffer)
{
    const int32_t y0 = (pixel / p->out_w) * p->stride_h - p->pad_top;
    const int32_t x0 = (pixel % p->out_w) * p->stride_w - p->pad_left;
    if (pointwise) {
        return in_b + (y0 * p->in_w + x0) * p->in_c;
    }
    tb_im2col_s8(p, in_b, y0, x0, buffer);
    return buffer;
}

#if TB_MATVEC_PAIRS
/* Two output pixels at a time share each weight load (tb_matvec2_s8), their columns unpacked
 * into a buffer on the stack of 4 bytes per column value, up to this many values (ic01's 3x3x64
 * filters, the largest in MLPerf Tiny). Larger columns go one pixel at a time. */
#ifndef TB_PAIR_MAX_DEPTH
#define TB_PAIR_MAX_DEPTH 576
#endif

/* Unpacks the columns of output pixels `pixel` and `pixel + 1` into `pair`; 0 when too big. */
static int32_t tb_conv_pair(const tb_conv_params *p, const int8_t *in_b, int32_t pixel,
                            int32_t pointwise, uint32_t *pair)
{
    const int32_t n = p->filter_h * p->filter_w * p->in_c;
    int32_t which;
    if (n > TB_PAIR_MAX_DEPTH) {
        return 0;
    }
    for (which = 0; which < 2; ++which) {
        const int8_t *column = tb_conv_column(p, in_b, pixel + which, pointwise, p->scratch);
        tb_widen_column(pair, column, n, which);
    }
    return 1;
}
#endif

void tb_conv2d_s8(const tb_conv_params *p, const int8_t *input, const int8_t *filter,
                  int8_t *output)
{
    const int32_t in_c = p->in_c, out_c = p->out_c;
    const int32_t column_size = p->filter_h * p->filter_w * in_c;
    const int32_t pixels = p->out_h * p->out_w;
    const int32_t pointwise = p->filter_h == 1 && p->filter_w == 1;
    tb_output_stage stage = {.bias = p->bias, .acc_offset = 0,
                                   .per_channel = p->per_channel, .multiplier = p->multiplier,
                                   .shift = p->shift, .output_offset = p->output_offset,
                                   .act_min = p->act_min, .act_max = p->act_max,
                                   .fast = 0};
#if TB_MATVEC_PAIRS
    uint32_t pair[TB_PAIR_MAX_DEPTH + 4];
#endif
    int32_t b, q;

    tb_output_stage_check(&stage, column_size, out_c);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + b * p->in_h * p->in_w * in_c;
        for (q = 0; q < pixels; ++q) {
            const int8_t *column;
#if TB_MATVEC_PAIRS
            if (q + 1 < pixels && tb_conv_pair(p, in_b, q, pointwise, pair)) {
                tb_matvec2_s8(&stage, filter, column_size, out_c, pair, output, output + out_c);
                output += 2 * out_c;
                ++q;
                continue;
            }
#endif
            column = tb_conv_column(p, in_b, q, pointwise, p->scratch);
            tb_matvec_s8(&stage, filter, column_size, out_c, column, output);
            output += out_c;
        }
    }
}

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
/* One tap of four channels: x and v point at the input and weight bytes of channels c..c+3. */
#define TB_DW_TAP4(x, v)                                                     \
    do {                                                                      \
        const uint32_t xw_ = tb_load4(x), vw_ = tb_load4(v);                  \
        const uint32_t x02_ = tb_sxtab16(offset_pair, xw_);                   \
        const uint32_t x13_ = tb_sxtab16_ror8(offset_pair, xw_);              \
        const uint32_t v02_ = tb_sxtb16(vw_), v13_ = tb_sxtb16_ror8(vw_);     \
        s0 = tb_smlabb(x02_, v02_, s0);                                       \
        s2 = tb_smlatt(x02_, v02_, s2);                                       \
        s1 = tb_smlabb(x13_, v13_, s1);                                       \
        s3 = tb_smlatt(x13_, v13_, s3);                                       \
    } while (0)

/* s[0..3] = bias + the sums of output channels c..c+3 of one pixel (depth multiplier 1) over
 * taps_h x taps_w taps: `px` is the first tap's input at channel c, `pw` its weights. Taps step
 * by `step` bytes in both (the channel count) and rows by x_row, w_row. SXTAB16 unpacks four
 * input bytes into two int16 pairs and adds the input offset to each (|x + offset| <= 255
 * fits); SMLABB / SMLATT multiply-accumulate the bottom / top halves, one channel each. Not
 * inlined: on its own, the loop keeps everything in registers. */
__attribute__((noinline)) static void tb_dw_sums4(const int8_t *px, const int8_t *pw,
                                                  int32_t taps_h, int32_t taps_w, int32_t step,
                                                  int32_t x_row, int32_t w_row,
                                                  uint32_t offset_pair, const int32_t *bias,
                                                  int32_t s[4])
{
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, ky;
    if (bias) {
        s0 = bias[0];
        s1 = bias[1];
        s2 = bias[2];
        s3 = bias[3];
    }
    for (ky = 0; ky < taps_h; ++ky) {
        if (taps_w == 3) {   /* the usual full row of a 3x3 filter */
            TB_DW_TAP4(px, pw);
            TB_DW_TAP4(px + step, pw + step);
            TB_DW_TAP4(px + 2 * step, pw + 2 * step);
        } else {
            const int8_t *x = px, *v = pw, *end = px + taps_w * step;
            for (; x != end; x += step, v += step) {
                TB_DW_TAP4(x, v);
            }
        }
        px += x_row;
        pw += w_row;
    }
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
}

/* DEPTHWISE_CONV_2D with a depth multiplier of 1 and no horizontal dilation: four channels at a
 * time (tb_dw_sums4), the outputs packed and clamped four at a time (tb_dsp_pack4,
 * tb_dsp_clamp4). */
static void tb_depthwise_dsp(const tb_depthwise_params *p, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, channels = p->out_c;
    const int32_t kh = p->filter_h, kw = p->filter_w;
    const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
    const int32_t input_offset = p->input_offset, output_offset = p->output_offset;
    const int32_t act_min = p->act_min, act_max = p->act_max, per_channel = p->per_channel;
    const int32_t *multiplier = p->multiplier, *shift = p->shift;
    const uint32_t offset_pair = (uint32_t)(input_offset & 0xFFFF) * 0x10001u;
    const uint32_t lo4 = tb_dsp_splat4(act_min), hi4 = tb_dsp_splat4(act_max);
    const int32_t groups = channels & ~3;
    /* |(x + input_offset) * w| <= 255 * 128 per tap */
    const int32_t fast = tb_dsp_scale_exact(bias, 0, shift, per_channel, channels,
                                            kh * kw < 256 ? kh * kw * 255 * 128 : TB_INT32_MAX);
    int32_t b, oy, ox, c, k, ky, kx;

    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + b * in_h * in_w * channels;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t ky_lo = tb_first_tap(y0, dil_h);
            const int32_t ky_hi = tb_end_tap(y0, dil_h, in_h, kh);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t kx_lo = tb_first_tap(x0, dil_w);
                const int32_t kx_hi = tb_end_tap(x0, dil_w, in_w, kw);
                /* taps outside the input are skipped: (zero point + input_offset) * w = 0 */
                const int8_t *px = in_b + ((y0 + ky_lo * dil_h) * in_w + x0 + kx_lo * dil_w)
                                          * channels;
                const int8_t *pw = filter + (ky_lo * kw + kx_lo) * channels;
                const int32_t taps_h = ky_hi > ky_lo ? ky_hi - ky_lo : 0;
                const int32_t taps_w = kx_hi > kx_lo ? kx_hi - kx_lo : 0;
                for (c = 0; c < groups; c += 4) {
                    int32_t s[4];
                    uint32_t packed;
                    tb_dw_sums4(px + c, pw + c, taps_h, taps_w, channels,
                                dil_h * in_w * channels, kw * channels, offset_pair,
                                bias ? bias + c : NULL, s);
                    if (fast) {
                        const int32_t *m = per_channel ? multiplier + c : multiplier;
                        const int32_t *e = per_channel ? shift + c : shift;
                        const int32_t step = per_channel ? 1 : 0;
                        packed = tb_dsp_pack4(
                            tb_dsp_scale(s[0], m[0], e[0]) + output_offset,
                            tb_dsp_scale(s[1], m[step], e[step]) + output_offset,
                            tb_dsp_scale(s[2], m[2 * step], e[2 * step]) + output_offset,
                            tb_dsp_scale(s[3], m[3 * step], e[3 * step]) + output_offset);
                    } else {
                        int8_t y[4];
                        for (k = 0; k < 4; ++k) {
                            const int32_t q = per_channel ? c + k : 0;
                            y[k] = tb_requantize(s[k], multiplier[q], shift[q], output_offset,
                                                 act_min, act_max);
                        }
                        packed = tb_dsp_pack4(y[0], y[1], y[2], y[3]);
                    }
                    tb_store4(output + c, tb_dsp_clamp4(packed, lo4, hi4));
                }
                for (; c < channels; ++c) {   /* the last channels < 4 */
                    const int32_t q = per_channel ? c : 0;
                    int32_t acc = bias ? bias[c] : 0;
                    for (ky = ky_lo; ky < ky_hi; ++ky) {
                        for (kx = kx_lo; kx < kx_hi; ++kx) {
                            const int32_t x = in_b[((y0 + ky * dil_h) * in_w + x0 + kx * dil_w)
                                                   * channels + c];
                            acc += (x + input_offset) * filter[(ky * kw + kx) * channels + c];
                        }
                    }
                    output[c] = tb_requantize(acc, multiplier[q], shift[q], output_offset,
                                              act_min, act_max);
                }
                output += channels;
            }
        }
    }
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
    if (dm == 1 && dil_w == 1) {
        tb_depthwise_dsp(p, input, filter, bias, output);
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
