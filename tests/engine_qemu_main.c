/* Test image for the engine on the emulated Cortex-M4 (QEMU mps2-an386), not a board: it runs a
 * compiled model on every input of a file and writes the raw int8 outputs back, through ARM
 * semihosting (tests/engine_qemu_semihost.h):
 *   inputs.bin   N inputs of TB_INPUT_SIZE bytes, read one after another
 *   outputs.bin  N outputs of TB_OUTPUT_SIZE bytes
 *   counts.bin   per input, uint32 little endian: SysTick counts of the whole inference, then
 *                (built with -DTB_LAYER_HOOK) of each layer. Under -icount shift=0 one count
 *                is 40 instructions (25 MHz core clock, 1 ns per instruction).
 *   layers.bin   (built with -DTB_LAYER_HOOK -DTB_DUMP_LAYERS) every layer's output, in order.
 * It exits QEMU with status 0, or 3 on a fault, 2 when a file cannot be opened. */
#include <stdint.h>

#include "engine_qemu_semihost.h"
#include "model.h"

/* SysTick counts down from 2^24 - 1 at the core clock, without interrupts. */
static uint32_t ticks(void) { return SYST_CVR; }
static uint32_t elapsed(uint32_t from, uint32_t to) { return (from - to) & 0xFFFFFFu; }

static uint32_t counts[1 + TB_LAYER_COUNT];

static int32_t layers = -1;

#ifdef TB_LAYER_HOOK
static uint32_t layer_mark;
void tb_layer_hook(int32_t layer, const void *output, int32_t output_bytes)
{
    const uint32_t now = ticks();
    counts[1 + layer] = elapsed(layer_mark, now);
#ifdef TB_DUMP_LAYERS
    if (transfer(SYS_WRITE, layers, output, output_bytes) != 0) {
        leave(2);
    }
#else
    (void)output;
    (void)output_bytes;
#endif
    layer_mark = ticks();   /* the hook's own instructions are not charged to the next layer */
}
#define COUNT_WORDS (1 + TB_LAYER_COUNT)
#else
#define COUNT_WORDS 1
#endif

static int8_t input[TB_INPUT_SIZE];
static int8_t output[TB_OUTPUT_SIZE];

int main(void)
{
    const int32_t inputs = open_file("inputs.bin", MODE_READ_BINARY);
    const int32_t outputs = open_file("outputs.bin", MODE_WRITE_BINARY);
    const int32_t times = open_file("counts.bin", MODE_WRITE_BINARY);
#ifdef TB_DUMP_LAYERS
    layers = open_file("layers.bin", MODE_WRITE_BINARY);
#else
    layers = 0;
#endif
    if (inputs < 0 || outputs < 0 || times < 0 || layers < 0) {
        leave(2);
    }
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 0x5u;   /* enabled, core clock, no interrupt */
    while (transfer(SYS_READ, inputs, input, TB_INPUT_SIZE) == 0) {
        const uint32_t start = ticks();
#ifdef TB_LAYER_HOOK
        layer_mark = start;
#endif
        tb_model_invoke(input, output);
        counts[0] = elapsed(start, ticks());
        if (transfer(SYS_WRITE, outputs, output, TB_OUTPUT_SIZE) != 0
            || transfer(SYS_WRITE, times, counts, COUNT_WORDS * 4) != 0) {
            leave(2);
        }
    }
    transfer(SYS_CLOSE, outputs, 0, 0);
    transfer(SYS_CLOSE, times, 0, 0);
#ifdef TB_DUMP_LAYERS
    transfer(SYS_CLOSE, layers, 0, 0);
#endif
    leave(0);
    return 0;
}
