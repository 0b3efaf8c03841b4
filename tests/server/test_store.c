// SPDX-License-Identifier: Apache-2.0
/*
 * test_store.c - contract test of the storage interface (src/server/store.h)
 * against the SQLite backend, or PostgreSQL with OTA_TEST_PG. Every backend
 * must pass the same checks: unique keys, enrollment atomicity, conditional
 * campaign transitions, report state rules, counts, inventory batches,
 * delta cache, durability across reopen, users (API tokens, sessions,
 * audit log).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "../test.h"

static char g_path[256];

/* OTA_TEST_PG=<conninfo of an empty database>: run the same contract
 * against the PostgreSQL backend (tests/server/test_postgres_store.py). */
static struct store *open_store(void)
{
    char err[512] = "built without PostgreSQL support";
    const char *pg = getenv("OTA_TEST_PG");
    struct store *s = NULL;
    if (!pg || !*pg)
        s = store_sqlite_open(g_path, err, sizeof(err));
#ifdef OTA_SERVER_HAVE_PG
    else
        s = store_pg_open(pg, err, sizeof(err));
#endif
    if (!s)
        fprintf(stderr, "open failed: %s\n", err);
    return s;
}

static void dev(struct srv_device *d, const char *id, uint8_t tok)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", id);
    memset(d->token_hash, tok, sizeof(d->token_hash));
    snprintf(d->hw_id, sizeof(d->hw_id), "hw");
    d->created_at = 100;
}

static int64_t g_release_id;

static void test_devices_and_tokens(void)
{
    struct store *s = open_store();
    REQUIRE(s);
    const struct store_ops *o = s->ops;
    struct srv_device d, got;
    dev(&d, "a", 1);
    CHECK_EQ(o->device_insert(s, &d), STORE_OK);
    CHECK_EQ(o->device_insert(s, &d), STORE_CONFLICT); /* same id */
    dev(&d, "b", 1);
    CHECK_EQ(o->device_insert(s, &d), STORE_CONFLICT); /* same token hash */
    dev(&d, "b", 2);
    CHECK_EQ(o->device_insert(s, &d), STORE_OK);
    CHECK_EQ(o->device_get(s, "a", &got), STORE_OK);
    CHECK(strcmp(got.id, "a") == 0 && got.token_hash[0] == 1 && got.last_seen == 0);
    uint8_t h[32];
    memset(h, 2, 32);
    CHECK_EQ(o->device_by_token(s, h, &got), STORE_OK);
    CHECK(strcmp(got.id, "b") == 0);
    memset(h, 9, 32);
    CHECK_EQ(o->device_by_token(s, h, &got), STORE_NOT_FOUND);
    CHECK_EQ(o->device_set_token(s, "a", h), STORE_OK);
    CHECK_EQ(o->device_by_token(s, h, &got), STORE_OK);
    CHECK_EQ(o->device_set_tags(s, "nobody", ",x,"), STORE_NOT_FOUND);
    CHECK_EQ(o->device_set_tags(s, "a", ",eu,"), STORE_OK);
    CHECK_EQ(o->device_count(s), 2);

    /* Inventory batch: last seen always, state only when flagged. */
    struct srv_seen v[2];
    memset(v, 0, sizeof(v));
    snprintf(v[0].device_id, sizeof(v[0].device_id), "a");
    v[0].at = 500;
    snprintf(v[0].current_version, sizeof(v[0].current_version), "1.2.3");
    snprintf(v[0].running_slot, sizeof(v[0].running_slot), "B");
    v[0].state_changed = 1;
    snprintf(v[1].device_id, sizeof(v[1].device_id), "ghost"); /* unknown: never shown */
    v[1].at = 600;
    CHECK_EQ(o->devices_seen(s, v, 2), STORE_OK);
    CHECK_EQ(o->device_get(s, "a", &got), STORE_OK);
    CHECK_EQ(got.last_seen, 500);
    CHECK(strcmp(got.current_version, "1.2.3") == 0 && strcmp(got.tags, ",eu,") == 0);
    CHECK(strcmp(got.running_slot, "B") == 0);
    CHECK_EQ(o->device_get_auth(s, "a", &got), STORE_OK); /* the check-in path's read */
    CHECK(strcmp(got.running_slot, "B") == 0);
    CHECK_EQ(o->device_get(s, "b", &got), STORE_OK);
    CHECK(got.running_slot[0] == '\0'); /* never reported */
    v[0].at = 400; /* older: last seen never goes back */
    v[0].state_changed = 0;
    snprintf(v[0].current_version, sizeof(v[0].current_version), "9.9.9");
    CHECK_EQ(o->devices_seen(s, v, 1), STORE_OK);
    CHECK_EQ(o->device_get(s, "a", &got), STORE_OK);
    CHECK_EQ(got.last_seen, 500);
    CHECK(strcmp(got.current_version, "1.2.3") == 0);
    CHECK_EQ(o->device_get(s, "ghost", &got), STORE_NOT_FOUND);
    s->ops->close(s);
}

