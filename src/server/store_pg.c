// SPDX-License-Identifier: Apache-2.0
/*
 * store_pg.c - the PostgreSQL backend of the storage interface (store.h),
 * for several stateless ota-server nodes sharing one database behind a load
 * balancer. Same semantics as store_sqlite.c: one libpq connection per
 * server thread (created on first use, statements prepared once per
 * connection, reset after a lost connection), every statement parameterised,
 * multi-statement operations in transactions, synchronous_commit=on so that
 * every acknowledged write is durable. Versioned schema migrations live in
 * ota_schema_migrations and run in one transaction under an advisory lock,
 * so nodes starting together never race. Cross-node parts: a session
 * advisory lock per campaign serialises rollout evaluation (store_ops
 * campaign_lock), and inventory state carries its check-in time so batches
 * flushed late by another node never overwrite newer state.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "log.h"
#include "store.h"
#include "store_sql.h"

/* ---- schema ------------------------------------------------------------ */

/* Key of the advisory locks: migrations (key2 0) and campaign evaluation
 * (key2 = campaign id). */
#define PG_LOCK_CLASS 0x6f7461 /* "ota" */

/* Migration N brings the schema from version N to N+1. Append only. */
static const char *const PG_MIGRATIONS[] = {
    /* 0 -> 1: initial schema (text ids compare bytewise, as in SQLite) */
    "CREATE TABLE settings(key text COLLATE \"C\" PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE releases(id bigserial PRIMARY KEY, name text NOT NULL,"
    "  v_major integer NOT NULL, v_minor integer NOT NULL, v_rev integer NOT NULL,"
    "  v_build bigint NOT NULL, security_counter bigint NOT NULL,"
    "  hw_id text NOT NULL, digest bytea NOT NULL UNIQUE, size bigint NOT NULL,"
    "  created_at bigint NOT NULL);"
    "CREATE TABLE devices(id text COLLATE \"C\" PRIMARY KEY, token_hash bytea NOT NULL UNIQUE,"
    "  hw_id text NOT NULL, tags text NOT NULL DEFAULT '',"
    "  current_version text NOT NULL DEFAULT '', current_digest bytea,"
    "  slot_state text NOT NULL DEFAULT '', last_result text NOT NULL DEFAULT '',"
    "  last_seen bigint NOT NULL DEFAULT 0, state_at bigint NOT NULL DEFAULT 0,"
    "  created_at bigint NOT NULL);"
    "CREATE TABLE device_seen(id text COLLATE \"C\" PRIMARY KEY, last_seen bigint NOT NULL);"
    "CREATE TABLE enroll_tokens(id bigserial PRIMARY KEY, token_hash bytea NOT NULL UNIQUE,"
    "  tags text NOT NULL, hw_id text NOT NULL, expires_at bigint NOT NULL,"
    "  max_uses bigint NOT NULL, uses bigint NOT NULL DEFAULT 0, created_at bigint NOT NULL);"
    "CREATE TABLE campaigns(id bigserial PRIMARY KEY, name text NOT NULL,"
    "  release_id bigint NOT NULL REFERENCES releases(id),"
    "  f_hw_id text NOT NULL, f_tags text NOT NULL, f_min_version text NOT NULL,"
    "  f_max_version text NOT NULL, stages text NOT NULL, state integer NOT NULL,"
    "  stage integer NOT NULL, stage_started_at bigint NOT NULL,"
    "  complete integer NOT NULL DEFAULT 0, halt_reason text NOT NULL DEFAULT '',"
    "  created_at bigint NOT NULL, updated_at bigint NOT NULL);"
    "CREATE TABLE device_campaigns(campaign_id bigint NOT NULL,"
    "  device_id text COLLATE \"C\" NOT NULL, state integer NOT NULL, stage integer NOT NULL,"
    "  updated_at bigint NOT NULL, PRIMARY KEY(campaign_id, device_id));"
    "CREATE TABLE reports(id bigserial PRIMARY KEY, device_id text COLLATE \"C\" NOT NULL,"
    "  campaign_id bigint NOT NULL, state integer NOT NULL, code bigint NOT NULL,"
    "  detail text NOT NULL, created_at bigint NOT NULL);"
    "CREATE INDEX reports_by_device ON reports(device_id, id);"
    "CREATE TABLE deltas(base bytea NOT NULL, target bytea NOT NULL, payload bytea,"
    "  size bigint NOT NULL, PRIMARY KEY(base, target));"
    "INSERT INTO settings(key, value) VALUES('campaign_generation', '0');"
    /* Campaign counts kept by a trigger (status and the rollout engine read
     * a handful of rows). Counter rows are touched in key order, so two
     * transactions moving devices between the same states never deadlock. */
    "CREATE TABLE campaign_counts(campaign_id bigint NOT NULL, stage integer NOT NULL,"
    "  state integer NOT NULL, n bigint NOT NULL, PRIMARY KEY(campaign_id, stage, state));"
    "CREATE FUNCTION ota_count_add(c bigint, sg integer, st integer, d integer)"
    "  RETURNS void LANGUAGE sql AS $$"
    "  INSERT INTO campaign_counts VALUES(c, sg, st, d)"
    "    ON CONFLICT(campaign_id, stage, state) DO UPDATE SET n = campaign_counts.n + d $$;"
    "CREATE FUNCTION ota_dc_count() RETURNS trigger LANGUAGE plpgsql AS $$"
    "BEGIN"
    "  IF TG_OP = 'INSERT' THEN"
    "    PERFORM ota_count_add(NEW.campaign_id, NEW.stage, NEW.state, 1);"
    "  ELSIF TG_OP = 'DELETE' THEN"
    "    PERFORM ota_count_add(OLD.campaign_id, OLD.stage, OLD.state, -1);"
    "  ELSIF OLD.state <> NEW.state OR OLD.stage <> NEW.stage"
    "        OR OLD.campaign_id <> NEW.campaign_id THEN"
    "    IF (OLD.campaign_id, OLD.stage, OLD.state) < (NEW.campaign_id, NEW.stage, NEW.state)"
    "    THEN"
    "      PERFORM ota_count_add(OLD.campaign_id, OLD.stage, OLD.state, -1);"
    "      PERFORM ota_count_add(NEW.campaign_id, NEW.stage, NEW.state, 1);"
    "    ELSE"
    "      PERFORM ota_count_add(NEW.campaign_id, NEW.stage, NEW.state, 1);"
    "      PERFORM ota_count_add(OLD.campaign_id, OLD.stage, OLD.state, -1);"
    "    END IF;"
    "  END IF;"
    "  RETURN NULL;"
    "END $$;"
    "CREATE TRIGGER dc_count AFTER INSERT OR UPDATE OR DELETE ON device_campaigns"
    "  FOR EACH ROW EXECUTE FUNCTION ota_dc_count();",
    /* 1 -> 2: hawkBit DDI (ddi*.c): raw releases and the hashes DDI sends,
     * a device's campaign rows by device (each DDI poll reads them), cancel
     * feedback and configData attributes (gone with their device). */
    "ALTER TABLE releases ADD COLUMN raw integer NOT NULL DEFAULT 0,"
    "  ADD COLUMN filename text NOT NULL DEFAULT '', ADD COLUMN md5 bytea,"
    "  ADD COLUMN sha1 bytea;"
    "CREATE INDEX dc_by_device ON device_campaigns(device_id);"
    "CREATE TABLE ddi_cancels(campaign_id bigint NOT NULL,"
    "  device_id text COLLATE \"C\" NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
    "  state integer NOT NULL, updated_at bigint NOT NULL,"
    "  PRIMARY KEY(campaign_id, device_id));"
    "CREATE TABLE ddi_attributes(device_id text COLLATE \"C\" PRIMARY KEY"
    "  REFERENCES devices(id) ON DELETE CASCADE, attrs text NOT NULL,"
    "  updated_at bigint NOT NULL);",
    /* 2 -> 3: a campaign's stage warnings (placed fewer devices than the
     * stage's min_finished, or none), in store_warnings_encode's text form. */
    "ALTER TABLE campaigns ADD COLUMN warnings text NOT NULL DEFAULT '';",
    /* 3 -> 4: users of the operator API: named API tokens with a role,
     * console sessions (hashed cookie, hash of the token that logged in),
     * and the audit log of state-changing requests. */
    "CREATE TABLE api_tokens(id bigserial PRIMARY KEY, name text COLLATE \"C\" NOT NULL UNIQUE,"
    "  role integer NOT NULL, token_hash bytea NOT NULL UNIQUE,"
    "  created_at bigint NOT NULL, created_by text NOT NULL);"
    "CREATE TABLE console_sessions(id_hash bytea PRIMARY KEY, token_hash bytea NOT NULL,"
    "  created_at bigint NOT NULL, last_used bigint NOT NULL);"
    "CREATE INDEX console_sessions_by_token ON console_sessions(token_hash);"
    "CREATE TABLE audit_log(id bigserial PRIMARY KEY, at bigint NOT NULL,"
    "  actor text NOT NULL, role text NOT NULL, action text NOT NULL,"
    "  target text NOT NULL, status integer NOT NULL);"
    "CREATE INDEX audit_log_by_at ON audit_log(at);",
    /* 4 -> 5: when each API token was last used (to the minute). */
    "ALTER TABLE api_tokens ADD COLUMN last_used_at bigint NOT NULL DEFAULT 0;",
    /* 5 -> 6: the console's fleet aggregates (store_sql.h) */
    SQL_FLEET_INDEXES,
    /* 6 -> 7: device health (api_health.c): sums per device and release, and
     * per custom counter, gone with their device; pruned by updated_at. */
    "CREATE TABLE device_health(device_id text COLLATE \"C\" NOT NULL"
    "  REFERENCES devices(id) ON DELETE CASCADE, release text NOT NULL,"
    "  reports bigint NOT NULL, period_s bigint NOT NULL, crashes bigint NOT NULL,"
    "  resets bigint NOT NULL, first_at bigint NOT NULL, updated_at bigint NOT NULL,"
    "  PRIMARY KEY(device_id, release));"
    "CREATE TABLE device_health_counters(device_id text COLLATE \"C\" NOT NULL"
    "  REFERENCES devices(id) ON DELETE CASCADE, release text NOT NULL,"
    "  name text NOT NULL, value bigint NOT NULL, updated_at bigint NOT NULL,"
    "  PRIMARY KEY(device_id, release, name));",
    /* 7 -> 8: per-slot builds (release_slot.c): the slot a release's image
     * is linked for, the image built for the other slot, and the slot each
     * device reports running from. */
    "ALTER TABLE releases ADD COLUMN link_slot text NOT NULL DEFAULT '';"
    "ALTER TABLE releases ADD COLUMN other_digest bytea;"
    "ALTER TABLE releases ADD COLUMN other_size bigint NOT NULL DEFAULT 0;"
    "CREATE UNIQUE INDEX releases_by_other_digest ON releases(other_digest);"
    "ALTER TABLE devices ADD COLUMN running_slot text NOT NULL DEFAULT '';",
};
#define PG_N_MIGRATIONS ((int)(sizeof(PG_MIGRATIONS) / sizeof(PG_MIGRATIONS[0])))

