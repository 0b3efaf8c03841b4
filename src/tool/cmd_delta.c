// SPDX-License-Identifier: Apache-2.0
/*
 * src/tool/cmd_delta.c - `ota delta create|apply|info`: make a patch from two
 * images on the host, apply one with the device core's streaming applier
 * (the exact code an MCU runs, fed in chunks like a download), and show a
 * patch's header. Exit codes: 0 ok, 2 usage, 3 file, 5 malformed patch,
 * 6 truncated patch, 8 base or result hash mismatch, 13 too large, 1 other.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ota/deflate.h"
#include "ota/delta.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "tool.h"

static const char *const FILTER_NAMES[OTA_DELTA_FILTER_COUNT] = {"none", "thumb", "arm"};

static void pred_names(uint8_t flags, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s%s%s%s%s", flags ? "" : "none",
             flags & OTA_DELTA_PRED_THUMB_BL ? "thumb-bl " : "",
             flags & OTA_DELTA_PRED_ARM_BL ? "arm-bl " : "",
             flags & OTA_DELTA_PRED_PTR ? "pointers " : "",
             flags & OTA_DELTA_PRED_VALUE ? "values " : "",
             flags & OTA_DELTA_PRED_X86_BR ? "x86-branch " : "",
             flags & OTA_DELTA_PRED_X86_RIP ? "x86-rip " : "",
             flags & OTA_DELTA_PRED_A64_BR ? "a64-branch " : "",
             flags & OTA_DELTA_PRED_A64_ADRP ? "a64-adrp" : "");
    size_t n = strlen(buf);
    if (n && buf[n - 1] == ' ')
        buf[n - 1] = 0;
}

static void help(FILE *f)
{
    fprintf(f,
            "Usage: ota delta create OLD NEW -o PATCH [-v] [--deflate] [--index auto|sa|hash]\n"
            "                        [--model 1|2] [--enc-key DEVICE-PRIV.pem [--aes 128|256]]\n"
            "       ota delta apply OLD PATCH -o NEW [--backend openssl|mbedtls] [--chunk N]\n"
            "       ota delta info PATCH\n\n"
            "create  make a patch that turns exactly OLD into NEW (bsdiff-style matching,\n"
            "        ARM/Thumb branch filtering when it pays, range coding)\n"
            "apply   rebuild NEW from OLD and PATCH with the device core's streaming\n"
            "        applier (fixed RAM, no malloc); checks OLD's hash before writing\n"
            "        and NEW's hash at the end; NEW is replaced atomically\n"
            "info    print a patch's header\n\n"
            "Options:\n"
            "  -o, --output FILE   where to write the patch / the new image\n"
            "      --backend NAME  crypto backend for apply: openssl (default) or mbedtls\n"
            "      --chunk N       feed the patch in chunks of N bytes (default 4096)\n"
            "  -v, --verbose       create: print statistics\n"
            "      --deflate       create: diff the decompressed bytes of the gzip, zlib\n"
            "                      and zip streams zlib re-compresses bit for bit (a\n"
            "                      version 2 patch: only appliers with zlib apply it)\n"
            "      --index KIND    create: how matches are found: sa (a suffix array of OLD,\n"
            "                      about 5x OLD of memory), hash (a hash index, OLD / 2: for\n"
            "                      root filesystem images), auto (default: hash from 64 MiB)\n"
            "      --model N       create: coder model 2 (default; smaller patches) or 1\n"
            "                      (for appliers built before model 2, which refuse 2)\n"
            "      --enc-key FILE  create between ENCRYPTED images: decrypt OLD and NEW in\n"
            "                      memory with the fleet's private decryption key, diff the\n"
            "                      plaintext slot images, and seal the patch for the same\n"
            "                      key (docs/encrypted-images.md); --aes: its key size\n"
            "  -h, --help          this help\n\n"
            "Exit status: 0 ok, 2 usage, 3 file, 5 malformed patch, 6 truncated patch,\n"
            "8 base image or result hash mismatch, 13 too large, 1 other error.\n");
}

static int exit_code(ota_err e)
{
    switch (e) {
    case OTA_ERR_DELTA_BAD_MAGIC:
    case OTA_ERR_DELTA_VERSION:
    case OTA_ERR_DELTA_CORRUPT:
        return OTA_EXIT_MALFORMED;
    case OTA_ERR_DELTA_TRUNCATED:
        return OTA_EXIT_TRUNCATED;
    case OTA_ERR_DELTA_BASE_MISMATCH:
    case OTA_ERR_DELTA_RESULT_MISMATCH:
        return OTA_EXIT_HASH;
    default:
        return ota_exit_code(e);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int read_file(const char *path, uint8_t **data, size_t *len)
{
    ota_err e = ota_file_read(path, data, len);
    if (e != OTA_OK) {
        tool_error("delta", "%s: cannot read: %s", path, ota_strerror(e));
        return OTA_EXIT_FILE;
    }
    return OTA_EXIT_OK;
}

/* --enc-key: both images as the device's slots hold them (bodies decrypted). */
static int decrypt_both(const ota_key *k, const char *old_path, uint8_t *old, size_t old_len,
                        const char *new_path, uint8_t *nw, size_t new_len)
{
    const char *paths[2] = {old_path, new_path};
    uint8_t *imgs[2] = {old, nw};
    size_t lens[2] = {old_len, new_len};
    for (int i = 0; i < 2; i++) {
        struct ota_diag d;
        ota_err e;
        memset(&d, 0, sizeof d);
        e = ota_image_decrypt(imgs[i], lens[i], k, &d);
        if (e != OTA_OK) {
            tool_error_diag("delta", paths[i], e, &d);
            return ota_exit_code(e);
        }
    }
    return OTA_EXIT_OK;
}