static void test_enrollment_atomic(void)
{
    struct store *s = open_store();
    REQUIRE(s);
    const struct store_ops *o = s->ops;
    struct srv_enroll_token t, used;
    struct srv_device d;
    memset(&t, 0, sizeof(t));
    memset(t.token_hash, 7, 32);
    snprintf(t.tags, sizeof(t.tags), ",factory,");
    snprintf(t.hw_id, sizeof(t.hw_id), "hw");
    t.max_uses = 2;
    t.expires_at = 1000;
    CHECK_EQ(o->enroll_insert(s, &t), STORE_OK);
    dev(&d, "e1", 0x11);
    CHECK_EQ(o->enroll_use(s, t.token_hash, 10, &d, &used), STORE_OK);
    CHECK(strcmp(d.tags, ",factory,") == 0);
    dev(&d, "e1", 0x12);
    CHECK_EQ(o->enroll_use(s, t.token_hash, 10, &d, &used), STORE_CONFLICT);
    dev(&d, "e2", 0x13);
    snprintf(d.hw_id, sizeof(d.hw_id), "other");
    CHECK_EQ(o->enroll_use(s, t.token_hash, 10, &d, &used), STORE_REFUSED);
    dev(&d, "e3", 0x14);
    CHECK_EQ(o->enroll_use(s, t.token_hash, 1000, &d, &used), STORE_NOT_FOUND); /* expired */
    CHECK_EQ(o->enroll_use(s, t.token_hash, 10, &d, &used), STORE_OK);          /* 2nd use */
    dev(&d, "e4", 0x15);
    CHECK_EQ(o->enroll_use(s, t.token_hash, 10, &d, &used), STORE_NOT_FOUND); /* used up */
    struct srv_device got;
    CHECK_EQ(o->device_get(s, "e2", &got), STORE_NOT_FOUND);
    CHECK_EQ(o->device_get(s, "e4", &got), STORE_NOT_FOUND);
    s->ops->close(s);
}

struct collect_dc {
    int n;
};

static void count_dc(void *ctx, const struct srv_dc *dc)
{
    ((struct collect_dc *)ctx)->n += dc->state >= 0;
}