int store_pg_schema_version(void)
{
    return PG_N_MIGRATIONS;
}

/* ---- statements ---------------------------------------------------------- */

enum pstmt {
    P_SETTING_GET,
    P_SETTING_PUT,
    P_REL_INSERT,
    P_REL_GET,
    P_REL_BY_DIGEST,
    P_REL_LIST,
    P_REL_IN_USE,
    P_REL_DELETE,
    P_DEV_INSERT,
    P_DEV_GET,
    P_DEV_AUTH,
    P_DEV_BY_TOKEN,
    P_DEV_LIST,
    P_DEV_SET_TAGS,
    P_DEV_SET_TOKEN,
    P_DEV_DELETE,
    P_SEEN_DELETE,
    P_DEV_REP_DELETE,
    P_DEV_DC_DELETE,
    P_DEV_SEEN,
    P_SEEN_UPSERT,
    P_DEV_COUNT,
    P_ENR_INSERT,
    P_ENR_BY_HASH,
    P_ENR_USE,
    P_ENR_LIST,
    P_ENR_DELETE,
    P_CAMP_INSERT,
    P_CAMP_GET,
    P_CAMP_LIST,
    P_CAMP_LIST_ACTIVE,
    P_CAMP_UPDATE,
    P_CAMP_COUNTS,
    P_GEN_BUMP,
    P_GEN_GET,
    P_DC_GET,
    P_DC_OFFER,
    P_DC_LIST,
    P_DC_SET_STATE,
    P_REP_INSERT,
    P_DEV_SET_RESULT,
    P_REP_LIST,
    P_DELTA_GET,
    P_DELTA_PUT,
    P_CAMP_LOCK,
    P_CAMP_UNLOCK,
    P_REL_SET_HASHES,
    P_REL_SET_OTHER,
    P_DDI_ACTIONS,
    P_DDI_CANCEL_PUT,
    P_DDI_DEV_HW,
    P_DDI_SET_HW,
    P_DDI_ATTRS_PUT,
    P_DDI_ATTRS_GET,
    P_TOK_INSERT,
    P_TOK_BY_HASH,
    P_TOK_LIST,
    P_TOK_SESSIONS_DELETE,
    P_TOK_DELETE,
    P_TOK_TOUCH,
    P_SES_INSERT,
    P_SES_PRUNE,
    P_SES_GET,
    P_SES_TOUCH,
    P_SES_DELETE,
    P_AUD_INSERT,
    P_AUD_LIST,
    P_AUD_LIST_DESC,
    P_AUD_PRUNE,
    P_HEALTH_ADD,
    P_HEALTH_COUNTER_ADD,
    P_HEALTH_UPDATED,
    P_HEALTH_UPDATED_COUNTERS,
    P_HEALTH_CONTROL,
    P_HEALTH_CONTROL_COUNTERS,
    P_HEALTH_PRUNE,
    P_HEALTH_PRUNE_COUNTERS,
    P_COUNT
};

/* The device columns, last_seen from device_seen when newer (store_sql.h). */
#define DEV_COLS_J SQL_DEV_COLS_J("greatest(d.last_seen, s.last_seen)")

/* Shared texts from store_sql.h, their `?N` placeholders prepared as `$N`
 * (store_sql_pg_params); PostgreSQL's own dialect spelled out here. */
static const char *const PSQL[P_COUNT] = {
    [P_SETTING_GET] = SQL_SETTING_GET,
    [P_SETTING_PUT] = SQL_SETTING_PUT,
    [P_REL_INSERT] = SQL_REL_INSERT " RETURNING id",
    [P_REL_GET] = SQL_REL_GET,
    [P_REL_BY_DIGEST] = SQL_REL_BY_DIGEST,
    [P_REL_LIST] = SQL_REL_LIST,
    [P_REL_IN_USE] = SQL_REL_IN_USE,
    [P_REL_DELETE] = SQL_REL_DELETE,
    [P_DEV_INSERT] = SQL_DEV_INSERT,
    [P_DEV_GET] = SQL_DEV_GET(DEV_COLS_J),
    /* The check-in path: the device row and, in the same round trip, the
     * campaign generation the campaign cache validates against next. */
    [P_DEV_AUTH] = "SELECT " SQL_DEV_COLS ", (SELECT value::bigint FROM settings "
                   "WHERE key = 'campaign_generation') FROM devices WHERE id = $1",
    [P_DEV_BY_TOKEN] = SQL_DEV_BY_TOKEN(DEV_COLS_J),
    [P_DEV_LIST] = SQL_DEV_LIST(DEV_COLS_J),
    [P_DEV_SET_TAGS] = SQL_DEV_SET_TAGS,
    [P_DEV_SET_TOKEN] = SQL_DEV_SET_TOKEN,
    [P_DEV_DELETE] = SQL_DEV_DELETE,
    [P_SEEN_DELETE] = SQL_SEEN_DELETE,
    [P_DEV_REP_DELETE] = SQL_DEV_REP_DELETE,
    [P_DEV_DC_DELETE] = SQL_DEV_DC_DELETE,
    /* Only state newer than what is stored: another node may flush a batch
     * with older check-ins of the same device after this one. */
    [P_DEV_SEEN] = "UPDATE devices SET current_version = $3, current_digest = $4, "
                   "slot_state = $5, last_result = CASE WHEN $6 = '' THEN last_result "
                   "ELSE $6 END, running_slot = $7, state_at = $2 "
                   "WHERE id = $1 AND state_at <= $2",
    /* A whole batch in one statement, rows locked in key order (nodes
     * flushing overlapping batches cannot deadlock). */
    [P_SEEN_UPSERT] = "INSERT INTO device_seen(id, last_seen) SELECT u.id, max(u.at) "
                      "FROM unnest($1::text[], $2::bigint[]) AS u(id, at) GROUP BY u.id "
                      "ORDER BY u.id COLLATE \"C\" ON CONFLICT(id) DO UPDATE SET last_seen = "
                      "greatest(device_seen.last_seen, excluded.last_seen)",
    [P_DEV_COUNT] = SQL_DEV_COUNT,
    [P_ENR_INSERT] = SQL_ENR_INSERT " RETURNING id",
    /* Row lock: two nodes using the same token serialise here. */
    [P_ENR_BY_HASH] = SQL_ENR_BY_HASH " FOR UPDATE",
    [P_ENR_USE] = SQL_ENR_USE,
    [P_ENR_LIST] = SQL_ENR_LIST,
    [P_ENR_DELETE] = SQL_ENR_DELETE,
    [P_CAMP_INSERT] = SQL_CAMP_INSERT " RETURNING id",
    [P_CAMP_GET] = SQL_CAMP_GET,
    [P_CAMP_LIST] = SQL_CAMP_LIST,
    [P_CAMP_LIST_ACTIVE] = SQL_CAMP_LIST_ACTIVE,
    [P_CAMP_UPDATE] = SQL_CAMP_UPDATE,
    [P_CAMP_COUNTS] = SQL_CAMP_COUNTS,
    [P_GEN_BUMP] = "UPDATE settings SET value = (value::bigint + 1)::text "
                   "WHERE key = 'campaign_generation'",
    [P_GEN_GET] = "SELECT value FROM settings WHERE key = 'campaign_generation'",
    [P_DC_GET] = SQL_DC_GET,
    [P_DC_LIST] = SQL_DC_LIST,
    [P_DC_OFFER] = "INSERT INTO " SQL_DC_OFFER_VALUES " ON CONFLICT DO NOTHING",
    [P_DC_SET_STATE] = SQL_DC_SET_STATE,
    [P_REP_INSERT] = SQL_REP_INSERT " RETURNING id",
    [P_DEV_SET_RESULT] = "UPDATE devices SET last_result = $2, "
                         "last_seen = greatest(last_seen, $3) WHERE id = $1",
    [P_REP_LIST] = SQL_REP_LIST,
    [P_DELTA_GET] = SQL_DELTA_GET,
    [P_DELTA_PUT] = "INSERT INTO " SQL_DELTA_PUT_VALUES " ON CONFLICT(base, target) "
                    "DO UPDATE SET payload = excluded.payload, size = excluded.size",
    [P_CAMP_LOCK] = "SELECT pg_advisory_lock(7633249, $1::integer)",
    [P_CAMP_UNLOCK] = "SELECT pg_advisory_unlock(7633249, $1::integer)",
    [P_REL_SET_HASHES] = SQL_REL_SET_HASHES,
    [P_REL_SET_OTHER] = SQL_REL_SET_OTHER,
    [P_DDI_ACTIONS] = SQL_DDI_ACTIONS,
    [P_DDI_CANCEL_PUT] = SQL_DDI_CANCEL_PUT,
    /* FOR UPDATE: two configData of one device set its hardware id once */
    [P_DDI_DEV_HW] = SQL_DDI_DEV_HW " FOR UPDATE",
    [P_DDI_SET_HW] = SQL_DDI_SET_HW,
    [P_DDI_ATTRS_PUT] = SQL_DDI_ATTRS_PUT,
    [P_DDI_ATTRS_GET] = SQL_DDI_ATTRS_GET,
    [P_TOK_INSERT] = SQL_TOK_INSERT " RETURNING id",
    [P_TOK_BY_HASH] = SQL_TOK_BY_HASH,
    [P_TOK_LIST] = SQL_TOK_LIST,
    [P_TOK_SESSIONS_DELETE] = SQL_TOK_SESSIONS_DELETE,
    [P_TOK_DELETE] = SQL_TOK_DELETE,
    [P_TOK_TOUCH] = SQL_TOK_TOUCH,
    [P_SES_INSERT] = SQL_SES_INSERT,
    [P_SES_PRUNE] = SQL_SES_PRUNE,
    [P_SES_GET] = SQL_SES_GET,
    [P_SES_TOUCH] = SQL_SES_TOUCH,
    [P_SES_DELETE] = SQL_SES_DELETE,
    [P_AUD_INSERT] = SQL_AUD_INSERT " RETURNING id",
    [P_AUD_LIST] = SQL_AUD_LIST,
    [P_AUD_LIST_DESC] = SQL_AUD_LIST_DESC,
    [P_AUD_PRUNE] = SQL_AUD_PRUNE,
    [P_HEALTH_ADD] = SQL_HEALTH_ADD,
    [P_HEALTH_COUNTER_ADD] = SQL_HEALTH_COUNTER_ADD,
    [P_HEALTH_UPDATED] = SQL_HEALTH_UPDATED,
    [P_HEALTH_UPDATED_COUNTERS] = SQL_HEALTH_UPDATED_COUNTERS,
    [P_HEALTH_CONTROL] = SQL_HEALTH_CONTROL,
    [P_HEALTH_CONTROL_COUNTERS] = SQL_HEALTH_CONTROL_COUNTERS,
    [P_HEALTH_PRUNE] = SQL_HEALTH_PRUNE,
    [P_HEALTH_PRUNE_COUNTERS] = SQL_HEALTH_PRUNE_COUNTERS,
};

