/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "host/fpm-config.h"
#include "util/util.h"
#include "conf-test.h"

static const FpmPool *pool(const FpmConfig *c, const char *name) {
        for (size_t i = 0; i < c->n_pools; i++)
                if (streq_ptr(c->pools[i].name, name))
                        return &c->pools[i];
        return NULL;
}

static void test_fixture(void **state) {
        (void) state;
        _cleanup_free_ char *main_file = data_path("fpm/php-fpm.conf"), *www = data_path("fpm/pool.d/www.conf"),
                            *pid = data_path("fpm/run/php-fpm.pid");
        FpmConfig c;

        setenv("SOCKFIX_TEST_SOCK", "envsock", 1);
        unsetenv("SOCKFIX_UNSET_VAR");
        assert_int_equal(fpm_config_load(main_file, &c), 0);

        /* globals, relative pid against the prefix */
        assert_string_equal(c.pid_file, pid);
        assert_string_equal(c.error_log, "/var/log/php8.2-fpm.log");
        assert_string_equal(c.files[0], main_file);
        assert_int_equal(strv_length(c.files), 5);
        /* a missing include glob is only a warning in php-fpm */
        assert_null(c.errors);

        const FpmPool *p = pool(&c, "www");
        assert_non_null(p);
        assert_string_equal(p->file, www);
        assert_int_equal(p->line, 3);
        assert_string_equal(fpm_pool_unix_path(p), "/run/php/www.sock"); /* $pool */
        assert_string_equal(fpm_pool_get(p, "listen.owner"), "www-data");  /* "double" */
        assert_string_equal(fpm_pool_get(p, "listen.group"), "www-data");  /* 'single' */
        assert_string_equal(fpm_pool_get(p, "user"), "www-data");
        assert_string_equal(fpm_pool_get(p, "group"), "www-data");
        /* Only the keys sockfix reads are kept. */
        assert_null(fpm_pool_get(p, "pm"));
        /* last wins, with the winner's line */
        const FpmKey *k = fpm_pool_key(p, "listen.mode");
        assert_string_equal(fpm_key_value(p, k), "0600");
        assert_string_equal(fpm_key_name(k), "listen.mode");
        assert_int_equal(k->line, 11);
        assert_string_equal(k->file, www);
        assert_int_equal(fpm_pool_key(p, "listen")->line, 6);

        /* TCP forms */
        assert_null(fpm_pool_unix_path(pool(&c, "tcp")));
        assert_null(fpm_pool_unix_path(pool(&c, "tcp6")));
        assert_null(fpm_pool_unix_path(pool(&c, "port")));
        assert_null(fpm_pool_unix_path(pool(&c, "host")));

        /* ${VAR}: expanded unquoted and in "double", unset is empty, 'single' is raw */
        p = pool(&c, "env");
        assert_string_equal(fpm_pool_unix_path(p), "/run/php/envsock.sock");
        assert_string_equal(fpm_pool_get(p, "listen.acl_users"), "apache,nginx");
        assert_string_equal(fpm_pool_get(p, "listen.acl_groups"), "web");
        assert_string_equal(fpm_pool_get(p, "listen.owner"), "${SOCKFIX_TEST_SOCK}");

        /* nested include, escaped quote */
        assert_string_equal(fpm_pool_unix_path(pool(&c, "deep")), "/run/php/deep \"x\".sock");
        fpm_config_done(&c);
}

static void test_missing(void **state) {
        (void) state;
        FpmConfig c;
        assert_int_equal(fpm_config_load("/nonexistent/php-fpm.conf", &c), -ENOENT);
}

static void test_loop(void **state) {
        (void) state;
        _cleanup_free_ char *main_file = data_path("fpm/loop/php-fpm.conf");
        FpmConfig c;
        assert_int_equal(fpm_config_load(main_file, &c), -ELOOP);
}

static void test_string(void **state) {
        (void) state;
        FpmConfig c;
        const char *text = "listen = /before/global\n"
                           "[a]\nlisten = /run/a.sock\n"
                           "[b]\nlisten=\"/run/unterminated\n"
                           "garbage line\n"
                           "[unterminated\n"
                           "[]\n"
                           "[a]\nuser = again\n"
                           "listen.mode = 0600\n"
                           "[b]\n[a]\nuser = again, and longer\n";
        assert_int_equal(fpm_config_parse_string(text, "/etc/x/t.conf", &c), 0);
        assert_int_equal(c.n_pools, 2);
        /* Repeated sections merge, each key keeps its own value and line, and a later
         * value replaces an earlier one of another length (the pool's block is rebuilt). */
        const FpmPool *a = pool(&c, "a");
        assert_string_equal(a->name, "a");
        assert_int_equal(a->n_keys, 3);
        assert_string_equal(fpm_pool_unix_path(a), "/run/a.sock");
        assert_int_equal(fpm_pool_key(a, "listen")->line, 3);
        assert_string_equal(fpm_pool_get(a, "user"), "again, and longer");
        assert_int_equal(fpm_pool_key(a, "user")->line, 14);
        assert_string_equal(fpm_pool_get(a, "listen.mode"), "0600");
        assert_string_equal(fpm_pool_unix_path(pool(&c, "b")), "/run/unterminated");
        assert_true(errors_contain(c.errors, "/etc/x/t.conf:5: unterminated quoted value"));
        assert_true(errors_contain(c.errors, "/etc/x/t.conf:6: syntax error"));
        assert_true(errors_contain(c.errors, "/etc/x/t.conf:7: unterminated section"));
        assert_true(errors_contain(c.errors, "/etc/x/t.conf:8: empty section"));
        fpm_config_done(&c);
}

