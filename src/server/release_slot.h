// SPDX-License-Identifier: Apache-2.0
/*
 * release_slot.h - per-slot releases (release_slot.c): which of a release's
 * images a device gets, by the slot it runs from.
 */
#ifndef OTA_SERVER_RELEASE_SLOT_H
#define OTA_SERVER_RELEASE_SLOT_H

#include "store.h"

/* "A" -> 0, "B" -> 1, anything else (""): -1. */
int slot_index(const char *name);
/* The slot a per-slot release's second image is linked for: the other one
 * than link_slot ("A" -> "B", else "A"). */
const char *other_slot_name(const char *link_slot);

/* 1 when d is the digest of one of rel's images. */
int release_has_image(const struct srv_release *rel, const uint8_t d[OTA_SHA256_LEN]);

/* *view = *rel as seen through its image of digest d (digest, size and
 * link_slot of that image); d must be one of rel's images. */
void release_view_digest(const struct srv_release *rel, const uint8_t d[OTA_SHA256_LEN],
                         struct srv_release *view);

/*
 * The image of rel a device running from running_slot ("A", "B", "": does
 * not say) gets: the update goes into the other slot, so the build linked
 * for that one, or the release's only image when it runs from any slot.
 * Returns 1 with *view filled (release_view_digest of that image), or 0
 * with why[] saying why nothing fits (no wrong-slot image is ever chosen).
 */
int release_for_device(const struct srv_release *rel, const char *running_slot,
                       struct srv_release *view, char *why, size_t cap);

#endif
