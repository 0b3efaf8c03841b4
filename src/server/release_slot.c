// SPDX-License-Identifier: Apache-2.0
/*
 * release_slot.c - per-slot releases: on an execute-in-place part each A/B
 * slot runs its own build, so a release may hold one image linked for slot
 * A and one for slot B (same version, security counter, hardware id). The
 * device's update goes into the slot it does not run from; these helpers
 * pick the image for that slot, so the offer, the delta (base: the image the
 * device runs; target: the image picked here) and the inventory agree on
 * real image digests. Images without a link slot serve every device.
 */
#include <stdio.h>
#include <string.h>

#include "release_slot.h"

int slot_index(const char *name)
{
    return !strcmp(name, "A") ? 0 : !strcmp(name, "B") ? 1 : -1;
}

const char *other_slot_name(const char *link_slot)
{
    return slot_index(link_slot) == 0 ? "B" : "A";
}

int release_has_image(const struct srv_release *rel, const uint8_t d[OTA_SHA256_LEN])
{
    return memcmp(rel->digest, d, OTA_SHA256_LEN) == 0 ||
           (rel->has_other && memcmp(rel->other_digest, d, OTA_SHA256_LEN) == 0);
}

void release_view_digest(const struct srv_release *rel, const uint8_t d[OTA_SHA256_LEN],
                         struct srv_release *view)
{
    *view = *rel;
    if (!rel->has_other || memcmp(rel->other_digest, d, OTA_SHA256_LEN) != 0)
        return;
    memcpy(view->digest, rel->other_digest, OTA_SHA256_LEN);
    view->size = rel->other_size;
    snprintf(view->link_slot, sizeof(view->link_slot), "%s", other_slot_name(rel->link_slot));
    /* the MD5/SHA-1 kept for DDI are the first image's */
    view->has_hashes = 0;
}

int release_for_device(const struct srv_release *rel, const char *running_slot,
                       struct srv_release *view, char *why, size_t cap)
{
    int run = slot_index(running_slot), target;
    if (!rel->link_slot[0]) { /* position independent: any slot */
        *view = *rel;
        return 1;
    }
    if (run < 0) {
        snprintf(why, cap,
                 "no offer: release %s has per-slot images and the device does not report "
                 "running_slot",
                 rel->name);
        return 0;
    }
    target = 1 - run;
    if (slot_index(rel->link_slot) == target) {
        *view = *rel;
        return 1;
    }
    if (rel->has_other) {
        release_view_digest(rel, rel->other_digest, view);
        return 1;
    }
    snprintf(why, cap,
             "no offer: release %s has no image linked for slot %c (the device runs from "
             "slot %c; its update goes into %c)",
             rel->name, 'A' + target, 'A' + run, 'A' + target);
    return 0;
}
