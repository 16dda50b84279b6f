/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sockdiag.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "util/hashmap.h"
#include "util/util.h"

/* Large enough for any one part of a dump: the kernel fills at most 32 KiB per
 * recvmsg() of a netlink dump. */
#define SOCKDIAG_BUFFER_SIZE (32u << 10)

/* socket_state SS_UNCONNECTED: what a listener shows in the St column. */
#define PROC_NET_UNIX_SS_UNCONNECTED 1u

/* Sockets on different file systems may share an inode number, so each socket
 * links to the next one with the same number and a lookup checks the device. */
typedef struct FileIndex {
        Hashmap *by_ino;    /* vfs_ino -> last indexed socket with that inode number */
        UnixSocket **next;  /* per socket (same index as socks): next socket with the same inode number */
} FileIndex;

dev_t kernel_dev_to_user(uint32_t kdev) {
        return makedev(kdev >> 20, kdev & ((1u << 20) - 1));
}

static void file_index_free(FileIndex *fi) {
        if (!fi)
                return;
        hashmap_free(fi->by_ino);
        free(fi->next);
        free(fi);
}

static void unix_socket_clear_pids(UnixSocket *s) {
        if (s->pids != &s->pid0)
                free(s->pids);
        s->pids = NULL;
        s->n_pids = 0;
}

void unix_sockets_done(UnixSocketTable *t) {
        for (size_t i = 0; i < t->n; i++) {
                if (!t->socks[i].path_shared)
                        free(t->socks[i].path);
                unix_socket_clear_pids(&t->socks[i]);
        }
        free(t->socks);
        file_index_free(t->by_file);
        hashmap_free(t->by_sockino);
        *t = (UnixSocketTable) {};
}

static uint64_t socket_vfs_ino(const void *s) {
        return ((const UnixSocket *) s)->vfs_ino;
}

static uint64_t socket_sock_ino(const void *s) {
        return ((const UnixSocket *) s)->sock_ino;
}

