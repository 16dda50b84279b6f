/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "atomic-file.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "util/util.h"

static int write_all(int fd, const void *data, size_t size) {
        const char *p = data;
        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

/* mkostemp() takes a path and would resolve the directory again by name; a
 * random name opened relative to dir_fd with O_EXCL does the same job on the
 * directory we hold. The leading dot keeps include globs (*.conf) off it. */
static int open_temp(int dir_fd, const char *name, char **ret_name, int *ret_fd) {
        for (int attempt = 0; attempt < 16; attempt++) {
                uint64_t rnd;
                if (getrandom(&rnd, sizeof rnd, 0) != sizeof rnd)
                        return -errno;
                char *tmp = NULL;
                if (asprintf(&tmp, ".%s.%016llx.tmp", name, (unsigned long long) rnd) < 0)
                        return -ENOMEM;
                int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd >= 0) {
                        *ret_name = tmp;
                        *ret_fd = fd;
                        return 0;
                }
                int e = errno;
                free(tmp);
                if (e != EEXIST)
                        return -e;
        }
        return -EEXIST;
}

int atomic_file_replace_at(int dir_fd, const char *name, const void *data, size_t size,
                           uid_t uid, gid_t gid, mode_t mode) {
        if (isempty(name) || strchr(name, '/'))
                return -EINVAL;
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -1;
        int r = open_temp(dir_fd, name, &tmp, &fd);
        if (r < 0)
                return r;

        /* Owner before mode: fchown clears set-id bits. */
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode & 07777) < 0)
                r = -errno;
        if (r == 0)
                r = write_all(fd, data, size);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlinkat(dir_fd, tmp, 0);
                return r;
        }
        if (fsync(dir_fd) < 0)
                return -errno;
        return 0;
}