/* ---- connections --------------------------------------------------------- */

struct pconn {
    PGconn *pg;
    unsigned char prepared[P_COUNT];
    int in_tx; /* inside BEGIN .. COMMIT/ROLLBACK */
    /* campaign generation read with the last device_get_auth (check-in) */
    int64_t gen;
    int64_t gen_at_ms; /* 0: none */
    pthread_t thread;
    struct pconn *next;
    const struct pg_store *owner;
};

struct pg_store {
    struct store base;
    char *conninfo;
    pthread_mutex_t lock; /* guards conns */
    struct pconn *conns;
};

static _Thread_local struct pconn *tl_pconn;

#define PGS(s) ((struct pg_store *)(s))

static int conn_setup(PGconn *pg)
{
    PGresult *r;
    int ok;
    if (PQstatus(pg) != CONNECTION_OK || PQsetClientEncoding(pg, "UTF8") != 0)
        return 0;
    /* Durable commits whatever the server default is; statements that wait
     * on a lock do not wait forever. */
    r = PQexec(pg, "SET synchronous_commit = on; SET lock_timeout = '30s'");
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

/* The session was lost (server restart, failover, idle kill): connect
 * again; statements must be prepared again on the new session. */
static int reconnect(struct pconn *c)
{
    PQreset(c->pg);
    memset(c->prepared, 0, sizeof(c->prepared));
    c->in_tx = 0;
    if (!conn_setup(c->pg)) {
        log_msg(LOG_ERROR, "db_reconnect_failed", "err=\"%s\"", PQerrorMessage(c->pg));
        return 0;
    }
    log_msg(LOG_WARN, "db_reconnected", "store=postgres");
    return 1;
}

static struct pconn *get_conn(struct pg_store *s)
{
    struct pconn *c = tl_pconn;
    pthread_t self = pthread_self();
    if (!c || c->owner != s) {
        /* This thread may already have a connection to this store (tests
         * open several stores from one thread). */
        pthread_mutex_lock(&s->lock);
        for (c = s->conns; c && !pthread_equal(c->thread, self); c = c->next)
            ;
        pthread_mutex_unlock(&s->lock);
        if (!c) {
            c = calloc(1, sizeof(*c));
            if (!c)
                return NULL;
            c->pg = PQconnectdb(s->conninfo);
            if (!c->pg || !conn_setup(c->pg)) {
                log_msg(LOG_ERROR, "db_open_failed", "store=postgres err=\"%s\"",
                        c->pg ? PQerrorMessage(c->pg) : "no memory");
                PQfinish(c->pg);
                free(c);
                return NULL;
            }
            c->owner = s;
            c->thread = self;
            pthread_mutex_lock(&s->lock);
            c->next = s->conns;
            s->conns = c;
            pthread_mutex_unlock(&s->lock);
        }
        tl_pconn = c;
    }
    if (PQstatus(c->pg) != CONNECTION_OK && !reconnect(c))
        return NULL;
    return c;
}

/* Parameters of one statement: text, or binary for bytea. */
struct args {
    int n;
    const char *v[16];
    int len[16];
    int fmt[16];
    char num[16][24];
};

static void a_text(struct args *a, const char *t)
{
    a->v[a->n] = t;
    a->len[a->n] = 0;
    a->fmt[a->n++] = 0;
}

static void a_int(struct args *a, int64_t x)
{
    snprintf(a->num[a->n], sizeof(a->num[0]), "%" PRId64, x);
    a_text(a, a->num[a->n]);
}

static void a_blob(struct args *a, const void *p, int n)
{
    a->v[a->n] = p;
    a->len[a->n] = n;
    a->fmt[a->n++] = 1;
}

static void a_null(struct args *a)
{
    a_text(a, NULL);
}

/* SQLSTATE classes that mean "key taken / still referenced". */
static enum store_rc classify(struct pconn *c, PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0))
        return STORE_CONFLICT;
    log_msg(LOG_ERROR, "db_error", "op=%s sqlstate=%s err=\"%s\"", what,
            state ? state : "-", r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
    return STORE_ERR;
}

/* A statement outside a transaction failed because the session is gone:
 * reconnect and run it once more (inside a transaction the caller's earlier
 * statements are lost with the session, so that fails as it is). */
static int lost(struct pconn *c, int *retried)
{
    if (*retried || c->in_tx || PQstatus(c->pg) == CONNECTION_OK)
        return 0;
    *retried = 1;
    return reconnect(c);
}

/* Run a prepared statement; *rc is STORE_OK or the failure. The result (may
 * be NULL) belongs to the caller. */
static PGresult *run(struct pconn *c, enum pstmt id, const struct args *a, enum store_rc *rc,
                     const char *what)
{
    char name[16];
    PGresult *r;
    int retried = 0;
    snprintf(name, sizeof(name), "ota%d", (int)id);
again:
    if (!c->prepared[id]) {
        char sql[2048];
        if (store_sql_pg_params(PSQL[id], sql, sizeof(sql)) != 0) {
            log_msg(LOG_ERROR, "store_sql_too_long", "statement=%d", (int)id);
            *rc = STORE_ERR;
            return NULL;
        }
        r = PQprepare(c->pg, name, sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            if (lost(c, &retried)) {
                PQclear(r);
                goto again;
            }
            *rc = classify(c, r, what);
            PQclear(r);
            return NULL;
        }
        PQclear(r);
        c->prepared[id] = 1;
    }
    r = PQexecPrepared(c->pg, name, a ? a->n : 0, a ? a->v : NULL, a ? a->len : NULL,
                       a ? a->fmt : NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        *rc = STORE_OK;
        return r;
    }
    if (lost(c, &retried)) {
        PQclear(r);
        goto again;
    }
    *rc = classify(c, r, what);
    PQclear(r);
    return NULL;
}

/* A write: STORE_OK / CONFLICT / ERR; *changed = rows affected. */
static enum store_rc write1(struct pconn *c, enum pstmt id, const struct args *a,
                            const char *what, long *changed)
{
    enum store_rc rc;
    PGresult *r = run(c, id, a, &rc, what);
    if (r) {
        if (changed)
            *changed = atol(PQcmdTuples(r));
        PQclear(r);
    }
    return rc;
}

