// SPDX-License-Identifier: Apache-2.0
/*
 * test_linux_flash.c - the Linux backend's slot flash (backend_linux_flash.c)
 * on its own: an image programmed through it lands with its body at slot
 * offset 0 and its header + TLVs in the slot's last 64 KiB, whatever the
 * program calls' sizes; reads give the image back as published; a slot with
 * no header reads as erased past its metadata area; the running slot refuses
 * every program and erase; a body that would run into the metadata area is
 * refused; a slot too small is refused at open; the running slot read as a
 * delta applier reads its base (small reads, forward runs, jumps back and
 * across the body's end, large reads) gives the image back through the
 * read-ahead window. (ctest linux.flash)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux.h"
#include "ota/image.h"
#include "../test.h"

#define SLOT (1u << 20)

static char dir[64];

static void make_slot(const char *name, uint32_t size, char *path, size_t cap)
{
    int fd;
    snprintf(path, cap, "%s/%s", dir, name);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, size) != 0)
        abort();
    close(fd);
}

static void cfg_init(struct agent_linux_config *c, uint32_t size_a, uint32_t size_b)
{
    agent_linux_config_defaults(c);
    make_slot("a", size_a, c->slot[0], sizeof c->slot[0]);
    make_slot("b", size_b, c->slot[1], sizeof c->slot[1]);
}

/* A fake signed image: header (hdr_size 64), body, 100 TLV bytes. */
static uint8_t *fake_image(uint32_t body, uint32_t *total)
{
    struct ota_image_header h;
    uint8_t *img;
    uint32_t i;
    *total = 64 + body + 100;
    img = malloc(*total);
    for (i = 0; i < *total; i++)
        img[i] = (uint8_t)(i * 7 + (i >> 8));
    memset(&h, 0, sizeof h);
    h.magic = OTA_IMAGE_MAGIC;
    h.hdr_size = 64;
    h.img_size = body;
    ota_image_header_encode(&h, img);
    return img;
}

static void read_file(const char *path, uint32_t off, void *buf, size_t n)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0 || pread(fd, buf, n, off) != (ssize_t)n)
        abort();
    close(fd);
}

static void test_remap_round_trip(void)
{
    struct agent_linux_config c;
    struct lx_flash x;
    char err[256];
    uint32_t total, off, n, k, body = 300000;
    uint8_t *img = fake_image(body, &total), *back = malloc(total), *file = malloc(body);
    uint8_t meta[64 + 100];
    /* uneven program sizes; the fixed header arrives in two pieces */
    static const uint32_t steps[] = {4096, 1, 65536, 77};
    uint32_t i = 0;

    cfg_init(&c, SLOT, SLOT);
    REQUIRE(lx_flash_open(&x, &c, 0, 0, err, sizeof err) == OTA_OK);
    off = x.l.slot_off[1];
    for (n = 0; n < total; n += k) {
        k = n == 0 ? 10 : n == 10 ? 22 : steps[i++ % 4];
        if (k > total - n)
            k = total - n;
        REQUIRE(ota_flash_prog(&x.f, off + n, img + n, k) == OTA_OK);
    }
    REQUIRE(ota_flash_sync(&x.f) == OTA_OK);
    REQUIRE(ota_flash_read(&x.f, off, back, total) == OTA_OK);
    CHECK(memcmp(back, img, total) == 0);
    lx_flash_close(&x);

    /* on the device: body at 0, header then TLVs in the last 64 KiB */
    read_file(c.slot[1], 0, file, body);
    CHECK(memcmp(file, img + 64, body) == 0);
    read_file(c.slot[1], SLOT - LX_META, meta, sizeof meta);
    CHECK(memcmp(meta, img, 64) == 0);
    CHECK(memcmp(meta + 64, img + 64 + body, 100) == 0);

    /* a new process finds the mapping from the slot itself */
    REQUIRE(lx_flash_open(&x, &c, 1, 0, err, sizeof err) == OTA_OK);
    memset(back, 0, total);
    REQUIRE(ota_flash_read(&x.f, x.l.slot_off[1], back, total) == OTA_OK);
    CHECK(memcmp(back, img, total) == 0);
    lx_flash_close(&x);
    free(img);
    free(back);
    free(file);
}

static void test_running_slot_refused(void)
{
    struct agent_linux_config c;
    struct lx_flash x;
    char err[256];
    uint8_t a[SLOT / 4], after[SLOT / 4], buf[64];

    cfg_init(&c, SLOT, SLOT);
    REQUIRE(lx_flash_open(&x, &c, 0, 0, err, sizeof err) == OTA_OK);
    read_file(c.slot[0], 0, a, sizeof a);
    memset(buf, 0x5a, sizeof buf);
    CHECK(ota_flash_prog(&x.f, x.l.slot_off[0], buf, sizeof buf) == OTA_ERR_UPDATE_STATE);
    CHECK(ota_flash_prog(&x.f, x.l.slot_off[0] + 70000, buf, sizeof buf) ==
          OTA_ERR_UPDATE_STATE);
    CHECK(ota_flash_erase(&x.f, x.l.slot_off[0], LX_SECTOR) == OTA_ERR_UPDATE_STATE);
    CHECK(ota_flash_sync(&x.f) == OTA_OK);
    lx_flash_close(&x);
    read_file(c.slot[0], 0, after, sizeof after);
    CHECK(memcmp(a, after, sizeof a) == 0);
}

