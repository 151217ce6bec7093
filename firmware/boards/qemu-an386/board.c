/* Board `qemu-an386`: a Cortex-M4F as QEMU emulates it (machine mps2-an386, 25 MHz core clock).
 * UART0 is the CMSDK APB UART; received bytes arrive by interrupt into a ring buffer and main()
 * hands them to the protocol core. The microsecond clock is SysTick: under `-icount shift=0` each
 * instruction advances virtual time by 1 ns, so the time it reports counts instructions. */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"

#define CORE_CLOCK_HZ 25000000u
#define SYSTICK_HZ 1000u /* one interrupt per millisecond */
#define COUNTS_PER_TICK (CORE_CLOCK_HZ / SYSTICK_HZ)
#define COUNTS_PER_US (CORE_CLOCK_HZ / 1000000u)

#define UART0_DATA REG(0x40004000u)
#define UART0_STATE REG(0x40004004u)
#define UART0_CTRL REG(0x40004008u)
#define UART0_INTCLEAR REG(0x4000400Cu)
#define UART0_BAUDDIV REG(0x40004010u)
#define UART_STATE_TX_FULL 0x1u
#define UART_STATE_RX_FULL 0x2u
#define UART_CTRL_TX_EN 0x1u
#define UART_CTRL_RX_EN 0x2u
#define UART_CTRL_RX_IRQ_EN 0x8u
#define UART_INT_RX 0x2u

#define UART0_RX_IRQ 0u

static volatile uint32_t milliseconds;

static void uart0_rx_handler(void)
{
    /* Clear first, then drain: a byte that lands after the last read raises the interrupt again.
     * (Clearing after the drain could swallow that byte's interrupt, and with it every later
     * byte: the UART holds one byte and accepts no more until it is read.) */
    UART0_INTCLEAR = UART_INT_RX;
    while (UART0_STATE & UART_STATE_RX_FULL) {
        const uint8_t byte = (uint8_t)UART0_DATA;
        cortex_m_rx_push(byte);
    }
}

static void systick_handler(void)
{
    milliseconds++;
}

__attribute__((section(".vectors"), used))
static const cortex_m_vector vectors[16 + UART0_RX_IRQ + 1] = {
    CORTEX_M_SYSTEM_VECTORS(systick_handler),
    uart0_rx_handler,
};

void board_uart_write(const char *data, size_t length)
{
    while (length--) {
        while (UART0_STATE & UART_STATE_TX_FULL)
            ;
        UART0_DATA = (uint8_t)*data++;
    }
}

static uint32_t current_us(void)
{
    uint32_t ms, count;
    do { /* re-read if the millisecond tick happened in between */
        ms = milliseconds;
        count = SYST_CVR;
    } while (ms != milliseconds);
    return ms * 1000u + (COUNTS_PER_TICK - 1u - count) / COUNTS_PER_US;
}

/* Timestamps fall on the first instruction of a microsecond: wait for the next one to begin and
 * return it. How long the board sat idle before a command moves where in a microsecond the command
 * starts; aligned like this, the time between two timestamps no longer depends on that, and the
 * same model and input give the same count on every run (unless the timed code ends within the
 * few instructions of this loop before a microsecond boundary). */
uint32_t board_time_us(void)
{
    const uint32_t now = current_us();
    uint32_t next;
    while ((next = current_us()) == now)
        ;
    return next;
}

#if TB_ENERGY_MODE
void board_timestamp_pin(void)
{
    /* The emulated board has no GPIO that a power monitor could watch. */
}
#endif

int main(void)
{
    UART0_BAUDDIV = 16; /* the smallest divider QEMU accepts without a warning */
    UART0_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_IRQ_EN;
    NVIC_ENABLE_IRQ(UART0_RX_IRQ);

    SYST_RVR = COUNTS_PER_TICK - 1u;
    SYST_CVR = 0;
    SYST_CSR = 0x7u; /* processor clock, interrupt, enable */

    cortex_m_serve();
}
