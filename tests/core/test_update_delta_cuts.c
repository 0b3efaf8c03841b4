// SPDX-License-Identifier: Apache-2.0
/*
 * tests/core/test_update_delta_cuts.c - power cuts while the update engine
 * installs a delta in its resumable mode (ota_update_checkpoint_delta, as
 * ota-agent's Linux backend runs it: docs/delta-format.md "Resuming"), on the
 * flash simulator (src/sim, the cut clock of test_update_power_cuts.c) in
 * its rewritable mode: the slot of a Linux device is a block device, and a
 * resumed install programs again what was written after its checkpoint
 * (which NOR flash refuses; ota/update.h).
 *
 * The device runs v1 from slot A and installs a patch to v2 into slot B,
 * taking a checkpoint every few hundred patch bytes; a checkpoint's state is
 * kept (as the agent's atomically replaced state file) only when
 * ota_update_checkpoint_delta returned with the power still on. Power is cut
 * at every flash operation of the install (and every sync, with writes
 * volatile until sync), before it and torn; on odd seeds once more during
 * the resumed install. After each cut the device powers on and begins again
 * with the last kept state, as ota-agent does. Asserted:
 *   - slot A is byte for byte untouched, and its sectors were never erased;
 *   - the kept state never claims slot B bytes the cut lost: the prefix it
 *     says was programmed is v2's (it was kept after the sync);
 *   - a begin with a kept state resumes exactly at its patch byte (not 0),
 *     and only from a state kept before the cut;
 *   - the install ends with success, and a success means slot B holds v2
 *     byte for byte, also after one more cut right after it returned;
 *   - the simulator saw no NOR rule violation.
 * And a kept state damaged inside a hash context is ignored, never used
 * (test_damaged_state).
 * OTA_DELTA_CUT_SEEDS=n runs n seeds (chunkings, checkpoint spacing, second
 * cut) per cut model instead of 2: the exhaustive form.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>
#include <zlib.h>

#include "ota/deflate.h"
#include "ota/delta.h"
#include "ota/update.h"
#include "../test.h"
#include "fixture.h"

#define HW "hub-sim"
#define NOW CFX_NOW

static ota_key *g_fw, *g_srv;
static struct ota_pubkey g_fw_pub, g_srv_pub;
static const struct ota_crypto *g_c;
static uint8_t *g_v1, *g_v2, *g_patch;
static size_t g_v1_len, g_v2_len, g_patch_len;
static uint8_t g_man[OTA_MANIFEST_MAX_LEN];
static size_t g_man_len;
static struct ota_deflate_port *g_port; /* version 2/3 patches */
static int g_want; /* checkpoints wanted inside the writes (ota_update_want_checkpoint_delta) */

struct outcome {
    int failures;
    unsigned cuts;      /* cuts that fired */
    unsigned resumes;   /* begins that continued from a kept state */
    unsigned kept;      /* states kept */
    uint64_t ops;       /* flash operations (uncut run) */
};

#define FAILF CFX_CUT_FAILF

/* What the device keeps between boots: the last state a checkpoint
 * completed (the agent's linux_state.delta) and when it was taken. */
static struct ota_update_delta_state g_kept, g_tmp;

/*
 * From the factory state, install the delta with a cut armed at operation n
 * (0: none), power on after each cut and begin again with the kept state,
 * until the install succeeds.
 */
static void run_case(const struct fix_dev *base, uint64_t n, enum ota_sim_cut mode,
                     enum ota_sim_durability dur, uint64_t seed, struct outcome *out)
{
    static struct fix_dev d;
    static struct ota_update u;
    struct ota_update_cfg uc;
    struct ota_diag diag;
    const struct ota_boot_layout *l = &base->cfg.layout;
    uint32_t x = (uint32_t)(seed * 2654435761u + 99);
    uint32_t every = 97u + (uint32_t)(seed * 61u % 400u); /* patch bytes between checkpoints */
    int have_kept = 0, done_ok = 0, second_cut = (seed & 1) != 0;
    uint64_t start, kept_ops = 0;

    memset(out, 0, sizeof *out);
    cfx_case_device(&d, base, dur, g_c);
    ota_sim_set_rewritable(&d.sim, 1);
    start = d.sim.ops;
    if (n)
        ota_sim_arm_cut(&d.sim, mode, n - 1, seed);
    cfx_update_cfg(&uc, &d, &g_srv_pub);
    uc.deflate = g_port;

