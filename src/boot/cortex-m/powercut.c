// SPDX-License-Identifier: Apache-2.0
/*
 * powercut.c - parse "cut=N" and "torn" from the semihosting command line
 * and arm the flash port's power cut (flash_port_arm_cut).
 */
#include "powercut.h"

#include "flash_port.h"
#include "semihost.h"

static int word_is(const char *p, const char *w)
{
    while (*w && *p == *w) {
        p++;
        w++;
    }
    return *w == '\0' && (*p == '\0' || *p == ' ' || *p == '=');
}

void powercut_setup(uint32_t ops_before)
{
    char line[160];
    const char *p;
    uint32_t at = 0;
    int have_cut = 0, torn = 0;

    flash_port_continue_ops(ops_before);
    if (semihost_cmdline(line, (int)sizeof line) != 0)
        return;
    line[sizeof line - 1] = '\0';
    for (p = line; *p;) {
        if (word_is(p, "torn")) {
            torn = 1;
        } else if (word_is(p, "cut") && p[3] == '=') {
            for (p += 4; *p >= '0' && *p <= '9'; p++)
                at = at * 10u + (uint32_t)(*p - '0');
            have_cut = 1;
        }
        while (*p && *p != ' ')
            p++;
        while (*p == ' ')
            p++;
    }
    if (have_cut)
        flash_port_arm_cut(at, torn);
}