/* The creator is done reading one of the mapped inputs (deflate mode: it
 * diffs the expanded copies): its pages leave this process's memory. */
static void release_input(void *ctx, int which)
{
    ota_file_map_drop(&((struct ota_file_map *)ctx)[which]);
}

static int map_file(const char *path, struct ota_file_map *m)
{
    ota_err e = ota_file_map(path, m);
    if (e != OTA_OK) {
        tool_error("delta", "%s: cannot read: %s", path, ota_strerror(e));
        return OTA_EXIT_FILE;
    }
    return OTA_EXIT_OK;
}

static int do_create(const char *old_path, const char *new_path, const char *out, int verbose,
                     const struct ota_delta_create_opts *co, const ota_key *enc,
                     unsigned aes_bits)
{
    uint8_t *old = NULL, *nw = NULL, *patch = NULL;
    size_t old_len = 0, new_len = 0, patch_len = 0;
    struct ota_delta_stats st;
    /* Plain images are mapped read-only (never copied, dropped once read);
     * encrypted ones are read into memory and decrypted in place. */
    struct ota_file_map in[2];
    memset(in, 0, sizeof in);
    int ret;
    if (enc) {
        ret = read_file(old_path, &in[0].data, &in[0].len);
        if (!ret)
            ret = read_file(new_path, &in[1].data, &in[1].len);
        if (!ret)
            ret = decrypt_both(enc, old_path, in[0].data, in[0].len, new_path, in[1].data,
                               in[1].len);
    } else {
        ret = map_file(old_path, &in[0]);
        if (!ret)
            ret = map_file(new_path, &in[1]);
    }
    if (ret)
        goto out;
    old = in[0].data;
    old_len = in[0].len;
    nw = in[1].data;
    new_len = in[1].len;
    double t0 = now();
    struct ota_delta_create_opts o = *co;
    o.release = release_input;
    o.release_ctx = in;
    ota_err e = ota_delta_create_ex(old, old_len, nw, new_len, &o, &patch, &patch_len, &st);
    double t1 = now();
    if (e != OTA_OK) {
        tool_error("delta", "create %s -> %s: %s (%s)", old_path, new_path, ota_strerror(e),
                   ota_errname(e));
        ret = exit_code(e);
        goto out;
    }
    if (enc) {
        uint8_t *sealed = NULL;
        size_t sealed_len = 0;
        char err[256];
        e = ota_payload_seal(patch, patch_len, enc, aes_bits, &sealed, &sealed_len, err,
                             sizeof(err));
        if (e != OTA_OK) {
            tool_error("delta", "sealing the patch: %s", err);
            ret = ota_exit_code(e);
            goto out;
        }
        free(patch);
        patch = sealed;
        patch_len = sealed_len;
    }
    e = ota_file_write_atomic(out, patch, patch_len);
    if (e != OTA_OK) {
        tool_error("delta", "%s: cannot write: %s", out, ota_strerror(e));
        ret = OTA_EXIT_FILE;
        goto out;
    }
    char preds[96];
    pred_names(st.flags, preds, sizeof(preds));
    printf("%s: %zu bytes (%.2f%% of %zu), filter %s, predictors %s%s\n", out, patch_len,
           new_len ? 100.0 * (double)patch_len / (double)new_len : 0.0, new_len,
           FILTER_NAMES[st.filter], preds,
           enc ? ", between decrypted images, sealed for the device key" : "");
    if (verbose) {
        printf("  commands %u, diff bytes %u (%u non-zero), literal bytes %u, %.3f s, %s\n",
               st.commands, st.diff_bytes, st.diff_nonzero, st.extra_bytes, t1 - t0,
               st.index == OTA_DELTA_INDEX_HASH ? "hash index" : "suffix array");
        printf("  address map %u entries, pointer base 0x%08x, code regions %u\n",
               st.map_entries, st.ptr_base, st.code_regions);
        if (co->deflate)
            printf("  deflate streams re-compressed: old %u, new %u; not reproducible %u;"
                   " in token form %u; expanded %u -> %u bytes\n",
                   st.zold, st.znew, st.zskipped, st.ztokens, st.xold_len, st.xnew_len);
        for (unsigned f = 0; f < OTA_DELTA_FILTER_COUNT; f++)
            if (st.size_by_filter[f])
                printf("  filter %-5s %zu bytes\n", FILTER_NAMES[f], st.size_by_filter[f]);
    }
out:
    ota_file_unmap(&in[0]);
    ota_file_unmap(&in[1]);
    free(patch);
    return ret;
}