    for (int iter = 0; iter < 8 && !done_ok; iter++) {
        uint64_t cut_ops = d.sim.ops;
        ota_err e;
        if (iter > 0) {
            /* after a cut: slot A as the factory left it */
            if (memcmp(d.sim.mem + l->slot_off[0], base->sim.mem + l->slot_off[0],
                       l->slot_size) != 0)
                FAILF("slot A changed");
            for (uint32_t s = 0; s < l->slot_size / d.sim.flash.sector_size; s++)
                if (d.sim.erase_count[l->slot_off[0] / d.sim.flash.sector_size + s] !=
                    base->sim.erase_count[l->slot_off[0] / d.sim.flash.sector_size + s])
                    FAILF("slot A sector %u erased", s);
            /* the kept state claims only what survived the cut */
            if (have_kept) {
                uint32_t durable = g_kept.w.pos - g_kept.w.fill;
                if (kept_ops > cut_ops)
                    FAILF("state kept after the cut");
                if (durable > g_v2_len ||
                    memcmp(d.sim.mem + l->slot_off[1], g_v2, durable) != 0)
                    FAILF("kept state at patch byte %u claims slot B bytes [0, %u) the cut "
                          "lost",
                          g_kept.p.offset, durable);
            }
            if (second_cut && iter == 1) {
                /* cut the resumed install too, somewhere in its first ops */
                x = x * 1103515245u + 12345u;
                ota_sim_arm_cut(&d.sim, mode, 1 + (x >> 16) % 40u, seed + 7);
            }
        }
        uc.delta_resume = have_kept ? &g_kept : NULL;
        e = ota_update_begin(&u, &uc, g_man, g_man_len, NULL, &diag);
        if (!e && have_kept) {
            if (ota_update_offset(&u) != g_kept.p.offset)
                FAILF("begin with a state kept at patch byte %u continued at %u (%s)",
                      g_kept.p.offset, ota_update_offset(&u), diag.field ? diag.field : "-");
            out->resumes++;
        }
        if (!e) {
            uint32_t off = ota_update_offset(&u), since = 0;
            while (!e && off < g_patch_len) {
                size_t k;
                x = x * 1103515245u + 12345u;
                k = 1 + (x >> 16) % 700; /* the network's chunking varies with the seed */
                if (k > g_patch_len - off)
                    k = g_patch_len - off;
                if (g_want && since + k >= every &&
                    ota_update_want_checkpoint_delta(&u, &g_tmp) != OTA_OK)
                    FAILF("want_checkpoint_delta refused");
                e = ota_update_write(&u, g_patch + off, k);
                off += (uint32_t)k;
                since += (uint32_t)k;
                if (!e && since >= every) {
                    ota_err ce = ota_update_checkpoint_delta(&u, &g_tmp);
                    since = 0;
                    if (ce == OTA_OK && d.sim.powered) {
                        g_kept = g_tmp; /* the state file, replaced atomically */
                        kept_ops = d.sim.ops;
                        have_kept = 1;
                        out->kept++;
                    } else if (ce != OTA_OK && ce != OTA_ERR_UNSUPPORTED &&
                               ce != OTA_ERR_POWER_LOSS) {
                        FAILF("checkpoint: %s", ota_errname(ce));
                    }
                }
            }
            if (!e)
                e = ota_update_finish(&u, NULL);
        }
        if (e == OTA_ERR_POWER_LOSS || !d.sim.powered) {
            out->cuts++;
            ota_sim_power_on(&d.sim);
            continue;
        }
        if (e)
            FAILF("install failed without a cut: %s (%s at %u)", ota_errname(e),
                  diag.field ? diag.field : "-", diag.offset);
        done_ok = 1;
        /* a success is durable and is v2, byte for byte */
        ota_sim_power_cut(&d.sim, seed + 1000u);
        ota_sim_power_on(&d.sim);
        if (memcmp(d.sim.mem + l->slot_off[1], g_v2, g_v2_len) != 0)
            FAILF("install reported success, slot B is not v2");
        if (memcmp(d.sim.mem + l->slot_off[0], base->sim.mem + l->slot_off[0], l->slot_size))
            FAILF("slot A changed");
    }
    if (!done_ok)
        FAILF("no successful install after %u cuts", out->cuts);
    if (d.sim.violations)
        FAILF("NOR rule violated: %s", d.sim.violation);
done:
    out->ops = d.sim.ops - start;
    ota_sim_free(&d.sim);
}