static void test_releases_campaigns_reports(void)
{
    struct store *s = open_store();
    REQUIRE(s);
    const struct store_ops *o = s->ops;
    struct srv_release r, got;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "v1");
    snprintf(r.hw_id, sizeof(r.hw_id), "hw");
    memset(r.digest, 0xaa, 32);
    r.size = 1234;
    r.version.major = 1;
    CHECK_EQ(o->release_insert(s, &r), STORE_OK);
    CHECK(r.id > 0);
    g_release_id = r.id;
    CHECK_EQ(o->release_insert(s, &r), STORE_CONFLICT); /* same digest */
    CHECK_EQ(o->release_by_digest(s, r.digest, &got), STORE_OK);
    CHECK(got.id == r.id && got.size == 1234 && got.version.major == 1);
    CHECK(got.link_slot[0] == '\0' && !got.has_other);

    /* Per-slot release: the slot-A image, then the slot-B image, once. */
    struct srv_release ps;
    uint8_t other[32], third[32];
    memset(&ps, 0, sizeof(ps));
    snprintf(ps.name, sizeof(ps.name), "v2");
    snprintf(ps.hw_id, sizeof(ps.hw_id), "hw");
    snprintf(ps.link_slot, sizeof(ps.link_slot), "A");
    memset(ps.digest, 0xa2, 32);
    ps.size = 100;
    memset(other, 0xb2, 32);
    memset(third, 0xc2, 32);
    CHECK_EQ(o->release_insert(s, &ps), STORE_OK);
    CHECK_EQ(o->release_set_other(s, ps.id + 1000, other, 101), STORE_NOT_FOUND);
    CHECK_EQ(o->release_set_other(s, ps.id, r.digest, 101), STORE_CONFLICT); /* r's image */
    CHECK_EQ(o->release_set_other(s, ps.id, other, 101), STORE_OK);
    CHECK_EQ(o->release_set_other(s, ps.id, third, 102), STORE_CONFLICT); /* has one */
    CHECK_EQ(o->release_set_other(s, r.id, other, 101), STORE_CONFLICT); /* ps's image */
    CHECK_EQ(o->release_by_digest(s, other, &got), STORE_OK); /* by either image */
    CHECK(got.id == ps.id && strcmp(got.link_slot, "A") == 0 && got.has_other &&
          memcmp(got.other_digest, other, 32) == 0 && got.other_size == 101 &&
          memcmp(got.digest, ps.digest, 32) == 0);
    CHECK_EQ(o->release_get(s, ps.id, &got), STORE_OK);
    CHECK(got.has_other && got.other_size == 101);
    CHECK_EQ(o->release_by_digest(s, third, &got), STORE_NOT_FOUND);
    CHECK_EQ(o->release_delete(s, ps.id), STORE_OK);
    CHECK_EQ(o->release_by_digest(s, other, &got), STORE_NOT_FOUND);

    struct srv_campaign c, cg;
    memset(&c, 0, sizeof(c));
    c.release_id = r.id;
    c.n_stages = 2;
    c.stages[0].percent = 12.5;
    c.stages[0].soak_seconds = 60;
    c.stages[0].min_finished = 3;
    c.stages[0].max_failure_ratio = 0.25;
    c.stages[1].percent = 100;
    c.stages[1].max_failure_ratio = 0.1;
    int64_t gen0 = o->campaign_generation(s);
    CHECK_EQ(o->campaign_insert(s, &c), STORE_OK);
    CHECK(o->campaign_generation(s) > gen0);
    CHECK_EQ(o->campaign_get(s, c.id, &cg), STORE_OK);
    CHECK(cg.n_stages == 2 && cg.stages[0].percent == 12.5 && cg.stages[0].soak_seconds == 60 &&
          cg.stages[0].min_finished == 3 && cg.stages[0].max_failure_ratio == 0.25 &&
          cg.stages[1].max_failure_ratio == 0.1);
    CHECK_EQ(o->release_delete(s, r.id), STORE_CONFLICT); /* in use */

    CHECK_EQ(cg.n_warnings, 0);

    /* Conditional transitions: only from the expected state and stage; the
     * update also carries the (edited) stages and the warnings. */
    cg.stage = 1;
    cg.stages[1].min_finished = 7;
    cg.n_warnings = 1;
    cg.warnings[0] = (struct srv_warning){1, WARN_BELOW_MIN, 2, 7};
    CHECK_EQ(o->campaign_update(s, &cg, CAMPAIGN_ACTIVE, 0), STORE_OK);
    cg.stage = 2;
    CHECK_EQ(o->campaign_update(s, &cg, CAMPAIGN_ACTIVE, 0), STORE_CONFLICT);
    CHECK_EQ(o->campaign_get(s, c.id, &cg), STORE_OK);
    CHECK_EQ(cg.stage, 1);
    CHECK(cg.stages[1].min_finished == 7 && cg.n_warnings == 1 && cg.warnings[0].stage == 1 &&
          cg.warnings[0].code == WARN_BELOW_MIN && cg.warnings[0].placed == 2 &&
          cg.warnings[0].min_finished == 7);

    /* Offers and reports. */
    struct srv_dc dc;
    memset(&dc, 0, sizeof(dc));
    dc.campaign_id = c.id;
    snprintf(dc.device_id, sizeof(dc.device_id), "a");
    dc.stage = 1;
    CHECK_EQ(o->dc_offer(s, &dc), STORE_OK);
    dc.stage = 0;
    CHECK_EQ(o->dc_offer(s, &dc), STORE_OK); /* existing row kept */
    struct srv_dc dg;
    CHECK_EQ(o->dc_get(s, c.id, "a", &dg), STORE_OK);
    CHECK(dg.stage == 1 && dg.state == DC_OFFERED);

    struct srv_report rep;
    memset(&rep, 0, sizeof(rep));
    snprintf(rep.device_id, sizeof(rep.device_id), "a");
    rep.campaign_id = c.id;
    rep.state = DC_FAILURE;
    rep.code = 156;
    snprintf(rep.detail, sizeof(rep.detail), "hash");
    rep.state = DC_DOWNLOADING;
    CHECK_EQ(o->report_insert(s, &rep, "downloading"), STORE_OK);
    rep.state = DC_FAILURE;
    CHECK_EQ(o->report_insert(s, &rep, "failure code=156 hash"), STORE_OK);
    int64_t first = rep.id;
    rep.state = DC_DOWNLOADING; /* late non-final: row stays failed */
    CHECK_EQ(o->report_insert(s, &rep, "downloading"), STORE_REFUSED);
    CHECK_EQ(rep.id, first);
    CHECK_EQ(o->dc_get(s, c.id, "a", &dg), STORE_OK);
    CHECK_EQ(dg.state, DC_FAILURE);
    rep.state = DC_ROLLED_BACK; /* final after final: refused, nothing written */
    int64_t before = rep.id;
    CHECK_EQ(o->report_insert(s, &rep, "rolled-back"), STORE_REFUSED);
    rep.state = DC_SUCCESS;
    CHECK_EQ(o->report_insert(s, &rep, "success"), STORE_REFUSED);
    rep.state = DC_DOWNLOADING; /* late non-final: refused as well */
    CHECK_EQ(o->report_insert(s, &rep, "downloading"), STORE_REFUSED);
    CHECK_EQ(rep.id, before);
    struct srv_counts k;
    CHECK_EQ(o->campaign_counts(s, c.id, &k), STORE_OK);
    CHECK_EQ(k.by_stage_state[1][DC_FAILURE], 1);
    CHECK_EQ(k.by_stage_state[1][DC_ROLLED_BACK], 0);
    CHECK_EQ(k.by_stage_state[1][DC_SUCCESS], 0);
    CHECK_EQ(k.by_stage_state[1][DC_OFFERED], 0);
    struct srv_device d;
    CHECK_EQ(o->device_get(s, "a", &d), STORE_OK);
    CHECK(strcmp(d.last_result, "failure code=156 hash") == 0);
    /* A campaign that made this device no offer: refused too. */
    rep.campaign_id = c.id + 1000;
    rep.state = DC_SUCCESS;
    CHECK_EQ(o->report_insert(s, &rep, "success"), STORE_REFUSED);
    rep.campaign_id = c.id;
    struct collect_dc cd = {0};
    CHECK_EQ(o->dc_list(s, c.id, DC_FAILURE, "", 10, count_dc, &cd), STORE_OK);
    CHECK_EQ(cd.n, 1);
    cd.n = 0;
    CHECK_EQ(o->dc_list(s, c.id, DC_SUCCESS, "", 10, count_dc, &cd), STORE_OK);
    CHECK_EQ(cd.n, 0);
    CHECK_EQ(o->dc_list(s, c.id, -1, "a", 10, count_dc, &cd), STORE_OK);
    CHECK_EQ(cd.n, 0); /* nothing after "a" */

    /* Delta cache, including the "no useful delta" verdict. */
    uint8_t base[32], target[32], p[32], pg[32];
    uint64_t size = 1;
    memset(base, 1, 32);
    memset(target, 2, 32);
    memset(p, 3, 32);
    CHECK_EQ(o->delta_get(s, base, target, pg, &size), STORE_NOT_FOUND);
    CHECK_EQ(o->delta_put(s, base, target, p, 77), STORE_OK);
    CHECK_EQ(o->delta_get(s, base, target, pg, &size), STORE_OK);
    CHECK(size == 77 && memcmp(pg, p, 32) == 0);
    CHECK_EQ(o->delta_put(s, target, base, p, 0), STORE_OK);
    CHECK_EQ(o->delta_get(s, target, base, pg, &size), STORE_OK);
    CHECK_EQ(size, 0);
    s->ops->close(s);
}

