// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - ota-server: command line, zero-config first start (data
 * directory, database, online manifest-signing key, admin token), trusted
 * firmware keys, the background ticker (inventory flush, rollout
 * evaluation) and clean shutdown on SIGTERM/SIGINT.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ota/version.h"

#include "campaign_cache.h"
#include "http.h"
#include "log.h"
#include "rollout.h"
#include "server.h"

int64_t srv_now(struct server *s)
{
    return (int64_t)time(NULL) + atomic_load_explicit(&s->clock_offset, memory_order_relaxed);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ota-server [--data DIR] [--listen HOST:PORT] [options]\n"
            "\n"
            "Runs the ota update server. The first start creates DIR (default ./ota-data):\n"
            "the SQLite database, the online manifest-signing key and an admin token.\n"
            "\n"
            "  --data DIR             data directory (database, keys, artifacts)\n"
            "  --db postgres://...    store in PostgreSQL instead of DIR/ota.db (libpq URI\n"
            "                         or 'host=... dbname=...'); several nodes may share it\n"
            "  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080;\n"
            "                         port 0 picks a free port; IPv6 as [::1]:PORT)\n"
            "  --tls-cert FILE        PEM certificate (chain): serve HTTPS, TLS 1.3 only\n"
            "  --tls-key FILE         PEM private key for --tls-cert\n"
            "  --manifest-key FILE    sign manifests with this private key instead of\n"
            "                         DIR/keys/manifest-key.pem (key rotation)\n"
            "  --trusted-key FILE     public key (PEM) that signs firmware releases;\n"
            "                         repeatable; DIR/trusted-keys/*.pem are also trusted\n"
            "  --threads N            HTTP worker threads (default: twice the CPUs)\n"
            "  --offer-ttl SECONDS    validity of update manifests (default 86400)\n"
            "  --poll-interval SECS   check-in interval suggested to devices (default 300)\n"
            "  --max-body BYTES       limit for JSON request bodies (default 65536)\n"
            "  --max-release BYTES    limit for release uploads (default 67108864)\n"
            "  --no-delta             always offer full images\n"
            "  --inventory-flush S    seconds between batched inventory writes (default 5)\n"
            "  --admin-token-file F   when an admin token is created, also write it to F (0600)\n"
            "  --reset-admin-token    replace the admin token (the old one stops working)\n"
            "  --test-clock           enable POST /v1/admin/clock (tests only)\n"
            "  --log-level LEVEL      debug, info (default), warn, error\n"
            "  --no-access-log        no per-request log lines\n"
            "  --version, --help\n");
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int parse_listen(const char *arg, char *host, size_t hcap, uint16_t *port)
{
    const char *colon;
    char *end;
    if (arg[0] == '[') {
        const char *rb = strchr(arg, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - arg - 1) >= hcap)
            return 0;
        memcpy(host, arg + 1, (size_t)(rb - arg - 1));
        host[rb - arg - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(arg, ':');
        if (!colon || (size_t)(colon - arg) >= hcap || colon == arg)
            return 0;
        memcpy(host, arg, (size_t)(colon - arg));
        host[colon - arg] = '\0';
    }
    long p = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || p < 0 || p > 65535)
        return 0;
    *port = (uint16_t)p;
    return 1;
}

static int add_trusted(struct server *s, const char *path)
{
    ota_key *k = NULL;
    char err[256];
    struct ota_pubkey pk;
    if (ota_key_load(path, &k, err, sizeof(err)) != OTA_OK) {
        fprintf(stderr, "ota-server: --trusted-key: %s\n", err);
        return 0;
    }
    ota_err e = ota_key_pubkey(k, &pk);
    ota_key_free(k);
    if (e != OTA_OK) {
        fprintf(stderr, "ota-server: %s: %s\n", path, ota_strerror(e));
        return 0;
    }
    struct ota_pubkey *nt = realloc(s->trusted, (s->n_trusted + 1) * sizeof(*nt));
    if (!nt)
        return 0;
    s->trusted = nt;
    s->trusted[s->n_trusted++] = pk;
    uint8_t h[OTA_SHA256_LEN];
    char hex[17];
    ota_sha256(ota_crypto_openssl(), pk.spki, sizeof(pk.spki), h);
    ota_hex_encode(h, 8, hex);
    printf("trusted firmware key: %s (key hash %s...)\n", path, hex);
    return 1;
}

static int load_trusted_dir(struct server *s)
{
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%.4000s/trusted-keys", s->data_dir);
    DIR *d = opendir(dir);
    struct dirent *e;
    int ok = 1;
    if (!d)
        return 1;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".pem") != 0)
            continue;
        char path[2 * PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!add_trusted(s, path))
            ok = 0;
    }
    closedir(d);
    return ok;
}

