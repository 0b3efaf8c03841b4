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

/* 1 if the device already runs the release as far as its stored inventory
 * says (the reported digest, or the version when it reported no digest). */
int rollout_runs_release(const struct srv_device *d, const struct srv_release *rel);

struct rollout_totals {
    int64_t finished, failed, succeeded, in_progress;
};
void rollout_totals(const struct srv_counts *k, struct rollout_totals *t);

/* How many devices each stage of a campaign places among the registered
 * devices that match its filter and do not already run the release. With
 * exact, by each device's bucket for the campaign's id (the real
 * placement); without (a preview: the id does not exist yet), the expected
 * share: floor(matching * percent / 100). Stages are cumulative. */
struct rollout_placement {
    int64_t matching;
    int64_t placed[SRV_STAGES_MAX];
};
enum store_rc rollout_place(struct server *s, const struct srv_campaign *c,
                            const struct srv_release *rel, int exact,
                            struct rollout_placement *p);
/* Replace the warning of stage `stage` by what `placed` implies (none, no
 * devices, fewer than min_finished); logs the warning unless the campaign
 * has no id yet (a preview). Returns 1 if the stage has a warning. */
int rollout_warn_stage(struct srv_campaign *c, int stage, int64_t placed);
/* Human text of a warning. */
void rollout_warning_text(const struct srv_warning *w, char *buf, size_t n);
/* Warnings of the stage the campaign just entered (rollout.c, at each stage
 * start; api_campaign_edit.c, on advance): placement read from the store. */
void rollout_warn_current_stage(struct server *s, struct srv_campaign *c);

/* Re-evaluate one active campaign at srv_now(): halt it if its failure
 * ratio crossed the current stage's limit, else advance stages whose soak
 * time passed and whose gates hold. Safe to call from any thread. */
void rollout_evaluate(struct server *s, int64_t campaign_id);
void rollout_evaluate_all(struct server *s);

#endif
