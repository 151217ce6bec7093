/* FULLY_CONNECTED, int8 with per-tensor or per-channel requantization. */
#include "tb_engine.h"
#include "tb_internal.h"

void tb_fully_connected_s8(const tb_fc_params *p, const int8_t *input, const int8_t *weights,
                           int8_t *output)
{
    const int32_t depth = p->in_depth;
    int32_t b, i;

    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * depth;
        /* the part of the weights' zero point that depends on the input (0 when symmetric) */
        int32_t input_term = 0;
        if (p->filter_offset != 0) {
            for (i = 0; i < depth; ++i) {
                input_term += x[i];
            }
            input_term *= p->filter_offset;
        }
        tb_matvec_s8(x, weights, depth, p->out_depth, p->bias, input_term, p->per_channel,
                     p->multiplier, p->shift, p->output_offset, p->act_min, p->act_max, output);
        output += p->out_depth;
    }
}