static void test_blank_slot_and_limits(void)
{
    struct agent_linux_config c;
    struct lx_flash x;
    char err[256];
    uint8_t buf[256], ff[256];
    uint32_t total, body_max;
    uint8_t *img;

    cfg_init(&c, SLOT, SLOT);
    REQUIRE(lx_flash_open(&x, &c, 0, 0, err, sizeof err) == OTA_OK);
    /* no header: the metadata area, then erased */
    memset(ff, 0xff, sizeof ff);
    REQUIRE(ota_flash_read(&x.f, x.l.slot_off[1] + LX_META + 5, buf, sizeof buf) == OTA_OK);
    CHECK(memcmp(buf, ff, sizeof buf) == 0);
    /* both slots are offered at the size their filesystem may use */
    body_max = (uint32_t)lx_flash_body_max(&x, 1);
    CHECK(body_max == SLOT - LX_META);
    CHECK(x.l.slot_size <= body_max && x.l.slot_size % LX_SECTOR == 0);
    /* a header claiming a body past the metadata area maps nowhere: its
     * body is refused */
    img = fake_image(body_max + 1, &total);
    CHECK(ota_flash_prog(&x.f, x.l.slot_off[1], img, 64) == OTA_OK);
    CHECK(ota_flash_prog(&x.f, x.l.slot_off[1] + LX_META, img + 64, 64) ==
          OTA_ERR_IMAGE_BAD_MAGIC);
    free(img);
    /* TLVs that would not fit the metadata area are refused */
    img = fake_image(1000, &total);
    CHECK(ota_flash_prog(&x.f, x.l.slot_off[1], img, 64) == OTA_OK);
    CHECK(ota_flash_prog(&x.f, x.l.slot_off[1] + 1000 + LX_META, img, 16) ==
          OTA_ERR_IMAGE_TOO_LARGE);
    free(img);
    lx_flash_close(&x);

    /* a slot too small for anything */
    cfg_init(&c, SLOT, LX_META);
    CHECK(lx_flash_open(&x, &c, 0, 0, err, sizeof err) == OTA_ERR_IMAGE_TOO_LARGE);
    CHECK(strstr(err, "slot_b") != NULL && strstr(err, "too small") != NULL);
    lx_flash_close(&x);
    /* a missing slot */
    cfg_init(&c, SLOT, SLOT);
    snprintf(c.slot[1], sizeof c.slot[1], "%s/none", dir);
    CHECK(lx_flash_open(&x, &c, 0, 0, err, sizeof err) == OTA_ERR_FILE);
    CHECK(strstr(err, "slot_b") != NULL && strstr(err, "cannot open") != NULL);
    lx_flash_close(&x);
}

/* The running slot's image read back in an applier-like pattern: mostly
 * short reads continuing the last one, jumps anywhere (back, into the
 * header, across the end of the body into the TLVs) and a few large reads
 * (which bypass the window) -- every byte as programmed. */
static void test_running_slot_read_ahead(void)
{
    struct agent_linux_config c;
    struct lx_flash x;
    char err[256];
    uint32_t total, off, n, i, pos = 0, seed = 12345, body = 700000;
    uint8_t *img = fake_image(body, &total), *buf = malloc(100000);

    cfg_init(&c, SLOT, SLOT);
    /* program slot A while B runs, then run from A */
    REQUIRE(lx_flash_open(&x, &c, 1, 0, err, sizeof err) == OTA_OK);
    REQUIRE(ota_flash_prog(&x.f, x.l.slot_off[0], img, total) == OTA_OK);
    REQUIRE(ota_flash_sync(&x.f) == OTA_OK);
    lx_flash_close(&x);
    REQUIRE(lx_flash_open(&x, &c, 0, 0, err, sizeof err) == OTA_OK);
    off = x.l.slot_off[0];

    /* large reads only: straight to the slot, the window stays empty */
    REQUIRE(ota_flash_read(&x.f, off + 64, buf, 100000) == OTA_OK);
    CHECK(memcmp(buf, img + 64, 100000) == 0);
    CHECK(x.ra.len == 0);

    for (i = 0; i < 20000; i++) {
        seed = seed * 1103515245u + 12345u;
        switch ((seed >> 16) % 16) {
        case 0: /* a jump anywhere */
            pos = (seed >> 4) % total;
            break;
        case 1: /* back a little (a match reaching behind) */
            pos = pos > 5000 ? pos - 5000 : 0;
            break;
        case 2: /* across the end of the body */
            pos = 64 + body - 300;
            break;
        default:
            break;
        }
        n = (seed >> 8) % 97 == 0 ? 70000 : 1 + (seed >> 3) % 1024;
        if (pos + n > total)
            pos = total - n;
        if (ota_flash_read(&x.f, off + pos, buf, n) != OTA_OK ||
            memcmp(buf, img + pos, n) != 0) {
            CHECK(!"running slot read differs from the image");
            printf("  read %u: %u bytes at image byte %u\n", i, n, pos);
            break;
        }
        pos += n;
        if (pos >= total)
            pos = 0;
    }
    /* the short reads went through the window */
    CHECK(x.ra.len > 0 && x.ra.len <= x.ra.cap);
    lx_flash_close(&x);
    free(img);
    free(buf);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/ota-linux-flash-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_remap_round_trip);
    RUN(test_running_slot_refused);
    RUN(test_blank_slot_and_limits);
    RUN(test_running_slot_read_ahead);
    unlink(strcat(strcpy((char[96]){0}, dir), "/a"));
    unlink(strcat(strcpy((char[96]){0}, dir), "/b"));
    rmdir(dir);
    return test_summary();
}
