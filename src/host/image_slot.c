// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/image_slot.c - read the LINK_SLOT TLV (0xa1) of a parsed image
 * (ota/image_slot.h): the server, `ota inspect` and the simulator need the
 * slot a per-slot build is linked for; the core (and so the bootloader)
 * skips the TLV like any vendor TLV it does not use.
 */
#include <string.h>

#include "ota/image_slot.h"
#include "diag.h"
#include "le.h"

/* Look through the TLV area [start, end) (its info header at start). */
static ota_err scan(const struct ota_reader *r, uint32_t start, uint32_t end, int prot, int *slot,
                    struct ota_diag *d)
{
    uint32_t pos = start + OTA_TLV_INFO_SIZE;
    uint8_t h[OTA_TLV_HDR_SIZE], v;
    ota_err e;

    while (pos + OTA_TLV_HDR_SIZE <= end) {
        if ((e = r->read(r->ctx, pos, h, sizeof h)) != OTA_OK)
            return ota_diag_fail_vals(d, e, "TLV entry", pos, 0, 0);
        uint16_t type = ota_le_get16(h), len = ota_le_get16(h + 2);
        if (type == OTA_TLV_LINK_SLOT) {
            if (!prot)
                return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_UNPROTECTED,
                                          "link slot TLV (must be protected)", pos,
                                          OTA_TLV_PROT_INFO_MAGIC, OTA_TLV_INFO_MAGIC);
            if (*slot != OTA_LINK_SLOT_ANY)
                return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_DUPLICATE, "link slot TLV", pos,
                                          0, type);
            if (len != 1)
                return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED, "link slot TLV length",
                                          pos + 2, 1, len);
            if ((e = r->read(r->ctx, pos + OTA_TLV_HDR_SIZE, &v, 1)) != OTA_OK)
                return ota_diag_fail_vals(d, e, "link slot TLV", pos + OTA_TLV_HDR_SIZE, 0, 0);
            if (v > OTA_LINK_SLOT_B)
                return ota_diag_fail_vals(d, OTA_ERR_IMAGE_TLV_MALFORMED,
                                          "link slot TLV value (0 A, 1 B)",
                                          pos + OTA_TLV_HDR_SIZE, OTA_LINK_SLOT_B, v);
            *slot = v;
        }
        pos += OTA_TLV_HDR_SIZE + len;
    }
    return OTA_OK;
}

ota_err ota_image_link_slot(const struct ota_reader *r, const struct ota_image_info *info,
                            int *slot, struct ota_diag *diag)
{
    uint32_t prot_start = info->hdr.hdr_size + info->hdr.img_size;
    ota_err e = OTA_OK;

    *slot = OTA_LINK_SLOT_ANY;
    /* ota_image_parse checked both areas' bounds and entry lengths. */
    if (info->hdr.protect_tlv_size)
        e = scan(r, prot_start, info->signed_size, 1, slot, diag);
    if (e == OTA_OK)
        e = scan(r, info->signed_size, info->total_size, 0, slot, diag);
    if (e != OTA_OK)
        *slot = OTA_LINK_SLOT_ANY;
    return e;
}

const char *ota_link_slot_name(int slot)
{
    return slot == OTA_LINK_SLOT_A ? "A" : slot == OTA_LINK_SLOT_B ? "B" : "any";
}

int ota_link_slot_parse(const char *s)
{
    if (!strcmp(s, "A") || !strcmp(s, "a"))
        return OTA_LINK_SLOT_A;
    if (!strcmp(s, "B") || !strcmp(s, "b"))
        return OTA_LINK_SLOT_B;
    return -2;
}
