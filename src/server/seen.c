// SPDX-License-Identifier: Apache-2.0
/*
 * seen.c - check-ins update the device inventory (last seen, current
 * version/digest, slot state) through a queue flushed every few seconds
 * (--inventory-flush), so a check-in costs no synchronous database write. On
 * a crash at most that much "last seen" data is lost (last-seen times live in
 * a narrow table of their own; device rows change only when the reported
 * state does); reports, which
 * matter for rollouts, are never queued (they commit before the ack).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "server.h"

#define SEEN_MAX_QUEUE 300000 /* beyond: dropped (the next check-in repeats it) */

void seen_push(struct server *s, const struct srv_seen *v)
{
    struct seen_queue *q = &s->seen;
    pthread_mutex_lock(&q->lock);
    if (q->n == q->cap && q->cap < SEEN_MAX_QUEUE) {
        size_t ncap = q->cap ? q->cap * 2 : 1024;
        struct srv_seen *ni = realloc(q->items, ncap * sizeof(*ni));
        if (ni) {
            q->items = ni;
            q->cap = ncap;
        }
    }
    if (q->n < q->cap) {
        static uint64_t seq;
        q->items[q->n] = *v;
        q->items[q->n++].seq = ++seq; /* under q->lock */
    }
    pthread_mutex_unlock(&q->lock);
}

static int by_device(const void *a, const void *b)
{
    const struct srv_seen *x = a, *y = b;
    int c = strcmp(x->device_id, y->device_id);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void seen_flush(struct server *s)
{
    struct seen_queue *q = &s->seen;
    struct srv_seen *items, *fresh;
    size_t n, cap;
    /* Swap in an empty buffer as large as the last one, allocated outside
     * the lock, so check-ins never wait for a large realloc. */
    pthread_mutex_lock(&q->lock);
    cap = q->cap;
    pthread_mutex_unlock(&q->lock);
    fresh = cap ? malloc(cap * sizeof(*fresh)) : NULL;
    pthread_mutex_lock(&q->lock);
    items = q->items;
    n = q->n;
    q->items = fresh;
    q->cap = fresh ? cap : 0;
    q->n = 0;
    pthread_mutex_unlock(&q->lock);
    if (n == 0) {
        free(items);
        return;
    }
    /* Key order: neighbouring rows share B-tree pages. Keep only the latest
     * entry per device (but a state change seen by an earlier entry of the
     * batch is kept), and write in chunks so that report commits never wait
     * long for the write lock. */
    qsort(items, n, sizeof(*items), by_device);
    size_t m = 0;
    uint8_t changed = 0;
    for (size_t i = 0; i < n; i++) {
        changed |= items[i].state_changed;
        if (i + 1 < n && strcmp(items[i].device_id, items[i + 1].device_id) == 0)
            continue;
        items[m] = items[i];
        items[m++].state_changed = changed;
        changed = 0;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t off = 0; off < m; off += 1000) {
        size_t k = m - off < 1000 ? m - off : 1000;
        if (s->store->ops->devices_seen(s->store, items + off, k) != STORE_OK)
            log_msg(LOG_WARN, "inventory_flush_failed", "entries=%zu", k);
        /* Spread a large batch over time instead of one burst of CPU that
         * request handlers would feel (not when shutting down). */
        if (off + k < m && !atomic_load(&s->stopping))
            nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 5000000}, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    log_msg(LOG_DEBUG, "inventory_flush", "queued=%zu devices=%zu ms=%ld", n, m,
            (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    free(items);
}
