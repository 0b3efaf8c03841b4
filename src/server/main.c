// SPDX-License-Identifier: Apache-2.0
/*
 * main.c - ota-server: options (command line over the configuration file),
 * their validation before anything is created, the zero-config first start
 * (data directory, database, online manifest-signing key, admin token), the
 * background ticker (inventory flush, rollout evaluation), SIGHUP reloads
 * and clean shutdown on SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "exit_codes.h" /* enum ota_exit: shared by every program */
#include "ota/version.h"

#include "artifact.h"
#include "campaign_cache.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "rollout.h"
#include "server.h"
#include "trusted.h"

#ifndef OTA_SERVER_DEFAULT_CONFIG
#define OTA_SERVER_DEFAULT_CONFIG "/etc/ota/server.conf"
#endif
#define MAX_TRUSTED_PATHS 64

int64_t srv_now(struct server *s)
{
    return (int64_t)time(NULL) + atomic_load_explicit(&s->clock_offset, memory_order_relaxed);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ota-server [--config FILE] [--data DIR] [--listen HOST:PORT] [options]\n"
            "\n"
            "Runs the ota update server. The first start creates DIR (default ./ota-data):\n"
            "the SQLite database, the online manifest-signing key and an admin token.\n"
            "Every option is checked before anything is created.\n"
            "\n"
            "  --config FILE          read settings from FILE (default " OTA_SERVER_DEFAULT_CONFIG
            "\n"
            "                         when it exists): 'key = value' lines, keys are the long\n"
            "                         options below; a flag given here overrides the file\n"
            "  --data DIR             data directory (database, keys, artifacts)\n"
            "  --db postgres://...    store in PostgreSQL instead of DIR/ota.db (libpq URI\n"
            "                         or 'host=... dbname=...'); several nodes may share it\n"
            "  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080; HOST is\n"
            "                         an address or a name resolved at start; port 0 picks a\n"
            "                         free port; IPv6 as [::1]:PORT)\n"
            "  --tls-cert FILE        PEM certificate (chain): serve HTTPS, TLS 1.3 only\n"
            "  --tls-key FILE         PEM private key for --tls-cert\n"
            "  --manifest-key FILE    sign manifests with this private key instead of\n"
            "                         DIR/keys/manifest-key.pem (key rotation)\n"
            "  --trusted-key FILE     public key (PEM) that signs firmware releases;\n"
            "                         repeatable; DIR/trusted-keys/*.pem are also trusted\n"
            "  --threads N            HTTP worker threads, 1..256 (default: twice the CPUs)\n"
            "  --offer-ttl SECONDS    validity of update manifests (default 86400, >= 60)\n"
            "  --poll-interval SECS   check-in interval suggested to devices (default 300)\n"
            "  --max-body BYTES       limit for JSON request bodies (default 65536, >= 1024)\n"
            "  --max-release BYTES    limit for release uploads (default 67108864)\n"
            "  --header-timeout S     seconds for a request's headers to arrive (default 10)\n"
            "  --body-timeout S       seconds for a request's body to arrive (default 300)\n"
            "  --per-ip-connections N connections per client address, 0 = any (default 64)\n"
            "  --no-delta             always offer full images\n"
            "  --delta-wait SECONDS   how long devices wait for a delta being generated before\n"
            "                         they get the full image (default 600, 1..86400)\n"
            "  --inventory-flush S    seconds between batched inventory writes (1..300, "
            "default 5)\n"
            "  --admin-token-file F   when an admin token is created, also write it to F (0600)\n"
            "  --reset-admin-token    replace the admin token (the old one stops working;\n"
            "                         command line only)\n"
            "  --test-clock           enable POST /v1/admin/clock (tests only)\n"
            "  --log-level LEVEL      debug, info (default), warn, error\n"
            "  --no-access-log        no per-request log lines\n"
            "  --ddi-tenant NAME      hawkBit DDI tenant in /NAME/controller/v1/... (default\n"
            "                         DEFAULT)\n"
            "  --ddi-base-url URL     base of the absolute links DDI answers carry (default:\n"
            "                         http[s]://Host of the request)\n"
            "  --ddi-hw-id-attribute A  DDI configData attribute holding the hardware id\n"
            "                         (default hw_id)\n"
            "  --ddi-anonymous        DDI without tokens: any client acts for any controller\n"
            "                         (tests and closed networks only)\n"
            "  --version, --help\n"
            "\n"
            "SIGHUP re-reads the configuration: trusted keys and the log level take effect,\n"
            "other changed settings are logged as needing a restart.\n"
            "\n"
            "Exit status: 0 stopped by SIGTERM/SIGINT; 1 other failure; 2 bad command line;\n"
            "3 a file or directory could not be created or written; 4 DIR's manifest key\n"
            "is unusable; 15 invalid setting (option or configuration file); 30 cannot\n"
            "listen (address in use, not local); 31 database cannot be opened or migrated.\n");
}

/* ---- options ------------------------------------------------------------ */

