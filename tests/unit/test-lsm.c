/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "engine/lsm.h"
#include "util/util.h"

typedef struct Expected {
        LsmKind kind;
        const char *path;
        pid_t pid;
        const char *comm;
        const char *scontext;
        const char *tcontext;
        const char *tclass;
        const char *perm;
        const char *profile;
        bool permissive;
} Expected;

static char **read_sample(const char *name) {
        _cleanup_free_ char *p = NULL, *s = NULL;
        char **lines = NULL;
        const char *dir = getenv("SOCKFIX_TEST_DATA");

        assert_true(asprintf(&p, "%s/lsm/%s", dir ? dir : "tests/data", name) > 0);
        assert_int_equal(read_full_file(p, &s, NULL), 0);
        for (char *save = NULL, *l = strtok_r(s, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                assert_int_equal(strv_extend(&lines, l), 0);
        /* strtok_r drops empty lines; the noise sample also checks "" */
        assert_int_equal(strv_extend(&lines, ""), 0);
        return lines;
}

static void check_sample(const char *name, const Expected *exp, size_t n) {
        _cleanup_strv_free_ char **lines = read_sample(name);

        assert_int_equal(strv_length(lines), n + 1);
        for (size_t i = 0; i < n; i++) {
                LsmDenial d;

                print_message("# %s:%zu\n", name, i + 1);
                assert_int_equal(lsm_parse_line(lines[i], &d), 1);
                assert_int_equal(d.kind, exp[i].kind);
                assert_string_equal(strempty(d.path), strempty(exp[i].path));
                assert_int_equal(d.pid, exp[i].pid);
                assert_string_equal(strempty(d.comm), strempty(exp[i].comm));
                assert_string_equal(strempty(d.scontext), strempty(exp[i].scontext));
                assert_string_equal(strempty(d.tcontext), strempty(exp[i].tcontext));
                assert_string_equal(strempty(d.tclass), strempty(exp[i].tclass));
                assert_string_equal(strempty(d.perm), strempty(exp[i].perm));
                assert_string_equal(strempty(d.profile), strempty(exp[i].profile));
                assert_int_equal(d.permissive, exp[i].permissive);
                lsm_denial_done(&d);
        }
}

#define HTTPD "system_u:system_r:httpd_t:s0"
#define FPM_SOCK "/run/php/php8.2-fpm.sock"

static void test_selinux_audit(void **state) {
        static const Expected exp[] = {
                { LSM_SELINUX, FPM_SOCK, 1234, "nginx", HTTPD, "system_u:system_r:unconfined_service_t:s0",
                  "unix_stream_socket", "connectto", NULL, false },
                { LSM_SELINUX, "php-fpm.sock", 1235, "nginx", HTTPD, "system_u:object_r:var_run_t:s0",
                  "sock_file", "write", NULL, false },
                /* unquoted hex: the path has a space */
                { LSM_SELINUX, "/run/php fpm/www.sock", 2222, "httpd", HTTPD, "system_u:system_r:initrc_t:s0",
                  "unix_stream_socket", "connectto", NULL, false },
                { LSM_SELINUX, "www.sock", 3333, "php-fpm: pool www", HTTPD, "system_u:object_r:httpd_var_run_t:s0",
                  "sock_file", "write", NULL, true },
        };
        (void) state;
        check_sample("selinux-audit.log", exp, ELEMENTSOF(exp));
}

static void test_selinux_journal(void **state) {
        static const Expected exp[] = {
                { LSM_SELINUX, FPM_SOCK, 1234, "nginx", HTTPD, "system_u:system_r:unconfined_service_t:s0",
                  "unix_stream_socket", "connectto", NULL, false },
                { LSM_SELINUX, "php8.2-fpm.sock", 1235, "nginx", HTTPD, "system_u:object_r:var_run_t:s0",
                  "sock_file", "write", NULL, false },
        };
        (void) state;
        check_sample("selinux-journal.log", exp, ELEMENTSOF(exp));
}

static void test_apparmor(void **state) {
        static const Expected exp[] = {
                { LSM_APPARMOR, FPM_SOCK, 1234, "nginx", NULL, NULL, "file", "wr", "/usr/sbin/nginx", false },
                { LSM_APPARMOR, FPM_SOCK, 1234, "nginx", NULL, NULL, "file", "wr", "/usr/sbin/nginx", false },
                { LSM_APPARMOR, FPM_SOCK, 4321, "apache2", NULL, NULL, "net", "send connect", "/usr/sbin/apache2", false },
                { LSM_APPARMOR, FPM_SOCK, 1236, "nginx", NULL, NULL, "net", "send", "/usr/sbin/nginx", false },
                { LSM_APPARMOR, "/run/php fpm/www.sock", 1237, "nginx worker", NULL, NULL, "file", "wr", "/usr/sbin/nginx", false },
        };
        (void) state;
        check_sample("apparmor.log", exp, ELEMENTSOF(exp));
}

static void test_noise(void **state) {
        _cleanup_strv_free_ char **lines = read_sample("noise.log");
        (void) state;

        assert_true(strv_length(lines) >= 10);
        for (char **l = lines; *l; l++) {
                LsmDenial d;
                print_message("# %s\n", *l);
                assert_int_equal(lsm_parse_line(*l, &d), 0);
                assert_null(d.path);
                assert_null(d.comm);
        }
        LsmDenial d;
        assert_int_equal(lsm_parse_line(NULL, &d), 0);
}

static void test_quoted_value_cannot_fake_field(void **state) {
        LsmDenial d;
        (void) state;

        assert_int_equal(lsm_parse_line("apparmor=\"DENIED\" operation=\"connect\" class=\"file\" profile=\"p\" "
                                        "name=\"/tmp/x pid=99 comm=evil\" pid=7 comm=\"nginx\"", &d), 1);
        assert_string_equal(d.path, "/tmp/x pid=99 comm=evil");
        assert_int_equal(d.pid, 7);
        assert_string_equal(d.comm, "nginx");
        lsm_denial_done(&d);
}

static void test_matches(void **state) {
        LsmDenial d = {};
        (void) state;

        d.path = (char *) FPM_SOCK;
        assert_true(lsm_denial_matches(&d, FPM_SOCK, NULL));
        assert_true(lsm_denial_matches(&d, "/run/php/php-fpm.sock", FPM_SOCK));
        assert_false(lsm_denial_matches(&d, "/run/php/php-fpm.sock", "/etc/alternatives/php-fpm.sock"));
        assert_false(lsm_denial_matches(&d, "/var/run/php/php8.2-fpm.sock", NULL));

        d.path = (char *) "php8.2-fpm.sock";
        assert_true(lsm_denial_matches(&d, "/run/php/php-fpm.sock", FPM_SOCK));
        assert_true(lsm_denial_matches(&d, FPM_SOCK, NULL));
        assert_false(lsm_denial_matches(&d, "/run/php/php8.1-fpm.sock", NULL));
        assert_false(lsm_denial_matches(&d, "/run/php/php8.2-fpm.sock.old", NULL));

        /* no path logged: the caller must narrow by pid / comm */
        d.path = NULL;
        assert_true(lsm_denial_matches(&d, FPM_SOCK, NULL));
}

static char *mkdtemp_or_fail(void) {
        char *d = strdup("/tmp/test-lsm-XXXXXX");
        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

static void write_file(const char *dir, const char *name, const char *content, size_t len) {
        _cleanup_free_ char *p = NULL;
        assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
        FILE *f = fopen(p, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(content, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
}

static void test_selinux_enforcing(void **state) {
        _cleanup_free_ char *d = mkdtemp_or_fail();
        (void) state;

        assert_int_equal(lsm_selinux_enforcing(d), -1);
        write_file(d, "enforce", "1", 1);
        assert_int_equal(lsm_selinux_enforcing(d), 1);
        write_file(d, "enforce", "0\n", 2);
        assert_int_equal(lsm_selinux_enforcing(d), 0);
        write_file(d, "enforce", "x", 1);
        assert_int_equal(lsm_selinux_enforcing(d), -1);

        _cleanup_free_ char *cmd = NULL;
        assert_true(asprintf(&cmd, "rm -rf '%s'", d) > 0);
        assert_int_equal(system(cmd), 0);
}

static void test_process_label(void **state) {
        _cleanup_free_ char *root = mkdtemp_or_fail(), *attr = NULL, *cmd = NULL;
        (void) state;

        assert_true(asprintf(&attr, "%s/42/attr", root) > 0);
        assert_true(asprintf(&cmd, "mkdir -p '%s'", attr) > 0);
        assert_int_equal(system(cmd), 0);

        assert_null(lsm_process_label(root, 42));

        /* SELinux ends the context with a NUL */
        write_file(attr, "current", "system_u:system_r:httpd_t:s0\0", 29);
        _cleanup_free_ char *l = lsm_process_label(root, 42);
        assert_string_equal(l, "system_u:system_r:httpd_t:s0");

        write_file(attr, "current", "unconfined\n", 11);
        _cleanup_free_ char *u = lsm_process_label(root, 42);
        assert_string_equal(u, "unconfined");

        write_file(attr, "current", "/usr/sbin/nginx (enforce)\n", 26);
        _cleanup_free_ char *a = lsm_process_label(root, 42);
        assert_string_equal(a, "/usr/sbin/nginx (enforce)");

        write_file(attr, "current", "\n", 1);
        assert_null(lsm_process_label(root, 42));
        assert_null(lsm_process_label(root, 0));

        free(cmd);
        assert_true(asprintf(&cmd, "rm -rf '%s'", root) > 0);
        assert_int_equal(system(cmd), 0);
}

/* A logged denial counts only for the worker as it runs now, on an enforcing host. */
static void test_denial_applies(void **state) {
        (void) state;
        LsmDenial se = { .kind = LSM_SELINUX, .scontext = (char *) "system_u:system_r:httpd_t:s0" };
        assert_true(lsm_denial_applies(&se, 1, "system_u:system_r:httpd_t:s0"));
        assert_true(lsm_denial_applies(&se, 1, "system_u:system_r:httpd_t:s0:c1"));
        assert_false(lsm_denial_applies(&se, 1, "system_u:system_r:unconfined_t:s0"));
        assert_false(lsm_denial_applies(&se, 0, "system_u:system_r:httpd_t:s0")); /* permissive */
        assert_true(lsm_denial_applies(&se, 1, NULL));  /* context unknown: the log decides */
        assert_true(lsm_denial_applies(&se, -1, NULL)); /* no selinuxfs here: recorded logs */

        LsmDenial aa = { .kind = LSM_APPARMOR, .profile = (char *) "/usr/sbin/nginx" };
        assert_true(lsm_denial_applies(&aa, -1, "/usr/sbin/nginx (enforce)"));
        assert_false(lsm_denial_applies(&aa, -1, "/usr/sbin/nginx (complain)"));
        assert_false(lsm_denial_applies(&aa, -1, "/usr/sbin/nginx-debug (enforce)"));
        assert_false(lsm_denial_applies(&aa, -1, "unconfined"));
        assert_true(lsm_denial_applies(&aa, -1, NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_selinux_audit),
                cmocka_unit_test(test_selinux_journal),
                cmocka_unit_test(test_apparmor),
                cmocka_unit_test(test_noise),
                cmocka_unit_test(test_quoted_value_cannot_fake_field),
                cmocka_unit_test(test_matches),
                cmocka_unit_test(test_selinux_enforcing),
                cmocka_unit_test(test_process_label),
                cmocka_unit_test(test_denial_applies),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
