// SPDX-License-Identifier: Apache-2.0
/*
 * store_sql.h - the SQL the SQLite store (store_sqlite.c) and the
 * PostgreSQL store (store_pg.c) share, written once.
 *
 * Why it exists: most statements are the same text in both dialects; only
 * their differences stay in each store, next to the table that uses them.
 * The texts here use SQLite's numbered placeholders `?N`; the PostgreSQL
 * store turns them into `$N` when it prepares a statement
 * (store_sql_pg_params()), so the parameter numbers are the same in both.
 * Dialect differences handled in the stores, explicitly:
 *   - `RETURNING id` after PostgreSQL INSERTs (SQLite reads the rowid);
 *   - `FOR UPDATE` row locks (PostgreSQL only: SQLite writers are serial);
 *   - max()/greatest(), INSERT OR IGNORE / ON CONFLICT DO NOTHING,
 *     INSERT OR REPLACE / ON CONFLICT DO UPDATE, integer casts, the batched
 *     last-seen upsert and the newer-state-only inventory update (several
 *     PostgreSQL nodes), transactions and advisory locks.
 */
#ifndef OTA_SERVER_STORE_SQL_H
#define OTA_SERVER_STORE_SQL_H

#include <stddef.h>

/* ---- column lists ---------------------------------------------------------- */
#define SQL_DEV_COLS                                                             \
    "id, token_hash, hw_id, tags, current_version, current_digest, slot_state, " \
    "last_result, last_seen, created_at, running_slot"
/* The device columns with last_seen from device_seen when newer: `newest` is
 * the dialect's "larger of two, NULL-safe" over d.last_seen, s.last_seen. */
#define SQL_DEV_COLS_J(newest)                                                   \
    "d.id, d.token_hash, d.hw_id, d.tags, d.current_version, d.current_digest, " \
    "d.slot_state, d.last_result, " newest ", d.created_at, d.running_slot "     \
    "FROM devices d LEFT JOIN device_seen s ON s.id = d.id"
#define SQL_REL_COLS                                                                \
    "id, name, v_major, v_minor, v_rev, v_build, security_counter, hw_id, digest, " \
    "size, created_at, raw, filename, md5, sha1, link_slot, other_digest, other_size"
#define SQL_CAMP_COLS                                                               \
    "id, name, release_id, f_hw_id, f_tags, f_min_version, f_max_version, stages, " \
    "state, stage, stage_started_at, complete, halt_reason, created_at, updated_at, " \
    "warnings"
#define SQL_ENR_COLS "id, token_hash, tags, hw_id, expires_at, max_uses, uses, created_at"
#define SQL_DC_COLS "campaign_id, device_id, state, stage, updated_at"

/* ---- settings -------------------------------------------------------------- */
#define SQL_SETTING_GET "SELECT value FROM settings WHERE key = ?1"
#define SQL_SETTING_PUT                                   \
    "INSERT INTO settings(key, value) VALUES(?1, ?2) " \
    "ON CONFLICT(key) DO UPDATE SET value = excluded.value"

/* ---- releases -------------------------------------------------------------- */
#define SQL_REL_INSERT                                                            \
    "INSERT INTO releases(name, v_major, v_minor, v_rev, v_build, "            \
    "security_counter, hw_id, digest, size, created_at, raw, filename, md5, sha1, " \
    "link_slot) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
#define SQL_REL_GET "SELECT " SQL_REL_COLS " FROM releases WHERE id = ?1"
#define SQL_REL_BY_DIGEST \
    "SELECT " SQL_REL_COLS " FROM releases WHERE digest = ?1 OR other_digest = ?1"
#define SQL_REL_LIST "SELECT " SQL_REL_COLS " FROM releases ORDER BY id"
#define SQL_REL_IN_USE "SELECT count(*) FROM campaigns WHERE release_id = ?1"
#define SQL_REL_DELETE "DELETE FROM releases WHERE id = ?1"
#define SQL_REL_SET_HASHES "UPDATE releases SET md5 = ?2, sha1 = ?3 WHERE id = ?1"
/* The other slot's image, once, and never a file that is already another
 * release's first image (the unique index covers other_digest): 0 rows
 * changed = taken. */
