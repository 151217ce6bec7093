/*
 * tinybench engine: int8 kernels for compiled MLPerf Tiny models.
 *
 * Portable C99, no allocation, no libm. Each kernel is one function
 *     tb_<kernel>(const <params> *p, inputs..., constants..., outputs...)
 * whose parameters (shapes, requantization multipliers and shifts, zero-point offsets, activation
 * ranges) were computed ahead of time by `tinybench compile` (tinybench/compiler/lower.py). The
 * integer arithmetic is that of the tflite-micro reference kernels, bit for bit; the numpy golden
 * model in tinybench/compiler/golden.py implements the same kernels under the same names.
 *
 * Tensors are NHWC, weights are laid out as in the .tflite file:
 *   CONV_2D [out_c][kh][kw][in_c], DEPTHWISE_CONV_2D [1][kh][kw][out_c], FULLY_CONNECTED [out][in].
 *
 * Where the compiler targets the Cortex-M DSP extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33),
 * CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED and ADD take paths of their own (tb_dsp.h) with
 * the same results bit for bit; -DTB_NO_DSP builds the portable C instead. Those paths keep a
 * few buffers on the stack (at most about 3.5 KB, for convolutions taking pixel pairs).
 */
#ifndef TB_ENGINE_H
#define TB_ENGINE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TB_ALIGNED(n) __attribute__((aligned(n)))
#else
#define TB_ALIGNED(n)
#endif

/* CONV_2D. The input offset is folded into the bias: with padded taps holding the input zero
 * point, sum((x + input_offset) * w) + bias == sum(x * w) + (bias + input_offset * sum(w)). */
typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;      /* implicit zero-point padding before the first row/column */
    int32_t input_offset;           /* minus the input zero point */
    int32_t output_offset;          /* the output zero point */
    int32_t act_min, act_max;       /* fused activation, in output units */
    int32_t per_channel;            /* 1: multiplier/shift per output channel; 0: one value */
    const int32_t *multiplier;      /* Q31 significands */
    const int32_t *shift;           /* power-of-two exponents (positive: left) */
    const int32_t *bias;            /* per output channel, input offset folded in (see above) */
    int8_t *scratch;                /* filter_h * filter_w * in_c bytes (NULL for 1x1 filters) */
} tb_conv_params;

/* DEPTHWISE_CONV_2D: output channel i * depth_multiplier + j reads input channel i. */
typedef struct {
    int32_t batches;
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_top, pad_left;
    int32_t depth_multiplier;
    int32_t input_offset, output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;
    const int32_t *multiplier;
    const int32_t *shift;
} tb_depthwise_params;

/* FULLY_CONNECTED: output[b][o] from input[b][0..in_depth). The bias has the constant part of
 * sum((x + input_offset) * (w + filter_offset)) folded in; filter_offset * sum(x) is added at
 * run time (it is 0 for symmetric weights). */
typedef struct {
    int32_t batches, in_depth, out_depth;
    int32_t input_offset, filter_offset, output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;
    const int32_t *multiplier;
    const int32_t *shift;
    const int32_t *bias;
} tb_fc_params;

/* AVERAGE_POOL_2D and MAX_POOL_2D (input and output share their quantization). */
typedef struct {
    int32_t batches, in_h, in_w, channels, out_h, out_w;
    int32_t filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
    int32_t act_min, act_max;
} tb_pool_params;

/* MEAN over adjacent axes: input viewed as [outer][count][inner], output as [outer][inner]. */
typedef struct {
    int32_t outer, count, inner;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;      /* input/output scale ratio with 1/count folded in */
} tb_mean_params;

/* ADD of two int8 tensors of the same shape. */
typedef struct {
    int32_t size;
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tb_add_params;

/* RESHAPE: a byte copy (nothing at all when input and output share memory). */
typedef struct {
    int32_t bytes;
} tb_copy_params;

/* SOFTMAX over the last axis; output scale 1/256, zero point -128. */
typedef struct {
    int32_t rows, depth;
    int32_t input_multiplier, input_left_shift;
    int32_t diff_min;               /* inputs further than this below the row maximum give 0 */
} tb_softmax_params;

/* PAD in 4-D (lower ranks have leading dimensions of 1). */
typedef struct {
    const int32_t *in_shape;
    const int32_t *pad_before;
    const int32_t *pad_after;
    int32_t pad_value;
} tb_pad_params;

/* QUANTIZE float32 -> int8 and DEQUANTIZE int8 -> float32. */
typedef struct {
    int32_t size;
    float scale;
    int32_t zero_point;
} tb_affine_params;

/* QUANTIZE int8 -> int8 (a change of scale and zero point). */
typedef struct {
    int32_t size;
    int32_t input_offset, output_offset;
    int32_t multiplier, shift;
} tb_requantize_params;

void tb_conv2d_s8(const tb_conv_params *p, const int8_t *input, const int8_t *filter,
                  int8_t *output);
void tb_depthwise_conv2d_s8(const tb_depthwise_params *p, const int8_t *input,
                            const int8_t *filter, const int32_t *bias, int8_t *output);
void tb_fully_connected_s8(const tb_fc_params *p, const int8_t *input, const int8_t *weights,
                           int8_t *output);
void tb_avg_pool_s8(const tb_pool_params *p, const int8_t *input, int8_t *output);
void tb_max_pool_s8(const tb_pool_params *p, const int8_t *input, int8_t *output);
void tb_mean_s8(const tb_mean_params *p, const int8_t *input, int8_t *output);
void tb_add_s8(const tb_add_params *p, const int8_t *input1, const int8_t *input2,
               int8_t *output);
void tb_reshape(const tb_copy_params *p, const void *input, void *output);
void tb_softmax_s8(const tb_softmax_params *p, const int8_t *input, int8_t *output);
void tb_pad_s8(const tb_pad_params *p, const int8_t *input, int8_t *output);
void tb_quantize_f32_s8(const tb_affine_params *p, const float *input, int8_t *output);
void tb_dequantize_s8_f32(const tb_affine_params *p, const int8_t *input, float *output);
void tb_requantize_s8(const tb_requantize_params *p, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TB_ENGINE_H */