enum {
    O_DATA = 256, O_LISTEN, O_CERT, O_KEY, O_TRUSTED, O_THREADS, O_TTL, O_POLL,
    O_MAXBODY, O_MAXREL, O_NODELTA, O_TOKFILE, O_RESET, O_TESTCLOCK, O_LOGLEVEL,
    O_NOACCESS, O_INVFLUSH, O_MKEY, O_DB, O_HDRTIME, O_BODYTIME, O_PERIP, O_DDI_TENANT,
    O_DDI_URL, O_DDI_HWATTR, O_DDI_ANON, O_CONFIG, O_DELTAWAIT,
    O_VERSION, O_HELP, O_END
};
#define N_OPTS (O_END - O_DATA)
/* Indexed by id - O_DATA. */
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
    {"header-timeout", required_argument, NULL, O_HDRTIME},
    {"body-timeout", required_argument, NULL, O_BODYTIME},
    {"per-ip-connections", required_argument, NULL, O_PERIP},
    {"ddi-tenant", required_argument, NULL, O_DDI_TENANT},
    {"ddi-base-url", required_argument, NULL, O_DDI_URL},
    {"ddi-hw-id-attribute", required_argument, NULL, O_DDI_HWATTR},
    {"ddi-anonymous", no_argument, NULL, O_DDI_ANON},
    {"config", required_argument, NULL, O_CONFIG},
    {"delta-wait", required_argument, NULL, O_DELTAWAIT},
    {"version", no_argument, NULL, O_VERSION},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static const char *opt_name(int id)
{
    return OPTS[id - O_DATA].name;
}

/* Every setting, wherever it came from (defaults, file, command line). */
struct options {
    const char *config; /* the file read, or NULL */
    struct config_file cf;
    const char *data, *listen, *cert, *key, *token_file, *manifest_key, *db;
    const char *ddi_tenant, *ddi_base_url, *ddi_hw_attr; /* hawkBit DDI (docs/ddi.md) */
    int ddi_anonymous;
    const char *trusted[MAX_TRUSTED_PATHS];
    unsigned trusted_line[MAX_TRUSTED_PATHS]; /* 0: command line */
    int n_trusted;
    uint64_t threads, offer_ttl, delta_wait, poll_interval, max_body, max_release, inventory_flush;
    uint64_t header_timeout, body_timeout, per_ip; /* slow clients (http.h) */
    int delta, test_clock, access_log, reset_token;
    enum log_level log_level;
    unsigned line[N_OPTS]; /* config file line of each option, 0: not from the file */
};

/* What validate_options() derived from the options, nothing yet on disk. */
struct checked {
    char host[128];              /* numeric address to listen on */
    uint16_t port;
    char *cert_pem, *key_pem;
    struct trusted_set *trusted;
    ota_key *manifest_key;       /* --manifest-key, loaded */
};

static void set_defaults(struct options *o)
{
    memset(o, 0, sizeof(*o));
    o->data = "ota-data";
    o->listen = "127.0.0.1:8080";
    /* Twice the CPUs: handlers sometimes wait on the disk (commits of
     * reports, delta generation) and should not stall other requests. */
    o->threads = 2 * (uint64_t)sysconf(_SC_NPROCESSORS_ONLN);
    if (o->threads > 256)
        o->threads = 256;
    o->offer_ttl = 86400;
    o->delta_wait = 600;
    o->poll_interval = 300;
    o->max_body = 65536;
    o->max_release = 64u << 20;
    o->inventory_flush = 5;
    o->header_timeout = HTTP_DEFAULT_HEADER_TIMEOUT;
    o->body_timeout = HTTP_DEFAULT_BODY_TIMEOUT;
    o->per_ip = HTTP_DEFAULT_PER_IP_LIMIT;
    o->delta = 1;
    o->access_log = 1;
    o->log_level = LOG_INFO;
    o->ddi_tenant = "DEFAULT";
    o->ddi_base_url = "";
    o->ddi_hw_attr = "hw_id";
}

/* "--threads" or "/etc/ota/server.conf:7: threads", for messages. */
static const char *where(const struct options *o, int id, unsigned line, char *buf, size_t n)
{
    if (line)
        snprintf(buf, n, "%s:%u: %s", o->config, line, opt_name(id));
    else
        snprintf(buf, n, "--%s", opt_name(id));
    return buf;
}

static int parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (!*v || *v < '0' || *v > '9')
        return 0;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (*end || errno == ERANGE || x < min || x > max)
        return 0;
    *out = x;
    return 1;
}

static int parse_level(const char *v, enum log_level *out)
{
    static const char *const NAMES[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(v, NAMES[i]) == 0) {
            *out = (enum log_level)i;
            return 1;
        }
    return 0;
}

/* A switch given in the file: "no-delta = true". */
static int parse_bool(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
        *out = 0;
    else
        return 0;
    return 1;
}

/* One setting (line 0: from the command line). 1, or 0 with the reason on
 * stderr. value is NULL for a switch on the command line. */
