/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sys/safe-fs.h"

#include <endian.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "util/hashmap.h"
#include "util/util.h"

/* The kernel's limit on symlinks followed in one lookup (MAXSYMLINKS). */
#define WALK_MAX_SYMLINKS 40u

/* "/proc/self/fd/N" reaches the inode an O_PATH fd pins without a second path
 * lookup, so an ACL read cannot be redirected by a rename. */
#define PROC_FD_PATH_MAX (sizeof("/proc/self/fd/") + 3 * sizeof(int))

static void proc_fd_path(int fd, char buf[static PROC_FD_PATH_MAX]) {
        snprintf(buf, PROC_FD_PATH_MAX, "/proc/self/fd/%i", fd);
}

/* The ACL xattr as the kernel stores it (linux/posix_acl_xattr.h): a version
 * header, then {tag, perm, id} entries. Reading it raw costs one getxattr(); libacl
 * adds a stat() per inode, which a sweep over thousands of sockets pays dearly. */
int acl_parse_xattr(const void *buf, size_t size, AclItem **ret, size_t *n) {
        const struct posix_acl_xattr_header *h = buf;
        const struct posix_acl_xattr_entry *e = (const void *) (h + 1);
        size_t count;

        if (size < sizeof(*h) || le32toh(h->a_version) != POSIX_ACL_XATTR_VERSION ||
            (size - sizeof(*h)) % sizeof(*e) != 0)
                return -EBADMSG;
        count = (size - sizeof(*h)) / sizeof(*e);

        _cleanup_free_ AclItem *items = calloc(count ? count : 1, sizeof(AclItem));
        bool named = false;
        if (!items)
                return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
                static const struct {
                        uint16_t tag;
                        AclTag ours;
                } tags[] = {
                        { ACL_USER_OBJ, ACL_TAG_USER_OBJ }, { ACL_USER, ACL_TAG_USER },   { ACL_GROUP_OBJ, ACL_TAG_GROUP_OBJ },
                        { ACL_GROUP, ACL_TAG_GROUP },       { ACL_MASK, ACL_TAG_MASK },   { ACL_OTHER, ACL_TAG_OTHER },
                };
                uint16_t tag = le16toh(e[i].e_tag);
                size_t t = 0;
                while (t < ELEMENTSOF(tags) && tags[t].tag != tag)
                        t++;
                if (t == ELEMENTSOF(tags))
                        return -EBADMSG;
                items[i] = (AclItem) { .tag = tags[t].ours, .id = le32toh(e[i].e_id), .perm = le16toh(e[i].e_perm) & 7 };
                named = named || tag == ACL_USER || tag == ACL_GROUP || tag == ACL_MASK;
        }
        /* Only extended ACLs matter: the 3 base entries are the mode bits. */
        if (!named)
                count = 0;
        *ret = count ? TAKE_PTR(items) : NULL;
        *n = count;
        return 0;
}

typedef struct XattrPath XattrPath;
static int acl_read_at(const XattrPath *x, bool is_dir, AclItem **ret, size_t *n, bool *has_default,
                       bool *ret_supported, int *ret_fs_error);

/* 1: the xattr was read into *buf; 0: none (ENODATA, or no ACL support: *supported false). */
/* getxattrat(2), Linux 6.13: an xattr of dirfd/name, a one-component lookup instead
 * of resolving /proc/self/fd/N/name. Numbers of new syscalls are the same on every
 * architecture. Older kernels answer ENOSYS, and a seccomp filter that does not know
 * the call yet (the unit's SystemCallFilter=, SystemCallErrorNumber=EPERM) EPERM;
 * either way it is not asked again. */
#ifndef __NR_getxattrat
#define __NR_getxattrat 464
#endif

struct sockfix_xattr_args {
        uint64_t value;
        uint32_t size;
        uint32_t flags;
};

/* Atomic: a walk may run on a thread of its own (sys/slow-fs.c), one given up on too. */
static atomic_bool have_getxattrat = true;

static ssize_t xattr_get_at(int dirfd, const char *name, const char *attr, void *buf, size_t size) {
        struct sockfix_xattr_args args = { .value = (uint64_t) (uintptr_t) buf, .size = (uint32_t) size };
        return syscall(__NR_getxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, attr, &args, sizeof(args));
}

typedef struct XattrPath {
        const char *p;   /* /proc/self/fd/N, or /proc/self/fd/DIR/NAME */
        bool follow;     /* the magic link form must be followed, a NAME never */
        int dirfd;       /* >= 0: use getxattrat(dirfd, name) when the kernel has it */
        const char *name;
        int fd;          /* >= 0: an fd opened for reading, fgetxattr() */
} XattrPath;

