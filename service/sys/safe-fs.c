/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sys/safe-fs.h"

#include <acl/libacl.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/acl.h>
#include <sys/xattr.h>

#include "util/util.h"

/* The kernel's limit on symlinks followed in one lookup (MAXSYMLINKS). */
#define WALK_MAX_SYMLINKS 40u

/* "/proc/self/fd/N" reaches the inode an O_PATH fd pins without a second path
 * lookup, so an ACL read cannot be redirected by a rename. */
#define PROC_FD_PATH_MAX (sizeof("/proc/self/fd/") + 3 * sizeof(int))

static void proc_fd_path(int fd, char buf[static PROC_FD_PATH_MAX]) {
        snprintf(buf, PROC_FD_PATH_MAX, "/proc/self/fd/%i", fd);
}

static void aclp(acl_t *a) {
        if (*a)
                acl_free(*a);
}

static bool acl_errno_is_unsupported(int e) {
        return e == ENOTSUP || e == EOPNOTSUPP || e == ENODATA;
}

static int acl_entry_to_item(acl_entry_t e, AclItem *ret) {
        acl_tag_t tag;
        acl_permset_t ps;

        if (acl_get_tag_type(e, &tag) < 0 || acl_get_permset(e, &ps) < 0)
                return -errno;

        switch (tag) {
        case ACL_USER_OBJ:
                ret->tag = ACL_TAG_USER_OBJ;
                break;
        case ACL_GROUP_OBJ:
                ret->tag = ACL_TAG_GROUP_OBJ;
                break;
        case ACL_MASK:
                ret->tag = ACL_TAG_MASK;
                break;
        case ACL_OTHER:
                ret->tag = ACL_TAG_OTHER;
                break;
        case ACL_USER:
        case ACL_GROUP: {
                /* uid_t and gid_t are both 32-bit ids here */
                unsigned *q = acl_get_qualifier(e);
                if (!q)
                        return -errno;
                ret->tag = tag == ACL_USER ? ACL_TAG_USER : ACL_TAG_GROUP;
                ret->id = *q;
                acl_free(q);
                break;
        }
        default:
                return -EBADMSG;
        }

        ret->perm = (acl_get_perm(ps, ACL_READ) > 0 ? 4u : 0u) |
                    (acl_get_perm(ps, ACL_WRITE) > 0 ? 2u : 0u) |
                    (acl_get_perm(ps, ACL_EXECUTE) > 0 ? 1u : 0u);
        return 0;
}

