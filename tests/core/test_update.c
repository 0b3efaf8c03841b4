// SPDX-License-Identifier: Apache-2.0
/*
 * test_update.c - unit tests of the portable update engine (ota/update.h)
 * on the flash simulator (src/sim) with the real bootloader core: full and delta updates
 * end in a pending trial the bootloader runs; every refusal happens before a
 * single flash write; corrupted or oversized payloads never get marked
 * pending; downloads resume after a restart with the prefix re-verified; and
 * power cut at every flash operation of a download + install (both cut
 * models) always leaves a bootable verified image and completes afterwards.
 */
#include <stdio.h>
#include <string.h>

#include "ota/boot.h"
#include "ota/delta.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/manifest_sign.h"
#include "ota/update.h"
#include "../test.h"
#include "ota/sim.h"
#include "../sim_device.h"

#define SECTOR 4096u
#define SECTORS 64u /* 256 KiB: 16 KiB boot, 2 x ~112 KiB slots */
#define PROG 8u
#define NOW 1800000000ull
#define HW "hub-test"

static ota_key *g_fw, *g_srv, *g_other;
static struct ota_pubkey g_fw_pub, g_srv_pub, g_other_pub;
static const struct ota_crypto *g_c;

static uint64_t fixed_now(void *ctx)
{
    (void)ctx;
    return NOW;
}

static void dev_init(struct fix_dev *d)
{
    memset(d, 0, sizeof *d);
    if (ota_sim_init(&d->sim, 1, PROG, SECTOR, SECTORS) != OTA_OK ||
        fix_dev_provision(d, 0, &g_fw_pub, HW, 3, g_c))
        abort();
    d->dev.prog_chunk = 0; /* the installer's "any length" path */
}

static void dev_free(struct fix_dev *d)
{
    ota_sim_free(&d->sim);
}

/* A signed image: payload derived from seed, with `change` bytes edited. */
static uint8_t *make_image(const ota_key *key, int major, uint32_t seccnt, const char *hw,
                           uint32_t payload_len, int edits, size_t *len)
{
    struct ota_build_params p;
    uint8_t *payload = malloc(payload_len), *out = NULL;
    char err[256];
    uint32_t i, x = 99;
    for (i = 0; i < payload_len; i++) {
        x = x * 1103515245u + 12345u;
        payload[i] = (uint8_t)(i < payload_len / 2 ? (i * 13) >> 3 : x >> 16);
    }
    for (i = 0; i < (uint32_t)edits; i++)
        payload[(i * 7919u) % payload_len] ^= 0x5a;
    memset(&p, 0, sizeof p);
    p.key = key;
    p.version.major = (uint8_t)major;
    p.has_security_counter = 1;
    p.security_counter = seccnt;
    p.hw_id = (const uint8_t *)hw;
    p.hw_id_len = strlen(hw);
    if (ota_image_build(&p, payload, payload_len, &out, len, err, sizeof err) != OTA_OK) {
        fprintf(stderr, "image build: %s\n", err);
        abort();
    }
    free(payload);
    return out;
}

/* Put img into slot 0 as the confirmed image (factory state). */
static void factory_install(struct fix_dev *d, const uint8_t *img, size_t len)
{
    struct ota_install ins;
    if (ota_install_begin(&ins, &d->dev, (uint32_t)len, NULL) ||
        ota_install_write(&ins, img, len) || ota_install_finish(&ins, 1, NULL, NULL))
        abort();
}

struct offer {
    const char *device;
    const char *hw;
    uint64_t expires;
    const ota_key *key;
    int delta;
    const uint8_t *base;
    size_t base_len;
    uint32_t seccnt_override; /* 0: from image */
    uint64_t seq;             /* offer_seq */
    uint32_t flags;           /* OTA_MANIFEST_FLAG_* */
};

static size_t make_manifest(const struct offer *o, const uint8_t *target, size_t tlen,
                            const uint8_t *payload, size_t plen, uint8_t *buf)
{
    struct ota_manifest m;
    struct ota_image_info info;
    struct ota_reader r;
    struct ota_mem_reader mr;
    size_t len = 0;
    memset(&m, 0, sizeof m);
    ota_reader_from_mem(&r, &mr, target, (uint32_t)tlen);
    if (ota_image_parse(&r, &info, NULL))
        abort();
    m.payload_kind = o->delta ? OTA_PAYLOAD_DELTA : OTA_PAYLOAD_FULL;
    m.campaign_id = 42;
    m.issued_at = NOW - 10;
    m.expires_at = o->expires ? o->expires : NOW + 3600;
    ota_sha256(g_c, target, tlen, m.target_digest);
    m.target_size = (uint32_t)tlen;
    m.target_version = info.hdr.version;
    m.target_security_counter = o->seccnt_override ? o->seccnt_override : info.security_counter;
    ota_sha256(g_c, payload, plen, m.payload_digest);
    m.payload_size = (uint32_t)plen;
    if (o->delta)
        ota_sha256(g_c, o->base, o->base_len, m.base_digest);
    m.device_id_len = (uint8_t)strlen(o->device ? o->device : "dev-1");
    strcpy(m.device_id, o->device ? o->device : "dev-1");
    m.offer_seq = o->seq;
    m.flags = o->flags;
    m.hw_id_len = (uint8_t)strlen(o->hw ? o->hw : HW);
    memcpy(m.hw_id, o->hw ? o->hw : HW, m.hw_id_len);
    if (ota_manifest_sign(o->key ? o->key : g_srv, &m, buf, OTA_MANIFEST_MAX_LEN, &len))
        abort();
    return len;
}

