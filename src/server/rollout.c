// SPDX-License-Identifier: Apache-2.0
/*
 * rollout.c - the rollout engine (see rollout.h). Campaign state lives in
 * the store; transitions are conditional updates (expected state and stage)
 * so several evaluators - threads here, or other server nodes - cannot apply
 * the same transition twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_cache.h"
#include "health.h"
#include "jsonv.h"
#include "log.h"
#include "release_slot.h"
#include "rollout.h"

uint32_t rollout_bucket(int64_t campaign_id, const char *device_id)
{
    uint8_t buf[12 + 8 + SRV_ID_MAX], h[OTA_SHA256_LEN];
    size_t n = strlen(device_id);
    uint64_t v = 0;
    if (n > SRV_ID_MAX)
        n = SRV_ID_MAX;
    memcpy(buf, "ota-rollout", 12); /* includes the NUL separator */
    for (int i = 0; i < 8; i++)
        buf[12 + i] = (uint8_t)((uint64_t)campaign_id >> (8 * i));
    memcpy(buf + 20, device_id, n);
    ota_sha256(ota_crypto_openssl(), buf, 20 + n, h);
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)h[i] << (8 * i);
    return (uint32_t)(v % 10000u);
}

int rollout_in_stage(const struct srv_campaign *c, uint32_t bucket)
{
    if (c->n_stages <= 0 || c->stage < 0 || c->stage >= c->n_stages)
        return 0;
    double pct = c->stages[c->stage].percent;
    uint32_t limit = (uint32_t)(pct * 100.0 + 0.5);
    return bucket < limit;
}

int rollout_matches(const struct srv_campaign *c, const struct srv_device *d,
                    const char *current_version)
{
    if (c->f_hw_id[0] && strcmp(c->f_hw_id, d->hw_id) != 0)
        return 0;
    if (c->f_tags[0] && !tags_contain(d->tags, c->f_tags))
        return 0;
    if (c->f_min_version[0] || c->f_max_version[0]) {
        struct ota_image_version cur, lim;
        if (!current_version || !parse_version(current_version, &cur))
            return 0;
        if (c->f_min_version[0] && parse_version(c->f_min_version, &lim) &&
            ota_image_version_cmp(&cur, &lim) < 0)
            return 0;
        if (c->f_max_version[0] && parse_version(c->f_max_version, &lim) &&
            ota_image_version_cmp(&cur, &lim) >= 0)
            return 0;
    }
    return 1;
}

int rollout_runs_release(const struct srv_device *d, const struct srv_release *rel)
{
    struct ota_image_version v;
    if (d->has_digest) /* either slot's build of a per-slot release */
        return release_has_image(rel, d->current_digest);
    return d->current_version[0] && parse_version(d->current_version, &v) &&
           ota_image_version_cmp(&v, &rel->version) == 0;
}

void rollout_totals(const struct srv_counts *k, struct rollout_totals *t)
{
    memset(t, 0, sizeof(*t));
    for (int st = 0; st < SRV_STAGES_MAX; st++) {
        const int64_t *n = k->by_stage_state[st];
        t->succeeded += n[DC_SUCCESS];
        t->failed += n[DC_FAILURE] + n[DC_ROLLED_BACK];
        t->in_progress += n[DC_OFFERED] + n[DC_DOWNLOADING] + n[DC_INSTALLING] + n[DC_REBOOTING];
    }
    t->finished = t->succeeded + t->failed;
}

struct place_ctx {
    const struct srv_campaign *c;
    const struct srv_release *rel;
    int exact;
    struct rollout_placement *p;
    char last[SRV_ID_MAX + 1];
    int n;
};

static void place_one(void *ctx, const struct srv_device *d)
{
    struct place_ctx *x = ctx;
    snprintf(x->last, sizeof(x->last), "%s", d->id);
    x->n++;
    if (!rollout_matches(x->c, d, d->current_version))
        return;
    if (x->rel && d->has_digest && memcmp(d->current_digest, x->rel->digest, OTA_SHA256_LEN) == 0)
        return; /* already runs the release: never offered, never finishes */
    x->p->matching++;
    if (!x->exact)
        return;
    uint32_t b = rollout_bucket(x->c->id, d->id);
    for (int i = 0; i < x->c->n_stages; i++)
        if (b < (uint32_t)(x->c->stages[i].percent * 100.0 + 0.5))
            x->p->placed[i]++;
}

