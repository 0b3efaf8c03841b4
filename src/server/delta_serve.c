// SPDX-License-Identifier: Apache-2.0
/*
 * delta_serve.c - choose between a full image and a delta for one device:
 * a delta is offered only when the device's current image is a known
 * release for the same hardware and the patch is smaller than the full
 * image. Each (base, target) pair is generated once (ota_delta_create),
 * stored content-addressed like any artifact, and remembered in the store
 * (including "no smaller delta", so it is never retried).
 *
 * Generation never runs inside a check-in: a check-in that finds no cached
 * delta queues the pair for one background worker (a bounded queue, one
 * entry per pair, at most one queued pair per device a minute) and is told
 * to come back shortly; a full queue, a rate-limited device or a pair that
 * waits too long gets the full image instead.
 *
 * Devices say which patch versions their applier takes (the check-in's
 * "delta_features"): a device with "deflate" (ota-agent's Linux backend)
 * gets a patch made with ota_delta_create_ex(.deflate = 1) (version 2 or 3
 * when the images hold gzip/zlib/zip streams, docs/delta-format.md), every
 * other device a version 1 patch; a device with "model2" (this build's
 * ota-agent applying in-process) gets coder model 2, every other device
 * model 1, which every applier decodes. The feature set is part of the cache key:
 * the deltas table keeps (base, target) for version 1 and (key(base, set),
 * target) for a set, key = SHA-256(base || "ota-delta-features" || set), so
 * no schema change was needed and no device can be served another set's
 * patch.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "artifact.h"
#include "log.h"
#include "release_slot.h"
#ifdef OTA_SERVER_HAVE_DELTA
#include "ota/delta.h"
#endif

#ifdef OTA_SERVER_HAVE_DELTA
/* The deltas table's base column for this feature set (see the top). */
static void delta_key(const uint8_t base[OTA_SHA256_LEN], unsigned features,
                      uint8_t key[OTA_SHA256_LEN])
{
    if (!features) {
        memcpy(key, base, OTA_SHA256_LEN);
        return;
    }
    uint8_t in[OTA_SHA256_LEN + 19];
    memcpy(in, base, OTA_SHA256_LEN);
    memcpy(in + OTA_SHA256_LEN, "ota-delta-features", 18);
    in[OTA_SHA256_LEN + 18] = (uint8_t)features;
    ota_sha256(ota_crypto_openssl(), in, sizeof in, key);
}

static int generate(struct server *s, const struct srv_release *base,
                    const struct srv_release *target, unsigned features,
                    uint8_t payload[OTA_SHA256_LEN], uint64_t *size)
{
    uint8_t key[OTA_SHA256_LEN];
    delta_key(base->digest, features, key);
    struct ota_delta_create_opts opts = {
        .deflate = (features & SRV_DELTA_DEFLATE) != 0,
        .model = features & SRV_DELTA_MODEL2 ? OTA_DELTA_MODEL_2 : OTA_DELTA_MODEL_1};
    uint8_t *old = NULL, *new_ = NULL, *patch = NULL;
    size_t old_len = 0, new_len = 0, patch_len = 0;
    int ok = 0;
    ota_err e = artifact_read(s, base->digest, &old, &old_len);
    if (e == OTA_OK)
        e = artifact_read(s, target->digest, &new_, &new_len);
    if (e == OTA_OK)
        e = ota_delta_create_ex(old, old_len, new_, new_len, &opts, &patch, &patch_len, NULL);
    if (e != OTA_OK) {
        log_msg(LOG_WARN, "delta_failed", "base=%lld target=%lld err=%s",
                (long long)base->id, (long long)target->id, ota_errname(e));
        /* Not cached: a transient failure (missing file, memory) may heal. */
        goto out;
    }
    atomic_fetch_add_explicit(&s->metrics.deltas_generated, 1, memory_order_relaxed);
    if (patch_len >= new_len) {
        memset(payload, 0, OTA_SHA256_LEN);
        s->store->ops->delta_put(s->store, key, target->digest, payload, 0);
        log_msg(LOG_INFO, "delta_not_smaller", "base=%lld target=%lld patch=%zu full=%zu",
                (long long)base->id, (long long)target->id, patch_len, new_len);
        goto out;
    }
    ota_sha256(ota_crypto_openssl(), patch, patch_len, payload);
    if (artifact_put(s, patch, patch_len, payload) != OTA_OK ||
        s->store->ops->delta_put(s->store, key, target->digest, payload, patch_len) != STORE_OK)
        goto out;
    *size = patch_len;
    ok = 1;
    log_msg(LOG_INFO, "delta_generated", "base=%lld target=%lld features=%u version=%u patch=%zu full=%zu",
            (long long)base->id, (long long)target->id, features, patch[4], patch_len, new_len);
out:
    free(old);
    free(new_);
    free(patch);
    return ok;
}
#endif

