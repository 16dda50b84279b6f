/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "engine/probe.h"
#include "util/util.h"

static const Creds nobody = { .uid = 65534, .gid = 65534 };
static char *T;

/* ---- pure FastCGI bits ---- */

static const unsigned char get_values[] = {
        1, 9, 0, 0, 0, 48, 0, 0,
        14, 0, 'F', 'C', 'G', 'I', '_', 'M', 'A', 'X', '_', 'C', 'O', 'N', 'N', 'S',
        13, 0, 'F', 'C', 'G', 'I', '_', 'M', 'A', 'X', '_', 'R', 'E', 'Q', 'S',
        15, 0, 'F', 'C', 'G', 'I', '_', 'M', 'P', 'X', 'S', '_', 'C', 'O', 'N', 'N', 'S',
};

/* php-fpm's answer: FCGI_MPXS_CONNS=0, padded to 8 */
static const unsigned char result[] = {
        1, 10, 0, 0, 0, 18, 6, 0,
        15, 1, 'F', 'C', 'G', 'I', '_', 'M', 'P', 'X', 'S', '_', 'C', 'O', 'N', 'N', 'S', '0',
        0, 0, 0, 0, 0, 0,
};

static void test_build_get_values(void **state) {
        unsigned char buf[128];
        (void) state;

        assert_int_equal(fcgi_build_get_values(buf, sizeof(buf)), sizeof(get_values));
        assert_memory_equal(buf, get_values, sizeof(get_values));
        assert_int_equal(fcgi_build_get_values(buf, sizeof(get_values) - 1), 0);
}

static void test_check_result(void **state) {
        unsigned char buf[64];
        (void) state;

        for (size_t n = 0; n < sizeof(result); n++)
                assert_int_equal(fcgi_check_get_values_result(result, n), 0);
        assert_int_equal(fcgi_check_get_values_result(result, sizeof(result)), 1);

        assert_int_equal(fcgi_check_get_values_result((const unsigned char *) "HTTP/1.1 400", 12), -EBADMSG);
        assert_int_equal(fcgi_check_get_values_result((const unsigned char *) "H", 1), -EBADMSG);
        /* our own request echoed back is not an answer */
        assert_int_equal(fcgi_check_get_values_result(get_values, sizeof(get_values)), -EBADMSG);

        /* a pair claiming more bytes than the record holds */
        memcpy(buf, result, sizeof(result));
        buf[9] = 5;
        assert_int_equal(fcgi_check_get_values_result(buf, sizeof(result)), -EBADMSG);
        /* a request id other than 0 */
        memcpy(buf, result, sizeof(result));
        buf[3] = 1;
        assert_int_equal(fcgi_check_get_values_result(buf, sizeof(result)), -EBADMSG);
        /* an empty result is still a result */
        static const unsigned char empty[] = { 1, 10, 0, 0, 0, 0, 0, 0 };
        assert_int_equal(fcgi_check_get_values_result(empty, sizeof(empty)), 1);
}

/* ---- real sockets ---- */

/* The probe forks nothing: no child to reap after it. */
static void no_children_left(void) {
        errno = 0;
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
}

static char *sock_path(const char *name) {
        char *p;
        assert_true(asprintf(&p, "%s/%s", T, name) > 0);
        return p;
}

static int listen_at(const char *path, int backlog) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        strcpy(sa.sun_path, path);
        (void) unlink(path);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, backlog), 0);
        return fd;
}

static int64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int setup(void **state) {
        (void) state;
        T = strdup("/tmp/test-probe-XXXXXX");
        if (!T || !mkdtemp(T) || chmod(T, 0755) < 0)
                return -1;
        return 0;
}

static int teardown(void **state) {
        _cleanup_free_ char *cmd = NULL;
        (void) state;
        if (asprintf(&cmd, "rm -rf '%s'", T) < 0 || system(cmd) != 0)
                return -1;
        free(T);
        T = NULL;
        return 0;
}

