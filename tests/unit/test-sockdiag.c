/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "host/proc.h"
#include "host/sockdiag.h"
#include "util/util.h"

/* A php-fpm-like pool socket nobody accepts on, with two clients queued, an
 * abstract listener and a bound socket that never listened. */
typedef struct World {
        char dir[64];
        char path[128];
        char idle_path[128];
        int listener, listener_dup, clients[2], abstract, idle;
        struct stat file;       /* stat() of path */
        struct stat sock;       /* fstat() of the listener: its socket inode */
        struct stat abstract_sock, idle_sock;
} World;

static struct sockaddr_un address(const char *path, socklen_t *len) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        assert_true(n < sizeof(sa.sun_path));
        memcpy(sa.sun_path, path, n + 1);
        *len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
        return sa;
}

static int stream_socket(void) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        return fd;
}

static int world_setup(void **state) {
        World *w = calloc(1, sizeof(World));
        socklen_t len;

        assert_non_null(w);
        strcpy(w->dir, "/tmp/sockfix-sockdiag-XXXXXX");
        assert_non_null(mkdtemp(w->dir));
        snprintf(w->path, sizeof(w->path), "%s/php8.2-fpm.sock", w->dir);
        snprintf(w->idle_path, sizeof(w->idle_path), "%s/idle.sock", w->dir);

        w->listener = stream_socket();
        struct sockaddr_un sa = address(w->path, &len);
        assert_int_equal(bind(w->listener, (struct sockaddr *) &sa, len), 0);
        assert_int_equal(listen(w->listener, 3), 0);
        for (size_t i = 0; i < ELEMENTSOF(w->clients); i++) {
                w->clients[i] = stream_socket();
                assert_int_equal(connect(w->clients[i], (struct sockaddr *) &sa, len), 0);
        }
        /* A second fd of the same socket must not list this pid twice. */
        w->listener_dup = dup(w->listener);
        assert_true(w->listener_dup >= 0);

        w->abstract = stream_socket();
        struct sockaddr_un abstract = { .sun_family = AF_UNIX };
        int n = snprintf(abstract.sun_path + 1, sizeof(abstract.sun_path) - 1, "sockfix-test-%d", (int) getpid());
        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + (size_t) n);
        assert_int_equal(bind(w->abstract, (struct sockaddr *) &abstract, len), 0);
        assert_int_equal(listen(w->abstract, 8), 0);

        w->idle = stream_socket();
        sa = address(w->idle_path, &len);
        assert_int_equal(bind(w->idle, (struct sockaddr *) &sa, len), 0);

        assert_int_equal(stat(w->path, &w->file), 0);
        assert_int_equal(fstat(w->listener, &w->sock), 0);
        assert_int_equal(fstat(w->abstract, &w->abstract_sock), 0);
        assert_int_equal(fstat(w->idle, &w->idle_sock), 0);
        *state = w;
        return 0;
}

static int world_teardown(void **state) {
        World *w = *state;

        close(w->listener);
        close(w->listener_dup);
        for (size_t i = 0; i < ELEMENTSOF(w->clients); i++)
                close(w->clients[i]);
        close(w->abstract);
        close(w->idle);
        unlink(w->path);
        unlink(w->idle_path);
        rmdir(w->dir);
        free(w);
        return 0;
}

static void test_kernel_dev_to_user(void **state) {
        World *w = *state;
        uint32_t kdev = (major(w->file.st_dev) << 20) | minor(w->file.st_dev);

        assert_int_equal(kernel_dev_to_user(kdev), w->file.st_dev);
        assert_int_equal(kernel_dev_to_user((8u << 20) | 1), makedev(8, 1));
        assert_int_equal(kernel_dev_to_user((259u << 20) | 300), makedev(259, 300));
}

static void test_load_listener(void **state) {
        World *w = *state;
        _cleanup_(unix_sockets_done) UnixSocketTable t = {};

        assert_int_equal(unix_sockets_load(NULL, &t), 0);

        const UnixSocket *s = unix_sockets_by_file(&t, w->file.st_dev, w->file.st_ino);
        assert_non_null(s);
        assert_ptr_equal(unix_sockets_by_sockino(&t, (uint32_t) w->sock.st_ino), s);
        assert_string_equal(s->path, w->path);
        assert_true(s->has_vfs);
        assert_int_equal(s->vfs_dev, w->file.st_dev);
        assert_int_equal(s->vfs_ino, w->file.st_ino);
        assert_true(s->listening);
        assert_int_equal(s->rqueue, 2);
        assert_int_equal(s->backlog, 3);

        for (size_t i = 0; i < t.n; i++)
                assert_true(t.socks[i].listening);
        assert_null(unix_sockets_by_file(&t, w->file.st_dev + 1, w->file.st_ino));
}

