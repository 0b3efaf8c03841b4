// SPDX-License-Identifier: Apache-2.0
/*
 * campaign_cache.h - the active campaigns and their target releases, held
 * in memory for the check-in path so a check-in costs one database read
 * (the device row). Reloaded when this process changed a campaign, and at
 * least every second (changes made by other server nodes sharing the store
 * are therefore seen within a second).
 */
#ifndef OTA_SERVER_CAMPAIGN_CACHE_H
#define OTA_SERVER_CAMPAIGN_CACHE_H

#include "server.h"

struct cached_campaign {
    struct srv_campaign c;
    struct srv_release rel;
};

/* A snapshot: newest campaign first. Valid on the calling thread until its
 * next campaign_cache_get(); release with campaign_cache_put(). */
struct campaign_snapshot {
    int n;
    struct cached_campaign v[];
};

/* NULL on storage failure. */
struct campaign_snapshot *campaign_cache_get(struct server *s);
void campaign_cache_put(struct campaign_snapshot *snap);
/* Call after any campaign write in this process. */
void campaign_cache_invalidate(struct server *s);
void campaign_cache_free(struct server *s);

#endif
