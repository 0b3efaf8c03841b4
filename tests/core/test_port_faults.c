// SPDX-License-Identifier: Apache-2.0
/*
 * tests/core/test_port_faults.c - every port failure is reported, never
 * swallowed, and never leaves the device worse than before.
 *
 * The core talks to the hardware through ports: the flash HAL (read,
 * program, erase, sync), the crypto port (SHA-256, P-256 verify) and the
 * encryption port (AES-CTR, ECDH, HKDF, HMAC). Real ports fail (a bus error,
 * a busy crypto accelerator) in ways the simulator never does. Here each
 * port is wrapped so that its call number N fails once (flash:
 * OTA_ERR_IO, crypto: OTA_ERR_CRYPTO), for every N over a whole operation
 * until the operation completes without reaching N:
 *   - the update engine (begin, writes with checkpoints, finish) for a full
 *     payload (from byte 0 and resumed), a delta, an encrypted full image
 *     and a delta sealed for the device;
 *   - the bootloader (stage 0 + boot) with an update pending, and the
 *     confirmation of its trial (boot state + OTP counter);
 *   - the installer the factory uses (ota_install_*) and provisioning.
 * Asserted for every N: the first error an API call returns is exactly the
 * injected one (the failure is reported as what it was, not as a bad image
 * or a refused update), the engine stays failed afterwards, and, with the
 * port healthy again, whatever the boot state vouches for verifies
 * (tests/sim/vouched.h) and the device boots a verified v1 or v2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/delta.h"
#include "ota/update.h"
#include "../sim/vouched.h"
#include "../test.h"
#include "fixture.h"

#define HW "hub-faults"
#define DEVICE "dev-faults"
#define NOW 1800000000ull

static ota_key *g_fw, *g_srv, *g_dev;
static struct ota_pubkey g_fw_pub, g_srv_pub;
static struct ota_enc_privkey g_dev_d;
static const struct ota_crypto *g_c;
static const struct ota_crypto_enc *g_ce;

/* ---- the failing ports ------------------------------------------------ */

/* Which port fails, at which call (counted from 0 since the last arm). */
enum port { P_NONE, P_FLASH, P_CRYPTO, P_ENC };
static enum port g_port;
static uint64_t g_calls, g_fail_at;
static int g_fired;
static char g_what[64]; /* the call that failed */

static void arm(enum port p, uint64_t n)
{
    g_port = p;
    g_calls = 0;
    g_fail_at = n;
    g_fired = 0;
    snprintf(g_what, sizeof g_what, "call %llu", (unsigned long long)n);
}

static int fail_now(enum port p)
{
    if (g_port != p || g_fired)
        return 0;
    if (g_calls++ != g_fail_at)
        return 0;
    g_fired = 1;
    return 1;
}

struct faulty_flash {
    struct ota_flash f;
    const struct ota_flash *real;
};

static ota_err ff_read(void *ctx, uint32_t off, void *buf, size_t len)
{
    const struct faulty_flash *ff = ctx;
    if (fail_now(P_FLASH)) {
        snprintf(g_what, sizeof g_what, "read at %u, %zu bytes", (unsigned)off, len);
        return OTA_ERR_IO;
    }
    return ff->real->read(ff->real->ctx, off, buf, len);
}

static ota_err ff_prog(void *ctx, uint32_t off, const void *buf, size_t len)
{
    const struct faulty_flash *ff = ctx;
    if (fail_now(P_FLASH)) {
        snprintf(g_what, sizeof g_what, "program at %u, %zu bytes", (unsigned)off, len);
        return OTA_ERR_IO;
    }
    return ff->real->prog(ff->real->ctx, off, buf, len);
}

static ota_err ff_erase(void *ctx, uint32_t sector)
{
    const struct faulty_flash *ff = ctx;
    if (fail_now(P_FLASH)) {
        snprintf(g_what, sizeof g_what, "erase of sector %u", (unsigned)sector);
        return OTA_ERR_IO;
    }
    return ff->real->erase(ff->real->ctx, sector);
}

