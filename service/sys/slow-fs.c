/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sys/slow-fs.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/timed-call.h"
#include "util/util.h"

bool fs_type_may_hang(const char *fstype) {
        /* Network file systems wait on their server (NFS "hard" mounts retry forever), FUSE
         * on its daemon, autofs on the automounter and then on what it mounts. */
        static const char *const prefixes[] = {
                "nfs",  "cifs", "smb",    "ceph", "glusterfs", "9p",   "afs", "fuse",
                "lustre", "gpfs", "beegfs", "ocfs2", "gfs2",   "coda", "ncp", "autofs", "virtiofs",
        };
        if (!fstype || !*fstype)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++)
                if (startswith(fstype, prefixes[i]))
                        return true;
        return false;
}

bool mountinfo_may_hang(const char *text) {
        for (const char *line = text; line && *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                /* "ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE SOURCE SUPEROPTS" */
                const char *sep = memmem(line, len, " - ", 3);
                if (sep) {
                        const char *type = sep + 3;
                        size_t n = strcspn(type, " \n");
                        char t[64];
                        if (n > 0 && n < sizeof(t)) {
                                memcpy(t, type, n);
                                t[n] = 0;
                                if (fs_type_may_hang(t))
                                        return true;
                        }
                }
                line = end ? end + 1 : NULL;
        }
        return false;
}

/* A mount table past this size (thousands of mounts) is not parsed on every change:
 * its walks just take the careful way. */
#define MOUNTINFO_MAX (4u << 20)

static int read_mountinfo(int fd, char **ret) {
        size_t size = 0, alloc = 0;
        char *buf = NULL;

        for (;;) {
                if (alloc - size < 65536) {
                        if (alloc >= MOUNTINFO_MAX) {
                                free(buf);
                                return -EFBIG;
                        }
                        char *n = realloc(buf, alloc + 65536 + 1);
                        if (!n) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = n;
                        alloc += 65536;
                }
                ssize_t k = pread(fd, buf + size, alloc - size, (off_t) size);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        free(buf);
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
        }
        buf[size] = 0;
        *ret = buf;
        return 0;
}

bool mounts_may_hang(void) {
        static int fd = -1;
        static bool known, may_hang;

        if (fd < 0) {
                fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return true; /* cannot tell: take the careful way */
                known = false;
        }
        /* The kernel flags a change of the mount table to every reader of mountinfo that
         * polls it (POLLPRI, once per change); none since the last read: the answer stands. */
        struct pollfd p = { .fd = fd, .events = POLLPRI };
        if (known && poll(&p, 1, 0) == 0)
                return may_hang;

        _cleanup_free_ char *text = NULL;
        if (read_mountinfo(fd, &text) < 0) {
                known = false;
                return true;
        }
        may_hang = mountinfo_may_hang(text);
        known = true;
        return may_hang;
}

typedef struct WalkJob {
        char *path;
        unsigned max_steps;
        PathWalk walk;
} WalkJob;

static void walk_job_free(void *p) {
        WalkJob *j = p;
        path_walk_done(&j->walk);
        free(j->path);
        free(j);
}

static int walk_job_run(void *p) {
        WalkJob *j = p;
        return path_walk_bounded(j->path, j->max_steps, &j->walk);
}

int path_walk_timed(const char *path, unsigned max_steps, int timeout_ms, PathWalk *ret) {
        if (!mounts_may_hang())
                return path_walk_bounded(path, max_steps, ret);

        *ret = (PathWalk) { .final_fd = -1 };
        WalkJob *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->walk = (PathWalk) { .final_fd = -1 };
        j->max_steps = max_steps;
        if (path && !(j->path = strdup(path))) {
                free(j);
                return -ENOMEM;
        }
        int result, r = timed_call(walk_job_run, j, walk_job_free, timeout_ms, &result);
        if (r == -ETIMEDOUT)
                return r; /* j is the thread's now */
        if (r < 0) {
                walk_job_free(j);
                return r;
        }
        *ret = j->walk;
        free(j->path);
        free(j);
        return result;
}
