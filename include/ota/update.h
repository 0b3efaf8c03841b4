// SPDX-License-Identifier: Apache-2.0
/*
 * ota/update.h - the portable update engine: from a signed offer and a
 * stream of payload bytes to a verified image pending trial in the inactive
 * slot.
 *
 * Why it exists: the agent (Linux), the simulated device and an MCU port all
 * need the same careful sequence, and it must not depend on how bytes arrive:
 *
 *   begin   verify the manifest (server signature, device id, hardware id,
 *           expiry, security counter >= OTP counter, offer sequence above the
 *           newest accepted, target newer than the running image unless the
 *           offer says downgrade, sizes <= slot) and, for a
 *           delta, that the running image is exactly the patch's base --
 *           all BEFORE a single payload byte is accepted;
 *   write   accept payload bytes (never more than the manifest's payload
 *           size), hash them, and write the new image into the inactive slot:
 *           directly (full image) or through the streaming delta applier
 *           reading the active slot (delta);
 *   finish  payload digest, read-back digest of the slot against the
 *           manifest's target digest, then full image verification exactly
 *           as the bootloader will (ota_install_finish), and only then mark
 *           the slot pending for a trial boot.
 *
 * Resumable: ota_update_checkpoint() yields a small progress record (payload
 * digest, durable offset, SHA-256 of the payload prefix) the device stores
 * wherever it likes. ota_update_begin() with that record re-reads the written
 * prefix from flash, re-hashes it and continues only if it matches;
 * otherwise it starts over from byte 0. Full images resume at the last
 * completed flash sector; delta payloads (small by design) restart.
 *
 * Flash comes through struct ota_boot_dev (ota/boot.h), time and transport
 * through the small HAL structs below. No malloc, no stdio; the whole state
 * is one caller-owned struct ota_update: 15 296 bytes on x86-64 (measured
 * after encrypted images added the image key and the delta envelope; the
 * Cortex-M4 figure was 14 880 before them), of which the delta applier
 * inside it takes 13 360; tests/core/test_update prints the host figure.
 */
#ifndef OTA_UPDATE_H
#define OTA_UPDATE_H

#include <stddef.h>
#include <stdint.h>
#include "ota/boot.h"
#include "ota/crypto.h"
#include "ota/delta.h"
#include "ota/error.h"
#include "ota/flash.h"
#include "ota/image.h"
#include "ota/image_enc.h"
#include "ota/manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Time HAL: unix seconds now, or 0 when the device has no trustworthy clock
 * (manifest expiry is then not checked). */
struct ota_update_clock {
    uint64_t (*now)(void *ctx);
    void *ctx;
};

/* Transport HAL for pull mode (ota_update_pump): read up to cap bytes of the
 * payload continuing at the engine's offset; *got = 0 means end of stream. */
struct ota_update_transport {
    ota_err (*read)(void *ctx, void *buf, size_t cap, size_t *got);
    void *ctx;
};

/* Random access to the payload (e.g. an HTTP Range request, or a file):
 * read exactly len bytes at payload offset off. Optional; the engine uses it
 * only for encrypted full images, whose key TLV sits at the END of the image
 * but is needed before the first body byte can be decrypted. */
struct ota_update_payload_at {
    ota_err (*read)(void *ctx, uint32_t off, void *buf, size_t len);
    void *ctx;
};

struct ota_update_cfg {
    const struct ota_boot_dev *dev;       /* flash, crypto, scratch (required) */
    const struct ota_pubkey *server_keys; /* trusted manifest-signing keys */
    size_t n_server_keys;
    const char *device_id;                /* this device's id (required) */
    struct ota_update_clock clock;        /* now == NULL: no clock */
    int running_slot;                     /* slot the firmware runs from; -1: unknown.
                                             Installing over it is refused. */
    uint64_t min_offer_seq;               /* newest accepted offer_seq + 1, which the
                                             device persists (0: not checked) */
    /* Encrypted images (docs/encrypted-images.md): the device's decryption
     * key (NULL: encrypted images are refused with OTA_ERR_IMAGE_ENC_NO_KEY),
     * the encryption port, and random access to the payload. */
    const struct ota_enc_privkey *enc_key;
    const struct ota_crypto_enc *enc;
    struct ota_update_payload_at payload_at;
    /* Delta payloads in the deflate format (version 2, docs/delta-format.md):
     * the applier's deflate port (ota/deflate.h); NULL refuses them with
     * OTA_ERR_UNSUPPORTED, as a microcontroller does. */
    const struct ota_deflate_port *deflate;
    /* Delta payloads, resuming (NULL: a delta starts from byte 0): the state
     * ota_update_checkpoint_delta() filled before the interruption. Used
     * when it names the same payload and slot; otherwise ignored. */
    const struct ota_update_delta_state *delta_resume;
};

