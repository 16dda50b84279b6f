/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "sys/safe-fs.h"
#include "util/util.h"
#include "fs-test.h"

/* The tree every test walks, under a fresh mkdtemp directory T:
 *   T/a (0755) / b (0700) / c (0710) / sock   bound unix socket
 *   T/l1 -> T/l2 (absolute), T/l2 -> a/b/c/sock (relative)
 *   T/d/up -> ../a/b/c/sock
 *   T/x/y/jump -> T/a
 *   T/loop1 <-> T/loop2, T/self -> self
 *   T/file, T/fifo, T/null (char device) */
static char *T;

static char *tp(const char *suffix) {
        char *p;
        assert_true(asprintf(&p, "%s%s", T, suffix) > 0);
        return p;
}

static int setup(void **state) {
        (void) state;
        T = strdup("/tmp/test-safe-fs-XXXXXX");
        if (!T || !mkdtemp(T))
                return -1;
        run("cd '%s' && mkdir -m 0755 a && mkdir -m 0700 a/b && mkdir -m 0710 a/b/c && "
            "mkdir -p d x/y && ln -s '%s/l2' l1 && ln -s a/b/c/sock l2 && ln -s ../a/b/c/sock d/up && "
            "ln -s '%s/a' x/y/jump && ln -s loop2 loop1 && ln -s loop1 loop2 && ln -s self self && "
            "echo hi > file && mkfifo fifo && mknod null c 1 3 && { ln -s '' empty 2>/dev/null || true; }",
            T, T, T);
        _cleanup_free_ char *s = tp("/a/b/c/sock");
        bind_socket(s);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        run("rm -rf '%s'", T);
        free(T);
        T = NULL;
        return 0;
}

static const InodeInfo *find_dir(const PathWalk *w, const char *path) {
        for (size_t i = 0; i < w->n_dirs; i++)
                if (streq_ptr(w->dirs[i].path, path))
                        return &w->dirs[i];
        return NULL;
}

static void assert_walk_ok(const char *path, const char *resolved, PathWalk *w) {
        assert_int_equal(path_walk(path, w), 0);
        assert_int_equal(w->error, 0);
        assert_true(w->have_final);
        assert_string_equal(w->resolved, resolved);
        assert_string_equal(w->final.path, resolved);
        assert_true(w->final_fd >= 0);

        struct stat st;
        assert_int_equal(fstat(w->final_fd, &st), 0);
        assert_int_equal(st.st_ino, w->final.st.st_ino);
        assert_int_equal(st.st_dev, w->final.st.st_dev);
}

static void test_socket_and_dirs(void **state) {
        _cleanup_free_ char *sock = tp("/a/b/c/sock"), *a = tp("/a"), *b = tp("/a/b"), *c = tp("/a/b/c");
        PathWalk w;
        (void) state;

        assert_walk_ok(sock, sock, &w);
        assert_true(S_ISSOCK(w.final.st.st_mode));
        assert_int_equal(w.symlinks, 0);

        /* "/", "/tmp", T, a, b, c: every directory searched, in order */
        assert_int_equal(w.n_dirs, 6);
        assert_string_equal(w.dirs[0].path, "/");
        assert_string_equal(w.dirs[1].path, "/tmp");
        assert_string_equal(w.dirs[2].path, T);
        assert_string_equal(w.dirs[3].path, a);
        assert_string_equal(w.dirs[4].path, b);
        assert_string_equal(w.dirs[5].path, c);
        assert_int_equal(w.dirs[3].st.st_mode & 07777, 0755);
        assert_int_equal(w.dirs[4].st.st_mode & 07777, 0700);
        assert_int_equal(w.dirs[5].st.st_mode & 07777, 0710);
        for (size_t i = 0; i < w.n_dirs; i++) {
                assert_true(S_ISDIR(w.dirs[i].st.st_mode));
                assert_int_equal(w.dirs[i].n_acl, 0);
                assert_false(w.dirs[i].has_default_acl);
        }
        assert_int_equal(w.final.n_acl, 0);
        assert_true(fs_supports_acl(w.final_fd));
        path_walk_done(&w);
        assert_int_equal(w.final_fd, -1);
        path_walk_done(&w); /* twice is harmless */
}

