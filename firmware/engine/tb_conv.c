/* CONV_2D, int8 with per-channel (or per-tensor) requantization. */
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
            tb_fill_bytes(column, zero_point, kw * in_c);
        } else {
            const int8_t *row = in_b + y * p->in_w * in_c;
            tb_fill_bytes(column, zero_point, kx_lo * in_c);
            if (dil_w == 1) {   /* the valid taps of a row are contiguous in memory */
                tb_copy_bytes(column + kx_lo * in_c, row + (x0 + kx_lo) * in_c,
                              (kx_hi - kx_lo) * in_c);
            } else {
                for (kx = kx_lo; kx < kx_hi; ++kx) {
                    tb_copy_bytes(column + kx * in_c, row + (x0 + kx * dil_w) * in_c, in_c);
                }
            }
            tb_fill_bytes(column + kx_hi * in_c, zero_point, (kw - kx_hi) * in_c);
        }
        column += kw * in_c;
    }
}

/* Whether the window of the output pixel at (y0, x0) lies inside the input without horizontal
 * dilation: then each of its rows is one run of filter_w * in_c bytes. */
static int32_t tb_window_inside(const tb_conv_params *p, int32_t y0, int32_t x0)
{
    return p->dilation_w == 1 && x0 >= 0 && x0 + p->filter_w <= p->in_w && y0 >= 0
           && y0 + (p->filter_h - 1) * p->dilation_h < p->in_h;
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
    if (tb_window_inside(p, y0, x0)) {   /* the usual case, a plain copy of each row */
        const int32_t run = p->filter_w * p->in_c, row_bytes = p->dilation_h * p->in_w * p->in_c;
        const int8_t *row = in_b + (y0 * p->in_w + x0) * p->in_c;
        int8_t *column = buffer;
        int32_t ky;
        for (ky = 0; ky < p->filter_h; ++ky, row += row_bytes, column += run) {
            tb_copy_bytes(column, row, run);
        }
        return buffer;
    }
    tb_im2col_s8(p, in_b, y0, x0, buffer);
    return buffer;
}

#if TB_MATVEC_PAIRS
/* On Cortex-M DSP, output pixels go two at a time so that each weight load serves both
 * (tb_matvec2_s8). Their columns are unpacked into a buffer on the stack, 4 bytes per column
 * value, up to this many values (ic01's 3x3x64 filters, the largest in MLPerf Tiny); larger
 * filters go one pixel at a time. */
#ifndef TB_PAIR_MAX_DEPTH
#define TB_PAIR_MAX_DEPTH 576
#endif
/* Output channels whose requantization constants are prepared together (on the stack, 16
 * bytes each), once for all pixels. */
#define TB_ROW_CHUNK 64

/* Unpacks the column of the output pixel whose window starts at input (y0, x0) into `pair` as
 * column `which` (tb_widen_column): straight from the input when the window lies inside and
 * its rows hold whole words, else from the im2col column. */
static void tb_conv_widen(const tb_conv_params *p, const int8_t *in_b, int32_t y0, int32_t x0,
                          int32_t pointwise, uint32_t *pair, int32_t which)
{
    const int32_t in_c = p->in_c, run = p->filter_w * in_c, n = p->filter_h * run;
    const int8_t *origin = in_b + (y0 * p->in_w + x0) * in_c;
    if (pointwise) {
        tb_widen_column(pair, origin, n, which);
    } else if (tb_window_inside(p, y0, x0)) {
        const int32_t row_bytes = p->dilation_h * p->in_w * in_c;
        int32_t ky;
        if ((run & 3) == 0) {
            uint32_t *dst = pair + 2 * which;
            for (ky = 0; ky < p->filter_h; ++ky, origin += row_bytes, dst += run) {
                tb_widen_words(dst, origin, run >> 2);
            }
        } else {
            for (ky = 0; ky < p->filter_h; ++ky, origin += row_bytes) {
                if (run >= 4) {
                    tb_copy_run(p->scratch + ky * run, origin, run);
                } else {
                    tb_copy_bytes(p->scratch + ky * run, origin, run);
                }
            }
            tb_widen_column(pair, p->scratch, n, which);
        }
    } else {
        tb_im2col_s8(p, in_b, y0, x0, p->scratch);
        tb_widen_column(pair, p->scratch, n, which);
    }
}

