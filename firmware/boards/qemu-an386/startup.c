/* Reset and exception vectors of the Cortex-M4F on QEMU's mps2-an386. */
#include <stdint.h>
#include <string.h>

extern uint32_t data_start, data_end, data_load, bss_start, bss_end, stack_top;
extern int main(void);
void reset_handler(void);
void systick_handler(void);
void uart0_rx_handler(void);

static void halt(void)
{
    for (;;)
        __asm__ volatile("wfi");
}

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void reset_handler(void)
{
    memcpy(&data_start, &data_load, (size_t)((char *)&data_end - (char *)&data_start));
    memset(&bss_start, 0, (size_t)((char *)&bss_end - (char *)&bss_start));
    SCB_CPACR |= 0xFu << 20; /* full access to the FPU (CP10, CP11) before any float code */
    __asm__ volatile("dsb\n\tisb");
    main();
    halt();
}

/* The table: initial stack pointer, the 15 system exceptions, then the external interrupts.
 * On the AN386 image UART0's receive interrupt is IRQ 0. */
__attribute__((section(".vectors"), used))
static void (*const vectors[16 + 1])(void) = {
    (void (*)(void))&stack_top,
    reset_handler,
    halt, /* NMI */
    halt, /* HardFault */
    halt, /* MemManage */
    halt, /* BusFault */
    halt, /* UsageFault */
    0, 0, 0, 0,
    halt, /* SVCall */
    halt, /* DebugMonitor */
    0,
    halt, /* PendSV */
    systick_handler,
    uart0_rx_handler, /* IRQ 0 */
};
