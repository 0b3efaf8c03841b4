// SPDX-License-Identifier: Apache-2.0
/*
 * backend_linux_flash.c - the struct ota_flash through which the portable
 * update engine writes a Linux root filesystem slot (linux.h).
 *
 * The engine sees a NOR device with the standard layout of ota/boot.h; a
 * slot of that device holds a signed image as published (header, body,
 * TLVs). On the real slot the body -- the filesystem -- must start at byte 0
 * so the kernel mounts it as built, so every slot access is remapped:
 *
 *   image bytes [0, hdr_size)                -> slot metadata area [0, hdr_size)
 *   image bytes [hdr_size, hdr_size+img_size) -> slot bytes [0, img_size)
 *   image bytes [hdr_size+img_size, end)      -> metadata area [hdr_size, ...)
 *
 * The metadata area is the slot's last LX_META (64 KiB) bytes; the header in
 * it (written first, it starts with the MCUboot magic) says where the body
 * ends, so the mapping is always read back from the slot itself. A slot
 * without a valid header reads as its metadata area followed by 0xFF.
 *
 * Writes: body bytes go through a 768 KiB write-behind buffer (pwrite of
 * large sequential runs), header/TLV bytes straight to the metadata area;
 * sync flushes and fdatasync()s, which is the durability contract of
 * ota/flash.h, then drops the slot's cached pages so that reads after it
 * (the engine's read-back) come from the device. The running slot is opened read-only and every program or
 * erase aimed at it is refused. Reads of the running slot's body (the old
 * image a delta patch is applied against, a few hundred bytes at a time)
 * go through a read-ahead window (ota_reader_from_fd_buffered: 16 KiB after
 * a jump, doubling up to LX_RBUF while the reads continue it); the slot is
 * never written, so the window never goes stale. The other regions
 * (bootloader config, boot state, OTP) live in memory, synthesized at open.
 *
 * Memory: the write-behind and read-ahead buffers are 1 MiB together,
 * allocated at open; nothing depends on the image size.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux.h"
#include "ota/image.h"

#define LX_WBUF (768u * 1024u)
#define LX_RBUF (256u * 1024u)
/* Running-slot body reads from this size on bypass the window (the engine's
 * hashing reads 256 KiB at a time: a copy through the window gains nothing). */
#define LX_RDIRECT (64u * 1024u)
/* Start writeback after this many buffered body bytes (bounded dirty pages). */
#define LX_KICK (8u << 20)

/* Regions of the emulated device, in sectors of LX_SECTOR. */
static uint32_t emu_off(const struct lx_flash *x, uint32_t off, int *ok)
{
    const struct ota_boot_layout *l = &x->l;
    *ok = 1;
    if (off < l->boot_size)
        return off;
    if (off >= l->state_off && off < l->state_off + 2 * LX_SECTOR)
        return LX_SECTOR + (off - l->state_off);
    if (off >= l->otp_off && off < l->otp_off + LX_SECTOR)
        return 3 * LX_SECTOR + (off - l->otp_off);
    *ok = 0;
    return 0;
}

/* Which slot holds off (-1: an emulated region); *rel = offset in the slot. */
static int slot_of(const struct lx_flash *x, uint32_t off, uint32_t *rel)
{
    int i;
    for (i = 0; i < 2; i++)
        if (off >= x->l.slot_off[i] && off - x->l.slot_off[i] < x->l.slot_size) {
            *rel = off - x->l.slot_off[i];
            return i;
        }
    return -1;
}

/* Bytes from off to the end of its region. */
static uint32_t region_left(const struct lx_flash *x, uint32_t off)
{
    const struct ota_boot_layout *l = &x->l;
    uint32_t rel;
    int s = slot_of(x, off, &rel);
    if (s >= 0)
        return l->slot_size - rel;
    if (off < l->boot_size)
        return l->boot_size - off;
    if (off >= l->otp_off)
        return l->otp_off + LX_SECTOR - off;
    return l->state_off + 2 * LX_SECTOR - off;
}

