/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Walking a path the way connect() does, but safely: every component is opened
 * with openat(O_PATH|O_NOFOLLOW) relative to the previous one, symlinks are read
 * and followed by hand (at most 40, like the kernel), and every directory searched
 * on the way is recorded with its owner, mode and ACL. Nothing is ever opened for
 * writing and nothing is changed. The final fd lets a later change act on exactly
 * the inode that was inspected (Debian's /run/php is owned by www-data, so a path
 * can be swapped under us). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* A POSIX ACL entry, reduced to what the access rule needs. */
typedef enum AclTag {
        ACL_TAG_USER_OBJ,
        ACL_TAG_USER,
        ACL_TAG_GROUP_OBJ,
        ACL_TAG_GROUP,
        ACL_TAG_MASK,
        ACL_TAG_OTHER,
} AclTag;

typedef struct AclItem {
        AclTag tag;
        unsigned id;   /* uid or gid for ACL_TAG_USER / ACL_TAG_GROUP */
        unsigned perm; /* 4 r, 2 w, 1 x */
} AclItem;

typedef struct InodeInfo {
        char *path;          /* absolute path of this component as walked */
        struct stat st;
        AclItem *acl;        /* access ACL; NULL/0 when the inode has only mode bits */
        size_t n_acl;
        bool has_default_acl; /* directories: default ACL entries present */
        bool fs_acl;          /* its file system supports POSIX ACLs (learnt from the ACL read) */
} InodeInfo;

typedef struct PathWalk {
        InodeInfo *dirs;     /* every directory searched, in order, "/" first */
        size_t n_dirs;
        bool have_final;     /* final component exists */
        InodeInfo final;     /* the last component after following symlinks */
        char *resolved;      /* absolute path with symlinks resolved (as far as it exists) */
        int error;           /* 0, or the errno connect() would give walking as root: ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG */
        int final_fd;        /* O_PATH fd of the final component, or -1 */
        unsigned symlinks;   /* symlinks followed (kept when the walk itself fails) */
        bool dirs_borrowed;  /* dirs belong to the WalkCache that made this walk (read only) */
        bool slow_fs;        /* it crossed onto a file system that may not answer (sys/slow-fs.c) */
        bool crossed_closed; /* it searched a directory others may not search (no o+x); kept when
                              * the walk itself fails (a caller may not learn what lies behind) */
        bool crossed_procfs; /* it searched a directory of procfs, where magic links (/proc/PID/fd/N)
                              * open a process's own files whatever its ids (full walks only) */
} PathWalk;

/* The walk holds an fd on each directory it stands in (".." goes back through them,
 * never through a path), and the kernel bounds a lookup only by its 40 links of up to
 * PATH_MAX each: a crafted path could make one walk take a thousand fds or tens of
 * thousands of lookups. No socket is that deep, so a walk gives up beyond these. */
#define WALK_MAX_DEPTH 256u  /* directories open at once */
#define WALK_MAX_STEPS 4096u /* components looked up, those of followed links included */

/* Walks path. Returns 0 when the walk itself could run (check pw->error for what
 * connect() would meet), negative errno only for -EINVAL (not absolute, too long),
 * -E2BIG (beyond WALK_MAX_DEPTH or max_steps) or -ENOMEM. Reads ACLs of every
 * component (libacl through /proc/self/fd). path_walk() allows WALK_MAX_STEPS. */
int path_walk(const char *path, PathWalk *ret);
int path_walk_bounded(const char *path, unsigned max_steps, PathWalk *ret);
/* The same, but each component ("/" first) is first pinned with O_PATH, which asks
 * nothing of its file system, and shown to stop() with its resolved absolute path; if
 * stop() says so the walk gives up with -EWOULDBLOCK before anything else touches it:
 * the root of a file system where a lookup may wait without bound (sys/slow-fs.c). */
typedef bool (*PathWalkStop)(int fd, const char *path, void *userdata);
int path_walk_guarded(const char *path, unsigned max_steps, PathWalkStop stop, void *userdata, PathWalk *ret);
void path_walk_done(PathWalk *pw);

/* The id of the mount that name in dirfd is on ("" for dirfd itself; a symlink's own),
 * as statx reads it without asking that file system (AT_STATX_DONT_SYNC): a mount
 * point's differs from its directory's. 0 where the kernel does not tell (before 5.8)
 * or the name cannot be looked up. */
uint64_t mount_id_at(int dirfd, const char *name);

/* Whether dir is one of the directories that hold the walk's final component (an
 * ancestor of pw->resolved), not one searched only on the way through ".." or to a
 * symlink. */
bool path_walk_holds(const PathWalk *pw, const InodeInfo *dir);

/* Whether only root can change what path names: the file it resolves to, and every
 * directory searched to reach it (a symlink's own included), are owned by root and
 * writable by no group, no one else, and no ACL entry. A file sockfixd edits or a binary and configuration
 * it runs as root must be such: in a directory another user can write, the name can
 * be swapped for a link to any file between the check and the use. 1 yes, 0 no with
 * *ret_why naming the component and why (optional), -errno if it cannot be walked. */
int path_only_root_can_change(const char *path, char **ret_why);

/* A sweep walks thousands of sockets in a few directories: the cache walks each
 * parent directory once and looks up only the last component per socket. For
 * inspection only: a change is always made through a fresh path_walk(). */
typedef struct WalkCache WalkCache;
/* stop (may be NULL) guards every walk the cache makes, as in path_walk_guarded(). */
WalkCache *walk_cache_new(PathWalkStop stop, void *userdata);
WalkCache *walk_cache_free(WalkCache *c);
/* Like path_walk(); with c NULL it is path_walk(). The walk may borrow the cache's
 * directories: path_walk_done() it before walk_cache_free(). -EWOULDBLOCK where the
 * cache's stop() stopped the walk (then also for every later path in that directory,
 * without asking again), or stops the last component, a mount point of its own (a file
 * bind-mounted from such a file system). */
int path_walk_cached(const char *path, WalkCache *c, PathWalk *ret);

/* Parses a raw system.posix_acl_* xattr value; exposed for the fuzz target. */
int acl_parse_xattr(const void *buf, size_t size, AclItem **ret, size_t *n);

/* Reads the access ACL (and whether a default ACL exists) of an O_PATH fd. */
int acl_read_fd(int fd, bool is_dir, AclItem **ret, size_t *n, bool *has_default);
/* Same, and whether the file system supports ACLs at all (ret_supported optional). */
int acl_read_fd_full(int fd, bool is_dir, AclItem **ret, size_t *n, bool *has_default, bool *ret_supported);

/* Whether the file system holding fd supports POSIX ACLs (reads the access ACL xattr). */
bool fs_supports_acl(int fd);
