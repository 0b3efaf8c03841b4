// SPDX-License-Identifier: Apache-2.0
/*
 * ota/sim.h - the NOR flash simulator (host library ota_sim, src/sim/).
 *
 * It fills a struct ota_flash (ota/flash.h) with a model of NOR flash that is
 * stricter than real chips and can lose power anywhere:
 *   - erase sets a whole sector to 0xFF and counts wear per sector;
 *   - program only clears bits, and programming a unit that is not erased
 *     (or erasing a protected OTP sector) is a BUG: the call fails with
 *     OTA_ERR_FLASH_NOT_ERASED / OTA_ERR_FLASH_PROTECTED and `violations`
 *     counts it, so tests can assert the core never does it;
 *   - every program and erase is one operation on a counter; a power cut can
 *     be armed (a) BEFORE operation N (it never happens) or (b) TORN inside
 *     operation N: a program leaves a random subset of its bytes/bits
 *     written, an erase leaves the sector partly erased with random content.
 *     After the cut every call fails with OTA_ERR_POWER_LOSS until
 *     ota_sim_power_on(). All randomness comes from the seed.
 *   - durability (ota_sim_set_durability): by default every completed
 *     program/erase is durable when it returns; in OTA_SIM_DURABLE_ON_SYNC
 *     mode they stay volatile until the flash's sync (a chip with a write
 *     buffer, a block device behind the page cache), and a power cut leaves
 *     each sector changed since the last sync old, new or torn (seeded);
 *     each sync is then also an operation on the cut clock (a cut "before"
 *     or "inside" it: nothing of it happens);
 *   - rewritable (ota_sim_set_rewritable): a block device instead (the
 *     slot of a Linux device): a program overwrites in place whatever is
 *     there, a torn one leaves a mix of old and new bytes;
 *   - worn cells (ota_sim_set_worn): programs into a region silently leave a
 *     byte wrong (a bit that should be cleared stays 1, or a bit flipped),
 *     report success, and reads return what is really there.
 * Memory-backed for tests; ota_sim_load/ota_sim_save keep it in a file (a
 * small header describing geometry and wear, then the flash bytes) for the
 * ota-sim CLI.
 */
#ifndef OTA_SIM_H
#define OTA_SIM_H

#include <stddef.h>
#include <stdint.h>
#include "ota/error.h"
#include "ota/flash.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ota_sim_geometry {
    const char *name;
    const char *description;
    uint32_t read_size;
    uint32_t prog_size;
    uint32_t sector_size;
    uint32_t sector_count;
};

/* Named geometries ("generic-4k", "nrf52", "stm32f4", "spi-nor"). */
const struct ota_sim_geometry *ota_sim_geometry_find(const char *name);
size_t ota_sim_geometry_count(void);
const struct ota_sim_geometry *ota_sim_geometry_at(size_t i);
#define OTA_SIM_DEFAULT_GEOMETRY "generic-4k"

enum ota_sim_cut {
    OTA_SIM_CUT_NONE = 0,
    OTA_SIM_CUT_BEFORE = 1, /* operation N does not happen */
    OTA_SIM_CUT_TORN = 2    /* operation N is left half done */
};

enum ota_sim_durability {
    OTA_SIM_DURABLE_AT_ONCE = 0, /* a completed program/erase is durable */
    OTA_SIM_DURABLE_ON_SYNC = 1  /* volatile until sync; cuts lose or tear it */
};

enum ota_sim_lie {
    OTA_SIM_LIE_NONE = 0,
    OTA_SIM_LIE_UNPROGRAMMED = 1, /* a bit that should be cleared stays 1 */
    OTA_SIM_LIE_FLIP = 2          /* a bit of the programmed byte is inverted */
};

struct ota_sim_stats {
    uint64_t progs;            /* program operations performed */
    uint64_t erases;           /* sector erases performed */
    uint64_t bytes_programmed;
    uint64_t reads;
    uint64_t bytes_read;
    uint64_t syncs;            /* sync calls that succeeded */
    uint64_t sectors_lost;     /* unsynced sectors a cut rolled back or tore */
    uint64_t lies;             /* programs the worn region silently corrupted */
};