/* What a device persists to resume an interrupted download. */
struct ota_update_progress {
    uint8_t payload_digest[OTA_SHA256_LEN]; /* which payload (from the manifest) */
    uint8_t prefix_digest[OTA_SHA256_LEN];  /* SHA-256 of payload[0, offset) */
    uint32_t offset;                        /* payload bytes durably in flash */
    uint8_t slot;                           /* slot being written */
};

enum ota_update_phase {
    OTA_UPDATE_IDLE = 0,
    OTA_UPDATE_RECEIVING = 1,
    OTA_UPDATE_DONE = 2,   /* verified and pending */
    OTA_UPDATE_FAILED = 3, /* sticky: begin again */
};

/*
 * What resumes an interrupted delta install (not sealed; versions 2/3 only
 * between new deflate streams, with the port's stream table kept beside it
 * and restored before begin: ota_delta_apply_suspend in ota/delta.h):
 * the payload bytes taken and their hash, the slot writer and the suspended
 * applier (ota_delta_apply_suspend). About 14 KiB; a Linux device stores it
 * in a file beside its state (docs/linux.md#delta-updates-of-the-root-filesystem).
 *
 * Contract: pass back the bytes ota_update_checkpoint_delta() wrote, all
 * sizeof(struct ota_update_delta_state) of them (padding included: copy it
 * with memcpy or as a whole struct), once it returned OTA_OK (a state
 * registered with ota_update_want_checkpoint_delta gets its digest there,
 * not while the writes fill it). The two SHA-256 contexts inside are the
 * crypto port's own state, which no port can check (OpenSSL's SHA256_CTX
 * trusts its block index: a damaged one overruns it), so begin first checks
 * state_digest, the SHA-256 of every byte before it, and ignores a state
 * that does not match (the install starts at 0): a torn or damaged state
 * never reaches a context. A state forged with a matching digest is trusted
 * like the device's own storage.
 */
#define OTA_UPDATE_DELTA_MAGIC 0x5244544fu /* "OTDR" */
struct ota_update_delta_state {
    uint32_t magic;                     /* OTA_UPDATE_DELTA_MAGIC */
    uint32_t size;                      /* sizeof(struct ota_update_delta_state) */
    struct ota_update_progress p;       /* payload, slot, offset, prefix digest */
    ota_sha256_ctx sha;                 /* over payload[0, p.offset) */
    struct ota_flash_writer w;          /* the slot writer (flash pointer cleared) */
    struct ota_delta_apply delta;       /* the applier, suspended */
    uint8_t state_digest[OTA_SHA256_LEN]; /* SHA-256 of the bytes above */
};

/* The engine's state. Treat as opaque. */
struct ota_update {
    struct ota_update_cfg cfg;
    struct ota_diag *diag;
    ota_err err;
    uint8_t phase;
    uint8_t resumed;                 /* begin continued a previous download */
    struct ota_manifest m;
    struct ota_boot_config boot_cfg;
    uint32_t otp_counter;
    struct ota_install ins;          /* target slot, its writer, pending mark */
    uint32_t received;               /* payload offset of the next byte */
    uint32_t start;                  /* where this session's writer starts */
    uint32_t ckpt_off;               /* last sector boundary reached (full) */
    ota_sha256_ctx sha;              /* over payload[0, received) */
    ota_sha256_ctx ckpt_sha;         /* over payload[0, ckpt_off) */
    struct ota_flash_area active_area;
    struct ota_reader active;        /* delta base: the running image */
    struct ota_delta_apply delta;    /* used only for delta payloads */
    uint8_t encrypted;               /* the target image is encrypted: enc holds its key */
    struct ota_enc_key enc;
    /* Delta payload sealed for this device (ota/image_enc.h envelope). */
    uint8_t env_state;               /* 0: undecided, 1: plain patch, 2: header, 3: open */
    uint8_t env_len;                 /* header bytes buffered */
    uint8_t env[OTA_ENC_PAYLOAD_HDR_MAX];
    struct ota_enc_key penc;         /* the patch key once open */
    /* ota_update_want_checkpoint_delta: the caller's state to fill at the
     * next points where the delta applier can be suspended (NULL: none) */
    struct ota_update_delta_state *want;
};