static void test_abstract_and_idle(void **state) {
        World *w = *state;
        _cleanup_(unix_sockets_done) UnixSocketTable t = {};
        struct stat idle_file;

        assert_int_equal(unix_sockets_load(NULL, &t), 0);

        const UnixSocket *a = unix_sockets_by_sockino(&t, (uint32_t) w->abstract_sock.st_ino);
        assert_non_null(a);
        assert_null(a->path);
        assert_false(a->has_vfs);
        assert_int_equal(a->backlog, 8);

        assert_null(unix_sockets_by_sockino(&t, (uint32_t) w->idle_sock.st_ino));
        assert_int_equal(stat(w->idle_path, &idle_file), 0);
        assert_null(unix_sockets_by_file(&t, idle_file.st_dev, idle_file.st_ino));
}

/* Enough sockets that the dump spans several netlink messages. */
static void test_load_many(void **state) {
        World *w = *state;
        _cleanup_(unix_sockets_done) UnixSocketTable t = {};
        int fds[500];
        char path[ELEMENTSOF(fds)][128];

        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                socklen_t len;
                snprintf(path[i], sizeof(path[i]), "%s/pool%zu.sock", w->dir, i);
                fds[i] = stream_socket();
                struct sockaddr_un sa = address(path[i], &len);
                assert_int_equal(bind(fds[i], (struct sockaddr *) &sa, len), 0);
                assert_int_equal(listen(fds[i], 16), 0);
        }

        assert_int_equal(unix_sockets_load(NULL, &t), 0);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                struct stat st;
                assert_int_equal(stat(path[i], &st), 0);
                const UnixSocket *s = unix_sockets_by_file(&t, st.st_dev, st.st_ino);
                assert_non_null(s);
                assert_string_equal(s->path, path[i]);
                close(fds[i]);
                unlink(path[i]);
        }
}

static void test_map_pids(void **state) {
        World *w = *state;
        _cleanup_(unix_sockets_done) UnixSocketTable t = {};
        _cleanup_(proc_table_done) ProcTable procs = {};

        assert_int_equal(unix_sockets_load(NULL, &t), 0);
        assert_int_equal(proc_table_load("/proc", &procs), 0);
        assert_int_equal(unix_sockets_map_pids(&t, &procs, "/proc"), 0);

        const UnixSocket *s = unix_sockets_by_file(&t, w->file.st_dev, w->file.st_ino);
        assert_non_null(s);
        assert_int_equal(s->n_pids, 1);
        assert_int_equal(s->pids[0], getpid());

        /* Mapping again starts over instead of appending. */
        assert_int_equal(unix_sockets_map_pids(&t, &procs, "/proc"), 0);
        assert_int_equal(s->n_pids, 1);
}

static bool pids_contain(const UnixSocket *s, pid_t pid) {
        for (size_t i = 0; i < s->n_pids; i++)
                if (s->pids[i] == pid)
                        return true;
        return false;
}

/* A master and its workers hold one listener: every holder is listed (the first one is
 * kept inline, more get an array of their own), and mapping again starts over. */
static void test_map_pids_many(void **state) {
        World *w = *state;
        pid_t kids[3];
        size_t n = 0, n_again = 0;
        bool all = true;

        for (size_t i = 0; i < ELEMENTSOF(kids); i++) {
                kids[i] = fork();
                assert_true(kids[i] >= 0);
                if (kids[i] == 0) {
                        pause(); /* holds the inherited listener until killed */
                        _exit(0);
                }
        }
        {
                _cleanup_(unix_sockets_done) UnixSocketTable t = {};
                _cleanup_(proc_table_done) ProcTable procs = {};
                if (unix_sockets_load(NULL, &t) >= 0 && proc_table_load("/proc", &procs) >= 0 &&
                    unix_sockets_map_pids(&t, &procs, "/proc") >= 0) {
                        const UnixSocket *s = unix_sockets_by_file(&t, w->file.st_dev, w->file.st_ino);
                        n = s ? s->n_pids : 0;
                        all = s && pids_contain(s, getpid());
                        for (size_t i = 0; s && i < ELEMENTSOF(kids); i++)
                                all = all && pids_contain(s, kids[i]);
                        if (unix_sockets_map_pids(&t, &procs, "/proc") >= 0)
                                n_again = s ? s->n_pids : 0;
                }
        }
        /* The children go before any assertion can end the test. */
        for (size_t i = 0; i < ELEMENTSOF(kids); i++) {
                kill(kids[i], SIGKILL);
                waitpid(kids[i], NULL, 0);
        }
        assert_int_equal(n, 1 + ELEMENTSOF(kids));
        assert_true(all);
        assert_int_equal(n_again, 1 + ELEMENTSOF(kids));
}

