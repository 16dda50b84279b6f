/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "sys/reload.h"
#include "util/util.h"

static void test_plan_decision(void **state) {
        (void) state;
        ReloadPlan p = {};
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;
        assert_int_equal(reload_plan_decide("nginx", 0, NULL, 1, &p), 0);
        assert_int_equal(p.method, RELOAD_SIGNAL);
        assert_int_equal(p.signal, SIGHUP);
        assert_int_equal(reload_plan_describe(&p, 1234, &d1), 0);
        assert_string_equal(d1, "SIGHUP to 1234");
        reload_plan_done(&p);

        /* systemd running but the unit unknown: the signal. */
        assert_int_equal(reload_plan_decide("nginx", 1, NULL, 1, &p), 0);
        assert_int_equal(p.method, RELOAD_SIGNAL);
        reload_plan_done(&p);
        /* A master started by hand sits in a scope: no ReloadUnit there. */
        assert_int_equal(reload_plan_decide("nginx", 1, "session-4.scope", 1, &p), 0);
        assert_int_equal(p.method, RELOAD_SIGNAL);
        reload_plan_done(&p);
        /* Not booted with systemd: a unit name from a cgroup is not trusted. */
        assert_int_equal(reload_plan_decide("nginx", 0, "nginx.service", 1, &p), 0);
        assert_int_equal(p.method, RELOAD_SIGNAL);
        reload_plan_done(&p);

        /* In a service's unit, but not its daemon: started by a CI runner's service or
         * under a user's manager. ReloadUnit would reload that unit: the signal. */
        assert_int_equal(reload_plan_decide("nginx", 1, "actions.runner.service", 4242, &p), 0);
        assert_int_equal(p.method, RELOAD_SIGNAL);
        reload_plan_done(&p);
        assert_int_equal(reload_plan_decide("apache2", 1, "user@1000.service", 900, &p), 0);
        assert_int_equal(p.method, RELOAD_SIGNAL);
        assert_int_equal(p.signal, SIGUSR1);
        reload_plan_done(&p);

        assert_int_equal(reload_plan_decide("nginx", 1, "nginx.service", 1, &p), 0);
        assert_int_equal(p.method, RELOAD_SYSTEMD_UNIT);
        assert_string_equal(p.unit, "nginx.service");
        assert_int_equal(reload_plan_describe(&p, 1234, &d2), 0);
        assert_string_equal(d2, "reload nginx.service");
        reload_plan_done(&p);

        assert_int_equal(reload_plan_decide("apache2", 0, NULL, 1, &p), 0);
        assert_int_equal(p.signal, SIGUSR1);
        assert_int_equal(reload_plan_decide("httpd", 1, "httpd.service", 1, &p), 0);
        assert_int_equal(p.method, RELOAD_SYSTEMD_UNIT);
        assert_int_equal(p.signal, SIGUSR1);
        reload_plan_done(&p);
        assert_int_equal(reload_plan_decide("caddy", 0, NULL, 1, &p), -EOPNOTSUPP);
        /* What Fix asks before it plans a reload (else: StrategyUnavailable). */
        assert_true(reload_supported("nginx"));
        assert_true(reload_supported("apache2"));
        assert_true(reload_supported("httpd"));
        assert_false(reload_supported("caddy"));
        assert_false(reload_supported("lighttpd"));
        assert_false(reload_supported(NULL));
        /* The reason Fix refuses with and Revert notes: none where sockfix can reload
         * (it tests nginx's and Apache's configuration itself first, unit or not). */
        assert_int_equal(reload_plan_decide("nginx", 0, NULL, 1, &p), 0);
        assert_null(reload_refusal("nginx", 0, &p));
        reload_plan_done(&p);
        assert_int_equal(reload_plan_decide("apache2", 0, NULL, 1, &p), 0);
        assert_null(reload_refusal("apache2", 0, &p));
        reload_plan_done(&p);
        assert_int_equal(reload_plan_decide("apache2", 1, "apache2.service", 1, &p), 0);
        assert_null(reload_refusal("apache2", 0, &p));
        reload_plan_done(&p);
        assert_string_equal(reload_refusal("nginx", 0, NULL), "sockfix cannot reload it");
        assert_string_equal(reload_refusal("caddy", -EOPNOTSUPP, &p), "sockfix cannot reload it");
}