static ota_err ff_sync(void *ctx)
{
    const struct faulty_flash *ff = ctx;
    if (fail_now(P_FLASH)) {
        snprintf(g_what, sizeof g_what, "sync");
        return OTA_ERR_IO;
    }
    return ff->real->sync(ff->real->ctx);
}

static void faulty_flash_wrap(struct faulty_flash *ff, const struct ota_flash *real)
{
    ff->f = *real;
    ff->f.read = ff_read;
    ff->f.prog = ff_prog;
    ff->f.erase = ff_erase;
    ff->f.sync = real->sync ? ff_sync : NULL;
    ff->f.ctx = ff;
    ff->real = real;
}

static ota_err fc_init(ota_sha256_ctx *c)
{
    return fail_now(P_CRYPTO) ? OTA_ERR_CRYPTO : g_c->sha256_init(c);
}

static ota_err fc_update(ota_sha256_ctx *c, const void *d, size_t n)
{
    return fail_now(P_CRYPTO) ? OTA_ERR_CRYPTO : g_c->sha256_update(c, d, n);
}

static ota_err fc_final(ota_sha256_ctx *c, uint8_t out[OTA_SHA256_LEN])
{
    return fail_now(P_CRYPTO) ? OTA_ERR_CRYPTO : g_c->sha256_final(c, out);
}

static ota_err fc_verify(const uint8_t pk[OTA_P256_PUBKEY_LEN], const uint8_t dg[OTA_SHA256_LEN],
                         const uint8_t *sig, size_t sig_len)
{
    return fail_now(P_CRYPTO) ? OTA_ERR_CRYPTO : g_c->p256_verify(pk, dg, sig, sig_len);
}

static struct ota_crypto g_faulty_crypto = {"faulty", fc_init, fc_update, fc_final, fc_verify};

static ota_err fe_aes(const uint8_t *key, size_t key_len, const uint8_t ctr[OTA_AES_BLOCK_LEN],
                      const uint8_t *in, uint8_t *out, size_t len)
{
    return fail_now(P_ENC) ? OTA_ERR_CRYPTO : g_ce->aes_ctr(key, key_len, ctr, in, out, len);
}

static ota_err fe_ecdh(const uint8_t priv[OTA_P256_PRIVKEY_LEN],
                       const uint8_t peer[OTA_P256_PUBKEY_LEN],
                       uint8_t shared[OTA_P256_SHARED_LEN])
{
    return fail_now(P_ENC) ? OTA_ERR_CRYPTO : g_ce->ecdh_p256(priv, peer, shared);
}

static ota_err fe_hkdf(const uint8_t *salt, size_t salt_len, const uint8_t *ikm, size_t ikm_len,
                       const uint8_t *info, size_t info_len, uint8_t *okm, size_t okm_len)
{
    return fail_now(P_ENC) ? OTA_ERR_CRYPTO
                           : g_ce->hkdf_sha256(salt, salt_len, ikm, ikm_len, info, info_len,
                                               okm, okm_len);
}

static ota_err fe_hmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                       uint8_t out[OTA_SHA256_LEN])
{
    return fail_now(P_ENC) ? OTA_ERR_CRYPTO : g_ce->hmac_sha256(key, key_len, data, len, out);
}

static struct ota_crypto_enc g_faulty_enc = {"faulty", fe_aes, fe_ecdh, fe_hkdf, fe_hmac};

static ota_err injected(enum port p)
{
    return p == P_FLASH ? OTA_ERR_IO : OTA_ERR_CRYPTO;
}

static const char *port_name(enum port p)
{
    return p == P_FLASH ? "flash" : p == P_CRYPTO ? "crypto" : "encryption";
}

/* ---- fixtures ---------------------------------------------------------- */

/* One scenario: the device before the operation, and what is offered. */
struct scenario {
    const char *name;
    struct fix_dev base;        /* the device state the operation starts from */
    const uint8_t *payload;
    size_t payload_len;
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    size_t man_len;
    int encrypted;
    int resume;                    /* resume a half download checkpointed in base */
    struct ota_update_progress progress;
    struct cfx_mem_payload at;     /* the payload, for payload_at */
};

