// SPDX-License-Identifier: Apache-2.0
/*
 * startup.h - what startup.c gives every program of the port (boot ROM,
 * bootloader, app): the entry point each one defines, and the stack
 * high-water mark measured against the stack painted at reset.
 */
#ifndef OTA_PORT_STARTUP_H
#define OTA_PORT_STARTUP_H

#include <stdint.h>

/* Each program defines this; Reset_Handler calls it after setting up RAM. */
void program_main(void);

/* Bytes of the stack ever used since reset (the painted stack is scanned
 * from its bottom for the first overwritten word). */
uint32_t stack_highwater(void);
/* Size of the stack region reserved by the linker script. */
uint32_t stack_size(void);

#endif
