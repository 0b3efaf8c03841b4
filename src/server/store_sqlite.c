// SPDX-License-Identifier: Apache-2.0
/*
 * store_sqlite.c - the embedded SQLite backend of the storage interface
 * (store.h): one database file in WAL mode, one connection per server thread
 * with its prepared statements cached, synchronous=FULL so that every commit
 * the API acknowledges survives a crash, and versioned schema migrations
 * (PRAGMA user_version) applied at open. Every statement is parameterised.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_sql.h"

/* ---- schema ------------------------------------------------------------ */

/* Migration N brings user_version from N to N+1. Append only; never edit. */
static const char *const MIGRATIONS[] = {
    /* 0 -> 1: initial schema */
    "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE releases(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    "  v_major INTEGER NOT NULL, v_minor INTEGER NOT NULL, v_rev INTEGER NOT NULL,"
    "  v_build INTEGER NOT NULL, security_counter INTEGER NOT NULL,"
    "  hw_id TEXT NOT NULL, digest BLOB NOT NULL UNIQUE, size INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE devices(id TEXT PRIMARY KEY, token_hash BLOB NOT NULL UNIQUE,"
    "  hw_id TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '',"
    "  current_version TEXT NOT NULL DEFAULT '', current_digest BLOB,"
    "  slot_state TEXT NOT NULL DEFAULT '', last_result TEXT NOT NULL DEFAULT '',"
    "  last_seen INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE enroll_tokens(id INTEGER PRIMARY KEY, token_hash BLOB NOT NULL UNIQUE,"
    "  tags TEXT NOT NULL, hw_id TEXT NOT NULL, expires_at INTEGER NOT NULL,"
    "  max_uses INTEGER NOT NULL, uses INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE campaigns(id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    "  release_id INTEGER NOT NULL REFERENCES releases(id),"
    "  f_hw_id TEXT NOT NULL, f_tags TEXT NOT NULL, f_min_version TEXT NOT NULL,"
    "  f_max_version TEXT NOT NULL, stages TEXT NOT NULL, state INTEGER NOT NULL,"
    "  stage INTEGER NOT NULL, stage_started_at INTEGER NOT NULL,"
    "  complete INTEGER NOT NULL DEFAULT 0, halt_reason TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE TABLE device_campaigns(campaign_id INTEGER NOT NULL, device_id TEXT NOT NULL,"
    "  state INTEGER NOT NULL, stage INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY(campaign_id, device_id)) WITHOUT ROWID;"
    "CREATE TABLE reports(id INTEGER PRIMARY KEY, device_id TEXT NOT NULL,"
    "  campaign_id INTEGER NOT NULL, state INTEGER NOT NULL, code INTEGER NOT NULL,"
    "  detail TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX reports_by_device ON reports(device_id, id);"
    "CREATE TABLE deltas(base BLOB NOT NULL, target BLOB NOT NULL, payload BLOB,"
    "  size INTEGER NOT NULL, PRIMARY KEY(base, target)) WITHOUT ROWID;"
    "INSERT INTO settings(key, value) VALUES('campaign_generation', '0');",
    /* 1 -> 2: campaign counts kept by triggers, so status and the rollout
     * engine read a handful of rows instead of scanning every device row of
     * a large campaign each second. */
    "CREATE TABLE campaign_counts(campaign_id INTEGER NOT NULL, stage INTEGER NOT NULL,"
    "  state INTEGER NOT NULL, n INTEGER NOT NULL,"
    "  PRIMARY KEY(campaign_id, stage, state)) WITHOUT ROWID;"
    "INSERT INTO campaign_counts SELECT campaign_id, stage, state, count(*)"
    "  FROM device_campaigns GROUP BY campaign_id, stage, state;"
    "CREATE TRIGGER dc_count_insert AFTER INSERT ON device_campaigns BEGIN"
    "  INSERT INTO campaign_counts VALUES(NEW.campaign_id, NEW.stage, NEW.state, 1)"
    "    ON CONFLICT(campaign_id, stage, state) DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TRIGGER dc_count_update AFTER UPDATE OF state ON device_campaigns"
    "  WHEN OLD.state != NEW.state BEGIN"
    "  UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id"
    "    AND stage = OLD.stage AND state = OLD.state;"
    "  INSERT INTO campaign_counts VALUES(NEW.campaign_id, NEW.stage, NEW.state, 1)"
    "    ON CONFLICT(campaign_id, stage, state) DO UPDATE SET n = n + 1;"
    "END;"
    "CREATE TRIGGER dc_count_delete AFTER DELETE ON device_campaigns BEGIN"
    "  UPDATE campaign_counts SET n = n - 1 WHERE campaign_id = OLD.campaign_id"
    "    AND stage = OLD.stage AND state = OLD.state;"
    "END;",
    /* 2 -> 3: last-seen times in their own narrow table: check-ins refresh
     * them constantly, while device rows (read on every check-in) now only
     * change when a device's reported state does. (Parenthesised: one
     * migration of two statements, not two elements missing a comma.) */
    ("CREATE TABLE device_seen(id TEXT PRIMARY KEY, last_seen INTEGER NOT NULL) WITHOUT ROWID;"
     "INSERT INTO device_seen SELECT id, last_seen FROM devices WHERE last_seen > 0;"),
    /* 3 -> 4: hawkBit DDI (ddi*.c): raw releases and the hashes DDI sends,
     * a device's campaign rows by device (each DDI poll reads them), cancel
     * feedback and configData attributes (gone with their device). */
    ("ALTER TABLE releases ADD COLUMN raw INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE releases ADD COLUMN filename TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE releases ADD COLUMN md5 BLOB;"
     "ALTER TABLE releases ADD COLUMN sha1 BLOB;"
     "CREATE INDEX dc_by_device ON device_campaigns(device_id);"
     "CREATE TABLE ddi_cancels(campaign_id INTEGER NOT NULL,"
     "  device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
     "  state INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
     "  PRIMARY KEY(campaign_id, device_id)) WITHOUT ROWID;"
     "CREATE TABLE ddi_attributes(device_id TEXT PRIMARY KEY"
     "  REFERENCES devices(id) ON DELETE CASCADE, attrs TEXT NOT NULL,"
     "  updated_at INTEGER NOT NULL) WITHOUT ROWID;"),
    /* 4 -> 5: a campaign's stage warnings (placed fewer devices than the
     * stage's min_finished, or none), in store_warnings_encode's text form. */
    "ALTER TABLE campaigns ADD COLUMN warnings TEXT NOT NULL DEFAULT '';",
    /* 5 -> 6: users of the operator API: named API tokens with a role,
     * console sessions (hashed cookie, hash of the token that logged in),
     * and the audit log of state-changing requests. */
    ("CREATE TABLE api_tokens(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
     "  role INTEGER NOT NULL, token_hash BLOB NOT NULL UNIQUE,"
     "  created_at INTEGER NOT NULL, created_by TEXT NOT NULL);"
     "CREATE TABLE console_sessions(id_hash BLOB PRIMARY KEY, token_hash BLOB NOT NULL,"
     "  created_at INTEGER NOT NULL, last_used INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE INDEX console_sessions_by_token ON console_sessions(token_hash);"
     "CREATE TABLE audit_log(id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
     "  actor TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,"
     "  target TEXT NOT NULL, status INTEGER NOT NULL);"
     "CREATE INDEX audit_log_by_at ON audit_log(at);"),
    /* 6 -> 7: when each API token was last used (to the minute). */
    "ALTER TABLE api_tokens ADD COLUMN last_used_at INTEGER NOT NULL DEFAULT 0;",
    /* 7 -> 8: the console's fleet aggregates (store_sql.h) */
    SQL_FLEET_INDEXES,
    /* 8 -> 9: device health (api_health.c): sums per device and release, and
     * per custom counter, gone with their device; pruned by updated_at (an
     * hourly full scan: no index, so the control's scan stays in key order). */
    ("CREATE TABLE device_health(device_id TEXT NOT NULL"
     "  REFERENCES devices(id) ON DELETE CASCADE, release TEXT NOT NULL,"
     "  reports INTEGER NOT NULL, period_s INTEGER NOT NULL, crashes INTEGER NOT NULL,"
     "  resets INTEGER NOT NULL, first_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
     "  PRIMARY KEY(device_id, release)) WITHOUT ROWID;"
     "CREATE TABLE device_health_counters(device_id TEXT NOT NULL"
     "  REFERENCES devices(id) ON DELETE CASCADE, release TEXT NOT NULL,"
     "  name TEXT NOT NULL, value INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
     "  PRIMARY KEY(device_id, release, name)) WITHOUT ROWID;"),
    /* 9 -> 10: per-slot builds (release_slot.c): the slot a release's image
     * is linked for, the image built for the other slot, and the slot each
     * device reports running from. */
    ("ALTER TABLE releases ADD COLUMN link_slot TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE releases ADD COLUMN other_digest BLOB;"
     "ALTER TABLE releases ADD COLUMN other_size INTEGER NOT NULL DEFAULT 0;"
     "CREATE UNIQUE INDEX releases_by_other_digest ON releases(other_digest);"
     "ALTER TABLE devices ADD COLUMN running_slot TEXT NOT NULL DEFAULT '';"),
};
#define N_MIGRATIONS ((int)(sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0])))

