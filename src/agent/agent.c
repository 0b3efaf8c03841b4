// SPDX-License-Identifier: Apache-2.0
/*
 * agent.c - the agent's update loop: finish what a previous boot started
 * (self-test + confirm after a trial boot, or report the rollback), deliver
 * reports the server has not acknowledged, check in, and download + install
 * an offer with byte-range resumption, retries with backoff and persisted
 * progress. Every step is logged and reported to the server.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "agent.h"
#include "exit_codes.h"
#include "ota/host.h"

#define CHECKPOINT_EVERY (32u * 1024u)

static int is_power_loss(ota_err e)
{
    return e == OTA_ERR_POWER_LOSS;
}

static void diag_text(const struct ota_diag *d, char *out, size_t cap)
{
    size_t n;
    out[0] = 0;
    if (cap < 4 || !ota_diag_str(d, out + 2, cap - 3)[0])
        return;
    n = 2 + strlen(out + 2);
    memcpy(out, " (", 2);
    memcpy(out + n, ")", 2);
}

static void save_state(struct agent *a)
{
    ota_err e = agent_state_save(&a->st, a->cfg->state_file);
    if (e)
        LOG_E("cannot save state to %s: %s", a->cfg->state_file, ota_strerror(e));
}

void agent_sleep(struct agent *a, double seconds)
{
    struct timespec ts;
    while (seconds > 0) {
        double step = seconds < 0.1 ? seconds : 0.1;
        if (a->stop && a->stop(a->stop_ctx))
            return;
        ts.tv_sec = (time_t)step;
        ts.tv_nsec = (long)((step - (double)ts.tv_sec) * 1e9);
        nanosleep(&ts, NULL);
        seconds -= step;
    }
}

/* Best-effort progress report (downloading, installing, ...): a lost one
 * costs nothing, the final outcome is persisted and retried. */
static void report_progress(struct agent *a, const char *state, const char *detail)
{
    char err[512];
    ota_err e = agent_api_report(a->http, a->cfg, a->st.campaign_id, state, 0, detail, err,
                                 sizeof err);
    if (e)
        LOG_W("report '%s' not delivered: %s", state, err);
    else
        LOG_I("reported %s%s%s", state, detail && *detail ? ": " : "", detail ? detail : "");
}

/* A final outcome: persisted first, then delivered (and re-sent until the
 * server acknowledges it). */
static void queue_final(struct agent *a, const char *state, int64_t code, const char *detail)
{
    snprintf(a->st.pending_state, sizeof a->st.pending_state, "%s", state);
    a->st.pending_code = code;
    snprintf(a->st.pending_detail, sizeof a->st.pending_detail, "%s", detail);
    a->st.pending_campaign = a->st.campaign_id;
    snprintf(a->st.last_result, sizeof a->st.last_result, "%s: %s", state, detail);
    save_state(a);
}

/* Why a check-in or enrollment failed, for `--once` (permanent errors get
 * their own exit codes). */
static enum agent_fault checkin_fault(ota_err e, int status)
{
    if (e == OTA_ERR_NET)
        return AGENT_FAULT_UNREACHABLE;
    if (e == OTA_ERR_TLS || e == OTA_ERR_PIN_MISMATCH)
        return AGENT_FAULT_TLS;
    if (status == 401 || status == 403)
        return AGENT_FAULT_UNAUTHORIZED;
    if (status == 409)
        return AGENT_FAULT_HW_MISMATCH;
    return AGENT_FAULT_OTHER;
}

/* 0: delivered or dropped (4xx); -1: retry later. */
static int flush_final(struct agent *a)
{
    char err[512];
    ota_err e;
    if (!a->st.pending_state[0])
        return 0;
    e = agent_api_report(a->http, a->cfg, a->st.pending_campaign, a->st.pending_state,
                         a->st.pending_code, a->st.pending_detail, err, sizeof err);
    if (e == OTA_ERR_NET || e == OTA_ERR_HTTP || e == OTA_ERR_TLS || e == OTA_ERR_PIN_MISMATCH) {
        a->fault = checkin_fault(e, agent_http_last_status(a->http));
        LOG_W("report '%s' not delivered (will retry): %s", a->st.pending_state, err);
        return -1;
    }
    if (e)
        LOG_W("report '%s' refused by the server, dropped: %s", a->st.pending_state, err);
    else
        LOG_I("reported %s: %s", a->st.pending_state, a->st.pending_detail);
    a->st.pending_state[0] = 0;
    save_state(a);
    return 0;
}

