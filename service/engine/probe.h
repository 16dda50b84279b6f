/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The second proof of access: a child process takes the worker's exact
 * credentials (setgroups, setresgid, setresuid) and connect()s non-blocking to the
 * socket, then, for FastCGI listeners, sends FCGI_GET_VALUES and reads one record.
 * It does one connection and nothing else. */

#include <stdbool.h>

#include "access.h"

typedef struct ProbeResult {
        int connect_errno; /* 0 on success, else the errno connect() gave (EAGAIN = queue full) */
        int fastcgi;       /* -1 not tried, 0 no valid FastCGI answer, 1 FCGI_GET_VALUES_RESULT received */
} ProbeResult;

/* timeout_ms bounds the whole exchange: every step of the child is bounded by it. The
 * result is read as soon as the child lets go of the daemon's memory; the child, which
 * is exiting then, is reaped by probe_reap_children() (or by the next probe_connect
 * beyond a handful), which the daemon calls once the reply is out. */
int probe_connect(const char *path, const Creds *c, bool try_fastcgi, int timeout_ms, ProbeResult *ret);
void probe_reap_children(void);

/* The FastCGI bits, separate so they are unit-tested without sockets. */
size_t fcgi_build_get_values(unsigned char *buf, size_t size);
/* 1 if buf holds a complete FCGI_GET_VALUES_RESULT record, 0 if more bytes are needed, -EBADMSG if it is not FastCGI. */
int fcgi_check_get_values_result(const unsigned char *buf, size_t len);
