/* Board `nucleo-l4r5zi`: the MLPerf Tiny reference board (STM32L4R5ZI, Cortex-M4F), at the
 * register level with no vendor library.
 *   clock   120 MHz from the PLL fed by the 4 MHz MSI (range 1 boost mode, 5 flash wait states)
 *   serial  LPUART1 on PG7 (TX) / PG8 (RX), the ST-LINK virtual COM port, interrupt-driven receive
 *   timer   TIM2, 32 bits, prescaled to 1 MHz: the microsecond clock
 *   energy  timestamp on PF13 (Arduino D7), open drain, idle high, pulled low to mark an event
 * Register addresses and bit positions are from the STM32L4+ reference manual (RM0432). */
#include <stdint.h>

#include "board.h"
#include "cortex_m.h"

#define CORE_CLOCK_HZ 120000000u
#ifndef TB_BAUD_RATE
#define TB_BAUD_RATE 115200u
#endif

#define RCC_CR REG(0x40021000u)
#define RCC_CFGR REG(0x40021008u)
#define RCC_PLLCFGR REG(0x4002100Cu)
#define RCC_AHB2ENR REG(0x4002104Cu)
#define RCC_APB1ENR1 REG(0x40021058u)
#define RCC_APB1ENR2 REG(0x4002105Cu)
#define RCC_CCIPR REG(0x40021088u)
#define PWR_CR2 REG(0x40007004u)
#define PWR_CR5 REG(0x40007080u)
#define FLASH_ACR REG(0x40022000u)

#define GPIOF_BASE 0x48001400u
#define GPIOG_BASE 0x48001800u
#define GPIO_MODER(base) REG((base) + 0x00u)
#define GPIO_OTYPER(base) REG((base) + 0x04u)
#define GPIO_AFRL(base) REG((base) + 0x20u)
#define GPIO_AFRH(base) REG((base) + 0x24u)
#define GPIO_BSRR(base) REG((base) + 0x18u)

#define LPUART1_CR1 REG(0x40008000u)
#define LPUART1_BRR REG(0x4000800Cu)
#define LPUART1_ISR REG(0x4000801Cu)
#define LPUART1_ICR REG(0x40008020u)
#define LPUART1_RDR REG(0x40008024u)
#define LPUART1_TDR REG(0x40008028u)
#define LPUART1_IRQ 70u

#define TIM2_CR1 REG(0x40000000u)
#define TIM2_EGR REG(0x40000014u)
#define TIM2_CNT REG(0x40000024u)
#define TIM2_PSC REG(0x40000028u)
#define TIM2_ARR REG(0x4000002Cu)


static void lpuart1_handler(void)
{
    const uint32_t status = LPUART1_ISR;
    if (status & (1u << 5)) { /* RXNE */
        const uint8_t byte = (uint8_t)LPUART1_RDR;
        cortex_m_rx_push(byte);
    }
    if (status & (1u << 3)) /* overrun: clear it, the protocol core reports the garbled command */
        LPUART1_ICR = 1u << 3;
}

__attribute__((section(".vectors"), used))
static const cortex_m_vector vectors[16 + LPUART1_IRQ + 1] = {
    CORTEX_M_SYSTEM_VECTORS(cortex_m_halt),
    [16 + LPUART1_IRQ] = lpuart1_handler,
};

static void busy_wait(uint32_t loops)
{
    while (loops--)
        __asm__ volatile("nop");
}