static const AclItem *find_acl(const InodeInfo *i, AclTag tag, unsigned id) {
        for (size_t k = 0; k < i->n_acl; k++)
                if (i->acl[k].tag == tag && (i->acl[k].id == id || (tag != ACL_TAG_USER && tag != ACL_TAG_GROUP)))
                        return &i->acl[k];
        return NULL;
}

static void test_acls(void **state) {
        _cleanup_free_ char *sock = tp("/a/b/c/sock"), *b = tp("/a/b"), *c = tp("/a/b/c");
        PathWalk w;
        (void) state;

        run("setfacl -m u:65534:x '%s' && setfacl -m g:65534:rw '%s' && setfacl -d -m u:65534:rwx '%s'", b, sock, c);

        assert_walk_ok(sock, sock, &w);
        const InodeInfo *ib = find_dir(&w, b), *ic = find_dir(&w, c);
        assert_non_null(ib);
        assert_non_null(ic);

        assert_int_equal(ib->n_acl, 5); /* user::, user:65534, group::, mask::, other:: */
        const AclItem *u = find_acl(ib, ACL_TAG_USER, 65534);
        assert_non_null(u);
        assert_int_equal(u->perm, 1);
        assert_int_equal(find_acl(ib, ACL_TAG_MASK, 0)->perm, 1);
        assert_int_equal(find_acl(ib, ACL_TAG_USER_OBJ, 0)->perm, 7);
        assert_false(ib->has_default_acl);

        /* only a default ACL: the access ACL is still the mode bits */
        assert_int_equal(ic->n_acl, 0);
        assert_true(ic->has_default_acl);

        const AclItem *g = find_acl(&w.final, ACL_TAG_GROUP, 65534);
        assert_non_null(g);
        assert_int_equal(g->perm, 6);
        assert_non_null(find_acl(&w.final, ACL_TAG_GROUP_OBJ, 0));

        AclItem *items = NULL;
        size_t n = 0;
        bool def = false;
        assert_int_equal(acl_read_fd(w.final_fd, false, &items, &n, &def), 0);
        assert_int_equal(n, w.final.n_acl);
        free(items);

        /* A directory on the way is read through an fd opened for reading, the final one
         * through its O_PATH fd: both give the same ACLs. */
        PathWalk wb, wc;
        assert_walk_ok(b, b, &wb);
        assert_walk_ok(c, c, &wc);
        assert_int_equal(wb.final.n_acl, ib->n_acl);
        assert_int_equal(find_acl(&wb.final, ACL_TAG_USER, 65534)->perm, 1);
        assert_int_equal(find_acl(&wb.final, ACL_TAG_MASK, 0)->perm, 1);
        assert_false(wb.final.has_default_acl);
        assert_int_equal(wc.final.n_acl, 0);
        assert_true(wc.final.has_default_acl);
        path_walk_done(&wb);
        path_walk_done(&wc);
        path_walk_done(&w);

        run("setfacl -b '%s' '%s' && setfacl -k '%s'", b, sock, c);
}

static void test_symlink_chain(void **state) {
        _cleanup_free_ char *sock = tp("/a/b/c/sock"), *l1 = tp("/l1"), *up = tp("/d/up"), *d = tp("/d");
        PathWalk w;
        (void) state;

        assert_walk_ok(l1, sock, &w);
        assert_int_equal(w.symlinks, 2);
        assert_true(S_ISSOCK(w.final.st.st_mode));
        /* T searched for l1 and l2, then a, b, c; "/" and "/tmp" once each */
        assert_int_equal(w.n_dirs, 6);
        path_walk_done(&w);

        assert_walk_ok(up, sock, &w);
        assert_int_equal(w.symlinks, 1);
        assert_non_null(find_dir(&w, d));
        path_walk_done(&w);
}

