/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel's view of unix sockets: which are listening, which file
 * (dev + inode) each is bound to, the accept queue length and backlog, and which
 * processes hold them. Asked through NETLINK_SOCK_DIAG (UDIAG_SHOW_NAME | VFS |
 * RQLEN); /proc/net/unix is the fallback and also keeps bind paths of sockets whose
 * file was since removed or replaced. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"
#include "util/util.h"

/* A host of thousands of sites keeps one per listener between calls: fields ordered to
 * pack, and the one holder most sockets have (their master) kept inline. */
typedef struct UnixSocket {
        char *path;            /* bind path; NULL for unbound/abstract */
        dev_t vfs_dev;         /* st_dev of the bound file, in userspace (stat) encoding */
        ino_t vfs_ino;         /* st_ino of the bound file */
        pid_t *pids;           /* processes holding an fd of it (after unix_sockets_map_pids); &pid0 for one */
        uint32_t n_pids;
        pid_t pid0;
        uint32_t sock_ino;     /* the socket's own inode (socket:[N] in /proc/PID/fd) */
        uint32_t rqueue;       /* for listeners: connections waiting to be accepted */
        uint32_t backlog;      /* for listeners: max backlog */
        bool has_vfs;          /* vfs_dev/vfs_ino valid */
        bool listening;        /* TCP_LISTEN state */
        bool path_shared;      /* path is borrowed from an equal string that outlives the table (StrShare) */
} UnixSocket;

typedef struct UnixSocketTable {
        UnixSocket *socks; /* listening stream sockets only */
        const StrShare *share; /* while loading: paths to borrow */
        size_t n;
        void *by_file;     /* private index: (dev, ino) -> socket */
        void *by_sockino;  /* private index: sock_ino -> socket */
} UnixSocketTable;

/* Loads all listening SOCK_STREAM unix sockets (sock_diag, else /proc/net/unix). A bind
 * path that share (may be NULL) finds is borrowed (path_shared). */
int unix_sockets_load(const StrShare *share, UnixSocketTable *ret);
/* For a table kept between calls: each listener's queue as the kernel has it now, from
 * one dump that carries no names. 1: updated; 0: the kernel's listeners are no longer the
 * table's (load a new one); -EOPNOTSUPP: sock_diag unavailable; negative errno. */
int unix_sockets_refresh_queues(UnixSocketTable *t);
/* Parses the text of /proc/net/unix into a table of its listening stream
 * sockets, taking each file's dev + inode from stat() of the bind path (has_vfs
 * only when that is a socket). rqueue and backlog stay 0: the file lacks them.
 * Used by unix_sockets_load() when sock_diag is unavailable. */
int unix_sockets_parse_proc_net_unix(const char *text, UnixSocketTable *ret);
/* Fills pids[] by scanning /proc/PID/fd of the given processes once. */
int unix_sockets_map_pids(UnixSocketTable *t, const ProcTable *procs, const char *proc_root);
/* Same, for the processes want() accepts only (every fd is a readlink: a busy host has many). */
int unix_sockets_map_pids_of(UnixSocketTable *t, const ProcTable *procs, const char *proc_root,
                             bool (*want)(const Process *p));
const UnixSocket *unix_sockets_by_file(const UnixSocketTable *t, dev_t dev, ino_t ino);
/* The one listening socket with this inode, asked of the kernel now (a single Diagnose
 * needs its queue as it is, not a whole dump). -ENOENT: gone or not listening. The
 * result's path is the caller's to free; pids are not filled. *nl_fd is the netlink
 * socket to use, opened here when it is -1 and kept for the next query. */
int unix_socket_query(int *nl_fd, uint32_t sock_ino, UnixSocket *ret);
const UnixSocket *unix_sockets_by_sockino(const UnixSocketTable *t, uint32_t sock_ino);
void unix_sockets_done(UnixSocketTable *t);

/* Converts the kernel's internal dev_t (major << 20 | minor), as sock_diag reports it, to st_dev. */
dev_t kernel_dev_to_user(uint32_t kdev);
