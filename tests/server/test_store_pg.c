// SPDX-License-Identifier: Apache-2.0
/*
 * test_store_pg.c - what the PostgreSQL backend must do beyond the common
 * store contract (test_store.c): behave when several server nodes share one
 * database. Two nodes opening an empty database at once (migrations under
 * a lock), transitions and generations seen across nodes, the cross-node
 * campaign evaluation lock, inventory batches flushed out of order by
 * different nodes, and surviving a lost session. Needs OTA_TEST_PG = the
 * conninfo of an empty database (tests/server/test_postgres_store.py).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "store.h"
#include "../test.h"

static const char *g_conninfo;

struct opener {
    struct store *s;
    char err[512];
};

static void *open_thread(void *arg)
{
    struct opener *o = arg;
    o->s = store_pg_open(g_conninfo, o->err, sizeof(o->err));
    return NULL;
}

static struct store *g_a, *g_b; /* two "nodes" */

static int64_t scalar(const char *sql)
{
    PGconn *pg = PQconnectdb(g_conninfo);
    PGresult *r = PQexec(pg, sql);
    int64_t v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        fprintf(stderr, "query failed: %s: %s\n", sql, PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    return v;
}

static void test_two_nodes_migrate_at_once(void)
{
    struct opener o[4];
    pthread_t t[4];
    memset(o, 0, sizeof(o));
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, open_thread, &o[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        if (!o[i].s)
            fprintf(stderr, "open %d: %s\n", i, o[i].err);
        CHECK(o[i].s != NULL);
    }
    REQUIRE(o[0].s && o[1].s && o[2].s && o[3].s);
    /* every migration applied exactly once */
    CHECK_EQ(scalar("SELECT count(*) FROM ota_schema_migrations"), store_pg_schema_version());
    CHECK_EQ(scalar("SELECT max(version) FROM ota_schema_migrations"), store_pg_schema_version());
    CHECK(store_pg_schema_version() >= 7); /* 7: device health */
    g_a = o[0].s;
    g_b = o[1].s;
    o[2].s->ops->close(o[2].s);
    o[3].s->ops->close(o[3].s);
    CHECK_EQ(g_a->ops->shared, 1);
    CHECK(g_a->ops->campaign_lock != NULL && g_a->ops->campaign_unlock != NULL);
}

static void test_refuses_newer_schema(void)
{
    char err[512] = "";
    PGconn *pg = PQconnectdb(g_conninfo);
    PQclear(PQexec(pg, "INSERT INTO ota_schema_migrations(version) VALUES(99)"));
    struct store *s = store_pg_open(g_conninfo, err, sizeof(err));
    CHECK(s == NULL);
    CHECK(strstr(err, "newer than this ota-server") != NULL);
    if (s)
        s->ops->close(s);
    PQclear(PQexec(pg, "DELETE FROM ota_schema_migrations WHERE version = 99"));
    PQfinish(pg);
}

static int64_t g_cid;

static void test_campaign_seen_across_nodes(void)
{
    REQUIRE(g_a && g_b);
    struct srv_release r;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "v2");
    snprintf(r.hw_id, sizeof(r.hw_id), "hw");
    memset(r.digest, 0x5a, 32);
    r.size = 99;
    CHECK_EQ(g_a->ops->release_insert(g_a, &r), STORE_OK);
    struct srv_release rb;
    CHECK_EQ(g_b->ops->release_by_digest(g_b, r.digest, &rb), STORE_OK);
    CHECK_EQ(rb.id, r.id);

    int64_t gen_b = g_b->ops->campaign_generation(g_b);
    struct srv_campaign c, ca, cb;
    memset(&c, 0, sizeof(c));
    c.release_id = r.id;
    c.n_stages = 2;
    c.stages[0].percent = 10;
    c.stages[1].percent = 100;
    CHECK_EQ(g_a->ops->campaign_insert(g_a, &c), STORE_OK);
    g_cid = c.id;
    /* Node B sees node A's change through the generation counter. */
    CHECK(g_b->ops->campaign_generation(g_b) > gen_b);
    CHECK_EQ(g_b->ops->campaign_get(g_b, c.id, &cb), STORE_OK);
    CHECK_EQ(g_a->ops->campaign_get(g_a, c.id, &ca), STORE_OK);
    /* Both decide the same transition; only one applies it. */
    ca.stage = 1;
    cb.stage = 1;
    CHECK_EQ(g_a->ops->campaign_update(g_a, &ca, CAMPAIGN_ACTIVE, 0), STORE_OK);
    CHECK_EQ(g_b->ops->campaign_update(g_b, &cb, CAMPAIGN_ACTIVE, 0), STORE_CONFLICT);
    /* A halt decided on the old stage loses against the advance. */
    cb.state = CAMPAIGN_HALTED;
    cb.stage = 0;
    CHECK_EQ(g_b->ops->campaign_update(g_b, &cb, CAMPAIGN_ACTIVE, 0), STORE_CONFLICT);
    CHECK_EQ(g_b->ops->campaign_get(g_b, c.id, &cb), STORE_OK);
    CHECK(cb.stage == 1 && cb.state == CAMPAIGN_ACTIVE);
    /* A release deleted on one node while a campaign refers to it. */
    CHECK_EQ(g_b->ops->release_delete(g_b, r.id), STORE_CONFLICT);
}

