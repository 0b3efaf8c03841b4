// SPDX-License-Identifier: Apache-2.0
/*
 * report.h - console messages shared by the port's programs: an ota_err
 * with its name and text (or only its number) and struct ota_diag, a slot
 * letter, a version.
 */
#ifndef OTA_PORT_REPORT_H
#define OTA_PORT_REPORT_H

#include "ota/error.h"
#include "ota/image.h"

/* "<what>: NAME (text) [field F at offset 0x.., expected .. found ..]\n" */
void report_err(const char *what, ota_err e, const struct ota_diag *d);
/* "<what>: ota_err N [field ...]\n": the same without the core's table of
 * names and texts (src/core/error.c, 4.3 KiB), which the 16 KiB bootloader
 * does not link; the host decodes N (include/ota/error.h, docs/boot-port.md). */
void report_errno(const char *what, ota_err e, const struct ota_diag *d);
/* "A" / "B" / "?" */
char report_slot(int slot);
/* "1.2.3" or "1.2.3+4" */
void report_version(const struct ota_image_version *v);

#endif