static ssize_t xattr_get(const XattrPath *x, const char *attr, void *buf, size_t size) {
        if (x->fd >= 0)
                return fgetxattr(x->fd, attr, buf, size);
        if (x->dirfd >= 0 && atomic_load_explicit(&have_getxattrat, memory_order_relaxed)) {
                ssize_t k = xattr_get_at(x->dirfd, x->name, attr, buf, size);
                if (k >= 0 || (errno != ENOSYS && errno != EPERM))
                        return k;
                atomic_store_explicit(&have_getxattrat, false, memory_order_relaxed);
        }
        return x->follow ? getxattr(x->p, attr, buf, size) : lgetxattr(x->p, attr, buf, size);
}

/* 1 read, 0 none; what the file system answers otherwise goes to *fs_error (any errno,
 * ENOMEM included: a FUSE daemon's to choose), and only -ENOMEM of our own is returned. */
static int xattr_read(const XattrPath *x, const char *name, void *stack, size_t stack_size, void **buf, size_t *size,
                      bool *supported, int *fs_error) {
        ssize_t k = xattr_get(x, name, stack, stack_size);
        if (k < 0 && errno == ERANGE) {
                k = xattr_get(x, name, NULL, 0);
                if (k > 0 && (*buf = malloc((size_t) k)))
                        k = xattr_get(x, name, *buf, (size_t) k);
                else if (k > 0)
                        return -ENOMEM;
        } else if (k >= 0)
                *buf = stack;
        if (k < 0) {
                if (errno == ENODATA)
                        return 0;
                if (errno == ENOTSUP || errno == EOPNOTSUPP) {
                        *supported = false;
                        return 0;
                }
                *fs_error = errno;
                return 0;
        }
        *size = (size_t) k;
        return 1;
}

int acl_read_fd(int fd, bool is_dir, AclItem **ret, size_t *n, bool *has_default) {
        return acl_read_fd_full(fd, is_dir, ret, n, has_default, NULL);
}

/* acl_read_at() of the inode fd pins (O_PATH is enough). */
static int acl_read_pinned(int fd, bool is_dir, AclItem **ret, size_t *n, bool *has_default, bool *ret_supported,
                           int *fs_error) {
        char p[PROC_FD_PATH_MAX];
        proc_fd_path(fd, p);
        /* The magic link /proc/self/fd/N must be followed: it is the inode itself. */
        XattrPath x = { .p = p, .follow = true, .dirfd = -1, .fd = -1 };
        return acl_read_at(&x, is_dir, ret, n, has_default, ret_supported, fs_error);
}

int acl_read_fd_full(int fd, bool is_dir, AclItem **ret, size_t *n, bool *has_default, bool *ret_supported) {
        return acl_read_pinned(fd, is_dir, ret, n, has_default, ret_supported, NULL);
}

/* NAME in the directory dirfd, stat()ed as no symlink: never follow it, should it have
 * been swapped for one since. */
static int acl_read_name(int dirfd, const char *name, bool is_dir, InodeInfo *i, int *fs_error) {
        char p[PROC_FD_PATH_MAX + NAME_MAX + 1];
        snprintf(p, sizeof(p), "/proc/self/fd/%i/%s", dirfd, name);
        XattrPath x = { .p = p, .follow = false, .dirfd = dirfd, .name = name, .fd = -1 };
        return acl_read_at(&x, is_dir, &i->acl, &i->n_acl, &i->has_default_acl, &i->fs_acl, fs_error);
}

/* The inode's ACL. What the file system answers instead of one (an errno, or bytes
 * that are no ACL: EBADMSG) goes to *ret_fs_error, with no ACL kept, where the caller
 * gives one; else it is returned as -errno. Only -ENOMEM of our own is returned
 * either way. */
static int acl_read_at(const XattrPath *x, bool is_dir, AclItem **ret, size_t *n, bool *has_default,
                       bool *ret_supported, int *ret_fs_error) {
        char stack[256];
        void *buf = NULL;
        size_t size = 0;
        bool supported = true;
        int r, fs_error = 0;

        *ret = NULL;
        *n = 0;
        r = xattr_read(x, "system.posix_acl_access", stack, sizeof(stack), &buf, &size, &supported, &fs_error);
        if (r > 0)
                r = acl_parse_xattr(buf, size, ret, n);
        if (buf != stack)
                free(buf);
        if (r == -EBADMSG) {
                fs_error = EBADMSG;
                r = 0;
        }
        if (r < 0)
                return r;

        bool def = false;
        if (is_dir && supported && !fs_error) {
                /* Only whether it exists: its size answers that without reading it. */
                ssize_t k = xattr_get(x, "system.posix_acl_default", NULL, 0);
                if (k < 0 && errno != ENODATA && errno != ENOTSUP && errno != EOPNOTSUPP)
                        fs_error = errno;
                def = k > (ssize_t) sizeof(struct posix_acl_xattr_header);
        }
        if (fs_error) {
                free(*ret);
                *ret = NULL;
                *n = 0;
                if (!ret_fs_error)
                        return -fs_error;
                *ret_fs_error = fs_error;
                return 0;
        }
        if (has_default)
                *has_default = def;
        if (ret_supported)
                *ret_supported = supported;
        return 0;
}