int store_sqlite_schema_version(void)
{
    return N_MIGRATIONS;
}

/* ---- prepared statements ----------------------------------------------- */

enum stmt_id {
    S_SETTING_GET,
    S_SETTING_PUT,
    S_REL_INSERT,
    S_REL_GET,
    S_REL_BY_DIGEST,
    S_REL_LIST,
    S_REL_IN_USE,
    S_REL_DELETE,
    S_DEV_INSERT,
    S_DEV_GET,
    S_DEV_AUTH,
    S_DEV_BY_TOKEN,
    S_DEV_LIST,
    S_DEV_SET_TAGS,
    S_DEV_SET_TOKEN,
    S_DEV_DELETE,
    S_SEEN_DELETE,
    S_DEV_REP_DELETE,
    S_DEV_DC_DELETE,
    S_DEV_SEEN,
    S_SEEN_UPSERT,
    S_DEV_COUNT,
    S_ENR_INSERT,
    S_ENR_BY_HASH,
    S_ENR_USE,
    S_ENR_LIST,
    S_ENR_DELETE,
    S_CAMP_INSERT,
    S_CAMP_GET,
    S_CAMP_LIST,
    S_CAMP_LIST_ACTIVE,
    S_CAMP_UPDATE,
    S_CAMP_COUNTS,
    S_GEN_BUMP,
    S_GEN_GET,
    S_DC_GET,
    S_DC_OFFER,
    S_DC_LIST,
    S_DC_SET_STATE,
    S_REP_INSERT,
    S_DEV_SET_RESULT,
    S_REP_LIST,
    S_DELTA_GET,
    S_DELTA_PUT,
    S_REL_SET_HASHES,
    S_REL_SET_OTHER,
    S_DDI_ACTIONS,
    S_DDI_CANCEL_PUT,
    S_DDI_DEV_HW,
    S_DDI_SET_HW,
    S_DDI_ATTRS_PUT,
    S_DDI_ATTRS_GET,
    S_TOK_INSERT,
    S_TOK_BY_HASH,
    S_TOK_LIST,
    S_TOK_SESSIONS_DELETE,
    S_TOK_DELETE,
    S_TOK_TOUCH,
    S_SES_INSERT,
    S_SES_PRUNE,
    S_SES_GET,
    S_SES_TOUCH,
    S_SES_DELETE,
    S_AUD_INSERT,
    S_AUD_LIST,
    S_AUD_LIST_DESC,
    S_AUD_PRUNE,
    S_HEALTH_ADD,
    S_HEALTH_COUNTER_ADD,
    S_HEALTH_UPDATED,
    S_HEALTH_UPDATED_COUNTERS,
    S_HEALTH_CONTROL,
    S_HEALTH_CONTROL_COUNTERS,
    S_HEALTH_PRUNE,
    S_HEALTH_PRUNE_COUNTERS,
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_COUNT
};

/* The device columns, last_seen from device_seen when newer (store_sql.h). */
#define DEV_COLS_J SQL_DEV_COLS_J("coalesce(max(d.last_seen, s.last_seen), d.last_seen)")

