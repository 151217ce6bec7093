/* The board API: everything the core needs from a platform. Each folder in firmware/boards/
 * implements these functions (and owns main(), which feeds received bytes to dut_receive_char). */
#ifndef TB_BOARD_H
#define TB_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* Send bytes to the host over the serial line; returns when they are queued or sent. */
void board_uart_write(const char *data, size_t length);

/* A free-running microsecond counter. It may wrap at 2^32 (the host side allows one wrap). */
uint32_t board_time_us(void);

#if TB_ENERGY_MODE
/* Energy mode: pull the timestamp line low for at least 1 us, then release it (open drain). */
void board_timestamp_pin(void);
#endif

#endif