enum store_rc rollout_place(struct server *s, const struct srv_campaign *c,
                            const struct srv_release *rel, int exact,
                            struct rollout_placement *p)
{
    enum { PAGE = 1000 };
    struct place_ctx x = {c, rel, exact, p, "", 0};
    memset(p, 0, sizeof(*p));
    do {
        x.n = 0;
        enum store_rc rc = s->store->ops->device_list(s->store, x.last, PAGE, place_one, &x);
        if (rc != STORE_OK)
            return rc;
    } while (x.n == PAGE);
    if (!exact)
        for (int i = 0; i < c->n_stages; i++)
            p->placed[i] = (int64_t)((double)p->matching * c->stages[i].percent / 100.0);
    return STORE_OK;
}

void rollout_warning_text(const struct srv_warning *w, char *buf, size_t n)
{
    if (w->code == WARN_NO_DEVICES)
        snprintf(buf, n,
                 "stage %d places no matching device: it can never finish a device; "
                 "advance it (POST /v1/campaigns/{id}/advance) or edit the stages",
                 w->stage);
    else
        snprintf(buf, n,
                 "stage %d places %lld matching device(s), fewer than its min_finished %lld: "
                 "its gate cannot open on its own; advance it or lower min_finished",
                 w->stage, (long long)w->placed, (long long)w->min_finished);
}

int rollout_warn_stage(struct srv_campaign *c, int stage, int64_t placed)
{
    int j = 0;
    for (int i = 0; i < c->n_warnings; i++)
        if (c->warnings[i].stage != stage)
            c->warnings[j++] = c->warnings[i];
    c->n_warnings = j;
    int64_t need = c->stages[stage].min_finished;
    if (placed > 0 && placed >= need)
        return 0;
    struct srv_warning *w = &c->warnings[c->n_warnings++];
    w->stage = stage;
    w->code = placed == 0 ? WARN_NO_DEVICES : WARN_BELOW_MIN;
    w->placed = placed;
    w->min_finished = need;
    char text[256];
    rollout_warning_text(w, text, sizeof(text));
    if (c->id == 0) /* a preview */
        return 1;
    log_msg(LOG_WARN, "campaign_warning", "campaign=%lld stage=%d placed=%lld min_finished=%lld "
            "msg=\"%s\"", (long long)c->id, stage, (long long)placed, (long long)need, text);
    return 1;
}

void rollout_warn_current_stage(struct server *s, struct srv_campaign *c)
{
    struct srv_release rel;
    struct rollout_placement p;
    if (s->store->ops->release_get(s->store, c->release_id, &rel) != STORE_OK ||
        rollout_place(s, c, &rel, 1, &p) != STORE_OK) {
        log_msg(LOG_ERROR, "campaign_warning_unchecked", "campaign=%lld stage=%d",
                (long long)c->id, c->stage);
        return;
    }
    rollout_warn_stage(c, c->stage, p.placed[c->stage]);
}

/* How long the last stage runs at least before the rollout may complete:
 * its soak time, and one poll interval. Devices the last stage newly places
 * have no row until they check in, so "none in progress" right after the
 * stage starts would complete the rollout before any of them was offered
 * (and the health gates would stop watching the largest cohort); after one
 * poll interval every online device has checked in and been offered. */
static int64_t last_stage_settle(const struct server *s, const struct srv_stage *sg)
{
    return sg->soak_seconds > s->poll_interval ? sg->soak_seconds : s->poll_interval;
}