bool fs_supports_acl(int fd) {
        char p[PROC_FD_PATH_MAX];

        proc_fd_path(fd, p);
        /* An inode without an ACL answers ENODATA where ACLs exist at all. */
        if (getxattr(p, "system.posix_acl_access", NULL, 0) >= 0)
                return true;
        return errno == ENODATA;
}

static void inode_info_done(InodeInfo *i) {
        free(i->path);
        free(i->acl);
        *i = (InodeInfo) {};
}

void path_walk_done(PathWalk *pw) {
        if (!pw)
                return;
        if (!pw->dirs_borrowed) {
                for (size_t i = 0; i < pw->n_dirs; i++)
                        inode_info_done(&pw->dirs[i]);
                free(pw->dirs);
        }
        inode_info_done(&pw->final);
        free(pw->resolved);
        if (pw->final_fd >= 0)
                close(pw->final_fd);
        *pw = (PathWalk) { .final_fd = -1 };
}

/* One resolved directory: its pinned fd and the length of its path in Walker.res. */
typedef struct Level {
        int fd;
        bool readable;  /* opened O_RDONLY (a directory): its ACL is an fgetxattr() */
        size_t len;
        struct stat st; /* fstat of fd, taken once: the step that opened it needed it too */
        bool has_st;
} Level;

typedef struct Walker {
        PathWalk *pw;
        Level *levels;  /* levels[0] is "/"; never empty while walking */
        size_t n_levels;
        char *res;      /* resolved path of the deepest level, "" for "/" */
        size_t res_cap;
        char *todo;     /* components still to walk, symlink targets spliced in */
        unsigned steps, max_steps;
        PathWalkStop stop;
        void *stop_data;
} Walker;

static void walker_done(Walker *w) {
        for (size_t i = 0; i < w->n_levels; i++)
                close(w->levels[i].fd);
        free(w->levels);
        free(w->res);
        free(w->todo);
}

static Level *walker_top(Walker *w) {
        return &w->levels[w->n_levels - 1];
}

static const char *walker_path(Walker *w) {
        return walker_top(w)->len == 0 ? "/" : w->res;
}

/* Builds "<resolved>/<name><rest>" without touching the walker. */
static char *walker_join(Walker *w, const char *name, const char *rest) {
        size_t len = walker_top(w)->len;
        char *s = malloc(len + 1 + strlen(name) + strlen(rest) + 1);

        if (!s)
                return NULL;
        memcpy(s, w->res, len);
        s[len] = '/';
        strcpy(stpcpy(s + len + 1, name), rest);
        return s;
}

static int walker_push(Walker *w, int fd, bool readable, const char *name, const struct stat *st) {
        size_t len = walker_top(w)->len, need = len + 1 + strlen(name) + 1;

        if (w->n_levels >= WALK_MAX_DEPTH)
                return -E2BIG;
        if (need > w->res_cap) {
                size_t cap = need * 2;
                char *n = realloc(w->res, cap);
                if (!n)
                        return -ENOMEM;
                w->res = n;
                w->res_cap = cap;
        }
        w->res[len] = '/';
        strcpy(w->res + len + 1, name);

        Level *l = ARRAY_PUSH(w->levels, w->n_levels);
        if (!l)
                return -ENOMEM;
        l->fd = fd;
        l->readable = readable;
        l->len = len + 1 + strlen(name);
        l->st = *st;
        l->has_st = true;
        return 0;
}

static void walker_pop(Walker *w) {
        /* ".." at "/" stays at "/", as in the kernel. */
        if (w->n_levels <= 1)
                return;
        close(walker_top(w)->fd);
        w->n_levels--;
        w->res[walker_top(w)->len] = 0;
}

static void walker_to_root(Walker *w) {
        while (w->n_levels > 1)
                walker_pop(w);
}

/* What the file system answers instead of the inode's ACL goes to *fs_error (see
 * acl_read_at()): the kernel's permission check would meet the same there. */