struct collect {
    int n;
    int64_t last;
};

static void count_report(void *ctx, const struct srv_report *r)
{
    struct collect *c = ctx;
    c->n++;
    c->last = r->id;
}

static void test_survives_reopen(void)
{
    struct store *s = open_store();
    REQUIRE(s);
    struct collect c = {0, 0};
    CHECK_EQ(s->ops->report_list(s, "a", 0, 100, count_report, &c), STORE_OK);
    CHECK_EQ(c.n, 2); /* downloading, failure; the refused ones left no trace */
    struct collect c2 = {0, 0};
    CHECK_EQ(s->ops->report_list(s, "a", c.last - 1, 100, count_report, &c2), STORE_OK);
    CHECK_EQ(c2.n, 1);
    struct srv_device d;
    CHECK_EQ(s->ops->device_get(s, "e3", &d), STORE_OK);
    CHECK_EQ(s->ops->device_delete(s, "e3"), STORE_OK);
    CHECK_EQ(s->ops->device_delete(s, "e3"), STORE_NOT_FOUND);
    char v[64];
    CHECK_EQ(s->ops->setting_put(s, "k", "v1"), STORE_OK);
    CHECK_EQ(s->ops->setting_put(s, "k", "v2"), STORE_OK);
    CHECK_EQ(s->ops->setting_get(s, "k", v, sizeof(v)), STORE_OK);
    CHECK(strcmp(v, "v2") == 0);
    CHECK_EQ(s->ops->setting_get(s, "missing", v, sizeof(v)), STORE_NOT_FOUND);
    s->ops->close(s);
}

/* A deleted device's history goes with it: an id registered again starts
 * with no reports, no campaign progress and nothing counted. */
