// SPDX-License-Identifier: Apache-2.0
/*
 * api_campaign_edit.c - operator control that keeps a campaign from getting
 * stuck: warnings when a stage places fewer devices than its min_finished
 * (recorded at creation), POST /v1/campaigns/{id}/advance (the next stage
 * by hand), PATCH /v1/campaigns/{id} (a paused campaign's stages not yet
 * started) and POST /v1/campaigns?dry_run=1 (the plan checked, nothing
 * created). Creation, listing and pause/resume/abort stay in api_admin.c.
 */
#include <stdio.h>
#include <string.h>

#include "campaign_cache.h"
#include "health.h"
#include "jsonv.h"
#include "log.h"
#include "rollout.h"

static const char *const WARN_CODES[WARN_CODE_COUNT] = {"no_devices", "below_min_finished"};

json_t *campaign_warnings_json(const struct srv_warning *w, int n)
{
    json_t *a = json_array();
    char text[256];
    for (int i = 0; i < n; i++) {
        rollout_warning_text(&w[i], text, sizeof(text));
        json_array_append_new(
            a, json_pack("{s:i,s:s,s:s,s:I,s:I}", "stage", w[i].stage, "code",
                         WARN_CODES[w[i].code], "message", text, "placed",
                         (json_int_t)w[i].placed, "min_finished", (json_int_t)w[i].min_finished));
    }
    return a;
}

/* Warnings of stages from `first` on, by the real placement (logged). */
static enum store_rc warn_from(struct server *s, struct srv_campaign *c,
                               const struct srv_release *rel, int first)
{
    struct rollout_placement p;
    enum store_rc rc = rollout_place(s, c, rel, 1, &p);
    if (rc != STORE_OK)
        return rc;
    for (int i = first; i < c->n_stages; i++)
        rollout_warn_stage(c, i, p.placed[i]);
    return STORE_OK;
}

void campaign_warn_created(struct server *s, struct srv_campaign *c,
                           const struct srv_release *rel)
{
    if (warn_from(s, c, rel, 0) != STORE_OK) {
        log_msg(LOG_ERROR, "campaign_warning_unchecked", "campaign=%lld", (long long)c->id);
        return;
    }
    if (c->n_warnings == 0)
        return;
    /* Just inserted: only the rollout engine could have moved it meanwhile,
     * and it records the new stage's warnings itself. */
    if (s->store->ops->campaign_update(s->store, c, CAMPAIGN_ACTIVE, 0) != STORE_OK)
        log_msg(LOG_WARN, "campaign_warning_unsaved", "campaign=%lld", (long long)c->id);
    campaign_cache_invalidate(s);
}

static void save(struct server *s, struct srv_campaign *c, int from_state, int from_stage,
                 const char *action, struct http_resp *out)
{
    enum store_rc rc = s->store->ops->campaign_update(s->store, c, from_state, from_stage);
    campaign_cache_invalidate(s);
    if (rc == STORE_CONFLICT) {
        resp_error(out, 409, "conflict", "campaign changed meanwhile; retry");
        return;
    }
    if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    log_msg(LOG_INFO, "campaign_action", "id=%lld action=%s state=%s stage=%d stages=%d",
            (long long)c->id, action, campaign_state_name(c->state), c->stage, c->n_stages);
    if (c->state == CAMPAIGN_ACTIVE)
        rollout_evaluate(s, c->id);
    s->store->ops->campaign_get(s->store, c->id, c);
    resp_json(out, 200, campaign_json(s, c, 1));
}

void campaign_advance(struct server *s, struct srv_campaign *c, struct http_resp *out)
{
    int from = c->state, old = c->stage;
    if (c->state != CAMPAIGN_ACTIVE && c->state != CAMPAIGN_PAUSED) {
        resp_error(out, 409, "invalid_state",
                   "campaign is %s; only an active or paused campaign advances",
                   campaign_state_name(c->state));
        return;
    }
    if (c->stage + 1 >= c->n_stages && c->complete) {
        resp_error(out, 409, "last_stage",
                   "campaign is at its last stage (stage %d of %d, %g %%) and its rollout is "
                   "complete: there is nothing to advance to",
                   c->stage + 1, c->n_stages, c->stages[c->stage].percent);
        return;
    }
    if (c->stage + 1 >= c->n_stages) {
        /* The last stage's gate may never be met (it placed fewer devices
         * than its min_finished): advancing past it completes the rollout,
         * an operator's decision like any advance. */
        c->complete = 1;
        c->updated_at = srv_now(s);
        save(s, c, from, old, "complete", out);
        return;
    }
    c->stage++;
    c->stage_started_at = c->updated_at = srv_now(s);
    rollout_warn_current_stage(s, c);
    save(s, c, from, old, "advance", out);
}

