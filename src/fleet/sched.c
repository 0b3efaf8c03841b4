// SPDX-License-Identifier: Apache-2.0
/*
 * sched.c - ota-fleet's timers: a binary min-heap of device indexes keyed
 * by the monotonic time each device next acts (check-in, report, reboot
 * end), with each device's heap position so rescheduling is O(log n). One
 * entry per device: a device does one thing at a time.
 */
#include <stdlib.h>

#include "fleet.h"

#define NONE UINT32_MAX

int fleet_sched_init(struct fleet_sched *s, uint32_t cap)
{
    s->heap = malloc((size_t)cap * sizeof *s->heap);
    s->pos = malloc((size_t)cap * sizeof *s->pos);
    s->due = malloc((size_t)cap * sizeof *s->due);
    s->n = 0;
    s->cap = cap;
    if (!s->heap || !s->pos || !s->due)
        return -1;
    for (uint32_t i = 0; i < cap; i++)
        s->pos[i] = NONE;
    return 0;
}

void fleet_sched_free(struct fleet_sched *s)
{
    free(s->heap);
    free(s->pos);
    free(s->due);
}

static void put(struct fleet_sched *s, uint32_t at, uint32_t idx)
{
    s->heap[at] = idx;
    s->pos[idx] = at;
}

static void up(struct fleet_sched *s, uint32_t at)
{
    uint32_t idx = s->heap[at];
    while (at > 0) {
        uint32_t p = (at - 1) / 2;
        if (s->due[s->heap[p]] <= s->due[idx])
            break;
        put(s, at, s->heap[p]);
        at = p;
    }
    put(s, at, idx);
}

static void down(struct fleet_sched *s, uint32_t at)
{
    uint32_t idx = s->heap[at];
    for (;;) {
        uint32_t c = 2 * at + 1;
        if (c >= s->n)
            break;
        if (c + 1 < s->n && s->due[s->heap[c + 1]] < s->due[s->heap[c]])
            c++;
        if (s->due[s->heap[c]] >= s->due[idx])
            break;
        put(s, at, s->heap[c]);
        at = c;
    }
    put(s, at, idx);
}

void fleet_sched_at(struct fleet_sched *s, uint32_t idx, double t)
{
    s->due[idx] = t;
    if (s->pos[idx] == NONE) {
        put(s, s->n++, idx);
        up(s, s->n - 1);
    } else {
        up(s, s->pos[idx]);
        down(s, s->pos[idx]);
    }
}

uint32_t fleet_sched_pop_due(struct fleet_sched *s, double now)
{
    uint32_t idx;
    if (!s->n || s->due[s->heap[0]] > now)
        return NONE;
    idx = s->heap[0];
    s->pos[idx] = NONE;
    if (--s->n) {
        put(s, 0, s->heap[s->n]);
        down(s, 0);
    }
    return idx;
}

double fleet_sched_next(const struct fleet_sched *s)
{
    return s->n ? s->due[s->heap[0]] : 1e300;
}