static void test_delete_takes_history(void)
{
    struct store *s = open_store();
    REQUIRE(s);
    const struct store_ops *o = s->ops;
    struct srv_campaign c;
    memset(&c, 0, sizeof(c));
    c.release_id = g_release_id;
    c.n_stages = 1;
    c.stages[0].percent = 100;
    c.stages[0].max_failure_ratio = 1;
    CHECK_EQ(o->campaign_insert(s, &c), STORE_OK);
    struct srv_device d;
    dev(&d, "gone", 0x31);
    CHECK_EQ(o->device_insert(s, &d), STORE_OK);
    struct srv_dc dc;
    memset(&dc, 0, sizeof(dc));
    dc.campaign_id = c.id;
    snprintf(dc.device_id, sizeof(dc.device_id), "gone");
    CHECK_EQ(o->dc_offer(s, &dc), STORE_OK);
    struct srv_report rep;
    memset(&rep, 0, sizeof(rep));
    snprintf(rep.device_id, sizeof(rep.device_id), "gone");
    rep.campaign_id = c.id;
    rep.state = DC_FAILURE;
    CHECK_EQ(o->report_insert(s, &rep, "failure"), STORE_OK);
    rep.campaign_id = 0;
    CHECK_EQ(o->report_insert(s, &rep, "failure"), STORE_OK);
    struct srv_counts k;
    CHECK_EQ(o->campaign_counts(s, c.id, &k), STORE_OK);
    CHECK_EQ(k.by_stage_state[0][DC_FAILURE], 1);

    CHECK_EQ(o->device_delete(s, "gone"), STORE_OK);
    dev(&d, "gone", 0x32); /* someone registers the id again */
    CHECK_EQ(o->device_insert(s, &d), STORE_OK);
    struct collect cr = {0, 0};
    CHECK_EQ(o->report_list(s, "gone", 0, 100, count_report, &cr), STORE_OK);
    CHECK_EQ(cr.n, 0);
    struct srv_dc dg;
    CHECK_EQ(o->dc_get(s, c.id, "gone", &dg), STORE_NOT_FOUND);
    CHECK_EQ(o->campaign_counts(s, c.id, &k), STORE_OK);
    CHECK_EQ(k.by_stage_state[0][DC_FAILURE], 0);
    struct srv_device got;
    CHECK_EQ(o->device_get(s, "gone", &got), STORE_OK);
    CHECK(got.last_result[0] == '\0' && got.last_seen == 0);
    CHECK_EQ(o->device_delete(s, "gone"), STORE_OK);
    s->ops->close(s);
}

struct collect_et {
    int n;
    int64_t id[8];
    int64_t uses[8];
};

static void count_et(void *ctx, const struct srv_enroll_token *t)
{
    struct collect_et *c = ctx;
    if (c->n < 8) {
        c->id[c->n] = t->id;
        c->uses[c->n] = t->uses;
    }
    c->n++;
}

/* Enrollment tokens can be listed (never their secret) and revoked. */
static void test_enroll_list_revoke(void)
{
    struct store *s = open_store();
    REQUIRE(s);
    const struct store_ops *o = s->ops;
    struct collect_et before = {0};
    CHECK_EQ(o->enroll_list(s, count_et, &before), STORE_OK);
    struct srv_enroll_token t, used;
    memset(&t, 0, sizeof(t));
    memset(t.token_hash, 0x41, 32);
    t.max_uses = 5;
    t.expires_at = 5000;
    CHECK_EQ(o->enroll_insert(s, &t), STORE_OK);
    struct srv_device d;
    dev(&d, "r1", 0x42);
    CHECK_EQ(o->enroll_use(s, t.token_hash, 10, &d, &used), STORE_OK);
    struct collect_et after = {0};
    CHECK_EQ(o->enroll_list(s, count_et, &after), STORE_OK);
    CHECK_EQ(after.n, before.n + 1);
    REQUIRE(after.n <= 8);
    CHECK_EQ(after.id[after.n - 1], t.id);
    CHECK_EQ(after.uses[after.n - 1], 1);
    CHECK_EQ(o->enroll_delete(s, t.id), STORE_OK);
    CHECK_EQ(o->enroll_delete(s, t.id), STORE_NOT_FOUND);
    dev(&d, "r2", 0x43);
    CHECK_EQ(o->enroll_use(s, t.token_hash, 10, &d, &used), STORE_NOT_FOUND);
    struct srv_device got;
    CHECK_EQ(o->device_get(s, "r1", &got), STORE_OK); /* enrolled devices stay */
    CHECK_EQ(o->device_get(s, "r2", &got), STORE_NOT_FOUND);
    struct collect_et gone = {0};
    CHECK_EQ(o->enroll_list(s, count_et, &gone), STORE_OK);
    CHECK_EQ(gone.n, before.n);
    s->ops->close(s);
}