static void tb_conv_pairs(const tb_conv_params *p, const tb_output_stage *stage,
                          const int8_t *input, const int8_t *filter, int8_t *output)
{
    const int32_t n = p->filter_h * p->filter_w * p->in_c, out_c = p->out_c;
    const int32_t pixels = p->out_h * p->out_w;
    const int32_t pointwise = p->filter_h == 1 && p->filter_w == 1;
    /* a 1x1 filter of stride 1 (it never pads): pixel q's column is the input's pixel q */
    const int32_t in_line = pointwise && p->stride_h == 1 && p->stride_w == 1;
    uint32_t pair[TB_PAIR_MAX_DEPTH + 4];
    tb_dsp_scale scales[TB_ROW_CHUNK];
    int32_t first, b, q;

    for (first = 0; first < out_c; first += TB_ROW_CHUNK) {
        const int32_t rows = out_c - first < TB_ROW_CHUNK ? out_c - first : TB_ROW_CHUNK;
        const int8_t *w = filter + first * n;
        tb_output_stage chunk = *stage;   /* rows [first, first + rows) */
        chunk.bias += first;
        if (chunk.per_channel) {
            chunk.multiplier += first;
            chunk.shift += first;
        }
        if (chunk.fast) {
            tb_dsp_stage_scales(&chunk, rows, scales);
        }
        for (b = 0; b < p->batches; ++b) {
            const int8_t *in_b = input + b * p->in_h * p->in_w * p->in_c;
            int8_t *out = output + b * pixels * out_c + first;
            int32_t oy = 0, ox = 0;   /* pixel q */
            for (q = 0; q + 1 < pixels; q += 2, out += 2 * out_c) {
                if (in_line) {   /* the two columns lie one after the other in the input */
                    tb_widen_column(pair, in_b + q * n, n, 0);
                    tb_widen_column(pair, in_b + (q + 1) * n, n, 1);
                } else {
                    tb_conv_widen(p, in_b, oy * p->stride_h - p->pad_top,
                                  ox * p->stride_w - p->pad_left, pointwise, pair, 0);
                    if (++ox == p->out_w) {
                        ox = 0;
                        ++oy;
                    }
                    tb_conv_widen(p, in_b, oy * p->stride_h - p->pad_top,
                                  ox * p->stride_w - p->pad_left, pointwise, pair, 1);
                    if (++ox == p->out_w) {
                        ox = 0;
                        ++oy;
                    }
                }
                tb_matvec2_s8(&chunk, chunk.fast ? scales : NULL, w, n, rows, pair, out,
                              out + out_c);
            }
            if (q < pixels) {   /* an odd last pixel */
                tb_matvec_s8(&chunk, w, n, rows, tb_conv_column(p, in_b, q, pointwise, p->scratch),
                             out);
            }
        }
    }
}
#endif

void tb_conv2d_s8(const tb_conv_params *p, const int8_t *input, const int8_t *filter,
                  int8_t *output)
{
    const int32_t in_c = p->in_c, out_c = p->out_c;
    const int32_t column_size = p->filter_h * p->filter_w * in_c;
    const int32_t pixels = p->out_h * p->out_w;
    const int32_t pointwise = p->filter_h == 1 && p->filter_w == 1;
    tb_output_stage stage = {.bias = p->bias, .acc_offset = 0, .per_channel = p->per_channel,
                             .multiplier = p->multiplier, .shift = p->shift,
                             .output_offset = p->output_offset, .act_min = p->act_min,
                             .act_max = p->act_max, .fast = 0};
    int32_t b, q;

    tb_output_stage_check(&stage, out_c);
#if TB_MATVEC_PAIRS
    if (column_size >= 4 && column_size <= TB_PAIR_MAX_DEPTH) {
        tb_conv_pairs(p, &stage, input, filter, output);
        return;
    }
#endif
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + b * p->in_h * p->in_w * in_c;
        for (q = 0; q < pixels; ++q) {
            const int8_t *column = tb_conv_column(p, in_b, q, pointwise, p->scratch);
            tb_matvec_s8(&stage, filter, column_size, out_c, column, output);
            output += out_c;
        }
    }
}
