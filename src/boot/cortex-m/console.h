// SPDX-License-Identifier: Apache-2.0
/*
 * console.h - the port's console: CMSDK APB UART 0 of the MPS2 board (QEMU's
 * serial0, i.e. stdout with -nographic / -serial stdio). Polled, no
 * interrupts, no printf: a few put functions are all the bootloader needs.
 */
#ifndef OTA_PORT_CONSOLE_H
#define OTA_PORT_CONSOLE_H

#include <stdint.h>

void console_init(void);
void console_putc(char c);
void console_puts(const char *s);
void console_putu(uint32_t v);   /* decimal */
void console_puthex(uint32_t v); /* 8 hex digits */

#endif
