// SPDX-License-Identifier: Apache-2.0
/*
 * health_gate.c - stage health gates (health.h, docs/health.md): the gates'
 * JSON form in a campaign's stages, the health figures of a campaign (its
 * updated cohort by stage and a control cohort of the same selection still
 * on an old release, cached for HEALTH_REFRESH_S), the verdict of a gate
 * (rate per device-hour vs max_ratio x the control's, no verdict below the
 * minimums, a quiet control counted as one event) and retention.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "jsonv.h"
#include "log.h"
#include "rollout.h"

#define GATE_DEFAULT_RATIO 2.0
#define GATE_DEFAULT_DEVICES 20
#define GATE_DEFAULT_HOURS 10.0
/* No verdict from a handful of devices, whatever the operator asks. */
#define GATE_MIN_DEVICES_FLOOR 5

static const char *const VERDICTS[] = {"waiting", "pass", "breach"};

void health_version_text(const struct ota_image_version *v, char *buf, size_t n)
{
    snprintf(buf, n, "%u.%u.%u+%u", v->major, v->minor, v->revision, (unsigned)v->build);
}

int health_gates_parse(json_t *e, size_t i, struct srv_stage *st, const struct srv_stage *prev,
                       struct http_resp *out)
{
    static const char *const FIELDS[] = {"metric", "max_ratio", "min_devices",
                                         "min_device_hours", NULL};
    json_t *arr = json_object_get(e, "health_gates"), *g;
    size_t j;
    st->n_gates = 0;
    if (!arr) { /* like max_failure_ratio: the previous stage's */
        if (prev) {
            st->n_gates = prev->n_gates;
            memcpy(st->gates, prev->gates, sizeof(st->gates));
        }
        return 1;
    }
    if (!json_is_array(arr) || json_array_size(arr) > SRV_GATES_MAX) {
        resp_error(out, 400, "invalid_field",
                   "stages[%zu].health_gates must be an array of at most %d gates", i,
                   SRV_GATES_MAX);
        return 0;
    }
    json_array_foreach(arr, j, g) {
        struct srv_health_gate *h = &st->gates[j];
        memset(h, 0, sizeof(*h));
        h->max_ratio = GATE_DEFAULT_RATIO;
        h->min_devices = GATE_DEFAULT_DEVICES;
        h->min_device_hours = GATE_DEFAULT_HOURS;
        if (!json_is_object(g)) {
            resp_error(out, 400, "invalid_field", "stages[%zu].health_gates[%zu] must be an object",
                       i, j);
            return 0;
        }
        if (!jv_only(g, FIELDS, out) ||
            !jv_string(g, "metric", 1, sizeof(h->metric) - 1, h->metric, out) ||
            !jv_number(g, "max_ratio", 0, 1.0, 1000.0, &h->max_ratio, out) ||
            !jv_int(g, "min_devices", 0, GATE_MIN_DEVICES_FLOOR, 100000000, &h->min_devices,
                    out) ||
            !jv_number(g, "min_device_hours", 0, 0.001, 1e9, &h->min_device_hours, out))
            return 0;
        if (strcmp(h->metric, "crashes") != 0 && strcmp(h->metric, "resets") != 0 &&
            !(strncmp(h->metric, "counter:", 8) == 0 && valid_tag(h->metric + 8))) {
            resp_error(out, 400, "invalid_field",
                       "stages[%zu].health_gates[%zu].metric must be \"crashes\", \"resets\" or "
                       "\"counter:NAME\" (NAME: 1..%d of A-Z a-z 0-9 . _ -), not \"%s\"",
                       i, j, SRV_HEALTH_NAME_MAX, h->metric);
            return 0;
        }
        for (size_t k = 0; k < j; k++)
            if (strcmp(st->gates[k].metric, h->metric) == 0) {
                resp_error(out, 400, "invalid_field",
                           "stages[%zu].health_gates has two gates on \"%s\"", i, h->metric);
                return 0;
            }
        st->n_gates = (int)j + 1;
    }
    return 1;
}