struct ota_sim {
    struct ota_flash flash;   /* the HAL to hand to the core (ctx = this) */
    uint8_t *mem;             /* sector_size * sector_count bytes */
    uint32_t *erase_count;    /* per sector (wear) */
    uint64_t ops;             /* program+erase operations attempted: the cut clock */
    struct ota_sim_stats stats;

    enum ota_sim_cut cut_mode;
    uint64_t cut_at;          /* cut when ops reaches this value */
    int powered;              /* 0 after a cut until ota_sim_power_on() */
    int cut_fired;            /* the armed cut happened */
    uint64_t rng;

    enum ota_sim_durability durability;
    uint8_t *durable;         /* ON_SYNC: contents as of the last sync */
    uint8_t *dirty;           /* ON_SYNC: per sector, changed since that sync */

    enum ota_sim_lie lie;     /* worn cells in [lie_off, lie_off + lie_len) */
    uint32_t lie_off, lie_len;
    uint32_t lie_budget;      /* programs left that lie (0: no limit) */
    uint64_t lie_rng;

    int rewritable;           /* programs overwrite (a block device) */

    uint32_t protect_first;   /* sectors that may never be erased (OTP) */
    uint32_t protect_count;

    uint64_t violations;      /* bugs in the caller (see above) */
    char violation[160];      /* the first one, described */

    /* what the simulated device "remembers" between ota-sim invocations
     * (RAM of the running firmware; not part of flash) */
    char geometry[32];
    int running_slot;         /* slot the last boot started, -1: none */
    uint32_t boot_count;
};

/* A blank (all 0xFF) device. */
ota_err ota_sim_init(struct ota_sim *s, uint32_t read_size, uint32_t prog_size,
                     uint32_t sector_size, uint32_t sector_count);
/* sector_count 0: the geometry's own. */
ota_err ota_sim_init_geometry(struct ota_sim *s, const struct ota_sim_geometry *g,
                              uint32_t sector_count);
void ota_sim_free(struct ota_sim *s);

/* Copy contents, wear, counters and metadata from src (same geometry):
 * snapshot and restore. Cut settings of dst are disarmed; dst keeps its own
 * durability mode (what src had not synced stays unsynced in dst when both
 * are ON_SYNC, else src's contents count as synced). */
ota_err ota_sim_copy(struct ota_sim *dst, const struct ota_sim *src);

/* Cut power when `after` more operations have been attempted (after = 0:
 * the very next program/erase). The seed drives the torn content. */
void ota_sim_arm_cut(struct ota_sim *s, enum ota_sim_cut mode, uint64_t after,
                     uint64_t seed);
void ota_sim_disarm(struct ota_sim *s);
/* Power comes back: calls work again; the cut is disarmed. */
void ota_sim_power_on(struct ota_sim *s);

/* Durability of programs and erases (see above). Switching modes makes the
 * current contents the durable ones. OTA_ERR_NO_MEMORY if the shadow copy
 * cannot be allocated. */
ota_err ota_sim_set_durability(struct ota_sim *s, enum ota_sim_durability d);

/* Power fails now, between operations: as after an armed cut, every call
 * fails until ota_sim_power_on(), and in ON_SYNC mode what was not synced is
 * lost or torn (seeded). */
void ota_sim_power_cut(struct ota_sim *s, uint64_t seed);

/* Worn cells: each program touching [off, off + len) leaves one byte of the
 * overlap wrong as `how` says (seeded), while reporting success. `budget`
 * programs lie, then the cells behave (0: every program lies). how =
 * OTA_SIM_LIE_NONE heals the region. */
void ota_sim_set_worn(struct ota_sim *s, uint32_t off, uint32_t len, enum ota_sim_lie how,
                      uint64_t seed, uint32_t budget);

/* on = 1: programs overwrite in place, as on a block device (see above);
 * 0: NOR rules (the default). ota_sim_copy keeps dst's setting. */
void ota_sim_set_rewritable(struct ota_sim *s, int on);

/* Sectors [first, first + count) refuse erase (OTA_ERR_FLASH_PROTECTED). */
void ota_sim_protect(struct ota_sim *s, uint32_t first, uint32_t count);

/* File-backed devices. Errors name the file and the reason in err. */
ota_err ota_sim_load(struct ota_sim *s, const char *path, char *err, size_t errlen);
ota_err ota_sim_save(const struct ota_sim *s, const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
