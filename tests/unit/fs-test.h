/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Real files for the tests that check the kernel's answers: a shell command that must
 * succeed (setfacl, mkdir -m, ln -s), a bound, unlistened unix socket, a text file,
 * and a mount namespace of the test's own. Include after cmocka.h. */

#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
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

static inline void write_text(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

/* Enters a mount namespace of the test's own, so that files it binds over the host's
 * (/etc/passwd, /etc/nsswitch.conf) are seen by it alone. False, with a note, where
 * that takes root the test does not have. */
static inline bool own_mount_namespace(void) {
        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "# needs root and a mount namespace of its own: skipped\n");
                return false;
        }
        return true;
}