int agent_selftest_command(void *ctx, const struct agent_device_info *dev)
{
    const struct agent_config *c = ctx;
    int rc;
    (void)dev;
    if (!c->selftest_cmd[0])
        return 0;
    rc = system(c->selftest_cmd);
    if (rc == -1) {
        LOG_E("self-test '%s' could not run: %s", c->selftest_cmd, strerror(errno));
        return 1;
    }
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 1;
}

/* After a reboot into the image we installed (or back from it). */
static enum agent_outcome handle_installed(struct agent *a, const struct agent_device_info *dev)
{
    char ver[32], detail[256], dt[160];
    ota_err e;

    ota_image_version_str(&dev->version, ver, sizeof ver);
    if (memcmp(dev->digest, a->st.target_digest, OTA_SHA256_LEN) == 0) {
        if (dev->trial) {
            int rc = a->selftest ? a->selftest(a->selftest_ctx, dev) : 0;
            if (rc != 0) {
                LOG_E("trial boot of %s: self-test FAILED (status %d): not confirming; the "
                      "bootloader will revert after the remaining trial boots", ver, rc);
                if (!a->st.selftest_failed_reported) {
                    a->st.selftest_failed_reported = 1;
                    save_state(a);
                }
                return AGENT_TRIAL_FAILED;
            }
            LOG_I("trial boot of %s: self-test passed, confirming", ver);
            e = a->be.confirm(a->be.ctx, &a->diag);
            if (e) {
                diag_text(&a->diag, dt, sizeof dt);
                LOG_E("confirm failed: %s%s", ota_strerror(e), dt);
                return is_power_loss(e) ? AGENT_POWER_LOST : AGENT_RETRY;
            }
        }
        snprintf(detail, sizeof detail, "running %s (confirmed)", ver);
        a->st.phase = AGENT_PHASE_IDLE;
        queue_final(a, "success", 0, detail);
        LOG_I("update to %s succeeded", ver);
        return AGENT_IDLE;
    }
    /* Not running the target: the trial failed and the bootloader reverted. */
    snprintf(detail, sizeof detail, "trial of %s %s; bootloader reverted, running %s",
             a->st.target_version,
             a->st.selftest_failed_reported ? "failed its self-test"
                                            : "never confirmed (crash or watchdog)",
             dev->running_slot >= 0 ? ver : "nothing");
    LOG_W("ROLLED BACK: %s", detail);
    a->st.phase = AGENT_PHASE_IDLE;
    queue_final(a, "rolled-back", OTA_ERR_BOOT_NOT_ON_TRIAL, detail);
    return AGENT_IDLE;
}

/* Download bytes are staged into fixed blocks before they reach the engine:
 * flash sees the same program pattern whatever the network's chunking
 * (fewer, larger programs; reproducible operation counts for power-cut
 * tests). */
#define STAGE_BLOCK 4096u

int agent_fault_exit(enum agent_fault f)
{
    return f == AGENT_FAULT_UNAUTHORIZED ? OTA_EXIT_AGENT_UNAUTHORIZED
         : f == AGENT_FAULT_HW_MISMATCH  ? OTA_EXIT_AGENT_HW_MISMATCH
         : f == AGENT_FAULT_UNREACHABLE  ? OTA_EXIT_AGENT_UNREACHABLE
         : f == AGENT_FAULT_TLS          ? OTA_EXIT_AGENT_TLS
                                         : OTA_EXIT_ERROR;
}

double agent_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct sink_ctx {
    struct agent *a;
    uint32_t since_ckpt;
    uint32_t fill;
    /* progress of this attempt, for the log */
    uint32_t start, total;   /* payload offset the attempt began at, payload size */
    uint64_t taken;          /* bytes received by this attempt */
    double t0;               /* when the attempt began (monotonic seconds) */
    unsigned next_pct;       /* next percentage worth a log line */
    uint8_t buf[STAGE_BLOCK];
};

static void checkpoint(struct agent *a)
{
    struct ota_update_progress p;
    ota_err e = a->be.checkpoint(a->be.ctx, &p);
    if (e) {
        LOG_W("checkpoint failed: %s", ota_strerror(e));
        return;
    }
    a->st.progress = p;
    a->st.has_progress = 1;
    save_state(a);
}