#define SQL_REL_SET_OTHER                                                             \
    "UPDATE releases SET other_digest = ?2, other_size = ?3 WHERE id = ?1 AND "       \
    "other_digest IS NULL AND NOT EXISTS (SELECT 1 FROM releases r2 WHERE r2.digest = ?2)"

/* ---- devices --------------------------------------------------------------- */
#define SQL_DEV_INSERT \
    "INSERT INTO devices(id, token_hash, hw_id, tags, created_at) VALUES(?1, ?2, ?3, ?4, ?5)"
#define SQL_DEV_GET(cols_j) "SELECT " cols_j " WHERE d.id = ?1"
#define SQL_DEV_BY_TOKEN(cols_j) "SELECT " cols_j " WHERE d.token_hash = ?1"
#define SQL_DEV_LIST(cols_j) "SELECT " cols_j " WHERE d.id > ?1 ORDER BY d.id LIMIT ?2"
#define SQL_DEV_SET_TAGS "UPDATE devices SET tags = ?2 WHERE id = ?1"
#define SQL_DEV_SET_TOKEN "UPDATE devices SET token_hash = ?2 WHERE id = ?1"
#define SQL_DEV_DELETE "DELETE FROM devices WHERE id = ?1"
#define SQL_SEEN_DELETE "DELETE FROM device_seen WHERE id = ?1"
/* A deleted device takes its history along (a re-created id starts clean);
 * the count triggers take its campaign rows out of the counts. */
#define SQL_DEV_REP_DELETE "DELETE FROM reports WHERE device_id = ?1"
#define SQL_DEV_DC_DELETE "DELETE FROM device_campaigns WHERE device_id = ?1"
#define SQL_DEV_COUNT "SELECT count(*) FROM devices"

/* ---- enrollment tokens ----------------------------------------------------- */
#define SQL_ENR_INSERT                                                        \
    "INSERT INTO enroll_tokens(token_hash, tags, hw_id, expires_at, max_uses, " \
    "created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
#define SQL_ENR_BY_HASH "SELECT " SQL_ENR_COLS " FROM enroll_tokens WHERE token_hash = ?1"
#define SQL_ENR_USE "UPDATE enroll_tokens SET uses = uses + 1 WHERE id = ?1"
#define SQL_ENR_LIST "SELECT " SQL_ENR_COLS " FROM enroll_tokens ORDER BY id"
#define SQL_ENR_DELETE "DELETE FROM enroll_tokens WHERE id = ?1"

/* ---- campaigns ------------------------------------------------------------- */
#define SQL_CAMP_INSERT                                                            \
    "INSERT INTO campaigns(name, release_id, f_hw_id, f_tags, f_min_version, "   \
    "f_max_version, stages, state, stage, stage_started_at, complete, halt_reason, " \
    "created_at, updated_at, warnings) "                                           \
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
#define SQL_CAMP_GET "SELECT " SQL_CAMP_COLS " FROM campaigns WHERE id = ?1"
#define SQL_CAMP_LIST "SELECT " SQL_CAMP_COLS " FROM campaigns ORDER BY id"
#define SQL_CAMP_LIST_ACTIVE \
    "SELECT " SQL_CAMP_COLS " FROM campaigns WHERE state = 0 ORDER BY id DESC"
#define SQL_CAMP_UPDATE                                                             \
    "UPDATE campaigns SET state = ?2, stage = ?3, stage_started_at = ?4, "        \
    "complete = ?5, halt_reason = ?6, updated_at = ?7, stages = ?10, "             \
    "warnings = ?11 WHERE id = ?1 AND state = ?8 AND stage = ?9"
#define SQL_CAMP_COUNTS "SELECT stage, state, n FROM campaign_counts WHERE campaign_id = ?1"

