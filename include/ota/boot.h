// SPDX-License-Identifier: Apache-2.0
/*
 * ota/boot.h - the A/B bootloader of the portable core: flash layout, the
 * bootloader's configuration block, the emulated OTP (ROM hash + anti-rollback
 * counter), the transactional boot state, stage 0, slot selection, trial
 * boots, confirmation, and the installer the update engine writes through.
 *
 * Everything here reaches flash only through struct ota_flash (ota/flash.h)
 * and crypto only through struct ota_crypto. No malloc, no stdio; stack use
 * is bounded (the largest frame holds one state record or one config block).
 *
 * Flash layout (docs/boot.md has the byte-level encoding and the reasoning):
 *
 *   +--------------------+ 0
 *   | bootloader region  |  config block at offset 0 (layout, trusted key,
 *   |                    |  hw id, trial attempts) + bootloader code.
 *   +--------------------+  Stage 0 hashes the whole region against OTP.
 *   | slot 0 (A)         |  a signed image (ota/image.h)
 *   +--------------------+
 *   | slot 1 (B)         |
 *   +--------------------+
 *   | boot state, 2 sect |  append-only log of CRC'd records, two sectors
 *   +--------------------+
 *   | (unused)           |
 *   +--------------------+ last sector
 *   | OTP (emulated)     |  never erased; bits only go 1 -> 0
 *   +--------------------+
 */
#ifndef OTA_BOOT_H
#define OTA_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include "ota/crypto.h"
#include "ota/error.h"
#include "ota/flash.h"
#include "ota/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OTA_SLOT_NONE 0xffu
#define OTA_BOOT_DEFAULT_ATTEMPTS 3u
#define OTA_BOOT_MIN_REGION 16384u /* default bootloader region (rounded to sectors) */
#define OTA_BOOT_CFG_SIZE 256u      /* config block at the start of the region */
#define OTA_OTP_MAX_RECORDS 512u    /* anti-rollback raises an OTP area holds (at most) */

/* ---- layout ---- */

struct ota_boot_layout {
    uint32_t boot_off;     /* always 0 */
    uint32_t boot_size;    /* bootloader region, whole sectors */
    uint32_t slot_off[2];  /* slot A, slot B */
    uint32_t slot_size;    /* whole sectors */
    uint32_t state_off;    /* two sectors */
    uint32_t otp_off;      /* always the last sector (fixed by "hardware") */
    uint32_t otp_size;     /* one sector */
};

/*
 * Compute the standard layout for a device. boot_size 0: OTA_BOOT_MIN_REGION
 * rounded up to sectors; slot_size 0: as large as fits. Returns
 * OTA_ERR_BOOT_LAYOUT when it does not fit.
 */
ota_err ota_boot_layout_make(const struct ota_flash *f, uint32_t boot_size,
                             uint32_t slot_size, struct ota_boot_layout *l);
/* Every region sector-aligned, inside the device, not overlapping; OTP last. */
ota_err ota_boot_layout_check(const struct ota_flash *f, const struct ota_boot_layout *l);

/* ---- bootloader configuration (first bytes of the bootloader region) ---- */

struct ota_boot_config {
    struct ota_boot_layout layout;
    struct ota_pubkey key;        /* the trusted image-signing key (SPKI) */
    uint8_t hw_id[OTA_HW_ID_MAX]; /* this product's hardware id */
    uint8_t hw_id_len;            /* 0: images need no hw id */
    uint8_t max_attempts;         /* trial boots before revert (1..255) */
};

/* Encode into OTA_BOOT_CFG_SIZE bytes / decode and check (magic, CRC,
 * layout). Decode returns OTA_ERR_BOOT_LAYOUT with diag on any problem. */
void ota_boot_config_encode(const struct ota_boot_config *cfg, uint8_t out[OTA_BOOT_CFG_SIZE]);
ota_err ota_boot_config_decode(const struct ota_flash *f, const uint8_t in[OTA_BOOT_CFG_SIZE],
                               struct ota_boot_config *cfg, struct ota_diag *d);
/* Read and decode the block from flash offset 0. */
ota_err ota_boot_config_read(const struct ota_flash *f, struct ota_boot_config *cfg,
                             struct ota_diag *d);

