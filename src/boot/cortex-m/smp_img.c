// SPDX-License-Identifier: Apache-2.0
/*
 * smp_img.c - the SMP image management group on ota's core (smp_img.h).
 *
 * Slot numbers are physical: slot 0 = A, slot 1 = B (images run in place,
 * like MCUboot's direct-XIP mode); "active" marks the running one. Uploads
 * always go to the slot that is not running. The image "hash" is the
 * image's SHA-256 TLV (what MCUboot and mcumgr call the image hash).
 */
#include "smp_img.h"

#include <string.h>

#include "ota/flash.h"
#include "ota/image.h"
#include "smp_server.h"

#define G SMP_GROUP_IMAGE

/* ---- small helpers ---- */

static void rsn_add(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(dst);
    while (*s && n + 1 < cap)
        dst[n++] = *s++;
    dst[n] = 0;
}

static void rsn_addu(char *dst, size_t cap, uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    rsn_add(dst, cap, buf + i);
}

/* "OTA_ERR_IMAGE_HW_MISMATCH: hw id (offset 1234)" */
static const char *rsn_ota(struct smp_img *g, ota_err e, const struct ota_diag *d)
{
    g->rsn[0] = 0;
    rsn_add(g->rsn, sizeof g->rsn, ota_errname(e));
    if (d && d->field) {
        rsn_add(g->rsn, sizeof g->rsn, ": ");
        rsn_add(g->rsn, sizeof g->rsn, d->field);
    }
    return g->rsn;
}

/* mcumgr_err_t an SMP version 1 client sees for a group code. */
static enum smp_rc v1_rc(uint16_t rc)
{
    switch (rc) {
    case SMP_IMG_NO_IMAGE:
    case SMP_IMG_NO_TLVS:
    case SMP_IMG_HASH_NOT_FOUND:
        return SMP_RC_ENOENT;
    case SMP_IMG_NO_FREE_SLOT:
    case SMP_IMG_CURRENT_VERSION_IS_NEWER:
    case SMP_IMG_IMAGE_ALREADY_PENDING:
    case SMP_IMG_IMAGE_CONFIRMATION_DENIED:
    case SMP_IMG_SETTING_TEST_TO_ACTIVE_DENIED:
        return SMP_RC_EBADSTATE;
    case SMP_IMG_UNKNOWN:
    case SMP_IMG_FLASH_READ_FAILED:
    case SMP_IMG_FLASH_WRITE_FAILED:
    case SMP_IMG_FLASH_ERASE_FAILED:
        return SMP_RC_EUNKNOWN;
    default:
        return SMP_RC_EINVAL;
    }
}

static void img_err(struct smp_req *r, uint16_t rc, const char *rsn)
{
    smp_err_group(r, G, rc, v1_rc(rc), rsn);
}

/* Group code for an ota verification / flash refusal. */
static uint16_t ota_to_img(ota_err e)
{
    switch (e) {
    case OTA_ERR_IMAGE_BAD_MAGIC:
        return SMP_IMG_INVALID_IMAGE_HEADER_MAGIC;
    case OTA_ERR_IMAGE_BAD_HEADER:
    case OTA_ERR_IMAGE_TRUNCATED:
        return SMP_IMG_INVALID_IMAGE_HEADER;
    case OTA_ERR_IMAGE_TLV_BAD_MAGIC:
    case OTA_ERR_IMAGE_TLV_MISSING:
        return SMP_IMG_NO_TLVS;
    case OTA_ERR_IMAGE_HASH_MISMATCH:
        return SMP_IMG_INVALID_HASH;
    case OTA_ERR_IMAGE_ROLLBACK:
        return SMP_IMG_CURRENT_VERSION_IS_NEWER;
    case OTA_ERR_IMAGE_TOO_LARGE:
        return SMP_IMG_INVALID_IMAGE_TOO_LARGE;
    case OTA_ERR_FLASH_BOUNDS:
    case OTA_ERR_FLASH_ALIGN:
    case OTA_ERR_FLASH_NOT_ERASED:
    case OTA_ERR_FLASH_PROTECTED:
    case OTA_ERR_FLASH_VERIFY:
    case OTA_ERR_IO:
        return SMP_IMG_FLASH_WRITE_FAILED;
    case OTA_ERR_IMAGE_TLV_MALFORMED:
    case OTA_ERR_IMAGE_TLV_DUPLICATE:
    case OTA_ERR_IMAGE_TLV_UNPROTECTED:
    case OTA_ERR_IMAGE_SIG_INVALID:
    case OTA_ERR_IMAGE_SIG_MALFORMED:
    case OTA_ERR_IMAGE_UNKNOWN_KEY:
    case OTA_ERR_IMAGE_HW_MISMATCH:
    case OTA_ERR_IMAGE_ENC_KEY:
    case OTA_ERR_IMAGE_ENC_NO_KEY:
    case OTA_ERR_UNSUPPORTED:
        return SMP_IMG_INVALID_TLV;
    default:
        return SMP_IMG_UNKNOWN;
    }
}