/* Shared texts from store_sql.h; SQLite's own dialect spelled out here. */
static const char *const SQL[S_COUNT] = {
    [S_SETTING_GET] = SQL_SETTING_GET,
    [S_SETTING_PUT] = SQL_SETTING_PUT,
    [S_REL_INSERT] = SQL_REL_INSERT,
    [S_REL_GET] = SQL_REL_GET,
    [S_REL_BY_DIGEST] = SQL_REL_BY_DIGEST,
    [S_REL_LIST] = SQL_REL_LIST,
    [S_REL_IN_USE] = SQL_REL_IN_USE,
    [S_REL_DELETE] = SQL_REL_DELETE,
    [S_DEV_INSERT] = SQL_DEV_INSERT,
    [S_DEV_GET] = SQL_DEV_GET(DEV_COLS_J),
    [S_DEV_AUTH] = "SELECT " SQL_DEV_COLS " FROM devices WHERE id = ?1",
    [S_DEV_BY_TOKEN] = SQL_DEV_BY_TOKEN(DEV_COLS_J),
    [S_DEV_LIST] = SQL_DEV_LIST(DEV_COLS_J),
    [S_DEV_SET_TAGS] = SQL_DEV_SET_TAGS,
    [S_DEV_SET_TOKEN] = SQL_DEV_SET_TOKEN,
    [S_DEV_DELETE] = SQL_DEV_DELETE,
    [S_SEEN_DELETE] = SQL_SEEN_DELETE,
    [S_DEV_REP_DELETE] = SQL_DEV_REP_DELETE,
    [S_DEV_DC_DELETE] = SQL_DEV_DC_DELETE,
    [S_DEV_SEEN] = "UPDATE devices SET "
                   "current_version = ?3, current_digest = ?4, slot_state = ?5, "
                   "last_result = CASE WHEN ?6 = '' THEN last_result ELSE ?6 END, "
                   "running_slot = ?7 WHERE id = ?1",
    /* No existence check: a row left by a device deleted meanwhile is never
     * joined to anything and is removed if the id is deleted again. */
    [S_SEEN_UPSERT] = "INSERT INTO device_seen(id, last_seen) VALUES(?1, ?2) "
                      "ON CONFLICT(id) DO UPDATE SET last_seen = "
                      "max(last_seen, excluded.last_seen)",
    [S_DEV_COUNT] = SQL_DEV_COUNT,
    [S_ENR_INSERT] = SQL_ENR_INSERT,
    [S_ENR_BY_HASH] = SQL_ENR_BY_HASH,
    [S_ENR_USE] = SQL_ENR_USE,
    [S_ENR_LIST] = SQL_ENR_LIST,
    [S_ENR_DELETE] = SQL_ENR_DELETE,
    [S_CAMP_INSERT] = SQL_CAMP_INSERT,
    [S_CAMP_GET] = SQL_CAMP_GET,
    [S_CAMP_LIST] = SQL_CAMP_LIST,
    [S_CAMP_LIST_ACTIVE] = SQL_CAMP_LIST_ACTIVE,
    [S_CAMP_UPDATE] = SQL_CAMP_UPDATE,
    [S_CAMP_COUNTS] = SQL_CAMP_COUNTS,
    [S_GEN_BUMP] = "UPDATE settings SET value = CAST(value AS INTEGER) + 1 "
                   "WHERE key = 'campaign_generation'",
    [S_GEN_GET] = "SELECT CAST(value AS INTEGER) FROM settings "
                  "WHERE key = 'campaign_generation'",
    [S_DC_GET] = SQL_DC_GET,
    [S_DC_LIST] = SQL_DC_LIST,
    [S_DC_OFFER] = "INSERT OR IGNORE INTO " SQL_DC_OFFER_VALUES,
    [S_DC_SET_STATE] = SQL_DC_SET_STATE,
    [S_REP_INSERT] = SQL_REP_INSERT,
    [S_DEV_SET_RESULT] = "UPDATE devices SET last_result = ?2, "
                         "last_seen = max(last_seen, ?3) WHERE id = ?1",
    [S_REP_LIST] = SQL_REP_LIST,
    [S_DELTA_GET] = SQL_DELTA_GET,
    [S_DELTA_PUT] = "INSERT OR REPLACE INTO " SQL_DELTA_PUT_VALUES,
    [S_REL_SET_HASHES] = SQL_REL_SET_HASHES,
    [S_REL_SET_OTHER] = SQL_REL_SET_OTHER,
    [S_DDI_ACTIONS] = SQL_DDI_ACTIONS,
    [S_DDI_CANCEL_PUT] = SQL_DDI_CANCEL_PUT,
    [S_DDI_DEV_HW] = SQL_DDI_DEV_HW,
    [S_DDI_SET_HW] = SQL_DDI_SET_HW,
    [S_DDI_ATTRS_PUT] = SQL_DDI_ATTRS_PUT,
    [S_DDI_ATTRS_GET] = SQL_DDI_ATTRS_GET,
    [S_TOK_INSERT] = SQL_TOK_INSERT,
    [S_TOK_BY_HASH] = SQL_TOK_BY_HASH,
    [S_TOK_LIST] = SQL_TOK_LIST,
    [S_TOK_SESSIONS_DELETE] = SQL_TOK_SESSIONS_DELETE,
    [S_TOK_DELETE] = SQL_TOK_DELETE,
    [S_TOK_TOUCH] = SQL_TOK_TOUCH,
    [S_SES_INSERT] = SQL_SES_INSERT,
    [S_SES_PRUNE] = SQL_SES_PRUNE,
    [S_SES_GET] = SQL_SES_GET,
    [S_SES_TOUCH] = SQL_SES_TOUCH,
    [S_SES_DELETE] = SQL_SES_DELETE,
    [S_AUD_INSERT] = SQL_AUD_INSERT,
    [S_AUD_LIST] = SQL_AUD_LIST,
    [S_AUD_LIST_DESC] = SQL_AUD_LIST_DESC,
    [S_AUD_PRUNE] = SQL_AUD_PRUNE,
    [S_HEALTH_ADD] = SQL_HEALTH_ADD,
    [S_HEALTH_COUNTER_ADD] = SQL_HEALTH_COUNTER_ADD,
    [S_HEALTH_UPDATED] = SQL_HEALTH_UPDATED,
    [S_HEALTH_UPDATED_COUNTERS] = SQL_HEALTH_UPDATED_COUNTERS,
    [S_HEALTH_CONTROL] = SQL_HEALTH_CONTROL,
    [S_HEALTH_CONTROL_COUNTERS] = SQL_HEALTH_CONTROL_COUNTERS,
    [S_HEALTH_PRUNE] = SQL_HEALTH_PRUNE,
    [S_HEALTH_PRUNE_COUNTERS] = SQL_HEALTH_PRUNE_COUNTERS,
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

/* ---- connections --------------------------------------------------------- */

struct conn {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    struct conn *next;
    const struct sq_store *owner;
};

struct sq_store {
    struct store base;
    char *path;
    pthread_mutex_t lock; /* guards conns */
    struct conn *conns;
};

static _Thread_local struct conn *tl_conn;

static int conn_setup(sqlite3 *db)
{
    return sqlite3_busy_timeout(db, 10000) == SQLITE_OK &&
           sqlite3_exec(db,
                        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                        "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
                        /* reads straight from the mapped file, no pread per page */
                        "PRAGMA mmap_size=4294967296; PRAGMA cache_size=-16384;",
                        NULL, NULL, NULL) == SQLITE_OK;
}

static struct conn *get_conn(struct sq_store *s)
{
    struct conn *c = tl_conn;
    if (c && c->owner == s)
        return c;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (sqlite3_open_v2(s->path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        !conn_setup(c->db)) {
        log_msg(LOG_ERROR, "db_open_failed", "path=%s err=\"%s\"", s->path,
                c->db ? sqlite3_errmsg(c->db) : "no memory");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    c->owner = s;
    pthread_mutex_lock(&s->lock);
    c->next = s->conns;
    s->conns = c;
    pthread_mutex_unlock(&s->lock);
    tl_conn = c;
    return c;
}

static sqlite3_stmt *stmt(struct conn *c, enum stmt_id id)
{
    if (!c->st[id]) {
        if (sqlite3_prepare_v3(c->db, SQL[id], -1, SQLITE_PREPARE_PERSISTENT, &c->st[id],
                               NULL) != SQLITE_OK) {
            log_msg(LOG_ERROR, "db_prepare_failed", "stmt=%d err=\"%s\"", (int)id,
                    sqlite3_errmsg(c->db));
            return NULL;
        }
    }
    return c->st[id];
}

static void done(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static enum store_rc db_fail(struct conn *c, const char *what)
{
    log_msg(LOG_ERROR, "db_error", "op=%s err=\"%s\"", what, sqlite3_errmsg(c->db));
    return STORE_ERR;
}

#define SQ(s) ((struct sq_store *)(s))
#define CONN_OR_FAIL(c, s)                                                       \
    struct conn *c = get_conn(SQ(s));                                            \
    if (!c)                                                                      \
        return STORE_ERR

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bind_blob(sqlite3_stmt *st, int i, const void *v, int n)
{
    sqlite3_bind_blob(st, i, v, n, SQLITE_STATIC);
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int col_blob(sqlite3_stmt *st, int i, uint8_t *out, size_t n)
{
    const void *b = sqlite3_column_blob(st, i);
    if (!b || (size_t)sqlite3_column_bytes(st, i) != n) {
        memset(out, 0, n);
        return 0;
    }
    memcpy(out, b, n);
    return 1;
}

static int tx(struct conn *c, enum stmt_id id)
{
    sqlite3_stmt *st = stmt(c, id);
    int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    done(st);
    return rc == SQLITE_DONE;
}

/* Run a write statement already bound; maps constraint errors to CONFLICT. */
static enum store_rc step_write(struct conn *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    done(st);
    if (rc == SQLITE_DONE)
        return STORE_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return STORE_CONFLICT;
    return db_fail(c, what);
}

/* ---- settings ------------------------------------------------------------ */

static enum store_rc sq_setting_get(struct store *s, const char *key, char *val, size_t cap)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_SETTING_GET);
    enum store_rc rc = STORE_NOT_FOUND;
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, key);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        col_text(st, 0, val, cap);
        rc = STORE_OK;
    } else if (r != SQLITE_DONE) {
        rc = db_fail(c, "setting_get");
    }
    done(st);
    return rc;
}

static enum store_rc sq_setting_put(struct store *s, const char *key, const char *val)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_SETTING_PUT);
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, key);
    bind_text(st, 2, val);
    return step_write(c, st, "setting_put");
}

/* ---- releases ------------------------------------------------------------ */

static void read_release(sqlite3_stmt *st, struct srv_release *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, r->name, sizeof(r->name));
    r->version.major = (uint8_t)sqlite3_column_int(st, 2);
    r->version.minor = (uint8_t)sqlite3_column_int(st, 3);
    r->version.revision = (uint16_t)sqlite3_column_int(st, 4);
    r->version.build = (uint32_t)sqlite3_column_int64(st, 5);
    r->security_counter = (uint32_t)sqlite3_column_int64(st, 6);
    col_text(st, 7, r->hw_id, sizeof(r->hw_id));
    col_blob(st, 8, r->digest, sizeof(r->digest));
    r->size = (uint64_t)sqlite3_column_int64(st, 9);
    r->created_at = sqlite3_column_int64(st, 10);
    r->raw = (uint8_t)sqlite3_column_int(st, 11);
    col_text(st, 12, r->filename, sizeof(r->filename));
    r->has_hashes = (uint8_t)(col_blob(st, 13, r->md5, sizeof(r->md5)) &
                              col_blob(st, 14, r->sha1, sizeof(r->sha1)));
    col_text(st, 15, r->link_slot, sizeof(r->link_slot));
    r->has_other = (uint8_t)col_blob(st, 16, r->other_digest, sizeof(r->other_digest));
    r->other_size = (uint64_t)sqlite3_column_int64(st, 17);
}

static enum store_rc sq_release_insert(struct store *s, struct srv_release *r)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_REL_INSERT);
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, r->name);
    sqlite3_bind_int(st, 2, r->version.major);
    sqlite3_bind_int(st, 3, r->version.minor);
    sqlite3_bind_int(st, 4, r->version.revision);
    sqlite3_bind_int64(st, 5, r->version.build);
    sqlite3_bind_int64(st, 6, r->security_counter);
    bind_text(st, 7, r->hw_id);
    bind_blob(st, 8, r->digest, OTA_SHA256_LEN);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)r->size);
    sqlite3_bind_int64(st, 10, r->created_at);
    sqlite3_bind_int(st, 11, r->raw);
    bind_text(st, 12, r->filename);
    if (r->has_hashes) {
        bind_blob(st, 13, r->md5, sizeof(r->md5));
        bind_blob(st, 14, r->sha1, sizeof(r->sha1));
    }
    bind_text(st, 15, r->link_slot);
    enum store_rc rc = step_write(c, st, "release_insert");
    if (rc == STORE_OK)
        r->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static enum store_rc one_release(struct conn *c, sqlite3_stmt *st, struct srv_release *r)
{
    int rc = sqlite3_step(st);
    enum store_rc out = STORE_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        read_release(st, r);
        out = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        out = db_fail(c, "release_get");
    }
    done(st);
    return out;
}