static void update_cfg(struct ota_update_cfg *uc, const struct ota_boot_dev *bd,
                       const struct scenario *s, const struct ota_crypto_enc *enc)
{
    memset(uc, 0, sizeof *uc);
    uc->dev = bd;
    uc->server_keys = &g_srv_pub;
    uc->n_server_keys = 1;
    uc->device_id = DEVICE;
    uc->running_slot = 0;
    uc->enc_key = &g_dev_d;
    uc->enc = enc;
    uc->payload_at.read = cfx_payload_at;
    uc->payload_at.ctx = (void *)&s->at;
}

/*
 * Begin (resuming when the scenario says so), write the payload in uneven
 * chunks with a checkpoint every few, finish. Returns the first error; *calls
 * counts the API calls that returned OK before it.
 */
static uint32_t g_begin_offset; /* where the last run_update's begin continued */
static ota_err g_ckpt_err;       /* the first checkpoint that failed in it */

static ota_err run_update(const struct ota_boot_dev *bd, const struct scenario *s,
                          const struct ota_crypto_enc *enc, struct ota_update *u,
                          size_t stop_at, struct ota_update_progress *ckpt)
{
    struct ota_update_cfg uc;
    struct ota_diag d;
    size_t off, k = 0;
    ota_err e;
    update_cfg(&uc, bd, s, enc);
    g_ckpt_err = OTA_OK;
    e = ota_update_begin(u, &uc, s->man, s->man_len, s->resume ? &s->progress : NULL, &d);
    if (e)
        return e;
    off = g_begin_offset = ota_update_offset(u);
    while (off < stop_at) {
        size_t n = 700 + (k * 1237u) % 3000u;
        if (n > stop_at - off)
            n = stop_at - off;
        if ((e = ota_update_write(u, s->payload + off, n)) != OTA_OK)
            return e;
        off += n;
        /* a failed checkpoint is reported and costs only the resume point:
         * the download goes on (as ota-agent does) */
        if (++k % 4 == 0 && (e = ota_update_checkpoint(u, ckpt)) != OTA_OK && !g_ckpt_err)
            g_ckpt_err = e;
    }
    if (stop_at < s->payload_len)
        return ota_update_checkpoint(u, ckpt);
    return ota_update_finish(u, NULL);
}

/* With healthy ports: what is marked verifies, and v1 or v2 boots. */
static int device_safe(struct fix_dev *d, char *why, size_t n)
{
    struct ota_boot_result res;
    ota_err e;
    if (sim_vouched_check(&d->dev, why, n))
        return 0;
    e = ota_boot(&d->dev, &res);
    if (e || res.slot < 0 || res.info.hdr.version.major < 1 || res.info.hdr.version.major > 2) {
        snprintf(why, n, "boots slot %d (%s, v%d)", res.slot, ota_errname(e),
                 res.slot >= 0 ? res.info.hdr.version.major : 0);
        return 0;
    }
    return 1;
}

/* A copy of the scenario's device, its boot core on the failing ports. */
struct run_dev {
    struct fix_dev d;
    struct faulty_flash ff;
    struct ota_boot_dev fbd;
};

static void run_dev_init(struct run_dev *r, const struct fix_dev *base)
{
    memset(&r->d, 0, sizeof r->d);
    if (ota_sim_init_geometry(&r->d.sim, ota_sim_geometry_find("generic-4k"), 64) ||
        ota_sim_copy(&r->d.sim, &base->sim))
        abort();
    r->d.cfg = base->cfg;
    fix_attach(&r->d, g_c);
    faulty_flash_wrap(&r->ff, &r->d.sim.flash);
    r->fbd = r->d.dev;
    r->fbd.flash = &r->ff.f;
    r->fbd.crypto = &g_faulty_crypto;
}

/* ---- the loops --------------------------------------------------------- */