struct collect_ddi {
    int n;
    struct srv_ddi_action v[4];
};

static void add_ddi(void *ctx, const struct srv_ddi_action *a)
{
    struct collect_ddi *c = ctx;
    if (c->n < 4)
        c->v[c->n] = *a;
    c->n++;
}

/* hawkBit DDI (ddi*.c): raw releases keep their file name and hashes, a
 * device's campaign rows come with campaign state and cancel feedback,
 * attributes set the hardware id once and go with their device. */
static void test_ddi(void)
{
    struct store *s = open_store();
    REQUIRE(s);
    const struct store_ops *o = s->ops;
    struct srv_release r, got;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "swu");
    snprintf(r.hw_id, sizeof(r.hw_id), "board");
    memset(r.digest, 0x77, sizeof(r.digest));
    r.size = 10;
    r.raw = 1;
    r.has_hashes = 1;
    snprintf(r.filename, sizeof(r.filename), "update.swu");
    memset(r.md5, 0x11, sizeof(r.md5));
    memset(r.sha1, 0x22, sizeof(r.sha1));
    CHECK_EQ(o->release_insert(s, &r), STORE_OK);
    CHECK_EQ(o->release_get(s, r.id, &got), STORE_OK);
    CHECK(got.raw == 1 && got.has_hashes == 1 && strcmp(got.filename, "update.swu") == 0);
    CHECK(memcmp(got.md5, r.md5, 16) == 0 && memcmp(got.sha1, r.sha1, 20) == 0);
    /* an image release: no hashes until DDI computes them */
    CHECK_EQ(o->release_get(s, g_release_id, &got), STORE_OK);
    CHECK(got.raw == 0 && got.has_hashes == 0 && got.filename[0] == '\0');
    uint8_t md5[16], sha1[20];
    memset(md5, 0x33, sizeof(md5));
    memset(sha1, 0x44, sizeof(sha1));
    CHECK_EQ(o->release_set_hashes(s, g_release_id, md5, sha1), STORE_OK);
    CHECK_EQ(o->release_get(s, g_release_id, &got), STORE_OK);
    CHECK(got.has_hashes == 1 && memcmp(got.md5, md5, 16) == 0 &&
          memcmp(got.sha1, sha1, 20) == 0);

    struct srv_campaign c1, c2;
    memset(&c1, 0, sizeof(c1));
    c1.release_id = r.id;
    c1.n_stages = 1;
    c1.stages[0].percent = 100;
    c1.stages[0].max_failure_ratio = 1;
    c2 = c1;
    CHECK_EQ(o->campaign_insert(s, &c1), STORE_OK);
    CHECK_EQ(o->campaign_insert(s, &c2), STORE_OK);
    struct srv_device d;
    dev(&d, "ddi1", 0x51);
    d.hw_id[0] = '\0'; /* self-registered: hardware id unknown */
    CHECK_EQ(o->device_insert(s, &d), STORE_OK);
    struct srv_dc dc;
    memset(&dc, 0, sizeof(dc));
    snprintf(dc.device_id, sizeof(dc.device_id), "ddi1");
    dc.campaign_id = c1.id;
    dc.updated_at = 7;
    CHECK_EQ(o->dc_offer(s, &dc), STORE_OK);
    dc.campaign_id = c2.id;
    CHECK_EQ(o->dc_offer(s, &dc), STORE_OK);
    c1.state = CAMPAIGN_HALTED;
    CHECK_EQ(o->campaign_update(s, &c1, CAMPAIGN_ACTIVE, 0), STORE_OK);
    CHECK_EQ(o->ddi_cancel_put(s, c1.id, "ddi1", DDI_CANCEL_CLOSED, "cancelled", 9), STORE_OK);
    struct collect_ddi l = {0};
    CHECK_EQ(o->ddi_actions(s, "ddi1", add_ddi, &l), STORE_OK);
    REQUIRE(l.n == 2);
    CHECK_EQ(l.v[0].campaign_id, c2.id); /* newest first */
    CHECK_EQ(l.v[0].campaign_state, CAMPAIGN_ACTIVE);
    CHECK_EQ(l.v[0].cancel, DDI_CANCEL_NONE);
    CHECK_EQ(l.v[0].release_id, r.id);
    CHECK_EQ(l.v[0].dc_state, DC_OFFERED);
    CHECK_EQ(l.v[1].campaign_state, CAMPAIGN_HALTED);
    CHECK_EQ(l.v[1].cancel, DDI_CANCEL_CLOSED);
    CHECK_EQ(o->device_get(s, "ddi1", &d), STORE_OK);
    CHECK(strcmp(d.last_result, "cancelled") == 0);

    char attrs[64];
    int64_t at = 0;
    CHECK_EQ(o->ddi_attrs_get(s, "ddi1", attrs, sizeof(attrs), &at), STORE_NOT_FOUND);
    CHECK_EQ(o->ddi_attrs_put(s, "ddi1", "{\"hw_id\":\"board\"}", "board", 20), STORE_OK);
    CHECK_EQ(o->ddi_attrs_get(s, "ddi1", attrs, sizeof(attrs), &at), STORE_OK);
    CHECK(strcmp(attrs, "{\"hw_id\":\"board\"}") == 0 && at == 20);
    CHECK_EQ(o->device_get(s, "ddi1", &d), STORE_OK);
    CHECK(strcmp(d.hw_id, "board") == 0);
    /* another hardware id is refused and changes nothing */
    CHECK_EQ(o->ddi_attrs_put(s, "ddi1", "{\"hw_id\":\"other\"}", "other", 30),
             STORE_REFUSED);
    CHECK_EQ(o->ddi_attrs_get(s, "ddi1", attrs, sizeof(attrs), &at), STORE_OK);
    CHECK(at == 20);
    CHECK_EQ(o->ddi_attrs_put(s, "nobody", "{}", "", 30), STORE_NOT_FOUND);
    /* the device takes its attributes and cancel feedback along */
    CHECK_EQ(o->device_delete(s, "ddi1"), STORE_OK);
    dev(&d, "ddi1", 0x52);
    CHECK_EQ(o->device_insert(s, &d), STORE_OK);
    CHECK_EQ(o->ddi_attrs_get(s, "ddi1", attrs, sizeof(attrs), &at), STORE_NOT_FOUND);
    struct collect_ddi l2 = {0};
    CHECK_EQ(o->ddi_actions(s, "ddi1", add_ddi, &l2), STORE_OK);
    CHECK_EQ(l2.n, 0);
    CHECK_EQ(o->device_delete(s, "ddi1"), STORE_OK);
    s->ops->close(s);
}

