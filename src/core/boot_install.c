// SPDX-License-Identifier: Apache-2.0
/*
 * boot_install.c - writing a new image into the inactive slot and handing it
 * to the bootloader for a trial boot. The one path every installer takes:
 * `ota-sim install` and the device update engine both call these, so what the
 * power-loss proof covers is what devices run.
 *
 * Order of flash effects: (1) if the target slot was pending, a state record
 * ending that trial; (2) erase-ahead writes into the target slot; (3) verify
 * the slot in place; (4) one state record marking it pending. Until (4) lands
 * the bootloader does not look at the target slot except as a last-resort
 * fallback, and then only through full verification.
 */
#include <string.h>

#include "boot_internal.h"
#include "ota/boot.h"
#include "ota/image_enc.h"

/* Bytes decrypted at a time on the stack before they go to the writer. */
#define DECRYPT_CHUNK 256u

ota_err ota_install_begin(struct ota_install *ins, const struct ota_boot_dev *dev,
                          uint32_t size, struct ota_diag *d)
{
    struct ota_boot_state st;
    ota_err e;

    if (!ins || !dev || !dev->crypto || ota_flash_check(dev->flash) != OTA_OK)
        return ota_boot_fail(d, OTA_ERR_INVALID_ARG, "install arguments", 0);
    memset(ins, 0, sizeof *ins);
    e = ota_boot_config_read(dev->flash, &ins->cfg, d);
    if (e)
        return e;
    e = ota_boot_state_read(dev->flash, &ins->cfg.layout, &st, NULL);
    if (e)
        return ota_boot_fail(d, e, "boot state (read)", ins->cfg.layout.state_off);
    if (size == 0 || size > ins->cfg.layout.slot_size)
        return ota_boot_fail_vals(d, OTA_ERR_IMAGE_TOO_LARGE, "image size vs slot size", 0,
                                  ins->cfg.layout.slot_size, size);
    /* never the confirmed slot: that is what runs, and the fallback */
    ins->slot = st.confirmed == OTA_SLOT_NONE ? 0 : 1 - st.confirmed;
    if (st.pending == ins->slot) {
        struct ota_boot_state nst = st;
        nst.pending = OTA_SLOT_NONE;
        nst.attempts = 0;
        e = ota_boot_state_write(dev->flash, &ins->cfg.layout, &nst);
        if (e)
            return ota_boot_fail(d, e, "boot state (end previous trial)",
                                 ins->cfg.layout.state_off);
    }
    e = ota_flash_writer_init(&ins->w, dev->flash, ins->cfg.layout.slot_off[ins->slot],
                              ins->cfg.layout.slot_size, dev->prog_chunk);
    if (e)
        return ota_boot_fail(d, e, "slot writer", ins->cfg.layout.slot_off[ins->slot]);
    ins->dev = dev;
    ins->size = size;
    ins->active = 1;
    return OTA_OK;
}

ota_err ota_install_resume(struct ota_install *ins, uint32_t offset, struct ota_diag *d)
{
    const struct ota_boot_layout *l;
    ota_err e;

    if (!ins || !ins->active || ins->w.pos != 0)
        return ota_boot_fail(d, OTA_ERR_UPDATE_STATE, "install resume (not right after begin)", 0);
    l = &ins->cfg.layout;
    if (offset >= ins->size)
        return ota_boot_fail_vals(d, OTA_ERR_INVALID_ARG, "install resume offset vs image size",
                                  0, ins->size, offset);
    e = ota_flash_writer_init(&ins->w, ins->dev->flash, l->slot_off[ins->slot] + offset,
                              l->slot_size - offset, ins->dev->prog_chunk);
    if (e)
        return ota_boot_fail(d, e, "slot writer (resume)", l->slot_off[ins->slot] + offset);
    ins->size -= offset;
    ins->base = offset;
    return OTA_OK;
}

ota_err ota_install_decrypt(struct ota_install *ins, const struct ota_enc_key *k)
{
    if (!ins || !ins->active || !k || !k->c || ins->w.pos != 0)
        return OTA_ERR_UPDATE_STATE;
    ins->enc = k;
    return OTA_OK;
}

ota_err ota_install_write(struct ota_install *ins, const void *data, size_t len)
{
    ota_err e;

    if (!ins || !ins->active)
        return OTA_ERR_UPDATE_STATE;
    if (len > (size_t)(ins->size - ins->w.pos))
        return OTA_ERR_UPDATE_PAYLOAD_SIZE;
    if (!ins->enc) {
        e = ota_flash_writer_write(&ins->w, data, len);
    } else {
        /* Decrypt through a small stack buffer: plaintext exists only on
         * its way into the slot. */
        const uint8_t *p = data;
        uint8_t buf[DECRYPT_CHUNK];
        e = OTA_OK;
        while (!e && len) {
            size_t n = len < sizeof buf ? len : sizeof buf;
            memcpy(buf, p, n);
            e = ota_enc_xor(ins->enc, ins->base + ins->w.pos, buf, n);
            if (!e)
                e = ota_flash_writer_write(&ins->w, buf, n);
            p += n;
            len -= n;
        }
        memset(buf, 0, sizeof buf);
    }
    if (e)
        ins->active = 0;
    return e;
}

ota_err ota_install_finish(struct ota_install *ins, int permanent,
                           struct ota_image_info *info, struct ota_diag *d)
{
    struct ota_image_info local;
    struct ota_boot_state st, nst;
    struct ota_otp_counter otp;
    const struct ota_flash *f;
    ota_err e;

    if (!ins || !ins->active)
        return ota_boot_fail(d, OTA_ERR_UPDATE_STATE, "install not begun", 0);
    ins->active = 0;
    if (!info)
        info = &local;
    f = ins->dev->flash;
    if (ins->w.pos != ins->size)
        return ota_boot_fail_vals(d, OTA_ERR_UPDATE_PAYLOAD_SIZE, "bytes written vs announced",
                                  0, ins->size, ins->w.pos);
    e = ota_flash_writer_finish(&ins->w);
    if (e)
        return ota_boot_fail(d, e, "slot write (flush)", ins->w.off + ins->w.pos);
    e = ota_otp_read_counter(f, &ins->cfg.layout, &otp);
    if (e)
        return ota_boot_fail(d, e, "OTP counter (read)", ins->cfg.layout.otp_off);
    e = ota_boot_verify_slot(ins->dev, &ins->cfg, ins->slot, otp.value, info, d);
    if (e)
        return e;
    e = ota_boot_state_read(f, &ins->cfg.layout, &st, NULL);
    if (e)
        return ota_boot_fail(d, e, "boot state (read)", ins->cfg.layout.state_off);
    nst = st;
    if (permanent) {
        nst.confirmed = (uint8_t)ins->slot;
        nst.pending = OTA_SLOT_NONE;
        nst.attempts = 0;
    } else {
        nst.pending = (uint8_t)ins->slot;
        nst.attempts = ins->cfg.max_attempts;
    }
    if (nst.rejected == ins->slot)
        nst.rejected = OTA_SLOT_NONE;
    e = ota_boot_state_write(f, &ins->cfg.layout, &nst);
    if (e)
        return ota_boot_fail(d, e, "boot state (mark pending)", ins->cfg.layout.state_off);
    return OTA_OK;
}