/* A path through procfs is told apart: its magic links (/proc/PID/fd/N) open a
 * process's own files whatever its ids, so sockfixd's own probe must not use it. The
 * walk itself follows the link's text to the socket, as everywhere else. */
static void test_crossed_procfs(void **state) {
        _cleanup_free_ char *sock = tp("/a/b/c/sock"), *l1 = tp("/l1"), *via_proc = NULL, *via_dev = NULL;
        _cleanup_close_ int fd = open(sock, O_PATH | O_CLOEXEC);
        PathWalk w;
        (void) state;

        assert_true(fd >= 0);
        assert_true(asprintf(&via_proc, "/proc/%d/fd/%d", (int) getpid(), fd) > 0);
        assert_true(asprintf(&via_dev, "/dev/fd/%d", fd) > 0);

        assert_walk_ok(sock, sock, &w);
        assert_false(w.crossed_procfs);
        path_walk_done(&w);
        assert_walk_ok(l1, sock, &w);
        assert_false(w.crossed_procfs);
        path_walk_done(&w);

        assert_walk_ok(via_proc, sock, &w);
        assert_true(w.crossed_procfs);
        path_walk_done(&w);
        /* /dev/fd is a plain symlink to /proc/self/fd */
        assert_walk_ok(via_dev, sock, &w);
        assert_true(w.crossed_procfs);
        path_walk_done(&w);
}

static void test_dirs_before_redirect(void **state) {
        _cleanup_free_ char *p = tp("/x/y/jump/b/c/sock"), *sock = tp("/a/b/c/sock"), *x = tp("/x"), *y = tp("/x/y");
        PathWalk w;
        (void) state;

        assert_walk_ok(p, sock, &w);
        /* the kernel searched x and y before the link sent it elsewhere */
        assert_non_null(find_dir(&w, x));
        assert_non_null(find_dir(&w, y));
        assert_int_equal(w.n_dirs, 8);
        path_walk_done(&w);
}

static void test_dotdot(void **state) {
        _cleanup_free_ char *sock = tp("/a/b/c/sock"), *p = tp("//a/./b/../b//c/./sock"), *q = NULL;
        PathWalk w;
        (void) state;

        assert_walk_ok(p, sock, &w);
        path_walk_done(&w);

        /* ".." never climbs above "/" */
        assert_true(asprintf(&q, "/../../..%s", sock) > 0);
        assert_walk_ok(q, sock, &w);
        path_walk_done(&w);

        assert_walk_ok("/", "/", &w);
        assert_true(S_ISDIR(w.final.st.st_mode));
        assert_int_equal(w.n_dirs, 0);
        path_walk_done(&w);

        assert_walk_ok("/tmp/..", "/", &w);
        path_walk_done(&w);
}

static void test_loops(void **state) {
        _cleanup_free_ char *l = tp("/loop1/sock"), *s = tp("/self");
        PathWalk w;
        (void) state;

        assert_int_equal(path_walk(l, &w), 0);
        assert_int_equal(w.error, ELOOP);
        assert_false(w.have_final);
        assert_int_equal(w.final_fd, -1);
        assert_int_equal(w.symlinks, 41);
        path_walk_done(&w);

        assert_int_equal(path_walk(s, &w), 0);
        assert_int_equal(w.error, ELOOP);
        path_walk_done(&w);
}