static enum store_rc sq_release_get(struct store *s, int64_t id, struct srv_release *r)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_REL_GET);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    return one_release(c, st, r);
}

static enum store_rc sq_release_by_digest(struct store *s, const uint8_t d[OTA_SHA256_LEN],
                                          struct srv_release *r)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_REL_BY_DIGEST);
    if (!st)
        return STORE_ERR;
    bind_blob(st, 1, d, OTA_SHA256_LEN);
    return one_release(c, st, r);
}

static enum store_rc sq_release_list(struct store *s, store_release_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_REL_LIST);
    struct srv_release r;
    int rc;
    if (!st)
        return STORE_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_release(st, &r);
        cb(ctx, &r);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "release_list");
}

static enum store_rc sq_release_delete(struct store *s, int64_t id)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    st = stmt(c, S_REL_IN_USE);
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        int r = sqlite3_step(st);
        int64_t n = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
        done(st);
        if (n > 0) {
            rc = STORE_CONFLICT;
        } else if (n == 0 && (st = stmt(c, S_REL_DELETE))) {
            sqlite3_bind_int64(st, 1, id);
            rc = step_write(c, st, "release_delete");
            if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
                rc = STORE_NOT_FOUND;
        }
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

static enum store_rc sq_release_set_other(struct store *s, int64_t id,
                                          const uint8_t digest[OTA_SHA256_LEN], uint64_t size)
{
    CONN_OR_FAIL(c, s);
    struct srv_release r;
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if ((st = stmt(c, S_REL_GET))) {
        sqlite3_bind_int64(st, 1, id);
        rc = one_release(c, st, &r);
    }
    if (rc == STORE_OK && (st = stmt(c, S_REL_SET_OTHER))) {
        sqlite3_bind_int64(st, 1, id);
        bind_blob(st, 2, digest, OTA_SHA256_LEN);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)size);
        rc = step_write(c, st, "release_set_other");
        if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
            rc = STORE_CONFLICT;
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

/* ---- devices ------------------------------------------------------------- */

static void read_device(sqlite3_stmt *st, struct srv_device *d)
{
    memset(d, 0, sizeof(*d));
    col_text(st, 0, d->id, sizeof(d->id));
    col_blob(st, 1, d->token_hash, sizeof(d->token_hash));
    col_text(st, 2, d->hw_id, sizeof(d->hw_id));
    col_text(st, 3, d->tags, sizeof(d->tags));
    col_text(st, 4, d->current_version, sizeof(d->current_version));
    d->has_digest = (uint8_t)col_blob(st, 5, d->current_digest, sizeof(d->current_digest));
    col_text(st, 6, d->slot_state, sizeof(d->slot_state));
    col_text(st, 7, d->last_result, sizeof(d->last_result));
    d->last_seen = sqlite3_column_int64(st, 8);
    d->created_at = sqlite3_column_int64(st, 9);
    col_text(st, 10, d->running_slot, sizeof(d->running_slot));
}

static enum store_rc insert_device(struct conn *c, const struct srv_device *d)
{
    sqlite3_stmt *st = stmt(c, S_DEV_INSERT);
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, d->id);
    bind_blob(st, 2, d->token_hash, OTA_SHA256_LEN);
    bind_text(st, 3, d->hw_id);
    bind_text(st, 4, d->tags);
    sqlite3_bind_int64(st, 5, d->created_at);
    return step_write(c, st, "device_insert");
}

static enum store_rc sq_device_insert(struct store *s, const struct srv_device *d)
{
    CONN_OR_FAIL(c, s);
    return insert_device(c, d);
}

static enum store_rc one_device(struct conn *c, sqlite3_stmt *st, struct srv_device *d)
{
    int rc = sqlite3_step(st);
    enum store_rc out = STORE_NOT_FOUND;
    if (rc == SQLITE_ROW) {
        read_device(st, d);
        out = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        out = db_fail(c, "device_get");
    }
    done(st);
    return out;
}

static enum store_rc sq_device_get(struct store *s, const char *id, struct srv_device *d)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DEV_GET);
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, id);
    return one_device(c, st, d);
}

static enum store_rc sq_device_get_auth(struct store *s, const char *id,
                                        struct srv_device *d)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DEV_AUTH);
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, id);
    return one_device(c, st, d);
}

static enum store_rc sq_device_by_token(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                        struct srv_device *d)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DEV_BY_TOKEN);
    if (!st)
        return STORE_ERR;
    bind_blob(st, 1, h, OTA_SHA256_LEN);
    return one_device(c, st, d);
}

static enum store_rc sq_device_list(struct store *s, const char *after, int limit,
                                    store_device_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DEV_LIST);
    struct srv_device d;
    int rc;
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, after ? after : "");
    sqlite3_bind_int(st, 2, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_device(st, &d);
        cb(ctx, &d);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "device_list");
}

static enum store_rc update_one(struct conn *c, sqlite3_stmt *st, const char *what)
{
    enum store_rc rc = step_write(c, st, what);
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = STORE_NOT_FOUND;
    return rc;
}

static enum store_rc sq_device_set_tags(struct store *s, const char *id, const char *tags)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DEV_SET_TAGS);
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, id);
    bind_text(st, 2, tags);
    return update_one(c, st, "device_set_tags");
}

static enum store_rc sq_device_set_token(struct store *s, const char *id,
                                         const uint8_t h[OTA_SHA256_LEN])
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DEV_SET_TOKEN);
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, id);
    bind_blob(st, 2, h, OTA_SHA256_LEN);
    return update_one(c, st, "device_set_token");
}

static enum store_rc sq_device_delete(struct store *s, const char *id)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if ((st = stmt(c, S_DEV_DELETE))) {
        bind_text(st, 1, id);
        rc = update_one(c, st, "device_delete");
    }
    static const enum stmt_id ALONG[] = {S_SEEN_DELETE, S_DEV_REP_DELETE, S_DEV_DC_DELETE};
    for (size_t i = 0; i < sizeof(ALONG) / sizeof(ALONG[0]) && rc == STORE_OK; i++) {
        rc = STORE_ERR;
        if ((st = stmt(c, ALONG[i]))) {
            bind_text(st, 1, id);
            rc = step_write(c, st, "device_delete");
        }
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

static enum store_rc devices_seen_tx(struct conn *c, const struct srv_seen *v, size_t n);

static enum store_rc sq_devices_seen(struct store *s, const struct srv_seen *v, size_t n)
{
    CONN_OR_FAIL(c, s);
    if (n == 0)
        return STORE_OK;
    /* Inventory is refreshed by the next check-in: no fsync per batch (WAL
     * with synchronous=NORMAL is still consistent after a crash). */
    sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    enum store_rc rc = devices_seen_tx(c, v, n);
    sqlite3_exec(c->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    return rc;
}

static enum store_rc devices_seen_tx(struct conn *c, const struct srv_seen *v, size_t n)
{
    sqlite3_stmt *st, *up;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    st = stmt(c, S_DEV_SEEN);
    up = stmt(c, S_SEEN_UPSERT);
    for (size_t i = 0; st && up && i < n; i++) {
        bind_text(up, 1, v[i].device_id);
        sqlite3_bind_int64(up, 2, v[i].at);
        if (step_write(c, up, "device_seen") == STORE_ERR) {
            tx(c, S_ROLLBACK);
            return STORE_ERR;
        }
        if (!v[i].state_changed)
            continue;
        bind_text(st, 1, v[i].device_id);
        bind_text(st, 3, v[i].current_version);
        if (v[i].has_digest)
            bind_blob(st, 4, v[i].current_digest, OTA_SHA256_LEN);
        else
            sqlite3_bind_null(st, 4);
        bind_text(st, 5, v[i].slot_state);
        bind_text(st, 6, v[i].last_result);
        bind_text(st, 7, v[i].running_slot);
        if (step_write(c, st, "devices_seen") == STORE_ERR) {
            tx(c, S_ROLLBACK);
            return STORE_ERR;
        }
    }
    if (!st || !up) {
        tx(c, S_ROLLBACK);
        return STORE_ERR;
    }
    return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
}

static int64_t sq_device_count(struct store *s)
{
    struct conn *c = get_conn(SQ(s));
    sqlite3_stmt *st = c ? stmt(c, S_DEV_COUNT) : NULL;
    int64_t n = -1;
    if (!st)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    done(st);
    return n;
}

/* ---- enrollment ---------------------------------------------------------- */

static enum store_rc sq_enroll_insert(struct store *s, struct srv_enroll_token *t)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_ENR_INSERT);
    if (!st)
        return STORE_ERR;
    bind_blob(st, 1, t->token_hash, OTA_SHA256_LEN);
    bind_text(st, 2, t->tags);
    bind_text(st, 3, t->hw_id);
    sqlite3_bind_int64(st, 4, t->expires_at);
    sqlite3_bind_int64(st, 5, t->max_uses);
    sqlite3_bind_int64(st, 6, t->created_at);
    enum store_rc rc = step_write(c, st, "enroll_insert");
    if (rc == STORE_OK)
        t->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static void read_enroll(sqlite3_stmt *st, struct srv_enroll_token *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    col_blob(st, 1, t->token_hash, OTA_SHA256_LEN);
    col_text(st, 2, t->tags, sizeof(t->tags));
    col_text(st, 3, t->hw_id, sizeof(t->hw_id));
    t->expires_at = sqlite3_column_int64(st, 4);
    t->max_uses = sqlite3_column_int64(st, 5);
    t->uses = sqlite3_column_int64(st, 6);
    t->created_at = sqlite3_column_int64(st, 7);
}

static enum store_rc sq_enroll_list(struct store *s, store_enroll_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_ENR_LIST);
    struct srv_enroll_token t;
    int rc;
    if (!st)
        return STORE_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_enroll(st, &t);
        cb(ctx, &t);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "enroll_list");
}

