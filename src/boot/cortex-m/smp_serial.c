// SPDX-License-Identifier: Apache-2.0
/*
 * smp_serial.c - SMP serial framing (smp_serial.h): line reassembly, base64
 * (RFC 4648, padded per line), the big-endian length and CRC-16/XMODEM.
 * Base64 is written here because it is 40 lines and the MCU has no library
 * for it; the host tool uses the same file so both ends frame identically,
 * and tests/smp/smp_spec_client.py checks it against an independent client.
 */
#include "smp_serial.h"

#include <string.h>

enum { ST_START, ST_MARK2, ST_BODY, ST_SKIP };

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

uint16_t smp_crc16(uint16_t crc, const uint8_t *p, size_t len)
{
    size_t i;
    int b;

    for (i = 0; i < len; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (b = 0; b < 8; b++)
            crc = (uint16_t)((crc & 0x8000u) ? ((unsigned)crc << 1) ^ 0x1021u : (unsigned)crc << 1);
    }
    return crc;
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode a padded base64 string into out (cap bytes); -1 when invalid. */
static long b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
    size_t i, o = 0;

    if (n == 0 || n % 4 != 0)
        return -1;
    for (i = 0; i < n; i += 4) {
        int v[4], k, pad = 0;
        for (k = 0; k < 4; k++) {
            if (s[i + k] == '=') {
                /* padding only in the last quantum, only in its last two places */
                if (i + 4 != n || k < 2)
                    return -1;
                v[k] = 0;
                pad++;
            } else {
                if (pad)
                    return -1;
                v[k] = b64_val(s[i + k]);
                if (v[k] < 0)
                    return -1;
            }
        }
        if (cap - o < (size_t)(3 - pad))
            return -1;
        out[o++] = (uint8_t)((v[0] << 2) | (v[1] >> 4));
        if (pad < 2)
            out[o++] = (uint8_t)((v[1] << 4) | (v[2] >> 2));
        if (pad < 1)
            out[o++] = (uint8_t)((v[2] << 6) | v[3]);
    }
    return (long)o;
}

void smp_serial_rx_init(struct smp_serial_rx *rx, uint8_t *buf, size_t cap)
{
    memset(rx, 0, sizeof *rx);
    rx->buf = buf;
    rx->cap = cap;
}

static enum smp_serial_event fail(struct smp_serial_rx *rx, enum smp_serial_event ev)
{
    rx->assembling = 0;
    rx->total = 0;
    return ev;
}

static enum smp_serial_event line_done(struct smp_serial_rx *rx)
{
    uint8_t raw[SMP_SERIAL_B64_MAX / 4 * 3];
    long n = b64_decode(rx->line, rx->line_len, raw, sizeof raw);
    size_t off = 0;

    if (rx->kind == 1) { /* initial line: a new packet, whatever came before */
        rx->assembling = 0;
        rx->pkt_len = 0;
        if (n < 0) {
            /* keep the header from the whole quanta before the damage, so
             * the error can be answered */
            size_t q = 0;
            long m;
            while (q + 4 <= rx->line_len && b64_decode(rx->line + q, 4, raw, 3) == 3)
                q += 4;
            m = q ? b64_decode(rx->line, q, raw, sizeof raw) : 0;
            if (m > 2) {
                size_t keep = (size_t)m - 2 < rx->cap ? (size_t)m - 2 : rx->cap;
                memcpy(rx->buf, raw + 2, keep);
                rx->pkt_len = keep;
            }
            return fail(rx, SMP_SERIAL_BAD_BASE64);
        }
        if (n < 2)
            return fail(rx, SMP_SERIAL_BAD_BASE64);
        rx->total = ((size_t)raw[0] << 8) | raw[1];
        off = 2;
        /* peek the header for an error response before judging the length */
        if (rx->total > rx->cap) {
            size_t keep = (size_t)n - off < rx->cap ? (size_t)n - off : rx->cap;
            memcpy(rx->buf, raw + off, keep);
            rx->pkt_len = keep;
            return fail(rx, SMP_SERIAL_TOO_LONG);
        }
        if (rx->total < 2)
            return fail(rx, SMP_SERIAL_BAD_LENGTH);
        rx->assembling = 1;
    } else {
        if (!rx->assembling)
            return SMP_SERIAL_NONE; /* continuation of nothing: ignored */
        if (n < 0)
            return fail(rx, SMP_SERIAL_BAD_BASE64);
    }
    if (n < 0)
        return fail(rx, SMP_SERIAL_BAD_BASE64);
    if ((size_t)n - off > rx->total - rx->pkt_len)
        return fail(rx, SMP_SERIAL_BAD_LENGTH);
    memcpy(rx->buf + rx->pkt_len, raw + off, (size_t)n - off);
    rx->pkt_len += (size_t)n - off;
    if (rx->pkt_len < rx->total)
        return SMP_SERIAL_NONE;
    rx->assembling = 0;
    if (smp_crc16(0, rx->buf, rx->pkt_len) != 0) {
        rx->pkt_len -= 2;
        return SMP_SERIAL_BAD_CRC;
    }
    rx->pkt_len -= 2;
    return SMP_SERIAL_PACKET;
}