static int inode_info_fill(InodeInfo *i, int fd, bool readable, const char *path, const struct stat *st,
                           int *fs_error) {
        int r = 0;

        i->st = *st;
        if (readable) {
                XattrPath x = { .dirfd = -1, .fd = fd };
                r = acl_read_at(&x, S_ISDIR(st->st_mode), &i->acl, &i->n_acl, &i->has_default_acl, &i->fs_acl,
                                fs_error);
        } else if (!S_ISLNK(st->st_mode))
                r = acl_read_pinned(fd, S_ISDIR(st->st_mode), &i->acl, &i->n_acl, &i->has_default_acl, &i->fs_acl,
                                    fs_error);
        if (r < 0)
                return r;
        i->path = strdup(path);
        return i->path ? 0 : -ENOMEM;
}

/* Records the directory a lookup is about to search. The kernel checks x on it for
 * every component; one entry per inode gives the same answer and keeps a fix from
 * touching a directory twice. */
static int walker_record_search(Walker *w, int *fs_error) {
        PathWalk *pw = w->pw;
        Level *top = walker_top(w);

        if (!top->has_st) {
                if (fstat(top->fd, &top->st) < 0)
                        return -errno;
                top->has_st = true;
        }
        const struct stat *st = &top->st;
        if (!(st->st_mode & S_IXOTH))
                pw->crossed_closed = true;
        /* Only a mount point can be procfs's root: one statfs where the device changes. */
        struct statfs sf;
        if (!pw->crossed_procfs && (pw->n_dirs == 0 || pw->dirs[pw->n_dirs - 1].st.st_dev != st->st_dev) &&
            fstatfs(top->fd, &sf) >= 0 && sf.f_type == PROC_SUPER_MAGIC)
                pw->crossed_procfs = true;
        for (size_t i = 0; i < pw->n_dirs; i++)
                if (pw->dirs[i].st.st_dev == st->st_dev && pw->dirs[i].st.st_ino == st->st_ino)
                        return 0;

        InodeInfo *i = ARRAY_PUSH(pw->dirs, pw->n_dirs);
        if (!i)
                return -ENOMEM;
        return inode_info_fill(i, top->fd, top->readable, walker_path(w), st, fs_error);
}

static int walker_fail(Walker *w, int error, const char *name, const char *rest) {
        w->pw->error = error;
        w->pw->resolved = walker_join(w, name, rest);
        return w->pw->resolved ? 0 : -ENOMEM;
}

static int walker_set_final(Walker *w, int fd, const char *path, const struct stat *st) {
        PathWalk *pw = w->pw;
        int r;

        int fs_error = 0;
        r = inode_info_fill(&pw->final, fd, false, path, st, &fs_error);
        if (r >= 0)
                pw->resolved = strdup(path);
        if (r >= 0 && pw->resolved && !fs_error) {
                pw->have_final = true;
                pw->final_fd = fd;
                return 0;
        }
        close(fd);
        if (r < 0 || !pw->resolved)
                return r < 0 ? r : -ENOMEM;
        /* Its ACL unreadable: connect()'s permission check there fails the same way. */
        inode_info_done(&pw->final);
        pw->error = fs_error;
        return 0;
}

