// SPDX-License-Identifier: Apache-2.0
/*
 * backend_smp.c - the agent's device backend for an MCU behind this gateway
 * (backend = smp, docs/smp.md "Gateway"): the MCU speaks SMP on a serial
 * port (a tty, or QEMU's chardev on a unix/TCP socket) through the SMP
 * client shared with `ota smp` (src/host/smp_client.c).
 *
 *   describe   image state read (group 1): the running slot, its version and
 *              hash; trial = running but not confirmed
 *   begin      the server's manifest checked here (signature, device, hw id,
 *              freshness: the MCU keeps no offer sequence), then offered to
 *              the MCU (group 64 `offer`), which verifies it before any byte
 *   write      the payload is spooled to STATE_FILE.smp-payload: the download
 *              (HTTP, resumable) and the upload (SMP) are separate legs
 *   finish     the spool is checked against the manifest, then streamed with
 *              group 64 `payload`, resuming at the `off` the MCU answers; the
 *              MCU's resume record (group 64 `checkpoint`) is kept in
 *              STATE_FILE.smp, so a reset or power loss of the MCU -- or a
 *              restart of the gateway -- continues where the MCU's flash is
 *   confirm    image state write confirm (the gateway confirms after the
 *              agent's self-test hook: the *-smp apps leave it to the client)
 *
 * The server knows images by the SHA-256 of the whole file; SMP lists the
 * image's SHA-256 TLV. The gateway learns the pair when it installs an image
 * (STATE_FILE.smp) and reports the file digest for an image it knows; for
 * one it never installed it reports the version only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "ota/image_build.h"
#include "ota/host.h"
#include "smp_client.h"

#define KNOWN_MAX 8

struct agent_smp_backend {
    const struct agent_config *cfg;
    struct smp_link l;
    int connected;
    char state_path[AGENT_STR + 8];
    char spool_path[AGENT_STR + 16];
    /* persisted in STATE_FILE.smp */
    uint8_t rec_payload[OTA_SHA256_LEN]; /* the payload the MCU's record is for */
    uint8_t rec[SMPC_RESUME_LEN];
    int has_rec;
    struct { uint8_t hash[OTA_SHA256_LEN], digest[OTA_SHA256_LEN]; } known[KNOWN_MAX];
    int n_known;
    /* the offer in progress */
    struct ota_manifest m;
    uint8_t manifest[OTA_MANIFEST_MAX_LEN];
    size_t manifest_len;
    FILE *spool;
    uint32_t spooled;
    ota_sha256_ctx spool_sha; /* SHA-256 of the spooled bytes so far */
    char rsn[sizeof((struct smp_link *)0)->err + 8]; /* the MCU's refusal, for the diag */
};

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* ---- STATE_FILE.smp: the MCU's resume record and the learned digests ------ */

static void gw_save(struct agent_smp_backend *b)
{
    json_t *o = json_object(), *arr = json_array();
    char *txt;
    int i;
    ota_err e;

    if (b->has_rec) {
        agent_json_put_hex(o, "resume_payload", b->rec_payload, OTA_SHA256_LEN);
        agent_json_put_hex(o, "resume", b->rec, SMPC_RESUME_LEN);
    }
    for (i = 0; i < b->n_known; i++) {
        json_t *k = json_object();
        agent_json_put_hex(k, "hash", b->known[i].hash, OTA_SHA256_LEN);
        agent_json_put_hex(k, "digest", b->known[i].digest, OTA_SHA256_LEN);
        json_array_append_new(arr, k);
    }
    json_object_set_new(o, "known", arr);
    txt = json_dumps(o, JSON_INDENT(1));
    json_decref(o);
    e = txt ? ota_file_write_atomic(b->state_path, txt, strlen(txt)) : OTA_ERR_NO_MEMORY;
    free(txt);
    if (e)
        LOG_E("cannot save the gateway state to %s: %s", b->state_path, ota_strerror(e));
}