static void cfg_for(struct ota_update_cfg *c, struct fix_dev *d)
{
    memset(c, 0, sizeof *c);
    c->dev = &d->dev;
    c->server_keys = &g_srv_pub;
    c->n_server_keys = 1;
    c->device_id = "dev-1";
    c->clock.now = fixed_now;
    c->running_slot = 0;
}

/* Feed payload in uneven chunks. */
static ota_err feed(struct ota_update *u, const uint8_t *p, size_t len, size_t from)
{
    size_t off = from, step = 1;
    while (off < len) {
        size_t n = step < len - off ? step : len - off;
        ota_err e = ota_update_write(u, p + off, n);
        if (e)
            return e;
        off += n;
        step = step * 3 + 1;
        if (step > 5000)
            step = 7;
    }
    return OTA_OK;
}

static int boots_slot(struct fix_dev *d, int *trial, uint8_t *major)
{
    struct ota_boot_result res;
    ota_err e = ota_boot(&d->dev, &res);
    if (e || res.slot < 0)
        return -1;
    if (trial)
        *trial = res.trial;
    if (major)
        *major = res.info.hdr.version.major;
    return res.slot;
}

static size_t g_v1_len, g_v2_len, g_v3_len;
static uint8_t *g_v1, *g_v2, *g_v3;

/* Begin on c with the offer o of the full image v2: the engine's answer. */
static ota_err begin_v2(struct ota_update *u, const struct ota_update_cfg *c,
                        const struct offer *o, struct ota_diag *diag)
{
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    size_t mlen = make_manifest(o, g_v2, g_v2_len, g_v2, g_v2_len, man);
    return ota_update_begin(u, c, man, mlen, NULL, diag);
}

static void test_full_update_then_trial_boot(void)
{
    struct fix_dev d;
    struct ota_update_cfg c;
    struct ota_update u;
    struct ota_image_info info;
    struct ota_diag diag;
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    struct offer o = {0};
    size_t mlen;
    int trial = 0;
    uint8_t major = 0;

    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    cfg_for(&c, &d);
    mlen = make_manifest(&o, g_v2, g_v2_len, g_v2, g_v2_len, man);
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    CHECK_EQ(ota_update_slot(&u), 1);
    CHECK_EQ(ota_update_offset(&u), 0);
    CHECK(feed(&u, g_v2, g_v2_len, 0) == OTA_OK);
    /* one byte more than the manifest allows is refused */
    CHECK_EQ(ota_update_write(&u, "x", 1), OTA_ERR_UPDATE_PAYLOAD_SIZE);
    dev_free(&d);

    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    CHECK(feed(&u, g_v2, g_v2_len, 0) == OTA_OK);
    CHECK(ota_update_finish(&u, &info) == OTA_OK);
    CHECK_EQ(info.hdr.version.major, 2);
    CHECK_EQ(boots_slot(&d, &trial, &major), 1);
    CHECK_EQ(trial, 1);
    CHECK_EQ(major, 2);
    CHECK(d.sim.violations == 0);
    dev_free(&d);
}

