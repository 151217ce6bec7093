/* What the Cortex-M boards share: the reset handler, the core's own registers, and the table
 * layout. */
#ifndef TB_CORTEX_M_H
#define TB_CORTEX_M_H

#include <stdint.h>

#define REG(address) (*(volatile uint32_t *)(address))

#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
/* NVIC set-enable registers: IRQ n is bit n % 32 of word n / 32. */
#define NVIC_ENABLE_IRQ(n) (REG(0xE000E100u + 4u * ((n) / 32u)) = 1u << ((n) % 32u))

typedef void (*cortex_m_vector)(void);
/* The first 16 entries of a vector table: initial stack pointer, reset and system exceptions. */
extern uint32_t stack_top;
void reset_handler(void);
void cortex_m_halt(void);
#define CORTEX_M_SYSTEM_VECTORS(systick)                                                     \
    (cortex_m_vector)&stack_top, reset_handler, cortex_m_halt /* NMI */,                      \
        cortex_m_halt /* HardFault */, cortex_m_halt /* MemManage */,                         \
        cortex_m_halt /* BusFault */, cortex_m_halt /* UsageFault */, 0, 0, 0, 0,            \
        cortex_m_halt /* SVCall */, cortex_m_halt /* DebugMonitor */, 0,                      \
        cortex_m_halt /* PendSV */, systick

/* The receive path (serve.c): the UART interrupt calls cortex_m_rx_push for each byte; main()
 * sets up the board, then calls cortex_m_serve, which runs the protocol and never returns. */
void cortex_m_rx_push(uint8_t byte);
void cortex_m_serve(void);

#endif
