// SPDX-License-Identifier: Apache-2.0
/*
 * tests/boot/test_power_loss.c - the power-loss proof of the bootloader,
 * boot state, OTP and installer.
 *
 * For each geometry and scenario (install + trial + confirm; install + trial
 * never confirmed until revert; install of a lower security counter, refused;
 * install + confirm raising the OTP counter; re-install over an update that
 * is pending but never booted) the scenario is run once uncut
 * to count its flash operations N. Then for EVERY operation index 0..N-1 and
 * BOTH cut models (power lost before the operation / torn inside it) the
 * scenario is replayed from the same snapshot with the cut armed there; the
 * device is rebooted (watchdog resets, or a healthy firmware that confirms,
 * alternating) until it settles, with a second cut during that recovery for
 * every third index. Then the interrupted operation is retried and must
 * reach the same end state as the uncut run.
 *
 * Asserted after every cut and every boot: the device boots (never recovery),
 * the slot it runs holds byte-for-byte one of the scenario's legitimate
 * images, that image's security counter is >= the OTP counter, the OTP
 * counter never decreases, the state converges (confirmed = running, nothing
 * pending), the core never programs a non-erased unit nor erases OTP.
 *
 * OTA_POWER_LOSS_STRIDE=k (env) covers every k-th index only (for slow
 * sanitizer builds); the default, 1, is every index. The output says which.
 */
#include <stdarg.h>

#include "../sim/vouched.h"
#include "../test.h"
#include "boot_fixture.h"

enum kind { K_CONFIRM, K_REVERT, K_REFUSED };

struct scenario {
    const char *name;
    enum kind kind;
    struct fix_dev *base;                 /* snapshot the scenario starts from */
    const struct fix_image *img;          /* what it installs */
    const struct fix_image *allowed[3];   /* images the device may ever run */
    int n_allowed;
    const struct fix_image *final_img;    /* what runs at the end (uncut) */
    uint32_t final_otp;
};

struct run {
    const struct scenario *sc;
    const char *geo;
    struct fix_dev *d;
    uint32_t max_otp;
    uint32_t min_seq;     /* boot-state record of the last completed step */
    char where[160];
    int failed;
};

static int failures;
static uint8_t attempts_cfg = 3;