/* ---- device campaign progress and reports ---------------------------------- */
#define SQL_DC_GET \
    "SELECT " SQL_DC_COLS " FROM device_campaigns WHERE campaign_id = ?1 AND device_id = ?2"
#define SQL_DC_LIST                                                                  \
    "SELECT " SQL_DC_COLS " FROM device_campaigns WHERE campaign_id = ?1 AND "       \
    "device_id > ?2 AND (?3 < 0 OR state = ?3) ORDER BY device_id LIMIT ?4"
/* Final states are final: no later report replaces them. */
#define SQL_DC_SET_STATE                                          \
    "UPDATE device_campaigns SET state = ?3, updated_at = ?4 " \
    "WHERE campaign_id = ?1 AND device_id = ?2 AND state < 4"
#define SQL_DC_OFFER_VALUES \
    "device_campaigns(campaign_id, device_id, state, stage, updated_at) VALUES(?1, ?2, 0, ?3, ?4)"
#define SQL_REP_INSERT                                                                \
    "INSERT INTO reports(device_id, campaign_id, state, code, detail, created_at) " \
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
#define SQL_REP_LIST                                                         \
    "SELECT id, device_id, campaign_id, state, code, detail, created_at " \
    "FROM reports WHERE device_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3"

/* ---- deltas ---------------------------------------------------------------- */
#define SQL_DELTA_GET "SELECT payload, size FROM deltas WHERE base = ?1 AND target = ?2"
#define SQL_DELTA_PUT_VALUES "deltas(base, target, payload, size) VALUES(?1, ?2, ?3, ?4)"

/* ---- hawkBit DDI (ddi*.c) -------------------------------------------------- */
#define SQL_DDI_ACTIONS                                                       \
    "SELECT dc.campaign_id, c.release_id, dc.state, c.state, "              \
    "coalesce(x.state, 0), dc.updated_at FROM device_campaigns dc "          \
    "JOIN campaigns c ON c.id = dc.campaign_id "                             \
    "LEFT JOIN ddi_cancels x ON x.campaign_id = dc.campaign_id "             \
    "AND x.device_id = dc.device_id "                                        \
    "WHERE dc.device_id = ?1 ORDER BY dc.campaign_id DESC"
#define SQL_DDI_CANCEL_PUT                                                           \
    "INSERT INTO ddi_cancels(campaign_id, device_id, state, updated_at) "         \
    "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(campaign_id, device_id) "                  \
    "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
#define SQL_DDI_DEV_HW "SELECT hw_id FROM devices WHERE id = ?1"
#define SQL_DDI_SET_HW "UPDATE devices SET hw_id = ?2 WHERE id = ?1 AND hw_id = ''"
#define SQL_DDI_ATTRS_PUT                                                          \
    "INSERT INTO ddi_attributes(device_id, attrs, updated_at) VALUES(?1, ?2, ?3) " \
    "ON CONFLICT(device_id) DO UPDATE SET attrs = excluded.attrs, "               \
    "updated_at = excluded.updated_at"
#define SQL_DDI_ATTRS_GET "SELECT attrs, updated_at FROM ddi_attributes WHERE device_id = ?1"

/* ---- users: API tokens, console sessions, audit log ------------------------ */
#define SQL_TOK_COLS "id, name, role, token_hash, created_at, created_by, last_used_at"
#define SQL_TOK_INSERT                                                          \
    "INSERT INTO api_tokens(name, role, token_hash, created_at, created_by) " \
    "VALUES(?1, ?2, ?3, ?4, ?5)"
#define SQL_TOK_BY_HASH "SELECT " SQL_TOK_COLS " FROM api_tokens WHERE token_hash = ?1"
#define SQL_TOK_LIST "SELECT " SQL_TOK_COLS " FROM api_tokens ORDER BY id"
#define SQL_TOK_SESSIONS_DELETE                                          \
    "DELETE FROM console_sessions WHERE token_hash = "                \
    "(SELECT token_hash FROM api_tokens WHERE id = ?1)"
