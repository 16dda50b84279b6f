/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <time.h>

#include "sys/slow-fs.h"
#include "sys/timed-call.h"
#include "util/util.h"

static void test_fs_types(void **state) {
        (void) state;
        static const char *const slow[] = { "nfs",        "nfs4",   "cifs", "smb3",      "fuse", "fuseblk",
                                            "fuse.sshfs", "autofs", "ceph", "9p", "virtiofs" };
        static const char *const local[] = { "ext4",    "xfs",      "btrfs", "tmpfs", "proc", "sysfs",
                                             "overlay", "devtmpfs", "nfsd",  "binfmt_misc" };
        for (size_t i = 0; i < ELEMENTSOF(slow); i++)
                assert_true(fs_type_may_hang(slow[i]));
        for (size_t i = 0; i < ELEMENTSOF(local); i++)
                assert_false(fs_type_may_hang(local[i]));
        assert_false(fs_type_may_hang(""));
        assert_false(fs_type_may_hang(NULL));
}

static void test_mountinfo(void **state) {
        (void) state;
        _cleanup_strv_free_ char **l = NULL;
        const char *local = "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
                            "23 22 0:21 / /proc rw,nosuid - proc proc rw\n"
                            "24 22 0:22 / /run rw,nosuid shared:5 master:1 - tmpfs tmpfs rw,size=100k\n"
                            "25 23 0:40 / /proc/fs/nfsd rw - nfsd nfsd rw\n";
        assert_int_equal(mountinfo_slow_mounts(local, &l, NULL, NULL), 0);
        assert_int_equal(strv_length(l), 0);
        l = strv_free(l);
        assert_int_equal(mountinfo_slow_mounts("", &l, NULL, NULL), 0);
        assert_int_equal(strv_length(l), 0);
        l = strv_free(l);

        /* The type is the field after the " - " that ends the optional fields; a mount
         * point's own spaces are escaped (\040), and come back unescaped. */
        _cleanup_free_ char *more = NULL;
        assert_true(asprintf(&more, "%s%s", local,
                             "40 22 0:50 / /mnt/a\\040-\\040b rw shared:9 - nfs4 srv:/export rw,vers=4.2\n"
                             "41 23 0:51 / /proc/sys/fs/binfmt_misc rw,relatime shared:30 - autofs systemd-1 rw,fd=29\n"
                             /* a source or option that mentions nfs does not count */
                             "50 22 0:60 / /srv/nfs rw - ext4 /dev/nfs-disk rw,nfs\n"
                             /* a FUSE subtype is the mounter's choice: a long one still counts */
                             "51 22 0:61 / /tmp/x rw - fuse.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
                             "hang rw,user_id=0") > 0);
        _cleanup_(hashmap_freep) Hashmap *slow = hashmap_new_u64(), *all = hashmap_new_u64();
        assert_int_equal(mountinfo_slow_mounts(more, &l, slow, all), 0);
        assert_int_equal(strv_length(l), 3);
        assert_string_equal(l[0], "/mnt/a - b");
        assert_string_equal(l[1], "/proc/sys/fs/binfmt_misc");
        assert_string_equal(l[2], "/tmp/x");
        /* By mount id (the walk asks statx for it): the slow ones, and every one. */
        assert_int_equal(hashmap_size(slow), 3);
        assert_non_null(hashmap_get_u64(slow, 40));
        assert_non_null(hashmap_get_u64(slow, 41));
        assert_non_null(hashmap_get_u64(slow, 51));
        assert_null(hashmap_get_u64(slow, 50));
        assert_int_equal(hashmap_size(all), 8);
        assert_non_null(hashmap_get_u64(all, 22));
}

/* Stops at one path, as path_walk_timed does at a slow mount. It is asked about "/" and
 * each mount point on the way (the opens refuse to cross into another mount unasked),
 * each pinned with O_PATH only, before anything could ask its file system. */
static unsigned n_stop_calls, n_not_o_path;
static bool stop_at(int fd, const char *path, void *userdata) {
        n_stop_calls++;
        if (!(fcntl(fd, F_GETFL) & O_PATH))
                n_not_o_path++;
        return streq_ptr(path, userdata);
}