static int simple(struct pconn *c, const char *sql)
{
    PGresult *r = PQexec(c->pg, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        log_msg(LOG_ERROR, "db_error", "op=\"%s\" err=\"%s\"", sql, PQerrorMessage(c->pg));
    PQclear(r);
    return ok;
}

static int begin(struct pconn *c)
{
    if (PQstatus(c->pg) != CONNECTION_OK && !reconnect(c))
        return 0;
    c->in_tx = simple(c, "BEGIN");
    if (!c->in_tx && PQstatus(c->pg) != CONNECTION_OK && reconnect(c))
        c->in_tx = simple(c, "BEGIN");
    return c->in_tx;
}

/* Commit if rc is OK (a failed commit is an error), else roll back. */
static enum store_rc finish(struct pconn *c, enum store_rc rc)
{
    c->in_tx = 0;
    if (rc == STORE_OK)
        return simple(c, "COMMIT") ? STORE_OK : STORE_ERR;
    PGresult *r = PQexec(c->pg, "ROLLBACK");
    PQclear(r);
    return rc;
}

#define CONN_OR_FAIL(c, s)                                                       \
    struct pconn *c = get_conn(PGS(s));                                          \
    if (!c)                                                                      \
        return STORE_ERR

/* ---- column readers ------------------------------------------------------- */

static void col_text(PGresult *r, int row, int col, char *out, size_t cap)
{
    snprintf(out, cap, "%s", PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static int64_t col_int(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* bytea in text results is "\x<hex>" (bytea_output = hex, the default). */
static int col_blob(PGresult *r, int row, int col, uint8_t *out, size_t n)
{
    const char *v = PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
    memset(out, 0, n);
    if (!v || strncmp(v, "\\x", 2) != 0 || strlen(v + 2) != 2 * n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(v[2 + 2 * i]), lo = hexval(v[3 + 2 * i]);
        if (hi < 0 || lo < 0) {
            memset(out, 0, n);
            return 0;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 1;
}

/* ---- settings ------------------------------------------------------------ */

static enum store_rc pg_setting_get(struct store *s, const char *key, char *val, size_t cap)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_text(&a, key);
    PGresult *r = run(c, P_SETTING_GET, &a, &rc, "setting_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 1)
        col_text(r, 0, 0, val, cap);
    else
        rc = STORE_NOT_FOUND;
    PQclear(r);
    return rc;
}

static enum store_rc pg_setting_put(struct store *s, const char *key, const char *val)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_text(&a, key);
    a_text(&a, val);
    return write1(c, P_SETTING_PUT, &a, "setting_put", NULL);
}

/* ---- releases ------------------------------------------------------------ */

static void read_release(PGresult *r, int i, struct srv_release *rel)
{
    memset(rel, 0, sizeof(*rel));
    rel->id = col_int(r, i, 0);
    col_text(r, i, 1, rel->name, sizeof(rel->name));
    rel->version.major = (uint8_t)col_int(r, i, 2);
    rel->version.minor = (uint8_t)col_int(r, i, 3);
    rel->version.revision = (uint16_t)col_int(r, i, 4);
    rel->version.build = (uint32_t)col_int(r, i, 5);
    rel->security_counter = (uint32_t)col_int(r, i, 6);
    col_text(r, i, 7, rel->hw_id, sizeof(rel->hw_id));
    col_blob(r, i, 8, rel->digest, sizeof(rel->digest));
    rel->size = (uint64_t)col_int(r, i, 9);
    rel->created_at = col_int(r, i, 10);
    rel->raw = (uint8_t)col_int(r, i, 11);
    col_text(r, i, 12, rel->filename, sizeof(rel->filename));
    rel->has_hashes = (uint8_t)(col_blob(r, i, 13, rel->md5, sizeof(rel->md5)) &
                                col_blob(r, i, 14, rel->sha1, sizeof(rel->sha1)));
    col_text(r, i, 15, rel->link_slot, sizeof(rel->link_slot));
    rel->has_other = (uint8_t)col_blob(r, i, 16, rel->other_digest, sizeof(rel->other_digest));
    rel->other_size = (uint64_t)col_int(r, i, 17);
}

static enum store_rc pg_release_insert(struct store *s, struct srv_release *rel)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_text(&a, rel->name);
    a_int(&a, rel->version.major);
    a_int(&a, rel->version.minor);
    a_int(&a, rel->version.revision);
    a_int(&a, rel->version.build);
    a_int(&a, rel->security_counter);
    a_text(&a, rel->hw_id);
    a_blob(&a, rel->digest, OTA_SHA256_LEN);
    a_int(&a, (int64_t)rel->size);
    a_int(&a, rel->created_at);
    a_int(&a, rel->raw);
    a_text(&a, rel->filename);
    if (rel->has_hashes) {
        a_blob(&a, rel->md5, sizeof(rel->md5));
        a_blob(&a, rel->sha1, sizeof(rel->sha1));
    } else {
        a_null(&a);
        a_null(&a);
    }
    a_text(&a, rel->link_slot);
    PGresult *r = run(c, P_REL_INSERT, &a, &rc, "release_insert");
    if (r) {
        rel->id = col_int(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

static enum store_rc one_release(struct pconn *c, enum pstmt id, struct args *a,
                                 struct srv_release *rel)
{
    enum store_rc rc;
    PGresult *r = run(c, id, a, &rc, "release_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 1)
        read_release(r, 0, rel);
    else
        rc = STORE_NOT_FOUND;
    PQclear(r);
    return rc;
}

static enum store_rc pg_release_get(struct store *s, int64_t id, struct srv_release *rel)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_int(&a, id);
    return one_release(c, P_REL_GET, &a, rel);
}

static enum store_rc pg_release_by_digest(struct store *s, const uint8_t d[OTA_SHA256_LEN],
                                          struct srv_release *rel)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_blob(&a, d, OTA_SHA256_LEN);
    return one_release(c, P_REL_BY_DIGEST, &a, rel);
}

static enum store_rc pg_release_list(struct store *s, store_release_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    enum store_rc rc;
    struct srv_release rel;
    PGresult *r = run(c, P_REL_LIST, NULL, &rc, "release_list");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        read_release(r, i, &rel);
        cb(ctx, &rel);
    }
    PQclear(r);
    return STORE_OK;
}

static enum store_rc pg_release_delete(struct store *s, int64_t id)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    long changed = 0;
    a_int(&a, id);
    if (!begin(c))
        return STORE_ERR;
    PGresult *r = run(c, P_REL_IN_USE, &a, &rc, "release_in_use");
    if (r) {
        if (col_int(r, 0, 0) > 0)
            rc = STORE_CONFLICT;
        PQclear(r);
    }
    /* A campaign created meanwhile by another node: the foreign key makes
     * the delete fail (CONFLICT too). */
    if (rc == STORE_OK)
        rc = write1(c, P_REL_DELETE, &a, "release_delete", &changed);
    if (rc == STORE_OK && changed == 0)
        rc = STORE_NOT_FOUND;
    return finish(c, rc);
}

static enum store_rc pg_release_set_other(struct store *s, int64_t id,
                                          const uint8_t digest[OTA_SHA256_LEN], uint64_t size)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0}, g = {0};
    struct srv_release rel;
    long changed = 0;
    a_int(&g, id);
    enum store_rc rc = one_release(c, P_REL_GET, &g, &rel);
    if (rc != STORE_OK)
        return rc;
    a_int(&a, id);
    a_blob(&a, digest, OTA_SHA256_LEN);
    a_int(&a, (int64_t)size);
    /* one statement: the unique index and the IS NULL guard decide races */
    rc = write1(c, P_REL_SET_OTHER, &a, "release_set_other", &changed);
    return rc == STORE_OK && changed == 0 ? STORE_CONFLICT : rc;
}

/* ---- devices ------------------------------------------------------------- */

static void read_device(PGresult *r, int i, struct srv_device *d)
{
    memset(d, 0, sizeof(*d));
    col_text(r, i, 0, d->id, sizeof(d->id));
    col_blob(r, i, 1, d->token_hash, sizeof(d->token_hash));
    col_text(r, i, 2, d->hw_id, sizeof(d->hw_id));
    col_text(r, i, 3, d->tags, sizeof(d->tags));
    col_text(r, i, 4, d->current_version, sizeof(d->current_version));
    d->has_digest = (uint8_t)col_blob(r, i, 5, d->current_digest, sizeof(d->current_digest));
    col_text(r, i, 6, d->slot_state, sizeof(d->slot_state));
    col_text(r, i, 7, d->last_result, sizeof(d->last_result));
    d->last_seen = col_int(r, i, 8);
    d->created_at = col_int(r, i, 9);
    col_text(r, i, 10, d->running_slot, sizeof(d->running_slot));
}

static enum store_rc insert_device(struct pconn *c, const struct srv_device *d)
{
    struct args a = {0};
    a_text(&a, d->id);
    a_blob(&a, d->token_hash, OTA_SHA256_LEN);
    a_text(&a, d->hw_id);
    a_text(&a, d->tags);
    a_int(&a, d->created_at);
    return write1(c, P_DEV_INSERT, &a, "device_insert", NULL);
}

static enum store_rc pg_device_insert(struct store *s, const struct srv_device *d)
{
    CONN_OR_FAIL(c, s);
    return insert_device(c, d);
}

static enum store_rc one_device(struct pconn *c, enum pstmt id, struct args *a,
                                struct srv_device *d)
{
    enum store_rc rc;
    PGresult *r = run(c, id, a, &rc, "device_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 1)
        read_device(r, 0, d);
    else
        rc = STORE_NOT_FOUND;
    PQclear(r);
    return rc;
}

static enum store_rc pg_device_get(struct store *s, const char *id, struct srv_device *d)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_text(&a, id);
    return one_device(c, P_DEV_GET, &a, d);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum store_rc pg_device_get_auth(struct store *s, const char *id,
                                        struct srv_device *d)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_text(&a, id);
    c->gen_at_ms = 0;
    PGresult *r = run(c, P_DEV_AUTH, &a, &rc, "device_get_auth");
    if (!r)
        return rc;
    if (PQntuples(r) == 1) {
        read_device(r, 0, d);
        /* The check-in that follows asks for the generation: it gets this
         * one, read in the same round trip (see pg_campaign_generation). */
        if (!PQgetisnull(r, 0, 11)) {
            c->gen = col_int(r, 0, 11);
            c->gen_at_ms = mono_ms();
        }
    } else {
        rc = STORE_NOT_FOUND;
    }
    PQclear(r);
    return rc;
}

static enum store_rc pg_device_by_token(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                        struct srv_device *d)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_blob(&a, h, OTA_SHA256_LEN);
    return one_device(c, P_DEV_BY_TOKEN, &a, d);
}

static enum store_rc pg_device_list(struct store *s, const char *after, int limit,
                                    store_device_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    struct srv_device d;
    a_text(&a, after ? after : "");
    a_int(&a, limit);
    PGresult *r = run(c, P_DEV_LIST, &a, &rc, "device_list");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        read_device(r, i, &d);
        cb(ctx, &d);
    }
    PQclear(r);
    return STORE_OK;
}

static enum store_rc update_one(struct pconn *c, enum pstmt id, struct args *a,
                                const char *what)
{
    long changed = 0;
    enum store_rc rc = write1(c, id, a, what, &changed);
    if (rc == STORE_OK && changed == 0)
        rc = STORE_NOT_FOUND;
    return rc;
}

static enum store_rc pg_device_set_tags(struct store *s, const char *id, const char *tags)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_text(&a, id);
    a_text(&a, tags);
    return update_one(c, P_DEV_SET_TAGS, &a, "device_set_tags");
}

static enum store_rc pg_device_set_token(struct store *s, const char *id,
                                         const uint8_t h[OTA_SHA256_LEN])
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_text(&a, id);
    a_blob(&a, h, OTA_SHA256_LEN);
    return update_one(c, P_DEV_SET_TOKEN, &a, "device_set_token");
}

