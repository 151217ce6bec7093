/* FULLY_CONNECTED, int8 with per-tensor or per-channel requantization. */
#include "tb_engine.h"
#include "tb_internal.h"

void tb_fully_connected_s8(const tb_fc_params *p, const int8_t *input, const int8_t *weights,
                           const int32_t *bias, int8_t *output)
{
    const int32_t depth = p->in_depth;
    int32_t b, o, i;

    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * depth;
        /* sum((x + xo) * (w + wo)) = sum((x + xo) * w) + wo * sum(x + xo) */
        int32_t input_sum = 0;
        if (p->filter_offset != 0) {
            for (i = 0; i < depth; ++i) {
                input_sum += (int32_t)x[i] + p->input_offset;
            }
        }
        for (o = 0; o < p->out_depth; ++o) {
            const int32_t q = p->per_channel ? o : 0;
            int32_t acc = tb_dot_s8(x, weights + o * depth, depth, p->input_offset);
            acc += p->filter_offset * input_sum;
            if (bias) {
                acc += bias[o];
            }
            *output++ = tb_requantize(acc, p->multiplier[q], p->shift[q], p->output_offset,
                                      p->act_min, p->act_max);
        }
    }
}
