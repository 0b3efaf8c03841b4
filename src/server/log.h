// SPDX-License-Identifier: Apache-2.0
/*
 * log.h - structured logging of ota-server: one line per event,
 * "ts=... level=... event=... key=value ...", to stderr.
 */
#ifndef OTA_SERVER_LOG_H
#define OTA_SERVER_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

void log_set_level(enum log_level lvl);
int log_enabled(enum log_level lvl);
/* fields: already formatted "k=v k=v" (values with spaces quoted by caller). */
void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
