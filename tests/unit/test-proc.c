/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "host/proc.h"
#include "util/util.h"

static char *fake_root(void) {
        const char *data = getenv("SOCKFIX_TEST_DATA");
        char *root = NULL;

        assert_non_null(data);
        assert_true(asprintf(&root, "%s/proc", data) > 0);
        return root;
}

static char *read_sample(const char *name) {
        _cleanup_free_ char *root = fake_root(), *path = NULL;
        char *text = NULL;

        assert_true(asprintf(&path, "%s/%s", root, name) > 0);
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        return text;
}

static void process_clear(Process *p) {
        free(p->groups);
        *p = (Process) {};
}

static void test_status_worker_with_groups(void **state) {
        (void) state;
        _cleanup_free_ char *text = read_sample("1236/status");
        _cleanup_(process_clear) Process p = {};

        assert_int_equal(proc_status_parse(text, &p), 0);
        assert_int_equal(p.ruid, 998);
        assert_int_equal(p.euid, 998);
        assert_int_equal(p.rgid, 996);
        assert_int_equal(p.egid, 996);
        assert_int_equal(p.ppid, 1234);
        assert_int_equal(p.n_groups, 2);
        assert_int_equal(p.groups[0], 33);
        assert_int_equal(p.groups[1], 996);
}

static void test_status_setuid_empty_groups(void **state) {
        (void) state;
        _cleanup_free_ char *root_text = read_sample("1234/status"), *suid_text = read_sample("999/status");
        _cleanup_(process_clear) Process master = {};
        _cleanup_(process_clear) Process suid = {};

        assert_int_equal(proc_status_parse(root_text, &master), 0);
        assert_int_equal(master.ruid, 0);
        assert_int_equal(master.n_groups, 0);
        assert_null(master.groups);
        assert_int_equal(master.ppid, 1);

        /* Real and effective differ: the kernel checks access with the effective ones. */
        assert_int_equal(proc_status_parse(suid_text, &suid), 0);
        assert_int_equal(suid.ruid, 1000);
        assert_int_equal(suid.euid, 0);
        assert_int_equal(suid.rgid, 1000);
        assert_int_equal(suid.n_groups, 3);
}

static void test_status_unsorted_groups_and_errors(void **state) {
        (void) state;
        _cleanup_(process_clear) Process p = {};
        _cleanup_(process_clear) Process q = {};

        assert_int_equal(proc_status_parse("Uid:\t33\t33\t33\t33\nGid:\t33\t33\t33\t33\nGroups:\t996 4 33 4\n", &p), 0);
        assert_int_equal(p.n_groups, 3);
        assert_int_equal(p.groups[0], 4);
        assert_int_equal(p.groups[1], 33);
        assert_int_equal(p.groups[2], 996);

        /* Same set in another order is the same credential set. */
        assert_int_equal(proc_status_parse("Gid:\t33\t33\t33\t33\nUid:\t33\t33\t33\t33\nGroups:\t33 996 4", &q), 0);
        assert_true(process_same_creds(&p, &q));
        q.egid = 34;
        assert_false(process_same_creds(&p, &q));

        assert_int_equal(proc_status_parse("Name:\tx\nGid:\t0\t0\t0\t0\n", &q), -EINVAL);
        assert_int_equal(proc_status_parse("Uid:\t0\t0\t0\t0\n", &q), -EINVAL);
        /* A number never runs into the next line. */
        assert_int_equal(proc_status_parse("Uid:\t0\n1\nGid:\t0\t0\n", &q), -EINVAL);
        assert_int_equal(proc_status_parse("Uid:\t4294967296\t0\nGid:\t0\t0\n", &q), -ERANGE);
}

static void test_stat_parse(void **state) {
        (void) state;
        _cleanup_free_ char *text = read_sample("999/stat");
        Process p = {};

        /* comm "evil) (comm": only the last ')' ends it. */
        assert_int_equal(proc_stat_parse(text, &p), 0);
        assert_int_equal(p.state, 'R');
        assert_int_equal(p.ppid, 1);
        assert_int_equal(p.start_time, 9000);

        assert_int_equal(proc_stat_parse("1 (init) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551615 0\n", &p), 0);
        assert_int_equal(p.start_time, UINT64_MAX);
        assert_int_equal(proc_stat_parse("1 (x) S 0 1 1", &p), -EINVAL);
        assert_int_equal(proc_stat_parse("1 (x S 0", &p), -EINVAL);
        assert_int_equal(proc_stat_parse("", &p), -EINVAL);
}

static void assert_strv(char **l, const char *const *expected) {
        size_t n = 0;
        for (; expected[n]; n++) {
                assert_non_null(l[n]);
                assert_string_equal(l[n], expected[n]);
        }
        assert_null(l[n]);
}

static void assert_argv(const Process *p, const char *const *expected) {
        assert_strv(p->argv, expected);
}