/* The new image goes to a temporary file next to NEW (ota_file_tmp_open),
 * renamed over NEW only after the applier checked the result hash. */
static ota_err file_write(void *ctx, uint32_t off, const void *data, size_t len)
{
    (void)off; /* the applier writes strictly in order */
    return fwrite(data, 1, len, (FILE *)ctx) == len ? OTA_OK : OTA_ERR_IO;
}

#define OLD_WINDOW (256u * 1024u) /* read-ahead of OLD for apply */

/* Streamed: OLD is read where the patch points (pread), PATCH in chunks, NEW
 * written as it is decoded, so memory does not depend on the image size
 * (root filesystem images; docs/delta-format.md). */
static int do_apply(const char *old_path, const char *patch_path, const char *out,
                    const struct ota_crypto *crypto, size_t chunk)
{
    struct ota_diag diag;
    struct ota_delta_apply *st = NULL;
    struct ota_deflate_port *zp = NULL;
    FILE *pf = NULL;
    FILE *nf = NULL;
    uint8_t *buf = NULL, *win = NULL;
    char *tmp = NULL;
    int ret = OTA_EXIT_FILE, fd = -1;
    ota_err e = OTA_OK;
    memset(&diag, 0, sizeof(diag));
    fd = open(old_path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        tool_error("delta", "%s: cannot read: %s", old_path, strerror(errno));
        goto out;
    }
    pf = fopen(patch_path, "rb");
    if (!pf) {
        tool_error("delta", "%s: cannot read: %s", patch_path, strerror(errno));
        goto out;
    }
    buf = malloc(chunk > OTA_DELTA_HEADER_SIZE ? chunk : OTA_DELTA_HEADER_SIZE);
    st = malloc(sizeof(*st));
    win = malloc(OLD_WINDOW);
    if (!buf || !st || !win) {
        tool_error("delta", "out of memory");
        ret = OTA_EXIT_ERROR;
        goto out;
    }
    /* The header says whether the deflate port is needed (versions 2, 3). */
    size_t n = fread(buf, 1, OTA_DELTA_HEADER_SIZE, pf);
    struct ota_delta_header h;
    e = ota_delta_header_decode(buf, n, &h, &diag);
    if (e != OTA_OK) {
        tool_error_diag("delta", patch_path, e, &diag);
        ret = exit_code(e);
        goto out;
    }
    if (OTA_DELTA_HAS_SECTION(h.version) && !(zp = ota_deflate_zlib_new())) {
        tool_error("delta", "out of memory");
        ret = OTA_EXIT_ERROR;
        goto out;
    }
    int tfd = ota_file_tmp_open(out, 0644, &tmp);
    nf = tfd >= 0 ? fdopen(tfd, "wb") : NULL;
    if (!nf) {
        tool_error("delta", "%s: cannot write: %s", out, strerror(errno));
        if (tfd >= 0)
            close(tfd);
        goto out;
    }
    setvbuf(nf, NULL, _IOFBF, 1u << 20);
    /* the applier reads OLD 512 bytes at a time: one pread per window */
    struct ota_fd_reader_buf fr;
    struct ota_reader r;
    ota_reader_from_fd_buffered(&r, &fr, fd,
                                (uint64_t)sb.st_size > 0xFFFFFFFFu ? 0xFFFFFFFFu
                                                                   : (uint32_t)sb.st_size,
                                win, OLD_WINDOW);
    struct ota_delta_apply_cfg cfg = {.crypto = crypto, .old = &r, .write = file_write,
                                      .write_ctx = nf, .diag = &diag, .deflate = zp};
    e = ota_delta_apply_init(st, &cfg);
    if (e == OTA_OK)
        e = ota_delta_apply_feed(st, buf, n);
    while (e == OTA_OK && (n = fread(buf, 1, chunk, pf)) > 0)
        e = ota_delta_apply_feed(st, buf, n);
    if (e == OTA_OK && ferror(pf)) {
        tool_error("delta", "%s: cannot read: %s", patch_path, strerror(errno));
        goto out;
    }
    if (e == OTA_OK)
        e = ota_delta_apply_finish(st);
    if (e != OTA_OK) {
        tool_error_diag("delta", e == OTA_ERR_DELTA_BASE_MISMATCH ? old_path : patch_path, e,
                        &diag);
        if (e == OTA_ERR_DELTA_BASE_MISMATCH)
            fprintf(stderr, "ota delta: %s is not the image this patch was made from\n",
                    old_path);
        ret = exit_code(e);
        goto out;
    }
    int ok = fflush(nf) == 0 && fsync(fileno(nf)) == 0;
    ok = fclose(nf) == 0 && ok;
    nf = NULL;
    if (!ok || ota_file_tmp_commit(tmp, out) != 0) {
        tool_error("delta", "%s: cannot write: %s", out, strerror(errno));
        goto out;
    }
    printf("%s: %u bytes, sha256 verified\n", out, h.new_len);
    ret = OTA_EXIT_OK;
out:
    if (nf)
        fclose(nf);
    if (ret != OTA_EXIT_OK && tmp)
        unlink(tmp);
    if (pf)
        fclose(pf);
    if (fd >= 0)
        close(fd);
    ota_deflate_zlib_free(zp);
    free(st);
    free(buf);
    free(win);
    free(tmp);
    return ret;
}

