/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Minimal logging to stderr. Under systemd stderr is the journal stream, so each
 * line carries a <N> syslog priority prefix there and a program prefix elsewhere. */

#include <errno.h>
#include <stdlib.h>
#include <syslog.h>

#include "util.h"

void log_set_program(const char *name);
/* Returns -abs(error) (or 0 when error is 0), so callers can `return log_error_errno(r, ...)`. */
int log_full_errno(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)
