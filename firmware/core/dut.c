#include "dut.h"

#include <stdint.h>
#include <string.h>

#include "bench_io.h"
#include "board.h"
#include "config.h"
#include "databuf.h"
#include "model.h"
#include "out.h"

#define PROFILE_STRING "ULPMark for tinyML Firmware V0.0.1"
#define DEFAULT_ITERATIONS 1
#define DEFAULT_WARMUPS 10 /* the reference code's default (its help text says 0) */
#define MAX_TOKENS 4

static char command[TB_CMD_BUFFER_BYTES + 1];
static size_t command_length;
static int command_too_long; /* set when a command outgrew the buffer: its bytes are dropped */

static int8_t model_input[TB_INPUT_SIZE];
static int8_t model_output[TB_OUTPUT_SIZE];

#ifdef TB_LAYER_HOOK
/* Per-layer timing (the `layers` command, a tinybench extension: docs/protocol-extensions.md).
 * The model calls tb_layer_hook after each step; each step's time is the gap since the previous
 * step ended (or since the inference began). Only built with -DTB_LAYER_HOOK: the clock reads
 * cost time, so firmware for official runs leaves it out. */
static uint32_t layer_us[TB_LAYER_COUNT];
static uint32_t layer_mark_us;
static int layers_timed; /* an inference has run since boot */

void tb_layer_hook(int32_t layer, const void *output, int32_t output_bytes)
{
    const uint32_t now = board_time_us();
    (void)output, (void)output_bytes;
    if (layer >= 0 && layer < TB_LAYER_COUNT)
        layer_us[layer] = now - layer_mark_us;
    layer_mark_us = now;
}

static void invoke_model(void)
{
    layer_mark_us = board_time_us();
    tb_model_invoke(model_input, model_output);
    layers_timed = 1;
}

/* "CONV_2D#3" -> "CONV_2D": the operator name without the model's per-operator counter. */
static void print_opcode(const char *name)
{
    for (; *name && *name != '#'; name++)
        out_char(*name);
}

static void cmd_layers(int argc, char **argv)
{
    int32_t i;
    (void)argc, (void)argv;
    if (!layers_timed) {
        out_line("e-[No inference has run yet]");
        return;
    }
    for (i = 0; i < TB_LAYER_COUNT; i++) {
        out_str("m-layer-");
        out_i32(i);
        out_char('-');
        print_opcode(tb_layer_names[i]);
        out_str("-us-");
        out_u32(layer_us[i]);
        out_end_line();
    }
}
#else
static void invoke_model(void)
{
    tb_model_invoke(model_input, model_output);
}
#endif

static void timestamp(void)
{
#if TB_ENERGY_MODE
    board_timestamp_pin();
#else
    out_str("m-lap-us-");
    out_u32(board_time_us());
    out_end_line();
#endif
}

/* A decimal integer (optional leading '-'), or 0 with *ok cleared for anything else. */
static long parse_long(const char *s, int *ok)
{
    long value = 0;
    int negative = 0;
    *ok = 0;
    if (*s == '-') {
        negative = 1;
        s++;
    }
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || value > 100000000L)
            return 0;
        value = value * 10 + (*s - '0');
    }
    *ok = 1;
    return negative ? -value : value;
}

static void print_invalid_number(const char *text)
{
    out_str("e-[Invalid number '");
    out_printable(text, 16);
    out_str("']");
    out_end_line();
}

static void cmd_name(int argc, char **argv)
{
    (void)argc, (void)argv;
    out_line("m-name-dut-[" TB_VENDOR_NAME "]");
}

static void cmd_profile(int argc, char **argv)
{
    (void)argc, (void)argv;
    out_line("m-profile-[" PROFILE_STRING "]");
    out_str("m-model-[");
    out_printable(bench_io_model_name(), 64);
    out_str("]");
    out_end_line();
}

static void cmd_timestamp(int argc, char **argv)
{
    (void)argc, (void)argv;
    timestamp();
}

static void cmd_help(int argc, char **argv)
{
    (void)argc, (void)argv;
    out_line(PROFILE_STRING);
    out_line("name        device and vendor name");
    out_line("profile     benchmark profile and model");
    out_line("timestamp   print a timestamp");
    out_line("db load N   announce an input of N bytes");
    out_line("db HEX      load bytes given as pairs of hex digits");
    out_line("db print    show the loaded bytes");
    out_line("infer N W   run W warmup inferences, then N timed ones (default N=1 W=10)");
    out_line("results     print the results of the last inference");
#ifdef TB_LAYER_HOOK
    out_line("layers      time of each layer in the last inference (us)");
#endif
    out_line("help        this text");
}