static void test_forty_symlinks(void **state) {
        _cleanup_free_ char *dir = tp("/chain"), *sock = tp("/a/b/c/sock"), *p0 = tp("/chain/0"), *p1 = tp("/chain/1");
        PathWalk w;
        (void) state;

        /* 0 -> 1 -> ... -> 40 -> sock: from 1 it is 40 links (allowed), from 0 it is 41 */
        run("mkdir '%s' && cd '%s' && for i in $(seq 0 39); do ln -s $((i+1)) $i; done && ln -s '%s' 40",
            dir, dir, sock);
        assert_walk_ok(p1, sock, &w);
        assert_int_equal(w.symlinks, 40);
        path_walk_done(&w);

        assert_int_equal(path_walk(p0, &w), 0);
        assert_int_equal(w.error, ELOOP);
        path_walk_done(&w);
}

static void test_enoent_enotdir(void **state) {
        _cleanup_free_ char *m = tp("/a/missing/sock"), *a = tp("/a"), *n = tp("/a/b/c/sock/x"),
                            *f = tp("/file/x"), *tr = tp("/a/b/c/sock/"), *e = tp("/empty");
        PathWalk w;
        (void) state;

        assert_int_equal(path_walk(m, &w), 0);
        assert_int_equal(w.error, ENOENT);
        assert_false(w.have_final);
        assert_int_equal(w.final_fd, -1);
        assert_string_equal(w.dirs[w.n_dirs - 1].path, a);
        assert_string_equal(w.resolved, m);
        path_walk_done(&w);

        assert_int_equal(path_walk(n, &w), 0);
        assert_int_equal(w.error, ENOTDIR);
        assert_false(w.have_final);
        path_walk_done(&w);

        assert_int_equal(path_walk(f, &w), 0);
        assert_int_equal(w.error, ENOTDIR);
        path_walk_done(&w);

        /* a trailing slash demands a directory, as in the kernel */
        assert_int_equal(path_walk(tr, &w), 0);
        assert_int_equal(w.error, ENOTDIR);
        path_walk_done(&w);

        struct stat st;
        if (lstat(e, &st) == 0) { /* only where ln could create an empty link */
                assert_int_equal(path_walk(e, &w), 0);
                assert_int_equal(w.error, ENOENT);
                path_walk_done(&w);
        }
}

static void test_special_files(void **state) {
        _cleanup_free_ char *fifo = tp("/fifo"), *null = tp("/null"), *file = tp("/file");
        PathWalk w;
        (void) state;

        /* O_PATH never opens the FIFO or the device: no blocking, no side effect */
        assert_walk_ok(fifo, fifo, &w);
        assert_true(S_ISFIFO(w.final.st.st_mode));
        path_walk_done(&w);

        assert_walk_ok(null, null, &w);
        assert_true(S_ISCHR(w.final.st.st_mode));
        assert_int_equal(major(w.final.st.st_rdev), 1);
        path_walk_done(&w);

        assert_walk_ok(file, file, &w);
        assert_true(S_ISREG(w.final.st.st_mode));
        path_walk_done(&w);
}

static void test_invalid(void **state) {
        _cleanup_free_ char *longp = malloc(PATH_MAX + 2);
        PathWalk w;
        (void) state;

        assert_non_null(longp);
        longp[0] = '/';
        memset(longp + 1, 'a', PATH_MAX);
        longp[PATH_MAX + 1] = 0; /* PATH_MAX + 1 characters */
        assert_int_equal(path_walk(longp, &w), -EINVAL);
        assert_int_equal(w.final_fd, -1);
        path_walk_done(&w);

        assert_int_equal(path_walk("tmp/x", &w), -EINVAL);
        assert_int_equal(path_walk("", &w), -EINVAL);
        assert_int_equal(path_walk(NULL, &w), -EINVAL);

        /* a component over NAME_MAX is the kernel's ENAMETOOLONG */
        longp[300] = 0;
        assert_int_equal(path_walk(longp, &w), 0);
        assert_int_equal(w.error, ENAMETOOLONG);
        path_walk_done(&w);
}

/* The number of fds this process holds. */
static unsigned count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));)
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