static int apply_option(struct options *o, int id, const char *value, unsigned line)
{
    char w[PATH_MAX + 64];
    const struct {
        int id;
        uint64_t *field, min, max;
    } NUM[] = {
        {O_THREADS, &o->threads, 1, 256},
        {O_TTL, &o->offer_ttl, 60, 10ull * 366 * 86400},
        {O_DELTAWAIT, &o->delta_wait, 1, 86400},
        {O_POLL, &o->poll_interval, 1, 7 * 86400},
        {O_MAXBODY, &o->max_body, 1024, 1u << 30},
        {O_MAXREL, &o->max_release, 1024, UINT32_MAX},
        {O_INVFLUSH, &o->inventory_flush, 1, 300},
        {O_HDRTIME, &o->header_timeout, 1, 3600},
        {O_BODYTIME, &o->body_timeout, 1, 86400},
        {O_PERIP, &o->per_ip, 0, 4096},
    };
    for (size_t i = 0; i < sizeof(NUM) / sizeof(NUM[0]); i++) {
        if (NUM[i].id != id)
            continue;
        if (!parse_u64(value, NUM[i].min, NUM[i].max, NUM[i].field)) {
            fprintf(stderr, "ota-server: %s: '%s' is not a number in %llu..%llu\n",
                    where(o, id, line, w, sizeof(w)), value,
                    (unsigned long long)NUM[i].min, (unsigned long long)NUM[i].max);
            return 0;
        }
        return 1;
    }
    int on = 1;
    if (OPTS[id - O_DATA].has_arg == no_argument && value && !parse_bool(value, &on)) {
        fprintf(stderr, "ota-server: %s: '%s' is not true or false\n",
                where(o, id, line, w, sizeof(w)), value);
        return 0;
    }
    if (OPTS[id - O_DATA].has_arg == required_argument && !*value) {
        fprintf(stderr, "ota-server: %s: empty value\n", where(o, id, line, w, sizeof(w)));
        return 0;
    }
    switch (id) {
    case O_DATA: o->data = value; break;
    case O_LISTEN: o->listen = value; break;
    case O_CERT: o->cert = value; break;
    case O_KEY: o->key = value; break;
    case O_TOKFILE: o->token_file = value; break;
    case O_MKEY: o->manifest_key = value; break;
    case O_DB: o->db = value; break;
    case O_NODELTA: o->delta = !on; break;
    case O_TESTCLOCK: o->test_clock = on; break;
    case O_NOACCESS: o->access_log = !on; break;
    case O_RESET: o->reset_token = on; break;
    case O_DDI_TENANT: o->ddi_tenant = value; break;
    case O_DDI_URL: o->ddi_base_url = value; break;
    case O_DDI_HWATTR: o->ddi_hw_attr = value; break;
    case O_DDI_ANON: o->ddi_anonymous = on; break;
    case O_TRUSTED:
        if (o->n_trusted == MAX_TRUSTED_PATHS) {
            fprintf(stderr, "ota-server: %s: at most %d trusted keys\n",
                    where(o, id, line, w, sizeof(w)), MAX_TRUSTED_PATHS);
            return 0;
        }
        o->trusted_line[o->n_trusted] = line;
        o->trusted[o->n_trusted++] = value;
        break;
    case O_LOGLEVEL:
        if (!parse_level(value, &o->log_level)) {
            fprintf(stderr, "ota-server: %s: unknown level '%s' (debug, info, warn, error)\n",
                    where(o, id, line, w, sizeof(w)), value);
            return 0;
        }
        break;
    default: break;
    }
    return 1;
}

/* The configuration file's settings (before the command line's). */
static int apply_config_file(struct options *o)
{
    char err[PATH_MAX + 256];
    if (!config_file_load(o->config, &o->cf, err, sizeof(err))) {
        fprintf(stderr, "ota-server: %s\n", err);
        return 0;
    }
    for (size_t i = 0; i < o->cf.n; i++) {
        const struct config_entry *e = &o->cf.entries[i];
        int id = 0;
        for (int k = 0; OPTS[k].name; k++)
            if (strcmp(OPTS[k].name, e->key) == 0)
                id = OPTS[k].val;
        if (!id) {
            fprintf(stderr, "ota-server: %s:%u: unknown key '%s' (see ota-server --help)\n",
                    o->config, e->line, e->key);
            return 0;
        }
        if (id == O_CONFIG || id == O_VERSION || id == O_HELP || id == O_RESET) {
            fprintf(stderr, "ota-server: %s:%u: '%s' is a command-line option only\n",
                    o->config, e->line, e->key);
            return 0;
        }
        if (id != O_TRUSTED && o->line[id - O_DATA]) {
            fprintf(stderr, "ota-server: %s:%u: '%s' already set on line %u\n", o->config,
                    e->line, e->key, o->line[id - O_DATA]);
            return 0;
        }
        o->line[id - O_DATA] = e->line;
        if (!apply_option(o, id, e->value, e->line))
            return 0;
    }
    return 1;
}

/* Defaults, then the configuration file, then the command line (a flag
 * replaces the file's value; --trusted-key flags replace all the file's
 * trusted keys). Returns -1 to go on, otherwise the exit code (0 after
 * --help/--version). Used at start and again on SIGHUP. */