static void gw_load(struct agent_smp_backend *b)
{
    json_t *o = json_load_file(b->state_path, 0, NULL), *arr;
    size_t i;

    if (!o)
        return;
    b->has_rec = agent_json_get_hex(o, "resume_payload", b->rec_payload, OTA_SHA256_LEN, NULL) == 0 &&
                 agent_json_get_hex(o, "resume", b->rec, SMPC_RESUME_LEN, NULL) == 0;
    arr = json_object_get(o, "known");
    for (i = 0; json_is_array(arr) && i < json_array_size(arr) && b->n_known < KNOWN_MAX; i++) {
        json_t *k = json_array_get(arr, i);
        if (agent_json_get_hex(k, "hash", b->known[b->n_known].hash, OTA_SHA256_LEN, NULL) == 0 &&
            agent_json_get_hex(k, "digest", b->known[b->n_known].digest, OTA_SHA256_LEN, NULL) == 0)
            b->n_known++;
    }
    json_decref(o);
}

/* Newest first; an image learned again moves to the front. */
static void learn(struct agent_smp_backend *b, const uint8_t hash[OTA_SHA256_LEN],
                  const uint8_t digest[OTA_SHA256_LEN])
{
    int i, n = b->n_known;
    for (i = 0; i < n; i++)
        if (memcmp(b->known[i].hash, hash, OTA_SHA256_LEN) == 0)
            break;
    if (i == n)
        i = n < KNOWN_MAX ? n++ : KNOWN_MAX - 1;
    memmove(&b->known[1], &b->known[0], (size_t)i * sizeof b->known[0]);
    memcpy(b->known[0].hash, hash, OTA_SHA256_LEN);
    memcpy(b->known[0].digest, digest, OTA_SHA256_LEN);
    b->n_known = n;
}

/* ---- the link ------------------------------------------------------------- */

static void drop(struct agent_smp_backend *b)
{
    if (b->connected)
        smp_link_close(&b->l);
    b->connected = 0;
}

static int link_up(struct agent_smp_backend *b)
{
    if (b->connected)
        return 0;
    if (smp_link_open(&b->l, b->cfg->smp.serial, b->cfg->smp.baud) != 0) {
        LOG_D("SMP: %s", b->l.err);
        return -1;
    }
    b->l.ver = 1;
    b->l.timeout_ms = (int)(b->cfg->smp.timeout * 1000);
    b->l.retries = 2;
    b->connected = 1;
    return 0;
}

/* smpc_* return value -> ota_err: the ota group answers with ota_err numbers. */
static ota_err mcu_err(struct agent_smp_backend *b, int rc, struct ota_diag *d)
{
    if (rc == 0)
        return OTA_OK;
    if (rc < 0) {
        LOG_W("SMP %s: %s", b->cfg->smp.serial, b->l.err);
        drop(b);
        return OTA_ERR_IO;
    }
    snprintf(b->rsn, sizeof b->rsn, "MCU: %s", b->l.err);
    if (d) {
        memset(d, 0, sizeof *d);
        d->field = b->rsn;
    }
    if (b->l.rc_group == 64 && b->l.rc > 0 && b->l.rc < 1000)
        return (ota_err)b->l.rc;
    LOG_W("SMP: the MCU refused: %s", b->l.err);
    return OTA_ERR_PROTOCOL;
}

ota_err agent_smp_backend_new(const struct agent_config *cfg, struct agent_smp_backend **out)
{
    struct agent_smp_backend *b = calloc(1, sizeof *b);

    *out = NULL;
    if (!b)
        return OTA_ERR_NO_MEMORY;
    b->cfg = cfg;
    b->l.fd = -1;
    if ((size_t)snprintf(b->state_path, sizeof b->state_path, "%s.smp", cfg->state_file) >=
            sizeof b->state_path ||
        (size_t)snprintf(b->spool_path, sizeof b->spool_path, "%s.smp-payload",
                         cfg->state_file) >= sizeof b->spool_path) {
        free(b);
        return OTA_ERR_CONFIG;
    }
    gw_load(b);
    *out = b;
    return OTA_OK;
}

void agent_smp_backend_free(struct agent_smp_backend *b)
{
    if (!b)
        return;
    drop(b);
    if (b->spool)
        fclose(b->spool);
    free(b);
}

static int any_pending(const struct smpc_slot *slots, size_t n)
{
    int pending = 0;
    for (size_t i = 0; i < n; i++)
        pending |= slots[i].pending;
    return pending;
}

/* Wait until the MCU answers a state read (after a reset, a power-on):
 * OTA_OK, or OTA_ERR_IO after smp_boot_timeout. */