json_t *health_gates_json(const struct srv_stage *st)
{
    json_t *a = json_array();
    for (int i = 0; i < st->n_gates; i++) {
        const struct srv_health_gate *g = &st->gates[i];
        json_array_append_new(a, json_pack("{s:s,s:f,s:I,s:f}", "metric", g->metric, "max_ratio",
                                           g->max_ratio, "min_devices",
                                           (json_int_t)g->min_devices, "min_device_hours",
                                           g->min_device_hours));
    }
    return a;
}

int health_gates_equal(const struct srv_stage *a, const struct srv_stage *b)
{
    if (a->n_gates != b->n_gates)
        return 0;
    for (int i = 0; i < a->n_gates; i++) {
        const struct srv_health_gate *x = &a->gates[i], *y = &b->gates[i];
        if (strcmp(x->metric, y->metric) != 0 || x->max_ratio != y->max_ratio ||
            x->min_devices != y->min_devices || x->min_device_hours != y->min_device_hours)
            return 0;
    }
    return 1;
}

/* ---- figures ------------------------------------------------------------------ */

static void sums_counter(struct health_sums *h, const char *name, int64_t v)
{
    for (int i = 0; i < h->n_counters; i++)
        if (strcmp(h->names[i], name) == 0) {
            h->values[i] += v;
            return;
        }
    if (h->n_counters == HEALTH_AGG_COUNTERS)
        return; /* more distinct names than kept: documented */
    snprintf(h->names[h->n_counters], sizeof(h->names[0]), "%s", name);
    h->values[h->n_counters++] = v;
}

static void sums_add(struct health_sums *h, const struct srv_health_row *r)
{
    if (r->name[0]) {
        sums_counter(h, r->name, r->value);
        return;
    }
    h->devices += r->devices;
    h->period_s += r->period_s;
    h->crashes += r->crashes;
    h->resets += r->resets;
}

static void updated_row(void *ctx, const struct srv_health_row *r)
{
    struct health_figures *f = ctx;
    sums_add(&f->updated, r);
    if (r->stage >= 0 && r->stage < SRV_STAGES_MAX)
        sums_add(&f->by_stage[r->stage], r);
}

struct control_ctx {
    const struct srv_campaign *c;
    struct health_figures *f;
};

static void control_row(void *ctx, const struct srv_health_row *r)
{
    struct control_ctx *x = ctx;
    struct srv_device d;
    memset(&d, 0, sizeof(d));
    snprintf(d.hw_id, sizeof(d.hw_id), "%s", r->hw_id);
    snprintf(d.tags, sizeof(d.tags), "%s", r->tags);
    /* The selection: the campaign's filter, with the version the devices
     * ran (the row's release) as their current version. */
    if (rollout_matches(x->c, &d, r->release))
        sums_add(&x->f->control, r);
}

static int compute(struct server *s, const struct srv_campaign *c, struct health_figures *f)
{
    struct srv_release rel;
    struct control_ctx x = {c, f};
    const struct store_ops *o = s->store->ops;
    memset(f, 0, sizeof(*f));
    f->computed_at = srv_now(s);
    f->n_stages = c->n_stages;
    if (o->release_get(s->store, c->release_id, &rel) != STORE_OK)
        return 0;
    health_version_text(&rel.version, f->release, sizeof(f->release));
    return o->health_updated(s->store, c->id, f->release, updated_row, f) == STORE_OK &&
           o->health_control(s->store, c->id, f->release, control_row, &x) == STORE_OK;
}

#define CACHE_SLOTS 16
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    const struct server *s;
    int64_t id;
    struct health_figures f;
} cache[CACHE_SLOTS];

int health_figures_get(struct server *s, const struct srv_campaign *c, int64_t max_age,
                       struct health_figures *f)
{
    int64_t now = srv_now(s);
    int slot = -1;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].s == s && cache[i].id == c->id) {
            slot = i;
            break;
        }
    if (slot >= 0 && now >= cache[slot].f.computed_at &&
        now - cache[slot].f.computed_at < max_age &&
        cache[slot].f.n_stages == c->n_stages) {
        *f = cache[slot].f;
        pthread_mutex_unlock(&cache_lock);
        return 1;
    }
    pthread_mutex_unlock(&cache_lock);
    if (!compute(s, c, f)) {
        log_msg(LOG_ERROR, "health_figures_failed", "campaign=%lld", (long long)c->id);
        return 0;
    }
    pthread_mutex_lock(&cache_lock);
    if (slot < 0 || cache[slot].s != s || cache[slot].id != c->id) {
        slot = 0; /* a free slot, else the oldest figures */
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (!cache[i].s) {
                slot = i;
                break;
            }
            if (cache[i].f.computed_at < cache[slot].f.computed_at)
                slot = i;
        }
    }
    cache[slot].s = s;
    cache[slot].id = c->id;
    cache[slot].f = *f;
    pthread_mutex_unlock(&cache_lock);
    return 1;
}