/* A file that goes back and forth between two pools, one with a long value: every key
 * keeps its last value and line, whether its pool was built into its block at each
 * switch or, taken up too often, kept apart until the end (which bounds the copies of
 * the long value such a file can cause). */
static void test_alternating(void **state) {
        (void) state;
        size_t rounds = 200, len = 4096;
        _cleanup_free_ char *text = malloc(len + 200 + rounds * 80), *long_path = malloc(len + 16);
        assert_non_null(text);
        assert_non_null(long_path);
        char *w = long_path;
        w = stpcpy(w, "/run/");
        memset(w, 'a', len);
        strcpy(w + len, ".sock");
        w = text;
        w += sprintf(w, "[a]\nlisten = %s\n[b]\nlisten = /run/b.sock\n", long_path);
        unsigned line = 4;
        for (size_t i = 0; i < rounds; i++) {
                w += sprintf(w, "[a]\ngroup = ga%zu\n[b]\ngroup = gb%zu\nuser = ub%zu\n", i, i, i);
                line += 5;
        }

        FpmConfig c;
        assert_int_equal(fpm_config_parse_string(text, "alt.conf", &c), 0);
        assert_int_equal(c.n_pools, 2);
        const FpmPool *a = pool(&c, "a"), *b = pool(&c, "b");
        assert_non_null(a);
        assert_non_null(b);
        assert_string_equal(fpm_pool_unix_path(a), long_path);
        assert_string_equal(fpm_pool_get(a, "group"), "ga199");
        assert_int_equal(fpm_pool_key(a, "group")->line, line - 3);
        assert_int_equal(a->n_keys, 2);
        assert_string_equal(fpm_pool_unix_path(b), "/run/b.sock");
        assert_string_equal(fpm_pool_get(b, "group"), "gb199");
        assert_string_equal(fpm_pool_get(b, "user"), "ub199");
        assert_int_equal(fpm_pool_key(b, "user")->line, line);
        assert_int_equal(b->n_keys, 3);
        fpm_config_done(&c);
}

/* $pool substitution cannot turn a line into gigabytes: a kept value longer than 64 KiB
 * once substituted is an error and not kept; keys sockfix does not read are not even
 * substituted. */
static void test_pool_name_blowup(void **state) {
        (void) state;
        size_t name_len = 1000, times = 100;
        _cleanup_free_ char *text = malloc(name_len + 4 * times * 5 + 200);
        assert_non_null(text);
        char *w = text;
        *w++ = '[';
        memset(w, 'p', name_len);
        w += name_len;
        w = stpcpy(w, "]\nuser = $pool\nlisten = ");
        for (size_t i = 0; i < times; i++)
                w = stpcpy(w, "$pool");
        w = stpcpy(w, "\nenv[X] = ");
        for (size_t i = 0; i < 3 * times; i++)
                w = stpcpy(w, "$pool");
        strcpy(w, "\n");

        FpmConfig c;
        assert_int_equal(fpm_config_parse_string(text, "big.conf", &c), 0);
        assert_int_equal(c.n_pools, 1);
        const FpmPool *p = &c.pools[0];
        assert_int_equal(strlen(fpm_pool_get(p, "user")), name_len);
        assert_null(fpm_pool_get(p, "listen"));
        assert_true(errors_contain(c.errors, "big.conf:3: listen: longer than 65536 bytes"));
        assert_int_equal(strv_length(c.errors), 1);
        fpm_config_done(&c);
}

static void test_garbage(void **state) {
        (void) state;
        /* 100k lines, a NUL byte and a huge line: a result, errors, no crash. */
        size_t n = 100000;
        _cleanup_free_ char *big = malloc(n * 16 + 300000);
        char *w = big;
        w += sprintf(w, "[p]\nlisten = /run/p.sock\n");
        for (size_t i = 0; i < n; i++)
                w += sprintf(w, i % 2 ? "k%zu = v\n" : "junk %zu\n", i % 5000);
        memset(w, 'x', 200000);
        w += 200000;
        strcpy(w, "\n[q]\nlisten = /run/q.sock\n");
        FpmConfig c;
        assert_int_equal(fpm_config_parse_string(big, "big.conf", &c), 0);
        assert_string_equal(fpm_pool_unix_path(pool(&c, "p")), "/run/p.sock");
        assert_string_equal(fpm_pool_unix_path(pool(&c, "q")), "/run/q.sock");
        assert_true(errors_contain(c.errors, "too many errors"));
        /* 50,000 other keys: none kept, memory stays bounded. */
        assert_int_equal(pool(&c, "p")->n_keys, 1);
        fpm_config_done(&c);
}

static void test_debian(void **state) {
        (void) state;
        FpmConfig c;
        if (access("/etc/php/8.2/fpm/php-fpm.conf", R_OK) < 0)
                skip();
        assert_int_equal(fpm_config_load("/etc/php/8.2/fpm/php-fpm.conf", &c), 0);
        const FpmPool *p = pool(&c, "www");
        assert_non_null(p);
        assert_string_equal(fpm_pool_unix_path(p), "/run/php/php8.2-fpm.sock");
        assert_string_equal(fpm_pool_get(p, "listen.owner"), "www-data");
        fpm_config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixture), cmocka_unit_test(test_missing), cmocka_unit_test(test_loop),
                cmocka_unit_test(test_string),  cmocka_unit_test(test_alternating),
                cmocka_unit_test(test_pool_name_blowup), cmocka_unit_test(test_garbage), cmocka_unit_test(test_debian),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
