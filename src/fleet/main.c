// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - ota-fleet's event loop: devices due in the timer heap get a free
 * slot of the HTTP pool (the campaign driver's requests go first), libcurl
 * multi drives every transfer, answers move devices on; a progress line
 * every few seconds, a JSON summary at the end. Ends when the campaigns
 * have ended, --duration ran out, or on SIGINT/SIGTERM.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exit_codes.h"
#include "fleet.h"

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
}

double fleet_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double fleet_elapsed(const struct fleet *f)
{
    return fleet_now() - f->t0;
}

/* Hand free pool slots to due devices, the earliest due first, taking
 * turns with first enrollments (were enrollments first, the first
 * check-ins of a large fleet would wait until every device had enrolled and
 * then come in one wave). */
static void dispatch(struct fleet *f, double now)
{
    struct fleet_req *q;
    unsigned turn = 0;
    while ((q = fleet_net_slot(f->net))) {
        uint32_t i;
        if ((turn++ & 1u) == 0 && fleet_dev_enroll_next(f, q))
            continue;
        i = fleet_sched_pop_due(&f->sched, now);
        if (i != UINT32_MAX)
            (void)fleet_dev_start(f, i, q);
        else if (!fleet_dev_enroll_next(f, q))
            return;
    }
}

static int run(struct fleet *f)
{
    double next_progress = f->t0 + f->o->progress, last_progress = f->t0;
    while (!g_signal && !f->stop) {
        double now = fleet_now(), wait;
        if (!f->ready_at && f->first_round + f->st.enroll_failed >= f->n) {
            f->ready_at = now - f->t0;
            f->checkins_at_ready = f->st.checkins;
        }
        fleet_driver_tick(f);
        dispatch(f, now);
        wait = fleet_sched_next(&f->sched) - fleet_now();
        if (f->enroll_cursor < f->n && f->enroll_next - fleet_now() < wait)
            wait = f->enroll_next - fleet_now();
        if (fleet_net_slot(f->net) == NULL || wait > 0.05)
            wait = 0.05;
        fleet_net_run(f->net, wait > 0 ? (int)(wait * 1000) : 0);
        now = fleet_now();
        if (f->o->progress > 0 && now >= next_progress) {
            fleet_progress_line(f, now - last_progress);
            last_progress = now;
            next_progress = now + f->o->progress;
        }
        if (fleet_driver_finished(f) || f->fail_reason)
            break;
        if (f->o->duration > 0 && now - f->t0 >= f->o->duration)
            break;
    }
    /* let requests in flight finish (a report half-sent is not lost) */
    for (int k = 0; k < 100 && fleet_net_in_flight(f->net); k++)
        fleet_net_run(f->net, 50);
    if (f->fail_reason) {
        fprintf(stderr, "ota-fleet: %s\n", f->fail_reason);
        return OTA_EXIT_ERROR;
    }
    if (f->st.tampered_accepted) {
        fprintf(stderr, "ota-fleet: %llu tampered manifests were ACCEPTED\n",
                (unsigned long long)f->st.tampered_accepted);
        return OTA_EXIT_ERROR;
    }
    for (unsigned k = 0; k < f->o->n_campaigns; k++)
        if (!f->camp[k].done || !f->camp[k].as_expected) {
            fprintf(stderr, "ota-fleet: campaign %u (%s) %s\n", k + 1, f->o->campaigns[k].file,
                    f->camp[k].done ? "did not end as expected" : "did not end in time");
            return OTA_EXIT_ERROR;
        }
    return OTA_EXIT_OK;
}

int main(int argc, char **argv)
{
    static struct fleet_opts o;
    static struct fleet f;
    char err[600];
    int rc = fleet_cli_parse(argc, argv, &o);
    if (rc >= 256)
        return rc - 256;
    if (rc)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "ota-fleet: libcurl initialisation failed\n");
        return OTA_EXIT_ERROR;
    }
    f.o = &o;
    f.n = o.devices;
    f.interval = o.interval > 0 ? o.interval : 300;
    f.dev = calloc(f.n, sizeof *f.dev);
    if (!f.dev || fleet_sched_init(&f.sched, f.n)) {
        fprintf(stderr, "ota-fleet: out of memory for %u devices\n", f.n);
        return OTA_EXIT_ERROR;
    }
    rc = fleet_setup(&f, err, sizeof err);
    if (rc) {
        fprintf(stderr, "ota-fleet: %s\n", err);
        return rc;
    }
    f.net = fleet_net_new(o.server, o.pool);
    if (!f.net) {
        fprintf(stderr, "ota-fleet: cannot set up %u HTTP slots\n", o.pool);
        return OTA_EXIT_ERROR;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    f.t0 = fleet_now();
    for (uint32_t i = 0; i < f.n; i++)
        fleet_dev_schedule_first(&f, i);
    fprintf(stderr, "ota-fleet: %u devices (%llu tokens from %s), pool %u, check-in every "
            "%.1f s +-%.0f%%, %u campaign%s\n", f.n, (unsigned long long)f.st.tokens_loaded,
            o.tokens_file[0] ? o.tokens_file : "nowhere", o.pool, f.interval, o.jitter * 100,
            o.n_campaigns, o.n_campaigns == 1 ? "" : "s");
    rc = run(&f);
    if (fleet_tokens_save(&f)) {
        fprintf(stderr, "ota-fleet: cannot write %s\n", o.tokens_file);
        if (!rc)
            rc = OTA_EXIT_FILE;
    }
    fleet_summary(&f, rc);
    fleet_net_free(f.net);
    fleet_sched_free(&f.sched);
    for (unsigned r = 0; r < f.n_rel; r++)
        free(f.rel[r].image);
    free(f.dev);
    curl_global_cleanup();
    return rc;
}
