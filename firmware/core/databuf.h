/* The `db` data buffer: the host announces an input with `db load N`, sends it as hex chunks with
 * `db <hex>`, and `infer` reads it. A fixed static array of TB_DB_BUFFER_BYTES; never overrun. */
#ifndef TB_DATABUF_H
#define TB_DATABUF_H

#include <stddef.h>
#include <stdint.h>

/* Forget any input (at boot). */
void databuf_clear(void);

/* `db load N`. Returns 0, or -1 (and prints the e-[...] line) when N is out of range. */
int databuf_start(long expected);

/* `db <hex>`: validates the whole chunk first, then appends; prints m-load-done when the
 * announced size is reached. On any error nothing is written and the load stays open. */
void databuf_append_hex(const char *hex);

/* `db print`: the bytes loaded so far as m-buffer-xx-xx-... lines of 8 bytes. */
void databuf_print(void);

/* The bytes of the current input and how many have arrived. */
const uint8_t *databuf_data(void);
size_t databuf_loaded(void);
size_t databuf_capacity(void);

#endif
