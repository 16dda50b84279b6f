/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine/probe.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "util/log.h"
#include "util/util.h"

#define FCGI_VERSION_1 1
#define FCGI_GET_VALUES 9
#define FCGI_GET_VALUES_RESULT 10
#define FCGI_HEADER_LEN 8
/* The largest record: content 65535, padding 255. */
#define FCGI_RECORD_MAX (FCGI_HEADER_LEN + 0xffff + 0xff)

static const char *const fcgi_get_values_names[] = {
        "FCGI_MAX_CONNS",
        "FCGI_MAX_REQS",
        "FCGI_MPXS_CONNS",
};

size_t fcgi_build_get_values(unsigned char *buf, size_t size) {
        size_t content = 0;

        for (size_t i = 0; i < ELEMENTSOF(fcgi_get_values_names); i++)
                content += 2 + strlen(fcgi_get_values_names[i]);

        size_t padding = (8 - content % 8) % 8, total = FCGI_HEADER_LEN + content + padding;
        if (size < total)
                return 0;

        buf[0] = FCGI_VERSION_1;
        buf[1] = FCGI_GET_VALUES;
        buf[2] = buf[3] = 0; /* management records use request id 0 */
        buf[4] = (unsigned char) (content >> 8);
        buf[5] = (unsigned char) content;
        buf[6] = (unsigned char) padding;
        buf[7] = 0;

        unsigned char *p = buf + FCGI_HEADER_LEN;
        for (size_t i = 0; i < ELEMENTSOF(fcgi_get_values_names); i++) {
                size_t n = strlen(fcgi_get_values_names[i]);
                *p++ = (unsigned char) n;
                *p++ = 0; /* the value is asked for, so empty */
                memcpy(p, fcgi_get_values_names[i], n);
                p += n;
        }
        memset(p, 0, padding);
        return total;
}

/* Name-value pair lengths: one byte below 128, else four with the top bit set. */
static int fcgi_read_length(const unsigned char **p, const unsigned char *end, size_t *ret) {
        if (*p >= end)
                return -EBADMSG;
        if (!(**p & 0x80)) {
                *ret = *(*p)++;
                return 0;
        }
        if (end - *p < 4)
                return -EBADMSG;
        *ret = ((size_t) ((*p)[0] & 0x7f) << 24) | ((size_t) (*p)[1] << 16) | ((size_t) (*p)[2] << 8) | (*p)[3];
        *p += 4;
        return 0;
}

static int fcgi_check_pairs(const unsigned char *p, const unsigned char *end) {
        while (p < end) {
                size_t name, value;
                int r;

                r = fcgi_read_length(&p, end, &name);
                if (r < 0)
                        return r;
                r = fcgi_read_length(&p, end, &value);
                if (r < 0)
                        return r;
                if ((size_t) (end - p) < name || (size_t) (end - p) - name < value)
                        return -EBADMSG;
                p += name + value;
        }
        return 0;
}

int fcgi_check_get_values_result(const unsigned char *buf, size_t len) {
        /* Judge each header byte as soon as it arrives, so garbage is refused early. */
        if (len >= 1 && buf[0] != FCGI_VERSION_1)
                return -EBADMSG;
        if (len >= 2 && buf[1] != FCGI_GET_VALUES_RESULT)
                return -EBADMSG;
        if (len >= 3 && buf[2] != 0)
                return -EBADMSG;
        if (len >= 4 && buf[3] != 0)
                return -EBADMSG;
        if (len < FCGI_HEADER_LEN)
                return 0;

        size_t content = ((size_t) buf[4] << 8) | buf[5], padding = buf[6];
        if (len < FCGI_HEADER_LEN + content + padding)
                return 0;
        if (fcgi_check_pairs(buf + FCGI_HEADER_LEN, buf + FCGI_HEADER_LEN + content) < 0)
                return -EBADMSG;
        return 1;
}

