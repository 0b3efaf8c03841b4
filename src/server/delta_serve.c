/*
 * delta_serve.c - choose between a full image and a delta for one device:
 * a delta is offered only when the device's current image is a known
 * release for the same hardware and the patch is smaller than the full
 * image. Each (base, target) pair is generated once (ota_delta_create),
 * stored content-addressed like any artifact, and remembered in the store
 * (including "no smaller delta", so it is never retried).
 */
#include <stdlib.h>
#include <string.h>

#include "artifact.h"
#include "log.h"
#ifdef OTA_SERVER_HAVE_DELTA
#include "ota/delta.h"
#endif

#ifdef OTA_SERVER_HAVE_DELTA
static int generate(struct server *s, const struct srv_release *base,
                    const struct srv_release *target, uint8_t payload[OTA_SHA256_LEN],
                    uint64_t *size)
{
    uint8_t *old = NULL, *new_ = NULL, *patch = NULL;
    size_t old_len = 0, new_len = 0, patch_len = 0;
    int ok = 0;
    ota_err e = artifact_read(s, base->digest, &old, &old_len);
    if (e == OTA_OK)
        e = artifact_read(s, target->digest, &new_, &new_len);
    if (e == OTA_OK)
        e = ota_delta_create(old, old_len, new_, new_len, &patch, &patch_len, NULL);
    if (e != OTA_OK) {
        log_msg(LOG_WARN, "delta_failed", "base=%lld target=%lld err=%s",
                (long long)base->id, (long long)target->id, ota_errname(e));
        /* Not cached: a transient failure (missing file, memory) may heal. */
        goto out;
    }
    atomic_fetch_add_explicit(&s->metrics.deltas_generated, 1, memory_order_relaxed);
    if (patch_len >= new_len) {
        memset(payload, 0, OTA_SHA256_LEN);
        s->store->ops->delta_put(s->store, base->digest, target->digest, payload, 0);
        log_msg(LOG_INFO, "delta_not_smaller", "base=%lld target=%lld patch=%zu full=%zu",
                (long long)base->id, (long long)target->id, patch_len, new_len);
        goto out;
    }
    ota_sha256(ota_crypto_openssl(), patch, patch_len, payload);
    if (artifact_put(s, patch, patch_len, payload) != OTA_OK ||
        s->store->ops->delta_put(s->store, base->digest, target->digest, payload,
                                 patch_len) != STORE_OK)
        goto out;
    *size = patch_len;
    ok = 1;
    log_msg(LOG_INFO, "delta_generated", "base=%lld target=%lld patch=%zu full=%zu",
            (long long)base->id, (long long)target->id, patch_len, new_len);
out:
    free(old);
    free(new_);
    free(patch);
    return ok;
}
#endif

int delta_for(struct server *s, const struct srv_release *target,
              const uint8_t base_digest[OTA_SHA256_LEN], uint8_t payload[OTA_SHA256_LEN],
              uint64_t *size)
{
#ifdef OTA_SERVER_HAVE_DELTA
    struct srv_release base;
    struct store *st = s->store;
    enum store_rc rc;
    if (!s->delta_enabled || memcmp(base_digest, target->digest, OTA_SHA256_LEN) == 0)
        return 0;
    if (st->ops->release_by_digest(st, base_digest, &base) != STORE_OK ||
        strcmp(base.hw_id, target->hw_id) != 0)
        return 0;
    rc = st->ops->delta_get(st, base_digest, target->digest, payload, size);
    if (rc == STORE_OK)
        return *size > 0 && *size < target->size && artifact_exists(s, payload);
    if (rc != STORE_NOT_FOUND)
        return 0;
    /* Generate once: later callers for the same pair find it cached. */
    pthread_mutex_lock(&s->delta_lock);
    rc = st->ops->delta_get(st, base_digest, target->digest, payload, size);
    int ok;
    if (rc == STORE_OK)
        ok = *size > 0 && *size < target->size && artifact_exists(s, payload);
    else
        ok = generate(s, &base, target, payload, size);
    pthread_mutex_unlock(&s->delta_lock);
    return ok;
#else
    (void)s;
    (void)target;
    (void)base_digest;
    (void)payload;
    (void)size;
    return 0;
#endif
}
