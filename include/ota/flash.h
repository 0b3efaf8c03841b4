// SPDX-License-Identifier: Apache-2.0
/*
 * ota/flash.h - the flash HAL of the portable core.
 *
 * The core (bootloader, boot state, OTP emulation, installer, delta applier,
 * update engine) touches flash ONLY through one struct ota_flash: four
 * callbacks plus a context and the geometry, in the spirit of littlefs's
 * struct lfs_config. A port fills it for its chip; the simulator (src/sim)
 * fills it with a NOR model that can lose power anywhere.
 *
 * NOR rules every port and every caller follows:
 *   - erase works on whole sectors and sets them to 0xFF;
 *   - program works on prog_size-aligned units and may only be applied to
 *     erased (0xFF) units: never program the same unit twice between erases
 *     (many chips with ECC forbid it; the simulator reports it as a bug);
 *   - read works on read_size-aligned units (use ota_flash_read() for any
 *     offset/length: it bounces unaligned edges).
 *
 * Durability (the sync contract):
 *   - a port may buffer programs and erases (a write buffer in the flash
 *     controller, a block device behind the page cache): a program or erase
 *     is durable only once a later sync has returned OTA_OK. Until then a
 *     power cut may lose it, keep it, or tear it, independently of the other
 *     unsynced operations (a later one may survive while an earlier is lost).
 *     A port whose writes are durable when they return leaves sync NULL;
 *   - the core relies on this order: the data a record vouches for (a slot
 *     image before its pending/confirmed mark, the boot state before an OTP
 *     counter raise) is synced BEFORE the record is written, and each record
 *     is synced before the call that wrote it returns. ota_flash_writer_finish
 *     ends with a sync for that reason;
 *   - the simulator checks it: OTA_SIM_DURABLE_ON_SYNC (ota/sim.h) loses or
 *     tears whatever was not synced at a cut, and the power-cut tests assert
 *     that nothing marked pending, confirmed or recorded in OTP lacks its data.
 *
 * Callers should go through the ota_flash_* helpers below, which check
 * bounds and alignment and return OTA_ERR_FLASH_BOUNDS / OTA_ERR_FLASH_ALIGN
 * instead of handing the port something it cannot do.
 */
#ifndef OTA_FLASH_H
#define OTA_FLASH_H

#include <stddef.h>
#include <stdint.h>
#include "ota/error.h"
#include "ota/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest supported granularities (buffers in the core are sized by these). */
#define OTA_FLASH_READ_MAX 64u
#define OTA_FLASH_PROG_MAX 256u

struct ota_flash {
    /* Read len bytes at off. off and len are multiples of read_size and
     * within the device (the helpers guarantee it). */
    ota_err (*read)(void *ctx, uint32_t off, void *buf, size_t len);
    /* Program len bytes at off. off and len are multiples of prog_size; the
     * target is erased. Returns OTA_ERR_FLASH_NOT_ERASED if it is not. */
    ota_err (*prog)(void *ctx, uint32_t off, const void *buf, size_t len);
    /* Erase sector number `sector` (byte offset sector * sector_size). */
    ota_err (*erase)(void *ctx, uint32_t sector);
    /* Make every completed prog/erase durable (may be NULL: writes are
     * durable when prog/erase return). See "Durability" above. */
    ota_err (*sync)(void *ctx);
    void *ctx;

    uint32_t read_size;    /* read granularity, 1..OTA_FLASH_READ_MAX */
    uint32_t prog_size;    /* program granularity, 1..OTA_FLASH_PROG_MAX */
    uint32_t sector_size;  /* erase granularity, a multiple of both */
    uint32_t sector_count; /* sectors in the device */
};

/* Checks the geometry (non-zero, limits, divisibility, total < 4 GiB).
 * Returns OTA_OK or OTA_ERR_INVALID_ARG. */
ota_err ota_flash_check(const struct ota_flash *f);

/* Total bytes (sector_size * sector_count). */
uint32_t ota_flash_size(const struct ota_flash *f);

/* Read any byte range (unaligned edges go through a small bounce buffer). */
ota_err ota_flash_read(const struct ota_flash *f, uint32_t off, void *buf, size_t len);

/* Program: off and len must be multiples of prog_size. */
ota_err ota_flash_prog(const struct ota_flash *f, uint32_t off, const void *buf,
                       size_t len);

/* Erase every sector of [off, off + len): both must be sector-aligned. */
ota_err ota_flash_erase(const struct ota_flash *f, uint32_t off, uint32_t len);

/* Calls the port's sync (OTA_OK when it has none). */
ota_err ota_flash_sync(const struct ota_flash *f);

/* *erased = 1 when every byte of [off, off + len) reads 0xFF. */
ota_err ota_flash_is_erased(const struct ota_flash *f, uint32_t off, uint32_t len,
                            int *erased);

/* Round up to the program granularity / sector size. */
uint32_t ota_flash_align_prog(const struct ota_flash *f, uint32_t n);
uint32_t ota_flash_align_sector(const struct ota_flash *f, uint32_t n);

/*
 * A reader (ota/io.h) over a flash region, so ota_image_verify() and the
 * delta applier read a slot in place. `area` is the reader's context and must
 * outlive it.
 */
struct ota_flash_area {
    const struct ota_flash *flash;
    uint32_t off;  /* first byte of the region */
    uint32_t size; /* bytes in the region */
};
void ota_reader_from_flash(struct ota_reader *r, struct ota_flash_area *area,
                           const struct ota_flash *f, uint32_t off, uint32_t size);

/*
 * A sequential writer into a flash region: accepts bytes of any length,
 * erases each sector the first time the write position enters it, programs
 * whole prog_size units, and on finish pads the last partial unit with 0xFF.
 * Sectors of the region beyond what was written are left untouched.
 * Used by the installer (boot.h), the delta applier and the update engine.
 */
struct ota_flash_writer {
    const struct ota_flash *flash;
    uint32_t off;        /* region start (sector-aligned) */
    uint32_t size;       /* region size */
    uint32_t pos;        /* bytes accepted so far */
    uint32_t erased_end; /* region-relative end of the sectors erased so far */
    uint32_t fill;       /* bytes waiting in unit[] */
    uint8_t unit[OTA_FLASH_PROG_MAX];
    uint32_t chunk;      /* max bytes per prog call (0: no limit) */
};
/* off must be sector-aligned. chunk limits one program call (e.g. a page of
 * 256 bytes); 0 means one call per write() as far as alignment allows. */
ota_err ota_flash_writer_init(struct ota_flash_writer *w, const struct ota_flash *f,
                              uint32_t off, uint32_t size, uint32_t chunk);
/* OTA_ERR_TOO_LARGE when the region would overflow (nothing written then). */
ota_err ota_flash_writer_write(struct ota_flash_writer *w, const void *data, size_t len);
/* Programs the pending partial unit (0xFF padded) and syncs. */
ota_err ota_flash_writer_finish(struct ota_flash_writer *w);

#ifdef __cplusplus
}
#endif
#endif
