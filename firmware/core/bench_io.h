/* What differs between the benchmarks on the DUT: how the `db` bytes become the model's int8
 * input, and how m-results-[...] is printed (SPEC sections 1.6 and 4.1). */
#ifndef TB_BENCH_IO_H
#define TB_BENCH_IO_H

#include <stdint.h>

/* The model string of the profile reply, m-model-[...]: the benchmark id, or the model's own
 * name when it is none of the four. */
const char *bench_io_model_name(void);

/* Convert the loaded `db` bytes into the model input. Returns 0, or -1 after printing an e-[...]
 * line when too few bytes were loaded. Untimed, as th_load_tensor. */
int bench_io_load_input(int8_t *input);

/* Untimed post-processing after the timed inferences: keeps what `results` prints. */
void bench_io_finish(const int8_t *output);

/* Forget the last results (at boot). */
void bench_io_clear(void);

/* Print m-results-[...] for the last inference (an e-[...] line before the first one). */
void bench_io_print_results(void);

#endif
