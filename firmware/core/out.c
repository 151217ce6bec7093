#include "out.h"

#include <string.h>

#include "board.h"

static char line[128];
static size_t line_length;

static void flush(void)
{
    if (line_length > 0) {
        board_uart_write(line, line_length);
        line_length = 0;
    }
}

void out_char(char c)
{
    if (line_length == sizeof line)
        flush();
    line[line_length++] = c;
}

void out_str(const char *s)
{
    while (*s)
        out_char(*s++);
}

void out_u64(uint64_t value)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value > 0);
    while (n > 0)
        out_char(digits[--n]);
}

void out_u32(uint32_t value)
{
    out_u64(value);
}

void out_i32(int32_t value)
{
    if (value < 0) {
        out_char('-');
        out_u64((uint64_t)(-(int64_t)value));
    } else {
        out_u64((uint64_t)value);
    }
}

void out_hex2(uint8_t value)
{
    static const char hex[] = "0123456789abcdef";
    out_char(hex[value >> 4]);
    out_char(hex[value & 15u]);
}

/* An integer of up to 39 decimal digits (the largest float is about 3.4e38), printed from the
 * mantissa by repeated doubling: exact without 128-bit arithmetic. */
static void out_mantissa_times_power_of_two(uint32_t mantissa, int exponent)
{
    unsigned char digits[40]; /* least significant first */
    int count = 0, i;
    do {
        digits[count++] = (unsigned char)(mantissa % 10u);
        mantissa /= 10u;
    } while (mantissa > 0);
    while (exponent-- > 0) {
        int carry = 0;
        for (i = 0; i < count; i++) {
            int d = digits[i] * 2 + carry;
            digits[i] = (unsigned char)(d % 10);
            carry = d / 10;
        }
        if (carry)
            digits[count++] = (unsigned char)carry;
    }
    while (count > 0)
        out_char((char)('0' + digits[--count]));
}

/* printf's "%0.3f" of a float, exactly: the float's binary value is rounded to three decimals,
 * ties to even (as glibc and Python do). The value is mantissa * 2^exponent; for negative
 * exponents, thousandths = mantissa * 1000 / 2^-exponent is computed with its exact remainder. */
void out_fixed3(float value)
{
    uint32_t bits, mantissa, biased;
    int exponent;
    memcpy(&bits, &value, sizeof bits);
    biased = (bits >> 23) & 0xffu;
    mantissa = bits & 0x7fffffu;
    if (bits >> 31)
        out_char('-');
    if (biased == 0xffu) {
        out_str(mantissa ? "nan" : "inf");
        return;
    }
    if (biased == 0) {
        exponent = -149; /* subnormal */
    } else {
        mantissa |= 0x800000u;
        exponent = (int)biased - 150;
    }
    if (exponent >= 0) {
        out_mantissa_times_power_of_two(mantissa, exponent);
        out_str(".000");
        return;
    }
    {
        const int shift = -exponent;
        const uint64_t scaled = (uint64_t)mantissa * 1000u; /* < 2^34 */
        uint64_t thousandths = 0;
        if (shift < 40) { /* beyond that the value is below half a thousandth */
            const uint64_t remainder = scaled & ((1ull << shift) - 1u);
            const uint64_t half = 1ull << (shift - 1);
            thousandths = scaled >> shift;
            if (remainder > half || (remainder == half && (thousandths & 1u)))
                thousandths++;
        }
        out_u64(thousandths / 1000u);
        out_char('.');
        out_char((char)('0' + thousandths / 100u % 10u));
        out_char((char)('0' + thousandths / 10u % 10u));
        out_char((char)('0' + thousandths % 10u));
    }
}

/* The kws01 reference prints each probability p as "0." followed by (int)(p*10), (int)(p*100)%10
 * and (int)(p*1000)%10: truncation, float products, and "0.1000" for p == 1. Reproduced as is
 * for 0 <= p < 1e6; anything else (impossible for a softmax output) is printed as %0.3f. */
void out_trunc3(float value)
{
    if (!(value >= 0.0f && value < 1e6f)) {
        out_fixed3(value);
        return;
    }
    out_str("0.");
    out_i32((int32_t)(value * 10.0f));
    out_i32((int32_t)(value * 100.0f) % 10);
    out_i32((int32_t)(value * 1000.0f) % 10);
}

void out_printable(const char *s, size_t max)
{
    size_t i;
    for (i = 0; i < max && s[i]; i++) {
        const unsigned char c = (unsigned char)s[i];
        out_char(c >= 0x20 && c < 0x7f && c != ']' ? (char)c : '?');
    }
}

void out_end_line(void)
{
    out_char('\r');
    out_char('\n');
    flush();
}

void out_line(const char *s)
{
    out_str(s);
    out_end_line();
}
