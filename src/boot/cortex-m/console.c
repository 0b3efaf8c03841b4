// SPDX-License-Identifier: Apache-2.0
/*
 * console.c - polled output on the CMSDK APB UART 0 (registers: DATA 0x0,
 * STATE 0x4 bit 0 = TX full, CTRL 0x8 bit 0 = TX enable, BAUDDIV 0x10).
 * '\n' is sent as "\r\n" for terminals.
 */
#include "console.h"

#include "board.h"

#define UART_REG(off) (*(volatile uint32_t *)(BOARD_UART0 + (off)))
#define UART_DATA UART_REG(0x0)
#define UART_STATE UART_REG(0x4)
#define UART_CTRL UART_REG(0x8)
#define UART_BAUDDIV UART_REG(0x10)

void console_init(void)
{
    UART_BAUDDIV = BOARD_SYSCLK_HZ / 115200;
    UART_CTRL = 1u; /* TX enable */
}

void console_putc(char c)
{
    if (c == '\n')
        console_putc('\r');
    while (UART_STATE & 1u)
        ;
    UART_DATA = (uint32_t)(unsigned char)c;
}

void console_puts(const char *s)
{
    while (*s)
        console_putc(*s++);
}

void console_putu(uint32_t v)
{
    char buf[11];
    int i = 0;
    do {
        buf[i++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (i)
        console_putc(buf[--i]);
}

void console_puthex(uint32_t v)
{
    int i;
    for (i = 7; i >= 0; i--)
        console_putc("0123456789abcdef"[(v >> (4 * i)) & 0xfu]);
}