static void clock_init(void)
{
    RCC_APB1ENR1 |= 1u << 28;  /* PWREN */
    PWR_CR5 &= ~(1u << 8);     /* R1MODE = 0: range 1 boost, needed above 80 MHz */
    FLASH_ACR = (FLASH_ACR & ~0xFu) | 5u | (1u << 8) | (1u << 9) | (1u << 10); /* 5 WS, caches */
    while ((FLASH_ACR & 0xFu) != 5u)
        ;
    /* PLL: source MSI 4 MHz, M = 1, N = 60 -> VCO 240 MHz, R = 2 -> 120 MHz */
    RCC_PLLCFGR = 1u /* MSI */ | (0u << 4) /* M-1 */ | (60u << 8) | (0u << 25) /* R=2 */ |
                  (1u << 24) /* PLLREN */;
    RCC_CR |= 1u << 24; /* PLLON */
    while (!(RCC_CR & (1u << 25)))
        ;
    /* Above 80 MHz the switch goes through AHB/2 for at least 1 us (RM0432, 6.2.9). */
    RCC_CFGR = (RCC_CFGR & ~0xF0u) | (0x8u << 4);
    RCC_CFGR = (RCC_CFGR & ~0x3u) | 0x3u; /* SYSCLK = PLL */
    while ((RCC_CFGR & 0xCu) != 0xCu)
        ;
    busy_wait(200);
    RCC_CFGR &= ~0xF0u; /* AHB/1 */
}

static void uart_init(void)
{
    RCC_APB1ENR1 |= 1u << 28;
    PWR_CR2 |= 1u << 9;       /* IOSV: port G pins 2..15 are powered from VDDIO2 */
    RCC_AHB2ENR |= (1u << 5) | (1u << 6); /* GPIOF, GPIOG */
    RCC_APB1ENR2 |= 1u << 0;  /* LPUART1EN */
    RCC_CCIPR &= ~(3u << 10); /* LPUART1 clock = PCLK1 */
    /* PG7, PG8: alternate function 8 */
    GPIO_MODER(GPIOG_BASE) = (GPIO_MODER(GPIOG_BASE) & ~((3u << 14) | (3u << 16))) |
                             (2u << 14) | (2u << 16);
    GPIO_AFRL(GPIOG_BASE) = (GPIO_AFRL(GPIOG_BASE) & ~(0xFu << 28)) | (8u << 28);
    GPIO_AFRH(GPIOG_BASE) = (GPIO_AFRH(GPIOG_BASE) & ~0xFu) | 8u;
    /* LPUART: BRR = 256 * f_clk / baud */
    LPUART1_BRR = (uint32_t)((256ull * CORE_CLOCK_HZ + TB_BAUD_RATE / 2) / TB_BAUD_RATE);
    LPUART1_CR1 = (1u << 5) /* RXNEIE */ | (1u << 3) /* TE */ | (1u << 2) /* RE */ | 1u /* UE */;
    NVIC_ENABLE_IRQ(LPUART1_IRQ);
}

static void timer_init(void)
{
    RCC_APB1ENR1 |= 1u << 0; /* TIM2EN */
    TIM2_PSC = CORE_CLOCK_HZ / 1000000u - 1u;
    TIM2_ARR = 0xFFFFFFFFu;
    TIM2_EGR = 1u; /* load the prescaler */
    TIM2_CR1 = 1u;
}

static void timestamp_pin_init(void)
{
    GPIO_BSRR(GPIOF_BASE) = 1u << 13;  /* idle high */
    GPIO_OTYPER(GPIOF_BASE) |= 1u << 13; /* open drain */
    GPIO_MODER(GPIOF_BASE) = (GPIO_MODER(GPIOF_BASE) & ~(3u << 26)) | (1u << 26);
}

void board_uart_write(const char *data, size_t length)
{
    while (length--) {
        while (!(LPUART1_ISR & (1u << 7))) /* TXE */
            ;
        LPUART1_TDR = (uint8_t)*data++;
    }
}

uint32_t board_time_us(void)
{
    return TIM2_CNT;
}

#if TB_ENERGY_MODE
void board_timestamp_pin(void)
{
    const uint32_t start = TIM2_CNT;
    GPIO_BSRR(GPIOF_BASE) = 1u << (13 + 16); /* low */
    while (TIM2_CNT - start < 2u)            /* at least 1 us */
        ;
    GPIO_BSRR(GPIOF_BASE) = 1u << 13;        /* released: idle high */
}
#endif

int main(void)
{
    clock_init();
    timer_init();
    timestamp_pin_init();
    uart_init();
    cortex_m_serve();
}