void health_prepare(struct server *s, int64_t id)
{
    struct srv_campaign c;
    struct health_figures f;
    if (s->store->ops->campaign_get(s->store, id, &c) == STORE_OK &&
        c.state == CAMPAIGN_ACTIVE && !c.complete && c.n_stages > 0 &&
        c.stages[c.stage].n_gates > 0)
        health_figures_get(s, &c, HEALTH_REFRESH_S, &f);
}

/* ---- verdicts ------------------------------------------------------------------ */

static int64_t events_of(const struct health_sums *h, const char *metric)
{
    if (strcmp(metric, "crashes") == 0)
        return h->crashes;
    if (strcmp(metric, "resets") == 0)
        return h->resets;
    for (int i = 0; i < h->n_counters; i++)
        if (strcmp(h->names[i], metric + 8) == 0)
            return h->values[i];
    return 0;
}

void health_judge(const struct srv_health_gate *g, const struct health_figures *f,
                  struct health_verdict *v)
{
    memset(v, 0, sizeof(*v));
    v->events_u = events_of(&f->updated, g->metric);
    v->events_c = events_of(&f->control, g->metric);
    v->hours_u = (double)f->updated.period_s / 3600.0;
    v->hours_c = (double)f->control.period_s / 3600.0;
    v->devices_u = f->updated.devices;
    v->devices_c = f->control.devices;
    if (v->devices_u < g->min_devices || v->devices_c < g->min_devices ||
        v->hours_u < g->min_device_hours || v->hours_c < g->min_device_hours ||
        v->hours_u <= 0 || v->hours_c <= 0) {
        v->code = HEALTH_WAIT;
        snprintf(v->text, sizeof(v->text),
                 "%s: no verdict yet: updated cohort %lld devices, %.4g device-hours; control "
                 "%lld devices, %.4g device-hours; each needs %lld devices and %g "
                 "device-hours",
                 g->metric, (long long)v->devices_u, v->hours_u, (long long)v->devices_c,
                 v->hours_c, (long long)g->min_devices, g->min_device_hours);
        return;
    }
    v->rate_u = (double)v->events_u / v->hours_u;
    v->rate_c = (double)v->events_c / v->hours_c;
    /* A quiet control is counted as one event over its exposure: zero
     * would make any single event in the cohort an infinite ratio. */
    v->limit = g->max_ratio * (double)(v->events_c > 0 ? v->events_c : 1) / v->hours_c;
    v->code = v->rate_u > v->limit ? HEALTH_BREACH : HEALTH_PASS;
    snprintf(v->text, sizeof(v->text),
             "%s %s: updated cohort %.4g per device-hour (%lld in %.4g device-hours, %lld "
             "devices) %s the limit %.4g = %g x control %.4g per device-hour (%lld in %.4g "
             "device-hours, %lld devices%s)",
             g->metric, v->code == HEALTH_BREACH ? "breached" : "holds", v->rate_u,
             (long long)v->events_u, v->hours_u, (long long)v->devices_u,
             v->code == HEALTH_BREACH ? "exceeds" : "within", v->limit, g->max_ratio,
             v->rate_c, (long long)v->events_c, v->hours_c, (long long)v->devices_c,
             v->events_c ? "" : "; none counted as 1");
}

