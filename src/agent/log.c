// SPDX-License-Identifier: Apache-2.0
/*
 * log.c - the agent's log lines: ISO 8601 UTC timestamp with the date
 * (2026-12-03T10:11:12.345Z, as ota-server's), level, device prefix, one line
 * per event on stderr, so a fleet engineer can read what the agent is doing
 * and grep a device's history across days.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "agent.h"

static char g_prefix[96] = "ota-agent";
static int g_level = AGENT_LOG_INFO;

void agent_log_setup(const char *prefix, int level)
{
    if (prefix)
        snprintf(g_prefix, sizeof g_prefix, "%s", prefix);
    g_level = level;
}

void agent_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    char ts[32], line[1024];
    struct timeval tv;
    struct tm tm;
    va_list ap;

    if (level > g_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ %-5s [%s] %s\n", ts, (long)(tv.tv_usec / 1000),
            names[level < 0 ? 0 : level > 3 ? 3 : level], g_prefix, line);
    fflush(stderr);
}
