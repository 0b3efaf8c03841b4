// SPDX-License-Identifier: Apache-2.0
/*
 * linux.h - the pieces of ota-agent's Linux A/B backend (backend = linux):
 * the slot "flash" the portable update engine writes through (two block
 * devices or files, the image body at offset 0 of a slot and its header and
 * TLVs in the slot's last 64 KiB), the bootloader environment (GRUB through
 * grub-editenv, U-Boot through libubootenv, RAUC's variables), and the
 * backend itself (running slot from the kernel command line, trial,
 * confirm, fallback, anti-rollback floor). docs/linux.md describes it all.
 *
 * Why a separate header: agent.h is the agent library's interface shared
 * with the simulator; these are internal to the Linux backend's files
 * (backend_linux*.c, bootenv_*.c).
 */
#ifndef OTA_AGENT_LINUX_H
#define OTA_AGENT_LINUX_H

#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "ota/boot.h"
#include "ota/flash.h"
#include "ota/host.h"

/* ---- configuration keys (backend_linux_config.c) ------------------------- */
void agent_linux_config_defaults(struct agent_linux_config *c);
/* 1 when key is a Linux backend key (*bad set when its value is wrong), else 0. */
int agent_linux_config_set(struct agent_linux_config *c, const char *key, const char *v,
                           int *bad);
/* Check and complete the settings (load image_key, default paths). */
ota_err agent_linux_config_finish(struct agent_linux_config *c, const char *state_file,
                                  char *err, size_t errlen);
extern const char agent_linux_config_help[];

/* ---- slot flash (backend_linux_flash.c) ----------------------------------- */
/* The slot's last LX_META bytes hold the signed image's header + TLV area. */
#define LX_META (64u * 1024u)
#define LX_SECTOR (64u * 1024u)

struct lx_slot {
    int fd;
    int writable;
    uint64_t size;      /* bytes in the device or file */
    uint64_t meta_off;  /* size - LX_META */
    int mapped;         /* a valid header is in the metadata area */
    uint32_t hdr_size, img_size;
    int dirty;          /* written since the last fdatasync */
};

/*
 * A struct ota_flash the portable core sees as a NOR device with the
 * standard layout (ota/boot.h): bootloader region, slot A, slot B, boot
 * state, OTP. The slots are the real devices (remapped: header and TLVs to
 * the metadata area, body at offset 0); the rest is emulated in memory and
 * synthesized at open (config block with image_key and hw_id; boot state
 * "confirmed = running slot"; OTP holding the anti-rollback floor): the
 * bootloader environment and the linux_state file are what persist.
 */
struct lx_flash {
    struct ota_flash f;
    struct ota_boot_layout l;
    struct lx_slot s[2];
    int running;         /* never written; opened read-only */
    uint8_t *emu;        /* boot region | 2 state sectors | OTP sector */
    uint8_t *wbuf;       /* write-behind for body bytes */
    int wslot;
    uint64_t woff;
    size_t wlen;
    uint64_t unsynced;   /* body bytes written since the last writeback kick */
    /* read-ahead window over the running slot's body (never written: the
     * window never goes stale); a delta applier reads the old image there
     * a few hundred bytes at a time */
    uint8_t *rbuf;
    struct ota_fd_reader_buf ra;
    struct ota_reader rar;
};

/* Open both slots (the running one read-only), check sizes, build the
 * emulated regions. err says which slot, which path and why. */
ota_err lx_flash_open(struct lx_flash *x, const struct agent_linux_config *c, int running,
                      uint32_t counter_floor, char *err, size_t errlen);
void lx_flash_close(struct lx_flash *x);
/* Bytes of a slot the filesystem (image body) may use. */
uint64_t lx_flash_body_max(const struct lx_flash *x, int slot);

/* ---- bootloader environment (bootenv.c, bootenv_grub.c, bootenv_uboot.c) -- */
struct bootenv {
    const struct agent_linux_config *c;
};
/* One variable; *found = 0 when unset. */
ota_err bootenv_get(const struct bootenv *b, const char *name, char *out, size_t cap,
                    int *found, char *err, size_t errlen);
/* Set n name/value pairs (kv[2i], kv[2i+1]) in one write of the environment. */
ota_err bootenv_set(const struct bootenv *b, const char *const *kv, size_t n, char *err,
                    size_t errlen);
/* Backends. */
ota_err bootenv_grub_get(const struct agent_linux_config *c, const char *name, char *out,
                         size_t cap, int *found, char *err, size_t errlen);
ota_err bootenv_grub_set(const struct agent_linux_config *c, const char *const *kv, size_t n,
                         char *err, size_t errlen);
ota_err bootenv_uboot_get(const struct agent_linux_config *c, const char *name, char *out,
                          size_t cap, int *found, char *err, size_t errlen);
ota_err bootenv_uboot_set(const struct agent_linux_config *c, const char *const *kv,
                          size_t n, char *err, size_t errlen);

/* RAUC's semantics on top (bootenv.c). primary: boot `slot` first and
 * consider it good (GRUB ORDER="X Y" X_OK=1 X_TRY=0; U-Boot BOOT_ORDER="X Y"
 * BOOT_X_LEFT=attempts) -- used after an install and to mark a slot good.
 * bad: never boot it (GRUB X_OK=0 X_TRY=0; U-Boot BOOT_X_LEFT=0). */
ota_err bootenv_primary(const struct bootenv *b, int slot, char *err, size_t errlen);
ota_err bootenv_bad(const struct bootenv *b, int slot, char *err, size_t errlen);
/* *untried = 1 when the bootloader will boot `slot` next and has not tried
 * it yet (an install waiting for its reboot). */
ota_err bootenv_untried(const struct bootenv *b, int slot, int *untried, char *err,
                        size_t errlen);
