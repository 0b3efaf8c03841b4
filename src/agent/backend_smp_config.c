// SPDX-License-Identifier: Apache-2.0
/*
 * backend_smp_config.c - the configuration keys of the SMP gateway backend
 * (backend = smp, smp_serial, smp_baud, smp_timeout, smp_boot_timeout,
 * smp_chunk, smp_checkpoint; smp_udp is refused with the reason), kept apart
 * from config.c like the Linux backend's keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

const char agent_smp_config_help[] =
    "MCU behind this gateway (backend = smp; docs/smp.md \"Gateway\"):\n"
    "  backend         smp: update an MCU over its SMP (MCUmgr) serial port; its\n"
    "                  device id is read from the MCU (device_id may be left out)\n"
    "  smp_serial      DEVICE (/dev/ttyACM0), unix:PATH or tcp:HOST:PORT (required)\n"
    "  smp_baud        a serial device's line rate (default 115200)\n"
    "  smp_timeout     seconds to wait for one SMP answer (default 5)\n"
    "  smp_boot_timeout  seconds the MCU may take to answer again after a reset:\n"
    "                  its trial boots and a bootloader revert (default 120)\n"
    "  smp_chunk       payload bytes per SMP request (default: from the device's\n"
    "                  buffer size)\n"
    "  smp_checkpoint  payload bytes between the device's resume records (default\n"
    "                  8192)\n"
    "  smp_udp         not available: the SMP UDP transport (see docs/smp.md)\n"
    "  hw_id           the MCU's hardware id, as registered with the server\n";

void agent_smp_config_defaults(struct agent_smp_config *c)
{
    memset(c, 0, sizeof *c);
    c->baud = 115200;
    c->timeout = 5;
    c->boot_timeout = 120;
    c->checkpoint_every = 8192;
}

int agent_smp_config_set(struct agent_smp_config *c, const char *key, const char *v, int *bad,
                         char *err, size_t errlen)
{
    double d = 0;

    *bad = 0;
    if (errlen)
        err[0] = 0;
    if (agent_key_is(key, "backend")) {
        c->enabled = !strcmp(v, "smp");
        return c->enabled; /* sim / linux: the Linux backend's keys decide */
    }
    if (agent_key_is(key, "smp_serial")) {
        size_t n = strlen(v);
        *bad = n == 0 || n >= sizeof c->serial;
        if (!*bad)
            memcpy(c->serial, v, n + 1);
    } else if (agent_key_is(key, "smp_udp")) {
        *bad = 1;
        snprintf(err, errlen, "smp_udp: the SMP UDP transport is not available (the QEMU "
                 "board has no network stack; docs/smp.md, \"UDP\"): use smp_serial");
    } else if (agent_key_is(key, "smp_baud")) {
        *bad = !!agent_parse_num(v, 300, 4000000, &d);
        c->baud = (unsigned)d;
    } else if (agent_key_is(key, "smp_timeout")) {
        *bad = !!agent_parse_num(v, 0.05, 3600, &c->timeout);
    } else if (agent_key_is(key, "smp_boot_timeout")) {
        *bad = !!agent_parse_num(v, 1, 86400, &c->boot_timeout);
    } else if (agent_key_is(key, "smp_chunk")) {
        *bad = !!agent_parse_num(v, 32, 3968, &d);
        c->chunk = (uint32_t)d;
    } else if (agent_key_is(key, "smp_checkpoint")) {
        *bad = !!agent_parse_num(v, 1024, 1 << 30, &d);
        c->checkpoint_every = (uint32_t)d;
    } else {
        return 0;
    }
    return 1;
}
