// SPDX-License-Identifier: Apache-2.0
/*
 * test_agent_units.c - unit tests of the agent's small pieces: configuration
 * parsing and validation (clear errors naming file:line), exponential
 * backoff with jitter (bounds, growth, cap, reset, determinism), and the
 * persisted state (round trip, absent and corrupt files), also the Linux
 * backend's delta resume state (a damaged one is never loaded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "linux.h"
#include "ota/host.h"
#include "ota/update.h"
#include "../test.h"

static char g_dir[256];

static const char *path_in(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static char g_pub[512];

static void test_config_file_and_flags(void)
{
    struct agent_config c;
    char err[512];
    const char *conf = path_in("a.conf");
    char text[2048];

    snprintf(text, sizeof text,
             "# comment\n"
             "server = https://example.test:8443/\n"
             "  device_id=dev-1  \n"
             "token = otad_abc\n"
             "server_key = %s\n"
             "poll_interval = 2.5\n"
             "backoff_min = 0.5\n"
             "backoff_max = 10\n"
             "flash = /tmp/x.flash\n",
             g_pub);
    write_file(conf, text);
    agent_config_defaults(&c);
    REQUIRE(agent_config_load_file(&c, conf, err, sizeof err) == OTA_OK);
    CHECK(strcmp(c.server_url, "https://example.test:8443") == 0); /* trailing / dropped */
    CHECK(strcmp(c.device_id, "dev-1") == 0);
    CHECK(c.poll_interval == 2.5);
    CHECK(agent_config_set(&c, "poll-interval", "7", err, sizeof err) == OTA_OK);
    CHECK(c.poll_interval == 7);
    REQUIRE(agent_config_finish(&c, err, sizeof err) == OTA_OK);
    CHECK(strcmp(c.state_file, "/tmp/x.flash.agent-state") == 0);
    CHECK_EQ(c.n_server_keys, 1);
    CHECK(c.server_keys[0].spki[0] == 0x30); /* DER SEQUENCE */
}

static void test_config_errors_are_precise(void)
{
    struct agent_config c;
    char err[512];
    const char *conf = path_in("b.conf");

    write_file(conf, "server = https://x\nbogus_key = 1\n");
    agent_config_defaults(&c);
    CHECK(agent_config_load_file(&c, conf, err, sizeof err) == OTA_ERR_CONFIG);
    CHECK(strstr(err, "b.conf:2") && strstr(err, "unknown key 'bogus_key'"));

    write_file(conf, "server https://x\n");
    agent_config_defaults(&c);
    CHECK(agent_config_load_file(&c, conf, err, sizeof err) == OTA_ERR_CONFIG);
    CHECK(strstr(err, "b.conf:1") && strstr(err, "key = value"));

    agent_config_defaults(&c);
    CHECK(agent_config_set(&c, "poll_interval", "soon", err, sizeof err) == OTA_ERR_CONFIG);
    CHECK(strstr(err, "poll_interval") != NULL);
    CHECK(agent_config_set(&c, "device_id", "has space", err, sizeof err) == OTA_ERR_CONFIG);
    CHECK(agent_config_set(&c, "allow_http", "maybe", err, sizeof err) == OTA_ERR_CONFIG);
    CHECK(agent_config_load_file(&c, path_in("missing.conf"), err, sizeof err) ==
          OTA_ERR_CONFIG);
    CHECK(strstr(err, "missing.conf") && strstr(err, "cannot open"));

    /* required settings and plain HTTP */
    agent_config_defaults(&c);
    agent_config_set(&c, "server", "http://127.0.0.1:1", err, sizeof err);
    agent_config_set(&c, "device_id", "d", err, sizeof err);
    agent_config_set(&c, "token", "t", err, sizeof err);
    CHECK(agent_config_finish(&c, err, sizeof err) == OTA_ERR_CONFIG);
    CHECK(strstr(err, "server_key") != NULL);
    agent_config_set(&c, "server_key", g_pub, err, sizeof err);
    agent_config_set(&c, "flash", "/tmp/f", err, sizeof err);
    CHECK(agent_config_finish(&c, err, sizeof err) == OTA_ERR_CONFIG);
    CHECK(strstr(err, "plain HTTP") != NULL);
    agent_config_set(&c, "allow_http", "yes", err, sizeof err);
    c.n_server_keys = 1;
    CHECK(agent_config_finish(&c, err, sizeof err) == OTA_OK);
    /* a key file that is not a key */
    agent_config_defaults(&c);
    agent_config_set(&c, "server", "https://x", err, sizeof err);
    agent_config_set(&c, "device_id", "d", err, sizeof err);
    agent_config_set(&c, "token", "t", err, sizeof err);
    agent_config_set(&c, "flash", "/tmp/f", err, sizeof err);
    agent_config_set(&c, "server_key", path_in("b.conf"), err, sizeof err);
    CHECK(agent_config_finish(&c, err, sizeof err) == OTA_ERR_CONFIG);
    CHECK(strstr(err, "server_key") != NULL);
}

