// SPDX-License-Identifier: Apache-2.0
/*
 * driver.c - the operator side of an ota-fleet run: once every device has
 * checked in (and --settle seconds passed for the server's batched
 * inventory), create each --campaign in turn (POST /v1/campaigns, the admin
 * token), watch it once a second (GET /v1/campaigns/{id}) recording when
 * each stage starts, until its rollout is complete or it halts, and say
 * whether that is what the plan expected. With --clock-rate R it also
 * advances the server's test clock by R seconds per wall second
 * (POST /v1/admin/clock), so soak times run compressed. Its requests share
 * the device pool, ahead of the devices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleet.h"
#include "ota/host.h"

enum { PH_WAIT_FLEET = 0, PH_SETTLE, PH_CREATE, PH_WATCH, PH_DONE };

#define DRIVER_TAG UINT32_MAX

static double clock_next;
static int clock_busy;

static void read_status(struct fleet *f, struct fleet_campaign_run *c, json_t *o)
{
    json_t *cnt = json_object_get(o, "counts");
    const char *st = json_string_value(json_object_get(o, "state"));
    const char *hr = json_string_value(json_object_get(o, "halt_reason"));
    int stage = (int)json_integer_value(json_object_get(o, "stage"));
    snprintf(c->state, sizeof c->state, "%s", st ? st : "?");
    if (hr)
        snprintf(c->halt_reason, sizeof c->halt_reason, "%s", hr);
    c->complete = json_is_true(json_object_get(o, "rollout_complete"));
    c->n_stages = (int)json_array_size(json_object_get(o, "stages"));
    c->finished = json_integer_value(json_object_get(o, "finished"));
    c->failed = json_integer_value(json_object_get(o, "failed"));
    c->success = json_integer_value(json_object_get(cnt, "success"));
    c->failure = json_integer_value(json_object_get(cnt, "failure"));
    c->rolled_back = json_integer_value(json_object_get(cnt, "rolled-back"));
    while (c->stage < stage && c->stage < 15) {
        c->stage++;
        c->stages[c->stage].started = fleet_elapsed(f);
        c->stages[c->stage].server_started =
            json_integer_value(json_object_get(o, "stage_started_at"));
        fprintf(stderr, "ota-fleet: campaign %lld: stage %d started at %.1f s\n",
                (long long)c->id, c->stage, c->stages[c->stage].started);
    }
}

static void campaign_ended(struct fleet *f, struct fleet_campaign_run *c)
{
    c->done = 1;
    c->ended = fleet_elapsed(f);
    c->as_expected = c->expect_halt ? strcmp(c->state, "halted") == 0 && c->stage == 0
                                    : c->complete && strcmp(c->state, "active") == 0;
    fprintf(stderr, "ota-fleet: campaign %lld %s at stage %d after %.1f s (%s)%s%s\n",
            (long long)c->id, c->complete ? "complete" : c->state, c->stage,
            c->ended - c->created, c->as_expected ? "as expected" : "NOT AS EXPECTED",
            c->halt_reason[0] ? ": " : "", c->halt_reason);
    f->camp_cur++;
    f->driver_phase = f->camp_cur < f->o->n_campaigns && c->as_expected ? PH_CREATE : PH_DONE;
    f->driver_next = fleet_now() + 1.0;
}

static void on_status(struct fleet_req *q, void *ctx)
{
    struct fleet *f = ctx;
    struct fleet_campaign_run *c = &f->camp[f->camp_cur];
    json_t *o = q->status == 200 ? json_loads(q->resp.p, 0, NULL) : NULL;
    f->driver_busy = 0;
    f->driver_next = fleet_now() + 1.0;
    if (!o)
        return; /* asked again in a second */
    read_status(f, c, o);
    json_decref(o);
    if (c->complete || strcmp(c->state, "halted") == 0 || strcmp(c->state, "aborted") == 0)
        campaign_ended(f, c);
}

static void on_created(struct fleet_req *q, void *ctx)
{
    struct fleet *f = ctx;
    struct fleet_campaign_run *c = &f->camp[f->camp_cur];
    json_t *o = json_loads(q->resp.p, 0, NULL);
    json_t *w = o ? json_object_get(o, "warnings") : NULL;
    f->driver_busy = 0;
    if (q->status != 201 || !json_is_integer(json_object_get(o, "id"))) {
        fprintf(stderr, "ota-fleet: creating campaign from %s: HTTP %ld: %.300s\n",
                f->o->campaigns[f->camp_cur].file, q->status, q->resp.p);
        f->fail_reason = "a campaign could not be created";
        f->driver_phase = PH_DONE;
        json_decref(o);
        return;
    }
    c->id = json_integer_value(json_object_get(o, "id"));
    c->created = fleet_elapsed(f);
    c->stages[0].started = c->created;
    c->stages[0].server_started = json_integer_value(json_object_get(o, "stage_started_at"));
    read_status(f, c, o);
    fprintf(stderr, "ota-fleet: campaign %lld created at %.1f s (%zu warning%s)\n",
            (long long)c->id, c->created, json_array_size(w),
            json_array_size(w) == 1 ? "" : "s");
    json_decref(o);
    f->driver_phase = PH_WATCH;
    f->driver_next = fleet_now() + 1.0;
}