/* One step; returns 1 if the campaign changed (evaluate again). */
static int step(struct server *s, int64_t id)
{
    struct store *st = s->store;
    struct srv_campaign c;
    struct srv_counts k;
    struct rollout_totals t;
    int64_t now = srv_now(s);
    if (st->ops->campaign_get(st, id, &c) != STORE_OK || c.state != CAMPAIGN_ACTIVE ||
        c.n_stages == 0)
        return 0;
    if (st->ops->campaign_counts(st, id, &k) != STORE_OK)
        return 0;
    rollout_totals(&k, &t);
    const struct srv_stage *sg = &c.stages[c.stage];
    int old_stage = c.stage;
    int64_t sample = sg->min_finished > 0 ? sg->min_finished : 1;
    char health_reason[SRV_DETAIL_MAX + 1];
    /* Health gates (health_gate.c) watch the rollout until it completes. */
    int health = c.complete ? HEALTH_PASS
                            : health_stage_verdict(s, &c, health_reason, sizeof(health_reason));
    if (t.finished >= sample && (double)t.failed / (double)t.finished > sg->max_failure_ratio) {
        c.state = CAMPAIGN_HALTED;
        snprintf(c.halt_reason, sizeof(c.halt_reason),
                 "failure ratio %.3f (%lld of %lld finished devices failed or rolled back) "
                 "exceeded the maximum %.3f of stage %d/%d",
                 (double)t.failed / (double)t.finished, (long long)t.failed,
                 (long long)t.finished, sg->max_failure_ratio, c.stage + 1, c.n_stages);
    } else if (health == HEALTH_BREACH) {
        c.state = CAMPAIGN_HALTED;
        snprintf(c.halt_reason, sizeof(c.halt_reason), "%s", health_reason);
    } else if (!c.complete && now - c.stage_started_at >= sg->soak_seconds &&
               t.finished >= sg->min_finished && c.stage + 1 < c.n_stages &&
               health == HEALTH_PASS) {
        c.stage++;
        c.stage_started_at = now;
        rollout_warn_current_stage(s, &c);
    } else if (!c.complete && now - c.stage_started_at >= last_stage_settle(s, sg) &&
               c.stage + 1 == c.n_stages && t.finished >= sample && t.in_progress == 0 &&
               health == HEALTH_PASS) {
        /* The last stage has finished: soaked, every device that follows the
         * suggested poll interval has checked in since it began, its gate
         * holds, at least one device finished and none is still on its way. */
        c.complete = 1;
    } else {
        return 0;
    }
    c.updated_at = now;
    enum store_rc rc = st->ops->campaign_update(st, &c, CAMPAIGN_ACTIVE, old_stage);
    campaign_cache_invalidate(s);
    if (rc != STORE_OK)
        return 0;
    if (c.state == CAMPAIGN_HALTED)
        log_msg(LOG_WARN, "campaign_halted", "campaign=%lld stage=%d reason=\"%s\"",
                (long long)id, c.stage, c.halt_reason);
    else if (c.complete)
        log_msg(LOG_INFO, "campaign_complete", "campaign=%lld stage=%d finished=%lld",
                (long long)id, c.stage, (long long)t.finished);
    else
        log_msg(LOG_INFO, "campaign_stage", "campaign=%lld stage=%d percent=%g finished=%lld",
                (long long)id, c.stage, c.stages[c.stage].percent, (long long)t.finished);
    return c.state == CAMPAIGN_ACTIVE && !c.complete;
}

void rollout_evaluate(struct server *s, int64_t id)
{
    const struct store_ops *o = s->store->ops;
    pthread_mutex_lock(&s->rollout_lock);
    /* Other nodes on a shared store evaluate the same campaign: one at a
     * time, so each decides on counts that include the others' outcome
     * (the conditional update alone would only reject the loser). */
    if (o->campaign_lock && o->campaign_lock(s->store, id) != STORE_OK) {
        pthread_mutex_unlock(&s->rollout_lock);
        return;
    }
    for (int i = 0; i < SRV_STAGES_MAX + 1 && step(s, id); i++)
        ;
    if (o->campaign_unlock)
        o->campaign_unlock(s->store, id);
    pthread_mutex_unlock(&s->rollout_lock);
}

struct ids {
    int64_t *v;
    size_t n, cap;
    int oom;
};

static void collect(void *ctx, const struct srv_campaign *c)
{
    struct ids *ids = ctx;
    if (ids->n == ids->cap) {
        size_t ncap = ids->cap ? 2 * ids->cap : 64;
        int64_t *nv = realloc(ids->v, ncap * sizeof(*nv));
        if (!nv) {
            ids->oom = 1;
            return;
        }
        ids->v = nv;
        ids->cap = ncap;
    }
    ids->v[ids->n++] = c->id;
}

void rollout_evaluate_all(struct server *s)
{
    struct ids ids = {NULL, 0, 0, 0};
    health_maintain(s);
    s->store->ops->campaign_list(s->store, 1, collect, &ids);
    if (ids.oom)
        log_msg(LOG_ERROR, "rollout_out_of_memory", "campaigns_evaluated=%zu", ids.n);
    /* Every active campaign, whatever their number. */
    for (size_t i = 0; i < ids.n; i++) {
        health_prepare(s, ids.v[i]);
        rollout_evaluate(s, ids.v[i]);
    }
    free(ids.v);
}