static void cmd_db(int argc, char **argv)
{
    int ok;
    long n;
    if (argc < 2) {
        out_line("e-[Command 'db' requires a subcommand]");
    } else if (strcmp(argv[1], "load") == 0) {
        if (argc < 3) {
            out_line("e-[Command 'db load' requires the # of bytes]");
            return;
        }
        n = parse_long(argv[2], &ok);
        if (!ok)
            print_invalid_number(argv[2]);
        else
            databuf_start(n);
    } else if (strcmp(argv[1], "print") == 0) {
        databuf_print();
    } else {
        databuf_append_hex(argv[1]);
    }
}

static void cmd_infer(int argc, char **argv)
{
    long iterations = DEFAULT_ITERATIONS, warmups = DEFAULT_WARMUPS, i;
    int ok = 1;
    if (argc > 1 && (iterations = parse_long(argv[1], &ok), !ok)) {
        print_invalid_number(argv[1]);
        return;
    }
    if (argc > 2 && (warmups = parse_long(argv[2], &ok), !ok)) {
        print_invalid_number(argv[2]);
        return;
    }
    if (iterations <= 0) {
        out_line("e-[Inference iterations must be >0]");
        return;
    }
    if (warmups < 0) {
        out_line("e-[Inference warmup must be >=0]");
        return;
    }
    if (bench_io_load_input(model_input) != 0)
        return;
    out_str("m-warmup-start-");
    out_i32((int32_t)warmups);
    out_end_line();
    for (i = 0; i < warmups; i++)
        invoke_model();
    out_line("m-warmup-done");
    out_str("m-infer-start-");
    out_i32((int32_t)iterations);
    out_end_line();
    timestamp();
    for (i = 0; i < iterations; i++)
        invoke_model();
    timestamp();
    out_line("m-infer-done");
    bench_io_finish(model_output);
    bench_io_print_results();
}

static void cmd_results(int argc, char **argv)
{
    (void)argc, (void)argv;
    bench_io_print_results();
}

/* The command set. A new command (a per-layer timing command, say) is one more row. */
static const struct {
    const char *name;
    void (*run)(int argc, char **argv);
} commands[] = {
    {"name", cmd_name},
    {"profile", cmd_profile},
    {"timestamp", cmd_timestamp},
    {"help", cmd_help},
    {"db", cmd_db},
    {"infer", cmd_infer},
    {"results", cmd_results},
#ifdef TB_LAYER_HOOK
    {"layers", cmd_layers},
#endif
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Split in place at runs of blanks; CR and LF count as blanks, so a terminal's Enter between
 * commands does no harm. */
static int tokenize(char *text, char **argv)
{
    int argc = 0;
    while (*text && argc < MAX_TOKENS) {
        while (is_space(*text))
            *text++ = '\0';
        if (!*text)
            break;
        argv[argc++] = text;
        while (*text && !is_space(*text))
            text++;
    }
    return argc;
}

static void run_command(char *text)
{
    char *argv[MAX_TOKENS];
    const int argc = tokenize(text, argv);
    size_t i;
    if (argc > 0) {
        for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
            if (strcmp(argv[0], commands[i].name) == 0) {
                commands[i].run(argc, argv);
                break;
            }
        }
        if (i == sizeof commands / sizeof commands[0]) {
            out_str("e-[Unknown command: ");
            out_printable(argv[0], 32);
            out_str("]");
            out_end_line();
        }
    }
    out_line("m-ready");
}

void dut_receive_char(char c)
{
    if (c != '%') {
        if (command_length < TB_CMD_BUFFER_BYTES)
            command[command_length++] = c ? c : '\x7f'; /* a NUL must not cut the command short */
        else
            command_too_long = 1;
        return;
    }
    command[command_length] = '\0';
    if (command_too_long) {
        out_str("e-[Command too long: the limit is ");
        out_u32(TB_CMD_BUFFER_BYTES);
        out_str(" characters]");
        out_end_line();
        out_line("m-ready");
    } else {
        run_command(command);
    }
    command_length = 0;
    command_too_long = 0;
}

void dut_init(void)
{
    command_length = 0;
    command_too_long = 0;
    databuf_clear();
    bench_io_clear();
#if TB_ENERGY_MODE
    out_line("m-timestamp-mode-energy");
#else
    out_line("m-timestamp-mode-performance");
#endif
    timestamp(); /* in energy mode this first pulse leaves the open-drain line idle high */
    out_line("m-init-done");
    out_line("m-ready");
}
