// SPDX-License-Identifier: Apache-2.0
/*
 * store_stages.c - the text form a campaign's rollout stages are stored in
 * ("percent:soak:min_finished:max_ratio[@metric,max_ratio,min_devices,min_hours]...;...",
 * one "@..." per health gate) and its warnings, shared by every storage
 * backend so SQLite and PostgreSQL rows mean exactly the same thing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

void store_stages_encode(const struct srv_campaign *cp, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < cp->n_stages && used < cap; i++) {
        const struct srv_stage *st = &cp->stages[i];
        int n = snprintf(out + used, cap - used, "%s%.17g:%lld:%lld:%.17g", i ? ";" : "",
                         st->percent, (long long)st->soak_seconds,
                         (long long)st->min_finished, st->max_failure_ratio);
        if (n < 0)
            break;
        used += (size_t)n;
        for (int g = 0; g < st->n_gates && used < cap; g++) {
            const struct srv_health_gate *h = &st->gates[g];
            n = snprintf(out + used, cap - used, "@%s,%.17g,%lld,%.17g", h->metric,
                         h->max_ratio, (long long)h->min_devices, h->min_device_hours);
            if (n < 0)
                return;
            used += (size_t)n;
        }
    }
}

/* One "@metric,max_ratio,min_devices,min_hours" after a stage; p at '@'. */
static const char *decode_gate(const char *p, struct srv_stage *st)
{
    struct srv_health_gate *h = &st->gates[st->n_gates];
    const char *comma = strchr(p + 1, ',');
    char *end;
    if (!comma || (size_t)(comma - p - 1) >= sizeof(h->metric))
        return NULL;
    memcpy(h->metric, p + 1, (size_t)(comma - p - 1));
    h->metric[comma - p - 1] = '\0';
    h->max_ratio = strtod(comma + 1, &end);
    if (*end != ',')
        return NULL;
    h->min_devices = strtoll(end + 1, &end, 10);
    if (*end != ',')
        return NULL;
    h->min_device_hours = strtod(end + 1, &end);
    st->n_gates++;
    return end;
}

void store_stages_decode(const char *in, struct srv_campaign *cp)
{
    const char *p = in;
    cp->n_stages = 0;
    while (*p && cp->n_stages < SRV_STAGES_MAX) {
        struct srv_stage *st = &cp->stages[cp->n_stages];
        char *end;
        st->percent = strtod(p, &end);
        if (*end != ':')
            break;
        st->soak_seconds = strtoll(end + 1, &end, 10);
        if (*end != ':')
            break;
        st->min_finished = strtoll(end + 1, &end, 10);
        if (*end != ':')
            break;
        st->max_failure_ratio = strtod(end + 1, &end);
        st->n_gates = 0;
        while (*end == '@' && st->n_gates < SRV_GATES_MAX) {
            const char *next = decode_gate(end, st);
            if (!next)
                break;
            end = (char *)next;
        }
        cp->n_stages++;
        if (*end != ';')
            break;
        p = end + 1;
    }
}

void store_warnings_encode(const struct srv_campaign *cp, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < cp->n_warnings && used < cap; i++) {
        const struct srv_warning *w = &cp->warnings[i];
        int n = snprintf(out + used, cap - used, "%s%d:%d:%lld:%lld", i ? ";" : "", w->stage,
                         w->code, (long long)w->placed, (long long)w->min_finished);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

void store_warnings_decode(const char *in, struct srv_campaign *cp)
{
    const char *p = in;
    cp->n_warnings = 0;
    while (*p && cp->n_warnings < SRV_STAGES_MAX) {
        struct srv_warning *w = &cp->warnings[cp->n_warnings];
        char *end;
        w->stage = (int)strtol(p, &end, 10);
        if (*end != ':')
            break;
        w->code = (int)strtol(end + 1, &end, 10);
        if (*end != ':')
            break;
        w->placed = strtoll(end + 1, &end, 10);
        if (*end != ':')
            break;
        w->min_finished = strtoll(end + 1, &end, 10);
        if (w->stage < 0 || w->stage >= SRV_STAGES_MAX || w->code < 0 ||
            w->code >= WARN_CODE_COUNT)
            break;
        cp->n_warnings++;
        if (*end != ';')
            break;
        p = end + 1;
    }
}