static void update_faults(struct scenario *s, enum port p)
{
    uint64_t n;
    unsigned failed = 0, reported = 0, restarted = 0;
    for (n = 0;; n++) {
        struct run_dev r;
        struct ota_update *u = calloc(1, sizeof *u);
        struct ota_update_progress ck;
        char why[256];
        ota_err e;
        run_dev_init(&r, &s->base);
        arm(p, n);
        e = run_update(&r.fbd, s, &g_faulty_enc, u, s->payload_len, &ck);
        int fired = g_fired;
        g_port = P_NONE;
        if (!fired) {
            CHECK_EQ(e, OTA_OK); /* the operation needed fewer than n calls */
            free(u);
            ota_sim_free(&r.d.sim);
            break;
        }
        if (e == OTA_OK && g_ckpt_err == injected(p)) {
            struct ota_boot_state st;
            reported++; /* by the checkpoint; the update still completed */
            if (ota_boot_state_read(&r.d.sim.flash, &r.d.cfg.layout, &st, NULL) ||
                st.pending != 1) {
                fprintf(stderr, "%s: checkpoint failed at %s call %llu: not pending after\n",
                        s->name, port_name(p), (unsigned long long)n);
                failed++;
            }
        } else if (e == OTA_OK && s->resume && g_begin_offset == 0) {
            /* the failure hit the re-verification of the resumed prefix:
             * by contract the engine then starts over at 0 (and succeeds) */
            restarted++;
        } else if (e != injected(p)) {
            fprintf(stderr, "%s: %s call %llu (%s) failed: the engine returned %s\n", s->name,
                    port_name(p), (unsigned long long)n, g_what, ota_errname(e));
            failed++;
        } else {
            reported++;
            /* sticky: the engine does not go on after a port failure */
            if (e != OTA_OK && ota_update_write(u, s->payload, 1) == OTA_OK)
                failed++;
        }
        if (!device_safe(&r.d, why, sizeof why)) {
            fprintf(stderr, "%s: %s call %llu failed: %s\n", s->name, port_name(p),
                    (unsigned long long)n, why);
            failed++;
        }
        free(u);
        ota_sim_free(&r.d.sim);
    }
    printf("     %s, %s port: %llu calls, each failed once: %u reported as %s, %u made the "
           "resume start over\n", s->name, port_name(p), (unsigned long long)n, reported,
           ota_errname(injected(p)), restarted);
    CHECK_EQ(failed, 0);
    CHECK(reported > 0);
}

static void scenario_free(struct scenario *s)
{
    ota_sim_free(&s->base.sim);
}

static uint8_t *g_v1, *g_v2, *g_v2e, *g_patch, *g_sealed;
static size_t g_v1_len, g_v2_len, g_v2e_len, g_patch_len, g_sealed_len;

static void scenario_make(struct scenario *s, const char *name, const uint8_t *target,
                          size_t target_len, const uint8_t *payload, size_t payload_len,
                          int delta, int resume)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    cfx_provision(&s->base, g_c, &g_fw_pub, HW);
    cfx_factory_install(&s->base, g_v1, g_v1_len, NULL);
    s->payload = payload;
    s->payload_len = payload_len;
    s->at.p = payload;
    s->at.len = payload_len;
    s->man_len = cfx_offer(g_srv, g_c, DEVICE, HW, NOW, target, target_len, payload, payload_len,
                           delta ? g_v1 : NULL, g_v1_len, s->man);
    if (resume) {
        /* half the payload written and checkpointed, then a restart */
        struct ota_update *u = calloc(1, sizeof *u);
        if (run_update(&s->base.dev, s, g_ce, u, payload_len / 2, &s->progress) != OTA_OK ||
            s->progress.offset == 0)
            abort();
        s->resume = 1;
        free(u);
    }
}

