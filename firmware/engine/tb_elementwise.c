/* ADD, RESHAPE, PAD, QUANTIZE, DEQUANTIZE: element-wise and data-movement kernels. */
#include <string.h>

#include "tb_engine.h"
#include "tb_internal.h"

void tb_add_s8(const tb_add_params *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    int32_t i;
    /* Each input is brought to a common scale with 20 bits of headroom, summed, then scaled to
     * the output. Reads precede the write of the same index, so output may alias input1. */
    for (i = 0; i < p->size; ++i) {
        const int32_t a = ((int32_t)input1[i] + p->input1_offset) * (1 << p->left_shift);
        const int32_t b = ((int32_t)input2[i] + p->input2_offset) * (1 << p->left_shift);
        const int32_t sum =
            tb_multiply_by_quantized_multiplier(a, p->input1_multiplier, p->input1_shift)
            + tb_multiply_by_quantized_multiplier(b, p->input2_multiplier, p->input2_shift);
        const int32_t out =
            tb_multiply_by_quantized_multiplier(sum, p->output_multiplier, p->output_shift)
            + p->output_offset;
        output[i] = (int8_t)tb_clamp(out, p->act_min, p->act_max);
    }
}

void tb_reshape(const tb_copy_params *p, const void *input, void *output)
{
    if (input != output) {   /* the planner may place both in the same memory */
        memmove(output, input, (size_t)p->bytes);
    }
}

void tb_pad_s8(const tb_pad_params *p, const int8_t *input, int8_t *output)
{
    const int32_t *in = p->in_shape, *before = p->pad_before, *after = p->pad_after;
    const int32_t out1 = before[1] + in[1] + after[1];
    const int32_t out2 = before[2] + in[2] + after[2];
    const int32_t out3 = before[3] + in[3] + after[3];
    const int32_t out0 = before[0] + in[0] + after[0];
    const int8_t fill = (int8_t)p->pad_value;
    int32_t i0, i1, i2;

    for (i0 = 0; i0 < out0; ++i0) {
        for (i1 = 0; i1 < out1; ++i1) {
            for (i2 = 0; i2 < out2; ++i2) {
                const int32_t s0 = i0 - before[0], s1 = i1 - before[1], s2 = i2 - before[2];
                if (s0 < 0 || s0 >= in[0] || s1 < 0 || s1 >= in[1] || s2 < 0 || s2 >= in[2]) {
                    memset(output, fill, (size_t)out3);
                } else {
                    const int8_t *row = input + ((s0 * in[1] + s1) * in[2] + s2) * in[3];
                    memset(output, fill, (size_t)before[3]);
                    memcpy(output + before[3], row, (size_t)in[3]);
                    memset(output + before[3] + in[3], fill, (size_t)after[3]);
                }
                output += out3;
            }
        }
    }
}

void tb_quantize_f32_s8(const tb_affine_params *p, const float *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        float q = input[i] / p->scale;   /* float division, as tflite-micro does it */
        int32_t whole;
        float frac;
        if (q != q) {
            q = 0.0f;                    /* NaN */
        }
        q = q > 1073741824.0f ? 1073741824.0f : (q < -1073741824.0f ? -1073741824.0f : q);
        whole = (int32_t)q;              /* round half away from zero, without libm */
        frac = q - (float)whole;
        whole += frac >= 0.5f ? 1 : (frac <= -0.5f ? -1 : 0);
        output[i] = (int8_t)tb_clamp(whole + p->zero_point, -128, 127);
    }
}

void tb_dequantize_s8_f32(const tb_affine_params *p, const int8_t *input, float *output)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
    }
}

void tb_requantize_s8(const tb_requantize_params *p, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < p->size; ++i) {
        const int32_t v = tb_multiply_by_quantized_multiplier((int32_t)input[i] + p->input_offset,
                                                              p->multiplier, p->shift);
        output[i] = (int8_t)tb_clamp(v + p->output_offset, -128, 127);
    }
}