static enum store_rc pg_device_delete(struct store *s, const char *id)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_text(&a, id);
    if (!begin(c))
        return STORE_ERR;
    enum store_rc rc = update_one(c, P_DEV_DELETE, &a, "device_delete");
    if (rc == STORE_OK)
        rc = write1(c, P_SEEN_DELETE, &a, "seen_delete", NULL);
    if (rc == STORE_OK)
        rc = write1(c, P_DEV_REP_DELETE, &a, "device_delete", NULL);
    if (rc == STORE_OK)
        rc = write1(c, P_DEV_DC_DELETE, &a, "device_delete", NULL);
    return finish(c, rc);
}

static enum store_rc pg_devices_seen(struct store *s, const struct srv_seen *v, size_t n)
{
    CONN_OR_FAIL(c, s);
    enum store_rc rc = STORE_OK;
    if (n == 0)
        return STORE_OK;
    /* Inventory is refreshed by the next check-in: no flush to disk per
     * batch (like SQLite's synchronous=NORMAL here); still crash-consistent. */
    if (!begin(c))
        return STORE_ERR;
    if (!simple(c, "SET LOCAL synchronous_commit = off"))
        rc = STORE_ERR;
    /* Last-seen times: one statement with two array parameters. */
    char *ids = malloc(n * (2 * SRV_ID_MAX + 4) + 3), *ats = malloc(n * 21 + 3);
    if (!ids || !ats) {
        rc = STORE_ERR;
    } else {
        size_t pi = 0, pa = 0;
        ids[pi++] = '{';
        ats[pa++] = '{';
        for (size_t i = 0; i < n; i++) {
            /* array literal: "..." with \ and " escaped */
            if (i) {
                ids[pi++] = ',';
                ats[pa++] = ',';
            }
            ids[pi++] = '"';
            for (const char *p = v[i].device_id; *p; p++) {
                if (*p == '"' || *p == '\\')
                    ids[pi++] = '\\';
                ids[pi++] = *p;
            }
            ids[pi++] = '"';
            pa += (size_t)snprintf(ats + pa, 22, "%" PRId64, v[i].at);
        }
        ids[pi++] = '}';
        ids[pi] = '\0';
        ats[pa++] = '}';
        ats[pa] = '\0';
        if (rc == STORE_OK) {
            struct args a = {0};
            a_text(&a, ids);
            a_text(&a, ats);
            rc = write1(c, P_SEEN_UPSERT, &a, "device_seen", NULL);
        }
    }
    free(ids);
    free(ats);
    /* Reported state: only for the few devices whose state changed. */
    for (size_t i = 0; rc == STORE_OK && i < n; i++) {
        struct args a = {0};
        if (!v[i].state_changed)
            continue;
        a_text(&a, v[i].device_id);
        a_int(&a, v[i].at);
        a_text(&a, v[i].current_version);
        if (v[i].has_digest)
            a_blob(&a, v[i].current_digest, OTA_SHA256_LEN);
        else
            a_null(&a);
        a_text(&a, v[i].slot_state);
        a_text(&a, v[i].last_result);
        a_text(&a, v[i].running_slot);
        rc = write1(c, P_DEV_SEEN, &a, "devices_seen", NULL);
    }
    return finish(c, rc == STORE_CONFLICT ? STORE_ERR : rc);
}

static int64_t pg_device_count(struct store *s)
{
    struct pconn *c = get_conn(PGS(s));
    enum store_rc rc;
    int64_t n = -1;
    PGresult *r = c ? run(c, P_DEV_COUNT, NULL, &rc, "device_count") : NULL;
    if (r) {
        n = col_int(r, 0, 0);
        PQclear(r);
    }
    return n;
}

/* ---- enrollment ---------------------------------------------------------- */

static enum store_rc pg_enroll_insert(struct store *s, struct srv_enroll_token *t)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_blob(&a, t->token_hash, OTA_SHA256_LEN);
    a_text(&a, t->tags);
    a_text(&a, t->hw_id);
    a_int(&a, t->expires_at);
    a_int(&a, t->max_uses);
    a_int(&a, t->created_at);
    PGresult *r = run(c, P_ENR_INSERT, &a, &rc, "enroll_insert");
    if (r) {
        t->id = col_int(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

static void read_enroll(PGresult *r, int i, struct srv_enroll_token *t)
{
    memset(t, 0, sizeof(*t));
    t->id = col_int(r, i, 0);
    col_blob(r, i, 1, t->token_hash, OTA_SHA256_LEN);
    col_text(r, i, 2, t->tags, sizeof(t->tags));
    col_text(r, i, 3, t->hw_id, sizeof(t->hw_id));
    t->expires_at = col_int(r, i, 4);
    t->max_uses = col_int(r, i, 5);
    t->uses = col_int(r, i, 6);
    t->created_at = col_int(r, i, 7);
}

static enum store_rc pg_enroll_list(struct store *s, store_enroll_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    enum store_rc rc;
    struct srv_enroll_token t;
    PGresult *r = run(c, P_ENR_LIST, NULL, &rc, "enroll_list");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        read_enroll(r, i, &t);
        cb(ctx, &t);
    }
    PQclear(r);
    return STORE_OK;
}

static enum store_rc pg_enroll_delete(struct store *s, int64_t id)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_int(&a, id);
    return update_one(c, P_ENR_DELETE, &a, "enroll_delete");
}

static enum store_rc pg_enroll_use(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                   int64_t now, struct srv_device *d,
                                   struct srv_enroll_token *t)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_blob(&a, h, OTA_SHA256_LEN);
    if (!begin(c))
        return STORE_ERR;
    PGresult *r = run(c, P_ENR_BY_HASH, &a, &rc, "enroll_get");
    if (r) {
        if (PQntuples(r) == 1) {
            read_enroll(r, 0, t);
        } else {
            rc = STORE_NOT_FOUND;
        }
        PQclear(r);
    }
    if (rc == STORE_OK && ((t->expires_at && now >= t->expires_at) ||
                           (t->max_uses && t->uses >= t->max_uses)))
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK && t->hw_id[0] && strcmp(t->hw_id, d->hw_id) != 0)
        rc = STORE_REFUSED;
    if (rc == STORE_OK) {
        snprintf(d->tags, sizeof(d->tags), "%s", t->tags);
        rc = insert_device(c, d);
    }
    if (rc == STORE_OK) {
        struct args u = {0};
        a_int(&u, t->id);
        rc = write1(c, P_ENR_USE, &u, "enroll_use", NULL);
    }
    return finish(c, rc);
}

/* ---- campaigns ----------------------------------------------------------- */

/* Stages are stored as "percent:soak:min_finished:max_ratio;..." (the same
 * text as the SQLite backend, so a migration tool can copy rows as they are). */
static void read_campaign(PGresult *r, int i, struct srv_campaign *cp)
{
    char stages[SRV_STAGES_TEXT_MAX];
    memset(cp, 0, sizeof(*cp));
    cp->id = col_int(r, i, 0);
    col_text(r, i, 1, cp->name, sizeof(cp->name));
    cp->release_id = col_int(r, i, 2);
    col_text(r, i, 3, cp->f_hw_id, sizeof(cp->f_hw_id));
    col_text(r, i, 4, cp->f_tags, sizeof(cp->f_tags));
    col_text(r, i, 5, cp->f_min_version, sizeof(cp->f_min_version));
    col_text(r, i, 6, cp->f_max_version, sizeof(cp->f_max_version));
    col_text(r, i, 7, stages, sizeof(stages));
    store_stages_decode(stages, cp);
    cp->state = (int)col_int(r, i, 8);
    cp->stage = (int)col_int(r, i, 9);
    cp->stage_started_at = col_int(r, i, 10);
    cp->complete = (int)col_int(r, i, 11);
    col_text(r, i, 12, cp->halt_reason, sizeof(cp->halt_reason));
    cp->created_at = col_int(r, i, 13);
    cp->updated_at = col_int(r, i, 14);
    col_text(r, i, 15, stages, sizeof(stages));
    store_warnings_decode(stages, cp);
}

static enum store_rc pg_campaign_insert(struct store *s, struct srv_campaign *cp)
{
    CONN_OR_FAIL(c, s);
    char stages[SRV_STAGES_TEXT_MAX], warnings[SRV_STAGES_MAX * 96];
    struct args a = {0};
    enum store_rc rc;
    store_stages_encode(cp, stages, sizeof(stages));
    store_warnings_encode(cp, warnings, sizeof(warnings));
    a_text(&a, cp->name);
    a_int(&a, cp->release_id);
    a_text(&a, cp->f_hw_id);
    a_text(&a, cp->f_tags);
    a_text(&a, cp->f_min_version);
    a_text(&a, cp->f_max_version);
    a_text(&a, stages);
    a_int(&a, cp->state);
    a_int(&a, cp->stage);
    a_int(&a, cp->stage_started_at);
    a_int(&a, cp->complete);
    a_text(&a, cp->halt_reason);
    a_int(&a, cp->created_at);
    a_int(&a, cp->updated_at);
    a_text(&a, warnings);
    if (!begin(c))
        return STORE_ERR;
    PGresult *r = run(c, P_CAMP_INSERT, &a, &rc, "campaign_insert");
    if (r) {
        cp->id = col_int(r, 0, 0);
        PQclear(r);
    }
    if (rc == STORE_OK)
        rc = write1(c, P_GEN_BUMP, NULL, "generation", NULL);
    return finish(c, rc);
}

static enum store_rc pg_campaign_get(struct store *s, int64_t id, struct srv_campaign *cp)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_int(&a, id);
    PGresult *r = run(c, P_CAMP_GET, &a, &rc, "campaign_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 1)
        read_campaign(r, 0, cp);
    else
        rc = STORE_NOT_FOUND;
    PQclear(r);
    return rc;
}

