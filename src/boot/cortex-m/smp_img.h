// SPDX-License-Identifier: Apache-2.0
/*
 * smp_img.h - SMP image management group (group 1, smp_group_1.rst) on
 * ota's portable core: upload streams into the inactive slot through the
 * core's installer (ota_install_*, the layer the update engine writes
 * through), verified exactly as the bootloader will before it is reported
 * bootable; state read/write maps to ota's boot state (test = pending with
 * trial attempts, confirm = ota_boot_confirm); erase wipes the inactive slot.
 * Upload sessions live in RAM and resume at the device's offset when the
 * client restarts with the same "sha" (as Zephyr's img_mgmt does).
 */
#ifndef OTA_PORT_SMP_IMG_H
#define OTA_PORT_SMP_IMG_H

#include <stdint.h>

#include "ota/boot.h"
#include "ota/crypto.h"

struct smp_req;

/* img_mgmt_err_code_t (Zephyr's mgmt/mcumgr/grp/img_mgmt/img_mgmt.h). */
enum smp_img_rc {
    SMP_IMG_OK = 0,
    SMP_IMG_UNKNOWN = 1,
    SMP_IMG_NO_IMAGE = 3,
    SMP_IMG_NO_TLVS = 4,
    SMP_IMG_INVALID_TLV = 5,
    SMP_IMG_HASH_NOT_FOUND = 8,
    SMP_IMG_NO_FREE_SLOT = 9,
    SMP_IMG_FLASH_READ_FAILED = 11,
    SMP_IMG_FLASH_WRITE_FAILED = 12,
    SMP_IMG_FLASH_ERASE_FAILED = 13,
    SMP_IMG_INVALID_SLOT = 14,
    SMP_IMG_INVALID_OFFSET = 20,
    SMP_IMG_INVALID_LENGTH = 21,
    SMP_IMG_INVALID_IMAGE_HEADER = 22,
    SMP_IMG_INVALID_IMAGE_HEADER_MAGIC = 23,
    SMP_IMG_INVALID_HASH = 24,
    SMP_IMG_CURRENT_VERSION_IS_NEWER = 27,
    SMP_IMG_IMAGE_ALREADY_PENDING = 28,
    SMP_IMG_INVALID_IMAGE_TOO_LARGE = 30,
    SMP_IMG_INVALID_IMAGE_DATA_OVERRUN = 31,
    SMP_IMG_IMAGE_CONFIRMATION_DENIED = 32,
    SMP_IMG_SETTING_TEST_TO_ACTIVE_DENIED = 33,
};

struct smp_img {
    const struct ota_boot_dev *dev;
    struct ota_boot_config cfg;
    int running;              /* slot the firmware runs from */
    int8_t refused[2];        /* last upload into the slot failed verification */
    /* upload session */
    uint8_t up_active;
    int up_slot;
    uint32_t up_len;
    uint32_t up_off;
    uint8_t up_sha[OTA_SHA256_LEN];
    uint8_t up_sha_len;
    ota_sha256_ctx up_hash;
    struct ota_install ins;
    char rsn[96];             /* reason text of the last refusal */
};

/* Read the boot config from dev's flash. OTA_OK or why not. */
ota_err smp_img_init(struct smp_img *g, const struct ota_boot_dev *dev, int running_slot);

void smp_img_state_read(struct smp_img *g, struct smp_req *r);
void smp_img_state_write(struct smp_img *g, struct smp_req *r);
void smp_img_upload(struct smp_img *g, struct smp_req *r);
void smp_img_erase(struct smp_img *g, struct smp_req *r);

#endif
