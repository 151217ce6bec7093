#include "bench_io.h"

#include <math.h>
#include <string.h>

#include "config.h"
#include "databuf.h"
#include "model.h"
#include "out.h"

enum input_kind {
    INPUT_INT8,         /* the bytes are the int8 input (kws01, and models that are none of the four) */
    INPUT_UINT8_PIXELS, /* uint8 pixels; the int8 input is pixel - 128 (ic01, vww01) */
    INPUT_FLOAT32       /* little-endian float32, quantized with round-and-clamp (ad01) */
};

enum results_style {
    RESULTS_FIXED3,                /* every dequantized output as %0.3f, comma separated */
    RESULTS_FIXED3_TRAILING_COMMA, /* the same with a comma after each value (vww01 reference) */
    RESULTS_TRUNCATED3,            /* "0.ddd" truncated, as the kws01 reference prints */
    RESULTS_MEAN_SQUARED_ERROR     /* one %0.3f: MSE of the dequantized output against the input */
};

struct convention {
    const char *benchmark;
    enum input_kind input;
    enum results_style results;
};

static const struct convention conventions[] = {
    {"kws01", INPUT_INT8, RESULTS_TRUNCATED3},
    {"vww01", INPUT_UINT8_PIXELS, RESULTS_FIXED3_TRAILING_COMMA},
    {"ic01", INPUT_UINT8_PIXELS, RESULTS_FIXED3},
    {"ad01", INPUT_FLOAT32, RESULTS_MEAN_SQUARED_ERROR},
};
static const struct convention open_model = {TB_MODEL_NAME, INPUT_INT8, RESULTS_FIXED3};

static int8_t last_output[TB_OUTPUT_SIZE];
static float last_score;
static int have_results;

static const struct convention *convention(void)
{
    static const struct convention *chosen;
    size_t i;
    if (!chosen) {
        chosen = &open_model;
        for (i = 0; i < sizeof conventions / sizeof conventions[0]; i++)
            if (strcmp(TB_BENCHMARK, conventions[i].benchmark) == 0)
                chosen = &conventions[i];
    }
    return chosen;
}

const char *bench_io_model_name(void)
{
    return convention()->benchmark;
}

static size_t input_bytes_needed(void)
{
    return convention()->input == INPUT_FLOAT32 ? TB_INPUT_SIZE * sizeof(float) : TB_INPUT_SIZE;
}

static float loaded_float(size_t index)
{
    float value;
    memcpy(&value, databuf_data() + index * sizeof value, sizeof value);
    return value;
}

/* round(x / scale) + zero point, rounding halves away from zero, clamped to int8. */
static int8_t quantize(float x)
{
    float scaled = roundf(x / TB_INPUT_SCALE);
    int32_t q;
    if (!(scaled == scaled))
        scaled = 0.0f; /* NaN */
    if (scaled > 1e6f)
        scaled = 1e6f;
    if (scaled < -1e6f)
        scaled = -1e6f;
    q = (int32_t)scaled + TB_INPUT_ZERO_POINT;
    return (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
}

int bench_io_load_input(int8_t *input)
{
    const uint8_t *bytes = databuf_data();
    const size_t needed = input_bytes_needed();
    size_t i;
    if (databuf_loaded() < needed) {
        out_str("e-[The model input needs ");
        out_u64(needed);
        out_str(" bytes but ");
        out_u64(databuf_loaded());
        out_str(" were loaded]");
        out_end_line();
        return -1;
    }
    for (i = 0; i < TB_INPUT_SIZE; i++) {
        switch (convention()->input) {
        case INPUT_INT8:
            input[i] = (int8_t)bytes[i];
            break;
        case INPUT_UINT8_PIXELS:
            input[i] = (int8_t)((int)bytes[i] - 128);
            break;
        case INPUT_FLOAT32:
            input[i] = quantize(loaded_float(i));
            break;
        }
    }
    return 0;
}

static float dequantize(int8_t q)
{
    return (float)((int32_t)q - TB_OUTPUT_ZERO_POINT) * TB_OUTPUT_SCALE;
}

void bench_io_finish(const int8_t *output)
{
    memcpy(last_output, output, sizeof last_output);
    have_results = 1;
    if (convention()->results == RESULTS_MEAN_SQUARED_ERROR) {
        /* Accumulated in float in index order, as the reference does. The float input is still
         * in the db buffer: nothing can change it between the inferences and this point. */
        const size_t n = TB_OUTPUT_SIZE < TB_INPUT_SIZE ? TB_OUTPUT_SIZE : TB_INPUT_SIZE;
        float sum = 0.0f;
        size_t i;
        for (i = 0; i < n; i++) {
            const float diff = dequantize(output[i]) - loaded_float(i);
            sum += diff * diff;
        }
        last_score = sum / (float)n;
    }
}

void bench_io_clear(void)
{
    have_results = 0;
}

void bench_io_print_results(void)
{
    const enum results_style style = convention()->results;
    size_t i;
    if (!have_results) {
        out_line("e-[No results yet: run 'infer' first]");
        return;
    }
    out_str("m-results-[");
    if (style == RESULTS_MEAN_SQUARED_ERROR) {
        out_fixed3(last_score);
    } else {
        for (i = 0; i < TB_OUTPUT_SIZE; i++) {
            if (style == RESULTS_TRUNCATED3)
                out_trunc3(dequantize(last_output[i]));
            else
                out_fixed3(dequantize(last_output[i]));
            if (i + 1 < TB_OUTPUT_SIZE || style == RESULTS_FIXED3_TRAILING_COMMA)
                out_char(',');
        }
    }
    out_str("]");
    out_end_line();
}