static void test_refusals_before_any_write(void)
{
    struct fix_dev d;
    struct ota_update_cfg c;
    struct ota_update u;
    struct ota_diag diag;
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    size_t mlen;
    uint64_t ops;
    size_t big_len;
    uint8_t *big;
    uint8_t *v0;
    size_t v0_len;

    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    cfg_for(&c, &d);
    ops = d.sim.ops;
    {
        struct offer o = {0};
        o.key = g_other;
        CHECK_EQ(begin_v2(&u, &c, &o, &diag), OTA_ERR_MANIFEST_SIG_INVALID);
    }
    {
        struct offer o = {0};
        o.device = "dev-2";
        CHECK_EQ(begin_v2(&u, &c, &o, &diag), OTA_ERR_MANIFEST_WRONG_DEVICE);
    }
    {
        struct offer o = {0};
        o.expires = NOW - 1;
        CHECK_EQ(begin_v2(&u, &c, &o, &diag), OTA_ERR_MANIFEST_EXPIRED);
    }
    {
        struct offer o = {0};
        o.hw = "hub-other";
        CHECK_EQ(begin_v2(&u, &c, &o, &diag), OTA_ERR_IMAGE_HW_MISMATCH);
    }
    {
        /* payload larger than the slot */
        struct offer o = {0};
        big = make_image(g_fw, 3, 3, HW, 130000, 0, &big_len);
        mlen = make_manifest(&o, big, big_len, big, big_len, man);
        CHECK_EQ(ota_update_begin(&u, &c, man, mlen, NULL, &diag), OTA_ERR_IMAGE_TOO_LARGE);
        free(big);
    }
    {
        /* a delta whose base is not the running image */
        struct offer o = {0};
        o.delta = 1;
        o.base = g_v3; /* device runs v1 */
        o.base_len = g_v3_len;
        mlen = make_manifest(&o, g_v2, g_v2_len, (const uint8_t *)"patch", 5, man);
        CHECK_EQ(ota_update_begin(&u, &c, man, mlen, NULL, &diag), OTA_ERR_DELTA_BASE_MISMATCH);
    }
    {
        /* a manifest with a flipped byte */
        struct offer o = {0};
        mlen = make_manifest(&o, g_v2, g_v2_len, g_v2, g_v2_len, man);
        man[40] ^= 1;
        CHECK(ota_update_begin(&u, &c, man, mlen, NULL, &diag) != OTA_OK);
    }
    {
        /* installing over the running slot (device runs unconfirmed slot 1) */
        struct offer o = {0};
        c.running_slot = 1;
        CHECK_EQ(begin_v2(&u, &c, &o, &diag), OTA_ERR_UPDATE_STATE);
        c.running_slot = 0;
    }
    CHECK_EQ(d.sim.ops, ops); /* not one erase or program */

    /* security counter below the OTP counter (raise OTP to 5 first) */
    {
        struct ota_boot_config bc;
        struct offer o = {0};
        REQUIRE(ota_boot_config_read(&d.sim.flash, &bc, NULL) == OTA_OK);
        REQUIRE(ota_otp_raise_counter(&d.sim.flash, &bc.layout, 5) == OTA_OK);
        ops = d.sim.ops;
        v0 = make_image(g_fw, 4, 4, HW, 20000, 3, &v0_len);
        mlen = make_manifest(&o, v0, v0_len, v0, v0_len, man);
        CHECK_EQ(ota_update_begin(&u, &c, man, mlen, NULL, &diag), OTA_ERR_IMAGE_ROLLBACK);
        CHECK_EQ(diag.expected, 5);
        CHECK_EQ(diag.found, 4);
        CHECK_EQ(d.sim.ops, ops);
        free(v0);
    }
    dev_free(&d);
}

/* Issue 10 defect 6: an offer older than one the device accepted, or one
 * that would not move the device forward without saying so, is refused
 * before anything is written. */
static void test_fresh_offers_only(void)
{
    struct fix_dev d;
    struct ota_update_cfg c;
    struct ota_update u;
    struct ota_diag diag;
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    struct offer o = {0};
    size_t mlen;
    uint64_t ops;

    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    cfg_for(&c, &d);
    ops = d.sim.ops;
    o.seq = 100;
    mlen = make_manifest(&o, g_v2, g_v2_len, g_v2, g_v2_len, man);
    c.min_offer_seq = 101; /* the device accepted offer 100 already */
    CHECK_EQ(ota_update_begin(&u, &c, man, mlen, NULL, &diag), OTA_ERR_MANIFEST_STALE);
    CHECK(diag.field && strcmp(diag.field, "offer_seq") == 0);
    CHECK_EQ(diag.expected, 101);
    CHECK_EQ(diag.found, 100);
    /* the same version as the one running (v1 in slot 0): not an update */
    c.min_offer_seq = 100;
    mlen = make_manifest(&o, g_v1, g_v1_len, g_v1, g_v1_len, man);
    CHECK_EQ(ota_update_begin(&u, &c, man, mlen, NULL, &diag), OTA_ERR_MANIFEST_DOWNGRADE);
    c.running_slot = -1; /* unknown: the confirmed image is the reference */
    CHECK_EQ(ota_update_begin(&u, &c, man, mlen, NULL, &diag), OTA_ERR_MANIFEST_DOWNGRADE);
    c.running_slot = 0;
    CHECK_EQ(d.sim.ops, ops); /* not one erase or program */
    /* ... unless the signed offer says it is a deliberate downgrade */
    o.flags = OTA_MANIFEST_FLAG_DOWNGRADE;
    mlen = make_manifest(&o, g_v1, g_v1_len, g_v1, g_v1_len, man);
    CHECK_EQ(ota_update_begin(&u, &c, man, mlen, NULL, &diag), OTA_OK);
    /* a fresh upgrade offer is taken */
    o.flags = 0;
    mlen = make_manifest(&o, g_v2, g_v2_len, g_v2, g_v2_len, man);
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    CHECK(ota_update_manifest(&u)->offer_seq == 100);
    dev_free(&d);
}