/* Field 22 of /proc/PID/stat, counted after the comm's last ')'. */
static uint64_t start_time_of(pid_t pid) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        FILE *f = fopen(path, "re");
        assert_non_null(f);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        const char *p = strrchr(buf, ')');
        assert_non_null(p);
        unsigned long long st = 0;
        assert_int_equal(sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                                &st),
                         1);
        return st;
}

static void test_reload_signal(void **state) {
        (void) state;
        pid_t child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                pause();
                _exit(0);
        }
        ReloadPlan p = {};
        assert_int_equal(reload_plan_decide("nginx", 0, NULL, 1, &p), 0);
        /* Another start time: the pid is another process's now. No signal (SIGHUP would end it). */
        assert_int_equal(reload_execute(&p, child, start_time_of(child) + 1), -ESRCH);
        assert_int_equal(waitpid(child, NULL, WNOHANG), 0);
        assert_int_equal(reload_execute(&p, child, start_time_of(child)), 0);
        int status;
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGHUP);
        assert_int_equal(reload_execute(&p, 1, 0), -EINVAL);
}

/* A worker as a root master spawns it: drops to uid 65534 with the given
 * supplementary group (or none), closes close_fd (when not -1) after close_ms, as a
 * worker closes its inherited listeners when told to quit, and lives for ms in all. */
static pid_t spawn_worker_closing(gid_t extra, int close_fd, int close_ms, int ms) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                gid_t groups[1] = { extra };
                if (setgroups(extra == (gid_t) -1 ? 0 : 1, groups) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(1);
                if (close_fd >= 0) {
                        usleep((useconds_t) close_ms * 1000);
                        close(close_fd);
                }
                usleep((useconds_t) (ms - (close_fd >= 0 ? close_ms : 0)) * 1000);
                _exit(0);
        }
        return pid;
}

static pid_t spawn_worker(gid_t extra, int ms) {
        return spawn_worker_closing(extra, -1, 0, ms);
}

static void test_wait_for_workers(void **state) {
        (void) state;
        const gid_t G = 4242;
        pid_t master = getpid();
        pid_t old = spawn_worker((gid_t) -1, 600);
        usleep(100 * 1000);

        _cleanup_free_ WorkerId *before = NULL;
        size_t n_before = 0;
        assert_int_equal(workers_list(master, &before, &n_before), 0);
        assert_int_equal(n_before, 1);
        assert_int_equal(before[0].pid, old);

        /* "Reload" without a group to wait for: settled only once the old one is gone. */
        pid_t fresh = spawn_worker(G, 5000);
        usleep(100 * 1000);
        assert_int_equal(wait_for_workers(master, before, n_before, (gid_t) -1, 200), -ETIMEDOUT);
        /* With one: the new worker holds it, so the lingering old one does not matter. */
        assert_int_equal(wait_for_workers(master, before, n_before, G, 200), 0);
        assert_int_equal(wait_for_workers(master, before, n_before, (gid_t) -1, 5000), 0);
        assert_int_equal(waitpid(old, NULL, 0), old);

        /* A new worker without the group: not settled, old workers or not. */
        _cleanup_free_ WorkerId *snap = NULL;
        size_t n_snap = 0;
        assert_int_equal(workers_list(master, &snap, &n_snap), 0);
        pid_t lacking = spawn_worker((gid_t) -1, 5000);
        usleep(100 * 1000);
        assert_int_equal(wait_for_workers(master, snap, n_snap, G, 300), -ETIMEDOUT);
        kill(lacking, SIGKILL);
        assert_int_equal(waitpid(lacking, NULL, 0), lacking);

        /* A worker without the group never satisfies the wait. */
        pid_t stale = spawn_worker((gid_t) -1, 5000);
        usleep(100 * 1000);
        assert_int_equal(wait_for_workers(master, NULL, 0, G, 300), -ETIMEDOUT);
        assert_int_equal(wait_for_workers(master, NULL, 0, (gid_t) -1, 300), 0);

        kill(fresh, SIGKILL);
        kill(stale, SIGKILL);
        assert_int_equal(waitpid(fresh, NULL, 0), fresh);
        assert_int_equal(waitpid(stale, NULL, 0), stale);
        /* No workers at all: never settled. */
        assert_int_equal(wait_for_workers(master, NULL, 0, (gid_t) -1, 100), -ETIMEDOUT);
        assert_int_equal(wait_for_workers(999999999, NULL, 0, (gid_t) -1, 100), -ESRCH);
}

