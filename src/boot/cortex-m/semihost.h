// SPDX-License-Identifier: Apache-2.0
/*
 * semihost.h - ending a QEMU run from the target (ARM semihosting SYS_EXIT;
 * QEMU needs -semihosting-config enable=on). On real hardware without a
 * debugger this would halt; the port only uses it where a device would stop
 * (recovery, faults) or where a test run ends.
 */
#ifndef OTA_PORT_SEMIHOST_H
#define OTA_PORT_SEMIHOST_H

/* ok != 0: QEMU exits with status 0, else 1. Never returns. */
__attribute__((noreturn)) void semihost_exit(int ok);

/* The command line the host gave (QEMU: the -kernel path, then -append's
 * text), NUL-terminated in buf. Returns 0, or -1 when there is none. */
int semihost_cmdline(char *buf, int len);

#endif