static void test_bad_payloads_never_pending(void)
{
    struct fix_dev d;
    struct ota_update_cfg c;
    struct ota_update u;
    struct ota_diag diag;
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    uint8_t *bad;
    size_t mlen, flen;
    int trial = 1;
    uint8_t *foreign;

    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    cfg_for(&c, &d);
    /* one flipped byte in transit */
    {
        struct offer o = {0};
        mlen = make_manifest(&o, g_v2, g_v2_len, g_v2, g_v2_len, man);
        bad = malloc(g_v2_len);
        memcpy(bad, g_v2, g_v2_len);
        bad[g_v2_len / 3] ^= 0x10;
        REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
        CHECK(feed(&u, bad, g_v2_len, 0) == OTA_OK);
        CHECK_EQ(ota_update_finish(&u, NULL), OTA_ERR_UPDATE_PAYLOAD_HASH);
        CHECK_EQ(ota_update_write(&u, "x", 1), OTA_ERR_UPDATE_PAYLOAD_HASH); /* sticky */
        free(bad);
        CHECK_EQ(boots_slot(&d, &trial, NULL), 0);
        CHECK_EQ(trial, 0);
    }
    /* truncated payload */
    {
        struct offer o = {0};
        mlen = make_manifest(&o, g_v2, g_v2_len, g_v2, g_v2_len, man);
        REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
        CHECK(feed(&u, g_v2, g_v2_len - 100, 0) == OTA_OK);
        CHECK_EQ(ota_update_finish(&u, NULL), OTA_ERR_UPDATE_PAYLOAD_SIZE);
        CHECK_EQ(boots_slot(&d, &trial, NULL), 0);
    }
    /* a server-signed manifest for an image the bootloader would not trust */
    {
        struct offer o = {0};
        foreign = make_image(g_other, 2, 2, HW, 30000, 1, &flen);
        mlen = make_manifest(&o, foreign, flen, foreign, flen, man);
        REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
        CHECK(feed(&u, foreign, flen, 0) == OTA_OK);
        CHECK_EQ(ota_update_finish(&u, NULL), OTA_ERR_IMAGE_UNKNOWN_KEY);
        CHECK_EQ(boots_slot(&d, &trial, NULL), 0);
        CHECK_EQ(trial, 0);
        free(foreign);
    }
    /* manifest promises another security counter than the image carries */
    {
        struct offer o = {0};
        o.seccnt_override = 9;
        mlen = make_manifest(&o, g_v2, g_v2_len, g_v2, g_v2_len, man);
        REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
        CHECK(feed(&u, g_v2, g_v2_len, 0) == OTA_OK);
        CHECK(ota_update_finish(&u, NULL) != OTA_OK);
        CHECK_EQ(boots_slot(&d, &trial, NULL), 0);
    }
    dev_free(&d);
}

static void test_delta_update(void)
{
    struct fix_dev d;
    struct ota_update_cfg c;
    struct ota_update u;
    struct ota_diag diag;
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    uint8_t *patch = NULL;
    size_t plen = 0, mlen;
    int trial = 0;
    uint8_t major = 0;
    struct offer o = {0};

    REQUIRE(ota_delta_create(g_v1, g_v1_len, g_v2, g_v2_len, &patch, &plen, NULL) == OTA_OK);
    CHECK(plen < g_v2_len / 4);
    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    cfg_for(&c, &d);
    o.delta = 1;
    o.base = g_v1;
    o.base_len = g_v1_len;
    mlen = make_manifest(&o, g_v2, g_v2_len, patch, plen, man);
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    CHECK(feed(&u, patch, plen, 0) == OTA_OK);
    CHECK(ota_update_finish(&u, NULL) == OTA_OK);
    CHECK_EQ(boots_slot(&d, &trial, &major), 1);
    CHECK_EQ(trial, 1);
    CHECK_EQ(major, 2);
    printf("     delta payload %zu bytes for a %zu-byte image; engine state %zu bytes\n", plen,
           g_v2_len, sizeof(struct ota_update));

    /* corrupted patch: refused, never pending (slot 1 trial ended by begin) */
    dev_free(&d);
    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    patch[plen / 2] ^= 0x21;
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    {
        ota_err e = feed(&u, patch, plen, 0);
        if (!e)
            e = ota_update_finish(&u, NULL);
        CHECK(e != OTA_OK);
    }
    CHECK_EQ(boots_slot(&d, &trial, NULL), 0);
    CHECK_EQ(trial, 0);
    free(patch);
    dev_free(&d);
}

/* Slot offset of slot `slot` on this device. */
static uint32_t slot_off(struct fix_dev *d, int slot)
{
    struct ota_boot_config bc;
    if (ota_boot_config_read(&d->sim.flash, &bc, NULL) != OTA_OK)
        abort();
    return bc.layout.slot_off[slot];
}

static int pending_slot(struct fix_dev *d)
{
    struct ota_boot_config bc;
    struct ota_boot_state st;
    if (ota_boot_config_read(&d->sim.flash, &bc, NULL) ||
        ota_boot_state_read(&d->sim.flash, &bc.layout, &st, NULL))
        return -2;
    return st.pending > 1 ? -1 : st.pending;
}

/*
 * Flash that lies: worn cells in slot B silently leave a bit unprogrammed
 * (or flip one) while reporting success. The engine reads the slot back
 * against the manifest's target digest and refuses to mark it pending
 * (OTA_ERR_FLASH_VERIFY, exact field); the device keeps booting v1. Writing
 * the same update again (what the agent does: download again) succeeds once
 * the cells behave.
 */
