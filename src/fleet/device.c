// SPDX-License-Identifier: Apache-2.0
/*
 * device.c - one simulated device's life, one request at a time, in the
 * order ota-agent goes (src/agent/agent.c): enroll once; check in; verify a
 * signed offer (verify.c) or take the signed no-offer statement; report
 * downloading, fetch the payload (payload.c, shared per digest, verified),
 * report installing and installed-rebooting; "reboot" for --reboot seconds;
 * then the outcome drawn for the release (outcome.c): success, or
 * rolled-back after a failed self-test or a trial that never confirmed;
 * check in again at once, as the agent does. Health reports
 * (POST /v1/devices/{id}/health, docs/operators-interface) go out after a
 * check-in when one is due; a 404 (a server without health) is counted, not
 * fatal. The agent asks three times about an offer that does not verify
 * before it reports the refusal; so does the simulator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fleet.h"
#include "ota/host.h"

#define F_SEEN 0x1u       /* completed a first check-in */
#define F_CRASHING 0x2u   /* runs a release it crashes on */

static const char *const REPORT_STATE[RP_N] = {"downloading", "installing",
                                               "installed-rebooting", "success", "failure",
                                               "rolled-back"};

void fleet_dev_id(const struct fleet *f, uint32_t i, char *out, size_t cap)
{
    snprintf(out, cap, "%s-%06u", f->o->prefix, i + 1);
}

static void at(struct fleet *f, uint32_t i, double delay)
{
    fleet_sched_at(&f->sched, i, fleet_now() + (delay > 0 ? delay : 0));
}

static double jittered(struct fleet *f, double base)
{
    static uint64_t s;
    if (!s)
        s = f->o->seed + 7;
    return base * (1.0 - f->o->jitter + 2.0 * f->o->jitter * fleet_rand01(&s));
}

static void next_checkin(struct fleet *f, uint32_t i)
{
    f->dev[i].step = DS_CHECKIN;
    at(f, i, jittered(f, f->interval));
}

/* Transport trouble or a 5xx: the same step again a little later. */
static void retry_later(struct fleet *f, uint32_t i, const struct fleet_req *q)
{
    if (q->status == 0)
        f->st.http_transport_errors++;
    else if (q->status >= 500)
        f->st.http_5xx++;
    at(f, i, jittered(f, 2.0));
}

static void queue_report(struct fleet *f, uint32_t i, enum fleet_report_kind k, int32_t code,
                         int checkin_now)
{
    struct fleet_dev *d = &f->dev[i];
    d->step = DS_REPORT;
    d->report = (uint8_t)k;
    d->report_code = code;
    d->after = (uint8_t)checkin_now;
    at(f, i, 0);
}

/* --health-interval, or the check-in interval when not given */
static double health_interval(const struct fleet *f)
{
    return f->o->health_interval < 0 ? f->interval : f->o->health_interval;
}

void fleet_dev_schedule_first(struct fleet *f, uint32_t i)
{
    static uint64_t s;
    struct fleet_dev *d = &f->dev[i];
    if (!s)
        s = f->o->seed + 3;
    if (d->step == DS_STOPPED)
        return;
    d->last_health = fleet_now();
    d->health_at = d->last_health + health_interval(f) * fleet_rand01(&s);
    if (!d->token[0]) {
        d->step = DS_ENROLL; /* started by fleet_dev_enroll_next(), in id order */
        return;
    }
    d->step = DS_CHECKIN;
    at(f, i, f->interval * fleet_rand01(&s));
}

/* ---- answers ------------------------------------------------------------ */

