// SPDX-License-Identifier: Apache-2.0
/*
 * bootenv.c - what the Linux backend tells the bootloader, in RAUC's
 * variables so that RAUC's documented boot scripts (and ours, dist/linux/)
 * work unchanged:
 *   GRUB   ORDER="A B", A_OK/B_OK (slot usable), A_TRY/B_TRY (the boot
 *          script sets it when it boots the slot; a good boot clears it)
 *   U-Boot BOOT_ORDER="A B", BOOT_A_LEFT/BOOT_B_LEFT (boots left; the boot
 *          script decrements, a good boot resets it)
 * plus OTA_SECURITY_COUNTER, the anti-rollback floor mirrored next to the
 * copy in linux_state. The GRUB/U-Boot access itself is in bootenv_grub.c /
 * bootenv_uboot.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux.h"

#define COUNTER_VAR "OTA_SECURITY_COUNTER"

static int is_grub(const struct bootenv *b)
{
    return b->c->bootloader == AGENT_BOOTLOADER_GRUB;
}

ota_err bootenv_get(const struct bootenv *b, const char *name, char *out, size_t cap,
                    int *found, char *err, size_t errlen)
{
    return is_grub(b) ? bootenv_grub_get(b->c, name, out, cap, found, err, errlen)
                      : bootenv_uboot_get(b->c, name, out, cap, found, err, errlen);
}

ota_err bootenv_set(const struct bootenv *b, const char *const *kv, size_t n, char *err,
                    size_t errlen)
{
    size_t i;
    ota_err e = is_grub(b) ? bootenv_grub_set(b->c, kv, n, err, errlen)
                           : bootenv_uboot_set(b->c, kv, n, err, errlen);
    if (!e) {
        char line[256] = "";
        size_t len = 0;
        for (i = 0; i < n && len < sizeof line; i++)
            len += (size_t)snprintf(line + len, sizeof line - len, " %s=%s", kv[2 * i],
                                    kv[2 * i + 1]);
        LOG_I("bootloader environment:%s", line);
    }
    return e;
}

ota_err bootenv_primary(const struct bootenv *b, int slot, char *err, size_t errlen)
{
    char order[4] = {(char)('A' + slot), ' ', (char)('A' + (slot ^ 1)), 0};
    char ok[8], tr[8], left[24], att[12];
    snprintf(att, sizeof att, "%x", b->c->boot_attempts); /* hex, as RAUC writes it */
    if (is_grub(b)) {
        const char *kv[6];
        snprintf(ok, sizeof ok, "%c_OK", 'A' + slot);
        snprintf(tr, sizeof tr, "%c_TRY", 'A' + slot);
        kv[0] = "ORDER"; kv[1] = order;
        kv[2] = ok; kv[3] = "1";
        kv[4] = tr; kv[5] = "0";
        return bootenv_set(b, kv, 3, err, errlen);
    } else {
        const char *kv[4];
        snprintf(left, sizeof left, "BOOT_%c_LEFT", 'A' + slot);
        kv[0] = "BOOT_ORDER"; kv[1] = order;
        kv[2] = left; kv[3] = att;
        return bootenv_set(b, kv, 2, err, errlen);
    }
}

ota_err bootenv_bad(const struct bootenv *b, int slot, char *err, size_t errlen)
{
    char ok[8], tr[8], left[24];
    if (is_grub(b)) {
        const char *kv[4];
        snprintf(ok, sizeof ok, "%c_OK", 'A' + slot);
        snprintf(tr, sizeof tr, "%c_TRY", 'A' + slot);
        kv[0] = ok; kv[1] = "0";
        kv[2] = tr; kv[3] = "0";
        return bootenv_set(b, kv, 2, err, errlen);
    } else {
        const char *kv[2];
        snprintf(left, sizeof left, "BOOT_%c_LEFT", 'A' + slot);
        kv[0] = left; kv[1] = "0";
        return bootenv_set(b, kv, 1, err, errlen);
    }
}

/* First slot named in an ORDER value, -1 when none. */
static int first_in_order(const char *order)
{
    for (; *order; order++) {
        if (*order == 'A')
            return 0;
        if (*order == 'B')
            return 1;
    }
    return -1;
}

