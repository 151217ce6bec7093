/* Build-time settings of the DUT core. Each can be overridden with -D on the compiler line. */
#ifndef TB_CONFIG_H
#define TB_CONFIG_H

/* Size of the `db` data buffer in bytes. It is a fact of the benchmark (MAX_DB_INPUT_SIZE of the
 * reference firmware) kept in the Python registry, tinybench/benchmarks.py; firmware/Makefile
 * passes it in, so it is never restated here. */
#ifndef TB_DB_BUFFER_BYTES
#error "TB_DB_BUFFER_BYTES is not set: build with firmware/Makefile, which takes it from the benchmark registry"
#endif

/* Longest command accepted, without its '%' (EE_CMD_SIZE of the reference firmware). A 31-byte
 * `db` chunk is 65 characters. Longer commands are refused with an error, never truncated. */
#ifndef TB_CMD_BUFFER_BYTES
#define TB_CMD_BUFFER_BYTES 80
#endif

/* 0: performance mode (timestamps are m-lap-us-<n> lines). 1: energy mode (timestamps are
 * pulses on the board's timestamp pin, see board_timestamp_pin). */
#ifndef TB_ENERGY_MODE
#define TB_ENERGY_MODE 0
#endif

/* The vendor part of the `name` reply, m-name-dut-[<vendor>]. */
#ifndef TB_VENDOR_NAME
#define TB_VENDOR_NAME "unspecified"
#endif

/* Which benchmark's input and result conventions the firmware follows: the one the compiled
 * model declares, unless the build overrides it (Makefile BENCHMARK=...). "" means a model that
 * is none of the four: raw int8 input, dequantized outputs. */
#ifndef TB_BENCHMARK
#define TB_BENCHMARK TB_MODEL_BENCHMARK
#endif

#endif