static int load_options(int argc, char **argv, struct options *o)
{
    struct cli_opt {
        int id;
        const char *arg;
    } *cli = calloc((size_t)argc + 1, sizeof(*cli));
    int n_cli = 0, c, rc = -1;
    if (!cli)
        return OTA_EXIT_ERROR;
    const char *config = NULL;
    set_defaults(o);
    optind = 0; /* GNU getopt: full re-initialisation (SIGHUP parses again) */
    opterr = 1;
    while (rc < 0 && (c = getopt_long(argc, argv, "", OPTS, NULL)) != -1) {
        if (c == O_VERSION) {
            printf("ota-server %s\n", OTA_VERSION);
#ifdef OTA_SERVER_HAVE_PG
            printf("database schema: sqlite %d, postgresql %d\n", store_sqlite_schema_version(),
                   store_pg_schema_version());
#else
            printf("database schema: sqlite %d (built without PostgreSQL)\n",
                   store_sqlite_schema_version());
#endif
            rc = OTA_EXIT_OK;
        } else if (c == O_HELP) {
            usage(stdout);
            rc = OTA_EXIT_OK;
        } else if (c < O_DATA || c >= O_END) {
            usage(stderr);
            rc = OTA_EXIT_USAGE;
        } else if (c == O_CONFIG) {
            config = optarg;
        } else {
            cli[n_cli].id = c;
            cli[n_cli++].arg = optarg;
        }
    }
    if (rc < 0 && optind < argc) {
        fprintf(stderr, "ota-server: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        rc = OTA_EXIT_USAGE;
    }
    if (rc < 0 && !config && access(OTA_SERVER_DEFAULT_CONFIG, F_OK) == 0)
        config = OTA_SERVER_DEFAULT_CONFIG;
    o->config = config;
    if (rc < 0 && config && !apply_config_file(o))
        rc = OTA_EXIT_CONFIG;
    for (int i = 0, cli_trusted = 0; rc < 0 && i < n_cli; i++) {
        if (cli[i].id == O_TRUSTED && !cli_trusted++)
            o->n_trusted = 0;
        o->line[cli[i].id - O_DATA] = 0;
        if (!apply_option(o, cli[i].id, cli[i].arg, 0))
            rc = OTA_EXIT_CONFIG;
    }
    free(cli);
    return rc;
}

static void free_options(struct options *o)
{
    config_file_free(&o->cf);
}

/* ---- validation (nothing is created here) -------------------------------- */

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
    if (*end || colon[1] < '0' || colon[1] > '9' || p < 0 || p > 65535)
        return 0;
    *port = (uint16_t)p;
    return 1;
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-'. */
static int valid_hostname(const char *h)
{
    size_t label = 0, n = strlen(h);
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return 0;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   (c == '-' && label > 0)) {
            if (++label > 63)
                return 0;
        } else {
            return 0;
        }
    }
    return h[n - 1] != '-';
}

/* HOST:PORT to a numeric address: a name is resolved now, once. */
static int check_listen(const struct options *o, struct checked *ck)
{
    char w[PATH_MAX + 64], name[128];
    struct in6_addr a6;
    struct in_addr a4;
    where(o, O_LISTEN, o->line[O_LISTEN - O_DATA], w, sizeof(w));
    if (!parse_listen(o->listen, name, sizeof(name), &ck->port)) {
        fprintf(stderr, "ota-server: %s '%s': expected HOST:PORT (e.g. 127.0.0.1:8080)\n", w,
                o->listen);
        return 0;
    }
    if (inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1) {
        snprintf(ck->host, sizeof(ck->host), "%s", name);
        return 1;
    }
    if (!valid_hostname(name)) {
        fprintf(stderr, "ota-server: %s '%s': '%s' is neither an IP address nor a host name\n",
                w, o->listen, name);
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int e = getaddrinfo(name, NULL, &hints, &res);
    if (e != 0 || !res) {
        fprintf(stderr, "ota-server: %s '%s': cannot resolve '%s': %s\n", w, o->listen, name,
                e ? gai_strerror(e) : "no address");
        return 0;
    }
    const void *addr = res->ai_family == AF_INET6
                           ? (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr
                           : (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr;
    inet_ntop(res->ai_family, addr, ck->host, sizeof(ck->host));
    freeaddrinfo(res);
    printf("listen: %s resolves to %s\n", name, ck->host);
    return 1;
}

/* A port in use is found before anything is created (http_start() binds
 * again; the window between the two is the only race left). */
static int probe_listen(const struct checked *ck)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    if (ck->port == 0)
        return 1;
    if (inet_pton(AF_INET, ck->host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)&ss)->sin_port = htons(ck->port);
        sl = sizeof(struct sockaddr_in);
    } else {
        inet_pton(AF_INET6, ck->host, &((struct sockaddr_in6 *)&ss)->sin6_addr);
        ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)&ss)->sin6_port = htons(ck->port);
        sl = sizeof(struct sockaddr_in6);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, ok = 0;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        ok = bind(fd, (struct sockaddr *)&ss, sl) == 0;
    }
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (ok)
        return 1;
    int v6 = ss.ss_family == AF_INET6;
    fprintf(stderr, "ota-server: cannot listen on %s%s%s:%u: %s%s\n", v6 ? "[" : "", ck->host,
            v6 ? "]" : "", ck->port, strerror(err),
            err == EADDRINUSE ? " (another process uses this port)"
            : err == EACCES   ? " (ports below 1024 need CAP_NET_BIND_SERVICE)"
                              : "");
    return 0;
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