/* base followed by n times part, then tail. */
static char *repeat(const char *base, const char *part, unsigned n, const char *tail) {
        size_t lb = strlen(base), lp = strlen(part), lt = strlen(tail);
        char *p = malloc(lb + n * lp + lt + 1);

        assert_non_null(p);
        memcpy(p, base, lb);
        for (unsigned i = 0; i < n; i++)
                memcpy(p + lb + i * lp, part, lp);
        memcpy(p + lb + n * lp, tail, lt + 1);
        return p;
}

/* DIR/a/a/.../a, depth levels below DIR, with a socket s at the bottom; the bottom's path. */
static char *deep_tree(const char *dir, unsigned depth) {
        char *p = repeat(dir, "/a", depth, "");
        run("mkdir -p '%s'", p);
        /* Bound from inside: the path is longer than sun_path. */
        int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(cwd >= 0);
        assert_int_equal(chdir(p), 0);
        bind_socket("s");
        assert_int_equal(fchdir(cwd), 0);
        close(cwd);
        return p;
}

static void test_too_deep(void **state) {
        _cleanup_free_ char *dir = tp("/deep"), *ok = NULL, *over = NULL, *ok_sock = NULL, *over_sock = NULL;
        PathWalk w;
        (void) state;

        ok = deep_tree(dir, WALK_MAX_DEPTH - 10);
        assert_true(asprintf(&ok_sock, "%s/s", ok) > 0);
        assert_walk_ok(ok_sock, ok_sock, &w);
        assert_int_equal(w.n_dirs, WALK_MAX_DEPTH - 10 + 4); /* and /, /tmp, T, deep */
        path_walk_done(&w);

        /* Deeper: the walk gives up, every fd it opened closed again (a path 1,500
         * levels deep used to end at EMFILE with a thousand fds held). */
        over = deep_tree(dir, WALK_MAX_DEPTH + 10);
        assert_true(asprintf(&over_sock, "%s/s", over) > 0);
        unsigned fds = count_fds();
        assert_int_equal(path_walk(over_sock, &w), -E2BIG);
        assert_int_equal(w.final_fd, -1);
        assert_false(w.have_final);
        path_walk_done(&w);
        assert_int_equal(count_fds(), fds);
}

static void test_too_many_steps(void **state) {
        _cleanup_free_ char *dir = tp("/steps"), *bottom = NULL, *sock = NULL;
        PathWalk w;
        (void) state;

        /* /tmp/T/steps + 120 levels: the socket is 124 lookups deep. bottom/x -> bottom,
         * so each x spells the whole path again: 124 lookups with its own. Through 30 of
         * them a walk takes 3,844 lookups (allowed), through 34 of them 4,340. */
        bottom = deep_tree(dir, 120);
        run("ln -s '%s' '%s/x'", bottom, bottom);
        assert_true(asprintf(&sock, "%s/s", bottom) > 0);
        for (unsigned links = 30; links <= 34; links += 4) {
                _cleanup_free_ char *p = repeat(bottom, "/x", links, "/s");
                if (links == 30) {
                        assert_walk_ok(p, sock, &w);
                        assert_int_equal(w.symlinks, 30);
                } else {
                        assert_int_equal(path_walk(p, &w), -E2BIG);
                        /* How many links it followed stays: a failure through a link
                         * says where the link led (apply.c undo_inode()). */
                        assert_true(w.symlinks > 0);
                        assert_null(w.resolved);
                }
                path_walk_done(&w);
        }

        /* A bound of its own (a caller not yet authorized gets 64). */
        assert_int_equal(path_walk_bounded(sock, 64, &w), -E2BIG);
        path_walk_done(&w);
        assert_int_equal(path_walk_bounded(sock, 123, &w), -E2BIG);
        path_walk_done(&w);
        assert_int_equal(path_walk_bounded(sock, 124, &w), 0);
        assert_true(w.have_final);
        path_walk_done(&w);
}

