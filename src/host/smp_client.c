// SPDX-License-Identifier: Apache-2.0
/*
 * src/host/smp_client.c - the host's SMP client (smp_client.h), shared by
 * `ota smp` and ota-agent's gateway backend: opening tty / TCP / unix
 * transports, framing requests with smp_serial.c (shared with the MCU's
 * server), matching answers by sequence number, decoding them with libcbor,
 * naming SMP error codes, and the image / OS / ota group requests.
 */
#include "smp_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "smp_serial.h"

#define HDR 8
#define RX_CAP 4096

static int open_tcp(struct smp_link *l, const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints = {0}, *res = NULL, *ai;
    int fd = -1, rc;

    if (!colon || (size_t)(colon - hostport) >= sizeof host) {
        snprintf(l->err, sizeof l->err, "tcp:%s: expected tcp:HOST:PORT", hostport);
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, colon + 1, &hints, &res);
    if (rc) {
        snprintf(l->err, sizeof l->err, "tcp:%s: %s", hostport, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            int one = 1; /* lines are small writes: no Nagle delay between them */
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            break;
        }
        snprintf(l->err, sizeof l->err, "tcp:%s: connect: %s", hostport, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int open_unix(struct smp_link *l, const char *path)
{
    struct sockaddr_un sa = {0};
    int fd;

    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(l->err, sizeof l->err, "unix:%s: path too long", path);
        return -1;
    }
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(l->err, sizeof l->err, "unix:%s: connect: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static speed_t baud_const(unsigned baud)
{
    switch (baud) {
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 230400: return B230400;
    case 460800: return B460800;
    case 921600: return B921600;
    case 1000000: return B1000000;
    default: return B115200;
    }
}

static int open_tty(struct smp_link *l, const char *path, unsigned baud)
{
    struct termios t;
    int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(l->err, sizeof l->err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        cfsetispeed(&t, baud_const(baud));
        cfsetospeed(&t, baud_const(baud));
        t.c_cflag |= CLOCAL | CREAD;
        tcsetattr(fd, TCSANOW, &t);
    }
    return fd;
}

int smp_link_open(struct smp_link *l, const char *spec, unsigned baud)
{
    l->is_sock = strncmp(spec, "tcp:", 4) == 0 || strncmp(spec, "unix:", 5) == 0;
    if (strncmp(spec, "tcp:", 4) == 0)
        l->fd = open_tcp(l, spec + 4);
    else if (strncmp(spec, "unix:", 5) == 0)
        l->fd = open_unix(l, spec + 5);
    else
        l->fd = open_tty(l, spec, baud);
    l->seq = (uint8_t)(time(NULL) & 0xff);
    return l->fd < 0 ? -1 : 0;
}

void smp_link_close(struct smp_link *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

static int emit(void *ctx, const char *line, size_t n)
{
    const struct smp_link *l = ctx;
    while (n) {
        /* a socket whose peer went away (QEMU killed) must be an error, not
         * a SIGPIPE that ends the program */
        ssize_t w = l->is_sock ? send(l->fd, line, n, MSG_NOSIGNAL) : write(l->fd, line, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        line += w;
        n -= (size_t)w;
    }
    return 0;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait for the answer with this seq/group/cmd: 1 got it, 0 timeout, -1 error. */
static int wait_answer(struct smp_link *l, struct smp_serial_rx *rx, uint8_t seq, uint16_t group,
                       uint8_t cmd, size_t *len)
{
    long deadline = now_ms() + l->timeout_ms;

    for (;;) {
        uint8_t buf[512];
        struct pollfd p = {l->fd, POLLIN, 0};
        long left = deadline - now_ms();
        ssize_t n, i;
        int rc;

        if (left <= 0)
            return 0;
        rc = poll(&p, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0) {
            snprintf(l->err, sizeof l->err, "poll: %s", strerror(errno));
            return -1;
        }
        if (rc == 0)
            return 0;
        n = read(l->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(l->err, sizeof l->err, "connection closed by the device side%s%s",
                     n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
            return -1;
        }
        for (i = 0; i < n; i++) {
            enum smp_serial_event ev = smp_serial_rx_byte(rx, buf[i]);
            const uint8_t *h = rx->buf;
            if (ev != SMP_SERIAL_PACKET || rx->pkt_len < HDR)
                continue; /* damaged answers are waited out (then resent) */
            if ((h[0] & 7u) != 1 && (h[0] & 7u) != 3)
                continue;
            if (h[6] != seq || ((h[4] << 8) | h[5]) != group || h[7] != cmd)
                continue; /* a late answer to an earlier request */
            *len = rx->pkt_len;
            return 1;
        }
    }
}

int smp_link_call(struct smp_link *l, int op, uint16_t group, uint8_t cmd, const uint8_t *req,
                  size_t req_len, cbor_item_t **rsp)
{
    static uint8_t rxbuf[RX_CAP];
    uint8_t pkt[HDR + 4096];
    struct smp_serial_rx rx;
    struct cbor_load_result res;
    size_t len = 0;
    int attempt, got = 0;
    uint8_t seq = l->seq++;

    if (req_len > sizeof pkt - HDR) {
        snprintf(l->err, sizeof l->err, "request of %zu bytes too large", req_len);
        return -1;
    }
    pkt[0] = (uint8_t)(((l->ver & 3) << 3) | (op & 7));
    pkt[1] = 0;
    pkt[2] = (uint8_t)(req_len >> 8);
    pkt[3] = (uint8_t)req_len;
    pkt[4] = (uint8_t)(group >> 8);
    pkt[5] = (uint8_t)group;
    pkt[6] = seq;
    pkt[7] = cmd;
    memcpy(pkt + HDR, req, req_len);
    smp_serial_rx_init(&rx, rxbuf, sizeof rxbuf);
    for (attempt = 0; attempt <= l->retries && !got; attempt++) {
        if (smp_serial_send(pkt, HDR + req_len, emit, l) != 0) {
            snprintf(l->err, sizeof l->err, "write: %s", strerror(errno));
            return -1;
        }
        got = wait_answer(l, &rx, seq, group, cmd, &len);
        if (got < 0)
            return -1;
    }
    if (!got) {
        snprintf(l->err, sizeof l->err,
                 "no answer to group %u command %u within %d ms (%d attempts)", group, cmd,
                 l->timeout_ms, l->retries + 1);
        return -1;
    }
    *rsp = cbor_load(rx.buf + HDR, len - HDR, &res);
    if (!*rsp || !cbor_isa_map(*rsp)) {
        if (*rsp)
            cbor_decref(rsp);
        snprintf(l->err, sizeof l->err, "answer is not a CBOR map (%zu bytes)", len - HDR);
        return -1;
    }
    return 0;
}

cbor_item_t *smp_map_get(cbor_item_t *map, const char *key)
{
    struct cbor_pair *p;
    size_t i, n, kl = strlen(key);

    if (!map || !cbor_isa_map(map))
        return NULL;
    p = cbor_map_handle(map);
    n = cbor_map_size(map);
    for (i = 0; i < n; i++)
        if (cbor_isa_string(p[i].key) && cbor_string_is_definite(p[i].key) &&
            cbor_string_length(p[i].key) == kl &&
            memcmp(cbor_string_handle(p[i].key), key, kl) == 0)
            return p[i].value;
    return NULL;
}

uint64_t smp_map_uint(cbor_item_t *map, const char *key, uint64_t def)
{
    cbor_item_t *v = smp_map_get(map, key);
    return v && cbor_isa_uint(v) ? cbor_get_int(v) : def;
}

int smp_map_bool(cbor_item_t *map, const char *key)
{
    cbor_item_t *v = smp_map_get(map, key);
    return v && cbor_is_bool(v) && cbor_get_bool(v);
}

static const char *const MGMT_ERR[] = {
    "MGMT_ERR_EOK",      "MGMT_ERR_EUNKNOWN", "MGMT_ERR_ENOMEM",   "MGMT_ERR_EINVAL",
    "MGMT_ERR_ETIMEOUT", "MGMT_ERR_ENOENT",   "MGMT_ERR_EBADSTATE", "MGMT_ERR_EMSGSIZE",
    "MGMT_ERR_ENOTSUP",  "MGMT_ERR_ECORRUPT", "MGMT_ERR_EBUSY",    "MGMT_ERR_EACCESSDENIED",
};

static const char *img_err_name(uint64_t rc)
{
    static const char *const N[] = {
        "OK", "UNKNOWN", "FLASH_CONFIG_QUERY_FAIL", "NO_IMAGE", "NO_TLVS", "INVALID_TLV",
        "TLV_MULTIPLE_HASHES_FOUND", "TLV_INVALID_SIZE", "HASH_NOT_FOUND", "NO_FREE_SLOT",
        "FLASH_OPEN_FAILED", "FLASH_READ_FAILED", "FLASH_WRITE_FAILED", "FLASH_ERASE_FAILED",
        "INVALID_SLOT", "NO_FREE_MEMORY", "FLASH_CONTEXT_ALREADY_SET", "FLASH_CONTEXT_NOT_SET",
        "FLASH_AREA_DEVICE_NULL", "INVALID_PAGE_OFFSET", "INVALID_OFFSET", "INVALID_LENGTH",
        "INVALID_IMAGE_HEADER", "INVALID_IMAGE_HEADER_MAGIC", "INVALID_HASH",
        "INVALID_FLASH_ADDRESS", "VERSION_GET_FAILED", "CURRENT_VERSION_IS_NEWER",
        "IMAGE_ALREADY_PENDING", "INVALID_IMAGE_VECTOR_TABLE", "INVALID_IMAGE_TOO_LARGE",
        "INVALID_IMAGE_DATA_OVERRUN", "IMAGE_CONFIRMATION_DENIED",
        "IMAGE_SETTING_TEST_TO_ACTIVE_DENIED",
    };
    return rc < sizeof N / sizeof N[0] ? N[rc] : "?";
}

int smp_rsp_error(cbor_item_t *rsp, char *buf, size_t cap)
{
    cbor_item_t *err = smp_map_get(rsp, "err"), *rsn = smp_map_get(rsp, "rsn");
    char reason[160] = "";
    uint64_t rc;

    if (rsn && cbor_isa_string(rsn) && cbor_string_is_definite(rsn))
        snprintf(reason, sizeof reason, ": %.*s", (int)cbor_string_length(rsn),
                 (const char *)cbor_string_handle(rsn));
    if (err && cbor_isa_map(err)) {
        uint64_t group = smp_map_uint(err, "group", 0);
        rc = smp_map_uint(err, "rc", 0);
        if (rc == 0)
            return 0;
        if (group == 1)
            snprintf(buf, cap, "image group error %llu (IMG_MGMT_ERR_%s)%s",
                     (unsigned long long)rc, img_err_name(rc), reason);
        else
            snprintf(buf, cap, "group %llu error %llu%s", (unsigned long long)group,
                     (unsigned long long)rc, reason);
        return (int)rc;
    }
    rc = smp_map_uint(rsp, "rc", 0);
    if (rc == 0)
        return 0;
    snprintf(buf, cap, "SMP error %llu (%s)%s", (unsigned long long)rc,
             rc < sizeof MGMT_ERR / sizeof MGMT_ERR[0] ? MGMT_ERR[rc] : "?", reason);
    return (int)rc;
}

static void enc_put(struct smp_enc *e, size_t n)
{
    if (n == 0)
        e->overflow = 1;
    e->len += n;
}

void smp_enc_map(struct smp_enc *e, size_t pairs)
{
    enc_put(e, cbor_encode_map_start(pairs, e->buf + e->len, sizeof e->buf - e->len));
}

/* The bytes after a string's head. */
static void enc_raw(struct smp_enc *e, const void *p, size_t n)
{
    if (e->overflow || sizeof e->buf - e->len < n) {
        e->overflow = 1;
        return;
    }
    memcpy(e->buf + e->len, p, n);
    e->len += n;
}

void smp_enc_tstr(struct smp_enc *e, const char *s)
{
    size_t n = strlen(s);
    enc_put(e, cbor_encode_string_start(n, e->buf + e->len, sizeof e->buf - e->len));
    enc_raw(e, s, n);
}

void smp_enc_uint(struct smp_enc *e, uint64_t v)
{
    enc_put(e, cbor_encode_uint(v, e->buf + e->len, sizeof e->buf - e->len));
}

void smp_enc_bstr(struct smp_enc *e, const uint8_t *p, size_t n)
{
    enc_put(e, cbor_encode_bytestring_start(n, e->buf + e->len, sizeof e->buf - e->len));
    enc_raw(e, p, n);
}

void smp_enc_bool(struct smp_enc *e, int v)
{
    enc_put(e, cbor_encode_bool(v != 0, e->buf + e->len, sizeof e->buf - e->len));
}

/* ---- requests ------------------------------------------------------------ */

int smpc_request(struct smp_link *l, int op, uint16_t group, uint8_t cmd,
                 const struct smp_enc *e, cbor_item_t **rsp)
{
    char msg[sizeof l->err];
    cbor_item_t *err;

    l->rc = l->rc_group = 0;
    if (e->overflow) {
        snprintf(l->err, sizeof l->err, "request too large to encode");
        return -1;
    }
    if (smp_link_call(l, op, group, cmd, e->buf, e->len, rsp) != 0)
        return -1;
    if (smp_rsp_error(*rsp, msg, sizeof msg)) {
        err = smp_map_get(*rsp, "err");
        if (err && cbor_isa_map(err)) {
            l->rc = smp_map_uint(err, "rc", 0);
            l->rc_group = smp_map_uint(err, "group", 0);
        } else {
            l->rc = smp_map_uint(*rsp, "rc", 0);
        }
        snprintf(l->err, sizeof l->err, "%s", msg);
        cbor_decref(rsp);
        return 1;
    }
    return 0;
}

uint32_t smpc_chunk(struct smp_link *l, uint32_t want)
{
    struct smp_enc e = {0};
    cbor_item_t *rsp;
    uint64_t buf_size;

    if (want)
        return want;
    smp_enc_map(&e, 0);
    if (smpc_request(l, 0, 0, 6, &e, &rsp) != 0)
        return 128;
    buf_size = smp_map_uint(rsp, "buf_size", 0);
    cbor_decref(&rsp);
    /* room for the header and the first request's other fields */
    if (buf_size < 256)
        return 128;
    return (uint32_t)(buf_size > 4096 ? 4096 - 128 : buf_size - 128);
}

int smpc_state_parse(struct smp_link *l, cbor_item_t *rsp, struct smpc_slot *out, size_t cap,
                     size_t *n)
{
    cbor_item_t *images = smp_map_get(rsp, "images");
    size_t i;

    *n = 0;
    if (!images || !cbor_isa_array(images)) {
        snprintf(l->err, sizeof l->err, "state answer has no \"images\" array");
        return -1;
    }
    for (i = 0; i < cbor_array_size(images) && *n < cap; i++) {
        cbor_item_t *im = cbor_array_handle(images)[i];
        cbor_item_t *ver = smp_map_get(im, "version"), *h = smp_map_get(im, "hash");
        struct smpc_slot *s = &out[(*n)++];

        memset(s, 0, sizeof *s);
        snprintf(s->version, sizeof s->version, "?");
        s->slot = (unsigned)smp_map_uint(im, "slot", 0);
        if (ver && cbor_isa_string(ver) && cbor_string_is_definite(ver))
            snprintf(s->version, sizeof s->version, "%.*s", (int)cbor_string_length(ver),
                     (const char *)cbor_string_handle(ver));
        if (h && cbor_isa_bytestring(h) && cbor_bytestring_is_definite(h) &&
            cbor_bytestring_length(h) <= sizeof s->hash) {
            s->hash_len = cbor_bytestring_length(h);
            memcpy(s->hash, cbor_bytestring_handle(h), s->hash_len);
        }
        s->active = smp_map_bool(im, "active");
        s->confirmed = smp_map_bool(im, "confirmed");
        s->pending = smp_map_bool(im, "pending");
        s->permanent = smp_map_bool(im, "permanent");
        s->bootable = smp_map_bool(im, "bootable");
    }
    return 0;
}

int smpc_state_read(struct smp_link *l, struct smpc_slot *out, size_t cap, size_t *n)
{
    struct smp_enc e = {0};
    cbor_item_t *rsp;
    int rc;

    smp_enc_map(&e, 0);
    rc = smpc_request(l, 0, 1, 0, &e, &rsp);
    if (rc)
        return rc;
    rc = smpc_state_parse(l, rsp, out, cap, n);
    cbor_decref(&rsp);
    return rc;
}

int smpc_state_write(struct smp_link *l, const uint8_t hash[32], int confirm, cbor_item_t **rsp)
{
    struct smp_enc e = {0};

    smp_enc_map(&e, hash ? 2 : 1);
    if (hash) {
        smp_enc_tstr(&e, "hash");
        smp_enc_bstr(&e, hash, 32);
    }
    smp_enc_tstr(&e, "confirm");
    smp_enc_bool(&e, confirm);
    return smpc_request(l, 2, 1, 0, &e, rsp);
}

int smpc_reset(struct smp_link *l)
{
    struct smp_enc e = {0};
    cbor_item_t *rsp;
    int rc;

    smp_enc_map(&e, 0);
    rc = smpc_request(l, 2, 0, 5, &e, &rsp);
    if (rc == 0)
        cbor_decref(&rsp);
    return rc;
}

int smpc_ota_offer(struct smp_link *l, const uint8_t *manifest, size_t len,
                   const uint8_t *resume, uint64_t *off, uint64_t *size)
{
    struct smp_enc e = {0};
    cbor_item_t *rsp;
    int rc;

    smp_enc_map(&e, resume ? 2 : 1);
    smp_enc_tstr(&e, "manifest");
    smp_enc_bstr(&e, manifest, len);
    if (resume) {
        smp_enc_tstr(&e, "resume");
        smp_enc_bstr(&e, resume, SMPC_RESUME_LEN);
    }
    rc = smpc_request(l, 2, 64, 0, &e, &rsp);
    if (rc)
        return rc;
    *off = smp_map_uint(rsp, "off", UINT64_MAX);
    *size = smp_map_uint(rsp, "size", UINT64_MAX);
    cbor_decref(&rsp);
    if (*off == UINT64_MAX || *size == UINT64_MAX || *off > *size) {
        snprintf(l->err, sizeof l->err, "offer answer without a valid \"off\" and \"size\"");
        return -1;
    }
    return 0;
}

int smpc_ota_payload(struct smp_link *l, uint64_t off, const uint8_t *data, size_t n,
                     uint64_t *next, int *pending)
{
    struct smp_enc e = {0};
    cbor_item_t *rsp;
    int rc;

    smp_enc_map(&e, 2);
    smp_enc_tstr(&e, "off");
    smp_enc_uint(&e, off);
    smp_enc_tstr(&e, "data");
    smp_enc_bstr(&e, data, n);
    rc = smpc_request(l, 2, 64, 1, &e, &rsp);
    if (rc)
        return rc;
    *next = smp_map_uint(rsp, "off", UINT64_MAX);
    *pending = smp_map_bool(rsp, "pending");
    cbor_decref(&rsp);
    if (*next == UINT64_MAX) {
        snprintf(l->err, sizeof l->err, "payload answer without a valid \"off\"");
        return -1;
    }
    return 0;
}

int smpc_ota_status(struct smp_link *l, struct smpc_ota_status *st)
{
    struct smp_enc e = {0};
    cbor_item_t *rsp, *id;
    int rc;

    memset(st, 0, sizeof *st);
    smp_enc_map(&e, 0);
    rc = smpc_request(l, 0, 64, 2, &e, &rsp);
    if (rc)
        return rc;
    id = smp_map_get(rsp, "device_id");
    if (id && cbor_isa_string(id) && cbor_string_is_definite(id) &&
        cbor_string_length(id) < sizeof st->device_id)
        snprintf(st->device_id, sizeof st->device_id, "%.*s", (int)cbor_string_length(id),
                 (const char *)cbor_string_handle(id));
    st->phase = smp_map_uint(rsp, "phase", 0);
    st->off = smp_map_uint(rsp, "off", 0);
    st->size = smp_map_uint(rsp, "size", 0);
    st->err = smp_map_uint(rsp, "last_err", 0);
    cbor_decref(&rsp);
    return 0;
}

int smpc_ota_checkpoint(struct smp_link *l, uint8_t rec[SMPC_RESUME_LEN])
{
    struct smp_enc e = {0};
    cbor_item_t *rsp, *r;
    int rc;

    smp_enc_map(&e, 0);
    rc = smpc_request(l, 0, 64, 3, &e, &rsp);
    if (rc)
        return rc;
    r = smp_map_get(rsp, "resume");
    if (!r || !cbor_isa_bytestring(r) || !cbor_bytestring_is_definite(r) ||
        cbor_bytestring_length(r) != SMPC_RESUME_LEN) {
        cbor_decref(&rsp);
        snprintf(l->err, sizeof l->err, "checkpoint answer without a %d-byte \"resume\"",
                 SMPC_RESUME_LEN);
        return -1;
    }
    memcpy(rec, cbor_bytestring_handle(r), SMPC_RESUME_LEN);
    cbor_decref(&rsp);
    return 0;
}