static int unix_sockets_index(UnixSocketTable *t) {
        /* The table is kept in the host model: no spare slots (before any pointer into it). */
        UnixSocket *exact = t->n ? realloc(t->socks, t->n * sizeof(UnixSocket)) : NULL;
        if (exact)
                t->socks = exact;

        FileIndex *fi = calloc(1, sizeof(FileIndex));
        if (!fi)
                return -ENOMEM;
        t->by_file = fi;

        fi->by_ino = hashmap_new_u64_keyed(socket_vfs_ino);
        fi->next = calloc(t->n ? t->n : 1, sizeof(UnixSocket *));
        t->by_sockino = hashmap_new_u64_keyed(socket_sock_ino);
        if (!fi->by_ino || !fi->next || !t->by_sockino)
                return -ENOMEM;

        for (size_t i = 0; i < t->n; i++) {
                UnixSocket *s = &t->socks[i];
                int r = hashmap_put_u64(t->by_sockino, s->sock_ino, s);
                if (r < 0)
                        return r;
                if (!s->has_vfs)
                        continue;
                fi->next[i] = hashmap_get_u64(fi->by_ino, s->vfs_ino);
                r = hashmap_put_u64(fi->by_ino, s->vfs_ino, s);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The end of every load: indexed, the lent share dropped, moved to ret. */
static int unix_sockets_finish(UnixSocketTable *t, UnixSocketTable *ret) {
        int r = unix_sockets_index(t);
        if (r < 0)
                return r;
        t->share = NULL;
        *ret = *t;
        *t = (UnixSocketTable) {};
        return 0;
}

/* Takes ownership of s->path, also on failure. */
static int unix_sockets_push(UnixSocketTable *t, UnixSocket *s) {
        UnixSocket *slot = ARRAY_PUSH(t->socks, t->n);
        if (!slot) {
                free(s->path);
                return -ENOMEM;
        }
        /* Freed at once, the copy's memory is the next path's: sharing leaves no holes. */
        const char *shared = str_share_find(t->share, s->path);
        if (shared) {
                free(s->path);
                s->path = (char *) shared;
                s->path_shared = true;
        }
        *slot = *s;
        return 0;
}

/* Abstract names start with a NUL byte and name no file. A path may carry the
 * NUL padding the binder passed in its address length. */
static int sockdiag_name(const char *data, size_t len, char **ret) {
        if (len == 0 || data[0] == 0) {
                *ret = NULL;
                return 0;
        }
        char *path = strndup(data, strnlen(data, len));
        if (!path)
                return -ENOMEM;
        *ret = path;
        return 0;
}

/* The listener a message describes, in s (path only when asked for and named; the
 * caller owns it). 0: not a listening stream socket, 1: filled. */
static int sockdiag_msg_socket(struct nlmsghdr *h, UnixSocket *s) {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
                return -EBADMSG;

        struct unix_diag_msg *m = NLMSG_DATA(h);
        if (m->udiag_type != SOCK_STREAM || m->udiag_state != TCP_LISTEN)
                return 0;

        _cleanup_free_ char *path = NULL;
        *s = (UnixSocket) {
                .sock_ino = m->udiag_ino,
                .listening = true,
        };
        int len = (int) (h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
        for (struct rtattr *a = (struct rtattr *) ((char *) m + NLMSG_ALIGN(sizeof(*m)));
             RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                size_t plen = RTA_PAYLOAD(a);

                switch (a->rta_type) {
                case UNIX_DIAG_NAME: {
                        free(path);
                        int r = sockdiag_name(RTA_DATA(a), plen, &path);
                        if (r < 0)
                                return r;
                        break;
                }
                case UNIX_DIAG_VFS: {
                        struct unix_diag_vfs vfs;
                        if (plen < sizeof(vfs))
                                return -EBADMSG;
                        memcpy(&vfs, RTA_DATA(a), sizeof(vfs));
                        s->has_vfs = true;
                        s->vfs_dev = kernel_dev_to_user(vfs.udiag_vfs_dev);
                        s->vfs_ino = vfs.udiag_vfs_ino;
                        break;
                }
                case UNIX_DIAG_RQLEN: {
                        struct unix_diag_rqlen rq;
                        if (plen < sizeof(rq))
                                return -EBADMSG;
                        memcpy(&rq, RTA_DATA(a), sizeof(rq));
                        s->rqueue = rq.udiag_rqueue;
                        s->backlog = rq.udiag_wqueue;
                        break;
                }
                default:
                        break;
                }
        }

        s->path = TAKE_PTR(path);
        return 1;
}

static int table_add_msg(struct nlmsghdr *h, void *userdata) {
        UnixSocket s;
        int r = sockdiag_msg_socket(h, &s);
        return r <= 0 ? r : unix_sockets_push(userdata, &s);
}

#define SOCKDIAG_SHOW_ALL (UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_RQLEN)

/* A dump of every listener, or (sock_ino != 0) the one socket with that inode. */
static int sockdiag_request(int fd, uint32_t sock_ino, uint32_t show) {
        struct {
                struct nlmsghdr nlh;
                struct unix_diag_req req;
        } msg = {
                .nlh = {
                        .nlmsg_len = sizeof(msg),
                        .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                        .nlmsg_flags = NLM_F_REQUEST | (sock_ino ? 0 : NLM_F_DUMP),
                        .nlmsg_seq = 1,
                },
                .req = {
                        .sdiag_family = AF_UNIX,
                        .udiag_states = 1u << TCP_LISTEN,
                        .udiag_ino = sock_ino,
                        /* No cookie: the inode alone names the socket. */
                        .udiag_cookie = { ~0u, ~0u },
                        .udiag_show = show,
                },
        };
        struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

        if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *) &kernel, sizeof(kernel)) < 0)
                return -errno;
        return 0;
}

typedef int (*sockdiag_msg_fn)(struct nlmsghdr *h, void *userdata);