/* ---- emulated OTP (last sector) ----
 * [0, 32)   SHA-256 of the bootloader region (burned once at provisioning;
 *           all 0xFF = not provisioned)
 * [R, end)  anti-rollback counter records, R = round_up(32, unit), one unit
 *           per record (unit = max(8, prog_size)): value u32 LE then its
 *           bitwise complement; a record is valid only when both halves
 *           agree, which a torn 1->0 program can never fake. The counter is
 *           the largest valid value (0 when none); raising it burns the next
 *           blank unit. Nothing in OTP is ever erased, so it never decreases.
 */
ota_err ota_otp_read_rom_hash(const struct ota_flash *f, const struct ota_boot_layout *l,
                              uint8_t hash[OTA_SHA256_LEN], int *provisioned);
ota_err ota_otp_write_rom_hash(const struct ota_flash *f, const struct ota_boot_layout *l,
                               const uint8_t hash[OTA_SHA256_LEN]);
struct ota_otp_counter {
    uint32_t value;      /* the anti-rollback counter */
    uint32_t used;       /* units holding a record (valid or torn) */
    uint32_t capacity;   /* units in total */
};
ota_err ota_otp_read_counter(const struct ota_flash *f, const struct ota_boot_layout *l,
                             struct ota_otp_counter *c);
/* Raise the counter to at least value (no-op when already there).
 * OTA_ERR_OTP_FULL when no blank unit is left. */
ota_err ota_otp_raise_counter(const struct ota_flash *f, const struct ota_boot_layout *l,
                              uint32_t value);

/* ---- boot state (transactional, two sectors, append-only records) ---- */

struct ota_boot_state {
    uint32_t seq;       /* record sequence number (0: no valid record found) */
    uint8_t confirmed;  /* slot known good (0/1) or OTA_SLOT_NONE */
    uint8_t pending;    /* slot on trial (0/1) or OTA_SLOT_NONE */
    uint8_t attempts;   /* trial boots left for `pending` */
    uint8_t rejected;   /* slot whose trial failed; never booted again until
                           reinstalled; or OTA_SLOT_NONE */
};
struct ota_boot_state_info {
    uint32_t record_size;    /* bytes per record */
    uint32_t records_per_sector;
    int sector;              /* 0/1: sector holding the newest record, -1: none */
    uint32_t next;           /* next free record index in that sector */
    uint32_t valid_records;  /* CRC-valid records seen in both sectors */
    uint32_t bad_records;    /* non-blank records that failed the checks */
};
/* Newest valid record; with none, *st = {seq 0, all NONE} and OTA_OK (a
 * blank state area is a legal "nothing installed" state). info may be NULL. */
ota_err ota_boot_state_read(const struct ota_flash *f, const struct ota_boot_layout *l,
                            struct ota_boot_state *st, struct ota_boot_state_info *info);
/* Append a new record (seq = newest + 1); erases the other sector first when
 * the current one is full. The previous record stays intact until a later
 * write erases its sector, so a cut anywhere leaves old or new. */
ota_err ota_boot_state_write(const struct ota_flash *f, const struct ota_boot_layout *l,
                             const struct ota_boot_state *st);

/* ---- the device as the bootloader and the installer see it ---- */

struct ota_boot_dev {
    const struct ota_flash *flash;
    const struct ota_crypto *crypto;
    uint8_t *buf;        /* optional scratch for hashing (faster with KiBs) */
    size_t buf_len;
    uint32_t prog_chunk; /* installer: max bytes per program call (0: any) */
};

/* Factory programming: erase the device, write the config block (and a
 * deterministic filler standing in for bootloader code) into the bootloader
 * region, burn its hash into OTP, write the first boot state (nothing
 * installed). */
ota_err ota_boot_provision(const struct ota_boot_dev *dev, const struct ota_boot_config *cfg,
                           struct ota_diag *d);

/* Stage 0 ("ROM"): the bootloader region hashes to the value burned in OTP.
 * OTA_ERR_OTP if OTP holds no hash, OTA_ERR_BOOT_ROM_HASH on mismatch. */
ota_err ota_boot_stage0(const struct ota_boot_dev *dev, struct ota_diag *d);

