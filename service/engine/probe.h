/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The second proof of access: the daemon takes the worker's exact credentials
 * (groups, effective gid and uid; the real and saved ids stay its own) for one
 * non-blocking connect() to the socket, and is itself again right after. For a
 * FastCGI listener it then sends FCGI_GET_VALUES and reads one record, as root: the
 * listener sees the worker's uid and gid in SO_PEERCRED (taken at the connect), and
 * sockfixd's pid. It makes one connection and nothing else, and forks nothing. The
 * caller keeps paths through procfs from here (PathWalk.crossed_procfs). */

#include <stdbool.h>

#include "access.h"

typedef struct ProbeResult {
        int connect_errno; /* 0 on success, else the errno connect() gave (EAGAIN = queue full) */
        int fastcgi;       /* -1 not tried, 0 no valid FastCGI answer, 1 FCGI_GET_VALUES_RESULT received */
} ProbeResult;

/* timeout_ms bounds the FastCGI exchange. A unix socket's connect() answers at once
 * (0, EACCES, ECONNREFUSED, EAGAIN for a full queue...), once the kernel has looked the
 * path up: the caller keeps sockets on file systems that may not answer from here. */
int probe_connect(const char *path, const Creds *c, bool try_fastcgi, int timeout_ms, ProbeResult *ret);

/* The FastCGI bits, separate so they are unit-tested without sockets. */
size_t fcgi_build_get_values(unsigned char *buf, size_t size);
/* 1 if buf holds a complete FCGI_GET_VALUES_RESULT record, 0 if more bytes are needed, -EBADMSG if it is not FastCGI. */
int fcgi_check_get_values_result(const unsigned char *buf, size_t len);
