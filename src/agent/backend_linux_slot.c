// SPDX-License-Identifier: Apache-2.0
/*
 * backend_linux_slot.c - which slot the kernel was booted from, found the
 * way the boot script says it, never guessed: `ota.slot=A|B` (or RAUC's
 * `rauc.slot=A|B`) on the kernel command line, else `root=` naming slot_a
 * or slot_b (a path, or PARTUUID=/PARTLABEL=/UUID= through /dev/disk/by-*),
 * compared after resolving symlinks. `running_slot` overrides (tests).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linux.h"

static int slot_letter(const char *v, size_t n)
{
    if (n == 1 && (v[0] == 'A' || v[0] == 'a'))
        return 0;
    if (n == 1 && (v[0] == 'B' || v[0] == 'b'))
        return 1;
    return -1;
}

/* root= value -> a path to compare with the slots' paths. */
static void root_path(const char *v, size_t n, char *out, size_t cap)
{
    static const struct { const char *prefix, *dir; } by[] = {
        {"PARTUUID=", "/dev/disk/by-partuuid/"},
        {"PARTLABEL=", "/dev/disk/by-partlabel/"},
        {"UUID=", "/dev/disk/by-uuid/"},
        {"LABEL=", "/dev/disk/by-label/"},
    };
    size_t i;
    for (i = 0; i < sizeof by / sizeof by[0]; i++) {
        size_t pl = strlen(by[i].prefix);
        if (n > pl && !strncmp(v, by[i].prefix, pl)) {
            snprintf(out, cap, "%s%.*s", by[i].dir, (int)(n - pl), v + pl);
            return;
        }
    }
    snprintf(out, cap, "%.*s", (int)n, v);
}

static int same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra) || !realpath(b, rb))
        return !strcmp(a, b);
    return !strcmp(ra, rb);
}

int agent_linux_running_slot(const struct agent_linux_config *c, char *err, size_t errlen)
{
    char line[4096], root[PATH_MAX] = "";
    const char *p;
    int slot = -1, i;
    size_t n;
    FILE *f;

    if (c->running_slot >= 0)
        return c->running_slot;
    f = fopen(c->cmdline, "r");
    if (!f) {
        snprintf(err, errlen, "running slot: cannot read the kernel command line '%s': %s",
                 c->cmdline, strerror(errno));
        return -1;
    }
    n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    for (p = line; *p;) {
        const char *w = p, *eq;
        size_t wl;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        wl = (size_t)(p - w);
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        eq = memchr(w, '=', wl);
        if (!eq)
            continue;
        if ((eq - w == 8 && !strncmp(w, "ota.slot", 8)) ||
            (eq - w == 9 && !strncmp(w, "rauc.slot", 9))) {
            int s = slot_letter(eq + 1, wl - (size_t)(eq + 1 - w));
            if (s < 0) {
                snprintf(err, errlen, "running slot: '%.*s' on the kernel command line (%s) "
                         "is neither A nor B", (int)wl, w, c->cmdline);
                return -1;
            }
            if (slot < 0 || w[0] == 'o') /* ota.slot= wins over rauc.slot= */
                slot = s;
        } else if (eq - w == 4 && !strncmp(w, "root", 4)) {
            root_path(eq + 1, wl - 5, root, sizeof root);
        }
    }
    if (slot >= 0)
        return slot;
    if (root[0]) {
        for (i = 0; i < 2; i++)
            if (same_file(root, c->slot[i]))
                return i;
        snprintf(err, errlen, "running slot: root=%s on the kernel command line (%s) is "
                 "neither slot_a (%s) nor slot_b (%s), and there is no ota.slot=", root,
                 c->cmdline, c->slot[0], c->slot[1]);
        return -1;
    }
    snprintf(err, errlen, "running slot: the kernel command line (%s) has no ota.slot=A|B, "
             "rauc.slot= or root=; the boot script must pass one (or set running_slot)",
             c->cmdline);
    return -1;
}