/* pread/pwrite all of len bytes (retrying short transfers and EINTR). */
static ota_err rw_all(int fd, uint64_t off, void *buf, size_t len, int write)
{
    uint8_t *p = buf;
    while (len) {
        ssize_t n = write ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return OTA_ERR_IO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return OTA_OK;
}

static ota_err pread_all(int fd, uint64_t off, void *buf, size_t len)
{
    return rw_all(fd, off, buf, len, 0);
}

static ota_err pwrite_all(int fd, uint64_t off, const void *buf, size_t len)
{
    return rw_all(fd, off, (void *)(uintptr_t)buf, len, 1);
}

static ota_err wflush(struct lx_flash *x)
{
    struct lx_slot *s;
    ota_err e;
    if (!x->wlen)
        return OTA_OK;
    s = &x->s[x->wslot];
    e = pwrite_all(s->fd, x->woff, x->wbuf, x->wlen);
    if (e) {
        LOG_E("writing slot %c at byte %llu (%zu bytes): %s", 'A' + x->wslot,
              (unsigned long long)x->woff, x->wlen, strerror(errno));
        return e;
    }
    s->dirty = 1;
    x->unsynced += x->wlen;
    if (x->unsynced >= LX_KICK) {
        /* let the kernel start writing back now rather than at fdatasync */
        (void)sync_file_range(s->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        x->unsynced = 0;
    }
    x->wlen = 0;
    return OTA_OK;
}

static ota_err body_write(struct lx_flash *x, int slot, uint64_t off, const uint8_t *p,
                          size_t n)
{
    ota_err e;
    if (x->wlen && (x->wslot != slot || x->woff + x->wlen != off || x->wlen + n > LX_WBUF)) {
        e = wflush(x);
        if (e)
            return e;
    }
    if (!x->wlen && n >= LX_WBUF) {
        e = pwrite_all(x->s[slot].fd, off, p, n);
        if (e)
            LOG_E("writing slot %c at byte %llu: %s", 'A' + slot, (unsigned long long)off,
                  strerror(errno));
        x->s[slot].dirty = 1;
        return e;
    }
    if (!x->wlen) {
        x->wslot = slot;
        x->woff = off;
    }
    memcpy(x->wbuf + x->wlen, p, n);
    x->wlen += n;
    return OTA_OK;
}

/* Re-read the header in the metadata area: where the body ends. */
static void refresh_map(struct lx_flash *x, int slot)
{
    struct lx_slot *s = &x->s[slot];
    uint8_t raw[OTA_IMAGE_HEADER_SIZE];
    struct ota_image_header h;
    s->mapped = 0;
    if (pread_all(s->fd, s->meta_off, raw, sizeof raw) != OTA_OK)
        return;
    ota_image_header_decode(raw, &h);
    if (h.magic != OTA_IMAGE_MAGIC || h.hdr_size < OTA_IMAGE_HEADER_SIZE ||   /* hdr_size < LX_META: u16 */
        h.img_size > s->meta_off)
        return;
    s->mapped = 1;
    s->hdr_size = h.hdr_size;
    s->img_size = h.img_size;
}

/*
 * Where image byte rel of a slot lives: *dev = byte of the slot device and
 * *n = bytes that stay contiguous (<= want). Returns 0 for mapped bytes,
 * 1 for bytes that exist nowhere (read as 0xFF; may not be programmed).
 */
static int map(const struct lx_slot *s, uint32_t rel, uint32_t want, uint64_t *dev,
               uint32_t *n)
{
    uint64_t end;
    if (!s->mapped) {
        if (rel < LX_META) {
            *dev = s->meta_off + rel;
            end = LX_META;
        } else {
            *n = want;
            return 1;
        }
    } else if (rel < s->hdr_size) {
        *dev = s->meta_off + rel;
        end = s->hdr_size;
    } else if (rel - s->hdr_size < s->img_size) {
        *dev = rel - s->hdr_size;
        end = (uint64_t)s->hdr_size + s->img_size;
    } else if ((uint64_t)rel - s->img_size < LX_META) {
        *dev = s->meta_off + (rel - s->img_size);
        end = (uint64_t)s->img_size + LX_META;
    } else {
        *n = want;
        return 1;
    }
    *n = end - rel < want ? (uint32_t)(end - rel) : want;
    return 0;
}

static ota_err lx_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    struct lx_flash *x = ctx;
    uint8_t *p = buf;
    while (len) {
        uint32_t left = region_left(x, off), rel, n;
        int s = slot_of(x, off, &rel), ok;
        uint64_t dev;
        ota_err e;
        if (left > len)
            left = (uint32_t)len;
        if (s < 0) {
            uint32_t eo = emu_off(x, off, &ok);
            if (!ok)
                return OTA_ERR_FLASH_BOUNDS;
            memcpy(p, x->emu + eo, left);
            n = left;
        } else {
            if (x->wlen && x->wslot == s) {
                e = wflush(x);
                if (e)
                    return e;
            }
            if (map(&x->s[s], rel, left, &dev, &n)) {
                memset(p, 0xff, n);
            } else {
                /* the running slot's body in small reads: through the
                 * read-ahead window; everything else straight from the fd */
                int window = s == x->running && x->rar.read && n < LX_RDIRECT &&
                             dev + n <= x->rar.size;
                e = window ? x->rar.read(x->rar.ctx, (uint32_t)dev, p, n)
                           : pread_all(x->s[s].fd, dev, p, n);
                if (e != OTA_OK) {
                    LOG_E("reading slot %c at byte %llu: %s", 'A' + s,
                          (unsigned long long)dev, strerror(errno));
                    return e;
                }
            }
        }
        off += n;
        p += n;
        len -= n;
    }
    return OTA_OK;
}

static ota_err slot_prog(struct lx_flash *x, int s, uint32_t rel, const uint8_t *p, size_t len)
{
    struct lx_slot *sl = &x->s[s];
    ota_err e;
    if (s == x->running || !sl->writable) {
        LOG_E("refusing to write slot %c: it is the running slot", 'A' + s);
        return OTA_ERR_UPDATE_STATE;
    }
    /* The fixed header first: it decides where everything else goes. */
    if (rel < OTA_IMAGE_HEADER_SIZE) {
        uint32_t n = OTA_IMAGE_HEADER_SIZE - rel < len ? OTA_IMAGE_HEADER_SIZE - rel
                                                      : (uint32_t)len;
        e = pwrite_all(sl->fd, sl->meta_off + rel, p, n);
        if (e) {
            LOG_E("writing slot %c's metadata area: %s", 'A' + s, strerror(errno));
            return e;
        }
        sl->dirty = 1;
        refresh_map(x, s);
        rel += n;
        p += n;
        len -= n;
    }
    while (len) {
        uint64_t dev;
        uint32_t n;
        if (map(sl, rel, (uint32_t)len, &dev, &n)) {
            LOG_E("slot %c: image byte %u has no place in the slot (header %s, body %u "
                  "bytes, metadata area %u bytes)", 'A' + s, rel,
                  sl->mapped ? "valid" : "invalid", sl->img_size, LX_META);
            return sl->mapped ? OTA_ERR_IMAGE_TOO_LARGE : OTA_ERR_IMAGE_BAD_MAGIC;
        }
        if (sl->mapped && rel >= sl->hdr_size && rel - sl->hdr_size < sl->img_size)
            e = body_write(x, s, dev, p, n);
        else
            e = pwrite_all(sl->fd, dev, p, n);
        if (e)
            return e;
        sl->dirty = 1;
        rel += n;
        p += n;
        len -= n;
    }
    return OTA_OK;
}

static ota_err lx_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    struct lx_flash *x = ctx;
    const uint8_t *p = buf;
    while (len) {
        uint32_t left = region_left(x, off), rel;
        int s = slot_of(x, off, &rel), ok;
        ota_err e;
        if (left > len)
            left = (uint32_t)len;
        if (s < 0) {
            uint32_t eo = emu_off(x, off, &ok);
            if (!ok)
                return OTA_ERR_FLASH_BOUNDS;
            memcpy(x->emu + eo, p, left);
        } else if ((e = slot_prog(x, s, rel, p, left)) != OTA_OK) {
            return e;
        }
        off += left;
        p += left;
        len -= left;
    }
    return OTA_OK;
}