static ota_err wait_answer(struct agent_smp_backend *b, struct smpc_slot *slots, size_t *n,
                           int no_pending)
{
    double deadline = agent_monotonic() + b->cfg->smp.boot_timeout;
    int rc;

    do {
        if (agent_stop_requested(NULL))
            return OTA_ERR_IO;
        if (link_up(b) == 0) {
            int retries = b->l.retries;
            b->l.retries = 0;
            rc = smpc_state_read(&b->l, slots, 2, n);
            b->l.retries = retries;
            if (rc == 0) {
                if (!no_pending || !any_pending(slots, *n))
                    return OTA_OK;
            } else if (rc < 0) {
                drop(b); /* a socket that closed (QEMU gone): connect again */
            }
        }
        sleep_s(0.3);
    } while (agent_monotonic() < deadline);
    LOG_E("SMP %s: no answer from the MCU within smp_boot_timeout (%.0fs)%s",
          b->cfg->smp.serial, b->cfg->smp.boot_timeout,
          no_pending ? " with no slot pending" : "");
    return OTA_ERR_IO;
}

ota_err agent_smp_device_id(struct agent_smp_backend *b, char *id, size_t cap, char *err,
                            size_t errlen)
{
    struct smpc_slot slots[2];
    struct smpc_ota_status st;
    size_t n;
    int rc;

    if (wait_answer(b, slots, &n, 0) != OTA_OK) {
        snprintf(err, errlen, "SMP %s: the MCU does not answer (%s)", b->cfg->smp.serial,
                 b->l.err[0] ? b->l.err : "cannot connect");
        return OTA_ERR_IO;
    }
    rc = smpc_ota_status(&b->l, &st);
    if (rc || !st.device_id[0]) {
        snprintf(err, errlen, "SMP %s: ota group status: %s", b->cfg->smp.serial,
                 rc ? b->l.err : "no device id (the MCU's identity block is missing)");
        return rc < 0 ? OTA_ERR_IO : OTA_ERR_PROTOCOL;
    }
    snprintf(id, cap, "%s", st.device_id);
    return OTA_OK;
}

int agent_smp_pending(struct agent_smp_backend *b)
{
    struct smpc_slot slots[2];
    size_t n;

    if (link_up(b) != 0 || smpc_state_read(&b->l, slots, 2, &n) != 0) {
        drop(b);
        return -1;
    }
    return any_pending(slots, n);
}

ota_err agent_smp_reset_and_wait(struct agent_smp_backend *b)
{
    struct smpc_slot slots[2];
    size_t n;
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        int rc = link_up(b) == 0 ? smpc_reset(&b->l) : -1;
        if (rc < 0)
            drop(b); /* the answer may be lost in the reset itself */
        LOG_I("SMP: MCU reset%s; waiting for it to boot", rc == 0 ? "" : " (no answer)");
        sleep_s(0.5);
        if (wait_answer(b, slots, &n, 1) == OTA_OK)
            return OTA_OK;
    }
    return OTA_ERR_IO;
}

/* ---- the backend ---------------------------------------------------------- */

/* "1.2.3" or "1.2.3.4" (SMP's form) */
static int parse_smp_version(const char *s, struct ota_image_version *v)
{
    char buf[40];
    char *p;
    int dots = 0;
    snprintf(buf, sizeof buf, "%s", s);
    for (p = buf; *p; p++)
        if (*p == '.' && ++dots == 3)
            *p = '+';
    return ota_image_version_parse(buf, v) == OTA_OK ? 0 : -1;
}