static void test_table_load_fake_root(void **state) {
        (void) state;
        _cleanup_free_ char *root = fake_root();
        _cleanup_(proc_table_done) ProcTable t = {};

        assert_int_equal(proc_table_load(root, &t), 0);

        /* kthreadd (2) and the vanished 4242 are skipped; the rest sorted. */
        static const pid_t pids[] = { 999, 1234, 1235, 1236, 2100, 2101 };
        assert_int_equal(t.n, ELEMENTSOF(pids));
        for (size_t i = 0; i < ELEMENTSOF(pids); i++)
                assert_int_equal(t.procs[i].pid, pids[i]);
        assert_null(proc_table_find(&t, 2));
        assert_null(proc_table_find(&t, 4242));
        assert_null(proc_table_find(&t, 1));

        const Process *master = proc_table_find(&t, 1234);
        assert_non_null(master);
        assert_string_equal(master->comm, "nginx");
        assert_string_equal(master->exe, "/usr/sbin/nginx");
        assert_int_equal(master->start_time, 4711);
        assert_int_equal(master->mnt_ns, 0);
        assert_argv(master, (const char *[]) { "nginx: master process nginx -c /x/nginx.conf -p /x/ -g daemon off;", NULL });

        const Process *worker = proc_table_find(&t, 1235);
        assert_non_null(worker);
        assert_int_equal(worker->euid, 33);
        assert_int_equal(worker->ppid, 1234);
        assert_int_equal(worker->state, 'S');
        assert_argv(worker, (const char *[]) { "nginx: worker process", NULL });
        assert_false(process_same_creds(worker, proc_table_find(&t, 1236)));

        const Process *fpm = proc_table_find(&t, 2100);
        assert_non_null(fpm);
        assert_string_equal(fpm->exe, "/usr/sbin/php-fpm8.2");
        assert_argv(fpm, (const char *[]) { "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)", NULL });

        const Process *pool = proc_table_find(&t, 2101);
        assert_non_null(pool);
        assert_argv(pool, (const char *[]) { "php-fpm: pool www", NULL });
        assert_true(process_same_creds(pool, worker));

        const Process *py = proc_table_find(&t, 999);
        assert_non_null(py);
        assert_string_equal(py->comm, "evil) (comm");
        assert_string_equal(py->exe, "/usr/bin/python3.11");
        assert_argv(py, (const char *[]) { "/usr/bin/python3", "/opt/evil.py", "--flag", NULL });
}

static void test_still_running_fake_root(void **state) {
        (void) state;
        _cleanup_free_ char *root = fake_root();

        assert_true(proc_still_running(root, 1234, 4711));
        assert_false(proc_still_running(root, 1234, 4712)); /* pid reused */
        assert_false(proc_still_running(root, 4242, 0));     /* vanished */
        assert_false(proc_still_running("/nonexistent", 1234, 4711));
}

/* A running Apache's ${VAR}s come from its environment (host.c): the entries as they
 * are, and nothing once the pid belongs to another process. */
static void test_read_environ_fake_root(void **state) {
        (void) state;
        _cleanup_free_ char *root = fake_root();
        _cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        _cleanup_strv_free_ char **env = NULL, **reused = NULL, **gone = NULL;

        assert_int_equal(proc_read_environ(fd, 1234, 4711, &env), 0);
        assert_strv(env, (const char *[]) { "APACHE_RUN_USER=www-data", "APACHE_LOG_DIR=/var/log/apache2-inst", "LANG=C",
                                            NULL });
        assert_int_equal(proc_read_environ(fd, 1234, 4712, &reused), 0); /* pid reused */
        assert_null(reused);
        assert_int_equal(proc_read_environ(fd, 4242, 0, &gone), 0); /* vanished */
        assert_null(gone);
}

static void test_table_load_real_proc(void **state) {
        (void) state;
        _cleanup_(proc_table_done) ProcTable t = {};

        assert_int_equal(proc_table_load("/proc", &t), 0);
        for (size_t i = 1; i < t.n; i++)
                assert_true(t.procs[i - 1].pid < t.procs[i].pid);

        const Process *self = proc_table_find(&t, getpid());
        assert_non_null(self);
        assert_int_equal(self->ruid, getuid());
        assert_int_equal(self->euid, geteuid());
        assert_int_equal(self->rgid, getgid());
        assert_int_equal(self->ppid, getppid());
        assert_int_equal(self->state, 'R');
        assert_non_null(self->exe);
        assert_non_null(self->argv);
        assert_non_null(self->argv[0]);

        struct stat st;
        assert_int_equal(stat("/proc/self/ns/mnt", &st), 0);
        assert_int_equal(self->mnt_ns, st.st_ino);
        assert_true(proc_still_running("/proc", getpid(), self->start_time));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_worker_with_groups),
                cmocka_unit_test(test_status_setuid_empty_groups),
                cmocka_unit_test(test_status_unsorted_groups_and_errors),
                cmocka_unit_test(test_stat_parse),
                cmocka_unit_test(test_table_load_fake_root),
                cmocka_unit_test(test_still_running_fake_root),
                cmocka_unit_test(test_read_environ_fake_root),
                cmocka_unit_test(test_table_load_real_proc),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
