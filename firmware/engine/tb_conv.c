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

void tb_conv2d_s8(const tb_conv_params *p, const int8_t *input, const int8_t *filter,
                  int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c;
    const int32_t column_size = p->filter_h * p->filter_w * in_c;
    /* a 1x1 filter never pads: its column is the input pixel itself */
    const int32_t pointwise = p->filter_h == 1 && p->filter_w == 1;
    int32_t b, oy, ox;

    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + b * in_h * in_w * in_c;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int8_t *column = p->scratch;
                if (pointwise) {
                    column = in_b + (y0 * in_w + x0) * in_c;
                } else {
                    tb_im2col_s8(p, in_b, y0, x0, p->scratch);
                }
                tb_matvec_s8(column, filter, column_size, p->out_c, p->bias, 0, p->per_channel,
                             p->multiplier, p->shift, p->output_offset, p->act_min, p->act_max,
                             output);
                output += p->out_c;
            }
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