static ota_err smp_describe(void *ctx, struct agent_device_info *out)
{
    struct agent_smp_backend *b = ctx;
    struct smpc_slot slots[2];
    size_t n, i;
    int rc, k;

    memset(out, 0, sizeof *out);
    out->running_slot = -1;
    memcpy(out->hw_id, b->cfg->lx.hw_id_raw, (size_t)b->cfg->lx.hw_id_len); /* as linux */
    if (link_up(b) != 0)
        return OTA_ERR_IO;
    rc = smpc_state_read(&b->l, slots, 2, &n);
    if (rc)
        return mcu_err(b, rc, NULL);
    for (i = 0; i < n && !slots[i].active; i++)
        ;
    if (i == n) {
        snprintf(out->slot_state, sizeof out->slot_state, "recovery");
        return OTA_OK;
    }
    if (parse_smp_version(slots[i].version, &out->version) != 0) {
        LOG_W("SMP: the running image's version '%s' does not parse", slots[i].version);
        return OTA_ERR_PROTOCOL;
    }
    out->running_slot = (int)slots[i].slot;
    out->trial = !slots[i].confirmed;
    snprintf(out->slot_state, sizeof out->slot_state, "%s", out->trial ? "trial" : "confirmed");
    for (k = 0; k < b->n_known; k++)
        if (slots[i].hash_len == OTA_SHA256_LEN &&
            memcmp(b->known[k].hash, slots[i].hash, OTA_SHA256_LEN) == 0)
            memcpy(out->digest, b->known[k].digest, OTA_SHA256_LEN);
    return OTA_OK;
}

/* The spool holds a valid prefix of this payload when its first p->offset
 * bytes hash to p->prefix_digest. Leaves b->spool_sha hashing the prefix
 * kept (carried on by smp_write, read by smp_checkpoint). */
static uint32_t spool_resume(struct agent_smp_backend *b, const struct ota_update_progress *p)
{
    const struct ota_crypto *c = ota_crypto_openssl();
    uint8_t *data = NULL, dg[OTA_SHA256_LEN];
    size_t len = 0;
    uint32_t at = 0;
    ota_sha256_ctx t;

    c->sha256_init(&b->spool_sha);
    if (!p || memcmp(p->payload_digest, b->m.payload_digest, OTA_SHA256_LEN) != 0 ||
        p->offset > b->m.payload_size)
        return 0;
    if (ota_file_read(b->spool_path, &data, &len) == OTA_OK && len >= p->offset &&
        c->sha256_update(&b->spool_sha, data, p->offset) == OTA_OK &&
        (t = b->spool_sha, c->sha256_final(&t, dg)) == OTA_OK &&
        memcmp(dg, p->prefix_digest, OTA_SHA256_LEN) == 0)
        at = p->offset;
    else
        c->sha256_init(&b->spool_sha);
    free(data);
    return at;
}

static uint64_t wall_clock_now(void)
{
    return (uint64_t)time(NULL);
}

static ota_err smp_begin(void *ctx, const uint8_t *manifest, size_t len, uint64_t min_offer_seq,
                         const struct ota_update_payload_at *payload_at,
                         const struct ota_update_progress *resume, uint32_t *offset,
                         const struct ota_manifest **m, struct ota_diag *d)
{
    struct agent_smp_backend *b = ctx;
    struct ota_manifest_policy pol;
    uint64_t off = 0, size = 0;
    int rc;
    ota_err e;

    (void)payload_at; /* the MCU decrypts nothing the gateway could help with */
    memset(&pol, 0, sizeof pol);
    pol.crypto = ota_crypto_openssl();
    pol.server_keys = b->cfg->server_keys;
    pol.n_server_keys = (size_t)b->cfg->n_server_keys;
    pol.device_id = b->cfg->device_id;
    pol.hw_id = b->cfg->lx.hw_id_len ? b->cfg->lx.hw_id_raw : NULL;
    pol.hw_id_len = (size_t)b->cfg->lx.hw_id_len;
    pol.now = wall_clock_now();
    pol.min_offer_seq = min_offer_seq; /* replay protection rests on the gateway */
    e = ota_manifest_verify(manifest, len, &pol, &b->m, d);
    if (e)
        return e;
    memcpy(b->manifest, manifest, len);
    b->manifest_len = len;
    if (b->has_rec && memcmp(b->rec_payload, b->m.payload_digest, OTA_SHA256_LEN) != 0)
        b->has_rec = 0; /* a record for another payload */
    if (link_up(b) != 0)
        return OTA_ERR_IO;
    rc = smpc_ota_offer(&b->l, manifest, len, b->has_rec ? b->rec : NULL, &off, &size);
    if (rc)
        return mcu_err(b, rc, d);
    if (size != b->m.payload_size) {
        LOG_E("SMP: the MCU took the offer with a payload of %llu bytes, the manifest says %u",
              (unsigned long long)size, b->m.payload_size);
        return OTA_ERR_PROTOCOL;
    }
    LOG_I("SMP: the MCU accepted the offer (its payload offset %llu of %llu)",
          (unsigned long long)off, (unsigned long long)size);
    if (b->spool)
        fclose(b->spool);
    b->spooled = spool_resume(b, resume);
    if (truncate(b->spool_path, b->spooled) != 0 && errno != ENOENT) {
        LOG_E("%s: %s", b->spool_path, strerror(errno));
        return OTA_ERR_FILE;
    }
    b->spool = fopen(b->spool_path, "ab");
    if (!b->spool) {
        LOG_E("%s: %s", b->spool_path, strerror(errno));
        return OTA_ERR_FILE;
    }
    *offset = b->spooled;
    *m = &b->m;
    return OTA_OK;
}