static void test_worn_slot_never_pending(void)
{
    for (int how = OTA_SIM_LIE_UNPROGRAMMED; how <= OTA_SIM_LIE_FLIP; how++) {
        for (int delta = 0; delta <= 1; delta++) {
            struct fix_dev d;
            struct ota_update_cfg c;
            struct ota_update u;
            struct ota_diag diag;
            uint8_t man[OTA_MANIFEST_MAX_LEN];
            uint8_t *patch = NULL;
            size_t plen = 0, mlen;
            const uint8_t *payload = g_v2;
            struct offer o = {0};
            int trial = 0;
            uint8_t major = 0;

            if (delta) {
                REQUIRE(ota_delta_create(g_v1, g_v1_len, g_v2, g_v2_len, &patch, &plen, NULL) ==
                        OTA_OK);
                o.delta = 1;
                o.base = g_v1;
                o.base_len = g_v1_len;
                payload = patch;
            } else {
                plen = g_v2_len;
            }
            dev_init(&d);
            factory_install(&d, g_v1, g_v1_len);
            cfg_for(&c, &d);
            mlen = make_manifest(&o, g_v2, g_v2_len, payload, plen, man);
            /* 4 KiB of worn cells in the middle of slot B; one program lies */
            ota_sim_set_worn(&d.sim, slot_off(&d, 1) + 3 * SECTOR, SECTOR, (enum ota_sim_lie)how,
                             (uint64_t)(how * 2 + delta), 1);
            REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
            CHECK(feed(&u, payload, plen, 0) == OTA_OK);
            CHECK_EQ(ota_update_finish(&u, NULL), OTA_ERR_FLASH_VERIFY);
            CHECK(diag.field && strcmp(diag.field, "slot read-back vs manifest target_digest") == 0);
            CHECK_EQ(d.sim.stats.lies, 1);
            CHECK_EQ(pending_slot(&d), -1);
            CHECK_EQ(boots_slot(&d, &trial, &major), 0);
            CHECK_EQ(major, 1);
            /* again, from the start: the cells behave now */
            REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
            CHECK_EQ(ota_update_offset(&u), 0);
            CHECK(feed(&u, payload, plen, 0) == OTA_OK);
            CHECK_EQ(ota_update_finish(&u, NULL), OTA_OK);
            CHECK_EQ(d.sim.stats.lies, 1);
            CHECK_EQ(boots_slot(&d, &trial, &major), 1);
            CHECK_EQ(trial, 1);
            CHECK_EQ(major, 2);
            CHECK_EQ(d.sim.violations, 0);
            free(patch);
            dev_free(&d);
        }
    }
}

/*
 * The bootloader's own defence: a slot written on worn cells and marked
 * pending by an updater that did not read it back, or a pending slot whose
 * cells decayed after the mark, is never booted: the device runs v1.
 */
static void test_bootloader_refuses_lying_slot(void)
{
    for (int how = 0; how < 3; how++) {
        struct fix_dev d;
        struct ota_boot_config bc;
        struct ota_boot_state st;
        struct ota_flash_writer w;
        struct ota_boot_result res;
        int trial = 0;
        uint8_t major = 0;

        dev_init(&d);
        factory_install(&d, g_v1, g_v1_len);
        REQUIRE(ota_boot_config_read(&d.sim.flash, &bc, NULL) == OTA_OK);
        if (how < 2) {
            ota_sim_set_worn(&d.sim, bc.layout.slot_off[1] + SECTOR, 2 * SECTOR,
                             how ? OTA_SIM_LIE_FLIP : OTA_SIM_LIE_UNPROGRAMMED, 77, 0);
            REQUIRE(ota_flash_writer_init(&w, &d.sim.flash, bc.layout.slot_off[1],
                                          bc.layout.slot_size, 256) == OTA_OK);
            REQUIRE(ota_flash_writer_write(&w, g_v2, g_v2_len) == OTA_OK);
            REQUIRE(ota_flash_writer_finish(&w) == OTA_OK); /* the flash says all is well */
            CHECK(d.sim.stats.lies > 0);
            REQUIRE(ota_boot_state_read(&d.sim.flash, &bc.layout, &st, NULL) == OTA_OK);
            st.pending = 1;
            st.attempts = 3;
            REQUIRE(ota_boot_state_write(&d.sim.flash, &bc.layout, &st) == OTA_OK);
        } else {
            /* a correct install, then one cell of the pending slot decays */
            struct ota_install ins;
            REQUIRE(ota_install_begin(&ins, &d.dev, (uint32_t)g_v2_len, NULL) == OTA_OK);
            REQUIRE(ota_install_write(&ins, g_v2, g_v2_len) == OTA_OK);
            REQUIRE(ota_install_finish(&ins, 0, NULL, NULL) == OTA_OK);
            d.sim.mem[bc.layout.slot_off[1] + g_v2_len / 2] ^= 0x10;
        }
        CHECK_EQ(pending_slot(&d), 1);
        CHECK(ota_boot(&d.dev, &res) == OTA_OK);
        CHECK_EQ(res.slot, 0);
        CHECK_EQ(res.info.hdr.version.major, 1);
        CHECK_EQ(boots_slot(&d, &trial, &major), 0); /* and it stays that way */
        CHECK_EQ(major, 1);
        dev_free(&d);
    }
}