/* The final component is the directory the walk stands on ("/", "." or ".."). */
static int walker_final_is_top(Walker *w) {
        struct stat st;

        int fd = fcntl(walker_top(w)->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return walker_set_final(w, fd, walker_path(w), &st);
}

/* Replaces the walk's remaining components with the link's target followed by what
 * was left after the link. What following it meets instead (a loop, a target too long
 * or empty, the file system's error reading it) goes to *ret_error, as the kernel
 * would answer it; the return value is negative only for -ENOMEM. */
static int walker_splice_symlink(Walker *w, int fd, const char *rest, int *ret_error) {
        char target[PATH_MAX];

        *ret_error = 0;
        if (++w->pw->symlinks > WALK_MAX_SYMLINKS) {
                *ret_error = ELOOP;
                return 0;
        }

        ssize_t k = readlinkat(fd, "", target, sizeof(target));
        /* The kernel resolves an empty target to nothing. */
        *ret_error = k < 0 ? errno : (size_t) k >= sizeof(target) ? ENAMETOOLONG : k == 0 ? ENOENT : 0;
        if (*ret_error)
                return 0;

        char *todo = malloc((size_t) k + strlen(rest) + 1);
        if (!todo)
                return -ENOMEM;
        /* rest keeps its leading slash: a link as last component gains no trailing one. */
        memcpy(todo, target, (size_t) k);
        strcpy(todo + k, rest);
        if (target[0] == '/')
                walker_to_root(w);

        free(w->todo);
        w->todo = todo;
        return 0;
}

typedef enum StepResult {
        STEP_NEXT,
        STEP_SPLICED, /* a symlink replaced the remaining components */
        STEP_DONE,
} StepResult;

/* Looks up one component `name` in the current directory. `rest` is what follows
 * it (slashes included), `last` whether it is the final component. */
/* openat() that fails with EXDEV rather than step onto another mount (ENOSYS before
 * Linux 5.6). */
static int openat_no_xdev(int dirfd, const char *name, int flags) {
        struct open_how how = { .flags = (uint64_t) flags, .resolve = RESOLVE_NO_XDEV };
        return (int) syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
}

/* Opens name in the walk's current directory into *ret_fd: an fd, or -errno, what the
 * lookup met. That errno is the file system's to choose (a FUSE daemon or a server may
 * answer ENOMEM, EAGAIN or E2BIG), so it never travels as the return value, which is
 * negative only for the walk's own failures: -ENOMEM, and with a stop() -EWOULDBLOCK.
 * A directory on the way is opened for reading where that is allowed: its ACL is then
 * one fgetxattr() instead of a lookup through /proc/self/fd/N (a sixth of a single
 * Diagnose). O_DIRECTORY fails before anything else could be opened; what is not a
 * directory, or may not be read, is pinned with O_PATH. */
static int walker_open(Walker *w, const char *name, bool last, bool *readable, int *ret_fd) {
        int dirfd = walker_top(w)->fd, fd = -1;
        bool guarded = w->stop;

        /* Guarded, the same opens refuse to cross into another mount (RESOLVE_NO_XDEV: the
         * mounted file system is asked nothing), so that only a mount point needs the
         * check below. */
        if (!last) {
                int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
                fd = guarded ? openat_no_xdev(dirfd, name, flags) : openat(dirfd, name, flags);
                *readable = fd >= 0;
        }
        if (fd < 0 && (last || errno != EXDEV))
                fd = guarded ? openat_no_xdev(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)
                             : openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        *ret_fd = fd >= 0 ? fd : -errno;
        if (fd >= 0 || !guarded || (errno != EXDEV && errno != ENOSYS))
                return 0;

        /* A mount point (or a kernel without openat2): pinned with O_PATH, which asks its
         * file system nothing (opening a directory for reading does), and shown to
         * stop(); then "." of that very inode is opened for reading, with no second
         * lookup of name. */
        fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        *ret_fd = fd >= 0 ? fd : -errno;
        if (fd < 0)
                return 0;
        _cleanup_free_ char *next = walker_join(w, name, "");
        if (!next || w->stop(fd, next, w->stop_data)) {
                close(fd);
                *ret_fd = -EBADF;
                return next ? -EWOULDBLOCK : -ENOMEM;
        }
        int rfd = last ? -1 : openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rfd >= 0) {
                close(fd);
                *readable = true;
                *ret_fd = rfd;
        }
        return 0;
}

static int walker_step(Walker *w, const char *name, const char *rest, bool last, bool trailing_slash) {
        struct stat st;
        int r, fs_error = 0;

        r = walker_record_search(w, &fs_error);
        if (r < 0)
                return r;
        /* The directory's ACL unreadable: the kernel's check of search on it, for a
         * lookup of name, meets the same. */
        if (fs_error) {
                r = walker_fail(w, fs_error, name, rest);
                return r < 0 ? r : STEP_DONE;
        }

        if (streq_ptr(name, "..") || streq_ptr(name, ".")) {
                if (name[1] == '.')
                        walker_pop(w);
                if (!last)
                        return STEP_NEXT;
                r = walker_final_is_top(w);
                return r < 0 ? r : STEP_DONE;
        }

        bool readable = false;
        _cleanup_close_ int fd = -EBADF;
        r = walker_open(w, name, last, &readable, &fd);
        if (r < 0)
                return r;
        /* What the file system answers, the lookup or the attributes after it, is what
         * connect() would meet there: the walk's result, not its failure. */
        if (fd < 0 || fstat(fd, &st) < 0) {
                r = walker_fail(w, fd < 0 ? -fd : errno, name, rest);
                return r < 0 ? r : STEP_DONE;
        }

        if (S_ISLNK(st.st_mode)) {
                int error;
                _cleanup_free_ char *rest_copy = strdup(rest);
                if (!rest_copy)
                        return -ENOMEM;
                r = walker_splice_symlink(w, fd, rest_copy, &error);
                if (r < 0)
                        return r;
                if (error) {
                        r = walker_fail(w, error, name, rest_copy);
                        return r < 0 ? r : STEP_DONE;
                }
                return STEP_SPLICED;
        }

        if (last && !(trailing_slash && !S_ISDIR(st.st_mode))) {
                _cleanup_free_ char *path = walker_join(w, name, "");
                if (!path)
                        return -ENOMEM;
                r = walker_set_final(w, TAKE_FD(fd), path, &st);
                return r < 0 ? r : STEP_DONE;
        }

        if (!S_ISDIR(st.st_mode)) {
                r = walker_fail(w, ENOTDIR, name, rest);
                return r < 0 ? r : STEP_DONE;
        }

        r = walker_push(w, fd, readable, name, &st);
        if (r < 0)
                return r;
        TAKE_FD(fd);
        return STEP_NEXT;
}

