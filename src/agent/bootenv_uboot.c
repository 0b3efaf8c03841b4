// SPDX-License-Identifier: Apache-2.0
/*
 * bootenv_uboot.c - the U-Boot environment through libubootenv (Debian's
 * libubootenv-dev, the library behind fw_printenv/fw_setenv), configured by
 * a fw_env.config file (uboot_env_config). Redundant environments and their
 * flags are the library's business; a change of several variables is
 * stored with one libuboot_env_store().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libuboot.h>

#include "linux.h"

static ota_err open_env(const struct agent_linux_config *c, struct uboot_ctx **ctx, char *err,
                        size_t errlen)
{
    int r;
    *ctx = NULL;
    if (libuboot_initialize(ctx, NULL) < 0) {
        snprintf(err, errlen, "libubootenv: cannot initialise");
        return OTA_ERR_BOOTENV;
    }
    r = libuboot_read_config(*ctx, c->uboot_env_config);
    if (r < 0) {
        snprintf(err, errlen, "U-Boot environment config '%s': cannot read (%s)",
                 c->uboot_env_config, strerror(-r));
        libuboot_exit(*ctx);
        return OTA_ERR_BOOTENV;
    }
    r = libuboot_open(*ctx);
    if (r < 0 && r != -ENODATA) {
        /* -ENODATA: no valid copy yet (blank environment): usable, starts empty */
        snprintf(err, errlen, "U-Boot environment (%s): cannot open (%s)",
                 c->uboot_env_config, strerror(-r));
        libuboot_exit(*ctx);
        return OTA_ERR_BOOTENV;
    }
    return OTA_OK;
}

static void close_env(struct uboot_ctx *ctx)
{
    libuboot_close(ctx);
    libuboot_exit(ctx);
}

ota_err bootenv_uboot_get(const struct agent_linux_config *c, const char *name, char *out,
                          size_t cap, int *found, char *err, size_t errlen)
{
    struct uboot_ctx *ctx;
    char *v;
    ota_err e = open_env(c, &ctx, err, errlen);
    *found = 0;
    if (e)
        return e;
    v = libuboot_get_env(ctx, name);
    if (v) {
        snprintf(out, cap, "%s", v);
        *found = 1;
        free(v);
    }
    close_env(ctx);
    return OTA_OK;
}

ota_err bootenv_uboot_set(const struct agent_linux_config *c, const char *const *kv,
                          size_t n, char *err, size_t errlen)
{
    struct uboot_ctx *ctx;
    size_t i;
    int r;
    ota_err e = open_env(c, &ctx, err, errlen);
    if (e)
        return e;
    for (i = 0; i < n; i++) {
        r = libuboot_set_env(ctx, kv[2 * i], kv[2 * i + 1]);
        if (r < 0) {
            snprintf(err, errlen, "U-Boot environment: cannot set %s=%s (%s)", kv[2 * i],
                     kv[2 * i + 1], strerror(-r));
            close_env(ctx);
            return OTA_ERR_BOOTENV;
        }
    }
    r = libuboot_env_store(ctx);
    close_env(ctx);
    if (r < 0) {
        snprintf(err, errlen, "U-Boot environment (%s): cannot store (%s)",
                 c->uboot_env_config, strerror(-r));
        return OTA_ERR_BOOTENV;
    }
    return OTA_OK;
}