static enum store_rc sq_enroll_delete(struct store *s, int64_t id)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_ENR_DELETE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    return update_one(c, st, "enroll_delete");
}

static enum store_rc sq_enroll_use(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                   int64_t now, struct srv_device *d,
                                   struct srv_enroll_token *t)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st;
    enum store_rc rc = STORE_NOT_FOUND;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    st = stmt(c, S_ENR_BY_HASH);
    if (!st) {
        tx(c, S_ROLLBACK);
        return STORE_ERR;
    }
    bind_blob(st, 1, h, OTA_SHA256_LEN);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        read_enroll(st, t);
        rc = STORE_OK;
    } else if (r != SQLITE_DONE) {
        rc = db_fail(c, "enroll_get");
    }
    done(st);
    if (rc == STORE_OK && ((t->expires_at && now >= t->expires_at) ||
                           (t->max_uses && t->uses >= t->max_uses)))
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK && t->hw_id[0] && strcmp(t->hw_id, d->hw_id) != 0)
        rc = STORE_REFUSED;
    if (rc == STORE_OK) {
        snprintf(d->tags, sizeof(d->tags), "%s", t->tags);
        rc = insert_device(c, d);
    }
    if (rc == STORE_OK && (st = stmt(c, S_ENR_USE))) {
        sqlite3_bind_int64(st, 1, t->id);
        rc = step_write(c, st, "enroll_use");
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

/* ---- campaigns ----------------------------------------------------------- */

/* Stages are stored as "percent:soak:min_finished:max_ratio;..." */
static void read_campaign(sqlite3_stmt *st, struct srv_campaign *cp)
{
    char stages[SRV_STAGES_TEXT_MAX];
    memset(cp, 0, sizeof(*cp));
    cp->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, cp->name, sizeof(cp->name));
    cp->release_id = sqlite3_column_int64(st, 2);
    col_text(st, 3, cp->f_hw_id, sizeof(cp->f_hw_id));
    col_text(st, 4, cp->f_tags, sizeof(cp->f_tags));
    col_text(st, 5, cp->f_min_version, sizeof(cp->f_min_version));
    col_text(st, 6, cp->f_max_version, sizeof(cp->f_max_version));
    col_text(st, 7, stages, sizeof(stages));
    store_stages_decode(stages, cp);
    cp->state = sqlite3_column_int(st, 8);
    cp->stage = sqlite3_column_int(st, 9);
    cp->stage_started_at = sqlite3_column_int64(st, 10);
    cp->complete = sqlite3_column_int(st, 11);
    col_text(st, 12, cp->halt_reason, sizeof(cp->halt_reason));
    cp->created_at = sqlite3_column_int64(st, 13);
    cp->updated_at = sqlite3_column_int64(st, 14);
    col_text(st, 15, stages, sizeof(stages));
    store_warnings_decode(stages, cp);
}

static int bump_generation(struct conn *c)
{
    sqlite3_stmt *st = stmt(c, S_GEN_BUMP);
    return st && step_write(c, st, "generation") == STORE_OK;
}

static enum store_rc sq_campaign_insert(struct store *s, struct srv_campaign *cp)
{
    CONN_OR_FAIL(c, s);
    char stages[SRV_STAGES_TEXT_MAX], warnings[SRV_STAGES_MAX * 96];
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    store_stages_encode(cp, stages, sizeof(stages));
    store_warnings_encode(cp, warnings, sizeof(warnings));
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if ((st = stmt(c, S_CAMP_INSERT))) {
        bind_text(st, 1, cp->name);
        sqlite3_bind_int64(st, 2, cp->release_id);
        bind_text(st, 3, cp->f_hw_id);
        bind_text(st, 4, cp->f_tags);
        bind_text(st, 5, cp->f_min_version);
        bind_text(st, 6, cp->f_max_version);
        bind_text(st, 7, stages);
        sqlite3_bind_int(st, 8, cp->state);
        sqlite3_bind_int(st, 9, cp->stage);
        sqlite3_bind_int64(st, 10, cp->stage_started_at);
        sqlite3_bind_int(st, 11, cp->complete);
        bind_text(st, 12, cp->halt_reason);
        sqlite3_bind_int64(st, 13, cp->created_at);
        sqlite3_bind_int64(st, 14, cp->updated_at);
        bind_text(st, 15, warnings);
        rc = step_write(c, st, "campaign_insert");
        if (rc == STORE_OK)
            cp->id = sqlite3_last_insert_rowid(c->db);
    }
    if (rc == STORE_OK && !bump_generation(c))
        rc = STORE_ERR;
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

static enum store_rc sq_campaign_get(struct store *s, int64_t id, struct srv_campaign *cp)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_CAMP_GET);
    enum store_rc out = STORE_NOT_FOUND;
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_campaign(st, cp);
        out = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        out = db_fail(c, "campaign_get");
    }
    done(st);
    return out;
}

static enum store_rc sq_campaign_list(struct store *s, int only_active,
                                      store_campaign_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, only_active ? S_CAMP_LIST_ACTIVE : S_CAMP_LIST);
    struct srv_campaign cp;
    int rc;
    if (!st)
        return STORE_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_campaign(st, &cp);
        cb(ctx, &cp);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "campaign_list");
}

static enum store_rc sq_campaign_update(struct store *s, const struct srv_campaign *cp,
                                        int expect_state, int expect_stage)
{
    CONN_OR_FAIL(c, s);
    char stages[SRV_STAGES_TEXT_MAX], warnings[SRV_STAGES_MAX * 96];
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    store_stages_encode(cp, stages, sizeof(stages));
    store_warnings_encode(cp, warnings, sizeof(warnings));
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if ((st = stmt(c, S_CAMP_UPDATE))) {
        sqlite3_bind_int64(st, 1, cp->id);
        sqlite3_bind_int(st, 2, cp->state);
        sqlite3_bind_int(st, 3, cp->stage);
        sqlite3_bind_int64(st, 4, cp->stage_started_at);
        sqlite3_bind_int(st, 5, cp->complete);
        bind_text(st, 6, cp->halt_reason);
        sqlite3_bind_int64(st, 7, cp->updated_at);
        sqlite3_bind_int(st, 8, expect_state);
        sqlite3_bind_int(st, 9, expect_stage);
        bind_text(st, 10, stages);
        bind_text(st, 11, warnings);
        rc = step_write(c, st, "campaign_update");
        if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
            rc = STORE_CONFLICT;
    }
    if (rc == STORE_OK && !bump_generation(c))
        rc = STORE_ERR;
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

static enum store_rc sq_campaign_counts(struct store *s, int64_t id, struct srv_counts *out)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_CAMP_COUNTS);
    int rc;
    memset(out, 0, sizeof(*out));
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int stage = sqlite3_column_int(st, 0), state = sqlite3_column_int(st, 1);
        if (stage >= 0 && stage < SRV_STAGES_MAX && state >= 0 && state < DC_STATE_COUNT)
            out->by_stage_state[stage][state] += sqlite3_column_int64(st, 2);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "campaign_counts");
}