/* The anti-rollback floor mirrored in the environment (OTA_SECURITY_COUNTER;
 * 0 when unset). */
ota_err bootenv_counter_get(const struct bootenv *b, uint32_t *out, char *err, size_t errlen);
ota_err bootenv_counter_set(const struct bootenv *b, uint32_t v, char *err, size_t errlen);
/* A writable environment (checked before anything is written). */
ota_err bootenv_check(const struct bootenv *b, char *err, size_t errlen);

/* ---- running slot (backend_linux_slot.c) ---------------------------------- */
/* From c->running_slot, else the kernel command line (ota.slot= / rauc.slot=,
 * else root= matched to slot_a/slot_b). -1 with err saying why. */
int agent_linux_running_slot(const struct agent_linux_config *c, char *err, size_t errlen);

/* ---- persisted backend state (backend_linux_state.c) ---------------------- */
struct lx_state {
    int pending;              /* slot installed and not yet confirmed, -1: none */
    uint32_t counter;         /* anti-rollback floor */
};
ota_err lx_state_load(struct lx_state *s, const char *path, char *err, size_t errlen);
ota_err lx_state_save(const struct lx_state *s, const char *path, char *err, size_t errlen);
/* The delta resume state beside linux_state (path + ".delta") with the
 * stream table of a version 2/3 patch (nspans entries; at most cap are
 * loaded into spans): load (1 when a state of this build was read), save
 * atomically, remove. */
struct ota_update_delta_state;
struct ota_delta_zspan;
int lx_delta_load(const char *state, struct ota_update_delta_state *ds,
                  struct ota_delta_zspan *spans, uint32_t cap, uint32_t *nspans);
ota_err lx_delta_save(const char *state, const struct ota_update_delta_state *ds,
                      const struct ota_delta_zspan *spans, uint32_t nspans, char *err,
                      size_t errlen);
void lx_delta_remove(const char *state);

/* ---- the backend (backend_linux.c) ----------------------------------------- */
struct agent_linux_backend;
/* Find the running slot, read linux_state and the environment's floor,
 * open the slots. err says what failed (OTA_ERR_CONFIG: no running slot;
 * OTA_ERR_FILE / _IMAGE_TOO_LARGE: a slot; OTA_ERR_BOOTENV). */
ota_err agent_linux_backend_new(const struct agent_config *cfg,
                                struct agent_linux_backend **out, char *err, size_t errlen);
void agent_linux_backend_free(struct agent_linux_backend *b);
void agent_linux_backend_bind(struct agent_linux_backend *b, struct agent_backend *out);
int agent_linux_backend_running(const struct agent_linux_backend *b);

/* What the last boot means, before the agent loop runs (and for --confirm):
 *   LX_BOOT_NORMAL       no update pending
 *   LX_BOOT_TRIAL        running the pending slot: self-test, then confirm
 *   LX_BOOT_WAIT_REBOOT  an update is installed, the bootloader has not tried it
 *   LX_BOOT_FELL_BACK    the pending slot was tried and the bootloader came back:
 *                        it is now marked bad, the running slot good, the
 *                        pending record cleared. */
enum lx_boot { LX_BOOT_NORMAL = 0, LX_BOOT_TRIAL, LX_BOOT_WAIT_REBOOT, LX_BOOT_FELL_BACK };
ota_err agent_linux_reconcile(struct agent_linux_backend *b, enum lx_boot *out, char *err,
                              size_t errlen);
/* Mark the running slot good (primary) -- every normal boot, like
 * rauc-mark-good. */
ota_err agent_linux_mark_running_good(struct agent_linux_backend *b, char *err, size_t errlen);
/* The trial failed its self-test: mark the running slot bad so the next boot
 * falls back at once. */
ota_err agent_linux_trial_failed(struct agent_linux_backend *b, char *err, size_t errlen);
/* Write a signed image into a slot (factory / disk building), verified
 * first, then make it the good primary slot and raise the floor. */
ota_err agent_linux_provision(const struct agent_config *cfg, int slot, const char *image,
                              char *err, size_t errlen);

/* The boot-time check: verify the image in a slot in place (header and TLVs
 * from its metadata area, body from offset 0) as the update did after
 * writing it: hash, signature by image_key, hw_id, security counter >= the
 * anti-rollback floor. Nothing is written. */
ota_err agent_linux_verify_slot(const struct agent_config *cfg, int slot,
                                struct ota_image_info *info, struct ota_diag *d, char *err,
                                size_t errlen);

/* ---- ota-agent's Linux modes (backend_linux_cli.c) ----------------------- */
/* Ready `a` for the agent loop on a Linux device (agent_setup + the backend),
 * after reconciling the last boot. Returns -1 when the loop should run, or
 * an exit code (start-up failed). *skip = 1: do not run the loop, an update
 * waits for its reboot (*o = AGENT_REBOOT). */
int agent_linux_start(struct agent *a, struct agent_config *cfg,
                      struct agent_linux_backend **out, int *skip, enum agent_outcome *o);
/* After the loop: a failed trial marks the slot bad. */
void agent_linux_stop(struct agent_linux_backend *b, enum agent_outcome o);
/* Run reboot_cmd (if set) when o says the device must reboot. */
void agent_linux_reboot(const struct agent_config *cfg, enum agent_outcome o);
/* --confirm: the boot-time unit; exit code. */
int agent_linux_confirm_main(struct agent_config *cfg);
/* --verify-slot SLOT; exit code (0: valid, else as `ota verify`). */
int agent_linux_verify_main(struct agent_config *cfg, const char *slot);
/* --provision SLOT IMAGE; exit code. */
int agent_linux_provision_main(struct agent_config *cfg, const char *slot, const char *image);

#endif