static int walker_run(Walker *w) {
        size_t pos = 0;
        int r;

        for (;;) {
                char name[NAME_MAX + 1];
                const char *p = w->todo + pos;

                p += strspn(p, "/");
                if (!*p)
                        /* Only "/" itself (or a link to it) ends here. */
                        return walker_final_is_top(w);

                size_t len = strcspn(p, "/");
                const char *rest = p + len, *after = rest + strspn(rest, "/");
                bool last = !*after;

                if (len > NAME_MAX) {
                        _cleanup_free_ char *long_name = strndup(p, len);
                        if (!long_name)
                                return -ENOMEM;
                        return walker_fail(w, ENAMETOOLONG, long_name, rest);
                }
                memcpy(name, p, len);
                name[len] = 0;

                if (++w->steps > w->max_steps)
                        return -E2BIG;
                pos = (size_t) (rest - w->todo);
                r = walker_step(w, name, rest, last, last && rest != after);
                if (r < 0)
                        return r;
                if (r == STEP_DONE)
                        return 0;
                if (r == STEP_SPLICED)
                        pos = 0;
        }
}

int path_walk(const char *path, PathWalk *ret) {
        return path_walk_bounded(path, WALK_MAX_STEPS, ret);
}

int path_walk_bounded(const char *path, unsigned max_steps, PathWalk *ret) {
        return path_walk_guarded(path, max_steps, NULL, NULL, ret);
}

int path_walk_guarded(const char *path, unsigned max_steps, PathWalkStop stop, void *userdata, PathWalk *ret) {
        _cleanup_(walker_done) Walker w = {
                .max_steps = max_steps < WALK_MAX_STEPS ? max_steps : WALK_MAX_STEPS,
                .stop = stop,
                .stop_data = userdata,
        };
        int r;

        *ret = (PathWalk) { .final_fd = -1 };

        if (!path || path[0] != '/' || strnlen(path, PATH_MAX) >= PATH_MAX)
                return -EINVAL;

        w.pw = ret;
        w.todo = strdup(path);
        w.res = strdup("");
        if (!w.todo || !w.res)
                return -ENOMEM;
        w.res_cap = 1;

        int root = -1;
        if (stop) {
                root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root >= 0 && stop(root, "/", userdata)) {
                        close(root);
                        return -EWOULDBLOCK;
                }
                if (root >= 0)
                        close(root);
        }
        root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        bool readable = root >= 0;
        if (root < 0)
                root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        Level *l = ARRAY_PUSH(w.levels, w.n_levels);
        if (!l) {
                close(root);
                return -ENOMEM;
        }
        *l = (Level) { .fd = root, .readable = readable };

        r = walker_run(&w);
        if (r < 0) {
                bool closed = ret->crossed_closed;
                unsigned links = ret->symlinks;
                path_walk_done(ret);
                *ret = (PathWalk) { .final_fd = -1, .crossed_closed = closed, .symlinks = links };
                return r;
        }
        return 0;
}

uint64_t mount_id_at(int dirfd, const char *name) {
        struct statx sx;
        /* AT_NO_AUTOMOUNT: statx, unlike fstatat, would otherwise trigger an automount
         * point's mount (of a server that may be down) and wait for it. */
        int flags = AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC | (isempty(name) ? AT_EMPTY_PATH : 0);
        if (statx(dirfd, strempty(name), flags, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID))
                return 0;
        return sx.stx_mnt_id;
}

bool path_walk_holds(const PathWalk *pw, const InodeInfo *dir) {
        const char *d = dir ? dir->path : NULL;
        if (!d || !pw->resolved)
                return false;
        if (streq_ptr(d, "/"))
                return true;
        return startswith(pw->resolved, d) && pw->resolved[strlen(d)] == '/';
}

