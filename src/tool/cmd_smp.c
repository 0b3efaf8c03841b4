// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/cmd_smp.c - `ota smp`: drive a device's SMP server (MCUmgr
 * protocol, docs/smp.md) for bench and factory use: upload a signed image
 * with a progress bar (resuming at the offset the device reports), read and
 * set image state (test / confirm), reset, erase, echo.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "smp_client.h"
#include "ota/host.h"
#include "tool.h"

#define CMD "smp"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: ota smp --port PORT [options] COMMAND [ARGS]\n\n"
            "Talk to a device's SMP server (MCUmgr's Simple Management Protocol, serial\n"
            "transport) the way mcumgr does.\n\n"
            "Commands:\n"
            "  upload IMAGE     upload a signed image into the slot that is not running;\n"
            "                   an interrupted upload resumes at the device's offset\n"
            "  state            list the images in the slots (version, hash, flags)\n"
            "  test HASH|IMAGE  mark the image with that hash to boot once on trial\n"
            "  confirm [HASH|IMAGE]  confirm the running image (no argument), or make\n"
            "                   another one permanent\n"
            "  reset            reset the device\n"
            "  erase            erase the slot that is not running (--slot N: that one)\n"
            "  offer MANIFEST PAYLOAD  ota group: a server-signed manifest, then its\n"
            "                   payload (full image or delta) through the device's\n"
            "                   update engine; the target ends verified and pending\n"
            "  status           ota group: device id, offer phase, offset, last error\n"
            "  echo TEXT        ask the device to echo TEXT\n"
            "  params           the device's SMP buffer size and count\n\n"
            "Options:\n"
            "  -p, --port PORT  tcp:HOST:PORT, unix:PATH or a serial device (/dev/ttyACM0);\n"
            "                   default $OTA_SMP_PORT\n"
            "      --baud N     serial line rate (default 115200)\n"
            "      --timeout MS wait for each answer (default 5000)\n"
            "      --retries N  resend a request that got no answer (default 2)\n"
            "      --smp-v1     SMP version 1 header (legacy error form)\n"
            "      --test       upload: then mark the image for a trial boot\n"
            "      --confirm    upload: then mark the image permanent\n"
            "      --upgrade    upload: the device refuses an image not newer than its own\n"
            "      --chunk N    upload: data bytes per request (default: from the\n"
            "                   device's buffer size)\n"
            "      --slot N     erase: slot 0 or 1\n"
            "      --progress   upload: progress bar even when stderr is not a terminal\n"
            "      --json       state: print JSON\n"
            "  -q, --quiet      print nothing on success\n"
            "  -h, --help       this help\n");
}

enum {
    OPT_BAUD = 256, OPT_TIMEOUT, OPT_RETRIES, OPT_V1, OPT_TEST, OPT_CONFIRM, OPT_UPGRADE,
    OPT_CHUNK, OPT_SLOT, OPT_PROGRESS, OPT_JSON,
};

struct opts {
    const char *port;
    uint32_t baud, timeout, retries, chunk, slot;
    int v1, test, confirm, upgrade, has_slot, progress, json, quiet;
};

/* Call and report: 0 ok (rsp set), 1 device error, -1 no answer. */
static int call(struct smp_link *l, int op, uint16_t group, uint8_t cmd, const struct smp_enc *e,
                cbor_item_t **rsp)
{
    int rc = smpc_request(l, op, group, cmd, e, rsp);

    if (rc > 0)
        tool_error(CMD, "device refused: %s", l->err);
    else if (rc < 0)
        tool_error(CMD, "%s", l->err);
    return rc;
}

/* The same for the helpers of smp_client.h that return smpc_request's codes. */
static int said(struct smp_link *l, int rc)
{
    if (rc > 0)
        tool_error(CMD, "device refused: %s", l->err);
    else if (rc < 0)
        tool_error(CMD, "%s", l->err);
    return rc;
}

static int exit_of(int rc) { return rc == 0 ? OTA_EXIT_OK : OTA_EXIT_ERROR; }

static void hex(const uint8_t *p, size_t n, char *out) { ota_hex_encode(p, n, out); }