/* Hand the staged bytes to the engine. */
static ota_err sink_flush(struct sink_ctx *s)
{
    ota_err e;
    if (!s->fill)
        return OTA_OK;
    e = s->a->be.write(s->a->be.ctx, s->buf, s->fill);
    if (e)
        return e;
    s->since_ckpt += s->fill;
    s->fill = 0;
    if (s->since_ckpt >= (s->a->be.checkpoint_every ? s->a->be.checkpoint_every
                                                    : CHECKPOINT_EVERY)) {
        s->since_ckpt = 0;
        checkpoint(s->a);
    }
    return OTA_OK;
}

/* "47% (94000 of 200000 bytes), 12.3 KiB/s": what the log and the reports
 * to the server say about a download. */
static void progress_text(const struct sink_ctx *s, char *out, size_t cap)
{
    uint64_t at = s->start + s->taken;
    double dt = agent_monotonic() - s->t0;
    snprintf(out, cap, "%u%% (%llu of %u bytes), %.1f KiB/s",
             s->total ? (unsigned)(at * 100 / s->total) : 0, (unsigned long long)at, s->total,
             dt > 0 ? (double)s->taken / 1024.0 / dt : 0.0);
}

static ota_err sink(void *ctx, const void *data, size_t len)
{
    struct sink_ctx *s = ctx;
    const uint8_t *p = data;
    s->taken += len;
    while (len) {
        size_t n = STAGE_BLOCK - s->fill;
        if (n > len)
            n = len;
        memcpy(s->buf + s->fill, p, n);
        s->fill += (uint32_t)n;
        p += n;
        len -= n;
        if (s->fill == STAGE_BLOCK) {
            ota_err e = sink_flush(s);
            if (e)
                return e;
        }
    }
    if (s->total && (s->start + s->taken) * 100 / s->total >= s->next_pct) {
        char pt[96];
        progress_text(s, pt, sizeof pt);
        LOG_I("download: %s", pt);
        s->next_pct = (unsigned)((s->start + s->taken) * 100 / s->total / 25 + 1) * 25;
    }
    return OTA_OK;
}

/* Transport trouble: retry, keep the progress. */
static int is_transient(ota_err e)
{
    return e == OTA_ERR_NET || e == OTA_ERR_HTTP || e == OTA_ERR_TLS ||
           e == OTA_ERR_PIN_MISMATCH || e == OTA_ERR_PROTOCOL || e == OTA_ERR_IO ||
           e == OTA_ERR_FILE || e == OTA_ERR_NO_MEMORY;
}

/* Manifest refusals that a byte flipped in transit can cause (plain HTTP in
 * tests): retried a few times before they count as the server's fault. */
static int maybe_transit_manifest(ota_err e)
{
    return e == OTA_ERR_MANIFEST_MALFORMED || e == OTA_ERR_MANIFEST_SIG_INVALID ||
           e == OTA_ERR_MANIFEST_VERSION;
}

/* Refusals that say the offer is old (replayed, revoked, or would take the
 * device back): they prove nothing about the campaign the offer names --
 * anyone can replay it -- so that campaign's record is left alone. */
static int is_stale_offer(ota_err e)
{
    return e == OTA_ERR_MANIFEST_STALE || e == OTA_ERR_MANIFEST_DOWNGRADE ||
           e == OTA_ERR_MANIFEST_EXPIRED;
}

static enum agent_outcome refuse(struct agent *a, const char *what, ota_err e)
{
    char detail[256], dt[160];
    diag_text(&a->diag, dt, sizeof dt);
    snprintf(detail, sizeof detail, "%s: %s: %s%s", what, ota_errname(e), ota_strerror(e), dt);
    LOG_E("update REFUSED: %s", detail);
    a->st.phase = AGENT_PHASE_IDLE;
    a->st.has_progress = 0;
    queue_final(a, "failure", e, detail);
    (void)flush_final(a);
    return AGENT_IDLE;
}

/* A stale offer: reported as the device's own (campaign 0), naming the
 * campaign it claimed, while the download in progress (if any) and its
 * campaign's record stay as they were. */
static enum agent_outcome refuse_stale(struct agent *a, const uint8_t *manifest, size_t len,
                                       uint64_t campaign, ota_err e)
{
    char detail[256], dt[160], err[512];
    diag_text(&a->diag, dt, sizeof dt);
    snprintf(detail, sizeof detail, "offer of campaign %llu refused: %s: %s%s",
             (unsigned long long)campaign, ota_errname(e), ota_strerror(e), dt);
    if (len == a->stale_len && memcmp(manifest, a->stale, len) == 0) {
        LOG_D("the same stale offer again, refused again: %s", detail);
        return AGENT_IDLE; /* reported already */
    }
    memcpy(a->stale, manifest, len);
    a->stale_len = len;
    LOG_E("update REFUSED: %s", detail);
    if (agent_api_report(a->http, a->cfg, 0, "failure", e, detail, err, sizeof err))
        LOG_W("report not delivered: %s", err);
    return AGENT_IDLE;
}