static void img_err_ota(struct smp_img *g, struct smp_req *r, ota_err e, const struct ota_diag *d)
{
    img_err(r, ota_to_img(e), rsn_ota(g, e, d));
}

ota_err smp_img_init(struct smp_img *g, const struct ota_boot_dev *dev, int running_slot)
{
    memset(g, 0, sizeof *g);
    g->dev = dev;
    g->running = running_slot;
    return ota_boot_config_read(dev->flash, &g->cfg, NULL);
}

static int inactive(const struct smp_img *g) { return g->running == 0 ? 1 : 0; }

static ota_err parse_slot(struct smp_img *g, int slot, struct ota_image_info *info)
{
    struct ota_flash_area area;
    struct ota_reader rd;

    ota_reader_from_flash(&rd, &area, g->dev->flash, g->cfg.layout.slot_off[slot],
                          g->cfg.layout.slot_size);
    return ota_image_parse(&rd, info, NULL);
}

static ota_err verify_slot(struct smp_img *g, int slot, struct ota_diag *d)
{
    struct ota_image_info info;
    struct ota_otp_counter otp;
    ota_err e = ota_otp_read_counter(g->dev->flash, &g->cfg.layout, &otp);

    if (e)
        return e;
    return ota_boot_verify_slot(g->dev, &g->cfg, slot, otp.value, &info, d);
}

static size_t ver_str(const struct ota_image_version *v, char *buf, size_t cap)
{
    buf[0] = 0;
    rsn_addu(buf, cap, v->major);
    rsn_add(buf, cap, ".");
    rsn_addu(buf, cap, v->minor);
    rsn_add(buf, cap, ".");
    rsn_addu(buf, cap, v->revision);
    if (v->build) {
        rsn_add(buf, cap, ".");
        rsn_addu(buf, cap, v->build);
    }
    return strlen(buf);
}

/* ---- state ---- */

static void put_flag(struct smp_cbor_wr *w, const char *k, int v, uint32_t *n)
{
    if (!v)
        return; /* "does not have to be present if false" */
    smp_cbor_put_tstr(w, k);
    smp_cbor_put_bool(w, 1);
    (*n)++;
}

void smp_img_state_read(struct smp_img *g, struct smp_req *r)
{
    struct ota_image_info info[2];
    struct ota_boot_state st;
    int ok[2], s, count = 0;
    ota_err e = ota_boot_state_read(g->dev->flash, &g->cfg.layout, &st, NULL);

    if (e) {
        img_err_ota(g, r, e, NULL);
        return;
    }
    for (s = 0; s < 2; s++) {
        /* a slot being uploaded holds a partial image: not listed */
        ok[s] = !(g->up_active && g->up_slot == s) && parse_slot(g, s, &info[s]) == OTA_OK;
        count += ok[s];
    }
    smp_cbor_put_tstr(&r->w, "images");
    smp_cbor_put_array(&r->w, (uint32_t)count);
    for (s = 0; s < 2; s++) {
        char ver[40];
        uint32_t n = 4;
        size_t at;
        int active = s == g->running;
        int confirmed = st.confirmed == s;
        int pending = st.pending == s && st.attempts > 0 && !active;
        /* confirmed but not running, and not merely the fallback of a trial:
         * the next boot switches to it for good */
        int permanent = confirmed && !active && st.pending != g->running;

        if (!ok[s])
            continue;
        at = r->w.pos;
        smp_cbor_put_map(&r->w, 0); /* patched below: 1 byte for < 24 pairs */
        smp_cbor_put_tstr(&r->w, "image");
        smp_cbor_put_uint(&r->w, 0);
        smp_cbor_put_tstr(&r->w, "slot");
        smp_cbor_put_uint(&r->w, (uint64_t)s);
        smp_cbor_put_tstr(&r->w, "version");
        smp_cbor_put_tstrn(&r->w, ver, ver_str(&info[s].hdr.version, ver, sizeof ver));
        smp_cbor_put_tstr(&r->w, "hash");
        smp_cbor_put_bstr(&r->w, info[s].hash, OTA_SHA256_LEN);
        put_flag(&r->w, "bootable", st.rejected != s && g->refused[s] != 1 &&
                 !(info[s].hdr.flags & OTA_IMAGE_F_NON_BOOTABLE), &n);
        put_flag(&r->w, "pending", pending, &n);
        put_flag(&r->w, "confirmed", confirmed, &n);
        put_flag(&r->w, "active", active, &n);
        put_flag(&r->w, "permanent", permanent, &n);
        if (!r->w.overflow)
            r->w.p[at] = (uint8_t)(0xa0u | n);
    }
    smp_cbor_put_tstr(&r->w, "splitStatus");
    smp_cbor_put_uint(&r->w, 0);
    r->n_pairs += 2;
}

