// SPDX-License-Identifier: Apache-2.0
/*
 * smp_uart.h - the SMP server's serial port: CMSDK APB UART 1 of the MPS2
 * board (QEMU's serial1, a chardev socket in the tests), polled. UART 0
 * stays the console, so the log and SMP never mix on the test's wire
 * (the framing would allow it: lines without a marker are skipped).
 */
#ifndef OTA_PORT_SMP_UART_H
#define OTA_PORT_SMP_UART_H

#include <stddef.h>

void smp_uart_init(void);
/* A received byte, or -1 when none is waiting. */
int smp_uart_getc(void);
void smp_uart_write(const char *s, size_t n);

#endif