static int print_state(struct smp_link *l, cbor_item_t *rsp, const struct opts *o)
{
    static const char *const FLAGS[] = {"active", "confirmed", "pending", "permanent", "bootable"};
    struct smpc_slot slots[8];
    json_t *arr = json_array();
    size_t i, k, n;

    if (smpc_state_parse(l, rsp, slots, 8, &n) != 0) {
        tool_error(CMD, "%s", l->err);
        json_decref(arr);
        return OTA_EXIT_ERROR;
    }
    for (i = 0; i < n; i++) {
        const struct smpc_slot *sl = &slots[i];
        const int flag[] = {sl->active, sl->confirmed, sl->pending, sl->permanent, sl->bootable};
        char hs[2 * 64 + 1] = "";
        json_t *j = json_object();

        hex(sl->hash, sl->hash_len, hs);
        json_object_set_new(j, "image", json_integer(0));
        json_object_set_new(j, "slot", json_integer((json_int_t)sl->slot));
        json_object_set_new(j, "version", json_string(sl->version));
        json_object_set_new(j, "hash", json_string(hs));
        for (k = 0; k < sizeof FLAGS / sizeof FLAGS[0]; k++)
            json_object_set_new(j, FLAGS[k], json_boolean(flag[k]));
        json_array_append_new(arr, j);
        if (!o->json) {
            printf("slot %u: version %s hash %s", sl->slot, sl->version, hs);
            for (k = 0; k < sizeof FLAGS / sizeof FLAGS[0]; k++)
                if (flag[k])
                    printf(" %s", FLAGS[k]);
            printf("\n");
        }
    }
    if (o->json) {
        json_t *root = json_pack("{s:o}", "images", arr);
        char *js = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", js ? js : "{}");
        free(js);
        json_decref(root);
    } else {
        json_decref(arr);
    }
    return OTA_EXIT_OK;
}

static int do_state(struct smp_link *l, const struct opts *o)
{
    struct smp_enc e = {0};
    cbor_item_t *rsp;
    int rc;

    smp_enc_map(&e, 0);
    rc = call(l, 0, 1, 0, &e, &rsp);
    if (rc)
        return exit_of(rc);
    rc = print_state(l, rsp, o);
    cbor_decref(&rsp);
    return rc;
}

/* HASH (64 hex digits) or a signed image file (its SHA-256 TLV). */
static int image_hash(const char *arg, uint8_t hash[OTA_SHA256_LEN])
{
    struct ota_image_info info;
    struct ota_mem_reader m;
    struct ota_reader r;
    struct ota_diag d = {0};
    uint8_t *data = NULL;
    size_t len = 0;
    ota_err e;

    if (strlen(arg) == 2 * OTA_SHA256_LEN &&
        ota_hex_decode(arg, hash, OTA_SHA256_LEN) == OTA_SHA256_LEN)
        return 0;
    e = ota_file_read(arg, &data, &len);
    if (e) {
        tool_error(CMD, "%s: neither a 64-digit hash nor a readable image (%s)", arg,
                   ota_strerror(e));
        return -1;
    }
    ota_reader_from_mem(&r, &m, data, len);
    e = ota_image_parse(&r, &info, &d);
    free(data);
    if (e || !info.has_hash) {
        tool_error_diag(CMD, arg, e ? e : OTA_ERR_IMAGE_TLV_MISSING, &d);
        return -1;
    }
    memcpy(hash, info.hash, OTA_SHA256_LEN);
    return 0;
}