static int manifest_key(struct server *s, const char *external)
{
    char priv[PATH_MAX + 32], pub[PATH_MAX + 32], kdir[PATH_MAX + 8], err[256] = "";
    if (external) {
        /* An operator-managed key (e.g. during a rotation): used as is. */
        if (ota_key_load(external, &s->manifest_key, err, sizeof(err)) != OTA_OK ||
            !ota_key_has_private(s->manifest_key)) {
            fprintf(stderr, "ota-server: --manifest-key: %s\n",
                    err[0] ? err : "not a private key");
            return 0;
        }
        if (ota_key_pubkey(s->manifest_key, &s->manifest_pub) != OTA_OK ||
            ota_manifest_key_id(ota_crypto_openssl(), &s->manifest_pub,
                                s->manifest_key_id) != OTA_OK)
            return 0;
        char kid[17];
        ota_hex_encode(s->manifest_key_id, OTA_MANIFEST_KEY_ID_LEN, kid);
        printf("manifest signing key: %s (key id %s)\n", external, kid);
        return 1;
    }
    snprintf(kdir, sizeof(kdir), "%.4000s/keys", s->data_dir);
    snprintf(priv, sizeof(priv), "%.4000s/manifest-key.pem", kdir);
    snprintf(pub, sizeof(pub), "%.4000s/manifest-key.pub.pem", kdir);
    if (mkdir_p(kdir, 0700) != 0) {
        fprintf(stderr, "ota-server: cannot create %s: %s\n", kdir, strerror(errno));
        return 0;
    }
    if (access(priv, F_OK) != 0) {
        if (ota_key_generate(&s->manifest_key) != OTA_OK ||
            ota_key_save_private(s->manifest_key, priv) != OTA_OK ||
            ota_key_save_public(s->manifest_key, pub) != OTA_OK) {
            fprintf(stderr, "ota-server: cannot create the manifest key %s\n", priv);
            return 0;
        }
        printf("created manifest signing key: %s\n", priv);
    } else if (ota_key_load(priv, &s->manifest_key, err, sizeof(err)) != OTA_OK ||
               !ota_key_has_private(s->manifest_key)) {
        fprintf(stderr, "ota-server: manifest key: %s\n",
                err[0] ? err : "not a private key");
        return 0;
    }
    if (access(pub, F_OK) != 0)
        ota_key_save_public(s->manifest_key, pub);
    if (ota_key_pubkey(s->manifest_key, &s->manifest_pub) != OTA_OK ||
        ota_manifest_key_id(ota_crypto_openssl(), &s->manifest_pub, s->manifest_key_id) !=
            OTA_OK)
        return 0;
    char kid[17];
    ota_hex_encode(s->manifest_key_id, OTA_MANIFEST_KEY_ID_LEN, kid);
    printf("manifest public key (devices trust this): %s (key id %s)\n", pub, kid);
    return 1;
}

static int admin_token(struct server *s, int reset, const char *token_file)
{
    char hex[2 * OTA_SHA256_LEN + 1];
    struct store *st = s->store;
    if (!reset && st->ops->setting_get(st, "admin_token_sha256", hex, sizeof(hex)) == STORE_OK &&
        ota_hex_decode(hex, s->admin_hash, OTA_SHA256_LEN) == OTA_SHA256_LEN) {
        printf("admin token: unchanged (only its hash is stored; --reset-admin-token "
               "makes a new one)\n");
        return 1;
    }
    char token[TOKEN_STR_MAX];
    if (!token_new("otaa", token, s->admin_hash))
        return 0;
    ota_hex_encode(s->admin_hash, OTA_SHA256_LEN, hex);
    if (st->ops->setting_put(st, "admin_token_sha256", hex) != STORE_OK)
        return 0;
    if (token_file) {
        char line[TOKEN_STR_MAX + 2];
        snprintf(line, sizeof(line), "%s\n", token);
        if (ota_file_write_atomic(token_file, line, strlen(line)) != OTA_OK ||
            chmod(token_file, 0600) != 0) {
            fprintf(stderr, "ota-server: cannot write %s\n", token_file);
            return 0;
        }
        printf("admin token written to: %s\n", token_file);
    }
    printf("admin token (shown once; only its hash is stored): %s\n", token);
    return 1;
}

static char *read_text(const char *path)
{
    uint8_t *d = NULL;
    size_t n = 0;
    if (ota_file_read(path, &d, &n) != OTA_OK)
        return NULL;
    char *t = realloc(d, n + 1);
    if (!t) {
        free(d);
        return NULL;
    }
    t[n] = '\0';
    return t;
}

