// SPDX-License-Identifier: Apache-2.0
/*
 * report.h - console messages shared by the port's programs: an ota_err
 * with its name, text and struct ota_diag, a slot letter, a version.
 */
#ifndef OTA_PORT_REPORT_H
#define OTA_PORT_REPORT_H

#include "ota/error.h"
#include "ota/image.h"

/* "<what>: NAME (text) [field F at offset 0x.., expected .. found ..]\n" */
void report_err(const char *what, ota_err e, const struct ota_diag *d);
/* "A" / "B" / "?" */
char report_slot(int slot);
/* "1.2.3" or "1.2.3+4" */
void report_version(const struct ota_image_version *v);

#endif
