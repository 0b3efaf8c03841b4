// SPDX-License-Identifier: Apache-2.0
/*
 * smp_app.c - the SMP service loop of the port's application (smp_app.h):
 * UART 1 bytes -> serial framing -> SMP server -> framed answer. The trial
 * watchdog the bootloader started is kicked while the loop runs; confirming
 * is left to the client (`ota smp confirm`, mcumgr `image confirm`), after
 * its own health check, as MCUmgr deployments do.
 *
 * RAM: the receive and answer buffers (SMP_MTU each), the server state
 * (the installer's writer and an upload's SHA-256) and a 512-byte hash
 * buffer; all static, no heap.
 */
#include "smp_app.h"

#include "console.h"
#include "flash_port.h"
#include "jump.h"
#include "smp_serial.h"
#include "smp_server.h"
#include "smp_uart.h"
#include "watchdog.h"

static uint8_t rx_buf[SMP_MTU + 2]; /* packet + CRC */
static uint8_t rsp_buf[SMP_MTU];
static uint8_t hash_buf[512];
static struct smp_serial_rx rx;
static struct smp_server srv;
static struct ota_flash flash;
static struct ota_boot_dev dev;

static int emit(void *ctx, const char *line, size_t n)
{
    (void)ctx;
    smp_uart_write(line, n);
    return 0;
}

static void answer(size_t n)
{
    if (n)
        smp_serial_send(rsp_buf, n, emit, NULL);
}

void smp_app_run(uint32_t slot)
{
    ota_err e;

    flash_port_init(&flash);
    dev.flash = &flash;
    dev.crypto = ota_crypto_mbedtls();
    dev.buf = hash_buf;
    dev.buf_len = sizeof hash_buf;
    e = smp_img_init(&srv.img, &dev, (int)slot);
    if (smp_ota_init(&srv.ota, &dev, (int)slot,
                     (const uint8_t *)flash_port_addr(BOARD_IDENTITY_OFF),
                     SMP_IDENTITY_LEN) != OTA_OK)
        console_puts("app: SMP: no device identity block: ota group offers refused\n");
    if (e != OTA_OK) {
        console_puts("app: SMP: boot config unreadable\n");
        for (;;)
            __asm__ volatile("wfi");
    }
    smp_serial_rx_init(&rx, rx_buf, sizeof rx_buf);
    smp_uart_init();
    console_puts("app: SMP server on UART1\n");
    for (;;) {
        enum smp_serial_event ev;
        int c = smp_uart_getc();

        if (watchdog_running())
            watchdog_kick();
        if (c < 0)
            continue;
        ev = smp_serial_rx_byte(&rx, (uint8_t)c);
        switch (ev) {
        case SMP_SERIAL_NONE:
            break;
        case SMP_SERIAL_PACKET:
            answer(smp_server_handle(&srv, rx.buf, rx.pkt_len, rsp_buf, sizeof rsp_buf));
            break;
        case SMP_SERIAL_TOO_LONG:
            answer(smp_server_transport_error(rx.buf, rx.pkt_len, SMP_RC_EMSGSIZE, rsp_buf,
                                              sizeof rsp_buf));
            break;
        default:
            answer(smp_server_transport_error(rx.buf, rx.pkt_len, SMP_RC_ECORRUPT, rsp_buf,
                                              sizeof rsp_buf));
            break;
        }
        if (srv.reset_requested) {
            console_puts("app: SMP reset\n");
            system_reset();
        }
    }
}