static int64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline) {
        int64_t left = deadline - now_ms();
        return left < 0 ? 0 : (int) left;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -errno. */
static int wait_fd(int fd, short events, int64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = events };
                int k = poll(&p, 1, remaining_ms(deadline));
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                return k > 0;
        }
}

/* The daemon's own identity, and how much of it a probe has changed. */
typedef struct SavedCreds {
        uid_t euid;
        gid_t egid;
        int n_groups;
        gid_t *groups;
        gid_t inline_groups[16];
        int dumpable;
        unsigned changed; /* 1 groups, 2 gid, 3 uid: each step needs the ones before */
} SavedCreds;

static int save_creds(SavedCreds *s) {
        uid_t ru, su;
        gid_t rg, sg;

        *s = (SavedCreds) { .groups = s->inline_groups };
        if (syscall(SYS_getresuid, &ru, &s->euid, &su) < 0 || syscall(SYS_getresgid, &rg, &s->egid, &sg) < 0)
                return -errno;
        s->n_groups = (int) syscall(SYS_getgroups, 0, NULL);
        if (s->n_groups < 0)
                return -errno;
        if ((size_t) s->n_groups > ELEMENTSOF(s->inline_groups) &&
            !(s->groups = malloc(sizeof(gid_t) * (size_t) s->n_groups)))
                return -ENOMEM;
        if (syscall(SYS_getgroups, s->n_groups, s->groups) != s->n_groups) {
                int r = errno != 0 ? -errno : -EAGAIN;
                if (s->groups != s->inline_groups)
                        free(s->groups);
                return r;
        }
        /* Not dumpable while the worker's ids are held: the kernel would make it
         * fs.suid_dumpable, and where that is 1 the daemon's /proc files would belong to
         * the worker's user for as long as the connect()'s lookup takes. */
        s->dumpable = prctl(PR_GET_DUMPABLE);
        if (s->dumpable != 0 && prctl(PR_SET_DUMPABLE, 0) < 0) {
                int r = -errno;
                if (s->groups != s->inline_groups)
                        free(s->groups);
                return r;
        }
        return 0;
}

/* The effective uid first: the real and saved uid never left root, so going back
 * cannot be refused, and it gives back the capabilities that setting the groups needs.
 * A daemon that could not be itself again must not go on serving: abort (the bus
 * activates a fresh one at the next call). */
static void restore_creds(SavedCreds *s) {
        if ((s->changed >= 3 && syscall(SYS_setresuid, -1, s->euid, -1) < 0) ||
            (s->changed >= 2 && syscall(SYS_setresgid, -1, s->egid, -1) < 0) ||
            (s->changed >= 1 && syscall(SYS_setgroups, s->n_groups, s->groups) < 0)) {
                log_error_errno(errno, "Cannot take back the daemon's credentials after a probe");
                abort();
        }
        /* Nothing of the worker's identity is left, and while it held it the real and
         * saved uid stayed root (so the worker's user could neither signal nor trace the
         * daemon): dumpable again as it was, for systemd-coredump. */
        if (s->dumpable == 1)
                (void) prctl(PR_SET_DUMPABLE, 1);
        if (s->groups != s->inline_groups)
                free(s->groups);
        s->groups = NULL;
}

/* The kernel checks a connect() by path with the caller's file-system uid and gid, its
 * supplementary groups and its effective capabilities: those become the worker's, for
 * the connect() alone. Only the effective ids change (raw syscalls: they are per thread,
 * and glibc's set*id would change every thread of the process). */