static void test_no_permission_dirs(void **state) {
        _cleanup_free_ char *z = tp("/z"), *s = tp("/z/inner/sock");
        PathWalk w;
        (void) state;

        /* mode 000 directories are still walked (root; O_PATH needs no read) */
        run("mkdir -p '%s/inner' && chmod 000 '%s/inner' '%s'", z, z, z);
        bind_socket(s);
        assert_walk_ok(s, s, &w);
        assert_int_equal(find_dir(&w, z)->st.st_mode & 07777, 0);
        path_walk_done(&w);
}

/* Whether a walk searched a directory closed to others: what it found behind it is not
 * every caller's to know, and a walk that fails there (too many lookups, a loop) still
 * says so; one that only passes open directories does not. */
static void test_crossed_closed(void **state) {
        _cleanup_free_ char *c = tp("/closed"), *s = tp("/closed/sock"), *open_s = tp("/open/sock"),
                           *back = tp("/closed/sub/../../open/sock"), *gone = tp("/closed/nothing/../../open/sock");
        PathWalk w;
        (void) state;

        /* The test's own directory (mkdtemp: 0700) opened for the while. */
        struct stat t;
        assert_int_equal(stat(T, &t), 0);
        assert_int_equal(chmod(T, 0755), 0);
        run("mkdir -p '%s/sub' '%s/../open' && chmod 0710 '%s' && chmod 0755 '%s/../open'", c, c, c, c);
        bind_socket(s);
        bind_socket(open_s);
        assert_walk_ok(open_s, open_s, &w);
        assert_false(w.crossed_closed);
        path_walk_done(&w);
        assert_walk_ok(s, s, &w);
        assert_true(w.crossed_closed);
        path_walk_done(&w);
        /* Leaving it again through "..", or failing inside it: both searched it. */
        assert_walk_ok(back, open_s, &w);
        assert_true(w.crossed_closed);
        path_walk_done(&w);
        assert_int_equal(path_walk(gone, &w), 0);
        assert_int_equal(w.error, ENOENT);
        assert_true(w.crossed_closed);
        path_walk_done(&w);
        assert_int_equal(path_walk_bounded(back, 5, &w), -E2BIG);
        assert_true(w.crossed_closed);
        assert_null(w.resolved);
        path_walk_done(&w);

        /* The sweep's cache says the same of every path in a directory. */
        WalkCache *cache = walk_cache_new(NULL, NULL);
        assert_int_equal(path_walk_cached(s, cache, &w), 0);
        assert_true(w.crossed_closed);
        path_walk_done(&w);
        assert_int_equal(path_walk_cached(open_s, cache, &w), 0);
        assert_false(w.crossed_closed);
        path_walk_done(&w);
        walk_cache_free(cache);
        assert_int_equal(chmod(T, t.st_mode & 07777), 0);
}

/* A directory the daemon may search but not read (root without CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH, as an LSM or a root-squashed NFS mount would leave it) is walked
 * through an O_PATH fd, its ACL read through /proc/self/fd. In a child: the dropped
 * capabilities are its own. */
