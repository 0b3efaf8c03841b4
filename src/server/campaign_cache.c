// SPDX-License-Identifier: Apache-2.0
/*
 * campaign_cache.c - see campaign_cache.h. Each server thread keeps its own
 * immutable snapshot (no lock on the check-in path); it reloads it from the
 * store when it is a second old or when any thread changed a campaign
 * (a global change counter), or - with a store shared by several server
 * nodes - when the store's campaign generation moved. Snapshots are
 * registered so shutdown frees them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign_cache.h"

struct holder {
    struct campaign_snapshot *snap;
    int64_t loaded_ms;
    uint_fast64_t loaded_changes;
    int64_t loaded_generation; /* store's campaign generation (shared stores) */
    struct holder *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* guards g_holders */
static struct holder *g_holders;
static atomic_uint_fast64_t g_changes = 1;
static _Thread_local struct holder *tl_holder;

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
    struct holder *h = tl_holder;
    int64_t now = mono_ms();
    uint_fast64_t changes = atomic_load(&g_changes);
    if (!h) {
        h = calloc(1, sizeof(*h));
        if (!h)
            return NULL;
        pthread_mutex_lock(&g_lock);
        h->next = g_holders;
        g_holders = h;
        pthread_mutex_unlock(&g_lock);
        tl_holder = h;
    }
    /* A store shared with other nodes: one cheap read of the generation
     * counter, so a campaign change committed by any node (a halt above all)
     * is seen by the next check-in on every node, not a second later. */
    int64_t gen = 0;
    if (s->store->ops->shared) {
        gen = s->store->ops->campaign_generation(s->store);
        if (gen < 0)
            return NULL;
    }
    if (h->snap && now - h->loaded_ms < 1000 && changes == h->loaded_changes &&
        gen == h->loaded_generation)
        return h->snap;
    struct campaign_snapshot *snap = load(s);
    if (!snap)
        return NULL;
    free(h->snap);
    h->snap = snap;
    h->loaded_ms = now;
    h->loaded_changes = changes;
    h->loaded_generation = gen;
    return snap;
}

void campaign_cache_put(struct campaign_snapshot *snap)
{
    (void)snap; /* owned by the thread's holder until its next reload */
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
    while (g_holders) {
        struct holder *h = g_holders;
        g_holders = h->next;
        free(h->snap);
        free(h);
    }
    pthread_mutex_unlock(&g_lock);
    tl_holder = NULL;
}
