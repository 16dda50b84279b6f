/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Reading the tails of logs: the web server's error log for the lines that show
 * the failure to the admin (option `evidence`), and audit/kernel logs for LSM
 * denials. Only the last part of each file is read, so a huge log costs little. */

#include <stdbool.h>
#include <stddef.h>

#define EVIDENCE_TAIL_BYTES (1024 * 1024)

/* Calls cb for every complete line in the last max_bytes of path (oldest first).
 * Returns 0, or -errno if the file cannot be read (a missing log is not an error to callers). */
int log_tail_foreach(const char *path, size_t max_bytes, int (*cb)(const char *line, void *userdata), void *userdata);

/* Whether line names path whole (not as part of a longer path or name). */
bool line_mentions_path(const char *line, const char *path);

/* Appends to *lines (at most max_lines, the newest) the lines of the logs that mention
 * the socket path or its resolved path (NULL: only the path), whole. */
int evidence_collect(char *const *logs, const char *path, const char *resolved, size_t max_lines, char ***lines);
