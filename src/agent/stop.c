// SPDX-License-Identifier: Apache-2.0
/*
 * stop.c - stopping the agent on SIGTERM/SIGINT: one signal flag and the
 * `stop` hook of struct agent that reads it, shared by ota-agent (main.c) and
 * `ota-sim run`, which both run the agent loop until a signal arrives.
 */
#include <signal.h>

#include "agent.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void agent_stop_on_signals(void)
{
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
}

int agent_stop_requested(void *ctx)
{
    (void)ctx;
    return g_stop;
}