static void test_backoff(void)
{
    struct agent_backoff b, b2;
    double prev_cap = 0;
    int i;

    agent_backoff_init(&b, 1.0, 60.0, 42);
    agent_backoff_init(&b2, 1.0, 60.0, 42);
    for (i = 0; i < 20; i++) {
        double cap = 1.0;
        int k;
        double d = agent_backoff_next(&b);
        for (k = 0; k < i && cap < 60; k++)
            cap *= 2;
        if (cap > 60)
            cap = 60;
        CHECK(d >= cap / 2 && d <= cap); /* equal jitter inside [cap/2, cap] */
        CHECK(cap >= prev_cap);
        prev_cap = cap;
        CHECK(d == agent_backoff_next(&b2)); /* same seed, same delays */
    }
    CHECK(agent_backoff_next(&b) <= 60.0);
    agent_backoff_reset(&b);
    CHECK(agent_backoff_next(&b) <= 1.0);
    for (i = 0; i < 100; i++) {
        double j = agent_jitter(&b, 10.0);
        CHECK(j >= 9.0 && j <= 11.0);
    }
    /* jitter really varies */
    {
        double seen[8];
        int distinct = 0, j;
        agent_backoff_init(&b, 8.0, 8.0, 7);
        for (i = 0; i < 8; i++) {
            seen[i] = agent_backoff_next(&b);
            for (j = 0, distinct++; j < i; j++)
                if (seen[j] == seen[i]) {
                    distinct--;
                    break;
                }
        }
        CHECK(distinct >= 6);
    }
}