void smp_img_state_write(struct smp_img *g, struct smp_req *r)
{
    struct smp_cbor_field f[] = {
        {.key = "hash", .type = SMP_CBOR_BSTR},
        {.key = "confirm", .type = SMP_CBOR_BOOL},
    };
    struct ota_image_info info;
    struct ota_boot_state st, nst;
    struct ota_diag d = {0};
    int confirm, slot = -1, s;
    ota_err e;

    if (smp_req_fields(r, f, 2))
        return;
    confirm = f[1].present && f[1].u;
    if (f[0].present && f[0].slen != OTA_SHA256_LEN) {
        img_err(r, SMP_IMG_INVALID_HASH, "hash must be 32 bytes");
        return;
    }
    if (!f[0].present) {
        if (!confirm) {
            smp_err_rc(r, SMP_RC_EINVAL, "test needs \"hash\"");
            return;
        }
        slot = g->running;
    } else {
        for (s = 0; s < 2; s++)
            if (!(g->up_active && g->up_slot == s) && parse_slot(g, s, &info) == OTA_OK &&
                memcmp(info.hash, f[0].s, OTA_SHA256_LEN) == 0)
                slot = s;
        if (slot < 0) {
            img_err(r, SMP_IMG_HASH_NOT_FOUND, "no image with that hash");
            return;
        }
    }
    if (slot == g->running) {
        if (!confirm) {
            img_err(r, SMP_IMG_SETTING_TEST_TO_ACTIVE_DENIED, "that image is running");
            return;
        }
        e = ota_boot_confirm(g->dev, slot, &d);
        if (e) {
            img_err(r, e == OTA_ERR_BOOT_NOT_ON_TRIAL ? SMP_IMG_IMAGE_CONFIRMATION_DENIED
                                                      : ota_to_img(e),
                    rsn_ota(g, e, &d));
            return;
        }
        smp_img_state_read(g, r);
        return;
    }
    /* the other slot: verified exactly as the bootloader will, then marked */
    e = verify_slot(g, slot, &d);
    if (e) {
        g->refused[slot] = 1;
        img_err_ota(g, r, e, &d);
        return;
    }
    e = ota_boot_state_read(g->dev->flash, &g->cfg.layout, &st, NULL);
    if (e) {
        img_err_ota(g, r, e, NULL);
        return;
    }
    if (st.pending == g->running && st.confirmed != g->running) {
        img_err(r, SMP_IMG_IMAGE_ALREADY_PENDING, "the running image is on trial: confirm it first");
        return;
    }
    nst = st;
    if (confirm) {
        nst.confirmed = (uint8_t)slot;
        nst.pending = OTA_SLOT_NONE;
        nst.attempts = 0;
    } else {
        nst.pending = (uint8_t)slot;
        nst.attempts = g->cfg.max_attempts;
    }
    if (nst.rejected == slot)
        nst.rejected = OTA_SLOT_NONE;
    e = ota_boot_state_write(g->dev->flash, &g->cfg.layout, &nst);
    if (e) {
        img_err_ota(g, r, e, NULL);
        return;
    }
    smp_img_state_read(g, r);
}

/* ---- upload ---- */

static void put_off(struct smp_req *r, uint32_t off)
{
    smp_cbor_put_tstr(&r->w, "off");
    smp_cbor_put_uint(&r->w, off);
    r->n_pairs++;
}

