// SPDX-License-Identifier: Apache-2.0
/*
 * setup.c - what every device backend's start-up shares before the agent
 * loop runs: the struct agent zeroed, its configuration, HTTP transport,
 * persisted state and seeded backoff (agent_setup, agent.h). The simulated
 * backend (agent_sim_start) and the Linux one (agent_linux_start) call it.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

ota_err agent_setup(struct agent *a, struct agent_config *cfg, uint64_t seed_salt)
{
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->http = agent_http_new(cfg);
    if (!a->http)
        return OTA_ERR_NO_MEMORY;
    agent_state_load(&a->st, cfg->state_file);
    agent_backoff_init(&a->backoff, cfg->backoff_min, cfg->backoff_max,
                       cfg->seed ? cfg->seed + seed_salt
                                 : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32));
    return OTA_OK;
}