static void on_enroll(struct fleet_req *q, void *ctx)
{
    struct fleet *f = ctx;
    uint32_t i = q->tag;
    struct fleet_dev *d = &f->dev[i];
    json_t *o;
    const char *t;
    if (q->status == 0 || q->status >= 500) {
        retry_later(f, i, q);
        return;
    }
    o = json_loads(q->resp.p, 0, NULL);
    t = o ? json_string_value(json_object_get(o, "token")) : NULL;
    if ((q->status == 201 || q->status == 200) && t && strlen(t) < sizeof d->token) {
        snprintf(d->token, sizeof d->token, "%s", t);
        f->st.enrolled++;
        d->step = DS_CHECKIN;
        at(f, i, 0);
    } else {
        /* 401 (token used up or expired), 403 (other hardware), 409 (id
         * taken: that device needs its own token, e.g. --tokens) */
        char id[80];
        fleet_dev_id(f, i, id, sizeof id);
        if (f->st.enroll_failed++ < 3)
            fprintf(stderr, "ota-fleet: enrollment of %s refused: HTTP %ld: %.200s\n", id,
                    q->status, q->resp.p);
        d->step = DS_STOPPED;
    }
    json_decref(o);
}

static int health_due(const struct fleet *f, const struct fleet_dev *d)
{
    return health_interval(f) > 0 && fleet_now() >= d->health_at;
}

static void offer_refused(struct fleet *f, uint32_t i, const uint8_t *man, size_t len, ota_err e,
                          const char *why)
{
    struct fleet_dev *d = &f->dev[i];
    struct ota_manifest pm;
    int transit = e == OTA_ERR_MANIFEST_MALFORMED || e == OTA_ERR_MANIFEST_SIG_INVALID ||
                  e == OTA_ERR_MANIFEST_VERSION;
    int stale = e == OTA_ERR_MANIFEST_STALE || e == OTA_ERR_MANIFEST_DOWNGRADE ||
                e == OTA_ERR_MANIFEST_EXPIRED;
    (void)why;
    if (transit && ++d->refusals < 3) { /* damaged in transit? ask again (agent) */
        d->step = DS_CHECKIN;
        at(f, i, jittered(f, 1.0));
        return;
    }
    d->refusals = 0;
    /* a stale offer proves nothing about the campaign it names: reported
     * as the device's own (campaign 0), like the agent */
    d->campaign = !stale && ota_manifest_parse(man, len, &pm, NULL) == OTA_OK ? pm.campaign_id
                                                                             : 0;
    queue_report(f, i, RP_FAILURE, (int32_t)e, 0);
}

static void on_checkin(struct fleet_req *q, void *ctx)
{
    struct fleet *f = ctx;
    uint32_t i = q->tag;
    struct fleet_dev *d = &f->dev[i];
    uint8_t man[OTA_MANIFEST_MAX_LEN];
    size_t len = 0;
    const char *action, *b64;
    struct ota_manifest m;
    char why[300];
    json_t *o;
    ota_err e;

    if (q->status == 0 || q->status >= 500) {
        f->st.checkin_errors++;
        retry_later(f, i, q);
        return;
    }
    if (q->status == 401) { /* the server does not know this token (new data?) */
        f->st.checkin_errors++;
        d->token[0] = 0;
        d->step = DS_ENROLL;
        at(f, i, 0);
        return;
    }
    o = q->status == 200 ? json_loads(q->resp.p, 0, NULL) : NULL;
    action = o ? json_string_value(json_object_get(o, "action")) : NULL;
    if (!action) {
        f->st.checkin_errors++;
        json_decref(o);
        next_checkin(f, i);
        return;
    }
    f->st.checkins++;
    f->st.checkins_window++;
    if (f->o->interval <= 0 && json_is_integer(json_object_get(o, "poll_interval"))) {
        json_int_t pi = json_integer_value(json_object_get(o, "poll_interval"));
        if (pi >= 1 && pi <= 86400) /* the server's suggestion, as the agent takes it */
            f->interval = (double)pi;
    }
    d->checkins_since_health++;
    if (!(d->flags & F_SEEN)) {
        d->flags |= F_SEEN;
        f->first_round++;
    }
    if (strcmp(action, "update") != 0) {
        b64 = json_string_value(json_object_get(o, "no_offer"));
        if (b64 && ota_base64_decode(b64, man, sizeof man, &len) == 0)
            fleet_take_no_offer(f, i, man, len);
        json_decref(o);
        if (health_due(f, d)) {
            d->step = DS_HEALTH;
            at(f, i, 0);
        } else {
            next_checkin(f, i);
        }
        return;
    }
    f->st.offers++;
    b64 = json_string_value(json_object_get(o, "manifest"));
    if (!b64 || ota_base64_decode(b64, man, sizeof man, &len)) {
        json_decref(o);
        f->st.checkin_errors++;
        next_checkin(f, i);
        return;
    }
    json_decref(o);
    e = fleet_verify_offer(f, i, man, len, &m, why, sizeof why);
    if (e) {
        offer_refused(f, i, man, len, e, why);
        return;
    }
    d->refusals = 0;
    if (m.offer_seq > d->offer_seq)
        d->offer_seq = m.offer_seq;
    d->campaign = m.campaign_id;
    {
        int p = fleet_payload_get(f, &m);
        if (p < 0) { /* more distinct payloads than the table holds */
            next_checkin(f, i);
            return;
        }
        d->pl = (uint8_t)p;
    }
    if (f->o->lean_reports) {
        d->step = DS_FETCH;
        at(f, i, 0);
    } else {
        queue_report(f, i, RP_DOWNLOADING, 0, 0);
    }
}

