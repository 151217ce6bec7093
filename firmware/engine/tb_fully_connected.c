/* FULLY_CONNECTED, int8 with per-tensor or per-channel requantization. */
#include "tb_engine.h"
#include "tb_internal.h"

void tb_fully_connected_s8(const tb_fc_params *p, const int8_t *input, const int8_t *weights,
                           int8_t *output)
{
    const int32_t depth = p->in_depth;
    tb_output_stage stage = {.bias = p->bias, .acc_offset = 0, .per_channel = p->per_channel,
                             .multiplier = p->multiplier, .shift = p->shift,
                             .output_offset = p->output_offset, .act_min = p->act_min,
                             .act_max = p->act_max, .fast = 0};
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
        stage.acc_offset = input_term;
        tb_output_stage_check(&stage, p->out_depth);
        tb_matvec_s8(&stage, weights, depth, p->out_depth, x, output);
        output += p->out_depth;
    }
}