static ota_err smp_write(void *ctx, const void *data, size_t len)
{
    struct agent_smp_backend *b = ctx;

    if (!b->spool)
        return OTA_ERR_UPDATE_STATE;
    if ((uint64_t)b->spooled + len > b->m.payload_size)
        return OTA_ERR_UPDATE_PAYLOAD_SIZE;
    if (fwrite(data, 1, len, b->spool) != len) {
        LOG_E("%s: %s", b->spool_path, strerror(errno));
        return OTA_ERR_FILE;
    }
    b->spooled += (uint32_t)len;
    return ota_crypto_openssl()->sha256_update(&b->spool_sha, data, len);
}

static ota_err smp_checkpoint(void *ctx, struct ota_update_progress *p)
{
    struct agent_smp_backend *b = ctx;

    if (!b->spool)
        return OTA_ERR_UPDATE_STATE;
    if (fflush(b->spool) != 0 || fsync(fileno(b->spool)) != 0)
        return OTA_ERR_FILE;
    memset(p, 0, sizeof *p);
    memcpy(p->payload_digest, b->m.payload_digest, OTA_SHA256_LEN);
    p->offset = b->spooled;
    /* the running hash of what was written: no re-read of the spool */
    ota_sha256_ctx t = b->spool_sha;
    return ota_crypto_openssl()->sha256_final(&t, p->prefix_digest);
}

/* Keep the MCU's resume record (STATE_FILE.smp). */
static void device_checkpoint(struct agent_smp_backend *b)
{
    uint8_t rec[SMPC_RESUME_LEN];
    if (smpc_ota_checkpoint(&b->l, rec) != 0) {
        LOG_D("SMP: no checkpoint from the MCU: %s", b->l.err);
        return;
    }
    memcpy(b->rec, rec, sizeof rec);
    memcpy(b->rec_payload, b->m.payload_digest, OTA_SHA256_LEN);
    b->has_rec = 1;
    gw_save(b);
}

/* (Re)connect and offer again: the MCU answers where it is (its session, or
 * the prefix our resume record proves in its flash). */
static ota_err reoffer(struct agent_smp_backend *b, uint64_t *off, struct ota_diag *d)
{
    double deadline = agent_monotonic() + b->cfg->smp.boot_timeout;
    uint64_t size;

    for (;;) {
        int rc = link_up(b) == 0 ? smpc_ota_offer(&b->l, b->manifest, b->manifest_len,
                                                  b->has_rec ? b->rec : NULL, off, &size)
                                 : -1;
        if (rc > 0)
            return mcu_err(b, rc, d);
        if (rc == 0)
            return OTA_OK;
        drop(b);
        if (agent_monotonic() >= deadline || agent_stop_requested(NULL))
            return OTA_ERR_IO;
        sleep_s(0.3);
    }
}

/* Stream the payload to the MCU, resuming at its offset after any loss. */
static ota_err upload(struct agent_smp_backend *b, const uint8_t *pay, uint32_t size,
                      struct ota_diag *d)
{
    uint32_t chunk = smpc_chunk(&b->l, b->cfg->smp.chunk), since = 0;
    uint64_t off = 0, start;
    double t0 = agent_monotonic(), dt;
    unsigned resumes = 0;
    int pending = 0;
    ota_err e = reoffer(b, &off, d);