#define SQL_TOK_DELETE "DELETE FROM api_tokens WHERE id = ?1"
#define SQL_TOK_TOUCH "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1"
#define SQL_SES_INSERT                                                                 \
    "INSERT INTO console_sessions(id_hash, token_hash, created_at, last_used) "      \
    "VALUES(?1, ?2, ?3, ?4)"
#define SQL_SES_PRUNE "DELETE FROM console_sessions WHERE last_used < ?1 OR created_at < ?2"
#define SQL_SES_GET                                                                  \
    "SELECT id_hash, token_hash, created_at, last_used FROM console_sessions "   \
    "WHERE id_hash = ?1"
#define SQL_SES_TOUCH "UPDATE console_sessions SET last_used = ?2 WHERE id_hash = ?1"
#define SQL_SES_DELETE "DELETE FROM console_sessions WHERE id_hash = ?1"
#define SQL_AUD_INSERT                                                                  \
    "INSERT INTO audit_log(at, actor, role, action, target, status) "                 \
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"
#define SQL_AUD_LIST                                                                   \
    "SELECT id, at, actor, role, action, target, status FROM audit_log WHERE id > ?1 " \
    "ORDER BY id LIMIT ?2"
/* Newest first: entries with id < ?1. */
#define SQL_AUD_LIST_DESC                                                              \
    "SELECT id, at, actor, role, action, target, status FROM audit_log WHERE id < ?1 " \
    "ORDER BY id DESC LIMIT ?2"
#define SQL_AUD_PRUNE "DELETE FROM audit_log WHERE at < ?1"
/* ---- fleet: the console's read endpoints (api_fleet.c, store_ops.query) ---- */
/* A migration of both stores: GROUP BY over a covering index instead of a
 * sort of every device row. */
#define SQL_FLEET_INDEXES                                                   \
    "CREATE INDEX devices_by_version ON devices(current_version);"         \
    "CREATE INDEX devices_by_hw ON devices(hw_id);"                        \
    "CREATE INDEX devices_by_tags ON devices(tags);"                       \
    "CREATE INDEX devices_by_result ON devices(last_result);"              \
    "CREATE INDEX devices_by_digest ON devices(current_digest);"
/* A device's last-seen time, the newer of its row's and device_seen's
 * (both dialects; NULL-safe: no device_seen row keeps the row's). */
#define SQL_FLEET_SEEN \
    "(CASE WHEN s.last_seen > d.last_seen THEN s.last_seen ELSE d.last_seen END)"
#define SQL_FLEET_FROM " FROM devices d LEFT JOIN device_seen s ON s.id = d.id "
/* Totals: devices, seen at or after ?1 (online), never seen. */
/* (The condition on created_at makes SQLite scan the table in id order,
 * joining device_seen in step, instead of the narrower token index.) */
#define SQL_FLEET_TOTALS                                                          \
    "SELECT count(*), coalesce(sum(CASE WHEN " SQL_FLEET_SEEN " >= ?1 THEN 1 "   \
    "ELSE 0 END), 0), coalesce(sum(CASE WHEN " SQL_FLEET_SEEN " = 0 THEN 1 "     \
    "ELSE 0 END), 0)" SQL_FLEET_FROM "WHERE d.created_at >= 0"
#define SQL_FLEET_BY_VERSION                                                      \
    "SELECT current_version, count(*) FROM devices GROUP BY current_version "    \
    "ORDER BY 2 DESC, 1 LIMIT ?1"
#define SQL_FLEET_BY_HW \
    "SELECT hw_id, count(*) FROM devices GROUP BY hw_id ORDER BY 2 DESC, 1 LIMIT ?1"
/* Tag sets (",a,b,"): few distinct sets in a real fleet; split in C. */
#define SQL_FLEET_BY_TAGS \
    "SELECT tags, count(*) FROM devices GROUP BY tags ORDER BY 2 DESC LIMIT ?1"
/* Devices per release they run (by reported image digest: either slot's
 * build of a per-slot release). */
#define SQL_FLEET_BY_RELEASE                                                      \
    "SELECT r.id, count(*) FROM devices d JOIN releases r "                      \
    "ON r.digest = d.current_digest OR r.other_digest = d.current_digest "       \
    "GROUP BY r.id ORDER BY r.id"
