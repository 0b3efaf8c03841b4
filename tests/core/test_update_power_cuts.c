// SPDX-License-Identifier: Apache-2.0
/*
 * tests/core/test_update_power_cuts.c - the whole device-side update chain under power cuts,
 * on the project's NOR flash simulator (src/sim, torn cuts with random
 * partial programs and partial erases): update engine download + install,
 * reboot, trial boot, self-test, confirm (OTP raise). For every flash
 * operation of that chain, both cut models and several seeds (which also
 * vary how the payload is chunked), cut power once, then keep rebooting and
 * resuming as a device would until it settles. Asserted after every boot:
 * only v1 or v2 ever runs, verified; once the pending mark is durable the
 * device never falls back to v1 unless its trial attempts ran out; at the
 * end it runs v2, confirmed, OTP counter 2, and the simulator saw no NOR
 * rule violation. Run with a clear v2 and with v2 encrypted for the device
 * (docs/encrypted-images.md: key opened through payload_at, body decrypted
 * while written, prefix re-encrypted when a download resumes); each loop runs
 * with every completed write durable, and with writes volatile until sync (a
 * cut then also loses or tears what was not synced, and syncs are cut
 * points); after every cut, nothing may be marked pending/confirmed/OTP that
 * is not durable (tests/sim/vouched.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/boot.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/image_enc.h"
#include "ota/manifest_sign.h"
#include "ota/sim.h"
#include "ota/update.h"
#include "../sim/vouched.h"
#include "../test.h"
#include "fixture.h"

#define HW "hub-sim"
#define NOW CFX_NOW

static ota_key *g_fw, *g_srv;
static struct ota_pubkey g_fw_pub, g_srv_pub;
static const struct ota_crypto *g_c;
static uint8_t *g_v1, *g_v2;
static size_t g_v1_len, g_v2_len;
static uint8_t g_man[OTA_MANIFEST_MAX_LEN];
static size_t g_man_len;
static ota_key *g_dev;               /* the device's decryption key */
static struct ota_enc_privkey g_dev_d;
static int g_encrypted;              /* this round installs an encrypted v2 */

static uint8_t *make_image(int major, uint32_t payload_len, int edits, int encrypt,
                           size_t *len)
{
    uint8_t *payload = cfx_payload(payload_len, edits);
    uint8_t *img = cfx_image(g_fw, major, HW, payload, payload_len, encrypt ? g_dev : NULL, 0,
                             len);
    free(payload);
    return img;
}

/* Factory state: provisioned, v1 confirmed in slot A, OTP sector protected. */
static void factory(struct fix_dev *d)
{
    cfx_provision(d, g_c, &g_fw_pub, HW);
    cfx_factory_install(d, g_v1, g_v1_len, NULL);
    ota_sim_protect(&d->sim, d->cfg.layout.otp_off / d->sim.flash.sector_size, 1);
}

/* What one case observed. */
struct outcome {
    int cut_fired;
    int failures;
    unsigned boots;
};

#define FAILF CFX_CUT_FAILF

/*
 * Run the device from the factory state with a cut armed at operation n
 * (n == 0: no cut). *ops receives the operations of an uncut run.
 */
