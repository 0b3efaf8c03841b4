// SPDX-License-Identifier: Apache-2.0
/*
 * rollout.h - the rollout engine: where a device stands in a campaign
 * (deterministic placement), whether it is targeted now, and the stage
 * machine that advances a campaign or halts it on failures.
 */
#ifndef OTA_SERVER_ROLLOUT_H
#define OTA_SERVER_ROLLOUT_H

#include <stdint.h>

#include "server.h"

/* Place of a device in a campaign: SHA-256 of (campaign, device) -> 0..9999
 * (units of 0.01 %). Stable for the campaign's life, so widening stages only
 * ever adds devices. */
uint32_t rollout_bucket(int64_t campaign_id, const char *device_id);
/* 1 if the bucket falls inside the campaign's current stage percentage. */
int rollout_in_stage(const struct srv_campaign *c, uint32_t bucket);
/* 1 if the device matches the campaign's filter (hw id, tags, version range);
 * current_version is what the device reported ("" if unknown). */
int rollout_matches(const struct srv_campaign *c, const struct srv_device *d,
                    const char *current_version);

struct rollout_totals {
    int64_t finished, failed, succeeded, in_progress;
};
void rollout_totals(const struct srv_counts *k, struct rollout_totals *t);

/* Re-evaluate one active campaign at srv_now(): halt it if its failure
 * ratio crossed the current stage's limit, else advance stages whose soak
 * time passed and whose gates hold. Safe to call from any thread. */
void rollout_evaluate(struct server *s, int64_t campaign_id);
void rollout_evaluate_all(struct server *s);

#endif