/* NULL when only root can change the inode, else why not. With an ACL the group
 * bits are the mask, so a named entry with write shows as group write too; the
 * entries are looked at anyway, for the one that names someone. */
static const char *root_only_why(const InodeInfo *i) {
        if (i->st.st_uid != 0)
                return "is not owned by root";
        if (i->st.st_mode & S_IWOTH)
                return "is writable by others";
        if (i->st.st_mode & S_IWGRP)
                return "is writable by a group";
        for (size_t k = 0; k < i->n_acl; k++)
                if ((i->acl[k].tag == ACL_TAG_USER || i->acl[k].tag == ACL_TAG_GROUP) && (i->acl[k].perm & 2))
                        return "has an ACL entry that grants write";
        return NULL;
}

int path_only_root_can_change(const char *path, char **ret_why) {
        _cleanup_(path_walk_done) PathWalk w = { .final_fd = -1 };
        int r = path_walk(path, &w);
        if (r < 0)
                return r;
        if (w.error != 0)
                return -w.error;
        if (!w.have_final)
                return -ENOENT;
        const InodeInfo *bad = NULL;
        const char *why = NULL;
        for (size_t i = 0; i < w.n_dirs && !why; i++)
                if ((why = root_only_why(&w.dirs[i])))
                        bad = &w.dirs[i];
        if (!why && !S_ISREG(w.final.st.st_mode)) {
                why = "is not a regular file";
                bad = &w.final;
        }
        if (!why && (why = root_only_why(&w.final)))
                bad = &w.final;
        if (!why)
                return 1;
        if (ret_why && asprintf(ret_why, "%s (uid %u, gid %u, mode %04o) %s", strempty(bad->path), bad->st.st_uid,
                                bad->st.st_gid, bad->st.st_mode & 07777, why) < 0)
                return -ENOMEM;
        return 0;
}

/* --- the sweep cache --- */

typedef struct CachedDir {
        char *key;       /* the parent path as asked */
        int fd;          /* O_PATH fd of the resolved directory; -1: walk such paths in full */
        bool stopped;    /* the cache's stop() stopped its walk */
        bool closed;     /* PathWalk.crossed_closed of every path in it */
        uint64_t mnt_id; /* where the cache has a stop(): the mount it is on (0: not known) */
        InodeInfo *dirs; /* every directory searched to look a name up in it, itself last */
        size_t n_dirs;
        char *resolved;
} CachedDir;

struct WalkCache {
        Hashmap *by_key;
        CachedDir **entries;
        size_t n_entries;
        PathWalkStop stop;
        void *stop_data;
};

WalkCache *walk_cache_new(PathWalkStop stop, void *userdata) {
        WalkCache *c = calloc(1, sizeof(WalkCache));
        if (!c || !(c->by_key = hashmap_new_str())) {
                free(c);
                return NULL;
        }
        c->stop = stop;
        c->stop_data = userdata;
        return c;
}

static int cache_walk_full(WalkCache *c, const char *path, PathWalk *ret) {
        return path_walk_guarded(path, WALK_MAX_STEPS, c->stop, c->stop_data, ret);
}

WalkCache *walk_cache_free(WalkCache *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_entries; i++) {
                CachedDir *d = c->entries[i];
                for (size_t j = 0; j < d->n_dirs; j++)
                        inode_info_done(&d->dirs[j]);
                free(d->dirs);
                free(d->resolved);
                free(d->key);
                if (d->fd >= 0)
                        close(d->fd);
                free(d);
        }
        free(c->entries);
        hashmap_free(c->by_key);
        free(c);
        return NULL;
}

static int cache_dir_load(WalkCache *c, const char *key, CachedDir **ret) {
        CachedDir *d = calloc(1, sizeof(CachedDir));
        CachedDir **slot;
        PathWalk pw;
        int r;

        if (!d || !(d->key = strdup(key)) || !(slot = ARRAY_PUSH(c->entries, c->n_entries))) {
                if (d)
                        free(d->key);
                free(d);
                return -ENOMEM;
        }
        *slot = d;
        d->fd = -1;
        if (hashmap_put_str(c->by_key, d->key, d) < 0)
                return -ENOMEM;
        *ret = d;
        r = cache_walk_full(c, key, &pw);
        d->stopped = r == -EWOULDBLOCK;
        if (r < 0 || pw.error || !pw.have_final || !S_ISDIR(pw.final.st.st_mode)) {
                /* Missing or odd parents are rare: the full walk describes them exactly. */
                path_walk_done(&pw);
                return r == -ENOMEM ? r : 0;
        }
        d->dirs = TAKE_PTR(pw.dirs);
        d->n_dirs = pw.n_dirs;
        pw.n_dirs = 0;
        InodeInfo *self = ARRAY_PUSH(d->dirs, d->n_dirs);
        if (!self) {
                path_walk_done(&pw);
                return -ENOMEM;
        }
        *self = pw.final;
        pw.final = (InodeInfo) {};
        d->resolved = TAKE_PTR(pw.resolved);
        d->fd = TAKE_FD(pw.final_fd);
        /* Looking a name up in it searches it too. */
        d->closed = pw.crossed_closed || !(self->st.st_mode & S_IXOTH);
        if (c->stop)
                d->mnt_id = mount_id_at(d->fd, "");
        path_walk_done(&pw);
        return 0;
}