static int take_creds(const Creds *c, SavedCreds *s) {
        if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0)
                return -errno;
        s->changed = 1;
        if (syscall(SYS_setresgid, -1, c->gid, -1) < 0)
                return -errno;
        s->changed = 2;
        if (syscall(SYS_setresuid, -1, c->uid, -1) < 0)
                return -errno;
        s->changed = 3;

        /* A probe that could still act as root would prove nothing: the ids the kernel
         * checks must be the worker's, and leaving uid 0 must have cleared the effective
         * capabilities (it does not under SECBIT_NO_SETUID_FIXUP). */
        if ((uid_t) syscall(SYS_setfsuid, -1) != c->uid || (gid_t) syscall(SYS_setfsgid, -1) != c->gid)
                return -EPERM;
        if (c->uid != 0) {
                struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
                struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};
                if (syscall(SYS_capget, &h, d) < 0)
                        return -errno;
                for (size_t i = 0; i < ELEMENTSOF(d); i++)
                        if (d[i].effective != 0)
                                return -EPERM;
        }
        return 0;
}

/* connect() with the worker's credentials: 0 or the errno it gave, or -errno when
 * the credentials could not be taken. */
static int connect_as(int fd, const struct sockaddr_un *sa, const Creds *c) {
        SavedCreds saved;
        int r;

        r = save_creds(&saved);
        if (r < 0)
                return r;
        r = take_creds(c, &saved);
        if (r >= 0)
                r = connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) == 0 ? 0 : errno;
        restore_creds(&saved);
        return r;
}

/* After a connect() that did not answer at once (never for unix sockets, which answer
 * EAGAIN when the backlog is full: that is the result). */
static int finish_connect(int fd, int64_t deadline) {
        int r = wait_fd(fd, POLLOUT, deadline);
        if (r <= 0)
                return r == 0 ? ETIMEDOUT : -r;

        int err = 0;
        socklen_t l = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
                return errno;
        return err;
}

static int send_all(int fd, const unsigned char *buf, size_t len, int64_t deadline) {
        while (len > 0) {
                ssize_t k = send(fd, buf, len, MSG_NOSIGNAL);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno != EAGAIN)
                                return -errno;
                        int r = wait_fd(fd, POLLOUT, deadline);
                        if (r <= 0)
                                return r == 0 ? -ETIMEDOUT : r;
                        continue;
                }
                buf += k;
                len -= (size_t) k;
        }
        return 0;
}

/* 1 for a FCGI_GET_VALUES_RESULT, 0 for anything else (garbage, EOF, silence). */
static int exchange_fastcgi(int fd, int64_t deadline) {
        static unsigned char buf[FCGI_RECORD_MAX];
        size_t len, have = 0;

        len = fcgi_build_get_values(buf, sizeof(buf));
        if (send_all(fd, buf, len, deadline) < 0)
                return 0;

        for (;;) {
                int r = fcgi_check_get_values_result(buf, have);
                if (r != 0)
                        return r > 0;

                r = wait_fd(fd, POLLIN, deadline);
                if (r <= 0)
                        return 0;
                ssize_t k = recv(fd, buf + have, sizeof(buf) - have, 0);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return 0;
                }
                if (k == 0)
                        return 0;
                have += (size_t) k;
        }
}

int probe_connect(const char *path, const Creds *c, bool try_fastcgi, int timeout_ms, ProbeResult *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (!path || !c || !ret || timeout_ms <= 0)
                return -EINVAL;

        *ret = (ProbeResult) { .fastcgi = -1 };
        if (strlen(path) >= sizeof(sa.sun_path)) {
                ret->connect_errno = ENAMETOOLONG;
                return 0;
        }
        strcpy(sa.sun_path, path);
        int64_t deadline = now_ms() + timeout_ms;

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;

        /* In the daemon itself, not in a child: the worker's credentials are needed for
         * the connect() alone (the kernel's check happens there; what follows is I/O on
         * a connected socket), and a child cost a vfork() and two wake-ups, more than the
         * rest of a Diagnose. */
        int r = connect_as(fd, &sa, c);
        if (r < 0)
                return r;
        if (r == EINPROGRESS)
                r = finish_connect(fd, deadline);
        ret->connect_errno = r;
        if (r == 0 && try_fastcgi)
                ret->fastcgi = exchange_fastcgi(fd, deadline);
        return 0;
}