static void on_clock(struct fleet_req *q, void *ctx)
{
    struct fleet *f = ctx;
    json_t *o = q->status == 200 ? json_loads(q->resp.p, 0, NULL) : NULL;
    clock_busy = 0;
    if (o && json_is_integer(json_object_get(o, "offset")))
        f->clock_offset = json_integer_value(json_object_get(o, "offset"));
    json_decref(o);
}

static void tick_clock(struct fleet *f, double now)
{
    static double last;
    struct fleet_req *q;
    json_t *o;
    if (f->o->clock_rate <= 0 || clock_busy || now < clock_next)
        return;
    if (last > 0)
        f->clock_debt += (now - last) * f->o->clock_rate;
    last = now;
    clock_next = now + 1.0;
    if (f->clock_debt < 1 || !(q = fleet_net_slot(f->net)))
        return;
    o = json_pack("{s:I}", "advance_seconds", (json_int_t)f->clock_debt);
    f->clock_debt -= (double)(json_int_t)f->clock_debt;
    q->tag = DRIVER_TAG;
    clock_busy = 1;
    fleet_net_start(f->net, q, "POST", "/v1/admin/clock", f->o->admin_token,
                    json_dumps(o, JSON_COMPACT), on_clock, f);
    json_decref(o);
}

static char *read_text(const char *path)
{
    uint8_t *b = NULL;
    size_t n = 0;
    char *s;
    if (ota_file_read(path, &b, &n) != OTA_OK)
        return NULL;
    s = realloc(b, n + 1);
    if (!s) {
        free(b);
        return NULL;
    }
    s[n] = 0;
    return s;
}

void fleet_driver_tick(struct fleet *f)
{
    double now = fleet_now();
    struct fleet_req *q;
    char path[64];
    tick_clock(f, now);
    if (!f->o->n_campaigns || f->driver_busy || now < f->driver_next)
        return;
    switch (f->driver_phase) {
    case PH_WAIT_FLEET: {
        uint64_t ready = f->first_round + f->st.enroll_failed;
        if (ready < f->n) {
            f->driver_next = now + 0.5;
            return;
        }
        fprintf(stderr, "ota-fleet: all %u devices checked in (%.1f s); campaigns in %.0f s\n",
                f->n, fleet_elapsed(f), f->o->settle);
        f->driver_phase = PH_SETTLE;
        f->driver_next = now + f->o->settle;
        return;
    }
    case PH_SETTLE:
        f->driver_phase = PH_CREATE;
        /* fall through */
    case PH_CREATE: {
        struct fleet_campaign_plan *p = &f->o->campaigns[f->camp_cur];
        char *body = read_text(p->file);
        if (!body) {
            fprintf(stderr, "ota-fleet: --campaign %s: cannot read the file\n", p->file);
            f->fail_reason = "a campaign file could not be read";
            f->driver_phase = PH_DONE;
            return;
        }
        if (!(q = fleet_net_slot(f->net))) {
            free(body);
            return;
        }
        memset(&f->camp[f->camp_cur], 0, sizeof f->camp[0]);
        f->camp[f->camp_cur].expect_halt = p->expect_halt;
        q->tag = DRIVER_TAG;
        f->driver_busy = 1;
        fleet_net_start(f->net, q, "POST", "/v1/campaigns", f->o->admin_token, body, on_created,
                        f);
        return;
    }
    case PH_WATCH:
        if (!(q = fleet_net_slot(f->net)))
            return;
        snprintf(path, sizeof path, "/v1/campaigns/%lld", (long long)f->camp[f->camp_cur].id);
        q->tag = DRIVER_TAG;
        f->driver_busy = 1;
        fleet_net_start(f->net, q, "GET", path, f->o->admin_token, NULL, on_status, f);
        return;
    default:
        return;
    }
}

int fleet_driver_finished(const struct fleet *f)
{
    return f->o->n_campaigns && f->driver_phase == PH_DONE;
}