/* A new directory (dir, a mkdtemp template) holding one link, name -> target: its path. */
static char *temp_link(char *dir, const char *name, const char *target) {
        char *link = NULL;
        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&link, "%s/%s", dir, name) > 0);
        assert_int_equal(symlink(target, link), 0);
        return link;
}

static void test_walk_guarded(void **state) {
        (void) state;
        PathWalk w;
        char dir[] = "/tmp/sfx-slow-fs-XXXXXX";
        _cleanup_free_ char *link = temp_link(dir, "self", "/proc/self");

        /* Not stepped onto: the mount point itself, or anything below, also through a link. */
        assert_int_equal(path_walk_guarded("/proc", UINT32_MAX, stop_at, (void *) "/proc", &w), -EWOULDBLOCK);
        assert_int_equal(path_walk_guarded("/proc/self/status", UINT32_MAX, stop_at, (void *) "/proc", &w),
                         -EWOULDBLOCK);
        assert_int_equal(path_walk_guarded(link, UINT32_MAX, stop_at, (void *) "/proc", &w), -EWOULDBLOCK);
        assert_int_equal(path_walk_guarded("/etc/passwd", UINT32_MAX, stop_at, (void *) "/", &w), -EWOULDBLOCK);
        /* Elsewhere, the plain walk's answer. */
        assert_int_equal(path_walk_guarded("/etc/passwd", UINT32_MAX, stop_at, (void *) "/proc", &w), 0);
        assert_true(w.have_final);
        assert_string_equal(w.resolved, "/etc/passwd");
        path_walk_done(&w);
        /* A name that only starts like the mount point is not it. */
        assert_int_equal(path_walk_guarded("/etc/passwd", UINT32_MAX, stop_at, (void *) "/et", &w), 0);
        path_walk_done(&w);
        /* /proc/self/status: asked about "/" and the mount point /proc, not about the
         * rest (self, a link, and its target are within /proc). */
        n_stop_calls = n_not_o_path = 0;
        assert_int_equal(path_walk_guarded("/proc/self/status", UINT32_MAX, stop_at, (void *) "/nonexistent", &w), 0);
        assert_true(w.have_final);
        path_walk_done(&w);
        assert_int_equal(n_stop_calls, 2);
        assert_int_equal(n_not_o_path, 0);
        /* ".." and a relative link into it stop too. */
        _cleanup_free_ char *up = NULL, *rel = NULL;
        assert_true(asprintf(&up, "%s/../../proc/self", dir) > 0);
        assert_int_equal(path_walk_guarded(up, UINT32_MAX, stop_at, (void *) "/proc", &w), -EWOULDBLOCK);
        assert_true(asprintf(&rel, "%s/rel", dir) > 0);
        assert_int_equal(symlink("../../proc/self", rel), 0);
        assert_int_equal(path_walk_guarded(rel, UINT32_MAX, stop_at, (void *) "/proc", &w), -EWOULDBLOCK);
        assert_int_equal(unlink(rel), 0);

        assert_int_equal(unlink(link), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* A sweep's cache stops where the walk would: every path below the stop gets
 * -EWOULDBLOCK (its directory asked once), one reached through a link in a directory
 * that does not stop too, and paths elsewhere are walked as before. */
static void test_walk_cached_stops(void **state) {
        (void) state;
        PathWalk w;
        char dir[] = "/tmp/sfx-slow-fs-XXXXXX";
        _cleanup_free_ char *link = temp_link(dir, "status", "/proc/self/status");

        WalkCache *c = walk_cache_new(stop_at, (void *) "/proc");
        assert_non_null(c);
        assert_int_equal(path_walk_cached("/proc/self/status", c, &w), -EWOULDBLOCK);
        assert_null(w.resolved);
        n_stop_calls = 0;
        assert_int_equal(path_walk_cached("/proc/self/stat", c, &w), -EWOULDBLOCK);
        assert_int_equal(n_stop_calls, 0); /* the directory's answer is kept */
        assert_int_equal(path_walk_cached(link, c, &w), -EWOULDBLOCK);
        assert_int_equal(path_walk_cached("/etc/passwd", c, &w), 0);
        assert_true(w.have_final);
        assert_string_equal(w.resolved, "/etc/passwd");
        path_walk_done(&w);
        walk_cache_free(c);

        /* A last component that is a mount point of its own (a file bind-mounted from a
         * file system that may hang, here /dev/shm in /dev): shown to stop(), pinned
         * with O_PATH, before the stat that would wait on it; its siblings on the
         * directory's own mount are not shown. */
        _cleanup_close_ int dev = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(dev >= 0);
        uint64_t dev_id = mount_id_at(dev, "");
        assert_int_equal(mount_id_at(dev, "no-such-name"), 0);
        /* (A sandbox may bind-mount /dev/null and /dev/zero too: then this case is not run.) */
        if (dev_id != 0 && mount_id_at(dev, "null") == dev_id && mount_id_at(dev, "zero") == dev_id &&
            mount_id_at(dev, "shm") != 0 && mount_id_at(dev, "shm") != dev_id) {
                c = walk_cache_new(stop_at, (void *) "/dev/shm");
                assert_non_null(c);
                n_stop_calls = n_not_o_path = 0;
                assert_int_equal(path_walk_cached("/dev/null", c, &w), 0);
                assert_true(w.have_final);
                path_walk_done(&w);
                unsigned dir_calls = n_stop_calls; /* "/" and /dev's mount, walking /dev */
                assert_int_equal(path_walk_cached("/dev/shm", c, &w), -EWOULDBLOCK);
                assert_null(w.resolved);
                assert_int_equal(n_stop_calls, dir_calls + 1);
                assert_int_equal(n_not_o_path, 0);
                assert_int_equal(path_walk_cached("/dev/zero", c, &w), 0);
                path_walk_done(&w);
                assert_int_equal(n_stop_calls, dir_calls + 1);
                walk_cache_free(c);
                /* A mount point that does not stop is walked as before. */
                c = walk_cache_new(stop_at, (void *) "/nonexistent");
                assert_int_equal(path_walk_cached("/dev/shm", c, &w), 0);
                assert_true(w.have_final && S_ISDIR(w.final.st.st_mode));
                path_walk_done(&w);
                walk_cache_free(c);
        } else
                print_message("# /dev/shm is no mount point of its own here, or /dev/null is: its case not run\n");

        /* Without a stop: the plain cached walk. */
        c = walk_cache_new(NULL, NULL);
        assert_int_equal(path_walk_cached(link, c, &w), 0);
        assert_true(w.have_final);
        path_walk_done(&w);
        walk_cache_free(c);

        assert_int_equal(unlink(link), 0);
        assert_int_equal(rmdir(dir), 0);
}

static int returns_42(void *arg) {
        (void) arg;
        return 42;
}

static void drop_nothing(void *arg) {
        (void) arg;
}

static void test_call_returns(void **state) {
        (void) state;
        int ret = 0;
        assert_int_equal(timed_call(returns_42, NULL, drop_nothing, 1000, &ret), 0);
        assert_int_equal(ret, 42);
        assert_int_equal(timed_call_stuck(), 0);
}

/* A call that blocks in the kernel until someone writes to its pipe, as a lookup on a
 * hung mount does until the server answers. */
typedef struct Blocker {
        int in[2];      /* fn reads one byte from in[0] */
        int dropped[2]; /* drop writes one byte to dropped[1] */
        atomic_int ran;
} Blocker;

static int blocks(void *arg) {
        Blocker *b = arg;
        char c;
        atomic_fetch_add(&b->ran, 1);
        return read(b->in[0], &c, 1) == 1 ? 0 : -EIO;
}

/* On the thread: no cmocka assertion here, the main thread checks what arrives. */
static void dropped(void *arg) {
        Blocker *b = arg;
        if (write(b->dropped[1], "d", 1) != 1)
                abort();
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void blocker_init(Blocker *b) {
        *b = (Blocker) {};
        assert_int_equal(pipe2(b->in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(b->dropped, O_CLOEXEC), 0);
}

static void blocker_done(Blocker *b) {
        close(b->in[0]);
        close(b->in[1]);
        close(b->dropped[0]);
        close(b->dropped[1]);
}

/* Releases the blocked call and waits for the thread to hand its argument back. */
static void release_and_wait_dropped(Blocker *b) {
        char c;
        assert_int_equal(write(b->in[1], "x", 1), 1);
        struct pollfd p = { .fd = b->dropped[0], .events = POLLIN };
        assert_int_equal(poll(&p, 1, 5000), 1);
        assert_int_equal(read(b->dropped[0], &c, 1), 1);
}

static void test_call_given_up(void **state) {
        (void) state;
        Blocker b;
        int ret = -1;
        blocker_init(&b);

        int64_t t0 = now_ms();
        assert_int_equal(timed_call(blocks, &b, dropped, 200, &ret), -ETIMEDOUT);
        int64_t waited = now_ms() - t0;
        assert_true(waited >= 200 && waited < 2000);
        assert_int_equal(ret, -1);
        assert_int_equal(atomic_load(&b.ran), 1);
        assert_int_equal(timed_call_stuck(), 1);

        /* The file system answers at last: the thread finishes and gives b back. */
        release_and_wait_dropped(&b);
        for (int i = 0; i < 500 && timed_call_stuck() > 0; i++)
                usleep(1000);
        assert_int_equal(timed_call_stuck(), 0);
        blocker_done(&b);
}

static void test_call_limit(void **state) {
        (void) state;
        Blocker b[TIMED_CALL_MAX_STUCK], extra;
        int ret;

        for (unsigned i = 0; i < TIMED_CALL_MAX_STUCK; i++) {
                blocker_init(&b[i]);
                assert_int_equal(timed_call(blocks, &b[i], dropped, 10, &ret), -ETIMEDOUT);
        }
        assert_int_equal(timed_call_stuck(), TIMED_CALL_MAX_STUCK);

        /* One more is refused at once, and not run. */
        blocker_init(&extra);
        int64_t t0 = now_ms();
        assert_int_equal(timed_call(blocks, &extra, dropped, 1000, &ret), -EBUSY);
        assert_true(now_ms() - t0 < 500);
        assert_int_equal(atomic_load(&extra.ran), 0);

        for (unsigned i = 0; i < TIMED_CALL_MAX_STUCK; i++)
                release_and_wait_dropped(&b[i]);
        for (int i = 0; i < 500 && timed_call_stuck() > 0; i++)
                usleep(1000);
        assert_int_equal(timed_call_stuck(), 0);
        assert_int_equal(timed_call(returns_42, NULL, drop_nothing, 1000, &ret), 0);
        assert_int_equal(ret, 42);

        for (unsigned i = 0; i < TIMED_CALL_MAX_STUCK; i++)
                blocker_done(&b[i]);
        blocker_done(&extra);
}

/* Where nothing can hang (this machine, unless a test mounted something), the walk is
 * the plain one: the same answer. */
static void test_walk_timed(void **state) {
        (void) state;
        PathWalk a, b;
        assert_int_equal(path_walk_timed("/proc/self", UINT32_MAX, 1000, &a), 0);
        assert_int_equal(path_walk_bounded("/proc/self", UINT32_MAX, &b), 0);
        assert_true(a.have_final && b.have_final);
        assert_int_equal(a.final.st.st_ino, b.final.st.st_ino);
        assert_string_equal(a.resolved, b.resolved);
        path_walk_done(&a);
        path_walk_done(&b);

        assert_int_equal(path_walk_timed("/nonexistent-sockfix/x.sock", UINT32_MAX, 1000, &a), 0);
        assert_false(a.have_final);
        assert_int_equal(a.error, ENOENT);
        path_walk_done(&a);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fs_types),     cmocka_unit_test(test_mountinfo),
                cmocka_unit_test(test_walk_guarded), cmocka_unit_test(test_walk_cached_stops),
                cmocka_unit_test(test_call_returns), cmocka_unit_test(test_call_given_up),
                cmocka_unit_test(test_call_limit),   cmocka_unit_test(test_walk_timed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
