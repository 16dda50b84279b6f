/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Real files for the tests that check the kernel's answers: a shell command that must
 * succeed (setfacl, mkdir -m, ln -s), and a bound, unlistened unix socket. Include
 * after cmocka.h. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/util.h"

static inline void run(const char *fmt, ...) _printf_(1, 2);
static inline void run(const char *fmt, ...) {
        _cleanup_free_ char *cmd = NULL;
        va_list ap;

        va_start(ap, fmt);
        assert_true(vasprintf(&cmd, fmt, ap) > 0);
        va_end(ap);
        assert_int_equal(system(cmd), 0);
}

/* A socket file at path, bound and closed: connect() meets ECONNREFUSED once through. */
static inline void bind_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_true(n < sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, n + 1);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        close(fd);
}
