/* The MLPerf Tiny DUT protocol (SPEC section 1): the board's main() calls dut_init() once, then
 * passes every byte received from the host to dut_receive_char(). */
#ifndef TB_DUT_H
#define TB_DUT_H

/* Start (or restart) with no command, input or results pending, and print the boot banner:
 * m-timestamp-mode-..., a first timestamp, m-init-done, m-ready. */
void dut_init(void);

/* Collect one byte of a command; a '%' ends the command and runs it. */
void dut_receive_char(char c);

#endif