/* TLS certificate and key: readable, PEM, and belonging together. */
static int check_tls(const struct options *o, struct checked *ck)
{
    char wc[PATH_MAX + 64], wk[PATH_MAX + 64];
    if (!o->cert && !o->key)
        return 1;
    where(o, O_CERT, o->line[O_CERT - O_DATA], wc, sizeof(wc));
    where(o, O_KEY, o->line[O_KEY - O_DATA], wk, sizeof(wk));
    if (!o->cert || !o->key) {
        fprintf(stderr, "ota-server: %s: --tls-cert and --tls-key go together\n",
                o->cert ? wc : wk);
        return 0;
    }
    ck->cert_pem = read_text(o->cert);
    ck->key_pem = read_text(o->key);
    if (!ck->cert_pem || !ck->key_pem) {
        fprintf(stderr, "ota-server: %s %s: cannot read: %s\n", ck->cert_pem ? wk : wc,
                ck->cert_pem ? o->key : o->cert, strerror(errno));
        return 0;
    }
    BIO *bc = BIO_new_mem_buf(ck->cert_pem, -1), *bk = BIO_new_mem_buf(ck->key_pem, -1);
    X509 *x = bc ? PEM_read_bio_X509(bc, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = bk ? PEM_read_bio_PrivateKey(bk, NULL, NULL, NULL) : NULL;
    int ok = x && k && X509_check_private_key(x, k) == 1;
    if (!ok)
        fprintf(stderr, "ota-server: %s\n",
                !x   ? "the --tls-cert file holds no PEM certificate"
                : !k ? "the --tls-key file holds no PEM private key (unencrypted)"
                     : "--tls-key is not the private key of --tls-cert");
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(bc);
    BIO_free(bk);
    return ok;
}

/* Firmware signing keys: the options' files and DATA/trusted-keys. */
static struct trusted_set *check_trusted(const struct options *o)
{
    char err[PATH_MAX + 256], w[PATH_MAX + 64];
    struct trusted_set *t = trusted_load(o->trusted, o->n_trusted, o->data, err, sizeof(err));
    if (!t) {
        /* Name the setting when the failing file is one of the options'. */
        const char *src = "trusted key";
        for (int i = 0; i < o->n_trusted; i++)
            if (strncmp(err, o->trusted[i], strlen(o->trusted[i])) == 0 &&
                err[strlen(o->trusted[i])] == ':')
                src = where(o, O_TRUSTED, o->trusted_line[i], w, sizeof(w));
        fprintf(stderr, "ota-server: %s: %s\n", src, err);
    }
    return t;
}

/* The data directory, when it exists, is a directory we can write. */
static int check_dirs(const struct options *o)
{
    char w[PATH_MAX + 64];
    struct stat st;
    if (stat(o->data, &st) == 0 && (!S_ISDIR(st.st_mode) || access(o->data, W_OK | X_OK))) {
        fprintf(stderr, "ota-server: %s %s: %s\n",
                where(o, O_DATA, o->line[O_DATA - O_DATA], w, sizeof(w)), o->data,
                S_ISDIR(st.st_mode) ? "directory not writable" : "not a directory");
        return 0;
    }
    if (o->token_file) {
        char copy[PATH_MAX];
        snprintf(copy, sizeof(copy), "%s", o->token_file);
        const char *dir = dirname(copy);
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK)) {
            fprintf(stderr, "ota-server: %s %s: directory %s missing or not writable\n",
                    where(o, O_TOKFILE, o->line[O_TOKFILE - O_DATA], w, sizeof(w)),
                    o->token_file, dir);
            return 0;
        }
    }
    return 1;
}

static int check_db(const struct options *o)
{
    char w[PATH_MAX + 64];
    if (!o->db)
        return 1;
    where(o, O_DB, o->line[O_DB - O_DATA], w, sizeof(w));
    int uri = strncmp(o->db, "postgres://", 11) == 0 || strncmp(o->db, "postgresql://", 13) == 0;
    if (!uri && !strchr(o->db, '=')) {
        fprintf(stderr, "ota-server: %s '%s': expected postgres://... or a libpq "
                        "conninfo such as 'host=H dbname=D'\n", w, o->db);
        return 0;
    }
#ifndef OTA_SERVER_HAVE_PG
    fprintf(stderr, "ota-server: %s: built without PostgreSQL support (libpq-dev)\n", w);
    return 0;
#else
    return 1;
#endif
}

/* An operator-managed manifest key (e.g. during a rotation). */
static int check_manifest_key(const struct options *o, struct checked *ck)
{
    char err[PATH_MAX + 256] = "", w[PATH_MAX + 64];
    if (!o->manifest_key)
        return 1;
    if (ota_key_load(o->manifest_key, &ck->manifest_key, err, sizeof(err)) != OTA_OK ||
        !ota_key_has_private(ck->manifest_key)) {
        fprintf(stderr, "ota-server: %s: %s\n",
                where(o, O_MKEY, o->line[O_MKEY - O_DATA], w, sizeof(w)),
                err[0] ? err : "not a private key");
        return 0;
    }
    return 1;
}

static void free_checked(struct checked *ck)
{
    free(ck->cert_pem);
    free(ck->key_pem);
    trusted_release(ck->trusted);
    ota_key_free(ck->manifest_key);
    memset(ck, 0, sizeof(*ck));
}

/* Every setting is checked here, before anything is created, so a failed
 * first start burns nothing (in particular not the one-time admin token).
 * 0 or an exit code. */
/* The hawkBit DDI settings (ddi.c checks them). */
static int check_ddi(const struct options *o)
{
    struct ddi_config dc;
    char err[256], w[PATH_MAX + 64];
    int bad = ddi_config_set(&dc, o->ddi_tenant, o->ddi_base_url, o->ddi_hw_attr,
                             o->ddi_anonymous, o->cert != NULL, err, sizeof(err));
    if (bad) {
        static const int WHICH[] = {0, O_DDI_TENANT, O_DDI_URL, O_DDI_HWATTR};
        int id = WHICH[bad];
        fprintf(stderr, "ota-server: %s: %s\n", where(o, id, o->line[id - O_DATA], w, sizeof(w)),
                err);
        return 0;
    }
    return 1;
}

