/* Text output to the host: lines ending "\r\n", numbers formatted without printf (so no float
 * printf support is needed on a microcontroller). Output is collected per line and sent with one
 * board_uart_write call per line (or per full buffer for very long lines). */
#ifndef TB_OUT_H
#define TB_OUT_H

#include <stddef.h>
#include <stdint.h>

void out_char(char c);
void out_str(const char *s);
void out_u32(uint32_t value);
void out_u64(uint64_t value);
void out_i32(int32_t value);
void out_hex2(uint8_t value);                    /* two lowercase hex digits */
void out_fixed3(float value);                    /* exactly what printf("%0.3f", value) prints */
void out_trunc3(float value);                    /* the kws01 reference style, see out.c */
void out_printable(const char *s, size_t max);   /* echo of host text: '?' for unprintable bytes */
void out_end_line(void);                         /* "\r\n", then send */
void out_line(const char *s);                    /* s, "\r\n", send */

#endif