static void test_update_engine(void)
{
    static struct scenario s;
    static const enum port ports[] = {P_FLASH, P_CRYPTO};
    for (int k = 0; k < 2; k++) {
        scenario_make(&s, "full update", g_v2, g_v2_len, g_v2, g_v2_len, 0, 0);
        update_faults(&s, ports[k]);
        scenario_free(&s);
        scenario_make(&s, "full update, resumed", g_v2, g_v2_len, g_v2, g_v2_len, 0, 1);
        update_faults(&s, ports[k]);
        scenario_free(&s);
        scenario_make(&s, "delta update", g_v2, g_v2_len, g_patch, g_patch_len, 1, 0);
        update_faults(&s, ports[k]);
        scenario_free(&s);
    }
    static const enum port eports[] = {P_FLASH, P_CRYPTO, P_ENC};
    for (int k = 0; k < 3; k++) {
        scenario_make(&s, "encrypted full update", g_v2e, g_v2e_len, g_v2e, g_v2e_len, 0, 0);
        s.encrypted = 1;
        update_faults(&s, eports[k]);
        scenario_free(&s);
        /* a delta to the encrypted v2's plaintext, sealed for the device */
        scenario_make(&s, "sealed delta update", g_v2e, g_v2e_len, g_sealed, g_sealed_len, 1, 0);
        s.encrypted = 1;
        update_faults(&s, eports[k]);
        scenario_free(&s);
    }
}

/* The device after a complete update of v2: pending in slot B. */
static void pending_device(struct fix_dev *d)
{
    static struct scenario s;
    struct ota_update *u = calloc(1, sizeof *u);
    struct ota_update_progress ck;
    scenario_make(&s, "pending", g_v2, g_v2_len, g_v2, g_v2_len, 0, 0);
    if (run_update(&s.base.dev, &s, g_ce, u, s.payload_len, &ck) != OTA_OK)
        abort();
    free(u);
    *d = s.base;
    fix_attach(d, g_c);
}

/* Stage 0 + boot of `dev` with each port call failed once: reported, or
 * booted around (what runs verifies); then safe with a healthy port. With
 * no failure it boots `want_slot` (on trial or not). */
static void boot_faults(const char *what, const struct fix_dev *dev, enum port p, int want_slot,
                        int want_trial)
{
    unsigned failed = 0, reported = 0, booted = 0;
    uint64_t n;
    for (n = 0;; n++) {
        struct run_dev r;
        struct ota_boot_result res;
        char why[256];
        ota_err e;
        run_dev_init(&r, dev);
        arm(p, n);
        e = ota_boot_stage0(&r.fbd, NULL);
        if (e == OTA_OK)
            e = ota_boot(&r.fbd, &res);
        int fired = g_fired;
        arm(P_NONE, 0);
        if (!fired) {
            CHECK(e == OTA_OK && res.slot == want_slot && res.trial == want_trial);
            ota_sim_free(&r.d.sim);
            break;
        }
        if (e == injected(p)) {
            reported++;
        } else if (e == OTA_OK && res.slot >= 0) {
            /* the bootloader went around the failure (a trial attempt that
             * could not be counted is not run): what it runs must verify */
            struct ota_image_info info;
            booted++;
            if (ota_boot_verify_slot(&r.d.dev, &r.d.cfg, res.slot, 0, &info, NULL)) {
                fprintf(stderr, "%s: %s call %llu failed: runs slot %d, which does not "
                        "verify\n", what, port_name(p), (unsigned long long)n, res.slot);
                failed++;
            }
        } else {
            fprintf(stderr, "%s: %s call %llu failed: %s, slot %d\n", what, port_name(p),
                    (unsigned long long)n, ota_errname(e), res.slot);
            failed++;
        }
        if (!device_safe(&r.d, why, sizeof why)) {
            fprintf(stderr, "%s: %s call %llu failed: %s\n", what, port_name(p),
                    (unsigned long long)n, why);
            failed++;
        }
        ota_sim_free(&r.d.sim);
    }
    printf("     %s, %s port: %llu calls, each failed once: %u reported, %u booted a verified "
           "image around it\n", what, port_name(p), (unsigned long long)n, reported, booted);
    CHECK_EQ(failed, 0);
    CHECK(reported > 0);
}