static void payload_ready(struct fleet *f, uint32_t i)
{
    struct fleet_dev *d = &f->dev[i];
    struct fleet_payload *p = &f->pl[d->pl];
    if (p->state == PL_BAD) {
        queue_report(f, i, RP_FAILURE, (int32_t)p->err, 0);
        return;
    }
    d->target = (uint8_t)p->release;
    if (f->o->lean_reports) {
        d->step = DS_REBOOT;
        at(f, i, f->o->reboot);
    } else {
        queue_report(f, i, RP_INSTALLING, 0, 0);
    }
}

static void on_fetch(struct fleet_req *q, void *ctx)
{
    struct fleet *f = ctx;
    uint32_t i = q->tag;
    struct fleet_payload *p = &f->pl[f->dev[i].pl];
    p->fetches++;
    f->st.payload_fetches++;
    if (q->status != 200) {
        p->state = PL_NONE; /* the next device to want it fetches again */
        if (q->status == 0 || q->status >= 500) {
            retry_later(f, i, q);
            return;
        }
        next_checkin(f, i); /* e.g. 404: the release went away; ask again */
        return;
    }
    f->st.payload_bytes += q->resp.len;
    fleet_payload_accept(f, p, (const uint8_t *)q->resp.p, q->resp.len);
    payload_ready(f, i);
}

static void on_report(struct fleet_req *q, void *ctx)
{
    struct fleet *f = ctx;
    uint32_t i = q->tag;
    struct fleet_dev *d = &f->dev[i];
    enum fleet_report_kind k = d->report;
    if (q->status == 0 || q->status >= 500) {
        if (k <= RP_INSTALLED) { /* best effort, like the agent */
            f->st.report_errors++;
        } else {
            retry_later(f, i, q); /* a final outcome is re-sent until taken */
            return;
        }
    } else if (q->status == 200 || q->status == 201) {
        f->st.reports_sent[k]++;
    } else {
        f->st.report_errors++; /* 4xx: the server will never take it */
    }
    switch (k) {
    case RP_DOWNLOADING:
        d->step = DS_FETCH;
        at(f, i, 0);
        break;
    case RP_INSTALLING:
        queue_report(f, i, RP_INSTALLED, 0, 0);
        break;
    case RP_INSTALLED:
        d->step = DS_REBOOT;
        at(f, i, f->o->reboot);
        break;
    default:
        if (d->after) {
            d->step = DS_CHECKIN;
            at(f, i, 0);
        } else {
            next_checkin(f, i);
        }
    }
}

static void on_health(struct fleet_req *q, void *ctx)
{
    struct fleet *f = ctx;
    uint32_t i = q->tag;
    if (q->status == 204 || q->status == 200 || q->status == 201)
        f->st.health_sent++;
    else if (q->status == 404)
        f->st.health_404++;
    else
        f->st.health_errors++;
    if (q->status == 0)
        f->st.http_transport_errors++;
    next_checkin(f, i);
}