#ifdef OTA_SERVER_HAVE_DELTA
#define DELTA_QUEUE_MAX 16       /* pairs waiting or being generated */
#define DELTA_DEVICE_INTERVAL_S 60 /* one queued pair per device per interval */
#define DELTA_DEVICE_SLOTS 1024

struct delta_job {
    struct srv_release base, target;
    unsigned features;
    int64_t queued_at;
};

struct device_slot {
    char id[SRV_ID_MAX + 1];
    int64_t at;
};

/* One server per process: the queue is this file's (lock: s->delta_lock). */
static struct {
    struct delta_job jobs[DELTA_QUEUE_MAX];
    int n;
    struct device_slot devices[DELTA_DEVICE_SLOTS];
    pthread_cond_t wake;
    pthread_t worker;
    int running, stop;
} q = {.wake = PTHREAD_COND_INITIALIZER};

static int64_t mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec;
}

static struct delta_job *find_job(const uint8_t base[OTA_SHA256_LEN],
                                  const uint8_t target[OTA_SHA256_LEN], unsigned features)
{
    for (int i = 0; i < q.n; i++)
        if (memcmp(q.jobs[i].base.digest, base, OTA_SHA256_LEN) == 0 && q.jobs[i].features == features &&
            memcmp(q.jobs[i].target.digest, target, OTA_SHA256_LEN) == 0)
            return &q.jobs[i];
    return NULL;
}

/* 1 if the device may queue a pair now (and counts it). */
static int device_may_queue(const char *id, int64_t now)
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    struct device_slot *sl = &q.devices[h % DELTA_DEVICE_SLOTS];
    if (strcmp(sl->id, id) == 0 && now - sl->at < DELTA_DEVICE_INTERVAL_S)
        return 0;
    snprintf(sl->id, sizeof(sl->id), "%s", id);
    sl->at = now;
    return 1;
}

static void *worker(void *arg)
{
    struct server *s = arg;
    pthread_mutex_lock(&s->delta_lock);
    for (;;) {
        while (!q.stop && q.n == 0)
            pthread_cond_wait(&q.wake, &s->delta_lock);
        if (q.stop)
            break;
        struct delta_job job = q.jobs[0]; /* jobs[0] stays queued while generated */
        pthread_mutex_unlock(&s->delta_lock);
        uint8_t payload[OTA_SHA256_LEN];
        uint64_t size = 0;
        generate(s, &job.base, &job.target, job.features, payload, &size);
        pthread_mutex_lock(&s->delta_lock);
        /* Done (cached in the store, or failed: a later check-in may queue
         * it again); the pair leaves the queue. */
        memmove(&q.jobs[0], &q.jobs[1], (size_t)(q.n - 1) * sizeof(q.jobs[0]));
        q.n--;
    }
    pthread_mutex_unlock(&s->delta_lock);
    return NULL;
}

void delta_queue_start(struct server *s)
{
    q.stop = 0;
    q.n = 0;
    if (pthread_create(&q.worker, NULL, worker, s) == 0)
        q.running = 1;
    else
        log_msg(LOG_ERROR, "delta_worker_failed", "deltas will not be generated");
}