static void test_permissions(void **state) {
        _cleanup_free_ char *p = sock_path("perm.sock");
        _cleanup_close_ int l = listen_at(p, 16);
        ProbeResult r;
        (void) state;

        assert_int_equal(chmod(p, 0660), 0);
        assert_int_equal(probe_connect(p, &nobody, false, 2000, &r), 0);
        assert_int_equal(r.connect_errno, EACCES);
        assert_int_equal(r.fastcgi, -1);

        /* supplementary groups are taken too */
        static const gid_t g[] = { 4242 };
        const Creds member = { .uid = 65534, .gid = 65534, .groups = g, .n_groups = 1 };
        assert_int_equal(chown(p, 0, 4242), 0);
        assert_int_equal(probe_connect(p, &member, false, 2000, &r), 0);
        assert_int_equal(r.connect_errno, 0);

        assert_int_equal(chown(p, 0, 0), 0);
        assert_int_equal(chmod(p, 0666), 0);
        assert_int_equal(probe_connect(p, &nobody, false, 2000, &r), 0);
        assert_int_equal(r.connect_errno, 0);
        assert_int_equal(r.fastcgi, -1);
        no_children_left();
}

static void test_backlog_full(void **state) {
        _cleanup_free_ char *p = sock_path("full.sock");
        _cleanup_close_ int l = listen_at(p, 0);
        int clients[8];
        size_t n = 0;
        ProbeResult r;
        (void) state;

        /* fill the queue as root: unix sockets answer EAGAIN, not EINPROGRESS, once it is full */
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        strcpy(sa.sun_path, p);
        for (; n < ELEMENTSOF(clients); n++) {
                clients[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                assert_true(clients[n] >= 0);
                if (connect(clients[n], (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                        assert_int_equal(errno, EAGAIN);
                        close(clients[n]);
                        break;
                }
        }
        assert_true(n < ELEMENTSOF(clients));

        assert_int_equal(chmod(p, 0666), 0);
        assert_int_equal(probe_connect(p, &nobody, true, 2000, &r), 0);
        assert_int_equal(r.connect_errno, EAGAIN);
        assert_int_equal(r.fastcgi, -1);

        for (size_t i = 0; i < n; i++)
                close(clients[i]);
        no_children_left();
}

typedef struct Identity {
        uid_t ruid, euid, suid, fsuid;
        gid_t rgid, egid, sgid, fsgid;
        int n_groups;
        gid_t groups[64];
        uint32_t cap_effective[2], cap_permitted[2];
        int dumpable;
} Identity;

static void identity_get(Identity *id) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = {};

        memset(id, 0, sizeof(*id));
        assert_int_equal(getresuid(&id->ruid, &id->euid, &id->suid), 0);
        assert_int_equal(getresgid(&id->rgid, &id->egid, &id->sgid), 0);
        id->fsuid = (uid_t) setfsuid((uid_t) -1);
        id->fsgid = (gid_t) setfsgid((gid_t) -1);
        id->n_groups = getgroups((int) ELEMENTSOF(id->groups), id->groups);
        assert_true(id->n_groups >= 0);
        assert_int_equal(syscall(SYS_capget, &h, d), 0);
        for (size_t i = 0; i < 2; i++) {
                id->cap_effective[i] = d[i].effective;
                id->cap_permitted[i] = d[i].permitted;
        }
        id->dumpable = prctl(PR_GET_DUMPABLE);
}

/* Makes the kernel answer EPERM to one system call from now on (seccomp; this
 * process and its children only). */
static int refuse_syscall(long nr) {
        struct sock_filter f[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t) nr, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = ELEMENTSOF(f), .filter = f };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return -errno;
        return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -errno : 0;
}

/* The probe lends the daemon's identity to the worker for one connect(): the listener
 * sees the worker's uid and gid, and the daemon is all itself again after, its groups,
 * capabilities and dumpable flag included, whatever the probe's outcome. */
static void test_identity(void **state) {
        _cleanup_free_ char *p = sock_path("ident.sock");
        _cleanup_close_ int l = listen_at(p, 16);
        static const gid_t own[] = { 0, 4243 };
        static const gid_t g[] = { 4242, 4244 };
        const Creds worker = { .uid = 65534, .gid = 65533, .groups = g, .n_groups = 2 };
        Identity before, after;
        ProbeResult r;
        (void) state;

        assert_int_equal(setgroups(ELEMENTSOF(own), own), 0);
        assert_int_equal(prctl(PR_SET_DUMPABLE, 1), 0); /* as a daemon starts */
        identity_get(&before);
        assert_int_equal(before.euid, 0);
        assert_int_equal(before.n_groups, 2);

        /* allowed through its second group: the listener sees the worker */
        assert_int_equal(chown(p, 0, 4244), 0);
        assert_int_equal(chmod(p, 0660), 0);
        assert_int_equal(probe_connect(p, &worker, false, 2000, &r), 0);
        assert_int_equal(r.connect_errno, 0);
        _cleanup_close_ int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        assert_true(c >= 0);
        struct ucred peer;
        socklen_t len = sizeof(peer);
        assert_int_equal(getsockopt(c, SOL_SOCKET, SO_PEERCRED, &peer, &len), 0);
        assert_int_equal(peer.uid, 65534);
        assert_int_equal(peer.gid, 65533);
        identity_get(&after);
        assert_memory_equal(&before, &after, sizeof(before));

        /* denied */
        assert_int_equal(chown(p, 0, 0), 0);
        assert_int_equal(probe_connect(p, &worker, false, 2000, &r), 0);
        assert_int_equal(r.connect_errno, EACCES);
        identity_get(&after);
        assert_memory_equal(&before, &after, sizeof(before));

        /* credentials the kernel refuses (more groups than it allows): no probe, and
         * nothing of them left behind */
        static gid_t many[65537];
        const Creds bad = { .uid = 65534, .gid = 65534, .groups = many, .n_groups = ELEMENTSOF(many) };
        assert_int_equal(probe_connect(p, &bad, false, 2000, &r), -EINVAL);
        identity_get(&after);
        assert_memory_equal(&before, &after, sizeof(before));

        /* root workers keep root's capabilities: a root-only socket lets them in */
        const Creds root = { .uid = 0, .gid = 0 };
        assert_int_equal(chmod(p, 0600), 0);
        assert_int_equal(probe_connect(p, &root, false, 2000, &r), 0);
        assert_int_equal(r.connect_errno, 0);
        identity_get(&after);
        assert_memory_equal(&before, &after, sizeof(before));

        /* a kernel that refuses the second or the third step: what the first ones
         * changed is undone, and no probe is made */
        static const long refused[] = { SYS_setresgid, SYS_setresuid };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        Identity in_child;
                        if (refuse_syscall(refused[i]) < 0)
                                _exit(2);
                        if (probe_connect(p, &worker, false, 2000, &r) != -EPERM)
                                _exit(3);
                        identity_get(&in_child);
                        _exit(memcmp(&before, &in_child, sizeof(before)) == 0 ? 0 : 4);
                }
                int status;
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }

        /* where leaving uid 0 keeps the capabilities (SECBIT_NO_SETUID_FIXUP), the
         * connect would pass as root: no probe, rather than a false "it can connect" */
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP) < 0)
                        _exit(2);
                int k = probe_connect(p, &worker, false, 2000, &r);
                _exit(k == -EPERM && geteuid() == 0 ? 0 : 1);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        assert_int_equal(setgroups(0, NULL), 0);
        no_children_left();
}

