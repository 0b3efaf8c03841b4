// SPDX-License-Identifier: Apache-2.0
/*
 * outcome.c - what a simulated device does after installing a release:
 * shares per release version (`--outcome 1.2.0=healthy:0.7,selftest:0.3`),
 * drawn per device and release from a seeded hash, so a run is repeatable
 * and a device keeps its fate if it is offered the same release again; and
 * the crashes a health report counts (Poisson, per device-hour).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"

const char *const FLEET_OUTCOME_NAMES[OUT_N] = {"healthy", "crashing", "selftest", "rollback"};

uint64_t fleet_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double fleet_rand01(uint64_t *s)
{
    return (double)(fleet_rand(s) >> 11) / 9007199254740992.0;
}

/* "VERSION=name:share,name:share": shares must sum to 1 (+-0.001). */
int fleet_outcome_parse(const char *arg, struct fleet_outcome_spec *s, char *err, size_t cap)
{
    const char *eq = strchr(arg, '='), *p;
    double sum = 0;
    memset(s, 0, sizeof *s);
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof s->version) {
        snprintf(err, cap, "--outcome '%s': expected VERSION=OUTCOME:SHARE[,...]", arg);
        return -1;
    }
    memcpy(s->version, arg, (size_t)(eq - arg));
    for (p = eq + 1; *p;) {
        const char *colon = strchr(p, ':');
        char *end;
        unsigned k;
        double v;
        if (!colon) {
            snprintf(err, cap, "--outcome '%s': '%s' has no ':SHARE'", arg, p);
            return -1;
        }
        for (k = 0; k < OUT_N; k++)
            if (strlen(FLEET_OUTCOME_NAMES[k]) == (size_t)(colon - p) &&
                strncmp(p, FLEET_OUTCOME_NAMES[k], (size_t)(colon - p)) == 0)
                break;
        if (k == OUT_N) {
            snprintf(err, cap, "--outcome '%s': unknown outcome '%.*s' (healthy, crashing, "
                     "selftest, rollback)", arg, (int)(colon - p), p);
            return -1;
        }
        v = strtod(colon + 1, &end);
        if (end == colon + 1 || !(v >= 0 && v <= 1) || (*end && *end != ',')) {
            snprintf(err, cap, "--outcome '%s': share of '%s' must be a number in 0..1", arg,
                     FLEET_OUTCOME_NAMES[k]);
            return -1;
        }
        s->share[k] += v;
        sum += v;
        p = *end ? end + 1 : end;
    }
    if (fabs(sum - 1.0) > 0.001) {
        snprintf(err, cap, "--outcome '%s': shares sum to %.3f, not 1", arg, sum);
        return -1;
    }
    return 0;
}

int fleet_outcome_spec_for(const struct fleet *f, const char *version)
{
    for (unsigned i = 0; i < f->o->n_outcomes; i++) {
        const char *v = f->o->outcomes[i].version;
        size_t n = strlen(v);
        /* "1.2.0" also names "1.2.0+7"; "1.2.0+7" only itself */
        if (strcmp(v, version) == 0 || (strncmp(v, version, n) == 0 && version[n] == '+' &&
                                        !strchr(v, '+')))
            return (int)i;
    }
    return -1;
}

enum fleet_outcome fleet_outcome_draw(const struct fleet *f, uint32_t dev, int release)
{
    const struct fleet_release *r = &f->rel[release];
    uint64_t s = f->o->seed ^ ((uint64_t)dev * 0x9e3779b97f4a7c15ULL);
    double x, acc = 0;
    if (r->spec < 0)
        return OUT_HEALTHY;
    for (unsigned i = 0; i < 8; i++)
        s ^= (uint64_t)r->digest[i] << (8 * i);
    x = fleet_rand01(&s);
    for (unsigned k = 0; k < OUT_N; k++) {
        acc += f->o->outcomes[r->spec].share[k];
        if (x < acc)
            return (enum fleet_outcome)k;
    }
    return OUT_HEALTHY;
}

unsigned fleet_crashes_draw(const struct fleet *f, uint32_t dev, double device_hours,
                            int crashing)
{
    static uint64_t s;
    double lambda = (crashing ? f->o->crashing_rate : f->o->crash_rate) * device_hours;
    double l = exp(-lambda), p = 1.0;
    unsigned k = 0;
    if (!s)
        s = f->o->seed + 1;
    s ^= dev;
    if (lambda > 50) { /* normal approximation (Box-Muller), no long loop */
        double u1 = fleet_rand01(&s) + 1e-300, u2 = fleet_rand01(&s);
        double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        return (unsigned)fmax(0, floor(lambda + sqrt(lambda) * z + 0.5));
    }
    do {
        k++;
        p *= fleet_rand01(&s);
    } while (p > l);
    return k - 1;
}
