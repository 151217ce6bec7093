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

#include "engine_qemu_semihost.h"
#include "tb_internal.h"

#if !TB_USE_DSP
#error "this image tests the Cortex-M DSP requantization"
#endif

int main(void)
{
    const int32_t in = open_file("inputs.bin", MODE_READ_BINARY);
    const int32_t out = open_file("outputs.bin", MODE_WRITE_BINARY);
    int32_t records[16], results[14];
    if (in < 0 || out < 0) {
        leave(2);
    }
    while (transfer(SYS_READ, in, records, sizeof records) == 0) {
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
        if (transfer(SYS_WRITE, out, results, sizeof results) != 0) {
            leave(2);
        }
    }
    transfer(SYS_CLOSE, out, 0, 0);
    leave(0);
    return 0;
}