/*
 * A signed offer that contradicts itself: the payload (full image or delta)
 * produces v2, but the manifest's target digest names another image of the
 * same size, version and security counter. Refused with the exact field
 * (full: before any write; delta: at finish), never pending.
 */
static void test_offer_target_digest_disagrees(void)
{
    size_t other_len = 0;
    uint8_t *other = NULL;
    /* same payload size, version and counter; the DER signature's length
     * varies (70..72 bytes): edit until the image has v2's length too */
    for (int edits = 41; edits < 141 && other_len != g_v2_len; edits++) {
        free(other);
        other = make_image(g_fw, 2, 2, HW, 42000, edits, &other_len);
    }
    REQUIRE(other_len == g_v2_len && memcmp(other, g_v2, g_v2_len) != 0);
    for (int delta = 0; delta <= 1; delta++) {
        struct fix_dev d;
        struct ota_update_cfg c;
        struct ota_update u;
        struct ota_diag diag;
        uint8_t man[OTA_MANIFEST_MAX_LEN];
        uint8_t *patch = NULL;
        size_t plen = g_v2_len, mlen;
        const uint8_t *payload = g_v2;
        struct offer o = {0};

        if (delta) {
            REQUIRE(ota_delta_create(g_v1, g_v1_len, g_v2, g_v2_len, &patch, &plen, NULL) ==
                    OTA_OK);
            o.delta = 1;
            o.base = g_v1;
            o.base_len = g_v1_len;
            payload = patch;
        }
        dev_init(&d);
        factory_install(&d, g_v1, g_v1_len);
        cfg_for(&c, &d);
        mlen = make_manifest(&o, other, other_len, payload, plen, man);
        if (!delta) {
            /* a full payload is the image: refused before any flash write */
            uint64_t ops = d.sim.ops;
            CHECK_EQ(ota_update_begin(&u, &c, man, mlen, NULL, &diag), OTA_ERR_MANIFEST_MALFORMED);
            CHECK(diag.field && strcmp(diag.field, "payload_digest") == 0);
            CHECK_EQ(d.sim.ops, ops);
        } else {
            REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
            CHECK(feed(&u, payload, plen, 0) == OTA_OK);
            CHECK_EQ(ota_update_finish(&u, NULL), OTA_ERR_IMAGE_HASH_MISMATCH);
            CHECK(diag.field &&
                  strcmp(diag.field, "image the payload produces vs manifest target_digest") == 0);
        }
        CHECK_EQ(pending_slot(&d), -1);
        CHECK_EQ(boots_slot(&d, NULL, NULL), 0);
        /* the consistent offer for the same payload is accepted */
        mlen = make_manifest(&o, g_v2, g_v2_len, payload, plen, man);
        REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
        CHECK(feed(&u, payload, plen, 0) == OTA_OK);
        CHECK_EQ(ota_update_finish(&u, NULL), OTA_OK);
        CHECK_EQ(pending_slot(&d), 1);
        free(patch);
        dev_free(&d);
    }
    free(other);
}

/* Pull mode: a transport handing out the payload in odd pieces. */
struct mem_transport {
    const uint8_t *data;
    size_t len, pos, step;
    int overfeed; /* misbehave: claim more bytes than asked for */
};

static ota_err mem_read(void *ctx, void *buf, size_t cap, size_t *got)
{
    struct mem_transport *t = ctx;
    size_t n = t->step < cap ? t->step : cap;
    if (n > t->len - t->pos)
        n = t->len - t->pos;
    memcpy(buf, t->data + t->pos, n);
    t->pos += n;
    t->step = t->step * 5 % 3001 + 1;
    *got = t->overfeed ? cap + 1 : n;
    return OTA_OK;
}

static void test_pump_transport(void)
{
    struct fix_dev d;
    struct ota_update_cfg c;
    struct ota_update u;
    struct ota_diag diag;
    uint8_t man[OTA_MANIFEST_MAX_LEN], buf[700];
    struct mem_transport t;
    struct offer o = {0};
    size_t mlen;
    int trial = 0;

    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    cfg_for(&c, &d);
    mlen = make_manifest(&o, g_v2, g_v2_len, g_v2, g_v2_len, man);
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    memset(&t, 0, sizeof t);
    t.data = g_v2;
    t.len = g_v2_len;
    t.step = 1;
    {
        struct ota_update_transport tr = {mem_read, &t};
        CHECK(ota_update_pump(&u, &tr, buf, sizeof buf, NULL) == OTA_OK);
    }
    CHECK_EQ(boots_slot(&d, &trial, NULL), 1);
    CHECK_EQ(trial, 1);
    dev_free(&d);

    /* a transport that ends early: size error, nothing pending */
    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    memset(&t, 0, sizeof t);
    t.data = g_v2;
    t.len = g_v2_len / 2;
    t.step = 100;
    {
        struct ota_update_transport tr = {mem_read, &t};
        CHECK_EQ(ota_update_pump(&u, &tr, buf, sizeof buf, NULL), OTA_ERR_UPDATE_PAYLOAD_SIZE);
    }
    /* a transport that claims more than the buffer: refused */
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    memset(&t, 0, sizeof t);
    t.data = g_v2;
    t.len = g_v2_len;
    t.step = 10;
    t.overfeed = 1;
    {
        struct ota_update_transport tr = {mem_read, &t};
        CHECK_EQ(ota_update_pump(&u, &tr, buf, sizeof buf, NULL), OTA_ERR_UPDATE_PAYLOAD_SIZE);
    }
    CHECK_EQ(boots_slot(&d, &trial, NULL), 0);
    CHECK_EQ(trial, 0);
    dev_free(&d);
}