static int64_t sq_campaign_generation(struct store *s)
{
    struct conn *c = get_conn(SQ(s));
    sqlite3_stmt *st = c ? stmt(c, S_GEN_GET) : NULL;
    int64_t g = -1;
    if (!st)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        g = sqlite3_column_int64(st, 0);
    done(st);
    return g;
}

/* ---- device campaign progress and reports -------------------------------- */

static enum store_rc sq_dc_get(struct store *s, int64_t cid, const char *dev,
                               struct srv_dc *out)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DC_GET);
    enum store_rc r = STORE_NOT_FOUND;
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, cid);
    bind_text(st, 2, dev);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        out->campaign_id = sqlite3_column_int64(st, 0);
        col_text(st, 1, out->device_id, sizeof(out->device_id));
        out->state = sqlite3_column_int(st, 2);
        out->stage = sqlite3_column_int(st, 3);
        out->updated_at = sqlite3_column_int64(st, 4);
        r = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        r = db_fail(c, "dc_get");
    }
    done(st);
    return r;
}

static enum store_rc sq_dc_list(struct store *s, int64_t cid, int state, const char *after,
                               int limit, store_dc_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DC_LIST);
    struct srv_dc dc;
    int rc;
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, cid);
    bind_text(st, 2, after ? after : "");
    sqlite3_bind_int(st, 3, state);
    sqlite3_bind_int(st, 4, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&dc, 0, sizeof(dc));
        dc.campaign_id = sqlite3_column_int64(st, 0);
        col_text(st, 1, dc.device_id, sizeof(dc.device_id));
        dc.state = sqlite3_column_int(st, 2);
        dc.stage = sqlite3_column_int(st, 3);
        dc.updated_at = sqlite3_column_int64(st, 4);
        cb(ctx, &dc);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "dc_list");
}

static enum store_rc sq_dc_offer(struct store *s, const struct srv_dc *dc)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DC_OFFER);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, dc->campaign_id);
    bind_text(st, 2, dc->device_id);
    sqlite3_bind_int(st, 3, dc->stage);
    sqlite3_bind_int64(st, 4, dc->updated_at);
    return step_write(c, st, "dc_offer");
}

static enum store_rc sq_report_insert(struct store *s, struct srv_report *r,
                                      const char *last_result)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if (r->campaign_id) {
        /* The campaign row moves first: none to move (never offered, or
         * already final) means nothing at all is written. */
        rc = STORE_ERR;
        if ((st = stmt(c, S_DC_SET_STATE))) {
            sqlite3_bind_int64(st, 1, r->campaign_id);
            bind_text(st, 2, r->device_id);
            sqlite3_bind_int(st, 3, r->state);
            sqlite3_bind_int64(st, 4, r->created_at);
            rc = step_write(c, st, "dc_set_state");
            if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
                rc = STORE_REFUSED;
        }
        if (rc != STORE_OK) {
            tx(c, S_ROLLBACK);
            return rc;
        }
        rc = STORE_ERR;
    }
    if ((st = stmt(c, S_REP_INSERT))) {
        bind_text(st, 1, r->device_id);
        sqlite3_bind_int64(st, 2, r->campaign_id);
        sqlite3_bind_int(st, 3, r->state);
        sqlite3_bind_int64(st, 4, r->code);
        bind_text(st, 5, r->detail);
        sqlite3_bind_int64(st, 6, r->created_at);
        rc = step_write(c, st, "report_insert");
        if (rc == STORE_OK)
            r->id = sqlite3_last_insert_rowid(c->db);
    }
    if (rc == STORE_OK) {
        rc = STORE_ERR;
        if ((st = stmt(c, S_DEV_SET_RESULT))) {
            bind_text(st, 1, r->device_id);
            bind_text(st, 2, last_result);
            sqlite3_bind_int64(st, 3, r->created_at);
            rc = step_write(c, st, "device_set_result");
        }
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

static enum store_rc sq_report_list(struct store *s, const char *dev, int64_t after,
                                    int limit, store_report_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_REP_LIST);
    struct srv_report r;
    int rc;
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, dev);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int(st, 3, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&r, 0, sizeof(r));
        r.id = sqlite3_column_int64(st, 0);
        col_text(st, 1, r.device_id, sizeof(r.device_id));
        r.campaign_id = sqlite3_column_int64(st, 2);
        r.state = sqlite3_column_int(st, 3);
        r.code = sqlite3_column_int64(st, 4);
        col_text(st, 5, r.detail, sizeof(r.detail));
        r.created_at = sqlite3_column_int64(st, 6);
        cb(ctx, &r);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "report_list");
}

/* ---- delta cache --------------------------------------------------------- */

static enum store_rc sq_delta_get(struct store *s, const uint8_t base[OTA_SHA256_LEN],
                                  const uint8_t target[OTA_SHA256_LEN],
                                  uint8_t payload[OTA_SHA256_LEN], uint64_t *size)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DELTA_GET);
    enum store_rc r = STORE_NOT_FOUND;
    if (!st)
        return STORE_ERR;
    bind_blob(st, 1, base, OTA_SHA256_LEN);
    bind_blob(st, 2, target, OTA_SHA256_LEN);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        col_blob(st, 0, payload, OTA_SHA256_LEN);
        *size = (uint64_t)sqlite3_column_int64(st, 1);
        r = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        r = db_fail(c, "delta_get");
    }
    done(st);
    return r;
}

static enum store_rc sq_delta_put(struct store *s, const uint8_t base[OTA_SHA256_LEN],
                                  const uint8_t target[OTA_SHA256_LEN],
                                  const uint8_t payload[OTA_SHA256_LEN], uint64_t size)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DELTA_PUT);
    if (!st)
        return STORE_ERR;
    bind_blob(st, 1, base, OTA_SHA256_LEN);
    bind_blob(st, 2, target, OTA_SHA256_LEN);
    bind_blob(st, 3, payload, OTA_SHA256_LEN);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)size);
    return step_write(c, st, "delta_put");
}

/* ---- hawkBit DDI ----------------------------------------------------------- */

static enum store_rc sq_release_set_hashes(struct store *s, int64_t id, const uint8_t md5[16],
                                           const uint8_t sha1[20])
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_REL_SET_HASHES);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    bind_blob(st, 2, md5, 16);
    bind_blob(st, 3, sha1, 20);
    return step_write(c, st, "release_set_hashes");
}

static enum store_rc sq_ddi_actions(struct store *s, const char *dev, store_ddi_action_cb cb,
                                    void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DDI_ACTIONS);
    struct srv_ddi_action a;
    int rc;
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, dev);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&a, 0, sizeof(a));
        a.campaign_id = sqlite3_column_int64(st, 0);
        a.release_id = sqlite3_column_int64(st, 1);
        a.dc_state = sqlite3_column_int(st, 2);
        a.campaign_state = sqlite3_column_int(st, 3);
        a.cancel = sqlite3_column_int(st, 4);
        a.updated_at = sqlite3_column_int64(st, 5);
        cb(ctx, &a);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "ddi_actions");
}

static enum store_rc sq_ddi_cancel_put(struct store *s, int64_t cid, const char *dev,
                                       int cancel, const char *last_result, int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if ((st = stmt(c, S_DDI_CANCEL_PUT))) {
        sqlite3_bind_int64(st, 1, cid);
        bind_text(st, 2, dev);
        sqlite3_bind_int(st, 3, cancel);
        sqlite3_bind_int64(st, 4, now);
        rc = step_write(c, st, "ddi_cancel_put");
    }
    if (rc == STORE_OK) {
        rc = STORE_ERR;
        if ((st = stmt(c, S_DEV_SET_RESULT))) {
            bind_text(st, 1, dev);
            bind_text(st, 2, last_result);
            sqlite3_bind_int64(st, 3, now);
            rc = step_write(c, st, "device_set_result");
        }
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

static enum store_rc sq_ddi_attrs_put(struct store *s, const char *dev, const char *attrs,
                                      const char *hw_id, int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if ((st = stmt(c, S_DDI_DEV_HW))) {
        char cur[SRV_HWID_MAX + 1] = "";
        bind_text(st, 1, dev);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            col_text(st, 0, cur, sizeof(cur));
        done(st);
        rc = r == SQLITE_ROW ? STORE_OK : r == SQLITE_DONE ? STORE_NOT_FOUND
                                                           : db_fail(c, "ddi_attrs_put");
        if (rc == STORE_OK && hw_id[0] && cur[0] && strcmp(cur, hw_id) != 0)
            rc = STORE_REFUSED;
        if (rc == STORE_OK && hw_id[0] && !cur[0]) {
            rc = STORE_ERR;
            if ((st = stmt(c, S_DDI_SET_HW))) {
                bind_text(st, 1, dev);
                bind_text(st, 2, hw_id);
                rc = step_write(c, st, "ddi_set_hw_id");
            }
        }
    }
    if (rc == STORE_OK) {
        rc = STORE_ERR;
        if ((st = stmt(c, S_DDI_ATTRS_PUT))) {
            bind_text(st, 1, dev);
            bind_text(st, 2, attrs);
            sqlite3_bind_int64(st, 3, now);
            rc = step_write(c, st, "ddi_attrs_put");
        }
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

static enum store_rc sq_ddi_attrs_get(struct store *s, const char *dev, char *attrs,
                                      size_t cap, int64_t *updated_at)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_DDI_ATTRS_GET);
    enum store_rc r = STORE_NOT_FOUND;
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, dev);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        col_text(st, 0, attrs, cap);
        *updated_at = sqlite3_column_int64(st, 1);
        r = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        r = db_fail(c, "ddi_attrs_get");
    }
    done(st);
    return r;
}

