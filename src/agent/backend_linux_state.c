// SPDX-License-Identifier: Apache-2.0
/*
 * backend_linux_state.c - the Linux backend's own small persisted record
 * (linux_state, on the data partition next to the agent's state file): the
 * slot installed and not yet confirmed, and the anti-rollback floor (the
 * highest security counter ever confirmed; mirrored in the bootloader
 * environment). Text "key=value" lines, written atomically (temp file,
 * fsync, rename). A missing file is a fresh device: nothing pending, floor 0.
 *
 * Beside it, linux_state.delta: the state that resumes an interrupted delta
 * install (struct ota_update_delta_state, binary, then its SHA-256; written
 * atomically at each checkpoint, removed when the install finishes;
 * docs/linux.md). The hash keeps a damaged file from being used: the state
 * holds hash contexts that OpenSSL trusts as they are.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "linux.h"
#include "ota/host.h"
#include "ota/update.h"

ota_err lx_state_load(struct lx_state *s, const char *path, char *err, size_t errlen)
{
    char line[256];
    FILE *f;
    s->pending = -1;
    s->counter = 0;
    f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return OTA_OK;
        snprintf(err, errlen, "linux_state '%s': %s", path, strerror(errno));
        return OTA_ERR_FILE;
    }
    while (fgets(line, sizeof line, f)) {
        char v[64];
        unsigned long n;
        if (sscanf(line, "pending=%63s", v) == 1)
            s->pending = v[0] == 'A' ? 0 : v[0] == 'B' ? 1 : -1;
        else if (sscanf(line, "security_counter=%lu", &n) == 1 && n <= UINT32_MAX)
            s->counter = (uint32_t)n;
    }
    fclose(f);
    return OTA_OK;
}

ota_err lx_state_save(const struct lx_state *s, const char *path, char *err, size_t errlen)
{
    char buf[128];
    int n = snprintf(buf, sizeof buf, "pending=%s\nsecurity_counter=%u\n",
                     s->pending == 0 ? "A" : s->pending == 1 ? "B" : "none", s->counter);
    ota_err e = ota_file_write_atomic(path, buf, (size_t)n);
    if (e)
        snprintf(err, errlen, "linux_state '%s': cannot write: %s", path, strerror(errno));
    return e;
}

static void delta_path(const char *state, char *out, size_t cap)
{
    snprintf(out, cap, "%s.delta", state);
}

int lx_delta_load(const char *state, struct ota_update_delta_state *ds)
{
    char path[4096 + 8];
    delta_path(state, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint8_t sum[OTA_SHA256_LEN], want[OTA_SHA256_LEN];
    size_t n = fread(ds, 1, sizeof *ds, f);
    size_t k = fread(sum, 1, sizeof sum, f);
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (n != sizeof *ds || k != sizeof sum || extra || ds->magic != OTA_UPDATE_DELTA_MAGIC ||
        ds->size != sizeof *ds) {
        LOG_W("%s: not a delta resume state of this build (%zu bytes): ignored", path, n + k);
        return 0;
    }
    if (ota_sha256(ota_crypto_openssl(), ds, sizeof *ds, want) != OTA_OK ||
        memcmp(sum, want, sizeof sum) != 0) {
        LOG_W("%s: damaged (its SHA-256 does not match): ignored", path);
        return 0;
    }
    return 1;
}

ota_err lx_delta_save(const char *state, const struct ota_update_delta_state *ds, char *err,
                      size_t errlen)
{
    char path[4096 + 8];
    delta_path(state, path, sizeof path);
    uint8_t *buf = malloc(sizeof *ds + OTA_SHA256_LEN);
    if (!buf) {
        snprintf(err, errlen, "delta resume state '%s': out of memory", path);
        return OTA_ERR_NO_MEMORY;
    }
    memcpy(buf, ds, sizeof *ds);
    ota_err e = ota_sha256(ota_crypto_openssl(), ds, sizeof *ds, buf + sizeof *ds);
    if (e == OTA_OK)
        e = ota_file_write_atomic_mode(path, buf, sizeof *ds + OTA_SHA256_LEN, 0600);
    free(buf);
    if (e)
        snprintf(err, errlen, "delta resume state '%s': cannot write: %s", path, strerror(errno));
    return e;
}

void lx_delta_remove(const char *state)
{
    char path[4096 + 8];
    delta_path(state, path, sizeof path);
    if (unlink(path) != 0 && errno != ENOENT)
        LOG_W("%s: cannot remove: %s", path, strerror(errno));
}