static int validate_options(const struct options *o, struct checked *ck)
{
    if (!check_listen(o, ck) || !check_tls(o, ck) || !check_dirs(o) || !check_db(o) ||
        !check_ddi(o) || !check_manifest_key(o, ck) || !(ck->trusted = check_trusted(o)))
        return OTA_EXIT_CONFIG;
    if (!probe_listen(ck))
        return OTA_EXIT_SERVER_LISTEN;
    return 0;
}

/* ---- first start: data directory, database, keys, admin token ----------- */

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

static int print_manifest_key(struct server *s, const char *what, const char *path)
{
    if (ota_key_pubkey(s->manifest_key, &s->manifest_pub) != OTA_OK ||
        ota_manifest_key_id(ota_crypto_openssl(), &s->manifest_pub, s->manifest_key_id) !=
            OTA_OK) {
        fprintf(stderr, "ota-server: %s: unusable manifest key\n", path);
        return 0;
    }
    char kid[17];
    ota_hex_encode(s->manifest_key_id, OTA_MANIFEST_KEY_ID_LEN, kid);
    printf("%s: %s (key id %s)\n", what, path, kid);
    return 1;
}

/* The manifest-signing key: the checked --manifest-key, or DATA/keys/
 * (created on the first start). 0 or an exit code. */
static int manifest_key(struct server *s, const struct options *o, struct checked *ck)
{
    char priv[PATH_MAX + 32], pub[PATH_MAX + 32], kdir[PATH_MAX + 8], err[PATH_MAX + 256] = "";
    if (ck->manifest_key) {
        s->manifest_key = ck->manifest_key;
        ck->manifest_key = NULL;
        return print_manifest_key(s, "manifest signing key", o->manifest_key)
                   ? 0 : OTA_EXIT_CONFIG;
    }
    snprintf(kdir, sizeof(kdir), "%.4000s/keys", s->data_dir);
    snprintf(priv, sizeof(priv), "%.4000s/manifest-key.pem", kdir);
    snprintf(pub, sizeof(pub), "%.4000s/manifest-key.pub.pem", kdir);
    if (mkdir_p(kdir, 0700) != 0) {
        fprintf(stderr, "ota-server: cannot create %s: %s\n", kdir, strerror(errno));
        return OTA_EXIT_FILE;
    }
    if (access(priv, F_OK) != 0) {
        if (ota_key_generate(&s->manifest_key) != OTA_OK ||
            ota_key_save_private(s->manifest_key, priv) != OTA_OK ||
            ota_key_save_public(s->manifest_key, pub) != OTA_OK) {
            fprintf(stderr, "ota-server: cannot create the manifest key %s\n", priv);
            return OTA_EXIT_FILE;
        }
        printf("created manifest signing key: %s\n", priv);
    } else if (ota_key_load(priv, &s->manifest_key, err, sizeof(err)) != OTA_OK ||
               !ota_key_has_private(s->manifest_key)) {
        fprintf(stderr, "ota-server: manifest key: %s\n", err[0] ? err : "not a private key");
        return OTA_EXIT_KEY;
    }
    if (access(pub, F_OK) != 0)
        ota_key_save_public(s->manifest_key, pub);
    return print_manifest_key(s, "manifest public key (devices trust this)", pub)
               ? 0 : OTA_EXIT_KEY;
}

/* The admin token: kept, or created (and shown once) on the first start or
 * with --reset-admin-token. The token file is written before the hash is
 * stored, so a token is never stored that nobody could read. */
static int admin_token(struct server *s, const struct options *o)
{
    char hex[2 * OTA_SHA256_LEN + 1];
    struct store *st = s->store;
    if (!o->reset_token &&
        st->ops->setting_get(st, "admin_token_sha256", hex, sizeof(hex)) == STORE_OK &&
        ota_hex_decode(hex, s->admin_hash, OTA_SHA256_LEN) == OTA_SHA256_LEN) {
        printf("admin token: unchanged (only its hash is stored; --reset-admin-token "
               "makes a new one)\n");
        return 0;
    }
    char token[TOKEN_STR_MAX];
    if (!token_new("otaa", token, s->admin_hash)) {
        fprintf(stderr, "ota-server: no randomness for the admin token\n");
        return OTA_EXIT_ERROR;
    }
    ota_hex_encode(s->admin_hash, OTA_SHA256_LEN, hex);
    if (o->token_file) {
        char line[TOKEN_STR_MAX + 2];
        snprintf(line, sizeof(line), "%s\n", token);
        if (ota_file_write_atomic_mode(o->token_file, line, strlen(line), 0600) != OTA_OK) {
            fprintf(stderr, "ota-server: cannot write %s: %s\n", o->token_file,
                    strerror(errno));
            return OTA_EXIT_FILE;
        }
    }
    if (st->ops->setting_put(st, "admin_token_sha256", hex) != STORE_OK) {
        fprintf(stderr, "ota-server: cannot store the admin token's hash\n");
        return OTA_EXIT_SERVER_DATABASE;
    }
    if (o->token_file)
        printf("admin token written to: %s\n", o->token_file);
    printf("admin token (shown once; only its hash is stored): %s\n", token);
    return 0;
}

/* The data directory, its artifacts directory and the database. 0 or an
 * exit code. */