static ota_err lx_erase(void *ctx, uint32_t sector)
{
    struct lx_flash *x = ctx;
    uint32_t off = sector * LX_SECTOR, rel;
    int s = slot_of(x, off, &rel), ok;
    if (s >= 0) {
        /* a block device is rewritten in place: nothing to erase */
        if (s == x->running || !x->s[s].writable) {
            LOG_E("refusing to erase in slot %c: it is the running slot", 'A' + s);
            return OTA_ERR_UPDATE_STATE;
        }
        return OTA_OK;
    }
    off = emu_off(x, off, &ok);
    if (!ok)
        return OTA_ERR_FLASH_BOUNDS;
    memset(x->emu + off, 0xff, LX_SECTOR);
    return OTA_OK;
}

static ota_err lx_sync(void *ctx)
{
    struct lx_flash *x = ctx;
    ota_err e = wflush(x);
    int i;
    if (e)
        return e;
    for (i = 0; i < 2; i++) {
        if (!x->s[i].dirty)
            continue;
        if (fdatasync(x->s[i].fd) != 0) {
            LOG_E("fdatasync of slot %c: %s", 'A' + i, strerror(errno));
            return OTA_ERR_IO;
        }
        /* Drop the slot's now clean cached pages: a later read (the
         * read-back before the slot is marked bootable, a resumed prefix)
         * comes from the device, not from what the page cache remembers
         * writing; and hundreds of MiB of image do not crowd out the
         * running system's cache. */
        (void)posix_fadvise(x->s[i].fd, 0, 0, POSIX_FADV_DONTNEED);
        x->s[i].dirty = 0;
    }
    x->unsynced = 0;
    return OTA_OK;
}