static void cut_everywhere(const char *what)
{
    static struct fix_dev base;
    struct outcome o;
    const enum ota_sim_cut modes[4] = {OTA_SIM_CUT_BEFORE, OTA_SIM_CUT_TORN, OTA_SIM_CUT_BEFORE,
                                       OTA_SIM_CUT_TORN};
    const enum ota_sim_durability durs[4] = {OTA_SIM_DURABLE_AT_ONCE, OTA_SIM_DURABLE_AT_ONCE,
                                             OTA_SIM_DURABLE_ON_SYNC, OTA_SIM_DURABLE_ON_SYNC};
    const char *env = getenv("OTA_DELTA_CUT_SEEDS");
    uint64_t seeds = env ? strtoull(env, NULL, 10) : 2, cases = 0, fired = 0, resumes = 0;
    uint64_t kept = 0, ops = 0;
    int failures = 0;
    if (seeds < 1)
        seeds = 1;
    cfx_provision(&base, g_c, &g_fw_pub, HW);
    cfx_factory_install(&base, g_v1, g_v1_len, NULL);
    ota_sim_protect(&base.sim, base.cfg.layout.otp_off / base.sim.flash.sector_size, 1);
    for (int m = 0; m < 4; m++) {
        for (uint64_t seed = 1; seed <= seeds; seed++) {
            run_case(&base, 0, OTA_SIM_CUT_NONE, durs[m], seed, &o);
            failures += o.failures;
            REQUIRE(o.kept > 2);
            if (m == 0 && seed == 1)
                ops = o.ops;
            /* ON_SYNC: every other op (syncs are on the clock too) */
            for (uint64_t n = 1; n <= o.ops; n += durs[m] == OTA_SIM_DURABLE_ON_SYNC ? 2 : 1) {
                struct outcome c;
                run_case(&base, n, modes[m], durs[m], seed, &c);
                failures += c.failures;
                fired += c.cuts > 0;
                resumes += c.resumes;
                kept += c.kept;
                cases++;
            }
        }
    }
    printf("     %s: patch %zu bytes, ~%llu flash ops per install; %llu cut cases "
           "(before/torn x durable/volatile until sync x %llu seeds), %llu cuts taken, "
           "%llu begins resumed from a kept state (%llu states kept), %d failures\n",
           what, g_patch_len, (unsigned long long)ops, (unsigned long long)cases,
           (unsigned long long)seeds, (unsigned long long)fired, (unsigned long long)resumes,
           (unsigned long long)kept, failures);
    CHECK_EQ(failures, 0);
    CHECK_EQ(fired, cases);
    CHECK(resumes > cases / 2); /* most cuts came after a checkpoint */
    ota_sim_free(&base.sim);
}

/* Signed images of the payloads p1 and p2 (freed here), the patch between
 * them, the offer. deflate: --deflate. */
static void make_release(uint8_t *p1, uint32_t l1, uint8_t *p2, uint32_t l2, int deflate)
{
    struct ota_delta_create_opts o = {.deflate = deflate};
    g_v1 = cfx_image(g_fw, 1, HW, p1, l1, NULL, 0, &g_v1_len);
    g_v2 = cfx_image(g_fw, 2, HW, p2, l2, NULL, 0, &g_v2_len);
    free(p1);
    free(p2);
    if (ota_delta_create_ex(g_v1, g_v1_len, g_v2, g_v2_len, &o, &g_patch, &g_patch_len, NULL))
        abort();
    g_man_len = cfx_offer(g_srv, g_c, "dev-sim", HW, NOW, g_v2, g_v2_len, g_patch, g_patch_len,
                          g_v1, g_v1_len, g_man);
    if (!g_man_len)
        abort();
}

/* A payload like a squashfs image: zlib streams back to back, each a
 * block of text and a tail that changes between releases (coded as
 * literals inside the new streams: a write's end is almost never outside
 * one, so only the checkpoints wanted inside the writes keep states). */
static uint8_t *zlib_payload(int release, uint32_t *len)
{
    static const char words[] = "the delta slot image patch flash boot stream block ";
    uint8_t *out = malloc(8 * 2600);
    uint32_t n = 0, x = 11u + (uint32_t)release;
    if (!out)
        abort();
    for (uint32_t k = 0; k < 8; k++) {
        uint8_t blk[2300];
        for (uint32_t i = 0; i < 2000; i++)
            blk[i] = (uint8_t)words[(i * 7u + k) % (sizeof words - 1u)];
        for (uint32_t i = 2000; i < sizeof blk; i++) {
            x = x * 1664525u + 1013904223u;
            blk[i] = (uint8_t)(x >> 24);
        }
        uLongf cl = 2600;
        if (compress2(out + n, &cl, blk, sizeof blk, 9) != Z_OK)
            abort();
        n += (uint32_t)cl;
    }
    *len = n;
    return out;
}

static void free_release(void)
{
    free(g_v1);
    free(g_v2);
    free(g_patch);
}

static void test_delta_v1(void)
{
    make_release(cfx_payload(30000, 0), 30000, cfx_payload(31000, 600), 31000, 0);
    REQUIRE(g_patch[4] == OTA_DELTA_VERSION);
    cut_everywhere("version 1 patch");
    free_release();
}

