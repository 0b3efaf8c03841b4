// SPDX-License-Identifier: Apache-2.0
/*
 * powercut.h - test hook: arm a power cut in the flash HAL from the run's
 * command line (QEMU -append "cut=N" or "cut=N torn"; run.sh passes
 * OTA_PORT_CMDLINE). Lets tests lose power at every flash operation of the
 * real ARM build, not only in the simulator. Without "cut=" it does nothing.
 */
#ifndef OTA_PORT_POWERCUT_H
#define OTA_PORT_POWERCUT_H

#include <stdint.h>

/* ops_before: flash operations earlier programs did since the reset (the
 * port's operation count continues from it, cut or no cut). */
void powercut_setup(uint32_t ops_before);

#endif
