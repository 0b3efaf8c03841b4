// SPDX-License-Identifier: Apache-2.0
/*
 * backend_linux_config.c - the configuration keys of the Linux A/B backend
 * (backend = linux, slot_a/slot_b, image_key, hw_id, bootloader, grubenv,
 * uboot_env_config, cmdline, running_slot, linux_state, reboot_cmd), kept
 * apart from config.c so the simulator's agent configuration stays as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linux.h"
#include "ota/host.h"

const char agent_linux_config_help[] =
    "Linux A/B devices (backend = linux; docs/linux.md):\n"
    "  backend         sim (default: the 'flash' file) or linux\n"
    "  slot_a          root filesystem slot A: a block device or a file\n"
    "  slot_b          root filesystem slot B\n"
    "  image_key       PEM public key that signs images (required)\n"
    "  hw_id           this product's hardware id, as registered with the server\n"
    "                  (required by the agent loop); images signed for other\n"
    "                  hardware are refused\n"
    "  bootloader      grub or uboot (required)\n"
    "  grubenv         GRUB environment block (default /boot/grub/grubenv)\n"
    "  grub_editenv    the grub-editenv program (default: grub-editenv in PATH)\n"
    "  uboot_env_config  libubootenv configuration (default /etc/fw_env.config)\n"
    "  boot_attempts   U-Boot boot attempts of a new or good slot (default 3)\n"
    "  cmdline         kernel command line to read the running slot from\n"
    "                  (default /proc/cmdline: ota.slot=A|B, rauc.slot=, root=)\n"
    "  running_slot    A or B: overrides the command line (tests)\n"
    "  linux_state     pending slot and anti-rollback floor (default:\n"
    "                  STATE_FILE.linux; keep it on the data partition)\n"
    "  reboot_cmd      command run when the device must reboot (an update is\n"
    "                  installed, or its trial failed); default: just exit\n"
    "  enc_key         this device's P-256 private key (PEM) that opens encrypted\n"
    "                  images; the slot receives the plaintext filesystem\n"
    "                  (default: none, encrypted images are refused)\n";

void agent_linux_config_defaults(struct agent_linux_config *c)
{
    memset(c, 0, sizeof *c);
    c->running_slot = -1;
    c->boot_attempts = 3;
}

static int copy(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap)
        return 1;
    memcpy(dst, v, n + 1);
    return 0;
}


int agent_linux_config_set(struct agent_linux_config *c, const char *key, const char *v,
                           int *bad)
{
    *bad = 0;
    if (agent_key_is(key, "backend")) {
        if (!strcmp(v, "linux"))
            c->enabled = 1;
        else if (!strcmp(v, "sim"))
            c->enabled = 0;
        else
            *bad = 1;
    } else if (agent_key_is(key, "slot_a")) {
        *bad = !*v || copy(c->slot[0], sizeof c->slot[0], v);
    } else if (agent_key_is(key, "slot_b")) {
        *bad = !*v || copy(c->slot[1], sizeof c->slot[1], v);
    } else if (agent_key_is(key, "image_key")) {
        *bad = copy(c->image_key, sizeof c->image_key, v);
    } else if (agent_key_is(key, "hw_id")) {
        int n = *v ? ota_hw_id_parse(v, c->hw_id_raw) : 0;
        *bad = n < 0 || copy(c->hw_id, sizeof c->hw_id, v);
        c->hw_id_len = n < 0 ? 0 : n;
    } else if (agent_key_is(key, "bootloader")) {
        if (!strcmp(v, "grub"))
            c->bootloader = AGENT_BOOTLOADER_GRUB;
        else if (!strcmp(v, "uboot") || !strcmp(v, "u-boot"))
            c->bootloader = AGENT_BOOTLOADER_UBOOT;
        else
            *bad = 1;
    } else if (agent_key_is(key, "grubenv")) {
        *bad = !*v || copy(c->grubenv, sizeof c->grubenv, v);
    } else if (agent_key_is(key, "grub_editenv")) {
        *bad = !*v || copy(c->grub_editenv, sizeof c->grub_editenv, v);
    } else if (agent_key_is(key, "uboot_env_config")) {
        *bad = !*v || copy(c->uboot_env_config, sizeof c->uboot_env_config, v);
    } else if (agent_key_is(key, "boot_attempts")) {
        char *end;
        long n = strtol(v, &end, 10);
        *bad = !*v || *end || n < 1 || n > 99;
        c->boot_attempts = (int)n;
    } else if (agent_key_is(key, "cmdline")) {
        *bad = !*v || copy(c->cmdline, sizeof c->cmdline, v);
    } else if (agent_key_is(key, "running_slot")) {
        if (!strcmp(v, "A") || !strcmp(v, "a"))
            c->running_slot = 0;
        else if (!strcmp(v, "B") || !strcmp(v, "b"))
            c->running_slot = 1;
        else if (!*v)
            c->running_slot = -1;
        else
            *bad = 1;
    } else if (agent_key_is(key, "linux_state")) {
        *bad = !*v || copy(c->state, sizeof c->state, v);
    } else if (agent_key_is(key, "reboot_cmd")) {
        *bad = copy(c->reboot_cmd, sizeof c->reboot_cmd, v);
    } else if (agent_key_is(key, "enc_key")) {
        *bad = copy(c->enc_key, sizeof c->enc_key, v);
    } else {
        return 0;
    }
    return 1;
}

ota_err agent_linux_config_finish(struct agent_linux_config *c, const char *state_file,
                                  char *err, size_t errlen)
{
    ota_key *k = NULL;
    char kerr[256];

    if (!c->enabled)
        return OTA_OK;
    if (!c->slot[0][0] || !c->slot[1][0] || !c->image_key[0] || !c->bootloader) {
        snprintf(err, errlen, "backend = linux: missing required setting: %s",
                 !c->slot[0][0] ? "slot_a" : !c->slot[1][0] ? "slot_b"
                 : !c->image_key[0] ? "image_key" : "bootloader (grub or uboot)");
        return OTA_ERR_CONFIG;
    }
    if (!strcmp(c->slot[0], c->slot[1])) {
        snprintf(err, errlen, "slot_a and slot_b are the same path '%s'", c->slot[0]);
        return OTA_ERR_CONFIG;
    }
    if (ota_key_load(c->image_key, &k, kerr, sizeof kerr) != OTA_OK) {
        snprintf(err, errlen, "image_key: %s", kerr);
        return OTA_ERR_CONFIG;
    }
    ota_key_pubkey(k, &c->image_pub);
    ota_key_free(k);
    if (c->enc_key[0]) {
        k = NULL;
        if (ota_key_load(c->enc_key, &k, kerr, sizeof kerr) != OTA_OK ||
            ota_key_private_scalar(k, &c->enc_priv) != OTA_OK) {
            if (k)
                snprintf(err, errlen, "enc_key: %s: not a P-256 private key", c->enc_key);
            else
                snprintf(err, errlen, "enc_key: %s", kerr);
            ota_key_free(k);
            return OTA_ERR_CONFIG;
        }
        ota_key_free(k);
        c->has_enc_key = 1;
    }
    if (!c->grubenv[0])
        snprintf(c->grubenv, sizeof c->grubenv, "/boot/grub/grubenv");
    if (!c->grub_editenv[0])
        snprintf(c->grub_editenv, sizeof c->grub_editenv, "grub-editenv");
    if (!c->uboot_env_config[0])
        snprintf(c->uboot_env_config, sizeof c->uboot_env_config, "/etc/fw_env.config");
    if (!c->cmdline[0])
        snprintf(c->cmdline, sizeof c->cmdline, "/proc/cmdline");
    if (!c->state[0]) {
        if (!state_file || !*state_file ||
            (size_t)snprintf(c->state, sizeof c->state, "%s.linux", state_file) >=
                sizeof c->state) {
            snprintf(err, errlen, "backend = linux: set linux_state (or state_file)");
            return OTA_ERR_CONFIG;
        }
    }
    return OTA_OK;
}