/* An old worker that has not yet handled the quit signal still holds the listening
 * socket and may take one more connection, with its old groups: the wait is not over
 * until it lets go, though the new worker holds the group; then it is, while the old
 * worker lives on. Once for a TCP listener, once for a unix one (nginx's listen unix:). */
static void test_wait_for_old_listener(void **state) {
        (void) state;
        const gid_t G = 4242;
        pid_t master = getpid();
        for (int family = 0; family < 2; family++) {
                int l;
                if (family == 0) {
                        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                        l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                        assert_true(l >= 0);
                        assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof sa), 0);
                } else {
                        /* Only the family: the kernel picks an abstract address (autobind). */
                        struct sockaddr_un sa = { .sun_family = AF_UNIX };
                        l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                        assert_true(l >= 0);
                        assert_int_equal(bind(l, (struct sockaddr *) &sa, sizeof(sa_family_t)), 0);
                }
                assert_int_equal(listen(l, 16), 0);

                pid_t old = spawn_worker_closing((gid_t) -1, l, 700, 5000);
                usleep(100 * 1000);
                _cleanup_free_ WorkerId *snap = NULL;
                size_t n_snap = 0;
                assert_int_equal(workers_list(master, &snap, &n_snap), 0);
                assert_int_equal(n_snap, 1);
                /* The master keeps its listener, as nginx's does; the new worker inherits it. */
                pid_t fresh = spawn_worker(G, 5000);
                usleep(100 * 1000);
                assert_int_equal(wait_for_workers(master, snap, n_snap, G, 200), -ETIMEDOUT);
                assert_int_equal(wait_for_workers(master, snap, n_snap, G, 3000), 0);
                assert_int_equal(kill(old, 0), 0);

                close(l);
                kill(old, SIGKILL);
                kill(fresh, SIGKILL);
                assert_int_equal(waitpid(old, NULL, 0), old);
                assert_int_equal(waitpid(fresh, NULL, 0), fresh);
        }
}

static char T[] = "/tmp/test-reload.XXXXXX";
/* Whether T was made: not "T still ends in X", which a random suffix may too (1 in 62). */
static bool T_made;

static void make_temp_dir(void) {
        if (!T_made) {
                assert_non_null(mkdtemp(T));
                T_made = true;
        }
}

