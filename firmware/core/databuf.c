#include "databuf.h"

#include "config.h"
#include "out.h"

static struct {
    uint8_t bytes[TB_DB_BUFFER_BYTES];
} buffer;
static size_t expected_bytes; /* announced by the last `db load` */
static size_t loaded_bytes;

void databuf_clear(void)
{
    expected_bytes = loaded_bytes = 0;
}

int databuf_start(long expected)
{
    expected_bytes = loaded_bytes = 0;
    if (expected <= 0) {
        out_line("e-[Command 'db load' must be >0 bytes]");
        return -1;
    }
    if ((unsigned long)expected > sizeof buffer.bytes) {
        /* The reference firmware only warns here and then overruns its buffer: refuse instead. */
        out_str("e-[Supplied buffer size ");
        out_u64((uint64_t)expected);
        out_str(" exceeds maximum of ");
        out_u64(sizeof buffer.bytes);
        out_str("]");
        out_end_line();
        return -1;
    }
    expected_bytes = (size_t)expected;
    out_str("m-[Expecting ");
    out_u64(expected_bytes);
    out_str(" bytes]");
    out_end_line();
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void databuf_append_hex(const char *hex)
{
    size_t digits = 0, i;
    while (hex[digits])
        digits++;
    if (loaded_bytes >= expected_bytes) {
        out_line(expected_bytes ? "e-[All bytes already loaded: send 'db load N' to start a new input]"
                                : "e-[No load in progress: send 'db load N' first]");
        return;
    }
    if (digits % 2) {
        out_line("e-[Insufficent number of hex digits]"); /* sic: the official wording */
        return;
    }
    for (i = 0; i < digits; i += 2) {
        if (hex_value(hex[i]) < 0 || hex_value(hex[i + 1]) < 0) {
            out_str("e-[Invalid hex digit '");
            out_printable(hex + i, 2);
            out_str("']");
            out_end_line();
            return;
        }
    }
    /* Digits beyond the announced size are ignored, as the reference does. */
    for (i = 0; i + 1 < digits && loaded_bytes < expected_bytes; i += 2)
        buffer.bytes[loaded_bytes++] = (uint8_t)(hex_value(hex[i]) << 4 | hex_value(hex[i + 1]));
    if (loaded_bytes == expected_bytes)
        out_line("m-load-done");
}

void databuf_print(void)
{
    size_t i;
    for (i = 0; i < loaded_bytes; i++) {
        out_str(i % 8 == 0 ? "m-buffer-" : "-");
        out_hex2(buffer.bytes[i]);
        if (i % 8 == 7 || i + 1 == loaded_bytes)
            out_end_line();
    }
}

const uint8_t *databuf_data(void)
{
    return buffer.bytes;
}

size_t databuf_loaded(void)
{
    return loaded_bytes;
}

size_t databuf_capacity(void)
{
    return sizeof buffer.bytes;
}