/* Returns 1 once NLMSG_DONE was seen, 0 if more parts follow. */
static int sockdiag_parse_part(void *buf, size_t size, sockdiag_msg_fn fn, void *userdata) {
        int len = (int) size;

        for (struct nlmsghdr *h = buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_type == NLMSG_DONE)
                        return 1;
                if (h->nlmsg_type == NLMSG_ERROR) {
                        struct nlmsgerr *err = NLMSG_DATA(h);
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*err)))
                                return -EBADMSG;
                        return err->error < 0 ? err->error : -EPROTO;
                }
                if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
                        continue;
                int r = fn(h, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Every listener, one message at a time, with the attributes show asks for. */
static int sockdiag_dump(uint32_t show, sockdiag_msg_fn fn, void *userdata) {
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        int r;

        if (fd < 0)
                return -errno;
        r = sockdiag_request(fd, 0, show);
        if (r < 0)
                return r;

        _cleanup_free_ void *buf = malloc(SOCKDIAG_BUFFER_SIZE);
        if (!buf)
                return -ENOMEM;

        do {
                struct iovec iov = { .iov_base = buf, .iov_len = SOCKDIAG_BUFFER_SIZE };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t k = recvmsg(fd, &mh, 0);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        return -EPROTO;
                if (mh.msg_flags & MSG_TRUNC)
                        return -EMSGSIZE;
                r = sockdiag_parse_part(buf, (size_t) k, fn, userdata);
                if (r < 0)
                        return r;
        } while (r == 0);
        return 0;
}

static bool sockdiag_unavailable(int r) {
        /* EPROTONOSUPPORT: no sock_diag; ENOENT: no unix_diag module; EACCES/EPERM:
         * netlink denied by an LSM or seccomp. */
        return r == -EPROTONOSUPPORT || r == -ENOENT || r == -EACCES || r == -EPERM;
}

typedef struct QueueRefresh {
        UnixSocketTable *t;
        size_t seen;
        bool changed;
} QueueRefresh;

static int queue_refresh_msg(struct nlmsghdr *h, void *userdata) {
        QueueRefresh *q = userdata;
        UnixSocket now;
        int r = sockdiag_msg_socket(h, &now);
        if (r <= 0)
                return r;
        UnixSocket *s = hashmap_get_u64(q->t->by_sockino, now.sock_ino);
        if (!s) {
                q->changed = true;
                return 0;
        }
        q->seen++;
        s->rqueue = now.rqueue;
        s->backlog = now.backlog;
        return 0;
}

int unix_sockets_refresh_queues(UnixSocketTable *t) {
        QueueRefresh q = { .t = t };
        /* Queues only: no names or files to copy, a third of the dump's bytes. */
        int r = sockdiag_dump(UDIAG_SHOW_RQLEN, queue_refresh_msg, &q);
        if (sockdiag_unavailable(r))
                return -EOPNOTSUPP;
        if (r < 0)
                return r;
        return !q.changed && q.seen == t->n;
}

int unix_socket_query(int *nl_fd, uint32_t sock_ino, UnixSocket *ret) {
        _cleanup_(unix_sockets_done) UnixSocketTable t = {};
        char buf[4096];
        int r;

        if (sock_ino == 0)
                return -EINVAL;
        if (*nl_fd < 0 && (*nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) < 0)
                return -errno;
        int fd = *nl_fd;
        r = sockdiag_request(fd, sock_ino, SOCKDIAG_SHOW_ALL);
        if (r < 0)
                return r;
        ssize_t k;
        do
                k = recv(fd, buf, sizeof(buf), 0);
        while (k < 0 && errno == EINTR);
        if (k < 0)
                return -errno;
        r = sockdiag_parse_part(buf, (size_t) k, table_add_msg, &t);
        if (r < 0)
                return r;
        /* Gone, or no longer listening (the parser keeps listeners only). */
        if (t.n != 1)
                return -ENOENT;
        *ret = t.socks[0];
        ret->pids = NULL;
        ret->n_pids = 0;
        t.socks[0].path = NULL;
        return 0;
}

/* The file's identity is what /proc/net/unix lacks; the path's current file is
 * the best guess, and only a socket file can be the one bound. Relative bind
 * paths were relative to the binder's cwd, not ours. */
static void proc_net_unix_fill_vfs(UnixSocket *s) {
        struct stat st;

        if (!s->path || s->path[0] != '/')
                return;
        if (stat(s->path, &st) < 0 || !S_ISSOCK(st.st_mode))
                return;
        s->has_vfs = true;
        s->vfs_dev = st.st_dev;
        s->vfs_ino = st.st_ino;
}

/* One line: "Num: RefCount Protocol Flags Type St Inode[ Path]", Path being the
 * rest of the line (it may contain spaces; abstract names start with '@'). */
static int proc_net_unix_line(char *line, UnixSocketTable *t) {
        unsigned flags, type, st;
        uint32_t ino;
        int consumed = 0;

        if (sscanf(line, "%*x: %*x %*x %x %x %x %" SCNu32 "%n", &flags, &type, &st, &ino, &consumed) != 4 ||
            consumed == 0)
                return 0; /* the header line */

        if (!(flags & PROC_NET_UNIX_ACCEPTCON) || type != SOCK_STREAM || st != PROC_NET_UNIX_SS_UNCONNECTED)
                return 0;

        const char *path = line + consumed;
        if (*path == ' ')
                path++;

        UnixSocket s = {
                .sock_ino = ino,
                .listening = true,
        };
        if (*path != 0 && *path != '@') {
                s.path = strdup(path);
                if (!s.path)
                        return -ENOMEM;
        }
        proc_net_unix_fill_vfs(&s);
        return unix_sockets_push(t, &s);
}

static int parse_proc_net_unix(const StrShare *share, const char *text, UnixSocketTable *ret) {
        _cleanup_(unix_sockets_done) UnixSocketTable t = { .share = share };
        int r;

        for (const char *line = text; *line;) {
                const char *eol = strchrnul(line, '\n');
                _cleanup_free_ char *copy = strndup(line, (size_t) (eol - line));
                if (!copy)
                        return -ENOMEM;
                r = proc_net_unix_line(copy, &t);
                if (r < 0)
                        return r;
                line = *eol ? eol + 1 : eol;
        }

        return unix_sockets_finish(&t, ret);
}

int unix_sockets_parse_proc_net_unix(const char *text, UnixSocketTable *ret) {
        return parse_proc_net_unix(NULL, text, ret);
}

int unix_sockets_load(const StrShare *share, UnixSocketTable *ret) {
        _cleanup_(unix_sockets_done) UnixSocketTable t = { .share = share };
        int r;

        r = sockdiag_dump(SOCKDIAG_SHOW_ALL, table_add_msg, &t);
        if (sockdiag_unavailable(r)) {
                _cleanup_free_ char *text = NULL;
                r = read_full_file("/proc/net/unix", &text, NULL);
                if (r < 0)
                        return r;
                return parse_proc_net_unix(share, text, ret);
        }
        if (r < 0)
                return r;

        return unix_sockets_finish(&t, ret);
}

static bool errno_is_vanished(int e) {
        return e == ENOENT || e == ESRCH;
}

static int map_process_fds(UnixSocketTable *t, int rfd, pid_t pid) {
        char name[32];

        snprintf(name, sizeof(name), "%d/fd", (int) pid);
        /* EACCES: without CAP_SYS_PTRACE another user's fds stay hidden. */
        int fd = openat(rfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno_is_vanished(errno) || errno == EACCES ? 0 : -errno;
        _cleanup_closedir_ DIR *d = fdopendir(fd);
        if (!d) {
                int saved = errno;
                close(fd);
                return -saved;
        }

        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de)
                        return errno == 0 || errno_is_vanished(errno) ? 0 : -errno;
                if (de->d_name[0] == '.')
                        continue;

                /* "socket:[4294967295]" fits; anything longer is not a socket. */
                char target[32];
                ssize_t k = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (k < 0) {
                        if (errno_is_vanished(errno))
                                continue;
                        /* The ptrace check may deny the links while listing them works. */
                        if (errno == EACCES || errno == EPERM)
                                return 0;
                        return -errno;
                }
                target[k] = 0;

                uint32_t ino;
                if (!parse_socket_fd_link(target, &ino))
                        continue;
                UnixSocket *s = hashmap_get_u64(t->by_sockino, ino);
                if (!s || (s->n_pids > 0 && s->pids[s->n_pids - 1] == pid))
                        continue;
                size_t n = s->n_pids;
                pid_t *slot = INLINE_LIST_PUSH(s->pids, s->pid0, n);
                if (!slot)
                        return -ENOMEM;
                *slot = pid;
                s->n_pids = (uint32_t) n;
        }
}

