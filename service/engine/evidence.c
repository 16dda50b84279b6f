/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "evidence.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

int log_tail_foreach(const char *path, size_t max_bytes, int (*cb)(const char *line, void *userdata), void *userdata) {
        /* O_NOFOLLOW: a log directory may be writable by the service's user, and we are
         * root; the path comes from a config, maybe a user's: a device is never opened. */
        struct stat st;
        _cleanup_close_ int pfd = open_regular_path(path, O_NOFOLLOW, &st);
        if (pfd < 0)
                return pfd;
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
        _cleanup_close_ int fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        off_t start = st.st_size > (off_t) max_bytes ? st.st_size - (off_t) max_bytes : 0;
        size_t len = (size_t) (st.st_size - start);
        _cleanup_free_ char *buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        size_t got = 0;
        while (got < len) {
                ssize_t k = pread(fd, buf + got, len - got, start + (off_t) got);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                got += (size_t) k;
        }
        buf[got] = 0;
        char *p = buf;
        /* The first line of a tail is usually cut: skip it unless we read from the start. */
        if (start > 0) {
                char *nl = memchr(p, '\n', got);
                p = nl ? nl + 1 : buf + got;
        }
        while (*p) {
                char *nl = strchr(p, '\n');
                if (!nl)
                        break; /* an unfinished last line is still being written */
                *nl = 0;
                int r = cb(p, userdata);
                if (r != 0)
                        return r < 0 ? r : 0;
                p = nl + 1;
        }
        return 0;
}

typedef struct EvidenceCtx {
        const char *path;
        const char *resolved;
        char ***lines;
        size_t max;
} EvidenceCtx;

/* A character that continues a path name, as a log writes it. */
static bool path_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr("._~+@%/-", c));
}

bool line_mentions_path(const char *line, const char *path) {
        size_t n = strlen(path);
        /* Whole, not inside a longer name: nginx writes "unix:/run/php/x.sock:", Apache
         * "socket /run/php/x.sock (*)"; "/run/x" is not in "/var/run/x", and "/" (a link's
         * target) is not in every date. */
        for (const char *s = line; n > 0 && (s = strstr(s, path)); s++)
                if ((s == line || !path_char(s[-1])) && !path_char(s[n]))
                        return true;
        return false;
}

static int evidence_line(const char *line, void *userdata) {
        EvidenceCtx *c = userdata;
        if (!line_mentions_path(line, c->path) && !(c->resolved && line_mentions_path(line, c->resolved)))
                return 0;
        /* Keep the newest max lines: drop the oldest when full. */
        size_t n = strv_length(*c->lines);
        if (n >= c->max && n > 0) {
                free((*c->lines)[0]);
                memmove(*c->lines, *c->lines + 1, sizeof(char *) * n);
        }
        return strv_extend(c->lines, line);
}

int evidence_collect(char *const *logs, const char *path, const char *resolved, size_t max_lines, char ***lines) {
        EvidenceCtx c = { .path = path, .resolved = streq_ptr(path, resolved) ? NULL : resolved, .lines = lines,
                          .max = max_lines };
        for (char *const *l = logs; l && *l; l++) {
                int r = log_tail_foreach(*l, EVIDENCE_TAIL_BYTES, evidence_line, &c);
                if (r == -ENOMEM)
                        return r;
        }
        return 0;
}