static int open_storage(struct server *s, const struct options *o)
{
    char err[512] = "";
    if (o->db) {
        /* PostgreSQL first: an unreachable database creates no directory. */
#ifdef OTA_SERVER_HAVE_PG
        s->store = store_pg_open(o->db, err, sizeof(err));
#endif
        if (!s->store) {
            fprintf(stderr, "ota-server: %s\n", err);
            return OTA_EXIT_SERVER_DATABASE;
        }
        printf("database: PostgreSQL (shared by every node started with the same --db)\n");
    }
    if (!realpath(o->data, s->data_dir)) {
        if (mkdir_p(o->data, 0700) != 0 || !realpath(o->data, s->data_dir)) {
            fprintf(stderr, "ota-server: cannot create data directory %s: %s\n", o->data,
                    strerror(errno));
            return OTA_EXIT_FILE;
        }
        printf("created data directory: %s\n", s->data_dir);
    }
    snprintf(s->artifacts_dir, sizeof(s->artifacts_dir), "%.4000s/artifacts", s->data_dir);
    if (mkdir_p(s->artifacts_dir, 0700) != 0) {
        fprintf(stderr, "ota-server: cannot create %s: %s\n", s->artifacts_dir, strerror(errno));
        return OTA_EXIT_FILE;
    }
    if (s->store)
        return 0;
    char dbpath[PATH_MAX + 16];
    snprintf(dbpath, sizeof(dbpath), "%.4000s/ota.db", s->data_dir);
    s->store = store_sqlite_open(dbpath, err, sizeof(err));
    if (!s->store) {
        fprintf(stderr, "ota-server: %s\n", err);
        return OTA_EXIT_SERVER_DATABASE;
    }
    printf("database: %s (sqlite, WAL)\n", dbpath);
    return 0;
}

/* ---- running ------------------------------------------------------------ */

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

/* Storage, keys, admin token, then the HTTP daemon. 0 or an exit code. */
static int start_server(struct server *s, const struct options *o, struct checked *ck,
                        struct running *run)
{
    char err[512];
    s->offer_ttl = (int64_t)o->offer_ttl;
    s->poll_interval = (int64_t)o->poll_interval;
    s->max_body = o->max_body;
    s->max_release = o->max_release;
    s->delta_enabled = o->delta;
    s->delta_wait = (int64_t)o->delta_wait;
    s->inventory_flush = (int64_t)o->inventory_flush;
    s->test_clock = o->test_clock;
    char derr[256];
    ddi_config_set(&s->ddi, o->ddi_tenant, o->ddi_base_url, o->ddi_hw_attr, o->ddi_anonymous,
                   o->cert != NULL, derr, sizeof(derr)); /* checked by check_ddi() */
    if (s->ddi.anonymous)
        printf("warning: --ddi-anonymous: any client may poll DDI as any controller and "
               "register new ones\n");
    trusted_replace(s, ck->trusted);
    ck->trusted = NULL;
    pthread_mutex_init(&s->seen.lock, NULL);
    pthread_mutex_init(&s->rollout_lock, NULL);
    pthread_mutex_init(&s->delta_lock, NULL);
    int rc = open_storage(s, o);
    if (rc || (rc = manifest_key(s, o, ck)) || (rc = admin_token(s, o)))
        return rc;
    if (s->trusted->n == 0)
        printf("warning: no trusted firmware keys: release uploads will be refused "
               "(pass --trusted-key PUB.pem)\n");
#ifndef OTA_SERVER_HAVE_DELTA
    s->delta_enabled = 0;
#endif
    printf("delta updates: %s\n", s->delta_enabled ? "on" : "off");

