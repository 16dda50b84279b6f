/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "host/web-config.h"
#include "util/util.h"
#include "conf-test.h"

static void test_caddy(void **state) {
        (void) state;
        _cleanup_free_ char *conf = data_path("caddy/Caddyfile"), *b = data_path("caddy/sites/b.caddy");
        WebConfig c;

        assert_int_equal(caddy_config_load(conf, NULL, &c), 0);
        assert_string_equal(c.server, "caddy");
        assert_null(c.user); /* the caller knows the default "caddy" */
        assert_ref(&c, "/run/php/php-fpm.sock", "php_fastcgi", conf, 7);
        assert_ref(&c, "/run/api.sock", "reverse_proxy", conf, 8);
        assert_ref(&c, "/run/to.sock", "reverse_proxy", conf, 10);  /* `to` subdirective */
        assert_ref(&c, "/run/to2.sock", "reverse_proxy", conf, 10); /* quoted */
        assert_ref(&c, "/run/php/b.sock", "php_fastcgi", b, 2);     /* import glob, block */
        assert_int_equal(c.n_refs, 5);                             /* comment ignored */
        assert_int_equal(strv_length(c.files), 2);
        assert_null(c.errors); /* snippet import and empty glob are fine */
        web_config_done(&c);

        assert_int_equal(caddy_config_load("/nonexistent/Caddyfile", NULL, &c), -ENOENT);
        assert_int_equal(caddy_config_parse_string("import /t/C\n}\n{\n\"", "/t/C", &c), 0);
        assert_true(errors_contain(c.errors, "/t/C:1: import /t/C: No such file"));
        assert_true(errors_contain(c.errors, "/t/C:2: unexpected '}'"));
        assert_true(errors_contain(c.errors, "expecting '}'"));
        web_config_done(&c);
}

static void test_lighttpd(void **state) {
        (void) state;
        _cleanup_free_ char *conf = data_path("lighttpd/lighttpd.conf"),
                            *php = data_path("lighttpd/conf-enabled/15-fastcgi-php.conf");
        WebConfig c;

        assert_int_equal(lighttpd_config_load(conf, NULL, &c), 0);
        assert_string_equal(c.server, "lighttpd");
        assert_string_equal(c.user, "www-data");
        assert_string_equal(c.group, "www-data");
        assert_string_equal(c.pid_file, "/run/lighttpd.pid");
        assert_string_equal(c.error_logs[0], "/var/log/lighttpd/error.log");
        assert_ref(&c, "/run/php/php8.2-fpm.sock", "socket", php, 4);
        assert_ref(&c, "/run/php/scgi.sock", "socket", php, 8); /* var. + concatenation */
        assert_int_equal(c.n_refs, 2);                          /* "socket" outside *.server is not one */
        assert_int_equal(strv_length(c.files), 2);              /* include_shell never runs */
        assert_null(c.errors);
        web_config_done(&c);

        assert_int_equal(lighttpd_config_load("/nonexistent/lighttpd.conf", NULL, &c), -ENOENT);
}

/* A backend lighttpd spawns itself ("bin-path", Debian's 15-fastcgi-php.conf) binds the
 * socket's path + "-N" per process, never the path as written: the references are the
 * min(min-procs, max-procs) it starts at once (4 and 4 by default). */
static void test_lighttpd_spawned(void **state) {
        (void) state;
        WebConfig c;
        assert_int_equal(lighttpd_config_parse_string(
                                 "fastcgi.server += ( \".php\" => ((\n"
                                 "  \"bin-path\" => \"/usr/bin/php-cgi\",\n"
                                 "  \"socket\" => \"/run/lighttpd/php.socket\",\n"
                                 "  \"max-procs\" => 1,\n"
                                 "  \"bin-environment\" => ( \"PHP_FCGI_CHILDREN\" => \"4\" )\n"
                                 ")))\n"
                                 "fastcgi.server += ( \".py\" => (( \"socket\" => \"/run/py.sock\", \"bin-path\" => \"/usr/bin/app\" )),\n"
                                 "                   \".pl\" => (( \"socket\" => \"/run/pl.sock\", \"min-procs\" => 1, \"max-procs\" => 8,\n"
                                 "                               \"bin-path\" => \"/usr/bin/pl\" )),\n"
                                 "                   \".rb\" => (( \"socket\" => \"/run/rb.sock\" ), ( \"bin-path\" => \"/x\" )) )\n"
                                 "var.cgi = \"/usr/bin/php-cgi\"\n"
                                 "fastcgi.server += ( \".v\" => (( \"bin-path\" => var.cgi, \"socket\" => \"/run/v.sock\", \"max-procs\" => \"2\" )) )\n",
                                 "/t/spawn.conf", &c),
                         0);
        assert_ref(&c, "/run/lighttpd/php.socket-0", "socket", "/t/spawn.conf", 3);
        for (unsigned k = 0; k < 4; k++) {
                char path[32];
                snprintf(path, sizeof(path), "/run/py.sock-%u", k);
                assert_ref(&c, path, "socket", "/t/spawn.conf", 7);
        }
        assert_ref(&c, "/run/pl.sock-0", "socket", "/t/spawn.conf", 8);
        assert_ref(&c, "/run/rb.sock", "socket", "/t/spawn.conf", 10); /* another backend's bin-path is not its own */
        /* bin-path through a var., max-procs as a string */
        assert_ref(&c, "/run/v.sock-0", "socket", "/t/spawn.conf", 12);
        assert_ref(&c, "/run/v.sock-1", "socket", "/t/spawn.conf", 12);
        assert_int_equal(c.n_refs, 9);
        web_config_done(&c);
}

static void test_garbage(void **state) {
        (void) state;
        static const char *const inputs[] = {
                "\"", "fastcgi.server = ( \"socket\" => ", "fastcgi.server = ( \"socket\" => 5 ))", "include",
                "((((((((", "= = = +", "x = \"a\" + ", "include \"/t/l\"",
        };
        WebConfig c;
        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                assert_int_equal(lighttpd_config_parse_string(inputs[i], "/t/l", &c), 0);
                web_config_done(&c);
                assert_int_equal(caddy_config_parse_string(inputs[i], "/t/l", &c), 0);
                web_config_done(&c);
        }

        size_t n = 200000;
        _cleanup_free_ char *big = malloc(n * 6 + 100);
        char *w = big;
        w += sprintf(w, "var.s = \"/\"");
        for (size_t i = 0; i < n; i++)
                w += sprintf(w, " + \"a\"");
        strcpy(w, "\nfastcgi.server = ( \"socket\" => var.s )\n");
        assert_int_equal(lighttpd_config_parse_string(big, "big.conf", &c), 0);
        assert_int_equal(c.n_refs, 0); /* the string is too long to be a path */
        web_config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_caddy),
                cmocka_unit_test(test_lighttpd),
                cmocka_unit_test(test_lighttpd_spawned),
                cmocka_unit_test(test_garbage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