static enum store_rc pg_campaign_list(struct store *s, int only_active,
                                      store_campaign_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    enum store_rc rc;
    struct srv_campaign cp;
    PGresult *r = run(c, only_active ? P_CAMP_LIST_ACTIVE : P_CAMP_LIST, NULL, &rc,
                      "campaign_list");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        read_campaign(r, i, &cp);
        cb(ctx, &cp);
    }
    PQclear(r);
    return STORE_OK;
}

static enum store_rc pg_campaign_update(struct store *s, const struct srv_campaign *cp,
                                        int expect_state, int expect_stage)
{
    CONN_OR_FAIL(c, s);
    char stages[SRV_STAGES_TEXT_MAX], warnings[SRV_STAGES_MAX * 96];
    struct args a = {0};
    long changed = 0;
    store_stages_encode(cp, stages, sizeof(stages));
    store_warnings_encode(cp, warnings, sizeof(warnings));
    a_int(&a, cp->id);
    a_int(&a, cp->state);
    a_int(&a, cp->stage);
    a_int(&a, cp->stage_started_at);
    a_int(&a, cp->complete);
    a_text(&a, cp->halt_reason);
    a_int(&a, cp->updated_at);
    a_int(&a, expect_state);
    a_int(&a, expect_stage);
    a_text(&a, stages);
    a_text(&a, warnings);
    if (!begin(c))
        return STORE_ERR;
    /* Under READ COMMITTED the UPDATE re-checks its WHERE clause against the
     * newest row version: of two nodes applying the same transition, the
     * second finds nothing to change. */
    enum store_rc rc = write1(c, P_CAMP_UPDATE, &a, "campaign_update", &changed);
    if (rc == STORE_OK && changed == 0)
        rc = STORE_CONFLICT;
    if (rc == STORE_OK)
        rc = write1(c, P_GEN_BUMP, NULL, "generation", NULL);
    return finish(c, rc);
}

static enum store_rc pg_campaign_counts(struct store *s, int64_t id, struct srv_counts *out)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    memset(out, 0, sizeof(*out));
    a_int(&a, id);
    PGresult *r = run(c, P_CAMP_COUNTS, &a, &rc, "campaign_counts");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t stage = col_int(r, i, 0), state = col_int(r, i, 1);
        if (stage >= 0 && stage < SRV_STAGES_MAX && state >= 0 && state < DC_STATE_COUNT)
            out->by_stage_state[stage][state] += col_int(r, i, 2);
    }
    PQclear(r);
    return STORE_OK;
}

static int64_t pg_campaign_generation(struct store *s)
{
    struct pconn *c = get_conn(PGS(s));
    enum store_rc rc;
    int64_t g = -1;
    if (!c)
        return -1;
    /* Read by this thread's device_get_auth of the same check-in (a few
     * microseconds ago): no second round trip. Used once; never if older
     * than a second. */
    if (c->gen_at_ms && mono_ms() - c->gen_at_ms < 1000) {
        c->gen_at_ms = 0;
        return c->gen;
    }
    PGresult *r = run(c, P_GEN_GET, NULL, &rc, "generation");
    if (r) {
        if (PQntuples(r) == 1)
            g = col_int(r, 0, 0);
        PQclear(r);
    }
    return g;
}

/* Session advisory lock of this thread's connection: the rollout engine of
 * every node evaluates a campaign only while holding it. */
static enum store_rc pg_campaign_lock(struct store *s, int64_t id)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_int(&a, (int64_t)(int32_t)(uint32_t)id);
    return write1(c, P_CAMP_LOCK, &a, "campaign_lock", NULL);
}

static void pg_campaign_unlock(struct store *s, int64_t id)
{
    struct pconn *c = get_conn(PGS(s));
    struct args a = {0};
    if (!c)
        return;
    a_int(&a, (int64_t)(int32_t)(uint32_t)id);
    write1(c, P_CAMP_UNLOCK, &a, "campaign_unlock", NULL);
}

/* ---- device campaign progress and reports -------------------------------- */

static void read_dc(PGresult *r, int i, struct srv_dc *dc)
{
    memset(dc, 0, sizeof(*dc));
    dc->campaign_id = col_int(r, i, 0);
    col_text(r, i, 1, dc->device_id, sizeof(dc->device_id));
    dc->state = (int)col_int(r, i, 2);
    dc->stage = (int)col_int(r, i, 3);
    dc->updated_at = col_int(r, i, 4);
}

static enum store_rc pg_dc_get(struct store *s, int64_t cid, const char *dev,
                               struct srv_dc *out)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_int(&a, cid);
    a_text(&a, dev);
    PGresult *r = run(c, P_DC_GET, &a, &rc, "dc_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 1)
        read_dc(r, 0, out);
    else
        rc = STORE_NOT_FOUND;
    PQclear(r);
    return rc;
}

static enum store_rc pg_dc_list(struct store *s, int64_t cid, int state, const char *after,
                                int limit, store_dc_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    struct srv_dc dc;
    a_int(&a, cid);
    a_text(&a, after ? after : "");
    a_int(&a, state);
    a_int(&a, limit);
    PGresult *r = run(c, P_DC_LIST, &a, &rc, "dc_list");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        read_dc(r, i, &dc);
        cb(ctx, &dc);
    }
    PQclear(r);
    return STORE_OK;
}

static enum store_rc pg_dc_offer(struct store *s, const struct srv_dc *dc)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_int(&a, dc->campaign_id);
    a_text(&a, dc->device_id);
    a_int(&a, dc->stage);
    a_int(&a, dc->updated_at);
    return write1(c, P_DC_OFFER, &a, "dc_offer", NULL);
}

static enum store_rc pg_report_insert(struct store *s, struct srv_report *rep,
                                      const char *last_result)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_text(&a, rep->device_id);
    a_int(&a, rep->campaign_id);
    a_int(&a, rep->state);
    a_int(&a, rep->code);
    a_text(&a, rep->detail);
    a_int(&a, rep->created_at);
    if (!begin(c))
        return STORE_ERR;
    if (rep->campaign_id) {
        /* The campaign row moves first (row lock: concurrent reports of one
         * device serialise here); none to move - never offered, or already
         * final - means nothing at all is written. */
        struct args b = {0};
        long changed = 0;
        a_int(&b, rep->campaign_id);
        a_text(&b, rep->device_id);
        a_int(&b, rep->state);
        a_int(&b, rep->created_at);
        rc = write1(c, P_DC_SET_STATE, &b, "dc_set_state", &changed);
        if (rc == STORE_OK && changed == 0)
            rc = STORE_REFUSED;
        if (rc != STORE_OK)
            return finish(c, rc);
    }
    PGresult *r = run(c, P_REP_INSERT, &a, &rc, "report_insert");
    if (r) {
        rep->id = col_int(r, 0, 0);
        PQclear(r);
    }
    if (rc == STORE_OK) {
        struct args b = {0};
        a_text(&b, rep->device_id);
        a_text(&b, last_result);
        a_int(&b, rep->created_at);
        rc = write1(c, P_DEV_SET_RESULT, &b, "device_set_result", NULL);
    }
    /* COMMIT returns after the WAL is flushed (synchronous_commit = on). */
    return finish(c, rc);
}

static enum store_rc pg_report_list(struct store *s, const char *dev, int64_t after,
                                    int limit, store_report_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    struct srv_report rep;
    a_text(&a, dev);
    a_int(&a, after);
    a_int(&a, limit);
    PGresult *r = run(c, P_REP_LIST, &a, &rc, "report_list");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        memset(&rep, 0, sizeof(rep));
        rep.id = col_int(r, i, 0);
        col_text(r, i, 1, rep.device_id, sizeof(rep.device_id));
        rep.campaign_id = col_int(r, i, 2);
        rep.state = (int)col_int(r, i, 3);
        rep.code = col_int(r, i, 4);
        col_text(r, i, 5, rep.detail, sizeof(rep.detail));
        rep.created_at = col_int(r, i, 6);
        cb(ctx, &rep);
    }
    PQclear(r);
    return STORE_OK;
}

/* ---- delta cache --------------------------------------------------------- */

static enum store_rc pg_delta_get(struct store *s, const uint8_t base[OTA_SHA256_LEN],
                                  const uint8_t target[OTA_SHA256_LEN],
                                  uint8_t payload[OTA_SHA256_LEN], uint64_t *size)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_blob(&a, base, OTA_SHA256_LEN);
    a_blob(&a, target, OTA_SHA256_LEN);
    PGresult *r = run(c, P_DELTA_GET, &a, &rc, "delta_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 1) {
        col_blob(r, 0, 0, payload, OTA_SHA256_LEN);
        *size = (uint64_t)col_int(r, 0, 1);
    } else {
        rc = STORE_NOT_FOUND;
    }
    PQclear(r);
    return rc;
}

static enum store_rc pg_delta_put(struct store *s, const uint8_t base[OTA_SHA256_LEN],
                                  const uint8_t target[OTA_SHA256_LEN],
                                  const uint8_t payload[OTA_SHA256_LEN], uint64_t size)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_blob(&a, base, OTA_SHA256_LEN);
    a_blob(&a, target, OTA_SHA256_LEN);
    a_blob(&a, payload, OTA_SHA256_LEN);
    a_int(&a, (int64_t)size);
    return write1(c, P_DELTA_PUT, &a, "delta_put", NULL);
}

/* ---- hawkBit DDI ----------------------------------------------------------- */

static enum store_rc pg_release_set_hashes(struct store *s, int64_t id, const uint8_t md5[16],
                                           const uint8_t sha1[20])
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_int(&a, id);
    a_blob(&a, md5, 16);
    a_blob(&a, sha1, 20);
    return write1(c, P_REL_SET_HASHES, &a, "release_set_hashes", NULL);
}

static enum store_rc pg_ddi_actions(struct store *s, const char *dev, store_ddi_action_cb cb,
                                    void *ctx)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    struct srv_ddi_action x;
    a_text(&a, dev);
    PGresult *r = run(c, P_DDI_ACTIONS, &a, &rc, "ddi_actions");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        memset(&x, 0, sizeof(x));
        x.campaign_id = col_int(r, i, 0);
        x.release_id = col_int(r, i, 1);
        x.dc_state = (int)col_int(r, i, 2);
        x.campaign_state = (int)col_int(r, i, 3);
        x.cancel = (int)col_int(r, i, 4);
        x.updated_at = col_int(r, i, 5);
        cb(ctx, &x);
    }
    PQclear(r);
    return STORE_OK;
}

