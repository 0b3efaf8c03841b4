/*
 * delta_host.h - internal interfaces of the host-side patch creator
 * (library ota_delta): the matcher that finds bsdiff-style control triples
 * and the entropy coder that turns them into the patch stream.
 */
#ifndef OTA_DELTA_HOST_H
#define OTA_DELTA_HOST_H

#include <stddef.h>
#include <stdint.h>
#include "ota/error.h"

/* One command: the old position moves by seek, then diff_len bytes are
 * produced as old + difference, then extra_len literal bytes. */
struct dctl {
    int32_t seek;
    uint32_t diff_len;
    uint32_t extra_len;
};

struct dctl_list {
    struct dctl *v;
    size_t n, cap;
};

/* Approximate matching of new against old (both already filtered). */
ota_err dmatch_run(const uint8_t *old, uint32_t old_len, const uint8_t *new_,
                   uint32_t new_len, struct dctl_list *out);

/* Growable byte buffer. */
struct dbuf {
    uint8_t *p;
    size_t len, cap;
};
ota_err dbuf_put(struct dbuf *b, uint8_t byte);

/* Entropy-code the commands into out (appended). */
ota_err dencode_run(const uint8_t *old, uint32_t old_len, const uint8_t *new_,
                    uint32_t new_len, const struct dctl_list *ctl, struct dbuf *out);

#endif