static int acl_to_items(acl_t acl, AclItem **ret, size_t *n) {
        _cleanup_free_ AclItem *items = NULL;
        size_t k = 0;
        acl_entry_t e;
        int r;

        for (int w = acl_get_entry(acl, ACL_FIRST_ENTRY, &e); w > 0; w = acl_get_entry(acl, ACL_NEXT_ENTRY, &e)) {
                AclItem *it = ARRAY_PUSH(items, k);
                if (!it)
                        return -ENOMEM;
                r = acl_entry_to_item(e, it);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(items);
        *n = k;
        return 0;
}

static int acl_read_default(const char *p, bool *ret) {
        _cleanup_(aclp) acl_t def = acl_get_file(p, ACL_TYPE_DEFAULT);
        if (!def) {
                if (!acl_errno_is_unsupported(errno))
                        return -errno;
                *ret = false;
                return 0;
        }
        *ret = acl_entries(def) > 0;
        return 0;
}

int acl_read_fd(int fd, bool is_dir, AclItem **ret, size_t *n, bool *has_default) {
        _cleanup_free_ AclItem *items = NULL;
        char p[PROC_FD_PATH_MAX];
        size_t k = 0;
        bool def = false;
        int r;

        proc_fd_path(fd, p);

        _cleanup_(aclp) acl_t acl = acl_get_file(p, ACL_TYPE_ACCESS);
        if (!acl) {
                if (!acl_errno_is_unsupported(errno))
                        return -errno;
        } else if (acl_equiv_mode(acl, NULL) != 0) {
                /* Only extended ACLs matter: the 3 base entries are the mode bits. */
                r = acl_to_items(acl, &items, &k);
                if (r < 0)
                        return r;
        }

        if (is_dir) {
                r = acl_read_default(p, &def);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(items);
        *n = k;
        if (has_default)
                *has_default = def;
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
        for (size_t i = 0; i < pw->n_dirs; i++)
                inode_info_done(&pw->dirs[i]);
        free(pw->dirs);
        inode_info_done(&pw->final);
        free(pw->resolved);
        if (pw->final_fd >= 0)
                close(pw->final_fd);
        *pw = (PathWalk) { .final_fd = -1 };
}

/* One resolved directory: its pinned fd and the length of its path in Walker.res. */
typedef struct Level {
        int fd;
        size_t len;
} Level;

typedef struct Walker {
        PathWalk *pw;
        Level *levels;  /* levels[0] is "/"; never empty while walking */
        size_t n_levels;
        char *res;      /* resolved path of the deepest level, "" for "/" */
        size_t res_cap;
        char *todo;     /* components still to walk, symlink targets spliced in */
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

static int walker_push(Walker *w, int fd, const char *name) {
        size_t len = walker_top(w)->len, need = len + 1 + strlen(name) + 1;

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
        l->len = len + 1 + strlen(name);
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

static int inode_info_fill(InodeInfo *i, int fd, const char *path, const struct stat *st) {
        int r;

        i->st = *st;
        if (!S_ISLNK(st->st_mode)) {
                r = acl_read_fd(fd, S_ISDIR(st->st_mode), &i->acl, &i->n_acl, &i->has_default_acl);
                if (r < 0)
                        return r;
        }
        i->path = strdup(path);
        return i->path ? 0 : -ENOMEM;
}

/* Records the directory a lookup is about to search. The kernel checks x on it for
 * every component; one entry per inode gives the same answer and keeps a fix from
 * touching a directory twice. */
static int walker_record_search(Walker *w) {
        PathWalk *pw = w->pw;
        struct stat st;

        if (fstat(walker_top(w)->fd, &st) < 0)
                return -errno;
        for (size_t i = 0; i < pw->n_dirs; i++)
                if (pw->dirs[i].st.st_dev == st.st_dev && pw->dirs[i].st.st_ino == st.st_ino)
                        return 0;

        InodeInfo *i = ARRAY_PUSH(pw->dirs, pw->n_dirs);
        if (!i)
                return -ENOMEM;
        return inode_info_fill(i, walker_top(w)->fd, walker_path(w), &st);
}

static int walker_fail(Walker *w, int error, const char *name, const char *rest) {
        w->pw->error = error;
        w->pw->resolved = walker_join(w, name, rest);
        return w->pw->resolved ? 0 : -ENOMEM;
}

static int walker_set_final(Walker *w, int fd, const char *path, const struct stat *st) {
        PathWalk *pw = w->pw;
        int r;

        r = inode_info_fill(&pw->final, fd, path, st);
        if (r < 0) {
                close(fd);
                return r;
        }
        pw->resolved = strdup(path);
        if (!pw->resolved) {
                close(fd);
                return -ENOMEM;
        }
        pw->have_final = true;
        pw->final_fd = fd;
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
 * was left after the link. */
static int walker_splice_symlink(Walker *w, int fd, const char *rest, bool *ret_loop) {
        char target[PATH_MAX];

        *ret_loop = ++w->pw->symlinks > WALK_MAX_SYMLINKS;
        if (*ret_loop)
                return 0;

        ssize_t k = readlinkat(fd, "", target, sizeof(target));
        if (k < 0)
                return -errno;
        if ((size_t) k >= sizeof(target))
                return -ENAMETOOLONG;
        /* The kernel resolves an empty target to nothing. */
        if (k == 0)
                return -ENOENT;

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
static int walker_step(Walker *w, const char *name, const char *rest, bool last, bool trailing_slash) {
        struct stat st;
        int r;

        r = walker_record_search(w);
        if (r < 0)
                return r;

        if (streq_ptr(name, "..") || streq_ptr(name, ".")) {
                if (name[1] == '.')
                        walker_pop(w);
                if (!last)
                        return STEP_NEXT;
                r = walker_final_is_top(w);
                return r < 0 ? r : STEP_DONE;
        }

        _cleanup_close_ int fd = openat(walker_top(w)->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                r = walker_fail(w, errno, name, rest);
                return r < 0 ? r : STEP_DONE;
        }
        if (fstat(fd, &st) < 0)
                return -errno;

        if (S_ISLNK(st.st_mode)) {
                bool loop;
                _cleanup_free_ char *rest_copy = strdup(rest);
                if (!rest_copy)
                        return -ENOMEM;
                r = walker_splice_symlink(w, fd, rest_copy, &loop);
                if (loop)
                        r = -ELOOP;
                if (r == -ELOOP || r == -ENAMETOOLONG || r == -ENOENT) {
                        r = walker_fail(w, -r, name, rest_copy);
                        return r < 0 ? r : STEP_DONE;
                }
                return r < 0 ? r : STEP_SPLICED;
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

        r = walker_push(w, fd, name);
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
        _cleanup_(walker_done) Walker w = {};
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

        int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        Level *l = ARRAY_PUSH(w.levels, w.n_levels);
        if (!l) {
                close(root);
                return -ENOMEM;
        }
        *l = (Level) { .fd = root };

        r = walker_run(&w);
        if (r < 0) {
                path_walk_done(ret);
                *ret = (PathWalk) { .final_fd = -1 };
                return r;
        }
        return 0;
}