static void test_unreadable_dir(void **state) {
        _cleanup_free_ char *q = tp("/q"), *s = tp("/q/sock");
        (void) state;

        run("mkdir -m 0711 '%s' && chown 65534 '%s' && setfacl -m u:65534:rwx '%s'", q, q, q);
        bind_socket(s);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
                struct __user_cap_data_struct caps[2] = {};
                if (syscall(SYS_capget, &hdr, caps) < 0)
                        _exit(10);
                caps[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
                if (syscall(SYS_capset, &hdr, caps) < 0)
                        _exit(11);
                /* The route under test: the directory cannot be opened for reading. */
                int fd = open(q, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0 || errno != EACCES)
                        _exit(12);
                PathWalk w;
                if (path_walk(s, &w) < 0 || w.error != 0 || !w.have_final)
                        _exit(13);
                const InodeInfo *i = find_dir(&w, q);
                /* 0711 with the ACL's mask rwx in the group bits */
                _exit(!i ? 14 : i->n_acl != 5 ? 15 : (i->st.st_mode & 07777) != 0771 ? 16 : 0);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_fs_supports_acl(void **state) {
        (void) state;
        int fd = open("/proc/self", O_PATH | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_false(fs_supports_acl(fd));
        close(fd);
}

static void assert_same_inode(const InodeInfo *a, const InodeInfo *b) {
        assert_string_equal(a->path, b->path);
        assert_int_equal(a->st.st_dev, b->st.st_dev);
        assert_int_equal(a->st.st_ino, b->st.st_ino);
        assert_int_equal(a->st.st_mode, b->st.st_mode);
        assert_int_equal(a->n_acl, b->n_acl);
        for (size_t i = 0; i < a->n_acl; i++) {
                assert_int_equal(a->acl[i].tag, b->acl[i].tag);
                assert_int_equal(a->acl[i].id, b->acl[i].id);
                assert_int_equal(a->acl[i].perm, b->acl[i].perm);
        }
        assert_int_equal(a->has_default_acl, b->has_default_acl);
        assert_int_equal(a->fs_acl, b->fs_acl);
}

/* The sweep's cache answers exactly what a full walk answers, the second time too. */
static void test_cached_walk_is_the_same(void **state) {
        (void) state;
        run("cd '%s' && mkdir -m 0755 run && setfacl -d -m u:65534:rw run && "
            "cp -a a/b/c/sock run/plain.sock 2>/dev/null || true", T);
        _cleanup_free_ char *acl_sock = tp("/run/acl.sock"), *plain = tp("/run/plain2.sock");
        bind_socket(acl_sock);
        bind_socket(plain);
        run("setfacl -m u:65534:rw,g:65534:r '%s'", acl_sock);
        const char *const rel[] = { "/run/acl.sock", "/run/plain2.sock", "/run/missing.sock", "/l1", "/a/b/c/sock",
                                    "/d/up", "/file", "/run", "/run/acl.sock" };
        WalkCache *c = walk_cache_new(NULL, NULL);
        assert_non_null(c);
        for (size_t i = 0; i < ELEMENTSOF(rel); i++) {
                _cleanup_free_ char *p = tp(rel[i]);
                PathWalk full, cached;
                assert_int_equal(path_walk(p, &full), 0);
                assert_int_equal(path_walk_cached(p, c, &cached), 0);
                assert_int_equal(full.error, cached.error);
                assert_string_equal(full.resolved, cached.resolved);
                assert_int_equal(full.have_final, cached.have_final);
                assert_int_equal(full.n_dirs, cached.n_dirs);
                for (size_t j = 0; j < full.n_dirs; j++)
                        assert_same_inode(&full.dirs[j], &cached.dirs[j]);
                if (full.have_final)
                        assert_same_inode(&full.final, &cached.final);
                path_walk_done(&full);
                path_walk_done(&cached);
        }
        walk_cache_free(c);
        assert_null(walk_cache_free(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_socket_and_dirs),
                cmocka_unit_test(test_acls),
                cmocka_unit_test(test_symlink_chain),
                cmocka_unit_test(test_crossed_procfs),
                cmocka_unit_test(test_dirs_before_redirect),
                cmocka_unit_test(test_dotdot),
                cmocka_unit_test(test_loops),
                cmocka_unit_test(test_forty_symlinks),
                cmocka_unit_test(test_enoent_enotdir),
                cmocka_unit_test(test_special_files),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_too_deep),
                cmocka_unit_test(test_too_many_steps),
                cmocka_unit_test(test_no_permission_dirs),
                cmocka_unit_test(test_crossed_closed),
                cmocka_unit_test(test_unreadable_dir),
                cmocka_unit_test(test_fs_supports_acl),
                cmocka_unit_test(test_cached_walk_is_the_same),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