static int do_info(const char *path)
{
    uint8_t *patch = NULL;
    size_t len = 0;
    struct ota_delta_header h;
    struct ota_diag diag;
    memset(&diag, 0, sizeof(diag));
    int ret = read_file(path, &patch, &len);
    if (ret)
        return ret;
    ota_err e = ota_delta_header_decode(patch, len, &h, &diag);
    if (e != OTA_OK) {
        tool_error_diag("delta", path, e, &diag);
        free(patch);
        return exit_code(e);
    }
    char hex[2 * OTA_SHA256_LEN + 1];
    printf("format      OTAD version %u\n", h.version);
    char preds[96];
    pred_names(h.flags, preds, sizeof(preds));
    printf("filter      %s\n", FILTER_NAMES[h.filter]);
    printf("model       %u\n", h.opts & OTA_DELTA_OPT_MODEL2 ? 2u : 1u);
    printf("predictors  %s%s\n", preds,
           h.opts & OTA_DELTA_OPT_CODE ? " (by code region)" : "");
    if (h.flags & OTA_DELTA_PRED_PTR)
        printf("ptr base    0x%08x\n", h.ptr_base);
    printf("old size    %u\n", h.old_len);
    printf("new size    %u\n", h.new_len);
    /* version 2: the deflate section before the stream */
    size_t sec = 0;
    if (OTA_DELTA_HAS_SECTION(h.version) && len >= OTA_DELTA_HEADER_SIZE + 12u) {
        const uint8_t *z = patch + OTA_DELTA_HEADER_SIZE;
        sec = (size_t)z[0] | (size_t)z[1] << 8 | (size_t)z[2] << 16 | (size_t)z[3] << 24;
        printf("deflate     %zu bytes: %u old, %u new streams\n", sec,
               (unsigned)(z[4] | z[5] << 8 | z[6] << 16 | (unsigned)z[7] << 24),
               (unsigned)(z[8] | z[9] << 8 | z[10] << 16 | (unsigned)z[11] << 24));
    }
    size_t want = (size_t)OTA_DELTA_HEADER_SIZE + sec + h.stream_len;
    printf("stream      %u bytes (patch %zu bytes%s)\n", h.stream_len, len,
           len == want ? "" : ", LENGTH MISMATCH");
    ota_hex_encode(h.base_hash, OTA_SHA256_LEN, hex);
    printf("base sha256 %s\n", hex);
    ota_hex_encode(h.result_hash, OTA_SHA256_LEN, hex);
    printf("new sha256  %s\n", hex);
    free(patch);
    return len == want ? OTA_EXIT_OK : len < want ? OTA_EXIT_TRUNCATED : OTA_EXIT_MALFORMED;
}

