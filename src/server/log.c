// SPDX-License-Identifier: Apache-2.0
/*
 * log.c - structured log lines for ota-server (see log.h). Lines are built
 * in one buffer and written with one write(2) so concurrent threads never
 * interleave inside a line.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Atomic: SIGHUP changes it while request threads log. */
static atomic_int g_level = LOG_INFO;
static const char *const NAMES[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lvl)
{
    atomic_store_explicit(&g_level, (int)lvl, memory_order_relaxed);
}

int log_enabled(enum log_level lvl)
{
    return (int)lvl >= atomic_load_explicit(&g_level, memory_order_relaxed);
}

void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    size_t n;
    va_list ap;
    if (!log_enabled(lvl))
        return;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s event=%s ",
                          ts.tv_nsec / 1000000, NAMES[lvl], event);
    if (n < sizeof(line)) {
        va_start(ap, fmt);
        int m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += (size_t)m;
    }
    if (n >= sizeof(line) - 1)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}