/* The payload bytes were refused: damaged in transit (start over) unless it
 * keeps happening with this offer. */
static enum agent_outcome payload_failure(struct agent *a, const char *what, ota_err e)
{
    char dt[160];
    a->st.has_progress = 0;
    a->st.phase = AGENT_PHASE_IDLE;
    save_state(a);
    if (++a->payload_failures >= (unsigned)a->cfg->max_download_attempts)
        return refuse(a, what, e);
    diag_text(&a->diag, dt, sizeof dt);
    LOG_W("%s (%s: %s%s): damaged in transit? discarding progress, downloading again "
          "(%u of %d)", what, ota_errname(e), ota_strerror(e), dt, a->payload_failures,
          a->cfg->max_download_attempts);
    a->restarts++;
    return AGENT_RETRY;
}

/* One offer being worked on by do_update()'s steps. */
struct offer_run {
    const struct agent_offer *offer;
    const struct ota_manifest *m;
    char ver[32];
    uint32_t offset;           /* payload bytes durably in the slot */
    int reported_downloading;  /* the server already heard "downloading" */
    char rate[96];             /* how the last attempt went (progress_text) */
};

/* The engine's random access to the payload (ota_update_payload_at): it
 * reads an image's header and TLV areas -- a few small reads at the start and
 * at the end -- so each Range request fetches a window of up to RA_WINDOW
 * bytes from the offset asked for and later reads inside it are served from
 * memory: two requests for a typical image. Bounded by the signed payload
 * size (parsed from the offer; the engine calls this only after verifying
 * that same manifest). */
#define RA_WINDOW 4096u
struct payload_ra {
    struct agent *a;
    const char *path;
    uint32_t size;           /* the manifest's payload_size */
    uint32_t off, len;       /* the window held in buf */
    unsigned requests;
    uint8_t buf[RA_WINDOW];
};

static ota_err payload_ra_read(void *ctx, uint32_t off, void *out, size_t len)
{
    struct payload_ra *ra = ctx;
    char err[512];
    ota_err e;
    if ((uint64_t)off + len > ra->size) {
        LOG_E("payload read of %zu bytes at %u: past the signed payload size %u", len, off,
              ra->size);
        return OTA_ERR_IMAGE_TRUNCATED;
    }
    if (off < ra->off || (uint64_t)off + len > (uint64_t)ra->off + ra->len) {
        uint32_t n = ra->size - off < RA_WINDOW ? ra->size - off : RA_WINDOW;
        ra->requests++;
        if (len > n) /* larger than a window: straight into the caller's buffer */
            e = agent_http_range(ra->a->http, ra->path, off, len, ra->size, out, err, sizeof err);
        else
            e = agent_http_range(ra->a->http, ra->path, off, n, ra->size, ra->buf, err,
                                 sizeof err);
        if (e) {
            ra->len = 0;
            LOG_W("%s", err);
            return e;
        }
        if (len > n)
            return OTA_OK;
        ra->off = off;
        ra->len = n;
    }
    memcpy(out, ra->buf + (off - ra->off), len);
    return OTA_OK;
}

/* Step 1: hand the signed offer to the update engine, which verifies it
 * (signature, device, hardware, expiry, counter, freshness, downgrade, size)
 * before a payload byte is taken. 0: go on; else *out says what now. */