/* Last results by their first word (reports write "success ...", "failure
 * code=N ...", "rolled-back ..."; agents "downloading ..."): one range of
 * devices_by_result each (the LIKE keeps it exact under any collation);
 * the rest ("other") is the total minus these. */
#define SQL_FLEET_RESULT_RANGE(lo, hi) \
    "(SELECT count(*) FROM devices WHERE last_result >= '" lo "' AND last_result < '" hi \
    "' AND last_result LIKE '" lo "%')"
#define SQL_FLEET_RESULTS                                                             \
    "SELECT (SELECT count(*) FROM devices WHERE last_result = ''), "                 \
    SQL_FLEET_RESULT_RANGE("success", "succest") ", "                                \
    SQL_FLEET_RESULT_RANGE("failure", "failurf") ", "                                \
    SQL_FLEET_RESULT_RANGE("rolled-back", "rolled-bacl") ", "                        \
    SQL_FLEET_RESULT_RANGE("downloading", "downloadinh") " + "                       \
    SQL_FLEET_RESULT_RANGE("installing", "installinh") " + "                         \
    SQL_FLEET_RESULT_RANGE("installed-rebooting", "installed-rebootinh")
#define SQL_FLEET_TOP_FAILURES                                                    \
    "SELECT last_result, count(*) FROM devices WHERE last_result <> '' AND "     \
    "last_result NOT LIKE 'success%' GROUP BY last_result ORDER BY 2 DESC, 1 "   \
    "LIMIT ?1"
/* Device list filters: ?1 version, ?2 hw id, ?3 tag pattern (LIKE), ?4 id
 * pattern, ?5 seen (0 any, 1 online, 2 silent, 3 never) against ?6, ?7 1 to
 * filter on the digests ?8 or ?9 (a release's images), ?10 last result
 * pattern; '' = no filter. */
#define SQL_FLEET_DEV_WHERE                                                       \
    "WHERE (?1 = '' OR d.current_version = ?1) AND (?2 = '' OR d.hw_id = ?2) "   \
    "AND (?3 = '' OR d.tags LIKE ?3 ESCAPE '\\') "                               \
    "AND (?4 = '' OR d.id LIKE ?4 ESCAPE '\\') "                                 \
    "AND (?5 = 0 OR (?5 = 1 AND " SQL_FLEET_SEEN " >= ?6) "                     \
    "OR (?5 = 2 AND " SQL_FLEET_SEEN " < ?6 AND " SQL_FLEET_SEEN " > 0) "        \
    "OR (?5 = 3 AND " SQL_FLEET_SEEN " = 0)) "                                   \
    "AND (?7 = 0 OR d.current_digest = ?8 OR d.current_digest = ?9) "            \
    "AND (?10 = '' OR d.last_result LIKE ?10 ESCAPE '\\')"
#define SQL_FLEET_DEV_COUNT "SELECT count(*)" SQL_FLEET_FROM SQL_FLEET_DEV_WHERE
/* One page after ?11, ?12 rows. */
#define SQL_FLEET_DEV_PAGE                                                        \
    "SELECT d.id, d.hw_id, d.tags, d.current_version, d.slot_state, "           \
    "d.last_result, " SQL_FLEET_SEEN ", d.created_at, d.running_slot"           \
    SQL_FLEET_FROM SQL_FLEET_DEV_WHERE " AND d.id > ?11 ORDER BY d.id LIMIT ?12"
/* A campaign's finished devices per time bucket ((updated_at - ?2) / ?3),
 * by the stage of first offer and final state: a final row's updated_at is
 * the time of its final report (final states are final), so this reads the
 * campaign's own rows only. */
#define SQL_FLEET_TIMELINE                                                        \
    "SELECT (updated_at - ?2) / ?3, stage, state, count(*) FROM device_campaigns " \
    "WHERE campaign_id = ?1 AND state >= 4 GROUP BY 1, 2, 3 ORDER BY 1"