static void test_resume_reverifies_prefix(void)
{
    struct fix_dev d;
    struct ota_update_cfg c;
    struct ota_update u;
    struct ota_update_progress p;
    struct ota_diag diag;
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    size_t mlen;
    struct offer o = {0};
    int trial = 0;

    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    cfg_for(&c, &d);
    mlen = make_manifest(&o, g_v2, g_v2_len, g_v2, g_v2_len, man);
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    CHECK(feed(&u, g_v2, 3 * SECTOR + 1000, 0) == OTA_OK);
    REQUIRE(ota_update_checkpoint(&u, &p) == OTA_OK);
    CHECK_EQ(p.offset, 3 * SECTOR);

    /* "restart": a fresh engine continues at the checkpoint */
    REQUIRE(ota_update_begin(&u, &c, man, mlen, &p, &diag) == OTA_OK);
    CHECK_EQ(ota_update_offset(&u), 3 * SECTOR);
    CHECK(feed(&u, g_v2, g_v2_len, 3 * SECTOR) == OTA_OK);
    CHECK(ota_update_finish(&u, NULL) == OTA_OK);
    CHECK_EQ(boots_slot(&d, &trial, NULL), 1);
    dev_free(&d);

    /* the prefix changed in flash behind our back: start over at 0 */
    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    REQUIRE(ota_update_begin(&u, &c, man, mlen, NULL, &diag) == OTA_OK);
    CHECK(feed(&u, g_v2, 2 * SECTOR + 5, 0) == OTA_OK);
    REQUIRE(ota_update_checkpoint(&u, &p) == OTA_OK);
    CHECK_EQ(p.offset, 2 * SECTOR);
    {
        struct ota_boot_config bc;
        REQUIRE(ota_boot_config_read(&d.sim.flash, &bc, NULL) == OTA_OK);
        d.sim.mem[bc.layout.slot_off[1] + 100] &= 0x0f;
    }
    REQUIRE(ota_update_begin(&u, &c, man, mlen, &p, &diag) == OTA_OK);
    CHECK_EQ(ota_update_offset(&u), 0);
    CHECK(feed(&u, g_v2, g_v2_len, 0) == OTA_OK);
    CHECK(ota_update_finish(&u, NULL) == OTA_OK);
    CHECK_EQ(boots_slot(&d, &trial, NULL), 1);
    /* progress for another payload is ignored */
    dev_free(&d);
}

/*
 * Cut power at op n of "download (with checkpoints) + install", reboot, and
 * resume from the persisted progress. Returns 0 on a correct outcome.
 */
static unsigned g_resumed; /* restarts that continued after a verified prefix */

static int cut_run(uint64_t n, int torn, int delta, const uint8_t *payload, size_t plen,
                   const uint8_t *man, size_t mlen, uint64_t *total_ops, int *cut_happened)
{
    struct fix_dev d;
    struct ota_update_cfg c;
    struct ota_update u;
    struct ota_update_progress saved, p;
    struct ota_diag diag;
    int have_saved = 0, slot, trial = 0, rc = 0, attempt;
    uint8_t major = 0;
    uint64_t base_ops;
    ota_err e;

    dev_init(&d);
    factory_install(&d, g_v1, g_v1_len);
    cfg_for(&c, &d);
    base_ops = d.sim.ops;
    if (n)
        ota_sim_arm_cut(&d.sim, torn ? OTA_SIM_CUT_TORN : OTA_SIM_CUT_BEFORE, n - 1,
                        n * 2654435761u + 1);
    *cut_happened = 0;
    for (attempt = 0; attempt < 2; attempt++) {
        size_t off, chunk = 1500;
        e = ota_update_begin(&u, &c, man, mlen, have_saved ? &saved : NULL, &diag);
        off = ota_update_offset(&u);
        if (!e && u.resumed)
            g_resumed++;
        while (!e && off < plen) {
            size_t k = chunk < plen - off ? chunk : plen - off;
            e = ota_update_write(&u, payload + off, k);
            off += k;
            if (!e && ota_update_checkpoint(&u, &p) == OTA_OK && d.sim.powered) {
                saved = p; /* "persisted" only when the flash sync succeeded */
                have_saved = 1;
            }
        }
        if (!e)
            e = ota_update_finish(&u, NULL);
        if (e == OTA_OK)
            break;
        if (d.sim.powered) {
            fprintf(stderr, "cut %llu torn %d: update failed without a cut: %s\n",
                    (unsigned long long)n, torn, ota_errname(e));
            rc = 1;
            break;
        }
        /* power cut: reboot. The old image, or the new one if it was already
         * marked pending, must boot. */
        *cut_happened = 1;
        ota_sim_power_on(&d.sim);
        slot = boots_slot(&d, &trial, &major);
        if (!(slot == 0 && major == 1) && !(slot == 1 && major == 2 && trial)) {
            fprintf(stderr, "cut %llu torn %d: after the cut boots slot %d v%u\n",
                    (unsigned long long)n, torn, slot, major);
            rc = 1;
            break;
        }
        if (slot == 1) {
            /* the cut came after the pending mark: nothing left to do */
            e = OTA_OK;
            break;
        }
    }
    *total_ops = d.sim.ops - base_ops; /* the update's ops, not the checks below */
    if (!rc && e != OTA_OK) {
        fprintf(stderr, "cut %llu torn %d delta %d: second attempt failed: %s\n",
                (unsigned long long)n, torn, delta, ota_errname(e));
        rc = 1;
    }
    if (!rc) {
        slot = boots_slot(&d, &trial, &major);
        if (slot != 1 || major != 2) {
            fprintf(stderr, "cut %llu torn %d: ends on slot %d v%u\n", (unsigned long long)n,
                    torn, slot, major);
            rc = 1;
        }
    }
    if (d.sim.violations) {
        fprintf(stderr, "cut %llu torn %d: NOR rule violated: %s\n", (unsigned long long)n,
                torn, d.sim.violation);
        rc = 1;
    }
    dev_free(&d);
    return rc;
}