static int offer_begin(struct agent *a, struct offer_run *r, enum agent_outcome *out)
{
    const struct agent_offer *offer = r->offer;
    static struct payload_ra ra;
    struct ota_update_payload_at pa = {payload_ra_read, &ra};
    struct ota_manifest pm;
    char dt[160], err[512];
    uint64_t campaign = 0;
    ota_err e, origin;

    memset(&a->diag, 0, sizeof a->diag);
    memset(&ra, 0, offsetof(struct payload_ra, buf));
    ra.a = a;
    ra.path = offer->artifact_path;
    if (ota_manifest_parse(offer->manifest, offer->manifest_len, &pm, NULL) == OTA_OK) {
        campaign = pm.campaign_id; /* the manifest parsed: a report can name it */
        ra.size = pm.payload_size;
    }
    /* the token goes nowhere but the server and configured origins: no
     * random access (and no download) elsewhere. Range requests only for
     * an image the offer says is encrypted: a plain one needs none (and if
     * the hint lies, the engine refuses the image at finish) */
    origin = agent_http_check_origin(a->http, offer->artifact_path, err, sizeof err);
    e = a->be.begin(a->be.ctx, offer->manifest, offer->manifest_len, a->st.offer_seq + 1,
                    origin == OTA_OK && offer->encrypted ? &pa : NULL,
                    a->st.has_progress ? &a->st.progress : NULL,
                    &r->offset, &r->m, &a->diag);
    if (ra.requests)
        LOG_I("read the image's header and key areas with %u range request%s", ra.requests,
              ra.requests == 1 ? "" : "s");
    if (e == OTA_OK) {
        a->manifest_refusals = 0;
        e = origin;
        if (e == OTA_OK)
            return 0;
        a->st.campaign_id = r->m->campaign_id;
        LOG_E("%s", err);
        *out = refuse(a, "offer refused before download (payload URL)", e);
        return 1;
    }
    if (is_power_loss(e)) {
        *out = AGENT_POWER_LOST;
        return 1;
    }
    diag_text(&a->diag, dt, sizeof dt);
    if (is_transient(e)) {
        LOG_W("cannot start the update: %s%s", ota_strerror(e), dt);
        *out = AGENT_RETRY;
        return 1;
    }
    if (maybe_transit_manifest(e) && ++a->manifest_refusals < 3) {
        LOG_W("offer refused (%s%s): asking again in case it was damaged in transit",
              ota_errname(e), dt);
        *out = AGENT_RETRY;
        return 1;
    }
    a->manifest_refusals = 0;
    if (is_stale_offer(e)) {
        *out = refuse_stale(a, offer->manifest, offer->manifest_len, campaign, e);
        return 1;
    }
    a->st.campaign_id = campaign;
    *out = refuse(a, "offer refused before download", e);
    return 1;
}

/* Step 2: the accepted offer, persisted (with its offer sequence, which
 * from now on no offer may go back below). */
static void offer_record(struct agent *a, struct offer_run *r)
{
    const struct ota_manifest *m = r->m;
    if (memcmp(a->offer_payload, m->payload_digest, OTA_SHA256_LEN) != 0) {
        memcpy(a->offer_payload, m->payload_digest, OTA_SHA256_LEN);
        a->payload_failures = 0;
        a->slow_attempts = 0;
    }
    ota_image_version_str(&m->target_version, r->ver, sizeof r->ver);
    if (a->st.phase != AGENT_PHASE_DOWNLOADING || a->st.campaign_id != m->campaign_id ||
        memcmp(a->st.target_digest, m->target_digest, OTA_SHA256_LEN) != 0)
        a->st.selftest_failed_reported = 0;
    else
        r->reported_downloading = 1; /* this download was already reported */
    a->st.phase = AGENT_PHASE_DOWNLOADING;
    memcpy(a->st.manifest, r->offer->manifest, r->offer->manifest_len);
    a->st.manifest_len = r->offer->manifest_len;
    a->st.campaign_id = m->campaign_id;
    memcpy(a->st.target_digest, m->target_digest, OTA_SHA256_LEN);
    snprintf(a->st.target_version, sizeof a->st.target_version, "%s", r->ver);
    if (m->offer_seq > a->st.offer_seq)
        a->st.offer_seq = m->offer_seq;
    save_state(a);
    LOG_I("offer: %s (campaign %llu, offer %llu), %s payload %u bytes: manifest verified; %s",
          r->ver, (unsigned long long)m->campaign_id, (unsigned long long)m->offer_seq,
          m->payload_kind == OTA_PAYLOAD_DELTA ? "delta" : "full", m->payload_size,
          r->offset ? "resuming" : "downloading");
    if (r->offset) {
        a->resumes++;
        LOG_I("RESUMING at byte %u (prefix re-verified from flash) of %u", r->offset,
              m->payload_size);
    }
}

/* One attempt's time limit: the configured timeout plus the remaining bytes
 * at min_rate_bps, capped by attempt_deadline. */
static double attempt_deadline(const struct agent *a, uint32_t remaining)
{
    double d = a->cfg->timeout + (double)remaining / a->cfg->min_rate_bps;
    if (a->cfg->attempt_deadline > 0 && d > a->cfg->attempt_deadline)
        d = a->cfg->attempt_deadline;
    return d;
}

/* Step 3: download the payload into the engine, resuming with byte ranges,
 * retrying transient trouble with backoff. 0: the payload is complete; else
 * *out says what now. */