static int set_state(struct smp_link *l, const struct opts *o, const uint8_t *hash, int confirm)
{
    cbor_item_t *rsp;
    int rc = said(l, smpc_state_write(l, hash, confirm, &rsp));

    if (rc)
        return exit_of(rc);
    rc = o->quiet ? OTA_EXIT_OK : print_state(l, rsp, o);
    cbor_decref(&rsp);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress(const struct opts *o, size_t off, size_t len, double t0, size_t base)
{
    char bar[41];
    size_t fill = len ? off * 40 / len : 40, i;
    double dt = now_s() - t0;

    if (!o->progress)
        return;
    for (i = 0; i < 40; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[40] = 0;
    fprintf(stderr, "\r[%s] %3zu%% %zu/%zu B %.0f B/s", bar, len ? off * 100 / len : 100, off,
            len, dt > 0 ? (double)(off - base) / dt : 0.0);
    fflush(stderr);
}

static int do_upload(struct smp_link *l, const struct opts *o, const char *path)
{
    struct ota_image_info info;
    struct ota_mem_reader m;
    struct ota_reader r;
    struct ota_diag d = {0};
    uint8_t *img = NULL, sha[OTA_SHA256_LEN];
    size_t len = 0, off = 0, base = 0;
    uint32_t chunk;
    double t0, dt;
    int rc = OTA_EXIT_OK, first = 1;
    ota_err e;

    e = ota_file_read(path, &img, &len);
    if (e) {
        tool_error(CMD, "%s: %s", path, ota_strerror(e));
        return OTA_EXIT_FILE;
    }
    ota_reader_from_mem(&r, &m, img, len);
    e = ota_image_parse(&r, &info, &d);
    if (e) {
        tool_error_diag(CMD, path, e, &d);
        free(img);
        return OTA_EXIT_MALFORMED;
    }
    ota_sha256(ota_crypto_openssl(), img, len, sha);
    chunk = smpc_chunk(l, o->chunk);
    t0 = now_s();
    while (off < len || first) {
        struct smp_enc enc = {0};
        cbor_item_t *rsp;
        size_t n = len - off < chunk ? len - off : chunk;
        uint64_t got;
        int crc;

        smp_enc_map(&enc, off == 0 ? 5 + (o->upgrade ? 1 : 0) : 2);
        if (off == 0) {
            smp_enc_tstr(&enc, "image");
            smp_enc_uint(&enc, 0);
            smp_enc_tstr(&enc, "len");
            smp_enc_uint(&enc, len);
            smp_enc_tstr(&enc, "sha");
            smp_enc_bstr(&enc, sha, sizeof sha);
            if (o->upgrade) {
                smp_enc_tstr(&enc, "upgrade");
                smp_enc_bool(&enc, 1);
            }
        }
        smp_enc_tstr(&enc, "off");
        smp_enc_uint(&enc, off);
        smp_enc_tstr(&enc, "data");
        smp_enc_bstr(&enc, img + off, n);
        crc = call(l, 2, 1, 1, &enc, &rsp);
        if (crc) {
            if (o->progress)
                fprintf(stderr, "\n");
            rc = exit_of(crc);
            goto out;
        }
        got = smp_map_uint(rsp, "off", UINT64_MAX);
        if (got == UINT64_MAX || got > len) {
            tool_error(CMD, "upload answer without a valid \"off\"");
            cbor_decref(&rsp);
            rc = OTA_EXIT_ERROR;
            goto out;
        }
        if (got == len && smp_map_get(rsp, "match") && !smp_map_bool(rsp, "match")) {
            tool_error(CMD, "device says the uploaded data does not match its SHA-256");
            cbor_decref(&rsp);
            rc = OTA_EXIT_ERROR;
            goto out;
        }
        cbor_decref(&rsp);
        if (first && got > off + n) {
            base = (size_t)got;
            if (!o->quiet)
                fprintf(stderr, "ota smp: resuming at offset %llu (the device has it)\n",
                        (unsigned long long)got);
            t0 = now_s();
        }
        first = 0;
        off = (size_t)got;
        progress(o, off, len, t0, base);
        if (off == len)
            break;
    }
    dt = now_s() - t0;
    if (o->progress)
        fprintf(stderr, "\n");
    if (!o->quiet) {
        char hs[2 * OTA_SHA256_LEN + 1];
        hex(info.hash, OTA_SHA256_LEN, hs);
        printf("uploaded %zu bytes (%zu sent) in %.2f s: %.0f B/s; image hash %s\n", len,
               len - base, dt, dt > 0 ? (double)(len - base) / dt : 0.0, hs);
    }
    if (o->test || o->confirm)
        rc = set_state(l, o, info.hash, o->confirm);
out:
    free(img);
    return rc;
}

/* ota group 64 (docs/smp.md): a server-signed manifest, then its payload
 * through the device's update engine; the device marks the target pending. */
static int do_offer(struct smp_link *l, const struct opts *o, const char *mpath,
                    const char *ppath)
{
    uint8_t *man = NULL, *pay = NULL;
    size_t man_len = 0, pay_len = 0;
    uint64_t off, size, base;
    uint32_t chunk;
    double t0;
    int rc = OTA_EXIT_OK, pending = 0;
    ota_err e;

    if ((e = ota_file_read(mpath, &man, &man_len)) != OTA_OK ||
        (e = ota_file_read(ppath, &pay, &pay_len)) != OTA_OK) {
        tool_error(CMD, "%s: %s", man ? ppath : mpath, ota_strerror(e));
        free(man);
        return OTA_EXIT_FILE;
    }
    chunk = smpc_chunk(l, o->chunk);
    if ((rc = said(l, smpc_ota_offer(l, man, man_len, NULL, &off, &size))) != 0) {
        rc = exit_of(rc);
        goto out;
    }
    if (size != pay_len) {
        tool_error(CMD, "%s: the manifest names a payload of %llu bytes, the file has %zu",
                   ppath, (unsigned long long)size, pay_len);
        rc = OTA_EXIT_USAGE;
        goto out;
    }
    base = off;
    if (off && !o->quiet)
        fprintf(stderr, "ota smp: resuming at offset %llu (the device has it)\n",
                (unsigned long long)off);
    t0 = now_s();
    while (off < pay_len) {
        size_t n = pay_len - off < chunk ? pay_len - off : chunk;
        uint64_t got;
        if ((rc = said(l, smpc_ota_payload(l, off, pay + off, n, &got, &pending))) != 0) {
            if (o->progress)
                fprintf(stderr, "\n");
            rc = exit_of(rc);
            goto out;
        }
        if (got > pay_len) {
            tool_error(CMD, "payload answer without a valid \"off\"");
            rc = OTA_EXIT_ERROR;
            goto out;
        }
        off = got;
        progress(o, (size_t)off, pay_len, t0, (size_t)base);
    }
    if (o->progress)
        fprintf(stderr, "\n");
    if (!pending) {
        tool_error(CMD, "the device took the payload but did not report the target pending");
        rc = OTA_EXIT_ERROR;
    } else if (!o->quiet) {
        printf("offer accepted: %zu payload bytes, target verified and pending (reset to run it)\n",
               pay_len);
    }
out:
    free(man);
    free(pay);
    return rc;
}

static int do_status(struct smp_link *l)
{
    static const char *const PHASE[] = {"idle", "receiving", "done", "failed"};
    struct smpc_ota_status st;
    int rc;

    if ((rc = said(l, smpc_ota_status(l, &st))) != 0)
        return exit_of(rc);
    printf("device_id: %s\nphase: %s\noff: %llu\nsize: %llu\nerr: %s\n", st.device_id,
           st.phase < 4 ? PHASE[st.phase] : "?", (unsigned long long)st.off,
           (unsigned long long)st.size, st.err ? ota_errname((ota_err)st.err) : "none");
    return OTA_EXIT_OK;
}

static int simple(struct smp_link *l, int op, uint16_t group, uint8_t cmd, const char *what,
                  const struct opts *o, struct smp_enc *e)
{
    cbor_item_t *rsp;
    int rc = call(l, op, group, cmd, e, &rsp);

    if (rc)
        return exit_of(rc);
    if (!o->quiet && what)
        printf("%s\n", what);
    cbor_decref(&rsp);
    return OTA_EXIT_OK;
}

static int run(struct smp_link *l, const struct opts *o, int argc, char **argv)
{
    const char *sub = argv[0];
    struct smp_enc e = {0};
    uint8_t hash[OTA_SHA256_LEN];

    if (strcmp(sub, "upload") == 0 && argc == 2)
        return do_upload(l, o, argv[1]);
    if (strcmp(sub, "offer") == 0 && argc == 3)
        return do_offer(l, o, argv[1], argv[2]);
    if (strcmp(sub, "status") == 0 && argc == 1)
        return do_status(l);
    if (strcmp(sub, "state") == 0 && argc == 1)
        return do_state(l, o);
    if (strcmp(sub, "test") == 0 && argc == 2)
        return image_hash(argv[1], hash) ? OTA_EXIT_USAGE : set_state(l, o, hash, 0);
    if (strcmp(sub, "confirm") == 0 && argc <= 2) {
        if (argc == 2 && image_hash(argv[1], hash))
            return OTA_EXIT_USAGE;
        return set_state(l, o, argc == 2 ? hash : NULL, 1);
    }
    if (strcmp(sub, "reset") == 0 && argc == 1) {
        smp_enc_map(&e, 0);
        return simple(l, 2, 0, 5, "reset", o, &e);
    }
    if (strcmp(sub, "erase") == 0 && argc == 1) {
        smp_enc_map(&e, o->has_slot ? 1 : 0);
        if (o->has_slot) {
            smp_enc_tstr(&e, "slot");
            smp_enc_uint(&e, o->slot);
        }
        return simple(l, 2, 1, 5, "erased", o, &e);
    }
    if (strcmp(sub, "echo") == 0 && argc == 2) {
        cbor_item_t *rsp, *r;
        int rc;
        smp_enc_map(&e, 1);
        smp_enc_tstr(&e, "d");
        smp_enc_tstr(&e, argv[1]);
        rc = call(l, 2, 0, 0, &e, &rsp);
        if (rc)
            return exit_of(rc);
        r = smp_map_get(rsp, "r");
        if (r && cbor_isa_string(r) && cbor_string_is_definite(r))
            printf("%.*s\n", (int)cbor_string_length(r), (const char *)cbor_string_handle(r));
        cbor_decref(&rsp);
        return OTA_EXIT_OK;
    }
    if (strcmp(sub, "params") == 0 && argc == 1) {
        cbor_item_t *rsp;
        int rc;
        smp_enc_map(&e, 0);
        rc = call(l, 0, 0, 6, &e, &rsp);
        if (rc)
            return exit_of(rc);
        printf("buf_size %llu buf_count %llu\n",
               (unsigned long long)smp_map_uint(rsp, "buf_size", 0),
               (unsigned long long)smp_map_uint(rsp, "buf_count", 0));
        cbor_decref(&rsp);
        return OTA_EXIT_OK;
    }
    tool_error(CMD, "unknown command or wrong arguments: '%s' (see 'ota smp --help')", sub);
    return OTA_EXIT_USAGE;
}

int ota_cmd_smp(int argc, char **argv)
{
    static const struct option LONG[] = {
        {"port", required_argument, NULL, 'p'},     {"baud", required_argument, NULL, OPT_BAUD},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"retries", required_argument, NULL, OPT_RETRIES},
        {"smp-v1", no_argument, NULL, OPT_V1},      {"test", no_argument, NULL, OPT_TEST},
        {"confirm", no_argument, NULL, OPT_CONFIRM}, {"upgrade", no_argument, NULL, OPT_UPGRADE},
        {"chunk", required_argument, NULL, OPT_CHUNK}, {"slot", required_argument, NULL, OPT_SLOT},
        {"progress", no_argument, NULL, OPT_PROGRESS}, {"json", no_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct opts o = {.baud = 115200, .timeout = 5000, .retries = 2};
    struct smp_link l = {.fd = -1};
    int c, rc;

    o.port = getenv("OTA_SMP_PORT");
    o.progress = isatty(2);
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:qh", LONG, NULL)) != -1) {
        uint32_t *num = NULL, max = UINT32_MAX;
        switch (c) {
        case 'p': o.port = optarg; break;
        case 'q': o.quiet = 1; break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        case OPT_BAUD: num = &o.baud; break;
        case OPT_TIMEOUT: num = &o.timeout; max = 3600000; break;
        case OPT_RETRIES: num = &o.retries; max = 100; break;
        case OPT_CHUNK: num = &o.chunk; max = 3968; break;
        case OPT_SLOT: num = &o.slot; max = 1; o.has_slot = 1; break;
        case OPT_V1: o.v1 = 1; break;
        case OPT_TEST: o.test = 1; break;
        case OPT_CONFIRM: o.confirm = 1; break;
        case OPT_UPGRADE: o.upgrade = 1; break;
        case OPT_PROGRESS: o.progress = 2; break;
        case OPT_JSON: o.json = 1; break;
        default: help(stderr); return OTA_EXIT_USAGE;
        }
        if (num && tool_parse_u32(optarg, max, 0, num) != 0) {
            tool_error(CMD, "bad number '%s' for --%s (at most %u)", optarg,
                       LONG[c == OPT_BAUD ? 1 : 0].name, max);
            return OTA_EXIT_USAGE;
        }
    }
    if (o.quiet && o.progress == 1)
        o.progress = 0;
    if (optind >= argc) {
        help(stderr);
        return OTA_EXIT_USAGE;
    }
    if (!o.port) {
        tool_error(CMD, "no device: give --port tcp:HOST:PORT|unix:PATH|DEVICE or set OTA_SMP_PORT");
        return OTA_EXIT_USAGE;
    }
    if (o.chunk && o.chunk < 32) {
        tool_error(CMD, "--chunk must be at least 32 (an image header)");
        return OTA_EXIT_USAGE;
    }
    if (smp_link_open(&l, o.port, o.baud) != 0) {
        tool_error(CMD, "%s", l.err);
        return OTA_EXIT_ERROR;
    }
    l.ver = o.v1 ? 0 : 1;
    l.timeout_ms = (int)o.timeout;
    l.retries = (int)o.retries;
    rc = run(&l, &o, argc - optind, argv + optind);
    smp_link_close(&l);
    return rc;
}