static void up_abort(struct smp_img *g) { g->up_active = 0; }

static int up_start(struct smp_img *g, struct smp_req *r, const struct smp_cbor_field *f)
{
    const struct smp_cbor_field *image = &f[0], *len = &f[1], *sha = &f[3], *data = &f[4],
                                *upgrade = &f[5];
    struct ota_image_header hdr;
    struct ota_boot_state st;
    struct ota_diag d = {0};
    const uint8_t *h = data->s;
    ota_err e;

    if (image->present && image->u != 0) {
        img_err(r, SMP_IMG_INVALID_SLOT, "only image 0 exists");
        return -1;
    }
    if (!len->present) {
        img_err(r, SMP_IMG_INVALID_LENGTH, "\"len\" is required at offset 0");
        return -1;
    }
    if (sha->present && sha->slen > OTA_SHA256_LEN) {
        img_err(r, SMP_IMG_INVALID_HASH, "\"sha\" longer than 32 bytes");
        return -1;
    }
    /* same upload as the one in progress: continue where the device is */
    if (sha->present && sha->slen > 0 && g->up_active && g->up_sha_len == sha->slen &&
        g->up_len == len->u && memcmp(g->up_sha, sha->s, sha->slen) == 0)
        return 1;
    up_abort(g);
    if (data->slen < OTA_IMAGE_HEADER_SIZE) {
        img_err(r, SMP_IMG_INVALID_IMAGE_HEADER, "first chunk shorter than an image header");
        return -1;
    }
    hdr.magic = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    if (hdr.magic != OTA_IMAGE_MAGIC) {
        img_err(r, SMP_IMG_INVALID_IMAGE_HEADER_MAGIC, "not a signed image (header magic)");
        return -1;
    }
    if (len->u > g->cfg.layout.slot_size || len->u < OTA_IMAGE_HEADER_SIZE) {
        img_err(r, SMP_IMG_INVALID_IMAGE_TOO_LARGE, "image larger than a slot");
        return -1;
    }
    if (upgrade->present && upgrade->u) {
        struct ota_image_info run;
        hdr.version.major = h[20];
        hdr.version.minor = h[21];
        hdr.version.revision = (uint16_t)(h[22] | h[23] << 8);
        hdr.version.build = (uint32_t)h[24] | (uint32_t)h[25] << 8 | (uint32_t)h[26] << 16 |
                            (uint32_t)h[27] << 24;
        if (parse_slot(g, g->running, &run) == OTA_OK &&
            ota_image_version_cmp(&hdr.version, &run.hdr.version) <= 0) {
            img_err(r, SMP_IMG_CURRENT_VERSION_IS_NEWER, "not newer than the running image");
            return -1;
        }
    }
    /* the installer writes the slot that is not confirmed: refuse before it
     * touches the boot state when that is the running one (on trial) */
    e = ota_boot_state_read(g->dev->flash, &g->cfg.layout, &st, NULL);
    if (e) {
        img_err_ota(g, r, e, NULL);
        return -1;
    }
    if ((st.confirmed == OTA_SLOT_NONE ? 0 : 1 - st.confirmed) == g->running) {
        img_err(r, SMP_IMG_NO_FREE_SLOT, "the running image is on trial: confirm it first");
        return -1;
    }
    e = ota_install_begin(&g->ins, g->dev, (uint32_t)len->u, &d);
    if (e) {
        img_err_ota(g, r, e, &d);
        return -1;
    }
    if ((e = g->dev->crypto->sha256_init(&g->up_hash)) != OTA_OK) {
        img_err_ota(g, r, e, NULL);
        return -1;
    }
    g->up_slot = g->ins.slot;
    g->refused[g->up_slot] = 0;
    g->up_len = (uint32_t)len->u;
    g->up_off = 0;
    g->up_sha_len = (uint8_t)(sha->present ? sha->slen : 0);
    if (g->up_sha_len)
        memcpy(g->up_sha, sha->s, g->up_sha_len);
    g->up_active = 1;
    return 0;
}