static ota_err open_slot(struct lx_slot *s, const char *path, int writable, char name,
                         char *err, size_t errlen)
{
    struct stat st;
    s->fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (s->fd < 0) {
        snprintf(err, errlen, "slot_%c '%s': cannot open%s: %s", name, path,
                 writable ? " for writing" : "", strerror(errno));
        return OTA_ERR_FILE;
    }
    s->writable = writable;
    if (fstat(s->fd, &st) != 0) {
        snprintf(err, errlen, "slot_%c '%s': %s", name, path, strerror(errno));
        return OTA_ERR_FILE;
    }
    if (S_ISBLK(st.st_mode)) {
        uint64_t sz = 0;
        if (ioctl(s->fd, BLKGETSIZE64, &sz) != 0) {
            snprintf(err, errlen, "slot_%c '%s': size of the block device: %s", name, path,
                     strerror(errno));
            return OTA_ERR_FILE;
        }
        s->size = sz;
    } else if (S_ISREG(st.st_mode)) {
        s->size = (uint64_t)st.st_size;
    } else {
        snprintf(err, errlen, "slot_%c '%s': neither a block device nor a regular file", name,
                 path);
        return OTA_ERR_FILE;
    }
    if (s->size < (uint64_t)LX_META + LX_SECTOR) {
        snprintf(err, errlen, "slot_%c '%s': %llu bytes: too small (at least %u: the last "
                 "%u bytes hold the image header and TLVs)", name, path,
                 (unsigned long long)s->size, LX_META + LX_SECTOR, LX_META);
        return OTA_ERR_IMAGE_TOO_LARGE;
    }
    s->meta_off = s->size - LX_META;
    return OTA_OK;
}

uint64_t lx_flash_body_max(const struct lx_flash *x, int slot)
{
    return x->s[slot].meta_off;
}