void delta_queue_stop(struct server *s)
{
    if (!q.running)
        return;
    pthread_mutex_lock(&s->delta_lock);
    q.stop = 1;
    pthread_cond_signal(&q.wake);
    pthread_mutex_unlock(&s->delta_lock);
    pthread_join(q.worker, NULL); /* after the generation in progress, if any */
    q.running = 0;
}
#else
void delta_queue_start(struct server *s)
{
    (void)s;
}

void delta_queue_stop(struct server *s)
{
    (void)s;
}
#endif

enum delta_verdict delta_for(struct server *s, const struct srv_release *target,
                             const uint8_t base_digest[OTA_SHA256_LEN], const char *device_id,
                             unsigned features, uint8_t payload[OTA_SHA256_LEN], uint64_t *size)
{
#ifdef OTA_SERVER_HAVE_DELTA
    uint8_t key[OTA_SHA256_LEN];
    struct srv_release row, base;
    struct store *st = s->store;
    enum store_rc rc;
    if (!s->delta_enabled || memcmp(base_digest, target->digest, OTA_SHA256_LEN) == 0)
        return DELTA_FULL;
    if (st->ops->release_by_digest(st, base_digest, &row) != STORE_OK)
        return DELTA_FULL;
    /* Per-slot releases: the base is the build the device runs (linked for
     * its slot), the target the build picked for the other slot; the cache
     * and the queue are keyed by these two image digests, so A->B and B->A
     * pairs of the same releases are different deltas. */
    release_view_digest(&row, base_digest, &base);
    if (strcmp(base.hw_id, target->hw_id) != 0)
        return DELTA_FULL;
    features &= SRV_DELTA_DEFLATE | SRV_DELTA_MODEL2; /* the sets this server makes patches for */
    delta_key(base_digest, features, key);
    rc = st->ops->delta_get(st, key, target->digest, payload, size);
    /* the artifact files are read only on a cache miss (not per offer) */
    int encrypted = 0;
    if (rc == STORE_NOT_FOUND) {
        encrypted = artifact_encrypted(s, base_digest) || artifact_encrypted(s, target->digest);
        /* an encrypted pair's sealed delta (api_sealed_delta.c) is kept
         * under the plain key, whatever the device's features */
        if (encrypted && features)
            rc = st->ops->delta_get(st, base_digest, target->digest, payload, size);
    }
    if (rc == STORE_OK)
        return *size > 0 && *size < target->size && artifact_exists(s, payload) ? DELTA_READY
                                                                                : DELTA_FULL;
    /* ciphertext does not diff (and the device's slot holds plaintext): an
     * encrypted pair gets only the sealed delta an admin uploaded
     * (api_sealed_delta.c), found above; never one generated here */
    if (encrypted)
        return DELTA_FULL;
    if (rc != STORE_NOT_FOUND || !q.running)
        return DELTA_FULL;
    int64_t now = mono_s();
    enum delta_verdict v = DELTA_FULL;
    pthread_mutex_lock(&s->delta_lock);
    struct delta_job *j = find_job(base_digest, target->digest, features);
    if (j) {
        v = now - j->queued_at < s->delta_wait ? DELTA_PENDING : DELTA_FULL;
    } else if (q.n < DELTA_QUEUE_MAX && device_may_queue(device_id, now)) {
        j = &q.jobs[q.n++];
        memset(j, 0, sizeof(*j));
        j->base = base;
        j->target = *target;
        j->features = features;
        j->queued_at = now;
        pthread_cond_signal(&q.wake);
        v = DELTA_PENDING;
        log_msg(LOG_INFO, "delta_queued", "base=%lld target=%lld device=%s queued=%d",
                (long long)base.id, (long long)target->id, device_id, q.n);
    }
    pthread_mutex_unlock(&s->delta_lock);
    return v;
#else
    (void)s;
    (void)target;
    (void)base_digest;
    (void)device_id;
    (void)features;
    (void)payload;
    (void)size;
    return DELTA_FULL;
#endif
}