int unix_sockets_map_pids(UnixSocketTable *t, const ProcTable *procs, const char *proc_root) {
        return unix_sockets_map_pids_of(t, procs, proc_root, NULL);
}

int unix_sockets_map_pids_of(UnixSocketTable *t, const ProcTable *procs, const char *proc_root,
                             bool (*want)(const Process *p)) {
        _cleanup_close_ int rfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rfd < 0)
                return -errno;

        for (size_t i = 0; i < t->n; i++)
                unix_socket_clear_pids(&t->socks[i]);

        for (size_t i = 0; i < procs->n; i++) {
                if (want && !want(&procs->procs[i]))
                        continue;
                int r = map_process_fds(t, rfd, procs->procs[i].pid);
                if (r < 0)
                        return r;
        }
        return 0;
}

const UnixSocket *unix_sockets_by_file(const UnixSocketTable *t, dev_t dev, ino_t ino) {
        const FileIndex *fi = t->by_file;
        if (!fi)
                return NULL;
        for (UnixSocket *s = hashmap_get_u64(fi->by_ino, ino); s; s = fi->next[s - t->socks])
                if (s->vfs_dev == dev && s->vfs_ino == ino)
                        return s;
        return NULL;
}

const UnixSocket *unix_sockets_by_sockino(const UnixSocketTable *t, uint32_t sock_ino) {
        return t->by_sockino ? hashmap_get_u64(t->by_sockino, sock_ino) : NULL;
}
