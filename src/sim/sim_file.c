// SPDX-License-Identifier: Apache-2.0
/*
 * sim_file.c - a simulated device kept in a file between ota-sim commands:
 * a 128-byte header (magic, geometry, protection, counters, the device's
 * "RAM" state), the per-sector erase counts, then the flash bytes. Saved
 * atomically (temp file, fsync, rename) so an interrupted ota-sim never
 * leaves a half-written device file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ota/sim.h"
#include "le.h"

#define HDR_SIZE 128u
static const char MAGIC[8] = {'O', 'T', 'A', 'S', 'I', 'M', 'F', '1'};

ota_err ota_sim_save(const struct ota_sim *s, const char *path, char *err, size_t errlen)
{
    uint8_t hdr[HDR_SIZE];
    char tmp[4096];
    size_t size = ota_flash_size(&s->flash);
    FILE *f;
    int ok;

    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, MAGIC, sizeof MAGIC);
    ota_le_put32(hdr + 8, HDR_SIZE);
    ota_le_put32(hdr + 12, s->flash.read_size);
    ota_le_put32(hdr + 16, s->flash.prog_size);
    ota_le_put32(hdr + 20, s->flash.sector_size);
    ota_le_put32(hdr + 24, s->flash.sector_count);
    ota_le_put32(hdr + 28, (uint32_t)s->running_slot);
    ota_le_put32(hdr + 32, s->boot_count);
    ota_le_put32(hdr + 36, s->protect_first);
    ota_le_put32(hdr + 40, s->protect_count);
    memcpy(hdr + 44, s->geometry, sizeof s->geometry < 32 ? sizeof s->geometry : 32);
    hdr[75] = 0;
    ota_le_put64(hdr + 76, s->ops);
    ota_le_put64(hdr + 84, s->stats.progs);
    ota_le_put64(hdr + 92, s->stats.erases);
    ota_le_put64(hdr + 100, s->stats.bytes_programmed);
    ota_le_put64(hdr + 108, s->violations);

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return OTA_ERR_FILE;
    }
    f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        return OTA_ERR_FILE;
    }
    ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
    for (uint32_t i = 0; ok && i < s->flash.sector_count; i++) {
        uint8_t w[4];
        ota_le_put32(w, s->erase_count[i]);
        ok = fwrite(w, 1, 4, f) == 4;
    }
    ok = ok && fwrite(s->mem, 1, size, f) == size;
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        return OTA_ERR_FILE;
    }
    return OTA_OK;
}

ota_err ota_sim_load(struct ota_sim *s, const char *path, char *err, size_t errlen)
{
    uint8_t hdr[HDR_SIZE];
    struct stat st;
    uint64_t want;
    FILE *f;
    ota_err e;

    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return OTA_ERR_FILE;
    }
    if (fstat(fileno(f), &st) != 0 || fread(hdr, 1, sizeof hdr, f) != sizeof hdr ||
        memcmp(hdr, MAGIC, sizeof MAGIC) != 0 || ota_le_get32(hdr + 8) != HDR_SIZE) {
        snprintf(err, errlen, "%s: not an ota-sim flash file (bad header; create one with "
                 "'ota-sim create')", path);
        fclose(f);
        return OTA_ERR_FILE;
    }
    e = ota_sim_init(s, ota_le_get32(hdr + 12), ota_le_get32(hdr + 16), ota_le_get32(hdr + 20),
                     ota_le_get32(hdr + 24));
    if (e) {
        snprintf(err, errlen, "%s: invalid geometry in header (read %u, prog %u, sector %u x %u)",
                 path, ota_le_get32(hdr + 12), ota_le_get32(hdr + 16), ota_le_get32(hdr + 20),
                 ota_le_get32(hdr + 24));
        fclose(f);
        return OTA_ERR_FILE;
    }
    want = HDR_SIZE + 4ull * s->flash.sector_count + ota_flash_size(&s->flash);
    if ((uint64_t)st.st_size != want) {
        snprintf(err, errlen, "%s: size %lld bytes, header says %llu (truncated or corrupt)",
                 path, (long long)st.st_size, (unsigned long long)want);
        fclose(f);
        ota_sim_free(s);
        return OTA_ERR_FILE;
    }
    s->running_slot = (int)ota_le_get32(hdr + 28);
    if (s->running_slot != 0 && s->running_slot != 1)
        s->running_slot = -1;
    s->boot_count = ota_le_get32(hdr + 32);
    s->protect_first = ota_le_get32(hdr + 36);
    s->protect_count = ota_le_get32(hdr + 40);
    memcpy(s->geometry, hdr + 44, 31);
    s->geometry[31] = 0;
    s->ops = ota_le_get64(hdr + 76);
    s->stats.progs = ota_le_get64(hdr + 84);
    s->stats.erases = ota_le_get64(hdr + 92);
    s->stats.bytes_programmed = ota_le_get64(hdr + 100);
    s->violations = ota_le_get64(hdr + 108);
    for (uint32_t i = 0; i < s->flash.sector_count; i++) {
        uint8_t w[4];
        if (fread(w, 1, 4, f) != 4)
            goto short_read;
        s->erase_count[i] = ota_le_get32(w);
    }
    if (fread(s->mem, 1, ota_flash_size(&s->flash), f) != ota_flash_size(&s->flash))
        goto short_read;
    fclose(f);
    return OTA_OK;
short_read:
    snprintf(err, errlen, "%s: short read", path);
    fclose(f);
    ota_sim_free(s);
    return OTA_ERR_FILE;
}