static void run_case(const struct fix_dev *base, uint64_t n, enum ota_sim_cut mode,
                     enum ota_sim_durability dur, uint64_t seed, struct outcome *out,
                     uint64_t *ops)
{
    struct fix_dev d;
    struct ota_update u;
    struct ota_update_cfg uc;
    struct ota_update_progress saved;
    struct ota_diag diag;
    int have_saved = 0, running = -1, pending_durable = 0, confirmed_v2 = 0, iter;
    uint64_t start;
    uint32_t x = (uint32_t)(seed * 2654435761u + 17);
    struct cfx_mem_payload v2_at = {g_v2, g_v2_len}; /* the key TLV, for encrypted v2 */

    memset(out, 0, sizeof *out);
    cfx_case_device(&d, base, dur, g_c);
    start = d.sim.ops;
    if (n)
        ota_sim_arm_cut(&d.sim, mode, n - 1, seed);
    cfx_update_cfg(&uc, &d, &g_srv_pub);
    if (g_encrypted) {
        uc.enc_key = &g_dev_d;
        uc.enc = ota_crypto_enc_openssl();
        uc.payload_at.read = cfx_payload_at;
        uc.payload_at.ctx = &v2_at;
    }

    for (iter = 0; iter < 12 && !confirmed_v2; iter++) {
        struct ota_boot_result res;
        char why[200];
        ota_err e;

        /* whatever survived the last cut: nothing marked that is not durable */
        if (sim_vouched_check(&d.dev, why, sizeof why))
            FAILF("%s", why);
        /* boot */
        e = ota_boot(&d.dev, &res);
        out->boots++;
        if (e == OTA_ERR_POWER_LOSS) {
            out->cut_fired = 1;
            ota_sim_power_on(&d.sim);
            continue;
        }
        if (e || res.slot < 0)
            FAILF("boot failed: %s (recovery %s)", ota_errname(e), ota_errname(res.reason));
        running = res.slot;
        if (res.info.hdr.version.major != (running == 0 ? 1 : 2))
            FAILF("slot %d runs v%u", running, res.info.hdr.version.major);
        if (pending_durable && running == 0 && !res.reverted)
            FAILF("the pending v2 trial vanished: boot runs v1 without a revert "
                  "(state seq %u confirmed %u pending %u attempts %u)",
                  res.state.seq, res.state.confirmed, res.state.pending, res.state.attempts);
        if (running == 1) {
            /* v2 on trial (or confirmed): self-test passes, confirm */
            e = ota_boot_confirm(&d.dev, 1, &diag);
            if (e == OTA_ERR_POWER_LOSS) {
                out->cut_fired = 1;
            ota_sim_power_on(&d.sim);
                continue;
            }
            if (e)
                FAILF("confirm: %s", ota_errname(e));
            confirmed_v2 = 1;
            break;
        }
        /* running v1: (re)start or resume the update */
        e = ota_update_begin(&u, &uc, g_man, g_man_len, have_saved ? &saved : NULL, &diag);
        if (!e) {
            uint32_t off = ota_update_offset(&u);
            while (!e && off < g_v2_len) {
                size_t k;
                x = x * 1103515245u + 12345u;
                k = 1 + (x >> 16) % 3000; /* the network's chunking varies with the seed */
                if (k > g_v2_len - off)
                    k = g_v2_len - off;
                e = ota_update_write(&u, g_v2 + off, k);
                off += (uint32_t)k;
                if (!e && (x & 3) == 0) {
                    struct ota_update_progress p;
                    if (ota_update_checkpoint(&u, &p) == OTA_OK && d.sim.powered) {
                        saved = p;
                        have_saved = 1;
                    }
                }
            }
            if (!e)
                e = ota_update_finish(&u, NULL);
            if (!e)
                pending_durable = 1;
        }
        if (e == OTA_ERR_POWER_LOSS || !d.sim.powered) {
            out->cut_fired = 1;
            ota_sim_power_on(&d.sim);
            continue;
        }
        if (e)
            FAILF("update failed without a cut: %s", ota_errname(e));
        /* reboot into the trial */
    }
    if (!confirmed_v2)
        FAILF("did not settle on v2 after %u boots", out->boots);
    {
        struct ota_boot_config bc;
        struct ota_otp_counter otp;
        struct ota_boot_state st;
        if (ota_boot_config_read(&d.sim.flash, &bc, NULL) ||
            ota_otp_read_counter(&d.sim.flash, &bc.layout, &otp) ||
            ota_boot_state_read(&d.sim.flash, &bc.layout, &st, NULL))
            FAILF("final state unreadable");
        if (otp.value != 2)
            FAILF("OTP counter %u after confirming v2", otp.value);
        if (st.confirmed != 1)
            FAILF("confirmed slot %u at the end", st.confirmed);
    }
    if (d.sim.violations)
        FAILF("NOR rule violated: %s", d.sim.violation);
done:
    if (ops)
        *ops = d.sim.ops - start;
    ota_sim_free(&d.sim);
}