void campaign_patch(struct server *s, struct http_req *r, struct srv_campaign *c,
                    struct http_resp *out)
{
    static const char *const FIELDS[] = {"stages", NULL};
    struct srv_campaign n = *c;
    struct srv_release rel;
    json_t *o = jv_parse_object(r, out);
    if (!o)
        return;
    int ok = jv_only(o, FIELDS, out);
    json_t *arr = json_object_get(o, "stages");
    if (ok && !arr) {
        resp_error(out, 400, "missing_field", "field \"stages\" is required");
        ok = 0;
    }
    ok = ok && campaign_parse_stages(arr, &n, out);
    json_decref(o);
    if (!ok)
        return;
    if (c->state != CAMPAIGN_PAUSED) {
        resp_error(out, 409, "invalid_state",
                   "campaign is %s; pause it first (only a paused campaign's stages are "
                   "edited)",
                   campaign_state_name(c->state));
        return;
    }
    /* Stages 0..stage have started (or finished): they stay as they are. */
    for (int i = 0; i <= c->stage; i++) {
        const struct srv_stage *a = &c->stages[i], *b = &n.stages[i];
        if (i >= n.n_stages || a->percent != b->percent || a->soak_seconds != b->soak_seconds ||
            a->min_finished != b->min_finished || a->max_failure_ratio != b->max_failure_ratio ||
            !health_gates_equal(a, b)) {
            resp_error(out, 409, "stage_started",
                       "stages[%d] has already %s (the campaign is at stage %d): it must be "
                       "sent unchanged (percent %g, soak_seconds %lld, min_finished %lld, "
                       "max_failure_ratio %g); only stages %d.. can change",
                       i, i < c->stage ? "finished" : "started", c->stage, a->percent,
                       (long long)a->soak_seconds, (long long)a->min_finished,
                       a->max_failure_ratio, c->stage + 1);
            return;
        }
    }
    if (n.complete && n.stage + 1 < n.n_stages)
        n.complete = 0; /* new stages after a finished last one */
    int kept = 0; /* warnings of removed stages go with them */
    for (int i = 0; i < n.n_warnings; i++)
        if (n.warnings[i].stage < n.n_stages)
            n.warnings[kept++] = n.warnings[i];
    n.n_warnings = kept;
    enum store_rc rc = s->store->ops->release_get(s->store, n.release_id, &rel);
    if (rc == STORE_OK)
        rc = warn_from(s, &n, &rel, n.stage + 1);
    if (rc != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    n.updated_at = srv_now(s);
    save(s, &n, CAMPAIGN_PAUSED, c->stage, "edit", out);
}

void campaign_preview(struct server *s, const struct srv_campaign *c,
                      const struct srv_release *rel, struct http_resp *out)
{
    struct srv_campaign p = *c;
    struct rollout_placement pl;
    p.id = 0; /* not created: warnings are not logged */
    p.n_warnings = 0;
    if (rollout_place(s, &p, rel, 0, &pl) != STORE_OK) {
        resp_error(out, 503, "storage", "database unavailable");
        return;
    }
    json_t *stages = json_array();
    for (int i = 0; i < p.n_stages; i++) {
        const struct srv_stage *st = &p.stages[i];
        rollout_warn_stage(&p, i, pl.placed[i]);
        json_array_append_new(
            stages, json_pack("{s:i,s:f,s:I,s:I,s:f,s:I,s:o}", "stage", i, "percent",
                              st->percent, "soak_seconds", (json_int_t)st->soak_seconds,
                              "min_finished", (json_int_t)st->min_finished,
                              "max_failure_ratio", st->max_failure_ratio, "expected_devices",
                              (json_int_t)pl.placed[i], "health_gates", health_gates_json(st)));
    }
    json_t *filter = json_pack("{s:s,s:o}", "hw_id", p.f_hw_id, "tags", tags_json(p.f_tags));
    resp_json(out, 200,
              json_pack("{s:b,s:s,s:I,s:I,s:o,s:o,s:o}", "dry_run", 1, "name", p.name,
                        "release_id", (json_int_t)p.release_id, "matching_devices",
                        (json_int_t)pl.matching, "filter", filter, "stages", stages,
                        "warnings", campaign_warnings_json(p.warnings, p.n_warnings)));
}
