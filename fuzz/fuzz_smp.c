// SPDX-License-Identifier: Apache-2.0
/*
 * fuzz/fuzz_smp.c - libFuzzer target for the MCU's SMP server
 * (src/boot/cortex-m/smp_*.c, docs/smp.md): the serial framing, the CBOR
 * subset and the image/OS groups, on a simulated provisioned device (slot A:
 * confirmed v1, running). The first input byte picks a mode:
 *   0  the rest is the serial byte stream (frames, base64, CRC, console text)
 *   1  the rest is a sequence of SMP packets, each prefixed by a u16 BE
 *      length (so uploads, state writes and erases can follow each other)
 *   2  the rest is one request map for every group's decoder (OS, image,
 *      ota group 64 with a device identity block)
 * Any crash or sanitizer report is a bug, and so is: an answer whose header
 * length differs from its size or that is not a CBOR map start; a slot left
 * pending that does not verify as the bootloader will; slot A (the running
 * image) changed; a non-erased program or an OTP erase (ota/sim.h counts
 * both as violations).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota/boot.h"
#include "ota/host.h"
#include "ota/image_build.h"
#include "ota/sim.h"
#include "sim_device.h"
#include "smp_serial.h"
#include "smp_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECTOR 1024u
#define SECTORS 64u
static struct fix_dev fd;      /* the device (tests/sim_device.h) */
static struct ota_sim tmpl;    /* the state each run starts from */
static uint8_t slot_a[SECTOR * 8];
static struct smp_server srv;
static uint8_t rx_buf[SMP_MTU + 2], rsp[SMP_MTU];
static uint8_t identity[SMP_IDENTITY_LEN]; /* device id + a manifest key */
static struct smp_identity ident;

static void init(void)
{
    static int done;
    struct ota_build_params p;
    struct ota_install ins;
    struct ota_pubkey pub;
    uint8_t payload[3000], *img = NULL;
    size_t len = 0, i;
    char err[128];
    ota_key *fw;

    if (done)
        return;
    done = 1;
    if (ota_sim_init(&fd.sim, 1, 8, SECTOR, SECTORS) != OTA_OK ||
        ota_sim_init(&tmpl, 1, 8, SECTOR, SECTORS) != OTA_OK ||
        ota_key_generate(&fw) != OTA_OK || ota_key_pubkey(fw, &pub) != OTA_OK ||
        fix_dev_provision(&fd, 0, &pub, "fuzz-board", 2, ota_crypto_openssl()) != 0)
        abort();
    ota_sim_protect(&fd.sim, fd.cfg.layout.otp_off / SECTOR, SECTORS - fd.cfg.layout.otp_off / SECTOR);
    for (i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7);
    memset(&p, 0, sizeof p);
    p.key = fw;
    p.version.major = 1;
    p.hw_id = (const uint8_t *)"fuzz-board";
    p.hw_id_len = 10;
    if (ota_image_build(&p, payload, sizeof payload, &img, &len, err, sizeof err) != OTA_OK ||
        ota_install_begin(&ins, &fd.dev, (uint32_t)len, NULL) || ota_install_write(&ins, img, len) ||
        ota_install_finish(&ins, 1, NULL, NULL))
        abort();
    free(img);
    ota_key_free(fw);
    /* the ota group's identity block (docs/smp.md): offers are refused
     * (the fuzzer cannot sign manifests) but parsed and checked */
    strcpy(ident.device_id, "fuzz-dev");
    ident.server_key = pub;
    if (smp_identity_encode(&ident, identity) != 0)
        abort();
    if (ota_flash_read(&fd.sim.flash, fd.cfg.layout.slot_off[0], slot_a, sizeof slot_a) != OTA_OK ||
        ota_sim_copy(&tmpl, &fd.sim) != OTA_OK)
        abort();
}

static void check_answer(size_t n)
{
    if (n == 0)
        return;
    if (n < SMP_HDR_LEN + 1 || n > sizeof rsp || ((size_t)rsp[2] << 8 | rsp[3]) != n - SMP_HDR_LEN ||
        (rsp[SMP_HDR_LEN] & 0xe0u) != 0xa0u || (rsp[0] & 7u) % 2 != 1)
        abort();
}

