/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine/probe.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

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

/* What the child leaves in the parent's memory (vfork: they share it). connect_errno
 * is written before the FastCGI exchange, so a read that times out still leaves it. */
typedef struct ProbeMessage {
        int stage;       /* 0 nothing, 1 creds taken, 2 connected (or failed), 3 done */
        int setup_errno; /* could not take the credentials */
        int connect_errno;
        int fastcgi;
} ProbeMessage;

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

/* Raw syscalls: the child shares the daemon's memory (vfork), so glibc's own set*id
 * machinery, which keeps process-wide state, must not run in it. */
static int child_take_creds(const Creds *c) {
        uid_t ru, eu, su;
        gid_t rg, eg, sg;

        if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0)
                return -errno;
        if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0)
                return -errno;
        if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
                return -errno;

        /* A probe that could still act as root would prove nothing. */
        if (syscall(SYS_getresuid, &ru, &eu, &su) < 0 || syscall(SYS_getresgid, &rg, &eg, &sg) < 0)
                return -errno;
        if (ru != c->uid || eu != c->uid || su != c->uid || rg != c->gid || eg != c->gid || sg != c->gid)
                return -EPERM;
        if (c->uid != 0 && syscall(SYS_setresuid, 0, 0, 0) == 0)
                return -EPERM;
        return 0;
}

static int child_connect(int fd, const struct sockaddr_un *sa, int64_t deadline) {
        if (connect(fd, (const struct sockaddr *) sa, sizeof(*sa)) == 0)
                return 0;
        /* Unix sockets answer EAGAIN when the backlog is full: that is the result. */
        if (errno != EINPROGRESS)
                return errno;

        int r = wait_fd(fd, POLLOUT, deadline);
        if (r <= 0)
                return r == 0 ? ETIMEDOUT : -r;

        int err = 0;
        socklen_t l = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
                return errno;
        return err;
}

static int child_send_all(int fd, const unsigned char *buf, size_t len, int64_t deadline) {
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
static int child_fastcgi(int fd, int64_t deadline) {
        static unsigned char buf[FCGI_RECORD_MAX];
        size_t len, have = 0;

        len = fcgi_build_get_values(buf, sizeof(buf));
        if (child_send_all(fd, buf, len, deadline) < 0)
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

/* The child: credentials, one non-blocking connect (a unix socket answers at once:
 * 0, EACCES, ECONNREFUSED, EAGAIN for a full queue...), then at most one FastCGI
 * record read, bounded by the deadline. It never returns: vfork's child may only exit. */
_Noreturn static void probe_child(volatile ProbeMessage *m, const struct sockaddr_un *sa, const Creds *c,
                                  bool try_fastcgi, int64_t deadline) {
        /* Never outlive the daemon. */
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);

        int r = child_take_creds(c);
        if (r < 0) {
                m->setup_errno = -r;
                _exit(EXIT_FAILURE);
        }
        m->stage = 1;

        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                m->setup_errno = errno;
                _exit(EXIT_FAILURE);
        }
        m->connect_errno = child_connect(fd, sa, deadline);
        m->stage = 2;
        if (m->connect_errno == 0 && try_fastcgi) {
                m->fastcgi = 0;
                m->fastcgi = child_fastcgi(fd, deadline);
        }
        m->stage = 3;
        _exit(EXIT_SUCCESS);
}

/* Probe children that have sent their result but may still be exiting. */
static pid_t unreaped[16];
static size_t n_unreaped;

void probe_reap_children(void) {
        for (size_t i = 0; i < n_unreaped; i++)
                while (waitpid(unreaped[i], NULL, 0) < 0 && errno == EINTR)
                        ;
        n_unreaped = 0;
}

int probe_connect(const char *path, const Creds *c, bool try_fastcgi, int timeout_ms, ProbeResult *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        volatile ProbeMessage m = { .fastcgi = -1 };

        if (!path || !c || !ret || timeout_ms <= 0)
                return -EINVAL;

        *ret = (ProbeResult) { .fastcgi = -1 };
        if (strlen(path) >= sizeof(sa.sun_path)) {
                ret->connect_errno = ENAMETOOLONG;
                return 0;
        }
        strcpy(sa.sun_path, path);
        int64_t deadline = now_ms() + timeout_ms;

        /* vfork, not fork: no copy of the daemon's page tables (a fork of a daemon holding
         * a model of 5,000 pools costs more than the whole rest of a Diagnose). The daemon
         * waits for the child anyway, and the child's every step is bounded by deadline. */
        pid_t pid = vfork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                probe_child(&m, &sa, c, try_fastcgi, deadline);

        /* vfork returns once the child has let go of our memory on its way out, its
         * message complete; the rest of its exit (closing its fds, becoming a zombie,
         * waking us once more) need not delay the reply. */
        if (n_unreaped == ELEMENTSOF(unreaped))
                probe_reap_children();
        unreaped[n_unreaped++] = pid;

        if (m.setup_errno != 0)
                return -m.setup_errno;
        if (m.stage < 2)
                return -ETIMEDOUT;
        ret->connect_errno = m.connect_errno;
        ret->fastcgi = m.fastcgi;
        return 0;
}
