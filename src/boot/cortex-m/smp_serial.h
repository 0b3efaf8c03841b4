// SPDX-License-Identifier: Apache-2.0
/*
 * smp_serial.h - SMP's serial transport as Zephyr documents it
 * (smp_transport.rst, "UART/serial and console"): a packet is
 * [length u16 BE][SMP packet][CRC-16/XMODEM u16 BE], base64-encoded and cut
 * into lines of at most 127 bytes: "\x06\x09" + base64 + "\n" for the first
 * line, "\x04\x14" + base64 + "\n" for the others. Each line's base64 is
 * padded on its own. Console text without a marker is ignored, so SMP can
 * share a UART with a log.
 *
 * Portable (no hardware): the board feeds received bytes in, and gives a
 * function that sends one line. Used by the MCU's SMP server, by the host
 * `ota smp` tool and by fuzz/fuzz_smp.c.
 */
#ifndef OTA_PORT_SMP_SERIAL_H
#define OTA_PORT_SMP_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#define SMP_SERIAL_LINE_MAX 127 /* marker + base64 + '\n' */
#define SMP_SERIAL_B64_MAX (SMP_SERIAL_LINE_MAX - 3)

/* What one received byte completed. */
enum smp_serial_event {
    SMP_SERIAL_NONE = 0,      /* nothing yet */
    SMP_SERIAL_PACKET = 1,    /* a packet with a good CRC: pkt[0, pkt_len) */
    SMP_SERIAL_BAD_CRC = 2,   /* complete, CRC mismatch */
    SMP_SERIAL_BAD_BASE64 = 3,/* a line's base64 is truncated or invalid */
    SMP_SERIAL_TOO_LONG = 4,  /* the length field exceeds the buffer, or a
                                 line exceeds 127 bytes */
    SMP_SERIAL_BAD_LENGTH = 5,/* more bytes arrived than the length field said,
                                 or the length cannot hold a CRC */
};

struct smp_serial_rx {
    uint8_t *buf;       /* reassembled [SMP packet][CRC] (length field dropped) */
    size_t cap;
    size_t pkt_len;     /* bytes in buf */
    size_t total;       /* length field: packet + CRC */
    uint8_t state;      /* line parser state */
    uint8_t kind;       /* 1: initial line, 2: continuation line */
    uint8_t assembling; /* an initial line was accepted, more lines expected */
    uint8_t discard;    /* drop the rest of this line */
    char line[SMP_SERIAL_B64_MAX + 1];
    size_t line_len;
};

void smp_serial_rx_init(struct smp_serial_rx *rx, uint8_t *buf, size_t cap);

/* Feed one received byte. On SMP_SERIAL_PACKET, rx->buf[0, rx->pkt_len) is
 * the SMP packet (CRC stripped). On an error event, rx->buf[0, rx->pkt_len)
 * holds whatever of the packet was decoded (its 8-byte header, when
 * pkt_len >= 8, addresses an error response). The next byte starts over. */
enum smp_serial_event smp_serial_rx_byte(struct smp_serial_rx *rx, uint8_t c);

/* CRC-16/XMODEM (poly 0x1021, init 0) continued from crc. */
uint16_t smp_crc16(uint16_t crc, const uint8_t *p, size_t len);

/* Send pkt[0, len) as lines via emit(ctx, line, n) (n <= 127, ending in
 * '\n'). Returns the first non-zero emit() result, else 0. */
typedef int (*smp_serial_emit_fn)(void *ctx, const char *line, size_t n);
int smp_serial_send(const uint8_t *pkt, size_t len, smp_serial_emit_fn emit, void *ctx);

#endif
