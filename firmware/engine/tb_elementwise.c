/* ADD, RESHAPE, PAD, QUANTIZE, DEQUANTIZE: element-wise and data-movement kernels. */
#include <string.h>

#include "tb_engine.h"
#include "tb_internal.h"

void tb_add_s8(const tb_add_params *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    /* The parameters as locals: stores through int8_t pointers may alias anything, and would
     * have every field reloaded per element. */
    const int32_t size = p->size, left = p->left_shift;
    const int32_t offset1 = p->input1_offset, offset2 = p->input2_offset;
    const int32_t m1 = p->input1_multiplier, s1 = p->input1_shift;
    const int32_t m2 = p->input2_multiplier, s2 = p->input2_shift;
    const int32_t mo = p->output_multiplier, so = p->output_shift;
    const int32_t output_offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    int32_t i;
#if TB_USE_DSP
    /* tflite-micro gives the input of the larger scale the multiplier 2^30 with shift 0: a
     * halving, floor((x + 1) / 2) exactly. With the other two scalings in the domain of the
     * one-SMLAL form (tb_dsp.h), each element costs three multiplies fewer branches. */
    {
        const int32_t half1 = m1 == (1 << 30) && s1 == 0, half2 = m2 == (1 << 30) && s2 == 0;
        const int32_t mf = half1 ? m2 : m1, sf = half1 ? s2 : s1;
        if ((half1 || half2) && tb_dsp_scale_exact(&mf, &sf, 0, 1)
            && tb_dsp_scale_exact(&mo, &so, 0, 1)) {
            const tb_dsp_scale kf = tb_dsp_scale_of(mf, sf, 0), ko = tb_dsp_scale_of(mo, so, 0);
            const int8_t *xf = half1 ? input2 : input1, *xh = half1 ? input1 : input2;
            const int32_t offset_f = half1 ? offset2 : offset1;
            const int32_t offset_h = half1 ? offset1 : offset2;
            for (i = 0; i < size; ++i) {
                const int32_t a = ((int32_t)xf[i] + offset_f) * (1 << left);
                const int32_t h = ((int32_t)xh[i] + offset_h) * (1 << left);
                const int32_t sum = tb_dsp_requantize(a, &kf) + (h >> 1) + (h & 1);
                output[i] = (int8_t)tb_clamp(tb_dsp_requantize(sum, &ko) + output_offset, lo, hi);
            }
            return;
        }
    }
#endif
    /* Each input is brought to a common scale with 20 bits of headroom, summed, then scaled to
     * the output. Reads precede the write of the same index, so output may alias input1. */
    for (i = 0; i < size; ++i) {
        const int32_t a = ((int32_t)input1[i] + offset1) * (1 << left);
        const int32_t b = ((int32_t)input2[i] + offset2) * (1 << left);
        const int32_t sum = tb_multiply_by_quantized_multiplier(a, m1, s1)
                            + tb_multiply_by_quantized_multiplier(b, m2, s2);
        const int32_t out = tb_multiply_by_quantized_multiplier(sum, mo, so) + output_offset;
        output[i] = (int8_t)tb_clamp(out, lo, hi);
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