static int offer_download(struct agent *a, struct offer_run *r, enum agent_outcome *out)
{
    static struct sink_ctx sc;
    const struct ota_manifest *m = r->m;
    char err[512], pt[256];
    int failures = 0;

    while (r->offset < m->payload_size) {
        uint64_t got = 0;
        int status = 0, deadline_hit = 0;
        double deadline = attempt_deadline(a, m->payload_size - r->offset);
        ota_err e, fe;
        if (!r->reported_downloading) {
            report_progress(a, "downloading", "");
            r->reported_downloading = 1;
        }
        a->downloads++;
        LOG_I("GET %s from byte %u of %u (attempt %d, deadline %.0fs)", r->offer->artifact_path,
              r->offset, m->payload_size, failures + 1, deadline);
        memset(&sc, 0, offsetof(struct sink_ctx, buf));
        sc.a = a;
        sc.start = r->offset;
        sc.total = m->payload_size;
        sc.t0 = agent_monotonic();
        sc.next_pct = (unsigned)((uint64_t)r->offset * 100 / m->payload_size / 25 + 1) * 25;
        e = agent_http_download(a->http, r->offer->artifact_path, r->offset, deadline, sink, &sc,
                                &status, &got, &deadline_hit, err, sizeof err);
        /* bytes still staged were received intact as far as TCP/TLS can tell */
        fe = is_power_loss(e) ? OTA_OK : sink_flush(&sc);
        if (fe && (!e || is_transient(e))) {
            e = fe;
            snprintf(err, sizeof err, "the update engine refused the data: %s",
                     ota_errname(fe));
            got -= sc.fill;
        }
        r->offset += (uint32_t)got;
        progress_text(&sc, r->rate, sizeof r->rate);
        if (is_power_loss(e)) {
            *out = AGENT_POWER_LOST;
            return 1;
        }
        checkpoint(a);
        if (!e && r->offset < m->payload_size) {
            e = OTA_ERR_NET;
            snprintf(err, sizeof err, "connection closed at byte %u of %u", r->offset,
                     m->payload_size);
        }
        if (!e)
            break;
        a->download_errors++;
        failures++;
        if (e == OTA_ERR_UNTRUSTED_ORIGIN) {
            LOG_E("%s", err);
            *out = refuse(a, "payload URL refused", e);
            return 1;
        }
        if (e == OTA_ERR_HTTP && status == 416) {
            /* the artifact ends before the manifest's payload_size: the
             * server holds something else than what it signed for */
            snprintf(pt, sizeof pt, "artifact shorter than the manifest's %u bytes (HTTP 416 "
                     "at byte %u)", m->payload_size, r->offset);
            LOG_W("download: %s", pt);
            *out = payload_failure(a, pt, OTA_ERR_UPDATE_PAYLOAD_SIZE);
            return 1;
        }
        if (!is_transient(e)) {
            *out = payload_failure(a, "payload refused while downloading", e);
            return 1;
        }
        if (deadline_hit) {
            /* slow retrieval: check in again (the offer may have changed or
             * been withdrawn), then continue from the byte reached */
            snprintf(pt, sizeof pt, "slow retrieval: attempt cut at its deadline (%.0fs, "
                     "min_rate_bps %.0f): %s", deadline, a->cfg->min_rate_bps, r->rate);
            LOG_W("download: %s (%u of %d)", pt, a->slow_attempts + 1,
                  a->cfg->max_download_attempts);
            if (++a->slow_attempts >= (unsigned)a->cfg->max_download_attempts) {
                *out = refuse(a, pt, OTA_ERR_NET);
                return 1;
            }
            report_progress(a, "downloading", pt);
            *out = AGENT_RETRY;
            return 1;
        }
        if (failures >= a->cfg->max_download_attempts) {
            LOG_W("download: %s; %d attempts in a row failed, checking in again", err,
                  failures);
            report_progress(a, "downloading", r->rate);
            *out = AGENT_RETRY;
            return 1;
        }
        {
            double d = agent_backoff_next(&a->backoff);
            LOG_W("download interrupted at byte %u of %u: %s; retrying in %.2fs", r->offset,
                  m->payload_size, err, d);
            agent_sleep(a, d);
            if (a->stop && a->stop(a->stop_ctx)) {
                *out = AGENT_IDLE;
                return 1;
            }
        }
    }
    a->slow_attempts = 0;
    agent_backoff_reset(&a->backoff);
    return 0;
}

/* Step 4: payload complete: the engine verifies it and the image it makes,
 * then marks the slot pending for a trial boot. */