/* ---- users: API tokens, console sessions, audit log ----------------------- */

static enum store_rc sq_api_token_insert(struct store *s, struct srv_api_token *t)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_TOK_INSERT);
    if (!st)
        return STORE_ERR;
    bind_text(st, 1, t->name);
    sqlite3_bind_int(st, 2, t->role);
    bind_blob(st, 3, t->token_hash, OTA_SHA256_LEN);
    sqlite3_bind_int64(st, 4, t->created_at);
    bind_text(st, 5, t->created_by);
    enum store_rc rc = step_write(c, st, "api_token_insert");
    if (rc == STORE_OK)
        t->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static void read_api_token(sqlite3_stmt *st, struct srv_api_token *t)
{
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    col_text(st, 1, t->name, sizeof(t->name));
    t->role = sqlite3_column_int(st, 2);
    col_blob(st, 3, t->token_hash, OTA_SHA256_LEN);
    t->created_at = sqlite3_column_int64(st, 4);
    col_text(st, 5, t->created_by, sizeof(t->created_by));
    t->last_used_at = sqlite3_column_int64(st, 6);
}

static enum store_rc sq_api_token_by_hash(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                          struct srv_api_token *t)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_TOK_BY_HASH);
    enum store_rc r = STORE_NOT_FOUND;
    if (!st)
        return STORE_ERR;
    bind_blob(st, 1, h, OTA_SHA256_LEN);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_api_token(st, t);
        r = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        r = db_fail(c, "api_token_by_hash");
    }
    done(st);
    return r;
}

static enum store_rc sq_api_token_list(struct store *s, store_api_token_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_TOK_LIST);
    struct srv_api_token t;
    int rc;
    if (!st)
        return STORE_ERR;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        read_api_token(st, &t);
        cb(ctx, &t);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "api_token_list");
}

static enum store_rc sq_api_token_delete(struct store *s, int64_t id)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if ((st = stmt(c, S_TOK_SESSIONS_DELETE))) {
        sqlite3_bind_int64(st, 1, id);
        rc = step_write(c, st, "api_token_sessions_delete");
    }
    if (rc == STORE_OK && (st = stmt(c, S_TOK_DELETE))) {
        sqlite3_bind_int64(st, 1, id);
        rc = update_one(c, st, "api_token_delete");
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

static enum store_rc sq_api_token_touch(struct store *s, int64_t id, int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_TOK_TOUCH);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now);
    return update_one(c, st, "api_token_touch");
}

static enum store_rc sq_session_put(struct store *s, const struct srv_session *ss,
                                    int64_t idle_before, int64_t created_before)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if ((st = stmt(c, S_SES_PRUNE))) {
        sqlite3_bind_int64(st, 1, idle_before);
        sqlite3_bind_int64(st, 2, created_before);
        rc = step_write(c, st, "session_prune");
    }
    if (rc == STORE_OK && (st = stmt(c, S_SES_INSERT))) {
        bind_blob(st, 1, ss->id_hash, OTA_SHA256_LEN);
        bind_blob(st, 2, ss->token_hash, OTA_SHA256_LEN);
        sqlite3_bind_int64(st, 3, ss->created_at);
        sqlite3_bind_int64(st, 4, ss->last_used);
        rc = step_write(c, st, "session_insert");
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

static enum store_rc sq_session_get(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                    struct srv_session *ss)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_SES_GET);
    enum store_rc r = STORE_NOT_FOUND;
    if (!st)
        return STORE_ERR;
    bind_blob(st, 1, h, OTA_SHA256_LEN);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        memset(ss, 0, sizeof(*ss));
        col_blob(st, 0, ss->id_hash, OTA_SHA256_LEN);
        col_blob(st, 1, ss->token_hash, OTA_SHA256_LEN);
        ss->created_at = sqlite3_column_int64(st, 2);
        ss->last_used = sqlite3_column_int64(st, 3);
        r = STORE_OK;
    } else if (rc != SQLITE_DONE) {
        r = db_fail(c, "session_get");
    }
    done(st);
    return r;
}

static enum store_rc sq_session_touch(struct store *s, const uint8_t h[OTA_SHA256_LEN],
                                      int64_t now)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_SES_TOUCH);
    if (!st)
        return STORE_ERR;
    bind_blob(st, 1, h, OTA_SHA256_LEN);
    sqlite3_bind_int64(st, 2, now);
    return update_one(c, st, "session_touch");
}

static enum store_rc sq_session_delete(struct store *s, const uint8_t h[OTA_SHA256_LEN])
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_SES_DELETE);
    if (!st)
        return STORE_ERR;
    bind_blob(st, 1, h, OTA_SHA256_LEN);
    return update_one(c, st, "session_delete");
}

static enum store_rc sq_audit_insert(struct store *s, struct srv_audit *a)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_AUD_INSERT);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, a->at);
    bind_text(st, 2, a->actor);
    bind_text(st, 3, a->role);
    bind_text(st, 4, a->action);
    bind_text(st, 5, a->target);
    sqlite3_bind_int(st, 6, a->status);
    enum store_rc rc = step_write(c, st, "audit_insert");
    if (rc == STORE_OK)
        a->id = sqlite3_last_insert_rowid(c->db);
    return rc;
}

static enum store_rc sq_audit_list(struct store *s, int64_t from, int newest, int limit,
                                   store_audit_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, newest ? S_AUD_LIST_DESC : S_AUD_LIST);
    struct srv_audit a;
    int rc;
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int(st, 2, limit);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&a, 0, sizeof(a));
        a.id = sqlite3_column_int64(st, 0);
        a.at = sqlite3_column_int64(st, 1);
        col_text(st, 2, a.actor, sizeof(a.actor));
        col_text(st, 3, a.role, sizeof(a.role));
        col_text(st, 4, a.action, sizeof(a.action));
        col_text(st, 5, a.target, sizeof(a.target));
        a.status = sqlite3_column_int(st, 6);
        cb(ctx, &a);
    }
    done(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "audit_list");
}

static enum store_rc sq_audit_prune(struct store *s, int64_t before)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = stmt(c, S_AUD_PRUNE);
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, before);
    return step_write(c, st, "audit_prune");
}

/* ---- read-only queries of the console (store.h query) -------------------- */

static enum store_rc sq_query(struct store *s, const char *sql, const struct store_param *p,
                              int np, store_row_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st = NULL;
    const char *cols[32];
    int rc;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return db_fail(c, "query_prepare");
    for (int i = 0; i < np; i++) {
        if (p[i].kind == STORE_P_INT)
            sqlite3_bind_int64(st, i + 1, p[i].i);
        else if (p[i].kind == STORE_P_BLOB)
            bind_blob(st, i + 1, p[i].s, (int)p[i].i);
        else
            bind_text(st, i + 1, p[i].s);
    }
    int n = sqlite3_column_count(st);
    if (n > 32)
        n = 32;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            cols[i] = (const char *)sqlite3_column_text(st, i);
        cb(ctx, n, cols);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? STORE_OK : db_fail(c, "query");
}

/* ---- open / migrate / close ---------------------------------------------- */

/* ---- device health ------------------------------------------------------ */