static void handle(const uint8_t *pkt, size_t len)
{
    check_answer(smp_server_handle(&srv, pkt, len, rsp, sizeof rsp));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct smp_serial_rx rx;
    struct ota_boot_state st;
    uint8_t now_a[sizeof slot_a];
    size_t i;

    init();
    if (ota_sim_copy(&fd.sim, &tmpl) != OTA_OK)
        abort();
    fix_attach(&fd, ota_crypto_openssl());
    if (smp_img_init(&srv.img, &fd.dev, 0) != OTA_OK ||
        smp_ota_init(&srv.ota, &fd.dev, 0, identity, sizeof identity) != OTA_OK)
        abort();
    srv.reset_requested = 0;
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        smp_serial_rx_init(&rx, rx_buf, sizeof rx_buf);
        for (i = 1; i < size; i++) {
            enum smp_serial_event ev = smp_serial_rx_byte(&rx, data[i]);
            if (rx.pkt_len > rx.cap)
                abort();
            if (ev == SMP_SERIAL_PACKET)
                handle(rx.buf, rx.pkt_len);
            else if (ev != SMP_SERIAL_NONE)
                check_answer(smp_server_transport_error(rx.buf, rx.pkt_len, SMP_RC_ECORRUPT, rsp,
                                                        sizeof rsp));
        }
        break;
    case 1:
        for (i = 1; i + 2 <= size;) {
            size_t n = (size_t)data[i] << 8 | data[i + 1];
            i += 2;
            if (n > size - i)
                n = size - i;
            handle(data + i, n);
            i += n;
        }
        break;
    default: {
        /* the same map to every command's decoder, as v1 and v2 requests */
        static const uint8_t cmds[][3] = {{0, 0, 2},  {0, 5, 2},  {1, 0, 0},  {1, 0, 2},
                                          {1, 1, 2},  {1, 5, 2},  {0, 6, 0},  {64, 0, 2},
                                          {64, 1, 2}, {64, 2, 0}, {64, 3, 0}, {9, 9, 0}};
        enum { NCMD = sizeof cmds / sizeof cmds[0] };
        uint8_t pkt[SMP_HDR_LEN + 2048];
        size_t n = size - 1 < 2048 ? size - 1 : 2048, k;
        for (k = 0; k < 2 * NCMD; k++) {
            const uint8_t *c = cmds[k % NCMD];
            pkt[0] = (uint8_t)((k / NCMD) << 3 | c[2]);
            pkt[1] = 0;
            pkt[2] = (uint8_t)(n >> 8);
            pkt[3] = (uint8_t)n;
            pkt[4] = 0;
            pkt[5] = c[0];
            pkt[6] = (uint8_t)k;
            pkt[7] = c[1];
            memcpy(pkt + SMP_HDR_LEN, data + 1, n);
            handle(pkt, SMP_HDR_LEN + n);
        }
        break;
    }
    }
    /* invariants: no unverifiable pending slot, the running image intact */
    if (ota_boot_state_read(&fd.sim.flash, &fd.cfg.layout, &st, NULL) != OTA_OK)
        abort();
    if (st.pending != OTA_SLOT_NONE || (st.confirmed != 0 && st.confirmed != OTA_SLOT_NONE)) {
        struct ota_image_info info;
        int s = st.pending != OTA_SLOT_NONE ? st.pending : st.confirmed;
        if (s != 1 || ota_boot_verify_slot(&fd.dev, &fd.cfg, s, 0, &info, NULL) != OTA_OK)
            abort();
    }
    if (ota_flash_read(&fd.sim.flash, fd.cfg.layout.slot_off[0], now_a, sizeof now_a) != OTA_OK ||
        memcmp(now_a, slot_a, sizeof now_a) != 0)
        abort();
    if (fd.sim.violations)
        abort();
    return 0;
}