/* ---- requests ------------------------------------------------------------ */

static char *checkin_body(const struct fleet *f, const struct fleet_dev *d)
{
    const struct fleet_release *r = &f->rel[d->cur];
    char hex[2 * OTA_SHA256_LEN + 1], hw[OTA_HW_ID_TEXT_MAX];
    json_t *o;
    char *s;
    ota_hex_encode(r->digest, OTA_SHA256_LEN, hex);
    ota_hw_id_format(f->hw_id, f->hw_id_len, hw);
    o = json_pack("{s:s,s:s,s:s,s:s,s:i}", "hw_id", hw, "current_version", r->version_str,
                  "current_digest", hex, "slot_state", "confirmed", "manifest_format",
                  (int)OTA_MANIFEST_FORMAT);
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *report_body(const struct fleet *f, const struct fleet_dev *d)
{
    const char *tv = f->rel[d->target].version_str, *cv = f->rel[d->cur].version_str;
    char detail[300];
    json_t *o;
    char *s;
    switch ((enum fleet_report_kind)d->report) {
    case RP_SUCCESS:
        snprintf(detail, sizeof detail, "running %s (confirmed)", cv);
        break;
    case RP_ROLLED_BACK:
        snprintf(detail, sizeof detail, "trial of %s %s; bootloader reverted, running %s", tv,
                 d->outcome == OUT_SELFTEST ? "failed its self-test"
                                            : "never confirmed (crash or watchdog)", cv);
        break;
    case RP_FAILURE:
        snprintf(detail, sizeof detail, "%s: %s: %s",
                 d->report_code >= OTA_ERR_MANIFEST_MALFORMED &&
                         d->report_code <= OTA_ERR_MANIFEST_DOWNGRADE
                     ? "offer refused before download" : "payload did not verify",
                 ota_errname((ota_err)d->report_code), ota_strerror((ota_err)d->report_code));
        break;
    case RP_INSTALLED:
        snprintf(detail, sizeof detail, "%s", tv);
        break;
    default:
        detail[0] = 0;
    }
    o = json_pack("{s:I,s:s,s:I,s:s}", "campaign_id", (json_int_t)d->campaign, "state",
                  REPORT_STATE[d->report], "code", (json_int_t)d->report_code, "detail", detail);
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

static char *health_body(struct fleet *f, uint32_t i)
{
    struct fleet_dev *d = &f->dev[i];
    double now = fleet_now(), rate = f->o->clock_rate > 0 ? f->o->clock_rate : 1.0;
    double period = (now - d->last_health) * rate;
    unsigned crashes;
    json_t *o;
    char *s;
    if (period < 1)
        period = 1;
    crashes = fleet_crashes_draw(f, i, period / 3600.0, (d->flags & F_CRASHING) != 0);
    o = json_pack("{s:s,s:I,s:I,s:I,s:{s:I}}", "release", f->rel[d->cur].version_str, "period_s",
                  (json_int_t)(period + 0.5), "crashes", (json_int_t)crashes, "resets",
                  (json_int_t)crashes, "counters", "checkins",
                  (json_int_t)d->checkins_since_health);
    d->checkins_since_health = 0;
    d->last_health = now;
    d->health_at = now + jittered(f, health_interval(f));
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* The rebooted device's verdict on the release it tried. */
static void reboot_done(struct fleet *f, uint32_t i)
{
    struct fleet_dev *d = &f->dev[i];
    d->outcome = (uint8_t)fleet_outcome_draw(f, i, d->target);
    f->st.outcomes[d->outcome]++;
    if (d->outcome == OUT_HEALTHY || d->outcome == OUT_CRASHING) {
        d->cur = d->target;
        d->flags = (uint8_t)((d->flags & ~F_CRASHING) |
                             (d->outcome == OUT_CRASHING ? F_CRASHING : 0));
        d->last_health = fleet_now(); /* the soak on the new release starts now */
        d->checkins_since_health = 0;
        queue_report(f, i, RP_SUCCESS, 0, 1);
    } else {
        queue_report(f, i, RP_ROLLED_BACK, OTA_ERR_BOOT_NOT_ON_TRIAL, 1);
    }
}

static void start_enroll(struct fleet *f, uint32_t i, struct fleet_req *q)
{
    char id[80], hw[OTA_HW_ID_TEXT_MAX];
    double now = fleet_now();
    json_t *o;
    q->tag = i;
    fleet_dev_id(f, i, id, sizeof id);
    f->enroll_next = (f->enroll_next > now - 1.0 ? f->enroll_next : now) + 1.0 / f->o->enroll_rate;
    ota_hw_id_format(f->hw_id, f->hw_id_len, hw);
    o = json_pack("{s:s,s:s,s:s}", "enrollment_token", f->o->enrollment_token, "device_id", id,
                  "hw_id", hw);
    fleet_net_start(f->net, q, "POST", "/v1/enroll", NULL, json_dumps(o, JSON_COMPACT),
                    on_enroll, f);
    json_decref(o);
}

/* First enrollments go in id order at --enroll-rate, ahead of the timer
 * heap: were they in the heap, a rate-limited device would keep taking a
 * later due time and lose every free slot to the backlog of check-ins. */
int fleet_dev_enroll_next(struct fleet *f, struct fleet_req *q)
{
    while (f->enroll_cursor < f->n && f->dev[f->enroll_cursor].step != DS_ENROLL)
        f->enroll_cursor++;
    if (f->enroll_cursor >= f->n || fleet_now() < f->enroll_next)
        return 0;
    start_enroll(f, f->enroll_cursor++, q);
    return 1;
}

int fleet_dev_start(struct fleet *f, uint32_t i, struct fleet_req *q)
{
    struct fleet_dev *d = &f->dev[i];
    char id[80], path[256], hex[2 * OTA_SHA256_LEN + 1];
    double now = fleet_now();
    q->tag = i;
    fleet_dev_id(f, i, id, sizeof id);
    switch ((enum dev_step)d->step) {
    case DS_ENROLL: /* again (the server forgot the token): rate-limited too */
        if (now < f->enroll_next) {
            fleet_sched_at(&f->sched, i, f->enroll_next + 0.5);
            return 0;
        }
        start_enroll(f, i, q);
        return 1;
    case DS_CHECKIN:
        snprintf(path, sizeof path, "/v1/devices/%s/checkin", id);
        fleet_net_start(f->net, q, "POST", path, d->token, checkin_body(f, d), on_checkin, f);
        return 1;
    case DS_REPORT:
        snprintf(path, sizeof path, "/v1/devices/%s/reports", id);
        fleet_net_start(f->net, q, "POST", path, d->token, report_body(f, d), on_report, f);
        return 1;
    case DS_HEALTH:
        snprintf(path, sizeof path, "/v1/devices/%s/health", id);
        fleet_net_start(f->net, q, "POST", path, d->token, health_body(f, i), on_health, f);
        return 1;
    case DS_FETCH: {
        struct fleet_payload *p = &f->pl[d->pl];
        if (p->state == PL_OK || p->state == PL_BAD) {
            f->st.payload_shared++;
            payload_ready(f, i);
            return 0;
        }
        if (p->state == PL_FETCHING) { /* another device is fetching it */
            at(f, i, 0.1);
            return 0;
        }
        p->state = PL_FETCHING;
        ota_hex_encode(p->digest, OTA_SHA256_LEN, hex);
        snprintf(path, sizeof path, "/v1/artifacts/%s", hex);
        fleet_net_start(f->net, q, "GET", path, d->token, NULL, on_fetch, f);
        return 1;
    }
    case DS_REBOOT:
        reboot_done(f, i);
        return 0;
    case DS_STOPPED:
        return 0;
    }
    return 0;
}