int health_stage_verdict(struct server *s, const struct srv_campaign *c, char *reason, size_t n)
{
    struct health_figures f;
    struct health_verdict v;
    int code = HEALTH_PASS;
    if (c->n_stages <= 0 || c->stages[c->stage].n_gates == 0)
        return HEALTH_PASS;
    if (!health_figures_get(s, c, 2 * HEALTH_REFRESH_S, &f))
        return HEALTH_WAIT;
    const struct srv_stage *sg = &c->stages[c->stage];
    for (int i = 0; i < sg->n_gates; i++) {
        health_judge(&sg->gates[i], &f, &v);
        if (v.code == HEALTH_BREACH) {
            snprintf(reason, n, "health gate at stage %d/%d: %s", c->stage + 1, c->n_stages,
                     v.text);
            return HEALTH_BREACH;
        }
        if (v.code == HEALTH_WAIT)
            code = HEALTH_WAIT;
    }
    return code;
}

/* ---- JSON --------------------------------------------------------------------- */

static json_t *rate_json(int64_t events, int64_t period_s)
{
    return period_s > 0 ? json_real((double)events * 3600.0 / (double)period_s) : json_null();
}

static json_t *sums_json(const struct health_sums *h)
{
    json_t *counters = json_object(), *rates = json_object();
    for (int i = 0; i < h->n_counters; i++) {
        char key[8 + SRV_HEALTH_NAME_MAX + 1];
        json_object_set_new(counters, h->names[i], json_integer(h->values[i]));
        snprintf(key, sizeof(key), "counter:%s", h->names[i]);
        json_object_set_new(rates, key, rate_json(h->values[i], h->period_s));
    }
    json_object_set_new(rates, "crashes", rate_json(h->crashes, h->period_s));
    json_object_set_new(rates, "resets", rate_json(h->resets, h->period_s));
    return json_pack("{s:I,s:f,s:I,s:I,s:o,s:o}", "devices", (json_int_t)h->devices,
                     "device_hours", (double)h->period_s / 3600.0, "crashes",
                     (json_int_t)h->crashes, "resets", (json_int_t)h->resets, "counters",
                     counters, "rates_per_device_hour", rates);
}

json_t *health_campaign_json(struct server *s, const struct srv_campaign *c)
{
    struct health_figures f;
    if (!health_figures_get(s, c, 2 * HEALTH_REFRESH_S, &f))
        return json_null();
    json_t *by_stage = json_array(), *gates = json_array();
    for (int i = 0; i < c->n_stages; i++)
        json_array_append_new(by_stage, sums_json(&f.by_stage[i]));
    if (c->n_stages > 0) {
        const struct srv_stage *sg = &c->stages[c->stage];
        for (int i = 0; i < sg->n_gates; i++) {
            struct health_verdict v;
            const struct srv_health_gate *g = &sg->gates[i];
            health_judge(g, &f, &v);
            int judged = v.code != HEALTH_WAIT;
            json_array_append_new(
                gates,
                json_pack("{s:i,s:s,s:f,s:I,s:f,s:s,s:o,s:o,s:o,s:s}", "stage", c->stage,
                          "metric", g->metric, "max_ratio", g->max_ratio, "min_devices",
                          (json_int_t)g->min_devices, "min_device_hours", g->min_device_hours,
                          "verdict", VERDICTS[v.code], "updated_rate",
                          judged ? json_real(v.rate_u) : json_null(), "control_rate",
                          judged ? json_real(v.rate_c) : json_null(), "limit_rate",
                          judged ? json_real(v.limit) : json_null(), "message", v.text));
        }
    }
    return json_pack("{s:s,s:I,s:i,s:o,s:o,s:o,s:o}", "release", f.release, "computed_at",
                     (json_int_t)f.computed_at, "refresh_seconds", HEALTH_REFRESH_S, "updated",
                     sums_json(&f.updated), "control", sums_json(&f.control), "by_stage",
                     by_stage, "gates", gates);
}

/* ---- retention ---------------------------------------------------------------- */

void health_maintain(struct server *s)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static int64_t last;
    int64_t now = srv_now(s);
    pthread_mutex_lock(&lock);
    int due = last == 0 || now - last >= 3600;
    if (due)
        last = now;
    pthread_mutex_unlock(&lock);
    if (due && s->store->ops->health_prune(s->store, now - HEALTH_RETENTION_S) != STORE_OK)
        log_msg(LOG_ERROR, "health_prune_failed", "before=%lld",
                (long long)(now - HEALTH_RETENTION_S));
}