enum smp_serial_event smp_serial_rx_byte(struct smp_serial_rx *rx, uint8_t c)
{
    switch (rx->state) {
    case ST_START:
        if (c == 0x06u || c == 0x04u) {
            rx->kind = c == 0x06u ? 1 : 2;
            rx->state = ST_MARK2;
        } else if (c != '\n') {
            rx->state = ST_SKIP; /* console text */
        }
        return SMP_SERIAL_NONE;
    case ST_MARK2:
        if ((rx->kind == 1 && c == 0x09u) || (rx->kind == 2 && c == 0x14u)) {
            rx->state = ST_BODY;
            rx->line_len = 0;
            rx->discard = 0;
        } else {
            rx->state = c == '\n' ? ST_START : ST_SKIP;
        }
        return SMP_SERIAL_NONE;
    case ST_BODY:
        if (c == '\n') {
            rx->state = ST_START;
            if (rx->discard) {
                if (rx->kind == 1)
                    rx->pkt_len = 0;
                return fail(rx, SMP_SERIAL_TOO_LONG);
            }
            return line_done(rx);
        }
        if (c == '\r')
            return SMP_SERIAL_NONE;
        if (rx->line_len >= SMP_SERIAL_B64_MAX)
            rx->discard = 1;
        else
            rx->line[rx->line_len++] = (char)c;
        return SMP_SERIAL_NONE;
    default: /* ST_SKIP */
        if (c == '\n')
            rx->state = ST_START;
        return SMP_SERIAL_NONE;
    }
}

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = B64[(v >> 6) & 63];
        out[o++] = B64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        out[o++] = B64[(v >> 18) & 63];
        out[o++] = B64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? B64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

int smp_serial_send(const uint8_t *pkt, size_t len, smp_serial_emit_fn emit, void *ctx)
{
    enum { RAW = SMP_SERIAL_B64_MAX / 4 * 3 }; /* 93 raw bytes per line */
    uint8_t raw[RAW];
    char line[SMP_SERIAL_LINE_MAX];
    size_t total = len + 2, done = 0; /* bytes of [pkt][crc] sent */
    uint16_t crc = smp_crc16(0, pkt, len);
    int first = 1, e;

    while (first || done < total) {
        size_t n = 0, o;
        if (first) {
            raw[n++] = (uint8_t)(total >> 8);
            raw[n++] = (uint8_t)total;
        }
        while (n < RAW && done < total) {
            raw[n++] = done < len ? pkt[done]
                       : done == len ? (uint8_t)(crc >> 8) : (uint8_t)crc;
            done++;
        }
        line[0] = first ? 0x06 : 0x04;
        line[1] = first ? 0x09 : 0x14;
        o = 2 + b64_encode(raw, n, line + 2);
        line[o++] = '\n';
        if ((e = emit(ctx, line, o)) != 0)
            return e;
        first = 0;
    }
    return 0;
}