ota_err lx_flash_open(struct lx_flash *x, const struct agent_linux_config *c, int running,
                      uint32_t counter_floor, char *err, size_t errlen)
{
    struct ota_boot_config bc;
    struct ota_boot_state st;
    uint64_t z;
    uint32_t slot_sectors;
    ota_err e;
    int i;

    memset(x, 0, sizeof *x);
    x->s[0].fd = x->s[1].fd = -1;
    x->running = running;
    for (i = 0; i < 2; i++) {
        e = open_slot(&x->s[i], c->slot[i], i != running, (char)('a' + i), err, errlen);
        if (e)
            return e;
    }
    /* Both slots get the smaller one's usable size, in whole sectors; the
     * emulated device stays below 4 GiB (ota/flash.h). */
    z = x->s[0].meta_off < x->s[1].meta_off ? x->s[0].meta_off : x->s[1].meta_off;
    if (z > (uint64_t)0x7fe00000u)
        z = 0x7fe00000u;
    slot_sectors = (uint32_t)(z / LX_SECTOR);
    x->emu = malloc(4 * LX_SECTOR);
    x->wbuf = malloc(LX_WBUF);
    x->rbuf = malloc(LX_RBUF);
    if (!x->emu || !x->wbuf || !x->rbuf) {
        snprintf(err, errlen, "out of memory");
        return OTA_ERR_NO_MEMORY;
    }
    memset(x->emu, 0xff, 4 * LX_SECTOR);
    x->f.read = lx_read;
    x->f.prog = lx_prog;
    x->f.erase = lx_erase;
    x->f.sync = lx_sync;
    x->f.ctx = x;
    x->f.read_size = 1;
    x->f.prog_size = 1;
    x->f.sector_size = LX_SECTOR;
    x->f.sector_count = 1 + 2 * slot_sectors + 2 + 1;
    e = ota_boot_layout_make(&x->f, LX_SECTOR, slot_sectors * LX_SECTOR, &x->l);
    if (e) {
        snprintf(err, errlen, "slot layout: %s", ota_strerror(e));
        return e;
    }
    for (i = 0; i < 2; i++)
        refresh_map(x, i);
    /* The running slot's body, as its header says (it is never written
     * here, so neither the mapping nor the bytes change while open). */
    if (running >= 0 && x->s[running].mapped)
        ota_reader_from_fd_buffered(&x->rar, &x->ra, x->s[running].fd,
                                    x->s[running].img_size, x->rbuf, LX_RBUF);

    /* The bootloader's configuration as the engine expects to find it. */
    memset(&bc, 0, sizeof bc);
    bc.layout = x->l;
    bc.key = c->image_pub;
    memcpy(bc.hw_id, c->hw_id_raw, (size_t)c->hw_id_len);
    bc.hw_id_len = (uint8_t)c->hw_id_len;
    bc.max_attempts = 1;
    ota_boot_config_encode(&bc, x->emu);
    /* The running slot is the known-good one; the other is the target. */
    memset(&st, 0, sizeof st);
    st.confirmed = running >= 0 ? (uint8_t)running : OTA_SLOT_NONE;
    st.pending = OTA_SLOT_NONE;
    st.rejected = OTA_SLOT_NONE;
    e = ota_boot_state_write(&x->f, &x->l, &st);
    if (!e && counter_floor)
        e = ota_otp_raise_counter(&x->f, &x->l, counter_floor);
    if (e) {
        snprintf(err, errlen, "emulated boot state: %s", ota_strerror(e));
        return e;
    }
    return OTA_OK;
}

void lx_flash_close(struct lx_flash *x)
{
    int i;
    if (x->wlen)
        (void)wflush(x);
    for (i = 0; i < 2; i++)
        if (x->s[i].fd >= 0)
            close(x->s[i].fd);
    free(x->emu);
    free(x->wbuf);
    free(x->rbuf);
    memset(x, 0, sizeof *x);
    x->s[0].fd = x->s[1].fd = -1;
}
