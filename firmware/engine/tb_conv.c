/* CONV_2D and DEPTHWISE_CONV_2D, int8 with per-channel (or per-tensor) requantization. */
#include "tb_engine.h"
#include "tb_internal.h"

void tb_conv2d_s8(const tb_conv_params *p, const int8_t *input, const int8_t *filter,
                  const int32_t *bias, int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, in_c = p->in_c;
    const int32_t kh = p->filter_h, kw = p->filter_w;
    const int32_t dil_h = p->dilation_h, dil_w = p->dilation_w;
    const int32_t filter_size = kh * kw * in_c;
    const int32_t input_offset = p->input_offset;
    int32_t b, oy, ox, oc, ky, kx;

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
                /* Taps outside the input are skipped: they would contribute
                 * (zero point + input_offset) * w = 0. */
                for (oc = 0; oc < p->out_c; ++oc) {
                    const int8_t *w = filter + oc * filter_size;
                    const int32_t q = p->per_channel ? oc : 0;
                    int32_t acc = 0;
                    for (ky = ky_lo; ky < ky_hi; ++ky) {
                        const int8_t *in_row = in_b + (y0 + ky * dil_h) * in_w * in_c;
                        const int8_t *w_row = w + ky * kw * in_c;
                        if (dil_w == 1) {
                            /* the valid taps of a row are contiguous in memory */
                            acc += tb_dot_s8(in_row + (x0 + kx_lo) * in_c, w_row + kx_lo * in_c,
                                             (kx_hi - kx_lo) * in_c, input_offset);
                        } else {
                            for (kx = kx_lo; kx < kx_hi; ++kx) {
                                acc += tb_dot_s8(in_row + (x0 + kx * dil_w) * in_c,
                                                 w_row + kx * in_c, in_c, input_offset);
                            }
                        }
                    }
                    if (bias) {
                        acc += bias[oc];
                    }
                    *output++ = tb_requantize(acc, p->multiplier[q], p->shift[q],
                                              p->output_offset, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* Channels accumulated together per output pixel: contiguous in input, weights and output. */
#define TB_DW_BLOCK 32

void tb_depthwise_conv2d_s8(const tb_conv_params *p, const int8_t *input, const int8_t *filter,
                            const int32_t *bias, int8_t *output)
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
                for (c0 = 0; c0 < out_c; c0 += TB_DW_BLOCK) {
                    const int32_t n = out_c - c0 < TB_DW_BLOCK ? out_c - c0 : TB_DW_BLOCK;
                    for (c = 0; c < n; ++c) {
                        acc[c] = bias ? bias[c0 + c] : 0;
                    }
                    for (ky = ky_lo; ky < ky_hi; ++ky) {
                        for (kx = kx_lo; kx < kx_hi; ++kx) {
                            const int8_t *px = in_b + ((y0 + ky * dil_h) * in_w
                                                       + (x0 + kx * dil_w)) * in_c;
                            const int8_t *w = filter + (ky * kw + kx) * out_c + c0;
                            if (dm == 1) {
                                for (c = 0; c < n; ++c) {
                                    acc[c] += ((int32_t)px[c0 + c] + input_offset) * w[c];
                                }
                            } else {
                                /* output channel i*dm + j reads input channel i */
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