static enum store_rc pg_ddi_cancel_put(struct store *s, int64_t cid, const char *dev,
                                       int cancel, const char *last_result, int64_t now)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0}, b = {0};
    a_int(&a, cid);
    a_text(&a, dev);
    a_int(&a, cancel);
    a_int(&a, now);
    a_text(&b, dev);
    a_text(&b, last_result);
    a_int(&b, now);
    if (!begin(c))
        return STORE_ERR;
    enum store_rc rc = write1(c, P_DDI_CANCEL_PUT, &a, "ddi_cancel_put", NULL);
    if (rc == STORE_OK)
        rc = write1(c, P_DEV_SET_RESULT, &b, "device_set_result", NULL);
    return finish(c, rc);
}

static enum store_rc pg_ddi_attrs_put(struct store *s, const char *dev, const char *attrs,
                                      const char *hw_id, int64_t now)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    char cur[SRV_HWID_MAX + 1] = "";
    a_text(&a, dev);
    if (!begin(c))
        return STORE_ERR;
    PGresult *r = run(c, P_DDI_DEV_HW, &a, &rc, "ddi_attrs_put");
    if (r) {
        if (PQntuples(r) == 1)
            col_text(r, 0, 0, cur, sizeof(cur));
        else
            rc = STORE_NOT_FOUND;
        PQclear(r);
    }
    if (rc == STORE_OK && hw_id[0] && cur[0] && strcmp(cur, hw_id) != 0)
        rc = STORE_REFUSED;
    if (rc == STORE_OK && hw_id[0] && !cur[0]) {
        struct args b = {0};
        a_text(&b, dev);
        a_text(&b, hw_id);
        rc = write1(c, P_DDI_SET_HW, &b, "ddi_set_hw_id", NULL);
    }
    if (rc == STORE_OK) {
        struct args b = {0};
        a_text(&b, dev);
        a_text(&b, attrs);
        a_int(&b, now);
        rc = write1(c, P_DDI_ATTRS_PUT, &b, "ddi_attrs_put", NULL);
    }
    return finish(c, rc);
}

static enum store_rc pg_ddi_attrs_get(struct store *s, const char *dev, char *attrs,
                                      size_t cap, int64_t *updated_at)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_text(&a, dev);
    PGresult *r = run(c, P_DDI_ATTRS_GET, &a, &rc, "ddi_attrs_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 1) {
        col_text(r, 0, 0, attrs, cap);
        *updated_at = col_int(r, 0, 1);
    } else {
        rc = STORE_NOT_FOUND;
    }
    PQclear(r);
    return rc;
}

/* ---- open / migrate / close ---------------------------------------------- */

/* ---- users: API tokens, console sessions, audit log ----------------------- */

static enum store_rc pg_api_token_insert(struct store *s, struct srv_api_token *t)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_text(&a, t->name);
    a_int(&a, t->role);
    a_blob(&a, t->token_hash, OTA_SHA256_LEN);
    a_int(&a, t->created_at);
    a_text(&a, t->created_by);
    PGresult *r = run(c, P_TOK_INSERT, &a, &rc, "api_token_insert");
    if (r) {
        t->id = col_int(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

static void read_api_token(PGresult *r, int i, struct srv_api_token *t)
{
    memset(t, 0, sizeof(*t));
    t->id = col_int(r, i, 0);
    col_text(r, i, 1, t->name, sizeof(t->name));
    t->role = (int)col_int(r, i, 2);
    col_blob(r, i, 3, t->token_hash, OTA_SHA256_LEN);
    t->created_at = col_int(r, i, 4);
    col_text(r, i, 5, t->created_by, sizeof(t->created_by));
    t->last_used_at = col_int(r, i, 6);
}

static enum store_rc pg_api_token_by_hash(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                          struct srv_api_token *t)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_blob(&a, h, OTA_SHA256_LEN);
    PGresult *r = run(c, P_TOK_BY_HASH, &a, &rc, "api_token_by_hash");
    if (!r)
        return rc;
    if (PQntuples(r) == 1)
        read_api_token(r, 0, t);
    else
        rc = STORE_NOT_FOUND;
    PQclear(r);
    return rc;
}

static enum store_rc pg_api_token_list(struct store *s, store_api_token_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    enum store_rc rc;
    struct srv_api_token t;
    PGresult *r = run(c, P_TOK_LIST, NULL, &rc, "api_token_list");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        read_api_token(r, i, &t);
        cb(ctx, &t);
    }
    PQclear(r);
    return STORE_OK;
}

static enum store_rc pg_api_token_delete(struct store *s, int64_t id)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_int(&a, id);
    if (!begin(c))
        return STORE_ERR;
    rc = write1(c, P_TOK_SESSIONS_DELETE, &a, "api_token_sessions_delete", NULL);
    if (rc == STORE_OK)
        rc = update_one(c, P_TOK_DELETE, &a, "api_token_delete");
    return finish(c, rc);
}

static enum store_rc pg_api_token_touch(struct store *s, int64_t id, int64_t now)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_int(&a, id);
    a_int(&a, now);
    return update_one(c, P_TOK_TOUCH, &a, "api_token_touch");
}

static enum store_rc pg_session_put(struct store *s, const struct srv_session *ss,
                                    int64_t idle_before, int64_t created_before)
{
    CONN_OR_FAIL(c, s);
    struct args p = {0}, a = {0};
    enum store_rc rc;
    a_int(&p, idle_before);
    a_int(&p, created_before);
    a_blob(&a, ss->id_hash, OTA_SHA256_LEN);
    a_blob(&a, ss->token_hash, OTA_SHA256_LEN);
    a_int(&a, ss->created_at);
    a_int(&a, ss->last_used);
    if (!begin(c))
        return STORE_ERR;
    rc = write1(c, P_SES_PRUNE, &p, "session_prune", NULL);
    if (rc == STORE_OK)
        rc = write1(c, P_SES_INSERT, &a, "session_insert", NULL);
    return finish(c, rc);
}

static enum store_rc pg_session_get(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                    struct srv_session *ss)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_blob(&a, h, OTA_SHA256_LEN);
    PGresult *r = run(c, P_SES_GET, &a, &rc, "session_get");
    if (!r)
        return rc;
    if (PQntuples(r) == 1) {
        memset(ss, 0, sizeof(*ss));
        col_blob(r, 0, 0, ss->id_hash, OTA_SHA256_LEN);
        col_blob(r, 0, 1, ss->token_hash, OTA_SHA256_LEN);
        ss->created_at = col_int(r, 0, 2);
        ss->last_used = col_int(r, 0, 3);
    } else {
        rc = STORE_NOT_FOUND;
    }
    PQclear(r);
    return rc;
}

static enum store_rc pg_session_touch(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                      int64_t now)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_blob(&a, h, OTA_SHA256_LEN);
    a_int(&a, now);
    return update_one(c, P_SES_TOUCH, &a, "session_touch");
}

static enum store_rc pg_session_delete(struct store *s, const uint8_t h[OTA_SHA256_LEN])
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_blob(&a, h, OTA_SHA256_LEN);
    return update_one(c, P_SES_DELETE, &a, "session_delete");
}

static enum store_rc pg_audit_insert(struct store *s, struct srv_audit *au)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    a_int(&a, au->at);
    a_text(&a, au->actor);
    a_text(&a, au->role);
    a_text(&a, au->action);
    a_text(&a, au->target);
    a_int(&a, au->status);
    PGresult *r = run(c, P_AUD_INSERT, &a, &rc, "audit_insert");
    if (r) {
        au->id = col_int(r, 0, 0);
        PQclear(r);
    }
    return rc;
}

static enum store_rc pg_audit_list(struct store *s, int64_t from, int newest, int limit,
                                   store_audit_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    enum store_rc rc;
    struct srv_audit au;
    a_int(&a, from);
    a_int(&a, limit);
    PGresult *r = run(c, newest ? P_AUD_LIST_DESC : P_AUD_LIST, &a, &rc, "audit_list");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        memset(&au, 0, sizeof(au));
        au.id = col_int(r, i, 0);
        au.at = col_int(r, i, 1);
        col_text(r, i, 2, au.actor, sizeof(au.actor));
        col_text(r, i, 3, au.role, sizeof(au.role));
        col_text(r, i, 4, au.action, sizeof(au.action));
        col_text(r, i, 5, au.target, sizeof(au.target));
        au.status = (int)col_int(r, i, 6);
        cb(ctx, &au);
    }
    PQclear(r);
    return STORE_OK;
}

static enum store_rc pg_audit_prune(struct store *s, int64_t before)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_int(&a, before);
    return write1(c, P_AUD_PRUNE, &a, "audit_prune", NULL);
}

/* ---- read-only queries of the console (store.h query) -------------------- */

static enum store_rc pg_query(struct store *s, const char *sql, const struct store_param *p,
                              int np, store_row_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    char text[4096];
    const char *cols[32];
    enum store_rc rc = STORE_OK;
    if (np > STORE_QUERY_MAX_PARAMS || store_sql_pg_params(sql, text, sizeof(text)) != 0) {
        log_msg(LOG_ERROR, "store_sql_too_long", "statement=query");
        return STORE_ERR;
    }
    for (int i = 0; i < np; i++) {
        if (p[i].kind == STORE_P_INT)
            a_int(&a, p[i].i);
        else if (p[i].kind == STORE_P_BLOB)
            a_blob(&a, p[i].s, (int)p[i].i);
        else
            a_text(&a, p[i].s);
    }
    PGresult *r = PQexecParams(c->pg, text, a.n, NULL, a.v, a.len, a.fmt, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = classify(c, r, "query");
        PQclear(r);
        return rc;
    }
    int n = PQnfields(r);
    if (n > 32)
        n = 32;
    for (int row = 0; row < PQntuples(r); row++) {
        for (int i = 0; i < n; i++)
            cols[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
        cb(ctx, n, cols);
    }
    PQclear(r);
    return rc;
}

/* ---- device health ------------------------------------------------------ */

static enum store_rc pg_health_add(struct store *s, const struct srv_health_report *h)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_text(&a, h->device_id);
    a_text(&a, h->release);
    a_int(&a, h->period_s);
    a_int(&a, h->crashes);
    a_int(&a, h->resets);
    a_int(&a, h->at);
    if (!begin(c))
        return STORE_ERR;
    enum store_rc rc = write1(c, P_HEALTH_ADD, &a, "health_add", NULL);
    for (int i = 0; i < h->n_counters && rc == STORE_OK; i++) {
        struct args b = {0};
        a_text(&b, h->device_id);
        a_text(&b, h->release);
        a_text(&b, h->names[i]);
        a_int(&b, h->values[i]);
        a_int(&b, h->at);
        rc = write1(c, P_HEALTH_COUNTER_ADD, &b, "health_add", NULL);
    }
    return finish(c, rc);
}