static void power_cut_scenario(int delta)
{
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    uint8_t *patch = NULL;
    const uint8_t *payload = g_v2;
    size_t plen = g_v2_len, mlen;
    struct offer o = {0};
    uint64_t ops = 0, n, covered = 0, cuts = 0, dummy;
    int torn, happened, failures = 0;

    g_resumed = 0;
    if (delta) {
        REQUIRE(ota_delta_create(g_v1, g_v1_len, g_v2, g_v2_len, &patch, &plen, NULL) == OTA_OK);
        payload = patch;
        o.delta = 1;
        o.base = g_v1;
        o.base_len = g_v1_len;
    }
    mlen = make_manifest(&o, g_v2, g_v2_len, payload, plen, man);
    /* count the operations of an uninterrupted run */
    REQUIRE(cut_run(0, 0, delta, payload, plen, man, mlen, &ops, &happened) == 0);
    CHECK(ops > 10);
    for (torn = 0; torn <= 1; torn++) {
        for (n = 1; n <= ops; n++) {
            failures += cut_run(n, torn, delta, payload, plen, man, mlen, &dummy, &happened);
            cuts += (uint64_t)happened;
            covered++;
        }
    }
    printf("     %s update: %llu flash ops, %llu cut points (before + torn), %llu cuts "
           "taken, %u resumed mid-payload, %d failures\n",
           delta ? "delta" : "full", (unsigned long long)ops, (unsigned long long)covered,
           (unsigned long long)cuts, g_resumed, failures);
    CHECK_EQ(failures, 0);
    CHECK_EQ(cuts, covered);
    if (!delta)
        CHECK(g_resumed > covered / 4); /* most cuts resume, not restart */
    free(patch);
}

static void test_power_cut_every_op_full(void)
{
    power_cut_scenario(0);
}

static void test_power_cut_every_op_delta(void)
{
    power_cut_scenario(1);
}

int main(void)
{
    struct ota_pubkey pub;
    g_c = ota_crypto_openssl();
    if (ota_key_generate(&g_fw) || ota_key_generate(&g_srv) || ota_key_generate(&g_other))
        return 2;
    ota_key_pubkey(g_fw, &g_fw_pub);
    ota_key_pubkey(g_srv, &g_srv_pub);
    ota_key_pubkey(g_other, &g_other_pub);
    (void)pub;
    g_v1 = make_image(g_fw, 1, 1, HW, 40000, 0, &g_v1_len);
    g_v2 = make_image(g_fw, 2, 2, HW, 42000, 40, &g_v2_len);
    g_v3 = make_image(g_fw, 3, 3, HW, 41000, 90, &g_v3_len);

    RUN(test_full_update_then_trial_boot);
    RUN(test_refusals_before_any_write);
    RUN(test_fresh_offers_only);
    RUN(test_bad_payloads_never_pending);
    RUN(test_delta_update);
    RUN(test_resume_reverifies_prefix);
    RUN(test_worn_slot_never_pending);
    RUN(test_bootloader_refuses_lying_slot);
    RUN(test_offer_target_digest_disagrees);
    RUN(test_pump_transport);
    RUN(test_power_cut_every_op_full);
    g_c = ota_crypto_mbedtls();
    RUN(test_power_cut_every_op_delta);
    RUN(test_full_update_then_trial_boot);

    free(g_v1);
    free(g_v2);
    free(g_v3);
    ota_key_free(g_fw);
    ota_key_free(g_srv);
    ota_key_free(g_other);
    return test_summary();
}