enum { OPT_BACKEND = 256, OPT_CHUNK, OPT_ENC_KEY, OPT_AES, OPT_DEFLATE, OPT_INDEX, OPT_MODEL };

int ota_cmd_delta(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},
        {"backend", required_argument, 0, OPT_BACKEND},
        {"chunk", required_argument, 0, OPT_CHUNK},
        {"verbose", no_argument, 0, 'v'},
        {"deflate", no_argument, 0, OPT_DEFLATE},
        {"index", required_argument, 0, OPT_INDEX},
        {"model", required_argument, 0, OPT_MODEL},
        {"enc-key", required_argument, 0, OPT_ENC_KEY},
        {"aes", required_argument, 0, OPT_AES},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = NULL;
    const struct ota_crypto *crypto = ota_crypto_openssl();
    uint32_t chunk = 4096;
    const char *enc_path = NULL;
    unsigned aes_bits = 128;
    int verbose = 0, deflate = 0, index = OTA_DELTA_INDEX_AUTO, model = OTA_DELTA_MODEL_DEFAULT, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'v': verbose = 1; break;
        case OPT_DEFLATE: deflate = 1; break;
        case OPT_INDEX:
            if (!strcmp(optarg, "auto"))
                index = OTA_DELTA_INDEX_AUTO;
            else if (!strcmp(optarg, "sa"))
                index = OTA_DELTA_INDEX_SA;
            else if (!strcmp(optarg, "hash"))
                index = OTA_DELTA_INDEX_HASH;
            else {
                tool_error("delta", "invalid --index '%s': expected auto, sa or hash", optarg);
                return OTA_EXIT_USAGE;
            }
            break;
        case OPT_MODEL:
            if (!strcmp(optarg, "1"))
                model = OTA_DELTA_MODEL_1;
            else if (!strcmp(optarg, "2"))
                model = OTA_DELTA_MODEL_2;
            else {
                tool_error("delta", "invalid --model '%s': expected 1 or 2", optarg);
                return OTA_EXIT_USAGE;
            }
            break;
        case OPT_BACKEND:
            crypto = tool_parse_backend("delta", optarg);
            if (!crypto)
                return OTA_EXIT_USAGE;
            break;
        case OPT_CHUNK:
            if (tool_parse_u32(optarg, 0x7fffffffu, 1, &chunk) || !chunk) {
                tool_error("delta", "invalid --chunk '%s'", optarg);
                return OTA_EXIT_USAGE;
            }
            break;
        case OPT_ENC_KEY: enc_path = optarg; break;
        case OPT_AES:
            if (strcmp(optarg, "128") && strcmp(optarg, "256")) {
                tool_error("delta", "invalid --aes '%s': expected 128 or 256", optarg);
                return OTA_EXIT_USAGE;
            }
            aes_bits = (unsigned)atoi(optarg);
            break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        case ':':
            tool_error("delta", "option %s needs a value", argv[optind - 1]);
            return OTA_EXIT_USAGE;
        default:
            tool_error("delta", "unknown option %s (see 'ota delta --help')", argv[optind - 1]);
            return OTA_EXIT_USAGE;
        }
    }
    int n = argc - optind;
    char **a = argv + optind;
    if (n < 1) {
        tool_error("delta", "missing subcommand: create, apply or info (see 'ota delta --help')");
        return OTA_EXIT_USAGE;
    }
    if (!strcmp(a[0], "info")) {
        if (n != 2) {
            tool_error("delta", "usage: ota delta info PATCH");
            return OTA_EXIT_USAGE;
        }
        return do_info(a[1]);
    }
    if (strcmp(a[0], "create") && strcmp(a[0], "apply")) {
        tool_error("delta", "unknown subcommand '%s': create, apply or info", a[0]);
        return OTA_EXIT_USAGE;
    }
    int create = !strcmp(a[0], "create");
    if (n != 3 || !out) {
        tool_error("delta", create ? "usage: ota delta create OLD NEW -o PATCH"
                                   : "usage: ota delta apply OLD PATCH -o NEW");
        return OTA_EXIT_USAGE;
    }
    if (!create && enc_path) {
        tool_error("delta", "--enc-key is for 'create' (a device applies a sealed patch)");
        return OTA_EXIT_USAGE;
    }
    if (!create)
        return do_apply(a[1], a[2], out, crypto, chunk);
    ota_key *enc = NULL;
    if (enc_path) {
        char err[512];
        ota_err e = ota_key_load(enc_path, &enc, err, sizeof(err));
        if (e == OTA_OK && !ota_key_has_private(enc)) {
            snprintf(err, sizeof(err), "%s: --enc-key needs the PRIVATE decryption key "
                                       "(both images are decrypted to be diffed)", enc_path);
            e = OTA_ERR_KEY_FORMAT;
        }
        if (e != OTA_OK) {
            tool_error("delta", "%s", err);
            ota_key_free(enc);
            return ota_exit_code(e);
        }
    }
    struct ota_delta_create_opts co = {.deflate = deflate, .index = index, .model = model};
    int ret = do_create(a[1], a[2], out, verbose, &co, enc, aes_bits);
    ota_key_free(enc);
    return ret;
}
