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
 * install (struct ota_update_delta_state, binary, then the stream table of
 * a version 2/3 patch's deflate section, which the applier keeps in its
 * deflate port, not in the state; then the SHA-256 of both; written
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

/* The file: the state, the stream-table length n (uint32, host order), n
 * stream-table entries (struct ota_delta_zspan), then the SHA-256 of all
 * that. */
int lx_delta_load(const char *state, struct ota_update_delta_state *ds,
                  struct ota_delta_zspan *spans, uint32_t cap, uint32_t *nspans)
{
    char path[4096 + 8];
    delta_path(state, path, sizeof path);
    *nspans = 0;
    uint8_t *raw = NULL;
    size_t len = 0;
    if (access(path, F_OK) != 0 || ota_file_read(path, &raw, &len) != OTA_OK)
        return 0;
    uint8_t want[OTA_SHA256_LEN];
    uint32_t n = 0;
    size_t head = sizeof *ds + sizeof n;
    if (len >= head)
        memcpy(&n, raw + sizeof *ds, sizeof n);
    memcpy(ds, raw, len < sizeof *ds ? len : sizeof *ds);
    if (len < head + OTA_SHA256_LEN || n > cap ||
        len != head + (size_t)n * sizeof *spans + OTA_SHA256_LEN ||
        ds->magic != OTA_UPDATE_DELTA_MAGIC || ds->size != sizeof *ds) {
        LOG_W("%s: not a delta resume state of this build (%zu bytes): ignored", path, len);
        free(raw);
        return 0;
    }
    if (ota_sha256(ota_crypto_openssl(), raw, len - OTA_SHA256_LEN, want) != OTA_OK ||
        memcmp(raw + len - OTA_SHA256_LEN, want, sizeof want) != 0) {
        LOG_W("%s: damaged (its SHA-256 does not match): ignored", path);
        free(raw);
        return 0;
    }
    if (n)
        memcpy(spans, raw + head, (size_t)n * sizeof *spans);
    *nspans = n;
    free(raw);
    return 1;
}

ota_err lx_delta_save(const char *state, const struct ota_update_delta_state *ds,
                      const struct ota_delta_zspan *spans, uint32_t nspans, char *err,
                      size_t errlen)
{
    char path[4096 + 8];
    delta_path(state, path, sizeof path);
    size_t head = sizeof *ds + sizeof nspans;
    size_t body = head + (size_t)nspans * sizeof *spans;
    uint8_t *buf = malloc(body + OTA_SHA256_LEN);
    if (!buf) {
        snprintf(err, errlen, "delta resume state '%s': out of memory", path);
        return OTA_ERR_NO_MEMORY;
    }
    memcpy(buf, ds, sizeof *ds);
    memcpy(buf + sizeof *ds, &nspans, sizeof nspans);
    if (nspans)
        memcpy(buf + head, spans, (size_t)nspans * sizeof *spans);
    ota_err e = ota_sha256(ota_crypto_openssl(), buf, body, buf + body);
    if (e == OTA_OK)
        e = ota_file_write_atomic_mode(path, buf, body + OTA_SHA256_LEN, 0600);
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
