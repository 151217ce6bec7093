/* Reset handler shared by the Cortex-M boards: copy initialised data from flash, clear bss,
 * switch on the FPU, run main(). Each board's vector table (in its board.c) points here. */
#include <stdint.h>
#include <string.h>

#include "cortex_m.h"

extern uint32_t data_start, data_end, data_load, bss_start, bss_end;
extern int main(void);

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)

void cortex_m_halt(void)
{
    for (;;)
        __asm__ volatile("wfi");
}

void reset_handler(void)
{
    memcpy(&data_start, &data_load, (size_t)((char *)&data_end - (char *)&data_start));
    memset(&bss_start, 0, (size_t)((char *)&bss_end - (char *)&bss_start));
    SCB_CPACR |= 0xFu << 20; /* full access to the FPU (CP10, CP11) before any float code */
    __asm__ volatile("dsb\n\tisb");
    main();
    cortex_m_halt();
}