static void write_text(const char *name, const char *text, char *path, size_t size) {
        snprintf(path, size, "%s/%s", T, name);
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

/* A started test waited for, as Revert does. */
static int nginx_test(const char *exe, const char *conf, const char *prefix, const char *globals, char **out) {
        CommandJob *j = NULL;
        int r = config_test_nginx_start(exe, conf, prefix, globals, &j);
        if (r >= 0)
                r = config_test_wait(j, out);
        command_job_free(j);
        return r;
}

static int apache_test(const char *exe, char *const *master_argv, char *const *env, char **out) {
        CommandJob *j = NULL;
        int r = config_test_apache_start(exe, master_argv, env, &j);
        if (r >= 0)
                r = config_test_wait(j, out);
        command_job_free(j);
        return r;
}

static int fpm_test(const char *exe, const char *conf, char **out) {
        CommandJob *j = NULL;
        int r = config_test_fpm_start(exe, conf, &j);
        if (r >= 0)
                r = config_test_wait(j, out);
        command_job_free(j);
        return r;
}

static void test_config_test_nginx(void **state) {
        (void) state;
        if (access("/usr/sbin/nginx", X_OK) < 0)
                skip();
        make_temp_dir();
        char ok[256], bad[256], prefix[256], text[1024];
        snprintf(prefix, sizeof prefix, "%s/", T);
        snprintf(text, sizeof text,
                 "pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp { access_log off; }\n", T, T);
        write_text("ok.conf", text, ok, sizeof ok);
        write_text("bad.conf", "events {}\nbogus_directive on;\n", bad, sizeof bad);
        _cleanup_free_ char *out1 = NULL, *out2 = NULL;
        assert_int_equal(nginx_test("/usr/sbin/nginx", ok, prefix, "daemon off;", &out1), 0);
        assert_non_null(strstr(out1, "test is successful"));
        assert_int_equal(nginx_test("/usr/sbin/nginx", bad, prefix, NULL, &out2), -EBADMSG);
        assert_non_null(strstr(out2, "bogus_directive"));
        assert_int_equal(nginx_test(NULL, ok, NULL, NULL, NULL), -EINVAL);
}

static void test_config_test_fpm(void **state) {
        (void) state;
        const char *exe = "/usr/sbin/php-fpm8.2";
        if (access(exe, X_OK) < 0)
                skip();
        make_temp_dir();
        char ok[256], bad[256], text[1024];
        snprintf(text, sizeof text,
                 "[global]\npid = %s/fpm.pid\nerror_log = %s/fpm.log\n[www]\nuser = nobody\n"
                 "listen = %s/fpm.sock\npm = static\npm.max_children = 1\n", T, T, T);
        write_text("fpm-ok.conf", text, ok, sizeof ok);
        strcat(text, "pm.bogus = 1\npm = nonsense\n");
        write_text("fpm-bad.conf", text, bad, sizeof bad);
        _cleanup_free_ char *out1 = NULL, *out2 = NULL;
        assert_int_equal(fpm_test(exe, ok, &out1), 0);
        assert_int_equal(fpm_test(exe, bad, &out2), -EBADMSG);
        assert_true(strlen(out2) > 0);
        assert_int_equal(fpm_test(exe, NULL, NULL), -EINVAL);
        assert_int_equal(fpm_test("/nonexistent/php-fpm", ok, NULL), -ENOENT);
}

/* apache2 -t as its master was started: its -d, -f, -D options (not -k start) and the
 * environment its ${VAR}s come from. */
static void test_config_test_apache(void **state) {
        (void) state;
        const char *exe = "/usr/sbin/apache2";
        if (access(exe, X_OK) < 0)
                skip();
        make_temp_dir();
        char conf[256], text[1024];
        snprintf(text, sizeof text,
                 "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n"
                 "ServerName localhost\nListen 127.0.0.1:1\nPidFile %s/apache.pid\nErrorLog %s/error.log\n"
                 "DefaultRuntimeDir %s\nUser ${SFX_USER}\n<IfDefine SFX_BROKEN>\nBogusDirective on\n</IfDefine>\n",
                 T, T, T);
        write_text("apache2.conf", text, conf, sizeof conf);
        char *const started[] = { (char *) exe, (char *) "-d", T, (char *) "-f", conf, (char *) "-k", (char *) "start",
                                  (char *) "-DFOREGROUND", NULL };
        char *const broken[] = { (char *) exe, (char *) "-f", conf, (char *) "-D", (char *) "SFX_BROKEN", NULL };
        /* Values attached, as Apache's getopt takes them too; -k stop never reaches -t. */
        _cleanup_free_ char *attached_f = NULL;
        assert_true(asprintf(&attached_f, "-f%s", conf) > 0);
        char *const attached[] = { (char *) exe, attached_f, (char *) "-DSFX_BROKEN", (char *) "-kstop", NULL };
        char *const env[] = { (char *) "SFX_USER=nobody", NULL };
        _cleanup_free_ char *out1 = NULL, *out2 = NULL, *out3 = NULL, *out4 = NULL;
        assert_int_equal(apache_test(exe, started, env, &out1), 0);
        assert_non_null(strstr(out1, "Syntax OK"));
        assert_int_equal(apache_test(exe, broken, env, &out2), -EBADMSG);
        assert_non_null(strstr(out2, "BogusDirective"));
        /* Without the master's environment ${SFX_USER} names no user. */
        assert_int_equal(apache_test(exe, started, NULL, &out3), -EBADMSG);
        assert_non_null(strstr(out3, "SFX_USER"));
        assert_int_equal(apache_test(exe, attached, env, &out4), -EBADMSG);
        assert_non_null(strstr(out4, "BogusDirective"));
        assert_int_equal(apache_test(NULL, started, env, NULL), -EINVAL);
}

static int teardown(void **state) {
        (void) state;
        if (T_made) {
                char cmd[256];
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
                assert_int_equal(system(cmd), 0);
        }
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plan_decision),
                cmocka_unit_test(test_reload_signal),
                cmocka_unit_test(test_wait_for_workers),
                cmocka_unit_test(test_wait_for_old_listener),
                cmocka_unit_test(test_config_test_nginx),
                cmocka_unit_test(test_config_test_apache),
                cmocka_unit_test(test_config_test_fpm),
        };
        return cmocka_run_group_tests(tests, NULL, teardown);
}