ota_err bootenv_untried(const struct bootenv *b, int slot, int *untried, char *err,
                        size_t errlen)
{
    char order[64], v1[32], v2[32], n1[24], n2[24];
    int f0, f1 = 0, f2 = 0;
    ota_err e;
    *untried = 0;
    e = bootenv_get(b, is_grub(b) ? "ORDER" : "BOOT_ORDER", order, sizeof order, &f0, err,
                    errlen);
    if (e || !f0 || first_in_order(order) != slot)
        return e;
    if (is_grub(b)) {
        snprintf(n1, sizeof n1, "%c_OK", 'A' + slot);
        snprintf(n2, sizeof n2, "%c_TRY", 'A' + slot);
        e = bootenv_get(b, n1, v1, sizeof v1, &f1, err, errlen);
        if (!e)
            e = bootenv_get(b, n2, v2, sizeof v2, &f2, err, errlen);
        *untried = !e && f1 && !strcmp(v1, "1") && (!f2 || !strcmp(v2, "0"));
    } else {
        snprintf(n1, sizeof n1, "BOOT_%c_LEFT", 'A' + slot);
        e = bootenv_get(b, n1, v1, sizeof v1, &f1, err, errlen);
        *untried = !e && f1 && strtol(v1, NULL, 16) == b->c->boot_attempts;
    }
    return e;
}

ota_err bootenv_counter_get(const struct bootenv *b, uint32_t *out, char *err, size_t errlen)
{
    char v[32], *end;
    int found;
    unsigned long n;
    ota_err e = bootenv_get(b, COUNTER_VAR, v, sizeof v, &found, err, errlen);
    *out = 0;
    if (e || !found)
        return e;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || end == v || *end || n > UINT32_MAX) {
        snprintf(err, errlen, "bootloader environment: %s='%s' is not a number", COUNTER_VAR,
                 v);
        return OTA_ERR_BOOTENV;
    }
    *out = (uint32_t)n;
    return OTA_OK;
}

ota_err bootenv_counter_set(const struct bootenv *b, uint32_t v, char *err, size_t errlen)
{
    char val[16];
    const char *kv[2] = {COUNTER_VAR, val};
    snprintf(val, sizeof val, "%u", v);
    return bootenv_set(b, kv, 1, err, errlen);
}

/* fw_env.config: "DEVICE OFFSET SIZE ..." lines; every device must be writable. */
static ota_err uboot_devices_writable(const struct agent_linux_config *c, char *err,
                                      size_t errlen)
{
    char line[1024];
    FILE *f = fopen(c->uboot_env_config, "r");
    if (!f) {
        snprintf(err, errlen, "U-Boot environment config '%s': cannot open: %s",
                 c->uboot_env_config, strerror(errno));
        return OTA_ERR_BOOTENV;
    }
    while (fgets(line, sizeof line, f)) {
        char dev[512];
        if (sscanf(line, " %511s", dev) != 1 || dev[0] == '#')
            continue;
        if (access(dev, W_OK) != 0) {
            snprintf(err, errlen, "U-Boot environment '%s' (from %s): not writable: %s", dev,
                     c->uboot_env_config, strerror(errno));
            fclose(f);
            return OTA_ERR_BOOTENV;
        }
    }
    fclose(f);
    return OTA_OK;
}

ota_err bootenv_check(const struct bootenv *b, char *err, size_t errlen)
{
    char v[64];
    int found;
    ota_err e;
    if (is_grub(b)) {
        if (access(b->c->grubenv, W_OK) != 0) {
            snprintf(err, errlen, "GRUB environment '%s': not writable: %s", b->c->grubenv,
                     strerror(errno));
            return OTA_ERR_BOOTENV;
        }
    } else {
        e = uboot_devices_writable(b->c, err, errlen);
        if (e)
            return e;
    }
    /* and it reads */
    return bootenv_get(b, is_grub(b) ? "ORDER" : "BOOT_ORDER", v, sizeof v, &found, err,
                       errlen);
}