struct locker {
    struct store *s;
    int64_t id;
    atomic_int acquired;
};

static void *lock_thread(void *arg)
{
    struct locker *l = arg;
    if (l->s->ops->campaign_lock(l->s, l->id) == STORE_OK) {
        atomic_store(&l->acquired, 1);
        l->s->ops->campaign_unlock(l->s, l->id);
    }
    return NULL;
}

static void test_campaign_lock_is_exclusive(void)
{
    REQUIRE(g_a && g_b && g_cid);
    struct locker l = {g_b, g_cid, 0};
    pthread_t t;
    CHECK_EQ(g_a->ops->campaign_lock(g_a, g_cid), STORE_OK);
    pthread_create(&t, NULL, lock_thread, &l);
    /* While node A holds it, node B's evaluator must wait. */
    nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 300000000}, NULL);
    CHECK_EQ(atomic_load(&l.acquired), 0);
    /* Another campaign is not blocked. */
    CHECK_EQ(g_b->ops->campaign_lock(g_b, g_cid + 1000), STORE_OK);
    g_b->ops->campaign_unlock(g_b, g_cid + 1000);
    g_a->ops->campaign_unlock(g_a, g_cid);
    pthread_join(t, NULL);
    CHECK_EQ(atomic_load(&l.acquired), 1);
}

static void seen(struct srv_seen *v, const char *id, int64_t at, const char *ver)
{
    memset(v, 0, sizeof(*v));
    snprintf(v->device_id, sizeof(v->device_id), "%s", id);
    v->at = at;
    snprintf(v->current_version, sizeof(v->current_version), "%s", ver);
    v->state_changed = 1;
}

static void test_inventory_out_of_order(void)
{
    REQUIRE(g_a && g_b);
    struct srv_device d, got;
    memset(&d, 0, sizeof(d));
    snprintf(d.id, sizeof(d.id), "roamer");
    memset(d.token_hash, 0x77, 32);
    snprintf(d.hw_id, sizeof(d.hw_id), "hw");
    CHECK_EQ(g_a->ops->device_insert(g_a, &d), STORE_OK);
    struct srv_seen newer, older;
    seen(&newer, "roamer", 2000, "2.0.0");
    seen(&older, "roamer", 1000, "1.0.0");
    /* The device checked in at node B (old state), then at node A (new
     * state); node A happens to flush first. */
    CHECK_EQ(g_a->ops->devices_seen(g_a, &newer, 1), STORE_OK);
    CHECK_EQ(g_b->ops->devices_seen(g_b, &older, 1), STORE_OK);
    CHECK_EQ(g_b->ops->device_get(g_b, "roamer", &got), STORE_OK);
    CHECK(strcmp(got.current_version, "2.0.0") == 0);
    CHECK_EQ(got.last_seen, 2000);

    /* The batch travels as array literals: ids needing escapes survive,
     * and a device listed twice keeps its latest time. */
    const char *odd = "we\"ird\\id,{x}";
    snprintf(d.id, sizeof(d.id), "%s", odd);
    memset(d.token_hash, 0x78, 32);
    CHECK_EQ(g_a->ops->device_insert(g_a, &d), STORE_OK);
    struct srv_seen v[3];
    seen(&v[0], odd, 3000, "3.0.0");
    seen(&v[1], "roamer", 2500, "2.0.0");
    seen(&v[2], odd, 3500, "3.0.0");
    v[1].state_changed = 0;
    CHECK_EQ(g_b->ops->devices_seen(g_b, v, 3), STORE_OK);
    CHECK_EQ(g_a->ops->device_get(g_a, odd, &got), STORE_OK);
    CHECK_EQ(got.last_seen, 3500);
    CHECK(strcmp(got.current_version, "3.0.0") == 0);
    CHECK_EQ(g_a->ops->device_get(g_a, "roamer", &got), STORE_OK);
    CHECK_EQ(got.last_seen, 2500);
}