static void test_proc_net_unix_sample(void **state) {
        (void) state;
        const char *data = getenv("SOCKFIX_TEST_DATA");
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_(unix_sockets_done) UnixSocketTable t = {};

        assert_non_null(data);
        assert_true(asprintf(&path, "%s/proc/net/unix", data) > 0);
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_int_equal(unix_sockets_parse_proc_net_unix(text, &t), 0);

        /* Listening stream sockets only: not the seqpacket, dgram or connected ones. */
        static const struct {
                uint32_t ino;
                const char *path;
        } expected[] = {
                { 31245, "/run/php/php8.2-fpm.sock" },
                { 31250, "/run/php/my site.sock" },
                { 18771, NULL },
                { 21007, "/run/systemd/private" },
        };
        assert_int_equal(t.n, ELEMENTSOF(expected));
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                const UnixSocket *s = unix_sockets_by_sockino(&t, expected[i].ino);
                assert_non_null(s);
                assert_true(streq_ptr(s->path, expected[i].path));
                assert_true(s->listening);
                assert_int_equal(s->rqueue, 0);
        }
        assert_null(unix_sockets_by_sockino(&t, 15021));
        assert_null(unix_sockets_by_sockino(&t, 31311));
}

/* The fallback takes the file's identity from stat(), and only from a socket. */
static void test_proc_net_unix_live(void **state) {
        World *w = *state;
        _cleanup_free_ char *text = NULL;
        _cleanup_(unix_sockets_done) UnixSocketTable t = {};

        assert_true(asprintf(&text,
                             "Num       RefCount Protocol Flags    Type St Inode Path\n"
                             "0000000000000000: 00000002 00000000 00010000 0001 01 %" PRIu32 " %s\n"
                             "0000000000000000: 00000002 00000000 00010000 0001 01 7 %s",
                             (uint32_t) w->sock.st_ino, w->path, w->dir) > 0);
        assert_int_equal(unix_sockets_parse_proc_net_unix(text, &t), 0);
        assert_int_equal(t.n, 2);

        const UnixSocket *s = unix_sockets_by_file(&t, w->file.st_dev, w->file.st_ino);
        assert_non_null(s);
        assert_int_equal(s->sock_ino, (uint32_t) w->sock.st_ino);
        assert_string_equal(s->path, w->path);

        const UnixSocket *dir = unix_sockets_by_sockino(&t, 7);
        assert_non_null(dir);
        assert_string_equal(dir->path, w->dir);
        assert_false(dir->has_vfs);
}

static int listen_at(const char *path, int backlog) {
        socklen_t len;
        struct sockaddr_un sa = address(path, &len);
        int fd = stream_socket();
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, len), 0);
        assert_int_equal(listen(fd, backlog), 0);
        return fd;
}

/* A sweep's refresh of a kept table: each listener's queue as it is now, and a changed
 * set of listeners noticed. In a network namespace of its own (unix sockets belong to
 * one), where no other process's sockets come and go; it runs last, as the namespace is
 * the whole process's. */
static void test_refresh_queues(void **state) {
        (void) state;
        if (unshare(CLONE_NEWNET) < 0)
                skip(); /* not root */
        char dir[] = "/tmp/sockfix-refresh-XXXXXX", a[64], b[64];
        assert_non_null(mkdtemp(dir));
        snprintf(a, sizeof(a), "%s/a.sock", dir);
        snprintf(b, sizeof(b), "%s/b.sock", dir);
        int la = listen_at(a, 4);

        _cleanup_(unix_sockets_done) UnixSocketTable t = {};
        assert_int_equal(unix_sockets_load(NULL, &t), 0);
        assert_int_equal(t.n, 1);
        const UnixSocket *s = &t.socks[0];
        assert_string_equal(s->path, a);
        assert_int_equal(s->rqueue, 0);

        socklen_t len;
        struct sockaddr_un sa = address(a, &len);
        int client = stream_socket();
        assert_int_equal(connect(client, (struct sockaddr *) &sa, len), 0);
        assert_int_equal(unix_sockets_refresh_queues(&t), 1);
        assert_int_equal(s->rqueue, 1);
        assert_int_equal(s->backlog, 4);

        /* Another listener: the table no longer describes the kernel's listeners. */
        int lb = listen_at(b, 1);
        assert_int_equal(unix_sockets_refresh_queues(&t), 0);
        close(lb);
        assert_int_equal(unix_sockets_refresh_queues(&t), 1);
        /* One gone: the same. */
        close(client);
        close(la);
        assert_int_equal(unix_sockets_refresh_queues(&t), 0);

        unlink(a);
        unlink(b);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kernel_dev_to_user),
                cmocka_unit_test(test_load_listener),
                cmocka_unit_test(test_abstract_and_idle),
                cmocka_unit_test(test_load_many),
                cmocka_unit_test(test_map_pids),
                cmocka_unit_test(test_map_pids_many),
                cmocka_unit_test(test_proc_net_unix_sample),
                cmocka_unit_test(test_proc_net_unix_live),
                cmocka_unit_test(test_refresh_queues), /* last: it leaves the process in a network namespace of its own */
        };
        return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