static enum agent_outcome offer_install(struct agent *a, struct offer_run *r)
{
    const struct ota_manifest *m = r->m;
    char detail[160];
    ota_err e;
    LOG_I("payload complete (%u bytes; last attempt %s): verifying and installing",
          m->payload_size, r->rate);
    snprintf(detail, sizeof detail, "downloaded %s", r->rate);
    report_progress(a, "installing", detail);
    e = a->be.finish(a->be.ctx, &a->diag);
    if (e) {
        if (is_power_loss(e))
            return AGENT_POWER_LOST;
        if (e == OTA_ERR_UPDATE_PAYLOAD_HASH || e == OTA_ERR_UPDATE_PAYLOAD_SIZE ||
            (e >= OTA_ERR_DELTA_BAD_MAGIC && e <= OTA_ERR_DELTA_TRUNCATED))
            return payload_failure(a, "payload did not verify", e);
        /* the right image was written but the slot reads back differently
         * (worn flash): erase and write it again, a bounded number of times */
        if (e == OTA_ERR_FLASH_VERIFY)
            return payload_failure(a, "slot did not read back as written", e);
        if (is_transient(e))
            return AGENT_RETRY;
        /* the payload matched the signed manifest, the image itself is bad */
        return refuse(a, "image refused after download", e);
    }
    a->st.phase = AGENT_PHASE_INSTALLED;
    a->st.has_progress = 0;
    save_state(a);
    LOG_I("installed %s: verified and pending; rebooting into a trial boot", r->ver);
    report_progress(a, "installed-rebooting", r->ver);
    return AGENT_REBOOT;
}

/* An offer, from the signed manifest to a slot pending its trial boot. */
static enum agent_outcome do_update(struct agent *a, const struct agent_offer *offer)
{
    struct offer_run r;
    enum agent_outcome o;
    memset(&r, 0, sizeof r);
    r.offer = offer;
    if (offer_begin(a, &r, &o))
        return o;
    offer_record(a, &r);
    if (offer_download(a, &r, &o))
        return o;
    return offer_install(a, &r);
}

/* No configured token: use the one enrollment gave us, or enroll now. */
static int ensure_token(struct agent *a, const struct agent_device_info *dev)
{
    char err[512];
    ota_err e;
    if (a->cfg->token[0])
        return 0;
    if (!a->st.device_token[0]) {
        e = agent_api_enroll(a->http, a->cfg, dev->hw_id, a->st.device_token,
                             sizeof a->st.device_token, err, sizeof err);
        if (e) {
            int st = agent_http_last_status(a->http);
            /* enrollment: 403 = the fleet token is for other hardware, 409 =
             * the id is registered (the device needs its own token) */
            a->fault = st == 403 ? AGENT_FAULT_HW_MISMATCH
                     : st == 409 ? AGENT_FAULT_UNAUTHORIZED : checkin_fault(e, st);
            a->st.device_token[0] = 0;
            if (e == OTA_ERR_CONFIG)
                LOG_E("%s (check enrollment_token; an already registered device needs its "
                      "token in 'token')", err);
            else
                LOG_W("%s", err);
            return -1;
        }
        save_state(a);
        LOG_I("enrolled as %s (hardware %s); device token kept in %s", a->cfg->device_id,
              dev->hw_id, a->cfg->state_file);
    }
    snprintf(a->cfg->token, sizeof a->cfg->token, "%s", a->st.device_token);
    agent_http_set_token(a->http, a->cfg->token);
    return 0;
}

/* "Nothing to do", signed with a fresh offer sequence: once it verifies
 * (a trusted server key, this device), no offer signed before it is
 * accepted any more -- an unaccepted offer of a campaign aborted since
 * cannot be replayed later (docs/manifest.md). The floor never goes down;
 * a statement that does not verify changes nothing. */
static void take_no_offer(struct agent *a, const struct agent_offer *offer)
{
    struct ota_manifest_policy pol;
    struct ota_no_offer no;
    struct ota_diag d;
    char dt[160];
    ota_err e;
    memset(&pol, 0, sizeof pol);
    memset(&d, 0, sizeof d);
    pol.crypto = ota_crypto_openssl();
    pol.server_keys = a->cfg->server_keys;
    pol.n_server_keys = (size_t)a->cfg->n_server_keys;
    pol.device_id = a->cfg->device_id;
    e = ota_no_offer_verify(offer->no_offer, offer->no_offer_len, &pol, &no, &d);
    if (e) {
        diag_text(&d, dt, sizeof dt);
        LOG_W("no-offer statement ignored: %s%s", ota_errname(e), dt);
        return;
    }
    if (no.offer_seq <= a->st.offer_seq)
        return;
    a->st.offer_seq = no.offer_seq;
    save_state(a);
    LOG_D("no-offer statement: offers before sequence %llu are void",
          (unsigned long long)no.offer_seq);
}

