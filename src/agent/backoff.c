// SPDX-License-Identifier: Apache-2.0
/*
 * backoff.c - exponential backoff with jitter for check-ins, downloads and
 * reports, so a fleet that lost its server does not hammer it in lockstep
 * when it comes back.
 */
#include "agent.h"

static uint64_t next_rand(struct agent_backoff *b)
{
    /* splitmix64: small, good enough for jitter, deterministic from a seed */
    uint64_t z = (b->rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void agent_backoff_init(struct agent_backoff *b, double min, double max, uint64_t seed)
{
    b->min = min > 0 ? min : 0.1;
    b->max = max >= b->min ? max : b->min;
    b->failures = 0;
    b->rng = seed;
}

void agent_backoff_reset(struct agent_backoff *b)
{
    b->failures = 0;
}

double agent_backoff_next(struct agent_backoff *b)
{
    double d = b->min;
    unsigned i;
    for (i = 0; i < b->failures && d < b->max; i++)
        d *= 2;
    if (d > b->max)
        d = b->max;
    if (b->failures < 64)
        b->failures++;
    /* equal jitter: half fixed, half random */
    return d / 2 + (d / 2) * ((double)(next_rand(b) >> 11) / 9007199254740992.0);
}

double agent_jitter(struct agent_backoff *b, double base)
{
    return base * (0.9 + 0.2 * ((double)(next_rand(b) >> 11) / 9007199254740992.0));
}
