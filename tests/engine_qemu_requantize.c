/* Test image for the engine's requantization on the emulated Cortex-M4 (tests/engine_qemu.py):
 * reads records {acc, multiplier, shift, output offset} (int32 each) from inputs.bin, in groups of
 * four, and writes per group to outputs.bin (int32 / uint32 each):
 *   4 x tb_multiply_by_quantized_multiplier(acc, multiplier, shift)   the general form
 *   4 x tb_dsp_scale_exact(multiplier, shift) for the record alone
 *   4 x tb_dsp_requantize(acc, scale)                                  the one-SMLAL form
 *   tb_dsp_requantize4 of the four records (offset: the first record's)
 *   tb_dsp_requantize2x2 of the four accumulators with the first two records' scales
 * then exits QEMU through semihosting. */
#include <stdint.h>

#include "cortex_m.h"
#include "tb_internal.h"

#if !TB_USE_DSP
#error "this image tests the Cortex-M DSP requantization"
#endif

static int32_t semihost(int32_t operation, void *argument)
{
    register int32_t r0 __asm__("r0") = operation;
    register void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void leave(int32_t status)
{
    int32_t block[2] = {0x20026, status};   /* ADP_Stopped_ApplicationExit */
    semihost(0x20, block);                  /* SYS_EXIT_EXTENDED */
    for (;;) {
    }
}

static void fault(void) { leave(3); }

static int32_t open_file(const char *name, int32_t length, int32_t mode)
{
    int32_t block[3] = {(int32_t)(uintptr_t)name, mode, length};
    return semihost(0x01, block);   /* SYS_OPEN */
}

static int32_t transfer(int32_t operation, int32_t handle, void *data, int32_t bytes)
{
    int32_t block[3] = {handle, (int32_t)(uintptr_t)data, bytes};
    return semihost(operation, block);   /* bytes not transferred */
}

int main(void)
{
    const int32_t in = open_file("inputs.bin", 10, 1), out = open_file("outputs.bin", 11, 5);
    int32_t records[16], results[14];
    if (in < 0 || out < 0) {
        leave(2);
    }
    while (transfer(0x06, in, records, sizeof records) == 0) {   /* SYS_READ */
        tb_dsp_scale scales[4];
        int32_t k;
        for (k = 0; k < 4; ++k) {
            const int32_t *r = records + 4 * k;
            scales[k] = tb_dsp_scale_of(r[1], r[2], 0);
            results[k] = tb_multiply_by_quantized_multiplier(r[0], r[1], r[2]);
            results[4 + k] = tb_dsp_scale_exact(r + 1, r + 2, 0, 1);
            results[8 + k] = results[4 + k] ? tb_dsp_requantize(r[0], &scales[k]) : 0;
        }
        results[12] = (int32_t)tb_dsp_requantize4(records[0], records[4], records[8], records[12],
                                                  scales, records[3]);
        results[13] = (int32_t)tb_dsp_requantize2x2(records[0], records[4], records[8],
                                                    records[12], scales, records[3]);
        if (transfer(0x05, out, results, sizeof results) != 0) {   /* SYS_WRITE */
            leave(2);
        }
    }
    transfer(0x02, out, 0, 0);   /* SYS_CLOSE */
    leave(0);
    return 0;
}

__attribute__((section(".vectors"), used))
static const cortex_m_vector vectors[16] = {
    (cortex_m_vector)&stack_top, reset_handler, fault, fault, fault, fault, fault, 0, 0, 0, 0,
    fault, fault, 0, fault, fault,
};