/*
 * Verify the manifest and prepare the inactive slot. Refusals, before any
 * payload byte is taken (diag names the field, expected/found):
 *   OTA_ERR_MANIFEST_MALFORMED / _VERSION / _SIG_INVALID / _WRONG_DEVICE /
 *   _EXPIRED, OTA_ERR_IMAGE_HW_MISMATCH, OTA_ERR_IMAGE_ROLLBACK (security
 *   counter below the OTP counter), OTA_ERR_MANIFEST_STALE (offer_seq below
 *   cfg->min_offer_seq), OTA_ERR_MANIFEST_DOWNGRADE (target not newer than
 *   the running image, no downgrade flag), OTA_ERR_IMAGE_TOO_LARGE (target or
 *   payload larger than the slot), OTA_ERR_DELTA_BASE_MISMATCH (the running
 *   image is not the delta's base), OTA_ERR_UPDATE_STATE (target slot is the
 *   running one).
 * resume may be NULL. When it names the same payload and slot and its prefix
 * re-verifies from flash, the engine continues at resume->offset (see
 * ota_update_offset); otherwise at 0.
 */
ota_err ota_update_begin(struct ota_update *u, const struct ota_update_cfg *cfg,
                         const uint8_t *manifest, size_t manifest_len,
                         const struct ota_update_progress *resume,
                         struct ota_diag *diag);

/* Payload offset the next write() must continue at (the Range start). */
uint32_t ota_update_offset(const struct ota_update *u);

/* The verified manifest (valid after a successful begin). */
const struct ota_manifest *ota_update_manifest(const struct ota_update *u);

/* Slot being written (valid after a successful begin). */
int ota_update_slot(const struct ota_update *u);

/* Next payload bytes. More than the manifest's payload size in total ->
 * OTA_ERR_UPDATE_PAYLOAD_SIZE (nothing of this call is taken). Any error is
 * sticky. */
ota_err ota_update_write(struct ota_update *u, const void *data, size_t len);

/* Sync flash and fill *p with the furthest durable resume point. */
ota_err ota_update_checkpoint(struct ota_update *u, struct ota_update_progress *p);

/* Delta payloads: sync flash and fill *ds with what resumes the install
 * exactly here (cfg.delta_resume of the next begin). OTA_ERR_UNSUPPORTED
 * for a full image, a sealed patch, before the patch's coded stream
 * (nothing worth keeping yet) or, for a version 2/3 patch, inside a new
 * deflate stream (try again after a later write, or register ds with
 * ota_update_want_checkpoint_delta first: then the state kept inside the
 * writes since is used; the port's stream table
 * must be kept beside *ds and restored into the port before the next
 * begin: ota_delta_apply_suspend). A resumed install programs
 * again what was written after the checkpoint: the slot must be rewritable
 * in place (a block device; not NOR flash). */
ota_err ota_update_checkpoint_delta(struct ota_update *u, struct ota_update_delta_state *ds);

/*
 * Delta payloads: ask for a checkpoint inside the next writes. A version 2/3
 * patch can be suspended only outside new deflate streams, and on images
 * whose streams lie back to back (squashfs) the end of a write almost never
 * is: while ds is registered, each ota_update_write() stops the applier
 * where the next new stream starts (ota_delta_apply_feed_part), hashes the
 * payload exactly up to the byte consumed there and fills *ds with the
 * latest such point (or the write's end, when the applier can be suspended
 * there: every write, for version 1). ds->magic is cleared here and is
 * OTA_UPDATE_DELTA_MAGIC once ds was filled. ota_update_checkpoint_delta()
 * with this ds then syncs the flash and succeeds (with the state at its own
 * point when possible, else the one kept) and ends the registration; NULL
 * cancels it; ds must stay valid while registered (a new begin forgets
 * it). The engine keeps only the pointer: a device that never registers
 * (an MCU) pays nothing else (sizeof(struct ota_update) on x86-64 is
 * unchanged, the pointer fits in its tail padding). Bytes written after ds's point are
 * written again on resume (block devices only, as for checkpoint_delta).
 * OTA_ERR_UNSUPPORTED for a full image or a sealed patch.
 */
ota_err ota_update_want_checkpoint_delta(struct ota_update *u, struct ota_update_delta_state *ds);

/*
 * All payload bytes were written: check size and payload digest, finish the
 * delta, read back the slot against the target digest, verify the image as
 * the bootloader will and that it is the image the manifest names (size,
 * version, security counter), then mark the slot pending. info may be NULL.
 */
ota_err ota_update_finish(struct ota_update *u, struct ota_image_info *info);

/* Pull mode: read from t until the payload is complete, then finish. */
ota_err ota_update_pump(struct ota_update *u, const struct ota_update_transport *t,
                        uint8_t *buf, size_t buf_len, struct ota_image_info *info);

#ifdef __cplusplus
}
#endif
#endif