/* ---- device health (api_health.c, health_gate.c) ---------------------------- */
/* Sums per device and release: a report adds to its row (never one row per
 * report). Table-qualified on the right: PostgreSQL needs it, SQLite takes it. */
#define SQL_HEALTH_ADD                                                                 \
    "INSERT INTO device_health(device_id, release, reports, period_s, crashes, resets, " \
    "first_at, updated_at) VALUES(?1, ?2, 1, ?3, ?4, ?5, ?6, ?6) "                      \
    "ON CONFLICT(device_id, release) DO UPDATE SET "                                   \
    "reports = device_health.reports + 1, "                                            \
    "period_s = device_health.period_s + excluded.period_s, "                          \
    "crashes = device_health.crashes + excluded.crashes, "                             \
    "resets = device_health.resets + excluded.resets, updated_at = excluded.updated_at"
#define SQL_HEALTH_COUNTER_ADD                                                          \
    "INSERT INTO device_health_counters(device_id, release, name, value, updated_at) " \
    "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(device_id, release, name) DO UPDATE SET "  \
    "value = device_health_counters.value + excluded.value, "                           \
    "updated_at = excluded.updated_at"
/* The updated cohort: this campaign's devices with rows for its release. */
#define SQL_HEALTH_UPDATED                                                               \
    "SELECT dc.stage, count(*), sum(h.period_s), sum(h.crashes), sum(h.resets) "        \
    "FROM device_campaigns dc JOIN device_health h ON h.device_id = dc.device_id "       \
    "AND h.release = ?2 WHERE dc.campaign_id = ?1 GROUP BY dc.stage ORDER BY dc.stage"
#define SQL_HEALTH_UPDATED_COUNTERS                                                       \
    "SELECT dc.stage, k.name, sum(k.value) FROM device_campaigns dc "                     \
    "JOIN device_health_counters k ON k.device_id = dc.device_id AND k.release = ?2 "    \
    "WHERE dc.campaign_id = ?1 GROUP BY dc.stage, k.name ORDER BY dc.stage, k.name"
/* The control: other releases' rows, grouped so the caller can apply the
 * campaign filter per group; devices this campaign updated (state 4,
 * success) are left out. */
#define SQL_HEALTH_CONTROL                                                                \
    "SELECT h.release, d.hw_id, d.tags, count(*), sum(h.period_s), sum(h.crashes), "     \
    "sum(h.resets) FROM device_health h JOIN devices d ON d.id = h.device_id "           \
    "LEFT JOIN device_campaigns dc ON dc.campaign_id = ?1 AND dc.device_id = h.device_id " \
    "WHERE h.release <> ?2 AND (dc.state IS NULL OR dc.state <> 4) "                      \
    "GROUP BY h.release, d.hw_id, d.tags"
#define SQL_HEALTH_CONTROL_COUNTERS                                                       \
    "SELECT k.release, d.hw_id, d.tags, k.name, sum(k.value) "                           \
    "FROM device_health_counters k JOIN devices d ON d.id = k.device_id "                \
    "LEFT JOIN device_campaigns dc ON dc.campaign_id = ?1 AND dc.device_id = k.device_id " \
    "WHERE k.release <> ?2 AND (dc.state IS NULL OR dc.state <> 4) "                      \
    "GROUP BY k.release, d.hw_id, d.tags, k.name"
#define SQL_HEALTH_PRUNE "DELETE FROM device_health WHERE updated_at < ?1"
#define SQL_HEALTH_PRUNE_COUNTERS "DELETE FROM device_health_counters WHERE updated_at < ?1"

/* PostgreSQL's placeholders: in into out with every `?N` written `$N` (the
 * statements have no '?' anywhere else). -1 when out is too small. */
static inline int store_sql_pg_params(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in; in++) {
        if (n + 1 >= cap)
            return -1;
        out[n++] = *in == '?' && in[1] >= '0' && in[1] <= '9' ? '$' : *in;
    }
    out[n] = '\0';
    return 0;
}

#endif