/* What the bootloader decided. */
struct ota_boot_result {
    int slot;                    /* slot to run, -1: recovery */
    uint8_t trial;               /* running a pending image on trial */
    uint8_t attempts_left;       /* trial boots left after this one */
    uint8_t reverted;            /* this boot ended a trial (exhausted/invalid) */
    uint8_t fell_back;           /* the preferred slot failed; running the other */
    struct ota_image_info info;  /* the image to run */
    uint32_t otp_counter;        /* anti-rollback counter after this boot */
    ota_err reason;              /* recovery: why nothing runs */
    ota_err slot_err[2];         /* per slot: last verification result (OTA_OK,
                                    or why it was refused; OTA_ERR_NOT_CHECKED when not examined) */
    struct ota_diag diag;        /* details of the last refusal */
    struct ota_boot_state state; /* boot state after this boot */
};

/*
 * Stage 0 + bootloader: pick the pending slot while trial attempts remain
 * (the attempt is counted in flash BEFORE the image runs), else the
 * confirmed slot, else the other slot; run only a fully verified image (hash,
 * signature by the configured key, hw id, security counter >= OTP counter).
 * A trial that is exhausted or does not verify is reverted (slot marked
 * rejected). Returns OTA_OK with res->slot >= 0, or the recovery reason
 * (also in res->reason) with res->slot = -1. Flash errors (e.g. power loss)
 * are returned as they are, with nothing to run.
 */
ota_err ota_boot(const struct ota_boot_dev *dev, struct ota_boot_result *res);

/*
 * Called by the running firmware (from `slot`) once it is healthy: marks the
 * slot confirmed (ending the trial), then raises the OTP anti-rollback
 * counter to the image's security counter. Idempotent for an already
 * confirmed slot (also while an update of the other slot is pending).
 * OTA_ERR_BOOT_NOT_ON_TRIAL when slot is neither pending nor confirmed.
 */
ota_err ota_boot_confirm(const struct ota_boot_dev *dev, int slot, struct ota_diag *d);

/* ---- installer (used by ota-sim install and the update engine) ---- */

struct ota_enc_key;
struct ota_install {
    const struct ota_boot_dev *dev;
    struct ota_boot_config cfg;
    struct ota_flash_writer w;
    uint32_t size;  /* bytes announced at begin */
    int slot;       /* target slot */
    int active;
    uint32_t base;  /* image offset the writer started at (resume) */
    const struct ota_enc_key *enc; /* non-NULL: decrypt the body while writing */
};

/* Pick the target slot (the one not confirmed), end any trial of it in the
 * boot state, and open a writer on it. OTA_ERR_IMAGE_TOO_LARGE when size
 * exceeds the slot. */
ota_err ota_install_begin(struct ota_install *ins, const struct ota_boot_dev *dev,
                          uint32_t size, struct ota_diag *d);
/* Continue an install whose first `offset` bytes are already in the target
 * slot and were re-verified by the caller (a resumed download): the writer
 * restarts at offset, erasing ahead from there, and finish then expects the
 * remaining size - offset bytes. Call right after ota_install_begin. */
ota_err ota_install_resume(struct ota_install *ins, uint32_t offset, struct ota_diag *d);
/* The image being installed is encrypted (ota/image_enc.h): every byte
 * written from now on is decrypted with k before it reaches flash, so the
 * slot holds the plaintext image the bootloader verifies. k must stay valid
 * until finish. Call after begin (and resume). */
ota_err ota_install_decrypt(struct ota_install *ins, const struct ota_enc_key *k);
/* Append image bytes (erasing sectors just ahead of the write position). */
ota_err ota_install_write(struct ota_install *ins, const void *data, size_t len);
/* Flush, verify the slot in place exactly as the bootloader will (incl.
 * security counter >= OTP counter), then mark it pending with the configured
 * trial attempts (permanent: mark it confirmed directly, no trial). On a
 * refusal the boot state is left as it was and the error returned. */
ota_err ota_install_finish(struct ota_install *ins, int permanent,
                           struct ota_image_info *info, struct ota_diag *d);

/* Verify one slot as the bootloader does (policy from cfg + OTP counter). */
ota_err ota_boot_verify_slot(const struct ota_boot_dev *dev, const struct ota_boot_config *cfg,
                             int slot, uint32_t min_counter, struct ota_image_info *info,
                             struct ota_diag *d);

#ifdef __cplusplus
}
#endif
#endif