static void up_done(struct smp_img *g, struct smp_req *r)
{
    uint8_t digest[OTA_SHA256_LEN];
    struct ota_diag d = {0};
    ota_err e;

    up_abort(g);
    e = ota_flash_writer_finish(&g->ins.w);
    if (e) {
        img_err_ota(g, r, e, NULL);
        return;
    }
    e = g->dev->crypto->sha256_final(&g->up_hash, digest);
    if (e) {
        img_err_ota(g, r, e, NULL);
        return;
    }
    if (g->up_sha_len == OTA_SHA256_LEN && memcmp(digest, g->up_sha, OTA_SHA256_LEN) != 0) {
        g->refused[g->up_slot] = 1;
        img_err(r, SMP_IMG_INVALID_HASH, "uploaded data does not match \"sha\"");
        return;
    }
    e = verify_slot(g, g->up_slot, &d);
    if (e) {
        g->refused[g->up_slot] = 1;
        img_err_ota(g, r, e, &d);
        return;
    }
    put_off(r, g->up_len);
    if (g->up_sha_len == OTA_SHA256_LEN) {
        smp_cbor_put_tstr(&r->w, "match");
        smp_cbor_put_bool(&r->w, 1);
        r->n_pairs++;
    }
}

void smp_img_upload(struct smp_img *g, struct smp_req *r)
{
    struct smp_cbor_field f[] = {
        {.key = "image", .type = SMP_CBOR_UINT}, {.key = "len", .type = SMP_CBOR_UINT},
        {.key = "off", .type = SMP_CBOR_UINT},   {.key = "sha", .type = SMP_CBOR_BSTR},
        {.key = "data", .type = SMP_CBOR_BSTR},  {.key = "upgrade", .type = SMP_CBOR_BOOL},
    };
    const struct smp_cbor_field *off = &f[2], *data = &f[4];
    ota_err e;

    if (smp_req_fields(r, f, 6))
        return;
    if (!off->present || !data->present) {
        smp_err_rc(r, SMP_RC_EINVAL, "upload needs \"off\" and \"data\"");
        return;
    }
    if (off->u == 0) {
        int st = up_start(g, r, f);
        if (st < 0)
            return;
        if (st > 0) { /* resumed: tell the client where to continue */
            put_off(r, g->up_off);
            return;
        }
    } else if (!g->up_active || off->u != g->up_off) {
        /* no session, or not where the device is: nothing written; the
         * answer's "off" says where to continue (0: start over) */
        put_off(r, g->up_active ? g->up_off : 0);
        return;
    }
    if (data->slen > g->up_len - g->up_off) {
        up_abort(g);
        img_err(r, SMP_IMG_INVALID_IMAGE_DATA_OVERRUN, "more data than \"len\"");
        return;
    }
    e = ota_install_write(&g->ins, data->s, data->slen);
    if (!e)
        e = g->dev->crypto->sha256_update(&g->up_hash, data->s, data->slen);
    if (e) {
        up_abort(g);
        img_err_ota(g, r, e, NULL);
        return;
    }
    g->up_off += (uint32_t)data->slen;
    if (g->up_off == g->up_len)
        up_done(g, r);
    else
        put_off(r, g->up_off);
}

/* ---- erase ---- */

void smp_img_erase(struct smp_img *g, struct smp_req *r)
{
    struct smp_cbor_field f[] = {{.key = "slot", .type = SMP_CBOR_UINT}};
    struct ota_boot_state st;
    int slot;
    ota_err e;

    if (smp_req_fields(r, f, 1))
        return;
    slot = f[0].present ? (f[0].u > 1 ? -1 : (int)f[0].u) : inactive(g);
    if (slot < 0) {
        img_err(r, SMP_IMG_INVALID_SLOT, "slot must be 0 or 1");
        return;
    }
    e = ota_boot_state_read(g->dev->flash, &g->cfg.layout, &st, NULL);
    if (e) {
        img_err_ota(g, r, e, NULL);
        return;
    }
    if (slot == g->running || st.pending == slot || st.confirmed == slot) {
        smp_err_rc(r, SMP_RC_EBADSTATE, slot == g->running ? "that slot is running"
                                        : "that slot is pending or confirmed");
        return;
    }
    if (g->up_active && g->up_slot == slot)
        up_abort(g);
    e = ota_flash_erase(g->dev->flash, g->cfg.layout.slot_off[slot], g->cfg.layout.slot_size);
    if (e) {
        img_err(r, SMP_IMG_FLASH_ERASE_FAILED, rsn_ota(g, e, NULL));
        return;
    }
    g->refused[slot] = 0;
}