__attribute__((format(printf, 2, 3))) static void fail(struct run *r, const char *fmt, ...);
static void fail(struct run *r, const char *fmt, ...)
{
    va_list ap;
    r->failed = 1;
    if (failures++ < 25) {
        fprintf(stderr, "FAIL [%s / %s / %s]: ", r->geo, r->sc->name, r->where);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
}

/* Everything asserted about one completed boot. */
static void check_boot(struct run *r, const struct ota_boot_result *res, uint32_t otp_before)
{
    int i, ok = 0;
    uint32_t otp_after;

    if (res->slot < 0) {
        fail(r, "device in recovery: %s", ota_errname(res->reason));
        return;
    }
    for (i = 0; i < r->sc->n_allowed; i++)
        if (fix_slot_holds(r->d, res->slot, r->sc->allowed[i]))
            ok = 1;
    if (!ok)
        fail(r, "booted slot %d holds none of the scenario's images", res->slot);
    if (res->info.security_counter < otp_before)
        fail(r, "booted image counter %u below OTP counter %u", res->info.security_counter,
             otp_before);
    otp_after = fix_otp(r->d);
    if (otp_after < r->max_otp)
        fail(r, "OTP counter decreased: %u -> %u", r->max_otp, otp_after);
    if (otp_after > r->max_otp)
        r->max_otp = otp_after;
}

/* One boot with checks; returns the core's error (POWER_LOSS passes up). */
static void note_seq(struct run *r)
{
    r->min_seq = fix_state(r->d).seq;
}

static ota_err boot(struct run *r, struct ota_boot_result *res)
{
    uint32_t otp_before = fix_otp(r->d), seq = fix_state(r->d).seq;
    char why[200];
    ota_err e;

    /* nothing is marked (pending, confirmed, OTP) that is not durable */
    if (sim_vouched_check(&r->d->dev, why, sizeof why))
        fail(r, "%s", why);

    /* the state is the last completed one or newer: never lost, never older */
    if (seq == 0 || seq < r->min_seq)
        fail(r, "boot state went back: record %u, last completed step wrote %u", seq,
             r->min_seq);
    e = ota_boot(&r->d->dev, res);
    if (e == OTA_ERR_POWER_LOSS)
        return e;
    if (e != OTA_OK) {
        fail(r, "boot failed: %s", ota_errname(e));
        return e;
    }
    note_seq(r);
    check_boot(r, res, otp_before);
    return OTA_OK;
}

/* The scenario's steps. Returns OTA_OK when it ran to the end. */
static ota_err run_steps(struct run *r, int check_outcome)
{
    const struct scenario *sc = r->sc;
    struct ota_boot_result res;
    int slot = -1, k;
    ota_err e;

    e = fix_install(r->d, sc->img, 0, 1024, &slot);
    if (e == OTA_ERR_POWER_LOSS)
        return e;
    note_seq(r);
    if (sc->kind == K_REFUSED) {
        if (e != OTA_ERR_IMAGE_ROLLBACK) {
            fail(r, "low-counter install: %s, expected OTA_ERR_IMAGE_ROLLBACK", ota_errname(e));
            return OTA_ERR_INTERNAL;
        }
    } else if (e != OTA_OK) {
        fail(r, "install: %s", ota_errname(e));
        return e;
    }
    switch (sc->kind) {
    case K_CONFIRM:
        if ((e = boot(r, &res)) != OTA_OK)
            return e;
        if (check_outcome && !(res.trial && res.slot == slot))
            fail(r, "first boot after install: slot %d trial %d, expected trial of %d", res.slot,
                 res.trial, slot);
        e = ota_boot_confirm(&r->d->dev, res.slot, NULL);
        if (e == OTA_ERR_POWER_LOSS)
            return e;
        if (e != OTA_OK) {
            fail(r, "confirm: %s", ota_errname(e));
            return e;
        }
        note_seq(r);
        if ((e = boot(r, &res)) != OTA_OK)
            return e;
        break;
    case K_REVERT:
        for (k = 0; k <= attempts_cfg; k++) {
            if ((e = boot(r, &res)) != OTA_OK)
                return e;
            if (check_outcome && k < attempts_cfg && !(res.trial && res.slot == slot))
                fail(r, "trial boot %d: slot %d trial %d", k, res.slot, res.trial);
        }
        if (check_outcome && (!res.reverted || res.slot == slot))
            fail(r, "boot after %u unconfirmed trials did not revert", attempts_cfg);
        break;
    case K_REFUSED:
        if ((e = boot(r, &res)) != OTA_OK)
            return e;
        break;
    }
    if (check_outcome) {
        struct ota_boot_state st = fix_state(r->d);
        if (!fix_slot_holds(r->d, res.slot, sc->final_img))
            fail(r, "end: slot %d does not hold the expected image", res.slot);
        if (res.trial || st.pending != OTA_SLOT_NONE || st.confirmed != res.slot)
            fail(r, "end: state confirmed %d pending %d, running %d", st.confirmed, st.pending,
                 res.slot);
        if (fix_otp(r->d) != sc->final_otp)
            fail(r, "end: OTP counter %u, expected %u", fix_otp(r->d), sc->final_otp);
    }
    return OTA_OK;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

struct counts {
    unsigned cuts;        /* first cuts that fired */
    unsigned second_cuts; /* cuts during recovery that fired */
    unsigned indices;     /* operation indices covered */
    unsigned ops;         /* operations in the uncut scenario */
};

/* Reboot until a boot changes nothing (watchdog resets; a healthy firmware
 * also confirms a trial). Power losses armed by the caller are survived by
 * powering on again. Returns 1 when settled; *res is the last boot. */
static int settle(struct run *r, int healthy, struct counts *cnt, struct ota_boot_result *res)
{
    struct fix_dev *d = r->d;
    int k;
    ota_err e;

    for (k = 0; k < 16; k++) {
        struct ota_boot_state before = fix_state(d);
        e = boot(r, res);
        if (e == OTA_ERR_POWER_LOSS) {
            cnt->second_cuts++;
            ota_sim_power_on(&d->sim);
            continue;
        }
        if (e != OTA_OK)
            return 0;
        if (res->trial && healthy) {
            e = ota_boot_confirm(&d->dev, res->slot, NULL);
            if (e == OTA_ERR_POWER_LOSS) {
                cnt->second_cuts++;
                ota_sim_power_on(&d->sim);
                continue;
            }
            if (e != OTA_OK) {
                fail(r, "recovery confirm: %s", ota_errname(e));
                return 0;
            }
            note_seq(r);
            continue;
        }
        if (!res->trial && fix_state(d).seq == before.seq)
            return 1;
    }
    fail(r, "did not settle after 16 boots");
    return 0;
}

/* Replay with a cut at op `idx`, recover (optionally with a second cut at
 * one of the recovery's own operations), then retry the scenario. */
static void cut_run(struct run *r, struct fix_dev *work, struct fix_dev *scratch, uint64_t idx,
                    enum ota_sim_cut mode, int healthy, int second, struct counts *cnt)
{
    struct ota_boot_result res;
    uint64_t seed = mix(idx * 4 + (uint64_t)mode);
    ota_err e;

    ota_sim_copy(&work->sim, &r->sc->base->sim);
    r->d = work;
    r->max_otp = fix_otp(work);
    note_seq(r);
    snprintf(r->where, sizeof r->where, "cut %s op %llu", mode == OTA_SIM_CUT_TORN ? "torn" : "before",
             (unsigned long long)idx);
    ota_sim_arm_cut(&work->sim, mode, idx, seed);
    e = run_steps(r, 0);
    if (!work->sim.cut_fired) {
        fail(r, "cut did not fire (scenario returned %s)", ota_errname(e));
        return;
    }
    if (e != OTA_ERR_POWER_LOSS)
        fail(r, "scenario saw %s instead of the power loss", ota_errname(e));
    cnt->cuts++;
    ota_sim_power_on(&work->sim);

    if (second) {
        /* dry-run the recovery on a copy to count its flash operations,
         * then cut the real recovery at one of them */
        uint32_t saved_otp = r->max_otp, saved_seq = r->min_seq;
        uint64_t before, n;
        struct counts junk = {0, 0, 0, 0};
        ota_sim_copy(&scratch->sim, &work->sim);
        r->d = scratch;
        before = scratch->sim.ops;
        settle(r, healthy, &junk, &res);
        n = scratch->sim.ops - before;
        r->d = work;
        r->max_otp = saved_otp;
        r->min_seq = saved_seq;
        if (n)
            ota_sim_arm_cut(&work->sim, (seed & 2) ? OTA_SIM_CUT_TORN : OTA_SIM_CUT_BEFORE,
                            mix(seed) % n, mix(seed + 1));
    }
    if (!settle(r, healthy, cnt, &res))
        return;
    ota_sim_disarm(&work->sim);
    {
        struct ota_boot_state st = fix_state(work);
        if (st.pending != OTA_SLOT_NONE || st.confirmed != res.slot)
            fail(r, "settled state: confirmed %d pending %d, running %d", st.confirmed,
                 st.pending, res.slot);
    }
    /* retry what was interrupted: must end where the uncut run ends */
    snprintf(r->where + strlen(r->where), sizeof r->where - strlen(r->where), ", retry");
    if (run_steps(r, 1) != OTA_OK && !r->failed)
        fail(r, "retry did not complete");
    if (work->sim.violations)
        fail(r, "NOR rule broken by the core: %s", work->sim.violation);
}

static void prove(const char *geo, struct scenario *sc, struct fix_dev *work,
                  struct fix_dev *scratch, unsigned stride,
                  unsigned *total)
{
    struct run r;
    struct counts cnt = {0, 0, 0, 0};
    uint64_t before, n, idx;
    int before_fail = failures;

    memset(&r, 0, sizeof r);
    r.sc = sc;
    r.geo = geo;
    r.d = work;
    /* the uncut reference run, counting operations */
    ota_sim_copy(&work->sim, &sc->base->sim);
    r.max_otp = fix_otp(work);
    snprintf(r.where, sizeof r.where, "uncut");
    before = work->sim.ops;
    if (run_steps(&r, 1) != OTA_OK) {
        fail(&r, "uncut scenario failed");
        return;
    }
    n = work->sim.ops - before;
    cnt.ops = (unsigned)n;
    for (idx = 0; idx < n; idx++) {
        if (idx % stride)
            continue;
        cnt.indices++;
        for (int m = 0; m < 2; m++) {
            enum ota_sim_cut mode = m ? OTA_SIM_CUT_TORN : OTA_SIM_CUT_BEFORE;
            memset(&r, 0, sizeof r);
            r.sc = sc;
            r.geo = geo;
            cut_run(&r, work, scratch, idx, mode, (int)((idx + (uint64_t)m) & 1) && sc->kind != K_REVERT,
                    1, &cnt);
        }
    }
    printf("  %-11s %-34s ops %3u  indices %3u/%-3u  cuts %4u (+%3u during recovery)  %s\n", geo,
           sc->name, cnt.ops, cnt.indices, cnt.ops, cnt.cuts, cnt.second_cuts,
           failures == before_fail ? "ok" : "FAILED");
    *total += cnt.cuts + cnt.second_cuts;
}

/* Put the state log two records before the end of its sector, so the
 * scenarios cross a sector switch (erase of the other sector) too. */
static int fill_state_log(struct fix_dev *d)
{
    struct ota_boot_state st;
    struct ota_boot_state_info inf;
    for (uint32_t n = 0; n < 1u << 16; n++) {
        if (ota_boot_state_read(&d->sim.flash, &d->cfg.layout, &st, &inf) != OTA_OK)
            return -1;
        if (inf.next + 2 >= inf.records_per_sector)
            return 0;
        if (ota_boot_state_write(&d->sim.flash, &d->cfg.layout, &st) != OTA_OK)
            return -1;
    }
    return -1; /* the log never advanced */
}

static const struct {
    const char *geo;
    uint32_t sectors, slot_size;
} GEOS[] = {
    {"generic-4k", 16, 12288},
    {"nrf52", 16, 12288},
    {"spi-nor", 16, 12288},
    {"stm32f4", 6, 131072},
};

/* The proof over the first n_geos geometries with one crypto backend. */
static void proof(const struct ota_crypto *c, size_t n_geos, unsigned stride,
                  enum ota_sim_durability dur)
{
    unsigned total = 0;
    struct fix_image v1, v2, v3, low;
    ota_key *key = NULL;
    size_t gi;

    REQUIRE(ota_key_generate(&key) == OTA_OK);
    REQUIRE(fix_image_make(&v1, key, 1, 1, FIX_HW_ID, 8192, 1) == 0);
    REQUIRE(fix_image_make(&v2, key, 2, 1, FIX_HW_ID, 8192, 2) == 0);
    REQUIRE(fix_image_make(&v3, key, 3, 2, FIX_HW_ID, 8192, 3) == 0);
    REQUIRE(fix_image_make(&low, key, 4, 1, FIX_HW_ID, 8192, 4) == 0);
    printf("power-loss proof, %s backend (%s): cut before + torn at %s operation index,\n"
           "plus a second cut at a random operation of the recovery when it writes; %u trial "
           "attempts; %s\n",
           c->name, stride == 1 ? "FULL" : "SAMPLED", stride == 1 ? "EVERY" : "every k-th",
           attempts_cfg,
           dur == OTA_SIM_DURABLE_ON_SYNC
               ? "writes VOLATILE until sync (a cut loses or tears what was not synced; "
                 "syncs are cut points too)"
               : "every completed write durable");
    if (stride != 1)
        printf("  (sampled: every %u-th operation index only)\n", stride);

    for (gi = 0; gi < n_geos; gi++) {
        const struct ota_sim_geometry *g = ota_sim_geometry_find(GEOS[gi].geo);
        struct fix_dev *base5 = calloc(1, sizeof *base5);
        struct fix_dev *base1 = calloc(1, sizeof *base1), *base3 = calloc(1, sizeof *base3),
                       *work = calloc(1, sizeof *work), *scratch = calloc(1, sizeof *scratch);
        struct ota_boot_result res;
        struct scenario s1, s2, s3, s4, s5;
        struct run r;
        int slot;

        REQUIRE(g && base1 && base3 && base5 && work && scratch);
        /* base1: v1 installed at the factory in slot A, booted (OTP = 1) */
        REQUIRE(fix_dev_make(base1, g, GEOS[gi].sectors, GEOS[gi].slot_size, key, FIX_HW_ID,
                             attempts_cfg, c) == 0);
        REQUIRE(fix_install(base1, &v1, 1, 4096, &slot) == OTA_OK);
        REQUIRE(ota_boot(&base1->dev, &res) == OTA_OK && res.slot == 0);
        REQUIRE(fix_otp(base1) == 1);
        REQUIRE(fill_state_log(base1) == 0);
        REQUIRE(fix_dev_make(work, g, GEOS[gi].sectors, GEOS[gi].slot_size, key, FIX_HW_ID,
                             attempts_cfg, c) == 0);
        REQUIRE(fix_dev_make(scratch, g, GEOS[gi].sectors, GEOS[gi].slot_size, key, FIX_HW_ID,
                             attempts_cfg, c) == 0);
        /* the scenarios run on work/scratch (copies keep their mode) */
        REQUIRE(ota_sim_set_durability(&work->sim, dur) == OTA_OK);
        REQUIRE(ota_sim_set_durability(&scratch->sim, dur) == OTA_OK);
        REQUIRE(fix_dev_make(base3, g, GEOS[gi].sectors, GEOS[gi].slot_size, key, FIX_HW_ID,
                             attempts_cfg, c) == 0);

        s1 = (struct scenario){"install+trial+confirm (same ctr)", K_CONFIRM, base1, &v2,
                               {&v1, &v2}, 2, &v2, 1};
        s2 = (struct scenario){"install+trial, never confirmed", K_REVERT, base1, &v2,
                               {&v1, &v2}, 2, &v1, 1};
        s4 = (struct scenario){"install+confirm raising OTP 1->2", K_CONFIRM, base1, &v3,
                               {&v1, &v3}, 2, &v3, 2};
        /* base3: after s4 (A = v1, B = v3 confirmed, OTP = 2) */
        ota_sim_copy(&base3->sim, &base1->sim);
        memset(&r, 0, sizeof r);
        r.sc = &s4;
        r.geo = g->name;
        r.d = base3;
        r.max_otp = 1;
        snprintf(r.where, sizeof r.where, "base3 setup");
        REQUIRE(run_steps(&r, 1) == OTA_OK && !r.failed);
        s3 = (struct scenario){"install of lower counter (refused)", K_REFUSED, base3, &low,
                               {&v3}, 1, &v3, 2};

        /* base5: base1 + v2 installed and pending, never booted */
        REQUIRE(fix_dev_make(base5, g, GEOS[gi].sectors, GEOS[gi].slot_size, key, FIX_HW_ID,
                             attempts_cfg, c) == 0);
        ota_sim_copy(&base5->sim, &base1->sim);
        REQUIRE(fix_install(base5, &v2, 0, 4096, &slot) == OTA_OK && slot == 1);
        s5 = (struct scenario){"re-install over a pending update", K_CONFIRM, base5, &v3,
                               {&v1, &v2, &v3}, 3, &v3, 2};

        prove(g->name, &s1, work, scratch, stride, &total);
        prove(g->name, &s2, work, scratch, stride, &total);
        prove(g->name, &s3, work, scratch, stride, &total);
        prove(g->name, &s4, work, scratch, stride, &total);
        prove(g->name, &s5, work, scratch, stride, &total);

        ota_sim_free(&base1->sim);
        ota_sim_free(&base5->sim);
        free(base5);
        ota_sim_free(&base3->sim);
        ota_sim_free(&work->sim);
        ota_sim_free(&scratch->sim);
        free(scratch);
        free(base1);
        free(base3);
        free(work);
    }
    printf("power-loss proof, %s: %u power cuts survived, %d failures so far\n", c->name, total,
           failures);
    CHECK_EQ(failures, 0);
    fix_image_free(&v1);
    fix_image_free(&v2);
    fix_image_free(&v3);
    fix_image_free(&low);
    ota_key_free(key);
}

/* Every index, every geometry (OpenSSL backend: fast). */
static void test_power_loss_every_op(void)
{
    const char *env = getenv("OTA_POWER_LOSS_STRIDE");
    proof(ota_crypto_openssl(), sizeof GEOS / sizeof GEOS[0],
          env && atoi(env) > 0 ? (unsigned)atoi(env) : 1, OTA_SIM_DURABLE_AT_ONCE);
}

/* The same proof with writes volatile until sync, on the two geometries with
 * small sectors (a chip with a write buffer, a block device behind a cache). */
static void test_power_loss_volatile_writes(void)
{
    const char *env = getenv("OTA_POWER_LOSS_STRIDE");
    proof(ota_crypto_openssl(), 2, env && atoi(env) > 0 ? (unsigned)atoi(env) : 1,
          OTA_SIM_DURABLE_ON_SYNC);
}

/* The same proof through the mbedTLS backend (what runs on an MCU), every
 * 3rd index on one geometry: its ECDSA is ~17x slower. */
static void test_power_loss_mbedtls_sampled(void)
{
    proof(ota_crypto_mbedtls(), 1, 3, OTA_SIM_DURABLE_AT_ONCE);
}

int main(void)
{
    RUN(test_power_loss_every_op);
    RUN(test_power_loss_volatile_writes);
    RUN(test_power_loss_mbedtls_sampled);
    return test_summary();
}