static void test_state_round_trip(void)
{
    struct agent_state s, t;
    const char *p = path_in("state.json");
    int i;

    unlink(p);
    CHECK(agent_state_load(&t, p) == OTA_OK); /* absent: clean state */
    CHECK_EQ(t.phase, AGENT_PHASE_IDLE);
    memset(&s, 0, sizeof s);
    s.phase = AGENT_PHASE_DOWNLOADING;
    for (i = 0; i < 200; i++)
        s.manifest[i] = (uint8_t)(i * 7);
    s.manifest_len = 200;
    s.campaign_id = 1234567890123ull;
    memset(s.target_digest, 0xab, sizeof s.target_digest);
    strcpy(s.target_version, "2.1.3+4");
    s.has_progress = 1;
    memset(s.progress.payload_digest, 0x11, 32);
    memset(s.progress.prefix_digest, 0x22, 32);
    s.progress.offset = 8192;
    s.progress.slot = 1;
    strcpy(s.pending_state, "rolled-back");
    s.pending_code = 158;
    strcpy(s.pending_detail, "trial of 2.1.3 \"quoted\" failed");
    s.pending_campaign = 9;
    strcpy(s.last_result, "success: ok");
    s.offer_seq = 18446744073709551000ull; /* beyond a double's exact range */
    REQUIRE(agent_state_save(&s, p) == OTA_OK);
    REQUIRE(agent_state_load(&t, p) == OTA_OK);
    CHECK_EQ(t.phase, AGENT_PHASE_DOWNLOADING);
    CHECK_EQ(t.manifest_len, 200);
    CHECK(memcmp(t.manifest, s.manifest, 200) == 0);
    CHECK(t.campaign_id == s.campaign_id);
    CHECK(memcmp(t.target_digest, s.target_digest, 32) == 0);
    CHECK(strcmp(t.target_version, "2.1.3+4") == 0);
    CHECK_EQ(t.has_progress, 1);
    CHECK_EQ(t.progress.offset, 8192);
    CHECK_EQ(t.progress.slot, 1);
    CHECK(memcmp(&t.progress, &s.progress, sizeof s.progress) == 0);
    CHECK(strcmp(t.pending_state, "rolled-back") == 0);
    CHECK_EQ(t.pending_code, 158);
    CHECK(strcmp(t.pending_detail, s.pending_detail) == 0);
    CHECK_EQ(t.pending_campaign, 9);
    CHECK(strcmp(t.last_result, "success: ok") == 0);
    CHECK(t.offer_seq == 18446744073709551000ull);

    /* a corrupt file: a clean state, never a crash */
    write_file(p, "{\"phase\": 2, \"manifest\": \"zz\"");
    CHECK(agent_state_load(&t, p) == OTA_OK);
    CHECK_EQ(t.phase, AGENT_PHASE_IDLE);
    write_file(p, "{\"phase\": 2, \"manifest\": \"0g\", \"progress\": {\"offset\": 5}}");
    CHECK(agent_state_load(&t, p) == OTA_OK);
    CHECK_EQ(t.phase, AGENT_PHASE_IDLE); /* no valid manifest: nothing to resume */
    CHECK_EQ(t.has_progress, 0);
    /* clear keeps the last result, the token and the offer sequence (it
     * never goes back) */
    agent_state_clear(&s);
    CHECK_EQ(s.phase, 0);
    CHECK_EQ(s.manifest_len, 0);
    CHECK(strcmp(s.last_result, "success: ok") == 0);
    CHECK(s.offer_seq == 18446744073709551000ull);
}

/* Issue 10 defect 9: the device token only goes to the server's own origin
 * and configured artifact origins. */
static void test_token_origins(void)
{
    struct agent_config c;
    struct agent_http *h;
    char err[256];
    static const char *ok[] = {
        "/v1/artifacts/ab", "https://ota.example.com:8443/v1/artifacts/ab",
        "https://OTA.example.com:8443/x", "https://cdn.example.net/fw/ab",
        "https://cdn.example.net:443/fw/ab",
    };
    static const char *refused[] = {
        "http://ota.example.com:8443/x",   /* scheme */
        "https://ota.example.com/x",       /* port */
        "https://evil.example.com:8443/x", /* host */
        "https://ota.example.com.evil.net:8443/x",
        "@evil.example.com/x",             /* glued to the server URL: another host */
        "v1/artifacts/ab",                 /* neither a path nor absolute */
        "https://cdn.example.net:8443/fw", /* the CDN, another port */
        "ftp://ota.example.com:8443/x",
    };
    agent_config_defaults(&c);
    REQUIRE(agent_config_set(&c, "server", "https://ota.example.com:8443/", err, sizeof err) ==
            OTA_OK);
    REQUIRE(agent_config_set(&c, "artifact_origin", "https://cdn.example.net", err,
                             sizeof err) == OTA_OK);
    CHECK_EQ(agent_config_set(&c, "artifact_origin", "cdn.example.net", err, sizeof err),
             OTA_ERR_CONFIG);
    h = agent_http_new(&c);
    REQUIRE(h != NULL);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (agent_http_check_origin(h, ok[i], err, sizeof err) != OTA_OK) {
            fprintf(stderr, "refused %s: %s\n", ok[i], err);
            CHECK(0);
        }
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        if (agent_http_check_origin(h, refused[i], err, sizeof err) !=
            OTA_ERR_UNTRUSTED_ORIGIN) {
            fprintf(stderr, "allowed %s\n", refused[i]);
            CHECK(0);
        }
    agent_http_free(h);
}