/* --db: a PostgreSQL conninfo (URI or key=value list). */
static int db_open_postgres(struct server *s, const char *conninfo, char *err, size_t errlen)
{
    int uri = strncmp(conninfo, "postgres://", 11) == 0 ||
              strncmp(conninfo, "postgresql://", 13) == 0;
    if (!uri && !strchr(conninfo, '=')) {
        fprintf(stderr, "ota-server: --db '%s': expected postgres://... or a libpq "
                        "conninfo such as 'host=H dbname=D'\n", conninfo);
        return 0;
    }
#ifdef OTA_SERVER_HAVE_PG
    s->store = store_pg_open(conninfo, err, errlen);
    if (!s->store) {
        fprintf(stderr, "ota-server: %s\n", err);
        return 0;
    }
    printf("database: PostgreSQL (shared by every node started with the same --db)\n");
    return 1;
#else
    (void)s;
    (void)err;
    (void)errlen;
    fprintf(stderr, "ota-server: built without PostgreSQL support (libpq-dev)\n");
    return 0;
#endif
}

struct ticker {
    struct server *s;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    int64_t ticks;
};

static void *ticker_main(void *arg)
{
    struct ticker *t = arg;
    /* Background work (inventory batches, checkpoints, rollout evaluation)
     * yields the CPU to request handlers: it must not add to their latency. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
        log_msg(LOG_DEBUG, "ticker_nice_failed", "errno=%d", errno);
    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&t->cond, &t->lock, &ts);
        if (t->stop)
            break;
        pthread_mutex_unlock(&t->lock);
        if (++t->ticks % t->s->inventory_flush == 0)
            seen_flush(t->s);
        rollout_evaluate_all(t->s);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* What start_server() set up and shutdown_server() takes down. */
struct running {
    struct http_daemon *http;
    struct ticker tk;
    pthread_t ticker;
    int ticker_started;
    char *cert_pem, *key_pem;
};

/* Everything the command line sets that is not a field of struct server. */
struct options {
    const char *data, *listen, *cert, *key, *token_file, *manifest_key, *db;
    const char *trusted[64];
    int n_trusted;
    char host[128];
    uint16_t port;
    unsigned threads;
    int reset_token, access_log;
};

enum {
    O_DATA = 256, O_LISTEN, O_CERT, O_KEY, O_TRUSTED, O_THREADS, O_TTL, O_POLL,
    O_MAXBODY, O_MAXREL, O_NODELTA, O_TOKFILE, O_RESET, O_TESTCLOCK, O_LOGLEVEL,
    O_NOACCESS, O_INVFLUSH, O_MKEY, O_DB, O_VERSION, O_HELP
};
static const struct option OPTS[] = {
    {"data", required_argument, NULL, O_DATA},
    {"listen", required_argument, NULL, O_LISTEN},
    {"tls-cert", required_argument, NULL, O_CERT},
    {"tls-key", required_argument, NULL, O_KEY},
    {"trusted-key", required_argument, NULL, O_TRUSTED},
    {"threads", required_argument, NULL, O_THREADS},
    {"offer-ttl", required_argument, NULL, O_TTL},
    {"poll-interval", required_argument, NULL, O_POLL},
    {"max-body", required_argument, NULL, O_MAXBODY},
    {"max-release", required_argument, NULL, O_MAXREL},
    {"no-delta", no_argument, NULL, O_NODELTA},
    {"admin-token-file", required_argument, NULL, O_TOKFILE},
    {"reset-admin-token", no_argument, NULL, O_RESET},
    {"test-clock", no_argument, NULL, O_TESTCLOCK},
    {"log-level", required_argument, NULL, O_LOGLEVEL},
    {"no-access-log", no_argument, NULL, O_NOACCESS},
    {"inventory-flush", required_argument, NULL, O_INVFLUSH},
    {"manifest-key", required_argument, NULL, O_MKEY},
    {"db", required_argument, NULL, O_DB},
    {"version", no_argument, NULL, O_VERSION},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static void set_defaults(struct options *o, struct server *s)
{
    memset(o, 0, sizeof(*o));
    o->data = "ota-data";
    o->listen = "127.0.0.1:8080";
    /* Twice the CPUs: handlers sometimes wait on the disk (commits of
     * reports, delta generation) and should not stall other requests. */
    o->threads = 2 * (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    o->access_log = 1;
    s->offer_ttl = 86400;
    s->poll_interval = 300;
    s->max_body = 65536;
    s->max_release = 64u << 20;
    s->delta_enabled = 1;
    s->inventory_flush = 5;
}

/* Reads the command line into o and s. Returns -1 to go on, otherwise the
 * exit code (0 after --help/--version). */
static int parse_options(int argc, char **argv, struct options *o, struct server *s)
{
    int c;
    while ((c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case O_DATA: o->data = optarg; break;
        case O_LISTEN: o->listen = optarg; break;
        case O_CERT: o->cert = optarg; break;
        case O_KEY: o->key = optarg; break;
        case O_TRUSTED:
            if (o->n_trusted == 64) {
                fprintf(stderr, "ota-server: at most 64 --trusted-key options\n");
                return 2;
            }
            o->trusted[o->n_trusted++] = optarg;
            break;
        case O_THREADS: o->threads = (unsigned)strtoul(optarg, &end, 10); break;
        case O_TTL: s->offer_ttl = strtoll(optarg, &end, 10); break;
        case O_POLL: s->poll_interval = strtoll(optarg, &end, 10); break;
        case O_MAXBODY: s->max_body = strtoull(optarg, &end, 10); break;
        case O_MAXREL: s->max_release = strtoull(optarg, &end, 10); break;
        case O_NODELTA: s->delta_enabled = 0; break;
        case O_TOKFILE: o->token_file = optarg; break;
        case O_RESET: o->reset_token = 1; break;
        case O_TESTCLOCK: s->test_clock = 1; break;
        case O_LOGLEVEL:
            if (strcmp(optarg, "debug") == 0) log_set_level(LOG_DEBUG);
            else if (strcmp(optarg, "info") == 0) log_set_level(LOG_INFO);
            else if (strcmp(optarg, "warn") == 0) log_set_level(LOG_WARN);
            else if (strcmp(optarg, "error") == 0) log_set_level(LOG_ERROR);
            else { fprintf(stderr, "ota-server: --log-level: unknown level '%s'\n", optarg); return 2; }
            break;
        case O_NOACCESS: o->access_log = 0; break;
        case O_INVFLUSH: s->inventory_flush = strtoll(optarg, &end, 10); break;
        case O_MKEY: o->manifest_key = optarg; break;
        case O_DB: o->db = optarg; break;
        case O_VERSION: printf("ota-server %s\n", OTA_VERSION); return 0;
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
        if (end && (*end || end == optarg)) {
            fprintf(stderr, "ota-server: option --%s: '%s' is not a number\n",
                    OPTS[c - O_DATA].name, optarg);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ota-server: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

/* Checks the options against each other and their ranges. 0 or an exit code. */
static int validate_options(struct options *o, struct server *s)
{
    if (!parse_listen(o->listen, o->host, sizeof(o->host), &o->port)) {
        fprintf(stderr, "ota-server: --listen '%s': expected HOST:PORT (e.g. 127.0.0.1:8080)\n",
                o->listen);
        return 2;
    }
    if (!!o->cert != !!o->key) {
        fprintf(stderr, "ota-server: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (o->threads == 0 || o->threads > 256 || s->offer_ttl < 60 || s->poll_interval < 1 ||
        s->max_body < 1024 || s->inventory_flush < 1 || s->inventory_flush > 300) {
        fprintf(stderr, "ota-server: option out of range (threads 1..256, offer-ttl >= 60, "
                        "poll-interval >= 1, max-body >= 1024, inventory-flush 1..300)\n");
        return 2;
    }
    return 0;
}

/* The data directory, its artifacts directory and the database. */
static int open_storage(struct server *s, const struct options *o)
{
    char err[512];
    if (!realpath(o->data, s->data_dir)) {
        if (mkdir_p(o->data, 0700) != 0 || !realpath(o->data, s->data_dir)) {
            fprintf(stderr, "ota-server: cannot create data directory %s: %s\n", o->data,
                    strerror(errno));
            return 1;
        }
        printf("created data directory: %s\n", s->data_dir);
    }
    snprintf(s->artifacts_dir, sizeof(s->artifacts_dir), "%.4000s/artifacts", s->data_dir);
    if (mkdir_p(s->artifacts_dir, 0700) != 0) {
        fprintf(stderr, "ota-server: cannot create %s: %s\n", s->artifacts_dir, strerror(errno));
        return 1;
    }
    char dbpath[PATH_MAX + 16];
    snprintf(dbpath, sizeof(dbpath), "%.4000s/ota.db", s->data_dir);
    if (o->db)
        return db_open_postgres(s, o->db, err, sizeof(err)) ? 0 : 1;
    s->store = store_sqlite_open(dbpath, err, sizeof(err));
    if (!s->store) {
        fprintf(stderr, "ota-server: %s\n", err);
        return 1;
    }
    printf("database: %s (sqlite, WAL)\n", dbpath);
    return 0;
}

/* Storage, keys, admin token, then the HTTP daemon. 0 or an exit code. */
static int start_server(struct server *s, const struct options *o, struct running *run)
{
    char err[512];
    int rc = open_storage(s, o);
    if (rc)
        return rc;
    pthread_mutex_init(&s->seen.lock, NULL);
    pthread_mutex_init(&s->rollout_lock, NULL);
    pthread_mutex_init(&s->delta_lock, NULL);
    int ok = manifest_key(s, o->manifest_key) && admin_token(s, o->reset_token, o->token_file);
    for (int i = 0; ok && i < o->n_trusted; i++)
        ok = add_trusted(s, o->trusted[i]);
    if (ok)
        ok = load_trusted_dir(s);
    if (!ok)
        return 1;
    if (s->n_trusted == 0)
        printf("warning: no trusted firmware keys: release uploads will be refused "
               "(pass --trusted-key PUB.pem)\n");
#ifndef OTA_SERVER_HAVE_DELTA
    s->delta_enabled = 0;
#endif
    printf("delta updates: %s\n", s->delta_enabled ? "on" : "off");

    struct http_opts ho = {.host = o->host, .port = o->port, .threads = o->threads,
                           .access_log = o->access_log};
    if (o->cert) {
        run->cert_pem = read_text(o->cert);
        run->key_pem = read_text(o->key);
        if (!run->cert_pem || !run->key_pem) {
            fprintf(stderr, "ota-server: cannot read %s\n", run->cert_pem ? o->key : o->cert);
            return 1;
        }
        ho.tls_cert_pem = run->cert_pem;
        ho.tls_key_pem = run->key_pem;
    }
    uint16_t bound = 0;
    run->http = http_start(s, &ho, &bound, err, sizeof(err));
    if (!run->http) {
        fprintf(stderr, "ota-server: %s\n", err);
        return 1;
    }
    run->tk.s = s;
    pthread_mutex_init(&run->tk.lock, NULL);
    pthread_cond_init(&run->tk.cond, NULL);
    pthread_create(&run->ticker, NULL, ticker_main, &run->tk);
    run->ticker_started = 1;
    int v6 = strchr(o->host, ':') != NULL;
    printf("listening on %s://%s%s%s:%u (%u threads%s)\n", o->cert ? "https" : "http",
           v6 ? "[" : "", o->host, v6 ? "]" : "", bound, o->threads,
           o->cert ? ", TLS 1.3" : "");
    log_msg(LOG_INFO, "started", "version=%s listen=%s:%u data=\"%s\" store=%s",
            OTA_VERSION, o->host, bound, s->data_dir, s->store->ops->name);
    return 0;
}

/* Waits for SIGTERM or SIGINT (blocked in every thread, taken here). */
static int run_until_signal(const sigset_t *set)
{
    int sig = 0;
    sigwait(set, &sig);
    log_msg(LOG_INFO, "stopping", "signal=%d", sig);
    return sig;
}

/* Stops serving, flushes the inventory queue and frees everything. */
static void shutdown_server(struct server *s, struct running *run)
{
    atomic_store(&s->stopping, 1);
    http_stop(run->http);
    if (run->ticker_started) {
        pthread_mutex_lock(&run->tk.lock);
        run->tk.stop = 1;
        pthread_cond_signal(&run->tk.cond);
        pthread_mutex_unlock(&run->tk.lock);
        pthread_join(run->ticker, NULL);
        seen_flush(s);
    }
    campaign_cache_free(s);
    if (s->store)
        s->store->ops->close(s->store);
    ota_key_free(s->manifest_key);
    free(s->trusted);
    free(s->seen.items);
    free(run->cert_pem);
    free(run->key_pem);
}

int main(int argc, char **argv)
{
    static struct server srv;
    struct server *s = &srv;
    struct options o;
    struct running run;
    memset(&run, 0, sizeof(run));
    setvbuf(stdout, NULL, _IOLBF, 0);
    set_defaults(&o, s);
    int rc = parse_options(argc, argv, &o, s);
    if (rc >= 0)
        return rc;
    if ((rc = validate_options(&o, s)) != 0)
        return rc;

    /* Signals: handled synchronously by the main thread only. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = start_server(s, &o, &run);
    if (rc == 0) {
        int sig = run_until_signal(&set);
        shutdown_server(s, &run);
        log_msg(LOG_INFO, "stopped", "signal=%d", sig);
        printf("stopped\n");
        return 0;
    }
    shutdown_server(s, &run);
    return rc;
}