int path_walk_cached(const char *path, WalkCache *c, PathWalk *ret) {
        const char *slash = path ? strrchr(path, '/') : NULL;
        const char *base = slash ? slash + 1 : NULL;
        CachedDir *d;
        struct stat st;
        int r;

        if (!c || !slash || path[0] != '/' || strnlen(path, PATH_MAX) >= PATH_MAX || !*base ||
            streq_ptr(base, ".") || streq_ptr(base, "..") || strlen(base) > NAME_MAX)
                return c ? cache_walk_full(c, path, ret) : path_walk(path, ret);

        _cleanup_free_ char *key = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        if (!key)
                return -ENOMEM;
        d = hashmap_get_str(c->by_key, key);
        if (!d && (r = cache_dir_load(c, key, &d)) < 0)
                return r;
        if (d->stopped) {
                *ret = (PathWalk) { .final_fd = -1 };
                return -EWOULDBLOCK;
        }
        if (d->fd < 0)
                return cache_walk_full(c, path, ret);

        /* A file bind-mounted there from a file system that may not answer (the
         * directory's own was stopped above) would hold the stat below, and the sweep
         * with it: its mount id differs from the directory's. Pinned with O_PATH, it is
         * shown to stop() as the full walk would show it; a stop makes the caller walk
         * the path in full, bounded. Hosts with no such file system skip both syscalls;
         * a kernel that tells no mount id (before 5.8) shows every name to stop(), which
         * then knows the mount points by path. */
        if (c->stop) {
                uint64_t id = mount_id_at(d->fd, base);
                if (id == 0 || id != d->mnt_id) {
                        *ret = (PathWalk) { .final_fd = -1 };
                        _cleanup_close_ int fd = openat(d->fd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_free_ char *at = NULL;
                        if (fd >= 0 && asprintf(&at, "%s/%s", streq_ptr(d->resolved, "/") ? "" : d->resolved, base) < 0) {
                                at = NULL; /* unspecified after a failure */
                                return -ENOMEM;
                        }
                        if (fd >= 0 && c->stop(fd, at, c->stop_data))
                                return -EWOULDBLOCK;
                }
        }

        /* No fd for the last component: a sweep only looks, and two syscalls (stat, ACL)
         * per socket instead of four add up over thousands of pools. */
        int error = fstatat(d->fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 ? errno : 0;
        if (!error && S_ISLNK(st.st_mode))
                return cache_walk_full(c, path, ret); /* symlinks: the full walk follows them */

        /* The directories are the cache's, lent for as long as the cache lives (the
         * sweep): a copy of each, a path and an ACL, per socket cost more allocations
         * than the rest of the walk together. */
        *ret = (PathWalk) { .final_fd = -1, .dirs = d->dirs, .n_dirs = d->n_dirs, .dirs_borrowed = true,
                            .crossed_closed = d->closed };
        size_t dir_len = streq_ptr(d->resolved, "/") ? 0 : strlen(d->resolved), base_len = strlen(base);
        ret->resolved = malloc(dir_len + 1 + base_len + 1);
        if (!ret->resolved) {
                path_walk_done(ret);
                return -ENOMEM;
        }
        memcpy(ret->resolved, d->resolved, dir_len);
        ret->resolved[dir_len] = '/';
        memcpy(ret->resolved + dir_len + 1, base, base_len + 1);
        if (error) {
                ret->error = error;
                return 0;
        }
        ret->final.st = st;
        int fs_error = 0;
        if ((r = acl_read_name(d->fd, base, S_ISDIR(st.st_mode), &ret->final, &fs_error)) >= 0 && fs_error) {
                ret->final = (InodeInfo) {}; /* no ACL was kept */
                ret->error = fs_error;
                return 0;
        }
        if (r < 0 || !(ret->final.path = strdup(ret->resolved))) {
                path_walk_done(ret);
                return r < 0 ? r : -ENOMEM;
        }
        ret->have_final = true;
        return 0;
}
