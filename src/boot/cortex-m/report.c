// SPDX-License-Identifier: Apache-2.0
/*
 * report.c - printing ota errors and versions on the console without printf.
 */
#include "report.h"

#include "console.h"

static void diag(const struct ota_diag *d)
{
    if (d && d->field) {
        console_puts(" [");
        console_puts(d->field);
        console_puts(" at offset 0x");
        console_puthex(d->offset);
        if (d->has_values) {
            console_puts(", expected 0x");
            console_puthex(d->expected);
            console_puts(", found 0x");
            console_puthex(d->found);
        }
        console_puts("]");
    }
    console_puts("\n");
}

void report_err(const char *what, ota_err e, const struct ota_diag *d)
{
    console_puts(what);
    console_puts(": ");
    console_puts(ota_errname(e));
    console_puts(" (");
    console_puts(ota_strerror(e));
    console_puts(")");
    diag(d);
}

void report_errno(const char *what, ota_err e, const struct ota_diag *d)
{
    console_puts(what);
    console_puts(": ota_err ");
    console_putu((uint32_t)e);
    diag(d);
}

char report_slot(int slot)
{
    return slot == 0 ? 'A' : slot == 1 ? 'B' : '?';
}

void report_version(const struct ota_image_version *v)
{
    console_putu(v->major);
    console_putc('.');
    console_putu(v->minor);
    console_putc('.');
    console_putu(v->revision);
    if (v->build) {
        console_putc('+');
        console_putu(v->build);
    }
}
