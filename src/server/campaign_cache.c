/*
 * campaign_cache.c - see campaign_cache.h. Readers take a reference to an
 * immutable snapshot under a short mutex; a reload builds a new snapshot
 * outside the lock and swaps it in.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign_cache.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct campaign_snapshot *g_snap;
static int64_t g_loaded_ms;
static atomic_uint_fast64_t g_changes;
static uint_fast64_t g_loaded_changes;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct build {
    struct srv_campaign *v;
    int n, cap;
};

static void collect(void *ctx, const struct srv_campaign *c)
{
    struct build *b = ctx;
    if (b->n == b->cap) {
        int ncap = b->cap ? b->cap * 2 : 8;
        struct srv_campaign *nv = realloc(b->v, (size_t)ncap * sizeof(*nv));
        if (!nv)
            return;
        b->v = nv;
        b->cap = ncap;
    }
    b->v[b->n++] = *c;
}

static struct campaign_snapshot *load(struct server *s)
{
    struct build b = {0};
    struct campaign_snapshot *snap;
    if (s->store->ops->campaign_list(s->store, 1, collect, &b) != STORE_OK) {
        free(b.v);
        return NULL;
    }
    snap = calloc(1, sizeof(*snap) + (size_t)b.n * sizeof(snap->v[0]));
    if (!snap) {
        free(b.v);
        return NULL;
    }
    snap->refs = 1;
    for (int i = 0; i < b.n; i++) {
        /* A campaign whose release vanished cannot offer anything: skip. */
        if (s->store->ops->release_get(s->store, b.v[i].release_id,
                                       &snap->v[snap->n].rel) != STORE_OK)
            continue;
        snap->v[snap->n].c = b.v[i];
        snap->n++;
    }
    free(b.v);
    return snap;
}

struct campaign_snapshot *campaign_cache_get(struct server *s)
{
    struct campaign_snapshot *snap = NULL;
    int64_t now = mono_ms();
    uint_fast64_t changes = atomic_load(&g_changes);
    pthread_mutex_lock(&g_lock);
    if (g_snap && now - g_loaded_ms < 1000 && changes == g_loaded_changes) {
        snap = g_snap;
        snap->refs++;
    }
    pthread_mutex_unlock(&g_lock);
    if (snap)
        return snap;
    snap = load(s);
    if (!snap)
        return NULL;
    pthread_mutex_lock(&g_lock);
    /* Install unless a newer load (by change count) already did. */
    if (!g_snap || changes >= g_loaded_changes) {
        struct campaign_snapshot *old = g_snap;
        g_snap = snap;
        g_loaded_ms = now;
        g_loaded_changes = changes;
        snap->refs++; /* the cache's own reference */
        if (old && --old->refs == 0)
            free(old);
    }
    pthread_mutex_unlock(&g_lock);
    return snap;
}

void campaign_cache_put(struct campaign_snapshot *snap)
{
    if (!snap)
        return;
    pthread_mutex_lock(&g_lock);
    int last = --snap->refs == 0;
    pthread_mutex_unlock(&g_lock);
    if (last)
        free(snap);
}

void campaign_cache_invalidate(struct server *s)
{
    (void)s;
    atomic_fetch_add(&g_changes, 1);
}

void campaign_cache_free(struct server *s)
{
    (void)s;
    pthread_mutex_lock(&g_lock);
    struct campaign_snapshot *old = g_snap;
    g_snap = NULL;
    if (old && --old->refs == 0)
        free(old);
    pthread_mutex_unlock(&g_lock);
}
