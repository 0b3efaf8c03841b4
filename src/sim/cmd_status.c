// SPDX-License-Identifier: Apache-2.0
/*
 * src/sim/cmd_status.c - `ota-sim status`: everything a firmware engineer
 * asks of a device on the bench: what each slot holds and whether the
 * bootloader would accept it, the boot state (confirmed / pending with
 * attempts / rejected), the OTP counter, what runs, and flash wear.
 * Read-only: the device file is not modified.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ota/host.h"
#include "ota/image_slot.h"
#include "sim_cli.h"

static void help(FILE *f)
{
    fprintf(f, "Usage: ota-sim status FLASH [--json]\n\n"
               "Show the device: geometry and layout, stage 0 check, boot state (confirmed,\n"
               "pending + attempts left, rejected), OTP anti-rollback counter, each slot's\n"
               "image (version, security counter, whether the bootloader accepts it and why\n"
               "not), the running slot, and wear (erases per region). Changes nothing.\n\n"
               "Options:\n"
               "  --json   one JSON object (stable keys; see docs/boot.md)\n\n");
    ota_exit_codes_print(f, OTA_PROG_SIM);
}

struct region_wear {
    const char *name;
    uint32_t off, len;
    uint64_t total;
    uint32_t max;
};

static void wear(const struct ota_sim *s, struct region_wear *w)
{
    uint32_t first = w->off / s->flash.sector_size, n = w->len / s->flash.sector_size, i;
    w->total = 0;
    w->max = 0;
    for (i = 0; i < n && first + i < s->flash.sector_count; i++) {
        w->total += s->erase_count[first + i];
        if (s->erase_count[first + i] > w->max)
            w->max = s->erase_count[first + i];
    }
}

static json_t *slot_json(const char *name) { return name ? json_string(name) : json_null(); }

static const char *slot_or_null(uint8_t s) { return s == OTA_SLOT_NONE ? NULL : sim_slot_name(s); }

int sim_cmd_status(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    struct sim_device *d;
    struct ota_boot_state st;
    struct ota_boot_state_info si;
    struct ota_otp_counter otp;
    struct ota_image_info info[2];
    struct ota_diag diag[2];
    ota_err verr[2], stage0, ste = OTA_OK, otpe = OTA_OK;
    struct region_wear rw[5];
    int json = 0, c, rc, i;
    char ver[2][32];

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': help(stdout); return OTA_EXIT_OK;
        default:
            fprintf(stderr, "ota-sim status: see 'ota-sim status --help'\n");
            return OTA_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "ota-sim status: expected exactly one FLASH argument\n");
        return OTA_EXIT_USAGE;
    }
    rc = sim_device_new(&d, argv[optind]);
    if (rc)
        return rc;
    if (!d->cfg_ok) {
        struct ota_diag cd = {0};
        ota_err e = ota_boot_config_read(&d->sim.flash, &d->cfg, &cd);
        sim_print_err("status", "bootloader config block", e, &cd);
        sim_device_free(d);
        return OTA_EXIT_ERROR;
    }
    stage0 = ota_boot_stage0(&d->dev, NULL);
    ste = ota_boot_state_read(&d->sim.flash, &d->cfg.layout, &st, &si);
    otpe = ota_otp_read_counter(&d->sim.flash, &d->cfg.layout, &otp);
    if (otpe)
        memset(&otp, 0, sizeof otp);
    for (i = 0; i < 2; i++) {
        memset(&diag[i], 0, sizeof diag[i]);
        verr[i] = ota_boot_verify_slot(&d->dev, &d->cfg, i, otp.value, &info[i], &diag[i]);
        if (verr[i] != OTA_OK) {
            /* still show what the slot claims to hold, when it parses */
            struct ota_flash_area a;
            struct ota_reader r;
            ota_reader_from_flash(&r, &a, &d->sim.flash, d->cfg.layout.slot_off[i],
                                  d->cfg.layout.slot_size);
            if (ota_image_parse(&r, &info[i], NULL) != OTA_OK)
                info[i].hdr.magic = 0;
        }
        ota_image_version_str(&info[i].hdr.version, ver[i], sizeof ver[i]);
    }
    rw[0] = (struct region_wear){"bootloader", d->cfg.layout.boot_off, d->cfg.layout.boot_size, 0, 0};
    rw[1] = (struct region_wear){"slot_a", d->cfg.layout.slot_off[0], d->cfg.layout.slot_size, 0, 0};
    rw[2] = (struct region_wear){"slot_b", d->cfg.layout.slot_off[1], d->cfg.layout.slot_size, 0, 0};
    rw[3] = (struct region_wear){"state", d->cfg.layout.state_off, 2 * d->sim.flash.sector_size, 0, 0};
    rw[4] = (struct region_wear){"otp", d->cfg.layout.otp_off, d->cfg.layout.otp_size, 0, 0};
    for (i = 0; i < 5; i++)
        wear(&d->sim, &rw[i]);

    if (json) {
        json_t *o = json_object(), *geo = json_object(), *state = json_object(),
               *otpo = json_object(), *slots = json_array(), *w = json_object(),
               *ops = json_object();
        char *txt;
        json_object_set_new(o, "flash", json_string(d->path));
        json_object_set_new(geo, "name", json_string(d->sim.geometry));
        json_object_set_new(geo, "read_size", json_integer(d->sim.flash.read_size));
        json_object_set_new(geo, "prog_size", json_integer(d->sim.flash.prog_size));
        json_object_set_new(geo, "sector_size", json_integer(d->sim.flash.sector_size));
        json_object_set_new(geo, "sector_count", json_integer(d->sim.flash.sector_count));
        json_object_set_new(o, "geometry", geo);
        json_object_set_new(o, "stage0", json_string(ota_errname(stage0)));
        json_object_set_new(o, "running", d->sim.running_slot >= 0
                                              ? json_string(sim_slot_name(d->sim.running_slot))
                                              : json_null());
        json_object_set_new(o, "boot_count", json_integer(d->sim.boot_count));
        if (ste == OTA_OK) {
            json_object_set_new(state, "seq", json_integer(st.seq));
            json_object_set_new(state, "confirmed", slot_json(slot_or_null(st.confirmed)));
            json_object_set_new(state, "pending", slot_json(slot_or_null(st.pending)));
            json_object_set_new(state, "attempts_left", json_integer(st.attempts));
            json_object_set_new(state, "rejected", slot_json(slot_or_null(st.rejected)));
            json_object_set_new(state, "valid_records", json_integer(si.valid_records));
            json_object_set_new(state, "bad_records", json_integer(si.bad_records));
        } else {
            json_object_set_new(state, "error", json_string(ota_errname(ste)));
        }
        json_object_set_new(o, "state", state);
        json_object_set_new(otpo, "counter", json_integer(otp.value));
        json_object_set_new(otpo, "records_used", json_integer(otp.used));
        json_object_set_new(otpo, "capacity", json_integer(otp.capacity));
        if (otpe)
            json_object_set_new(otpo, "error", json_string(ota_errname(otpe)));
        json_object_set_new(o, "otp", otpo);
        for (i = 0; i < 2; i++) {
            json_t *s = json_object();
            const char *role = st.confirmed == i ? "confirmed"
                               : st.pending == i ? "pending"
                               : st.rejected == i ? "rejected" : "inactive";
            json_object_set_new(s, "name", json_string(sim_slot_name(i)));
            json_object_set_new(s, "offset", json_integer(d->cfg.layout.slot_off[i]));
            json_object_set_new(s, "size", json_integer(d->cfg.layout.slot_size));
            json_object_set_new(s, "role", json_string(role));
            json_object_set_new(s, "valid", json_boolean(verr[i] == OTA_OK));
            json_object_set_new(s, "error", verr[i] == OTA_OK ? json_null()
                                                              : json_string(ota_errname(verr[i])));
            if (info[i].hdr.magic == OTA_IMAGE_MAGIC) {
                char hex[2 * OTA_SHA256_LEN + 1];
                json_object_set_new(s, "version", json_string(ver[i]));
                json_object_set_new(s, "security_counter", json_integer(info[i].security_counter));
                json_object_set_new(s, "image_size", json_integer(info[i].total_size));
                ota_hex_encode(info[i].hash, OTA_SHA256_LEN, hex);
                json_object_set_new(s, "hash", json_string(hex));
                json_object_set_new(s, "link_slot",
                                    json_string(ota_link_slot_name(sim_link_slot(d, i))));
            } else {
                json_object_set_new(s, "version", json_null());
            }
            json_array_append_new(slots, s);
        }
        json_object_set_new(o, "slots", slots);
        for (i = 0; i < 5; i++) {
            json_t *r = json_object();
            json_object_set_new(r, "erases", json_integer((json_int_t)rw[i].total));
            json_object_set_new(r, "max_sector_erases", json_integer(rw[i].max));
            json_object_set_new(w, rw[i].name, r);
        }
        json_object_set_new(o, "wear", w);
        json_object_set_new(ops, "operations", json_integer((json_int_t)d->sim.ops));
        json_object_set_new(ops, "programs", json_integer((json_int_t)d->sim.stats.progs));
        json_object_set_new(ops, "erases", json_integer((json_int_t)d->sim.stats.erases));
        json_object_set_new(ops, "bytes_programmed",
                            json_integer((json_int_t)d->sim.stats.bytes_programmed));
        json_object_set_new(ops, "nor_violations", json_integer((json_int_t)d->sim.violations));
        json_object_set_new(o, "flash_ops", ops);
        txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        puts(txt);
        free(txt);
        json_decref(o);
    } else {
        printf("device %s: geometry %s (%u x %u bytes, program unit %u)\n", d->path,
               d->sim.geometry, d->sim.flash.sector_count, d->sim.flash.sector_size,
               d->sim.flash.prog_size);
        printf("stage 0:     %s\n", stage0 == OTA_OK ? "bootloader hash matches OTP"
                                                     : ota_strerror(stage0));
        if (ste == OTA_OK)
            printf("boot state:  confirmed %s, pending %s (%u attempts left), rejected %s "
                   "[record %u]\n",
                   sim_slot_name(st.confirmed == OTA_SLOT_NONE ? -1 : st.confirmed),
                   sim_slot_name(st.pending == OTA_SLOT_NONE ? -1 : st.pending), st.attempts,
                   sim_slot_name(st.rejected == OTA_SLOT_NONE ? -1 : st.rejected), st.seq);
        else
            printf("boot state:  unreadable: %s\n", ota_strerror(ste));
        printf("OTP counter: %u (%u of %u records used)\n", otp.value, otp.used, otp.capacity);
        printf("running:     %s\n", d->sim.running_slot >= 0 ? sim_slot_name(d->sim.running_slot)
                                                            : "nothing (not booted)");
        for (i = 0; i < 2; i++) {
            const char *role = st.confirmed == i ? "confirmed"
                               : st.pending == i ? "pending"
                               : st.rejected == i ? "rejected: failed its trial" : "inactive";
            printf("slot %s [%s]: ", sim_slot_name(i), role);
            if (info[i].hdr.magic == OTA_IMAGE_MAGIC)
                printf("version %s, security counter %u, %u bytes, ", ver[i],
                       info[i].security_counter, info[i].total_size);
            else
                printf("no image, ");
            if (verr[i] == OTA_OK)
                printf("valid image\n");
            else
                printf("not bootable: %s (%s)\n", ota_strerror(verr[i]), ota_errname(verr[i]));
        }
        printf("wear:        ");
        for (i = 0; i < 5; i++)
            printf("%s%s %llu erases (max %u/sector)", i ? ", " : "", rw[i].name,
                   (unsigned long long)rw[i].total, rw[i].max);
        printf("\nflash ops:   %llu programs (%llu bytes), %llu erases\n",
               (unsigned long long)d->sim.stats.progs,
               (unsigned long long)d->sim.stats.bytes_programmed,
               (unsigned long long)d->sim.stats.erases);
    }
    sim_device_free(d);
    return OTA_EXIT_OK;
}