    if (e)
        return e;
    start = off;
    LOG_I("SMP upload: %u payload bytes, %u per request, %s at the MCU's offset %llu", size,
          chunk, off ? "RESUMING" : "starting", (unsigned long long)off);
    while (!pending) {
        uint32_t n = size - off < chunk ? (uint32_t)(size - off) : chunk;
        uint64_t next = 0;
        int rc = off < size ? smpc_ota_payload(&b->l, off, pay + off, n, &next, &pending) : 1;

        if (rc == 0 && next <= size) {
            since += (uint32_t)(next > off ? next - off : 0);
            off = next;
            if (since >= b->cfg->smp.checkpoint_every && !pending) {
                since = 0;
                device_checkpoint(b);
            }
            continue;
        }
        if (rc > 0 && !(b->l.rc_group == 64 && b->l.rc == OTA_ERR_UPDATE_STATE) && off < size)
            return mcu_err(b, rc, d); /* refused: the image, the payload */
        /* the link broke, or the MCU lost its session (reset, power): offer again */
        if (rc < 0)
            LOG_W("SMP upload interrupted at byte %llu of %u: %s", (unsigned long long)off,
                  size, b->l.err);
        else
            LOG_W("SMP upload: the MCU has no session at byte %llu (%s)",
                  (unsigned long long)off, off < size ? b->l.err : "payload sent, not pending");
        drop(b);
        e = reoffer(b, &off, d);
        if (e)
            return e;
        resumes++;
        LOG_I("SMP upload RESUMED at byte %llu of %u (the MCU's offset)",
              (unsigned long long)off, size);
    }
    dt = agent_monotonic() - t0;
    LOG_I("SMP upload complete: %llu payload bytes sent in %.2fs: %.0f B/s (%u resume%s); "
          "target verified and pending on the MCU", (unsigned long long)(size - start), dt,
          dt > 0 ? (double)(size - start) / dt : 0.0, resumes, resumes == 1 ? "" : "s");
    return OTA_OK;
}

static ota_err smp_finish(void *ctx, struct ota_diag *d)
{
    struct agent_smp_backend *b = ctx;
    struct smpc_slot slots[2];
    uint8_t *pay = NULL, dg[OTA_SHA256_LEN];
    size_t len = 0, n, i;
    ota_err e;

    if (!b->spool)
        return OTA_ERR_UPDATE_STATE;
    fclose(b->spool);
    b->spool = NULL;
    e = ota_file_read(b->spool_path, &pay, &len);
    if (e)
        return OTA_ERR_FILE;
    if (len != b->m.payload_size ||
        ota_sha256(ota_crypto_openssl(), pay, len, dg) != OTA_OK ||
        memcmp(dg, b->m.payload_digest, OTA_SHA256_LEN) != 0) {
        free(pay);
        remove(b->spool_path);
        return len != b->m.payload_size ? OTA_ERR_UPDATE_PAYLOAD_SIZE
                                        : OTA_ERR_UPDATE_PAYLOAD_HASH;
    }
    e = upload(b, pay, (uint32_t)len, d);
    free(pay);
    if (e) {
        /* the spool stays for the next attempt */
        b->spool = fopen(b->spool_path, "ab");
        return e;
    }
    /* learn the target's SMP hash: what describe() will see after the reset */
    if (smpc_state_read(&b->l, slots, 2, &n) == 0)
        for (i = 0; i < n; i++)
            if (slots[i].pending && slots[i].hash_len == OTA_SHA256_LEN)
                learn(b, slots[i].hash, b->m.target_digest);
    b->has_rec = 0;
    gw_save(b);
    remove(b->spool_path);
    return OTA_OK;
}

static ota_err smp_confirm(void *ctx, struct ota_diag *d)
{
    struct agent_smp_backend *b = ctx;
    cbor_item_t *rsp;
    int rc;

    if (link_up(b) != 0)
        return OTA_ERR_IO;
    rc = smpc_state_write(&b->l, NULL, 1, &rsp);
    if (rc == 0)
        cbor_decref(&rsp);
    return mcu_err(b, rc, d);
}

void agent_smp_backend_bind(struct agent_smp_backend *b, struct agent_backend *out)
{
    memset(out, 0, sizeof *out);
    out->ctx = b;
    out->describe = smp_describe;
    out->begin = smp_begin;
    out->write = smp_write;
    out->checkpoint = smp_checkpoint;
    out->finish = smp_finish;
    out->confirm = smp_confirm;
}