/* zlib streams back to back, version 2/3: the states kept are the ones
 * the engine took where a new stream starts, inside the writes (without
 * them, fewer than half the cuts find a kept state). */
static void test_delta_deflate_wanted(void)
{
    g_port = ota_deflate_zlib_new();
    REQUIRE(g_port);
    g_want = 1;
    uint32_t l1, l2;
    uint8_t *p1 = zlib_payload(0, &l1), *p2 = zlib_payload(1, &l2);
    make_release(p1, l1, p2, l2, 1);
    REQUIRE(OTA_DELTA_HAS_SECTION(g_patch[4]));
    cut_everywhere("version 2/3 patch, zlib streams back to back, checkpoints wanted");
    free_release();
    g_want = 0;
    ota_deflate_zlib_free(g_port);
    g_port = NULL;
}

/*
 * A kept state damaged where no check of the engine's could see it: in a
 * SHA-256 context (OpenSSL's SHA256_CTX: its block index `num`, which
 * SHA256_Final trusts). The engine must ignore the state (start at 0) and
 * never hand the context to the port: before state_digest, begin copied and
 * finalised the payload hash context first and overran it (a crash; under
 * ASan a memset overflow), and the applier's own context reached
 * SHA256_Update on the first write after the resume. An intact state still
 * resumes at its byte.
 */
static void test_damaged_state(void)
{
    static struct fix_dev base, d;
    static struct ota_update u;
    struct ota_update_cfg uc;
    struct ota_diag diag;
    make_release(cfx_payload(30000, 0), 30000, cfx_payload(31000, 600), 31000, 0);
    cfx_provision(&base, g_c, &g_fw_pub, HW);
    cfx_factory_install(&base, g_v1, g_v1_len, NULL);
    /* a state kept at a checkpoint about half way */
    cfx_case_device(&d, &base, OTA_SIM_DURABLE_AT_ONCE, g_c);
    ota_sim_set_rewritable(&d.sim, 1);
    cfx_update_cfg(&uc, &d, &g_srv_pub);
    REQUIRE(ota_update_begin(&u, &uc, g_man, g_man_len, NULL, &diag) == OTA_OK);
    uint32_t off = 0;
    int kept = 0;
    while (!kept && off < g_patch_len) {
        size_t k = g_patch_len - off < 256 ? g_patch_len - off : 256;
        REQUIRE(ota_update_write(&u, g_patch + off, k) == OTA_OK);
        off += (uint32_t)k;
        kept = off >= g_patch_len / 2 && ota_update_checkpoint_delta(&u, &g_kept) == OTA_OK;
    }
    REQUIRE(kept);
    /* block index of the payload hash context, then of the applier's */
    size_t num = offsetof(SHA256_CTX, num);
    size_t at[2] = {offsetof(struct ota_update_delta_state, sha) + num,
                    offsetof(struct ota_update_delta_state, delta) +
                        offsetof(struct ota_delta_apply, sha) + num};
    for (int i = 0; i < 3; i++) {
        memcpy(&g_tmp, &g_kept, sizeof g_tmp);
        if (i < 2) {
            uint32_t bad = 0x40000000u;
            memcpy((uint8_t *)&g_tmp + at[i], &bad, sizeof bad);
        }
        uc.delta_resume = &g_tmp;
        CHECK_EQ(ota_update_begin(&u, &uc, g_man, g_man_len, NULL, &diag), OTA_OK);
        CHECK_EQ(ota_update_offset(&u), i < 2 ? 0u : off);
        /* and the install completes from there */
        ota_err e = OTA_OK;
        for (uint32_t o = ota_update_offset(&u); !e && o < g_patch_len; o += 256)
            e = ota_update_write(&u, g_patch + o, g_patch_len - o < 256 ? g_patch_len - o : 256);
        CHECK_EQ(e, OTA_OK);
        CHECK_EQ(ota_update_finish(&u, NULL), OTA_OK);
    }
    ota_sim_free(&d.sim);
    ota_sim_free(&base.sim);
    free_release();
}

int main(void)
{
    g_c = ota_crypto_openssl();
    if (ota_key_generate(&g_fw) || ota_key_generate(&g_srv))
        return 2;
    ota_key_pubkey(g_fw, &g_fw_pub);
    ota_key_pubkey(g_srv, &g_srv_pub);
    RUN(test_damaged_state);
    RUN(test_delta_v1);
    RUN(test_delta_deflate_wanted);
    ota_key_free(g_fw);
    ota_key_free(g_srv);
    return test_summary();
}