/* linux_state.delta: kept with its SHA-256; a flipped byte, a truncated
 * file or one without the hash (an older build) is ignored, never loaded. */
static void test_linux_delta_state_file(void)
{
    static struct ota_update_delta_state ds, back;
    char state[512], path[600], err[256];
    uint8_t *raw = NULL;
    size_t len = 0;
    snprintf(state, sizeof state, "%s", path_in("linux_state"));
    snprintf(path, sizeof path, "%s.delta", state);
    for (size_t i = 0; i < sizeof ds; i++)
        ((uint8_t *)&ds)[i] = (uint8_t)(i * 7u);
    ds.magic = OTA_UPDATE_DELTA_MAGIC;
    ds.size = sizeof ds;
    /* with the stream table of a version 2/3 patch */
    struct ota_delta_zspan spans[3], sback[3];
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof spans; i++)
        ((uint8_t *)spans)[i] = (uint8_t)(i * 5u + 1u);
    REQUIRE(lx_delta_save(state, &ds, spans, 3, err, sizeof err) == OTA_OK);
    memset(sback, 0, sizeof sback);
    CHECK_EQ(lx_delta_load(state, &back, sback, 3, &n), 1);
    CHECK(memcmp(&ds, &back, sizeof ds) == 0);
    CHECK(n == 3 && memcmp(spans, sback, sizeof spans) == 0);
    CHECK_EQ(lx_delta_load(state, &back, sback, 2, &n), 0); /* more than the port holds */
    REQUIRE(ota_file_read(path, &raw, &len) == OTA_OK);
    CHECK_EQ(len, sizeof ds + 4 + sizeof spans + OTA_SHA256_LEN);
    free(raw);
    REQUIRE(lx_delta_save(state, &ds, NULL, 0, err, sizeof err) == OTA_OK);
    CHECK_EQ(lx_delta_load(state, &back, sback, 3, &n), 1);
    CHECK(memcmp(&ds, &back, sizeof ds) == 0 && n == 0);
    REQUIRE(ota_file_read(path, &raw, &len) == OTA_OK);
    CHECK_EQ(len, sizeof ds + 4 + OTA_SHA256_LEN);
    size_t flips[] = {offsetof(struct ota_update_delta_state, sha) + 40, sizeof ds / 2,
                      sizeof ds, sizeof ds + 4 + 3};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        raw[flips[i]] ^= 0x10u;
        REQUIRE(ota_file_write_atomic(path, raw, len) == OTA_OK);
        CHECK_EQ(lx_delta_load(state, &back, sback, 3, &n), 0);
        raw[flips[i]] ^= 0x10u;
    }
    REQUIRE(ota_file_write_atomic(path, raw, sizeof ds + 4) == OTA_OK); /* no hash */
    CHECK_EQ(lx_delta_load(state, &back, sback, 3, &n), 0);
    REQUIRE(ota_file_write_atomic(path, raw, len) == OTA_OK);
    CHECK_EQ(lx_delta_load(state, &back, sback, 3, &n), 1);
    lx_delta_remove(state);
    CHECK_EQ(lx_delta_load(state, &back, sback, 3, &n), 0);
    free(raw);
}

int main(void)
{
    ota_key *k;
    snprintf(g_dir, sizeof g_dir, "/tmp/ota-agent-units.XXXXXX");
    if (!mkdtemp(g_dir))
        return 2;
    snprintf(g_pub, sizeof g_pub, "%s/pub.pem", g_dir);
    if (ota_key_generate(&k) || ota_key_save_public(k, g_pub))
        return 2;
    ota_key_free(k);
    agent_log_setup("test", AGENT_LOG_ERROR);

    RUN(test_config_file_and_flags);
    RUN(test_config_errors_are_precise);
    RUN(test_backoff);
    RUN(test_state_round_trip);
    RUN(test_token_origins);
    RUN(test_linux_delta_state_file);

    {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_dir);
    }
    return test_summary();
}
