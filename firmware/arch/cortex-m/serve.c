/* The receive path shared by the Cortex-M boards: the UART interrupt pushes bytes into a ring,
 * the main loop hands them to the protocol core and sleeps when there are none. */
#include <stdint.h>

#include "cortex_m.h"
#include "dut.h"

/* A power of two, so that the free-running indices wrap correctly. A byte that arrives when the
 * ring is full is dropped: the protocol core then sees a garbled command and says so, it never
 * overruns. */
#define RX_BUFFER_BYTES 256u
static volatile uint8_t rx_buffer[RX_BUFFER_BYTES];
static volatile uint32_t rx_head, rx_tail;

void cortex_m_rx_push(uint8_t byte)
{
    if (rx_head - rx_tail < RX_BUFFER_BYTES) {
        rx_buffer[rx_head % RX_BUFFER_BYTES] = byte;
        rx_head++;
    }
}

void cortex_m_serve(void)
{
    dut_init();
    for (;;) {
        char c;
        /* Test and sleep with interrupts masked: WFI still wakes on a pending interrupt, so a
         * byte arriving between the test and the sleep is not left waiting. */
        __asm__ volatile("cpsid i" ::: "memory");
        if (rx_tail == rx_head) {
            __asm__ volatile("wfi");
            __asm__ volatile("cpsie i" ::: "memory");
            continue;
        }
        __asm__ volatile("cpsie i" ::: "memory");
        c = (char)rx_buffer[rx_tail % RX_BUFFER_BYTES];
        rx_tail++;
        dut_receive_char(c);
    }
}