static void test_boot_and_confirm(void)
{
    struct fix_dev pend, plain;
    static const enum port ports[] = {P_FLASH, P_CRYPTO};
    pending_device(&pend);
    /* the factory state: v1 confirmed, its OTP counter not raised yet (the
     * first boot completes it) */
    cfx_provision(&plain, g_c, &g_fw_pub, HW);
    {
        struct ota_install ins;
        if (ota_install_begin(&ins, &plain.dev, (uint32_t)g_v1_len, NULL) ||
            ota_install_write(&ins, g_v1, g_v1_len) || ota_install_finish(&ins, 0, NULL, NULL))
            abort();
        struct ota_boot_state st;
        if (ota_boot_state_read(&plain.sim.flash, &plain.cfg.layout, &st, NULL))
            abort();
        st.confirmed = st.pending, st.pending = OTA_SLOT_NONE, st.attempts = 0;
        if (ota_boot_state_write(&plain.sim.flash, &plain.cfg.layout, &st))
            abort();
    }
    for (int k = 0; k < 2; k++) {
        enum port p = ports[k];
        unsigned failed = 0, reported = 0;
        uint64_t n;
        boot_faults("stage 0 + trial boot", &pend, p, 1, 1);
        boot_faults("stage 0 + boot of the confirmed v1", &plain, p, 0, 0);

        /* confirming the trial (boot state record, OTP counter raised) */
        struct fix_dev trial;
        struct ota_boot_result res;
        trial = pend;
        memset(&trial.sim, 0, sizeof trial.sim);
        if (ota_sim_init_geometry(&trial.sim, ota_sim_geometry_find("generic-4k"), 64) ||
            ota_sim_copy(&trial.sim, &pend.sim))
            abort();
        fix_attach(&trial, g_c);
        REQUIRE(ota_boot(&trial.dev, &res) == OTA_OK && res.slot == 1 && res.trial);
        failed = reported = 0;
        for (n = 0;; n++) {
            struct run_dev r;
            struct ota_otp_counter otp;
            char why[256];
            ota_err e;
            run_dev_init(&r, &trial);
            arm(p, n);
            e = ota_boot_confirm(&r.fbd, 1, NULL);
            int fired = g_fired;
            arm(P_NONE, 0);
            if (!fired) {
                CHECK_EQ(e, OTA_OK);
                CHECK(ota_otp_read_counter(&r.d.sim.flash, &r.d.cfg.layout, &otp) == OTA_OK &&
                      otp.value == 2);
                ota_sim_free(&r.d.sim);
                break;
            }
            if (e != injected(p)) {
                fprintf(stderr, "confirm: %s call %llu failed: %s\n", port_name(p),
                        (unsigned long long)n, ota_errname(e));
                failed++;
            } else {
                reported++;
            }
            if (!device_safe(&r.d, why, sizeof why)) {
                fprintf(stderr, "confirm: %s call %llu failed: %s\n", port_name(p),
                        (unsigned long long)n, why);
                failed++;
            }
            ota_sim_free(&r.d.sim);
        }
        printf("     confirm, %s port: %llu calls, each failed once: %u reported as %s\n",
               port_name(p), (unsigned long long)n, reported, ota_errname(injected(p)));
        CHECK_EQ(failed, 0);
        ota_sim_free(&trial.sim);
    }
    ota_sim_free(&pend.sim);
    ota_sim_free(&plain.sim);
}

/* The factory installer (ota_install_*), confirmed in slot A. */
static ota_err op_install(const struct ota_boot_dev *bd, const struct fix_dev *base)
{
    struct ota_install ins;
    ota_err e;
    (void)base;
    e = ota_install_begin(&ins, bd, (uint32_t)g_v1_len, NULL);
    for (size_t off = 0; !e && off < g_v1_len; off += 1000)
        e = ota_install_write(&ins, g_v1 + off, g_v1_len - off < 1000 ? g_v1_len - off : 1000);
    return e ? e : ota_install_finish(&ins, 1, NULL, NULL);
}

/* Provisioning (chip erase, bootloader region, OTP hash, first boot-state
 * record) of a blank device. */