struct collect_users {
    int n;
    int64_t id[8];
    int64_t last_used[8];
};

static void add_api_token(void *ctx, const struct srv_api_token *t)
{
    struct collect_users *c = ctx;
    if (c->n < 8) {
        c->id[c->n] = t->id;
        c->last_used[c->n] = t->last_used_at;
    }
    c->n++;
}

static void add_audit(void *ctx, const struct srv_audit *a)
{
    struct collect_users *c = ctx;
    if (c->n < 8)
        c->id[c->n] = a->id;
    c->n++;
}

static void api_token(struct srv_api_token *t, const char *name, uint8_t h)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->role = 2;
    memset(t->token_hash, h, sizeof(t->token_hash));
    t->created_at = 100;
    snprintf(t->created_by, sizeof(t->created_by), "admin");
}

/* Users of the operator API: unique token names and hashes, revocation
 * takes the token's sessions along, sessions expire by pruning, the audit
 * log pages both ways and is pruned by age. */
static void test_users(void)
{
    struct store *s = open_store();
    REQUIRE(s);
    const struct store_ops *o = s->ops;
    struct srv_api_token t, u, got;
    api_token(&t, "u-ops", 0x61);
    CHECK_EQ(o->api_token_insert(s, &t), STORE_OK);
    api_token(&u, "u-ops", 0x62);
    CHECK_EQ(o->api_token_insert(s, &u), STORE_CONFLICT); /* name taken */
    api_token(&u, "u-view", 0x61);
    CHECK_EQ(o->api_token_insert(s, &u), STORE_CONFLICT); /* hash taken */
    api_token(&u, "u-view", 0x62);
    u.role = 1;
    CHECK_EQ(o->api_token_insert(s, &u), STORE_OK);
    CHECK(u.id > t.id);
    CHECK_EQ(o->api_token_by_hash(s, t.token_hash, &got), STORE_OK);
    CHECK(got.id == t.id && got.role == 2 && strcmp(got.name, "u-ops") == 0 &&
          strcmp(got.created_by, "admin") == 0 && got.created_at == 100 &&
          got.last_used_at == 0);
    CHECK_EQ(o->api_token_touch(s, t.id, 700), STORE_OK);
    struct collect_users l = {0};
    CHECK_EQ(o->api_token_list(s, add_api_token, &l), STORE_OK);
    REQUIRE(l.n == 2);
    CHECK(l.id[0] == t.id && l.last_used[0] == 700 && l.id[1] == u.id && l.last_used[1] == 0);

    /* Sessions: one per login, pruned by idle and absolute age. */
    struct srv_session a, b, c, sg;
    memset(&a, 0, sizeof(a));
    memset(a.id_hash, 0x71, 32);
    memcpy(a.token_hash, t.token_hash, 32);
    a.created_at = a.last_used = 1000;
    b = a;
    memset(b.id_hash, 0x72, 32);
    memcpy(b.token_hash, u.token_hash, 32);
    c = a;
    memset(c.id_hash, 0x73, 32);
    CHECK_EQ(o->session_put(s, &a, 0, 0), STORE_OK);
    CHECK_EQ(o->session_put(s, &b, 0, 0), STORE_OK);
    CHECK_EQ(o->session_put(s, &a, 0, 0), STORE_CONFLICT);
    CHECK_EQ(o->session_touch(s, a.id_hash, 1500), STORE_OK);
    CHECK_EQ(o->session_get(s, a.id_hash, &sg), STORE_OK);
    CHECK(sg.created_at == 1000 && sg.last_used == 1500 &&
          memcmp(sg.token_hash, t.token_hash, 32) == 0);
    /* c's login prunes b (idle since 1000 < 1200), keeps a (used at 1500) */
    c.created_at = c.last_used = 2000;
    CHECK_EQ(o->session_put(s, &c, 1200, 0), STORE_OK);
    CHECK_EQ(o->session_get(s, b.id_hash, &sg), STORE_NOT_FOUND);
    CHECK_EQ(o->session_get(s, a.id_hash, &sg), STORE_OK);
    /* revoking t ends a and c, its sessions */
    CHECK_EQ(o->api_token_delete(s, t.id), STORE_OK);
    CHECK_EQ(o->api_token_delete(s, t.id), STORE_NOT_FOUND);
    CHECK_EQ(o->api_token_by_hash(s, t.token_hash, &got), STORE_NOT_FOUND);
    CHECK_EQ(o->session_get(s, a.id_hash, &sg), STORE_NOT_FOUND);
    CHECK_EQ(o->session_get(s, c.id_hash, &sg), STORE_NOT_FOUND);
    CHECK_EQ(o->session_put(s, &b, 0, 0), STORE_OK);
    CHECK_EQ(o->session_delete(s, b.id_hash), STORE_OK);
    CHECK_EQ(o->session_delete(s, b.id_hash), STORE_NOT_FOUND);
    CHECK_EQ(o->api_token_delete(s, u.id), STORE_OK);

    /* Audit log: ids grow; oldest first after an id, newest first before. */
    struct srv_audit e;
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        memset(&e, 0, sizeof(e));
        e.at = 100 * (i + 1);
        snprintf(e.actor, sizeof(e.actor), "u-ops");
        snprintf(e.role, sizeof(e.role), "operator");
        snprintf(e.action, sizeof(e.action), "POST /v1/campaigns");
        snprintf(e.target, sizeof(e.target), "/v1/campaigns");
        e.status = 201;
        CHECK_EQ(o->audit_insert(s, &e), STORE_OK);
        ids[i] = e.id;
        CHECK(i == 0 || ids[i] > ids[i - 1]);
    }
    struct collect_users al = {0};
    CHECK_EQ(o->audit_list(s, ids[1], 0, 2, add_audit, &al), STORE_OK);
    CHECK(al.n == 2 && al.id[0] == ids[2] && al.id[1] == ids[3]);
    struct collect_users dl = {0};
    CHECK_EQ(o->audit_list(s, ids[3], 1, 8, add_audit, &dl), STORE_OK);
    CHECK(dl.n == 3 && dl.id[0] == ids[2] && dl.id[2] == ids[0]);
    CHECK_EQ(o->audit_prune(s, 300), STORE_OK); /* entries at 100 and 200 go */
    struct collect_users pl = {0};
    CHECK_EQ(o->audit_list(s, 0, 0, 8, add_audit, &pl), STORE_OK);
    CHECK(pl.n == 3 && pl.id[0] == ids[2]);
    s->ops->close(s);
}

int main(void)
{
    snprintf(g_path, sizeof(g_path), "/tmp/ota-test-store-%d.db", (int)getpid());
    RUN(test_devices_and_tokens);
    RUN(test_enrollment_atomic);
    RUN(test_releases_campaigns_reports);
    RUN(test_survives_reopen);
    RUN(test_delete_takes_history);
    RUN(test_enroll_list_revoke);
    RUN(test_ddi);
    RUN(test_users);
    char p[300];
    unlink(g_path);
    snprintf(p, sizeof(p), "%s-wal", g_path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", g_path);
    unlink(p);
    return test_summary();
}