static enum store_rc sq_health_add(struct store *s, const struct srv_health_report *h)
{
    CONN_OR_FAIL(c, s);
    sqlite3_stmt *st;
    enum store_rc rc = STORE_ERR;
    if (!tx(c, S_BEGIN))
        return db_fail(c, "begin");
    if ((st = stmt(c, S_HEALTH_ADD))) {
        bind_text(st, 1, h->device_id);
        bind_text(st, 2, h->release);
        sqlite3_bind_int64(st, 3, h->period_s);
        sqlite3_bind_int64(st, 4, h->crashes);
        sqlite3_bind_int64(st, 5, h->resets);
        sqlite3_bind_int64(st, 6, h->at);
        rc = step_write(c, st, "health_add");
    }
    for (int i = 0; i < h->n_counters && rc == STORE_OK; i++) {
        rc = STORE_ERR;
        if ((st = stmt(c, S_HEALTH_COUNTER_ADD))) {
            bind_text(st, 1, h->device_id);
            bind_text(st, 2, h->release);
            bind_text(st, 3, h->names[i]);
            sqlite3_bind_int64(st, 4, h->values[i]);
            sqlite3_bind_int64(st, 5, h->at);
            rc = step_write(c, st, "health_add");
        }
    }
    if (rc == STORE_OK)
        return tx(c, S_COMMIT) ? STORE_OK : db_fail(c, "commit");
    tx(c, S_ROLLBACK);
    return rc;
}

/* Rows of one aggregation; `control` says which column layout. */
static enum store_rc health_rows(struct conn *c, enum stmt_id id, int64_t cid,
                                 const char *release, int control, int counters,
                                 store_health_cb cb, void *ctx)
{
    sqlite3_stmt *st = stmt(c, id);
    struct srv_health_row row;
    int r;
    if (!st)
        return STORE_ERR;
    sqlite3_bind_int64(st, 1, cid);
    bind_text(st, 2, release);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        int k = 0;
        memset(&row, 0, sizeof(row));
        row.stage = -1;
        if (control) {
            col_text(st, k++, row.release, sizeof(row.release));
            col_text(st, k++, row.hw_id, sizeof(row.hw_id));
            col_text(st, k++, row.tags, sizeof(row.tags));
        } else {
            row.stage = sqlite3_column_int(st, k++);
            snprintf(row.release, sizeof(row.release), "%s", release);
        }
        if (counters) {
            col_text(st, k++, row.name, sizeof(row.name));
            row.value = sqlite3_column_int64(st, k);
        } else {
            row.devices = sqlite3_column_int64(st, k);
            row.period_s = sqlite3_column_int64(st, k + 1);
            row.crashes = sqlite3_column_int64(st, k + 2);
            row.resets = sqlite3_column_int64(st, k + 3);
        }
        cb(ctx, &row);
    }
    done(st);
    return r == SQLITE_DONE ? STORE_OK : db_fail(c, "health_rows");
}

static enum store_rc sq_health_updated(struct store *s, int64_t cid, const char *release,
                                       store_health_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    enum store_rc rc = health_rows(c, S_HEALTH_UPDATED, cid, release, 0, 0, cb, ctx);
    return rc == STORE_OK ? health_rows(c, S_HEALTH_UPDATED_COUNTERS, cid, release, 0, 1, cb, ctx)
                          : rc;
}

static enum store_rc sq_health_control(struct store *s, int64_t cid, const char *release,
                                       store_health_cb cb, void *ctx)
{
    CONN_OR_FAIL(c, s);
    enum store_rc rc = health_rows(c, S_HEALTH_CONTROL, cid, release, 1, 0, cb, ctx);
    return rc == STORE_OK ? health_rows(c, S_HEALTH_CONTROL_COUNTERS, cid, release, 1, 1, cb, ctx)
                          : rc;
}

static enum store_rc sq_health_prune(struct store *s, int64_t before)
{
    CONN_OR_FAIL(c, s);
    static const enum stmt_id IDS[] = {S_HEALTH_PRUNE, S_HEALTH_PRUNE_COUNTERS};
    for (size_t i = 0; i < sizeof(IDS) / sizeof(IDS[0]); i++) {
        sqlite3_stmt *st = stmt(c, IDS[i]);
        if (!st)
            return STORE_ERR;
        sqlite3_bind_int64(st, 1, before);
        enum store_rc rc = step_write(c, st, "health_prune");
        if (rc != STORE_OK)
            return rc;
    }
    return STORE_OK;
}

static void sq_close(struct store *s)
{
    struct sq_store *q = SQ(s);
    struct conn *c = q->conns;
    while (c) {
        struct conn *next = c->next;
        for (int i = 0; i < S_COUNT; i++)
            sqlite3_finalize(c->st[i]);
        sqlite3_close(c->db);
        free(c);
        c = next;
    }
    tl_conn = NULL;
    pthread_mutex_destroy(&q->lock);
    free(q->path);
    free(q);
}

static const struct store_ops SQLITE_OPS = {
    .name = "sqlite",
    .close = sq_close,
    .setting_get = sq_setting_get,
    .setting_put = sq_setting_put,
    .release_insert = sq_release_insert,
    .release_get = sq_release_get,
    .release_by_digest = sq_release_by_digest,
    .release_list = sq_release_list,
    .release_delete = sq_release_delete,
    .release_set_other = sq_release_set_other,
    .device_insert = sq_device_insert,
    .device_get = sq_device_get,
    .device_get_auth = sq_device_get_auth,
    .device_by_token = sq_device_by_token,
    .device_list = sq_device_list,
    .device_set_tags = sq_device_set_tags,
    .device_set_token = sq_device_set_token,
    .device_delete = sq_device_delete,
    .devices_seen = sq_devices_seen,
    .device_count = sq_device_count,
    .enroll_insert = sq_enroll_insert,
    .enroll_use = sq_enroll_use,
    .enroll_list = sq_enroll_list,
    .enroll_delete = sq_enroll_delete,
    .campaign_insert = sq_campaign_insert,
    .campaign_get = sq_campaign_get,
    .campaign_list = sq_campaign_list,
    .campaign_update = sq_campaign_update,
    .campaign_counts = sq_campaign_counts,
    .campaign_generation = sq_campaign_generation,
    .dc_get = sq_dc_get,
    .dc_offer = sq_dc_offer,
    .dc_list = sq_dc_list,
    .report_insert = sq_report_insert,
    .report_list = sq_report_list,
    .delta_get = sq_delta_get,
    .delta_put = sq_delta_put,
    .release_set_hashes = sq_release_set_hashes,
    .ddi_actions = sq_ddi_actions,
    .ddi_cancel_put = sq_ddi_cancel_put,
    .ddi_attrs_put = sq_ddi_attrs_put,
    .ddi_attrs_get = sq_ddi_attrs_get,
    .api_token_insert = sq_api_token_insert,
    .api_token_by_hash = sq_api_token_by_hash,
    .api_token_list = sq_api_token_list,
    .api_token_delete = sq_api_token_delete,
    .api_token_touch = sq_api_token_touch,
    .session_put = sq_session_put,
    .session_get = sq_session_get,
    .session_touch = sq_session_touch,
    .session_delete = sq_session_delete,
    .audit_insert = sq_audit_insert,
    .audit_list = sq_audit_list,
    .audit_prune = sq_audit_prune,
    .query = sq_query,
    .health_add = sq_health_add,
    .health_updated = sq_health_updated,
    .health_control = sq_health_control,
    .health_prune = sq_health_prune,
};

static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        goto fail;
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > N_MIGRATIONS) {
        snprintf(err, errlen,
                 "database schema version %d is newer than this ota-server (%d): "
                 "upgrade ota-server",
                 version, N_MIGRATIONS);
        return 0;
    }
    for (int v = version; v < N_MIGRATIONS; v++) {
        char pragma[64];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v + 1);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
        if (sqlite3_exec(db, MIGRATIONS[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "schema migration %d -> %d failed: %s", v, v + 1,
                     sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return 0;
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            goto fail;
        log_msg(LOG_INFO, "schema_migrated", "from=%d to=%d", v, v + 1);
    }
    return 1;
fail:
    snprintf(err, errlen, "database error: %s", sqlite3_errmsg(db));
    return 0;
}

struct store *store_sqlite_open(const char *path, char *err, size_t errlen)
{
    struct sq_store *q;
    sqlite3 *db = NULL;
    /* No global memory statistics: they take a process-wide mutex on every
     * allocation of every connection. Must precede initialisation. */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
            SQLITE_OK ||
        !conn_setup(db)) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    if (!migrate(db, err, errlen)) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_close(db);
    q = calloc(1, sizeof(*q));
    if (!q || !(q->path = strdup(path))) {
        free(q);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&q->lock, NULL);
    q->base.ops = &SQLITE_OPS;
    return &q->base;
}