static ota_err op_provision(const struct ota_boot_dev *bd, const struct fix_dev *base)
{
    return ota_boot_provision(bd, &base->cfg, NULL);
}

/* op on a copy of base with each call of port p failed once: always
 * reported as the injected error; without a failure it succeeds and the
 * device passes stage 0. */
static void op_faults(const char *what, const struct fix_dev *base, enum port p,
                      ota_err (*op)(const struct ota_boot_dev *, const struct fix_dev *))
{
    unsigned failed = 0, reported = 0;
    uint64_t n;
    for (n = 0;; n++) {
        struct run_dev r;
        ota_err e;
        run_dev_init(&r, base);
        arm(p, n);
        e = op(&r.fbd, base);
        int fired = g_fired;
        arm(P_NONE, 0);
        if (!fired) {
            CHECK_EQ(e, OTA_OK);
            CHECK_EQ(ota_boot_stage0(&r.d.dev, NULL), OTA_OK);
            ota_sim_free(&r.d.sim);
            break;
        }
        if (e == injected(p)) {
            reported++;
        } else {
            fprintf(stderr, "%s: %s call %llu failed: %s\n", what, port_name(p),
                    (unsigned long long)n, ota_errname(e));
            failed++;
        }
        ota_sim_free(&r.d.sim);
    }
    printf("     %s, %s port: %llu calls, each failed once: %u reported\n", what, port_name(p),
           (unsigned long long)n, reported);
    CHECK_EQ(failed, 0);
    CHECK(reported > 0);
}

static void test_installer(void)
{
    struct fix_dev base;
    cfx_provision(&base, g_c, &g_fw_pub, HW);
    for (int k = 0; k < 2; k++) {
        op_faults("factory install", &base, k ? P_CRYPTO : P_FLASH, op_install);
        op_faults("provisioning", &base, k ? P_CRYPTO : P_FLASH, op_provision);
    }
    ota_sim_free(&base.sim);
}

int main(void)
{
    uint8_t *p1, *p2;
    g_c = ota_crypto_openssl();
    g_ce = ota_crypto_enc_openssl();
    if (ota_key_generate(&g_fw) || ota_key_generate(&g_srv) || ota_key_generate(&g_dev) ||
        ota_key_private_scalar(g_dev, &g_dev_d))
        return 2;
    ota_key_pubkey(g_fw, &g_fw_pub);
    ota_key_pubkey(g_srv, &g_srv_pub);
    p1 = cfx_payload(20000, 0);
    p2 = cfx_payload(20000, 30);
    g_v1 = cfx_image(g_fw, 1, HW, p1, 20000, NULL, 0, &g_v1_len);
    g_v2 = cfx_image(g_fw, 2, HW, p2, 20000, NULL, 0, &g_v2_len);
    g_v2e = cfx_image(g_fw, 2, HW, p2, 20000, g_dev, 0, &g_v2e_len);
    if (ota_delta_create(g_v1, g_v1_len, g_v2, g_v2_len, &g_patch, &g_patch_len, NULL))
        return 2;
    {
        /* build side of an encrypted delta: over the plaintexts, sealed */
        uint8_t *plain = malloc(g_v2e_len), *patch = NULL;
        size_t plen = 0;
        char err[256];
        memcpy(plain, g_v2e, g_v2e_len);
        if (ota_image_decrypt(plain, g_v2e_len, g_dev, NULL) ||
            ota_delta_create(g_v1, g_v1_len, plain, g_v2e_len, &patch, &plen, NULL) ||
            ota_payload_seal(patch, plen, g_dev, 128, &g_sealed, &g_sealed_len, err, sizeof err))
            return 2;
        free(plain);
        free(patch);
    }
    RUN(test_update_engine);
    RUN(test_boot_and_confirm);
    RUN(test_installer);
    free(p1);
    free(p2);
    free(g_v1);
    free(g_v2);
    free(g_v2e);
    free(g_patch);
    free(g_sealed);
    ota_key_free(g_fw);
    ota_key_free(g_srv);
    ota_key_free(g_dev);
    return test_summary();
}