struct enroller {
    struct store *s;
    const uint8_t *hash;
    int n;
    int ok, refused_other;
};

static void *enroll_thread(void *arg)
{
    struct enroller *e = arg;
    for (int i = 0; i < 4; i++) {
        struct srv_device d;
        struct srv_enroll_token t;
        memset(&d, 0, sizeof(d));
        snprintf(d.id, sizeof(d.id), "enr-%d-%d", e->n, i);
        memset(d.token_hash, 0, sizeof(d.token_hash));
        d.token_hash[0] = (uint8_t)(0x80 + e->n);
        d.token_hash[1] = (uint8_t)i;
        snprintf(d.hw_id, sizeof(d.hw_id), "hw");
        enum store_rc rc = e->s->ops->enroll_use(e->s, e->hash, 10, &d, &t);
        if (rc == STORE_OK)
            e->ok++;
        else if (rc != STORE_NOT_FOUND)
            e->refused_other++;
    }
    return NULL;
}

static void test_enrollment_uses_across_nodes(void)
{
    REQUIRE(g_a && g_b);
    struct srv_enroll_token t;
    memset(&t, 0, sizeof(t));
    memset(t.token_hash, 0x42, 32);
    t.max_uses = 5;
    CHECK_EQ(g_a->ops->enroll_insert(g_a, &t), STORE_OK);
    /* 8 threads on two nodes race for 5 uses: exactly 5 devices enroll. */
    struct enroller e[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        e[i] = (struct enroller){i % 2 ? g_b : g_a, t.token_hash, i, 0, 0};
        pthread_create(&th[i], NULL, enroll_thread, &e[i]);
    }
    int ok = 0, other = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ok += e[i].ok;
        other += e[i].refused_other;
    }
    CHECK_EQ(ok, 5);
    CHECK_EQ(other, 0);
    CHECK_EQ(scalar("SELECT uses FROM enroll_tokens WHERE token_hash = '\\x4242424242424242"
                    "424242424242424242424242424242424242424242424242'"),
             5);
    CHECK_EQ(scalar("SELECT count(*) FROM devices WHERE id LIKE 'enr-%'"), 5);
}

static void test_survives_lost_session(void)
{
    REQUIRE(g_a && g_b);
    int64_t n = g_a->ops->device_count(g_a);
    CHECK(n >= 1);
    /* An operator (or a failover) kills every other session. */
    CHECK(scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 "WHERE pid <> pg_backend_pid() AND datname = current_database()") >= 2);
    CHECK_EQ(g_a->ops->device_count(g_a), n);
    struct srv_device got;
    CHECK_EQ(g_b->ops->device_get(g_b, "roamer", &got), STORE_OK);
}

int main(void)
{
    g_conninfo = getenv("OTA_TEST_PG");
    if (!g_conninfo || !*g_conninfo) {
        fprintf(stderr, "test_store_pg: set OTA_TEST_PG to the conninfo of an empty database\n");
        return 1;
    }
    RUN(test_two_nodes_migrate_at_once);
    RUN(test_refuses_newer_schema);
    RUN(test_campaign_seen_across_nodes);
    RUN(test_campaign_lock_is_exclusive);
    RUN(test_inventory_out_of_order);
    RUN(test_enrollment_uses_across_nodes);
    RUN(test_survives_lost_session);
    if (g_a)
        g_a->ops->close(g_a);
    if (g_b)
        g_b->ops->close(g_b);
    return test_summary();
}
