// SPDX-License-Identifier: Apache-2.0
/*
 * smp_app.h - the application's SMP service loop: what a product firmware
 * calls from its main loop (here: forever) to be updated with MCUmgr tools
 * and `ota smp` over UART 1 (docs/smp.md).
 */
#ifndef OTA_PORT_SMP_APP_H
#define OTA_PORT_SMP_APP_H

#include <stdint.h>

/* Serve SMP for the image running from `slot`; never returns (an SMP reset
 * resets the system after answering). */
__attribute__((noreturn)) void smp_app_run(uint32_t slot);

#endif