enum agent_outcome agent_step(struct agent *a)
{
    struct agent_device_info dev;
    struct agent_offer offer;
    char err[512], ver[32];
    ota_err e;

    a->fault = AGENT_FAULT_NONE;
    e = a->be.describe(a->be.ctx, &dev);
    if (e) {
        LOG_E("cannot read the device state: %s", ota_strerror(e));
        return is_power_loss(e) ? AGENT_POWER_LOST : AGENT_RETRY;
    }
    if (ensure_token(a, &dev) < 0)
        return AGENT_RETRY;
    /* INSTALLED, or the power went between the engine's durable pending
     * mark and our own record of it: on trial of the image we downloaded */
    if (a->st.phase == AGENT_PHASE_INSTALLED ||
        (a->st.phase == AGENT_PHASE_DOWNLOADING && dev.trial &&
         memcmp(dev.digest, a->st.target_digest, OTA_SHA256_LEN) == 0)) {
        enum agent_outcome o = handle_installed(a, &dev);
        if (o != AGENT_IDLE)
            return o;
        e = a->be.describe(a->be.ctx, &dev);
        if (e)
            return is_power_loss(e) ? AGENT_POWER_LOST : AGENT_RETRY;
    } else if (dev.trial) {
        /* On trial without our own record (installed by other means):
         * still test before confirming. */
        int rc = a->selftest ? a->selftest(a->selftest_ctx, &dev) : 0;
        if (rc != 0) {
            LOG_E("trial boot: self-test FAILED (status %d): not confirming", rc);
            return AGENT_TRIAL_FAILED;
        }
        e = a->be.confirm(a->be.ctx, &a->diag);
        if (e)
            return is_power_loss(e) ? AGENT_POWER_LOST : AGENT_RETRY;
        LOG_I("trial boot: self-test passed, confirmed");
    }
    if (flush_final(a) < 0)
        return AGENT_RETRY;

    a->checkins++;
    e = agent_api_checkin(a->http, a->cfg, &dev, a->st.last_result, &offer, err, sizeof err);
    if (e) {
        a->fault = checkin_fault(e, agent_http_last_status(a->http));
        LOG_W("check-in failed: %s", err);
        if (e == OTA_ERR_PIN_MISMATCH)
            LOG_E("the server's public key does not match pinned_key: refusing to talk to it");
        return AGENT_RETRY;
    }
    a->fault = AGENT_FAULT_NONE;
    agent_backoff_reset(&a->backoff);
    if (!a->cfg->poll_interval_set && offer.poll_interval >= 1 && offer.poll_interval <= 86400 &&
        offer.poll_interval != a->poll) {
        a->poll = offer.poll_interval;
        LOG_I("check-in interval: %.0fs (suggested by the server)", a->poll);
    }
    if (!offer.update) {
        if (offer.no_offer_len)
            take_no_offer(a, &offer);
        ota_image_version_str(&dev.version, ver, sizeof ver);
        LOG_D("check-in: nothing to do (running %s, slot %c)", ver,
              dev.running_slot >= 0 ? 'A' + dev.running_slot : '-');
        agent_health_tick(a, &dev);
        return AGENT_IDLE;
    }
    return do_update(a, &offer);
}

enum agent_outcome agent_run(struct agent *a, int once)
{
    for (;;) {
        enum agent_outcome o = agent_step(a);
        if (a->stop && a->stop(a->stop_ctx))
            return o;
        switch (o) {
        case AGENT_IDLE:
            if (once)
                return o;
            agent_sleep(a, agent_jitter(&a->backoff,
                                        a->poll > 0 ? a->poll : a->cfg->poll_interval));
            break;
        case AGENT_RETRY: {
            double d;
            if (once && a->fault != AGENT_FAULT_NONE)
                return AGENT_FAULT; /* one check-in, and it failed */
            d = agent_backoff_next(&a->backoff);
            LOG_D("retrying in %.2fs", d);
            agent_sleep(a, d);
            break;
        }
        default:
            if (o == AGENT_REBOOT || o == AGENT_TRIAL_FAILED)
                agent_health_before_reboot(a);
            return o;
        }
        if (a->stop && a->stop(a->stop_ctx))
            return AGENT_IDLE;
    }
}