    struct http_opts ho = {.host = ck->host, .port = ck->port, .threads = (unsigned)o->threads,
                           .access_log = o->access_log,
                           .header_timeout = (unsigned)o->header_timeout,
                           .body_timeout = (unsigned)o->body_timeout,
                           .per_ip_limit = (unsigned)o->per_ip};
    run->cert_pem = ck->cert_pem;
    run->key_pem = ck->key_pem;
    ck->cert_pem = ck->key_pem = NULL;
    ho.tls_cert_pem = run->cert_pem;
    ho.tls_key_pem = run->key_pem;
    uint16_t bound = 0;
    delta_queue_start(s); /* before the first check-in can queue a delta */
    run->http = http_start(s, &ho, &bound, err, sizeof(err));
    if (!run->http) {
        delta_queue_stop(s);
        fprintf(stderr, "ota-server: %s\n", err);
        return OTA_EXIT_SERVER_LISTEN;
    }
    run->tk.s = s;
    pthread_mutex_init(&run->tk.lock, NULL);
    pthread_cond_init(&run->tk.cond, NULL);
    pthread_create(&run->ticker, NULL, ticker_main, &run->tk);
    run->ticker_started = 1;
    int v6 = strchr(ck->host, ':') != NULL;
    printf("listening on %s://%s%s%s:%u (%u threads%s)\n", o->cert ? "https" : "http",
           v6 ? "[" : "", ck->host, v6 ? "]" : "", bound, (unsigned)o->threads,
           o->cert ? ", TLS 1.3" : "");
    /* The web console (docs/console.md) on the same port. */
    printf("web console: %s://%s%s%s:%u/ (log in with a token)\n", o->cert ? "https" : "http",
           v6 ? "[" : "", ck->host, v6 ? "]" : "", bound);
    log_msg(LOG_INFO, "started", "version=%s listen=%s:%u data=\"%s\" store=%s",
            OTA_VERSION, ck->host, bound, s->data_dir, s->store->ops->name);
    return 0;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* SIGHUP: the options are read again (file and command line). The trusted
 * keys and the log level take effect; every other changed setting is
 * logged as needing a restart. A bad configuration changes nothing. */
static void reload(struct server *s, int argc, char **argv, struct options *cur)
{
    struct options *n = calloc(1, sizeof(*n));
    struct trusted_set *t = NULL;
    int rc = n ? load_options(argc, argv, n) : OTA_EXIT_ERROR;
    if (rc < 0 && !(t = check_trusted(n)))
        rc = OTA_EXIT_CONFIG;
    if (rc >= 0) {
        log_msg(LOG_ERROR, "reload_failed",
                "reason=\"invalid configuration (see stderr); nothing changed\"");
        printf("reload failed: nothing changed\n");
        if (n)
            free_options(n);
        free(n);
        return;
    }
    const struct {
        int id, changed;
    } FIXED[] = {
        {O_DATA, !same_str(cur->data, n->data)},
        {O_LISTEN, !same_str(cur->listen, n->listen)},
        {O_CERT, !same_str(cur->cert, n->cert)},
        {O_KEY, !same_str(cur->key, n->key)},
        {O_TOKFILE, !same_str(cur->token_file, n->token_file)},
        {O_MKEY, !same_str(cur->manifest_key, n->manifest_key)},
        {O_DB, !same_str(cur->db, n->db)},
        {O_THREADS, cur->threads != n->threads},
        {O_TTL, cur->offer_ttl != n->offer_ttl},
        {O_POLL, cur->poll_interval != n->poll_interval},
        {O_MAXBODY, cur->max_body != n->max_body},
        {O_MAXREL, cur->max_release != n->max_release},
        {O_NODELTA, cur->delta != n->delta},
        {O_DELTAWAIT, cur->delta_wait != n->delta_wait},
        {O_TESTCLOCK, cur->test_clock != n->test_clock},
        {O_NOACCESS, cur->access_log != n->access_log},
        {O_INVFLUSH, cur->inventory_flush != n->inventory_flush},
        {O_HDRTIME, cur->header_timeout != n->header_timeout},
        {O_BODYTIME, cur->body_timeout != n->body_timeout},
        {O_PERIP, cur->per_ip != n->per_ip},
        {O_DDI_TENANT, !same_str(cur->ddi_tenant, n->ddi_tenant)},
        {O_DDI_URL, !same_str(cur->ddi_base_url, n->ddi_base_url)},
        {O_DDI_HWATTR, !same_str(cur->ddi_hw_attr, n->ddi_hw_attr)},
        {O_DDI_ANON, cur->ddi_anonymous != n->ddi_anonymous},
    };
    for (size_t i = 0; i < sizeof(FIXED) / sizeof(FIXED[0]); i++)
        if (FIXED[i].changed)
            log_msg(LOG_WARN, "reload_needs_restart",
                    "option=%s reason=\"changed; needs restart to take effect\"",
                    opt_name(FIXED[i].id));
    log_set_level(n->log_level);
    size_t nkeys = t->n;
    trusted_replace(s, t);
    /* The running options keep their values, except what was reloaded. */
    cur->log_level = n->log_level;
    free_options(n);
    free(n);
    static const char *const LEVELS[] = {"debug", "info", "warn", "error"};
    log_msg(LOG_INFO, "reloaded", "trusted_keys=%zu log_level=%s", nkeys,
            LEVELS[cur->log_level]);
    printf("reloaded: %zu trusted firmware keys, log level %s\n", nkeys,
           LEVELS[cur->log_level]);
}

/* Waits for SIGTERM or SIGINT (blocked in every thread, taken here);
 * SIGHUP reloads. Returns the stopping signal. */
static int run_until_signal(struct server *s, const sigset_t *set, int argc, char **argv,
                            struct options *o)
{
    int sig = 0;
    while (sigwait(set, &sig) == 0 && sig == SIGHUP) {
        log_msg(LOG_INFO, "reloading", "signal=%d", sig);
        reload(s, argc, argv, o);
    }
    log_msg(LOG_INFO, "stopping", "signal=%d", sig);
    return sig;
}

/* Stops serving, flushes the inventory queue and frees everything. */
static void shutdown_server(struct server *s, struct running *run)
{
    atomic_store(&s->stopping, 1);
    http_stop(run->http);
    delta_queue_stop(s); /* after the handlers that queue deltas have stopped */
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
    trusted_release(s->trusted);
    free(s->seen.items);
    free(run->cert_pem);
    free(run->key_pem);
}

int main(int argc, char **argv)
{
    static struct server srv;
    struct server *s = &srv;
    static struct options o;
    struct checked ck;
    struct running run;
    memset(&ck, 0, sizeof(ck));
    memset(&run, 0, sizeof(run));
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Signals: blocked in every thread (set before any is created) and
     * taken synchronously by the main thread. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    pthread_mutex_init(&s->trusted_lock, NULL);

    int rc = load_options(argc, argv, &o);
    if (rc >= 0) {
        free_options(&o);
        return rc;
    }
    log_set_level(o.log_level);
    if (o.config)
        printf("configuration: %s\n", o.config);
    rc = validate_options(&o, &ck);
    if (rc == 0)
        rc = start_server(s, &o, &ck, &run);
    if (rc != 0) {
        shutdown_server(s, &run);
        free_checked(&ck);
        free_options(&o);
        return rc;
    }
    int sig = run_until_signal(s, &set, argc, argv, &o);
    shutdown_server(s, &run);
    free_checked(&ck);
    free_options(&o);
    log_msg(LOG_INFO, "stopped", "signal=%d", sig);
    printf("stopped\n");
    return OTA_EXIT_OK;
}