static void test_cut_everywhere(void)
{
    struct fix_dev base;
    struct outcome o;
    uint64_t ops = 0, n, seed, cases = 0, fired = 0;
    int failures = 0, m;
    /* before/torn with durable writes, then before/torn with volatile ones */
    const enum ota_sim_cut modes[4] = {OTA_SIM_CUT_BEFORE, OTA_SIM_CUT_TORN, OTA_SIM_CUT_BEFORE,
                                       OTA_SIM_CUT_TORN};
    const enum ota_sim_durability durs[4] = {OTA_SIM_DURABLE_AT_ONCE, OTA_SIM_DURABLE_AT_ONCE,
                                             OTA_SIM_DURABLE_ON_SYNC, OTA_SIM_DURABLE_ON_SYNC};
    uint64_t vol_cases = 0;

    const char *env = getenv("OTA_CUT_SEEDS"); /* more torn seeds: a longer hunt */
    uint64_t seeds = env ? strtoull(env, NULL, 10) : 8;
    if (seeds < 1)
        seeds = 1;
    factory(&base);
    run_case(&base, 0, OTA_SIM_CUT_NONE, OTA_SIM_DURABLE_AT_ONCE, 1, &o, &ops);
    REQUIRE(o.failures == 0);
    REQUIRE(ops > 20);
    for (m = 0; m < 4; m++) {
        /* torn cuts: several seeds (chunkings); volatile: 2 seeds per model */
        uint64_t n_seeds = m == 0 ? 1u : m == 1 ? seeds : 2u;
        for (seed = 1; seed <= n_seeds; seed++) {
            uint64_t seed_ops = 0;
            run_case(&base, 0, OTA_SIM_CUT_NONE, durs[m], seed, &o, &seed_ops);
            failures += o.failures;
            for (n = 1; n <= seed_ops; n++) {
                run_case(&base, n, modes[m], durs[m], seed, &o, NULL);
                failures += o.failures;
                fired += (uint64_t)o.cut_fired;
                cases++;
                vol_cases += durs[m] == OTA_SIM_DURABLE_ON_SYNC;
            }
        }
    }
    printf("     %sdownload+install+trial boot+confirm: ~%llu flash ops per run; %llu cut "
           "cases (before: every op; torn: every op x %llu seeds/chunkings; %llu of them "
           "with writes volatile until sync, every op and sync x 2 seeds per model), "
           "%llu cuts taken, %d failures\n",
           g_encrypted ? "ENCRYPTED " : "", (unsigned long long)ops,
           (unsigned long long)cases, (unsigned long long)seeds,
           (unsigned long long)vol_cases, (unsigned long long)fired, failures);
    CHECK_EQ(failures, 0);
    CHECK_EQ(fired, cases);
    ota_sim_free(&base.sim);
}

/* The manifest offering g_v2 (full payload). */
static int sign_manifest(void)
{
    g_man_len = cfx_offer(g_srv, g_c, "dev-sim", HW, NOW, g_v2, g_v2_len, g_v2, g_v2_len, NULL, 0,
                          g_man);
    return g_man_len == 0;
}

int main(void)
{
    g_c = ota_crypto_openssl();
    if (ota_key_generate(&g_fw) || ota_key_generate(&g_srv) || ota_key_generate(&g_dev) ||
        ota_key_private_scalar(g_dev, &g_dev_d))
        return 2;
    ota_key_pubkey(g_fw, &g_fw_pub);
    ota_key_pubkey(g_srv, &g_srv_pub);
    g_v1 = make_image(1, 30000, 0, 0, &g_v1_len);
    g_v2 = make_image(2, 31000, 25, 0, &g_v2_len);
    if (sign_manifest())
        return 2;
    RUN(test_cut_everywhere);

    free(g_v2);
    g_v2 = make_image(2, 31000, 25, 1, &g_v2_len);
    g_encrypted = 1;
    if (sign_manifest())
        return 2;
    RUN(test_cut_everywhere);

    free(g_v1);
    free(g_v2);
    ota_key_free(g_fw);
    ota_key_free(g_srv);
    ota_key_free(g_dev);
    return test_summary();
}