static void test_refused(void **state) {
        _cleanup_free_ char *p = sock_path("dead.sock");
        ProbeResult r;
        (void) state;

        /* the file stays after its listener is gone */
        close(listen_at(p, 16));
        assert_int_equal(chmod(p, 0666), 0);
        assert_int_equal(probe_connect(p, &nobody, true, 2000, &r), 0);
        assert_int_equal(r.connect_errno, ECONNREFUSED);
        assert_int_equal(r.fastcgi, -1);

        _cleanup_free_ char *m = sock_path("missing.sock");
        assert_int_equal(probe_connect(m, &nobody, true, 2000, &r), 0);
        assert_int_equal(r.connect_errno, ENOENT);
        no_children_left();
}

static void test_long_path(void **state) {
        char p[200];
        ProbeResult r;
        (void) state;

        memset(p, 'a', sizeof(p) - 1);
        p[0] = '/';
        p[sizeof(p) - 1] = 0;
        assert_int_equal(probe_connect(p, &nobody, true, 2000, &r), 0);
        assert_int_equal(r.connect_errno, ENAMETOOLONG);
        assert_int_equal(probe_connect("/x", &nobody, true, 0, &r), -EINVAL);
}

/* A one-shot peer in a child: accept, read the request, write `answer`, wait for EOF. */
static pid_t responder(int l, const unsigned char *answer, size_t len) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid > 0)
                return pid;

        int c = accept(l, NULL, NULL);
        unsigned char buf[256];
        if (c < 0)
                _exit(1);
        if (answer) {
                size_t have = 0;
                while (have < sizeof(get_values)) {
                        ssize_t k = read(c, buf + have, sizeof(buf) - have);
                        if (k <= 0)
                                _exit(2);
                        have += (size_t) k;
                }
                if (have != sizeof(get_values) || memcmp(buf, get_values, have) != 0)
                        _exit(3);
                if (write(c, answer, len) != (ssize_t) len)
                        _exit(4);
        }
        while (read(c, buf, sizeof(buf)) > 0)
                ;
        _exit(0);
}

