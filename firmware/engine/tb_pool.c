/* AVERAGE_POOL_2D, MAX_POOL_2D and MEAN, int8. */
#include "tb_engine.h"
#include "tb_internal.h"

void tb_avg_pool_s8(const tb_pool_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, channels = p->channels;
    int32_t b, oy, ox, c, y, x;

    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + b * in_h * in_w * channels;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t y_lo = y0 + tb_first_tap(y0, 1);
            const int32_t y_hi = y0 + tb_end_tap(y0, 1, in_h, p->filter_h);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t x_lo = x0 + tb_first_tap(x0, 1);
                const int32_t x_hi = x0 + tb_end_tap(x0, 1, in_w, p->filter_w);
                /* only the taps inside the input count: padding is not averaged in */
                const int32_t count = (y_hi - y_lo) * (x_hi - x_lo);
                for (c = 0; c < channels; ++c) {
                    int32_t sum = 0, average = 0;
                    for (y = y_lo; y < y_hi; ++y) {
                        for (x = x_lo; x < x_hi; ++x) {
                            sum += in_b[(y * in_w + x) * channels + c];
                        }
                    }
                    if (count > 0) {   /* C division truncates: round half away from zero */
                        average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    }
                    *output++ = (int8_t)tb_clamp(average, p->act_min, p->act_max);
                }
            }
        }
    }
}

void tb_max_pool_s8(const tb_pool_params *p, const int8_t *input, int8_t *output)
{
    const int32_t in_h = p->in_h, in_w = p->in_w, channels = p->channels;
    int32_t b, oy, ox, c, y, x;

    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + b * in_h * in_w * channels;
        for (oy = 0; oy < p->out_h; ++oy) {
            const int32_t y0 = oy * p->stride_h - p->pad_top;
            const int32_t y_lo = y0 + tb_first_tap(y0, 1);
            const int32_t y_hi = y0 + tb_end_tap(y0, 1, in_h, p->filter_h);
            for (ox = 0; ox < p->out_w; ++ox) {
                const int32_t x0 = ox * p->stride_w - p->pad_left;
                const int32_t x_lo = x0 + tb_first_tap(x0, 1);
                const int32_t x_hi = x0 + tb_end_tap(x0, 1, in_w, p->filter_w);
                for (c = 0; c < channels; ++c) {
                    int32_t peak = -128;
                    for (y = y_lo; y < y_hi; ++y) {
                        for (x = x_lo; x < x_hi; ++x) {
                            const int32_t v = in_b[(y * in_w + x) * channels + c];
                            peak = v > peak ? v : peak;
                        }
                    }
                    *output++ = (int8_t)tb_clamp(peak, p->act_min, p->act_max);
                }
            }
        }
    }
}

void tb_mean_s8(const tb_mean_params *p, const int8_t *input, int8_t *output)
{
    int32_t o, i, k;

    for (o = 0; o < p->outer; ++o) {
        const int8_t *in_o = input + o * p->count * p->inner;
        for (i = 0; i < p->inner; ++i) {
            int32_t sum = 0, result;
            for (k = 0; k < p->count; ++k) {
                sum += in_o[k * p->inner + i];
            }
            result = tb_multiply_by_quantized_multiplier(sum - p->input_zero_point * p->count,
                                                         p->multiplier, p->shift)
                     + p->output_zero_point;
            *output++ = (int8_t)tb_clamp(result, -128, 127);
        }
    }
}