/* Rows of one aggregation; `control` says which column layout. */
static enum store_rc health_rows(struct pconn *c, enum pstmt id, int64_t cid,
                                 const char *release, int control, int counters,
                                 store_health_cb cb, void *ctx)
{
    struct args a = {0};
    enum store_rc rc;
    struct srv_health_row row;
    a_int(&a, cid);
    a_text(&a, release);
    PGresult *r = run(c, id, &a, &rc, "health_rows");
    if (!r)
        return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        int k = 0;
        memset(&row, 0, sizeof(row));
        row.stage = -1;
        if (control) {
            col_text(r, i, k++, row.release, sizeof(row.release));
            col_text(r, i, k++, row.hw_id, sizeof(row.hw_id));
            col_text(r, i, k++, row.tags, sizeof(row.tags));
        } else {
            row.stage = (int)col_int(r, i, k++);
            snprintf(row.release, sizeof(row.release), "%s", release);
        }
        if (counters) {
            col_text(r, i, k++, row.name, sizeof(row.name));
            row.value = col_int(r, i, k);
        } else {
            row.devices = col_int(r, i, k);
            row.period_s = col_int(r, i, k + 1);
            row.crashes = col_int(r, i, k + 2);
            row.resets = col_int(r, i, k + 3);
        }
        cb(ctx, &row);
    }
    PQclear(r);
    return STORE_OK;
}

static enum store_rc pg_health_updated(struct store *s, int64_t cid, const char *release,
                                       store_health_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    enum store_rc rc = health_rows(c, P_HEALTH_UPDATED, cid, release, 0, 0, cb, ctx);
    return rc == STORE_OK ? health_rows(c, P_HEALTH_UPDATED_COUNTERS, cid, release, 0, 1, cb, ctx)
                          : rc;
}

static enum store_rc pg_health_control(struct store *s, int64_t cid, const char *release,
                                       store_health_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    enum store_rc rc = health_rows(c, P_HEALTH_CONTROL, cid, release, 1, 0, cb, ctx);
    return rc == STORE_OK ? health_rows(c, P_HEALTH_CONTROL_COUNTERS, cid, release, 1, 1, cb, ctx)
                          : rc;
}

static enum store_rc pg_health_prune(struct store *s, int64_t before)
{
    CONN_OR_FAIL(c, s);
    struct args a = {0};
    a_int(&a, before);
    enum store_rc rc = write1(c, P_HEALTH_PRUNE, &a, "health_prune", NULL);
    return rc == STORE_OK ? write1(c, P_HEALTH_PRUNE_COUNTERS, &a, "health_prune", NULL) : rc;
}

static void pg_close(struct store *s)
{
    struct pg_store *q = PGS(s);
    struct pconn *c = q->conns;
    while (c) {
        struct pconn *next = c->next;
        PQfinish(c->pg);
        free(c);
        c = next;
    }
    tl_pconn = NULL;
    pthread_mutex_destroy(&q->lock);
    free(q->conninfo);
    free(q);
}

static const struct store_ops PG_OPS = {
    .name = "postgres",
    .shared = 1,
    .close = pg_close,
    .setting_get = pg_setting_get,
    .setting_put = pg_setting_put,
    .release_insert = pg_release_insert,
    .release_get = pg_release_get,
    .release_by_digest = pg_release_by_digest,
    .release_list = pg_release_list,
    .release_delete = pg_release_delete,
    .release_set_other = pg_release_set_other,
    .device_insert = pg_device_insert,
    .device_get = pg_device_get,
    .device_get_auth = pg_device_get_auth,
    .device_by_token = pg_device_by_token,
    .device_list = pg_device_list,
    .device_set_tags = pg_device_set_tags,
    .device_set_token = pg_device_set_token,
    .device_delete = pg_device_delete,
    .devices_seen = pg_devices_seen,
    .device_count = pg_device_count,
    .enroll_insert = pg_enroll_insert,
    .enroll_use = pg_enroll_use,
    .enroll_list = pg_enroll_list,
    .enroll_delete = pg_enroll_delete,
    .campaign_insert = pg_campaign_insert,
    .campaign_get = pg_campaign_get,
    .campaign_list = pg_campaign_list,
    .campaign_update = pg_campaign_update,
    .campaign_counts = pg_campaign_counts,
    .campaign_generation = pg_campaign_generation,
    .campaign_lock = pg_campaign_lock,
    .campaign_unlock = pg_campaign_unlock,
    .dc_get = pg_dc_get,
    .dc_offer = pg_dc_offer,
    .dc_list = pg_dc_list,
    .report_insert = pg_report_insert,
    .report_list = pg_report_list,
    .delta_get = pg_delta_get,
    .delta_put = pg_delta_put,
    .release_set_hashes = pg_release_set_hashes,
    .ddi_actions = pg_ddi_actions,
    .ddi_cancel_put = pg_ddi_cancel_put,
    .ddi_attrs_put = pg_ddi_attrs_put,
    .ddi_attrs_get = pg_ddi_attrs_get,
    .api_token_insert = pg_api_token_insert,
    .api_token_by_hash = pg_api_token_by_hash,
    .api_token_list = pg_api_token_list,
    .api_token_delete = pg_api_token_delete,
    .api_token_touch = pg_api_token_touch,
    .session_put = pg_session_put,
    .session_get = pg_session_get,
    .session_touch = pg_session_touch,
    .session_delete = pg_session_delete,
    .audit_insert = pg_audit_insert,
    .audit_list = pg_audit_list,
    .audit_prune = pg_audit_prune,
    .query = pg_query,
    .health_add = pg_health_add,
    .health_updated = pg_health_updated,
    .health_control = pg_health_control,
    .health_prune = pg_health_prune,
};

static int exec_ok(PGconn *pg, const char *sql, char *err, size_t errlen, const char *what)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        snprintf(err, errlen, "%s: %s", what, PQerrorMessage(pg));
    PQclear(r);
    return ok;
}

/* Bring the schema up to PG_N_MIGRATIONS in one transaction. The
 * transaction-scoped advisory lock makes a second node starting at the same
 * moment wait, then find the work done. */
static int migrate(PGconn *pg, char *err, size_t errlen)
{
    int version = 0;
    if (!exec_ok(pg, "BEGIN", err, errlen, "begin") ||
        !exec_ok(pg, "SELECT pg_advisory_xact_lock(7633249, 0)", err, errlen,
                 "migration lock") ||
        !exec_ok(pg,
                 "CREATE TABLE IF NOT EXISTS ota_schema_migrations("
                 "version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                 err, errlen, "migrations table"))
        goto fail;
    PGresult *r = PQexec(pg, "SELECT coalesce(max(version), 0) FROM ota_schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        snprintf(err, errlen, "schema version: %s", PQerrorMessage(pg));
        PQclear(r);
        goto fail;
    }
    version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (version > PG_N_MIGRATIONS) {
        snprintf(err, errlen,
                 "database schema version %d is newer than this ota-server (%d): "
                 "upgrade ota-server",
                 version, PG_N_MIGRATIONS);
        goto fail;
    }
    for (int v = version; v < PG_N_MIGRATIONS; v++) {
        char what[64], ver[16];
        snprintf(what, sizeof(what), "schema migration %d -> %d", v, v + 1);
        if (!exec_ok(pg, PG_MIGRATIONS[v], err, errlen, what))
            goto fail;
        snprintf(ver, sizeof(ver), "%d", v + 1);
        const char *vals[1] = {ver};
        r = PQexecParams(pg, "INSERT INTO ota_schema_migrations(version) VALUES($1)", 1, NULL,
                         vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            snprintf(err, errlen, "%s: %s", what, PQerrorMessage(pg));
            PQclear(r);
            goto fail;
        }
        PQclear(r);
    }
    if (!exec_ok(pg, "COMMIT", err, errlen, "commit migrations"))
        goto fail;
    for (int v = version; v < PG_N_MIGRATIONS; v++)
        log_msg(LOG_INFO, "schema_migrated", "store=postgres from=%d to=%d", v, v + 1);
    return 1;
fail:
    PQclear(PQexec(pg, "ROLLBACK"));
    return 0;
}

struct store *store_pg_open(const char *conninfo, char *err, size_t errlen)
{
    struct pg_store *q;
    PGconn *pg = PQconnectdb(conninfo);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        /* libpq's message names host/port/database, never the password. */
        snprintf(err, errlen, "cannot connect to PostgreSQL: %s",
                 pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        return NULL;
    }
    if (!conn_setup(pg)) {
        snprintf(err, errlen, "PostgreSQL session setup failed: %s", PQerrorMessage(pg));
        PQfinish(pg);
        return NULL;
    }
    /* Silence NOTICEs ("relation already exists, skipping") on stderr. */
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    if (!migrate(pg, err, errlen)) {
        PQfinish(pg);
        return NULL;
    }
    PQfinish(pg);
    q = calloc(1, sizeof(*q));
    if (!q || !(q->conninfo = strdup(conninfo))) {
        free(q);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&q->lock, NULL);
    q->base.ops = &PG_OPS;
    return &q->base;
}