static void reap_responder(pid_t pid) {
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_fastcgi(void **state) {
        _cleanup_free_ char *p = sock_path("fcgi.sock");
        _cleanup_close_ int l = listen_at(p, 16);
        ProbeResult r;
        (void) state;

        assert_int_equal(chmod(p, 0666), 0);

        pid_t pid = responder(l, result, sizeof(result));
        assert_int_equal(probe_connect(p, &nobody, true, 5000, &r), 0);
        assert_int_equal(r.connect_errno, 0);
        assert_int_equal(r.fastcgi, 1);
        reap_responder(pid);

        static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
        pid = responder(l, (const unsigned char *) http, strlen(http));
        assert_int_equal(probe_connect(p, &nobody, true, 5000, &r), 0);
        assert_int_equal(r.connect_errno, 0);
        assert_int_equal(r.fastcgi, 0);
        reap_responder(pid);

        /* not tried: -1 even on a FastCGI listener */
        pid = responder(l, NULL, 0);
        assert_int_equal(probe_connect(p, &nobody, false, 5000, &r), 0);
        assert_int_equal(r.connect_errno, 0);
        assert_int_equal(r.fastcgi, -1);
        reap_responder(pid);
        no_children_left();
}

static void test_silent_listener(void **state) {
        _cleanup_free_ char *p = sock_path("silent.sock");
        _cleanup_close_ int l = listen_at(p, 16);
        ProbeResult r;
        (void) state;

        assert_int_equal(chmod(p, 0666), 0);

        /* accepts, reads, never answers */
        pid_t pid = responder(l, NULL, 0);
        int64_t start = now_ms();
        assert_int_equal(probe_connect(p, &nobody, true, 500, &r), 0);
        int64_t took = now_ms() - start;
        assert_int_equal(r.connect_errno, 0);
        assert_int_equal(r.fastcgi, 0);
        assert_true(took >= 400);
        assert_true(took < 2000);
        reap_responder(pid);

        /* never even accepted: the connection waits in the queue */
        assert_int_equal(probe_connect(p, &nobody, true, 300, &r), 0);
        assert_int_equal(r.connect_errno, 0);
        assert_int_equal(r.fastcgi, 0);
        no_children_left();
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_build_get_values),
                cmocka_unit_test(test_check_result),
                cmocka_unit_test(test_permissions),
                cmocka_unit_test(test_backlog_full),
                cmocka_unit_test(test_refused),
                cmocka_unit_test(test_identity),
                cmocka_unit_test(test_long_path),
                cmocka_unit_test(test_fastcgi),
                cmocka_unit_test(test_silent_listener),
        };
        /* a responder that dies must not kill the test through SIGPIPE */
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, setup, teardown);
}
