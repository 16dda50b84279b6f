/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "host/web-config.h"
#include "util/util.h"
#include "conf-test.h"

static size_t count_refs(const WebConfig *c, const char *path) {
        size_t n = 0;
        for (size_t i = 0; i < c->n_refs; i++)
                n += streq_ptr(c->refs[i].path, path);
        return n;
}

static void test_fixture(void **state) {
        (void) state;
        _cleanup_free_ char *conf = data_path("nginx/nginx.conf"), *ups = data_path("nginx/conf.d/upstreams.conf");
        WebConfig c;

        assert_int_equal(nginx_config_load(conf, "/srv/ngx/", NULL, &c), 0);
        assert_string_equal(c.server, "nginx");
        assert_string_equal(c.user, "www-data");
        assert_string_equal(c.group, "webgrp");
        assert_string_equal(c.pid_file, "/srv/ngx/run/nginx.pid");
        assert_int_equal(strv_length(c.error_logs), 1); /* stderr ignored */
        assert_string_equal(c.error_logs[0], "/srv/ngx/logs/err.log");
        assert_string_equal(c.files[0], conf);

        assert_ref(&c, "/run/php/up.sock", "upstream server", conf, 11);
        assert_ref(&c, "/run/php/up.sock", "fastcgi_pass", conf, 16);      /* upstream defined before */
        assert_ref(&c, "/run/php/later.sock", "upstream server", ups, 2);
        assert_ref(&c, "/run/php/later.sock", "fastcgi_pass", conf, 17);   /* upstream in another file */
        assert_ref(&c, "/run/php/tail.sock", "fastcgi_pass", ups, 4);      /* upstream defined later */
        assert_ref(&c, "/run/php/tail.sock", "upstream server", conf, 34);
        assert_ref(&c, "/run/php/fcgi.sock", "fastcgi_pass", conf, 19);
        assert_ref(&c, "/run/uwsgi.sock", "uwsgi_pass", conf, 20);
        assert_ref(&c, "/run/scgi.sock", "scgi_pass", conf, 21);
        assert_ref(&c, "/run/grpc.sock", "grpc_pass", conf, 22);
        assert_ref(&c, "/run/grpc2.sock", "grpc_pass", conf, 23);
        assert_ref(&c, "/run/grpc3.sock", "grpc_pass", conf, 24);
        assert_ref(&c, "/run/app.sock", "proxy_pass", conf, 25);
        assert_ref(&c, "/run/app2.sock", "proxy_pass", conf, 26);
        assert_ref(&c, "/run/app3.sock", "proxy_pass", conf, 27);
        assert_ref(&c, "/run/mc.sock", "memcached_pass", conf, 28);
        assert_ref(&c, "/run/php/q's.sock", "fastcgi_pass", conf, 31);
        /* variables, quoted text and comments are not references */
        assert_int_equal(count_refs(&c, "/run/no.sock"), 0);
        assert_int_equal(count_refs(&c, "/run/commented.sock"), 0);
        assert_int_equal(c.n_refs, 17);

        /* include of itself and of a directory: errors, no loop; missing glob: nothing */
        assert_true(errors_contain(c.errors, "include loop"));
        assert_true(errors_contain(c.errors, "Is a directory"));
        assert_false(errors_contain(c.errors, "missing"));
        web_config_done(&c);
}

static void test_defaults(void **state) {
        (void) state;
        WebConfig c;
        assert_int_equal(nginx_config_parse_string("user  nginx;\nhttp { user ignored; }\n", "/etc/nginx/nginx.conf", &c), 0);
        assert_string_equal(c.user, "nginx");
        assert_string_equal(c.group, "nginx"); /* group omitted: same name */
        assert_string_equal(c.prefix, "/usr/share/nginx/");
        assert_string_equal(c.error_logs[0], "/usr/share/nginx/logs/error.log");
        assert_null(c.pid_file);
        assert_null(c.errors);
        web_config_done(&c);

        assert_int_equal(nginx_config_load("/nonexistent/nginx.conf", NULL, NULL, &c), -ENOENT);
        /* a plain include that is missing is an error, unlike a glob */
        assert_int_equal(nginx_config_parse_string("include /nonexistent/x.conf;", "/t/n.conf", &c), 0);
        assert_true(errors_contain(c.errors, "/t/n.conf:1: include /nonexistent/x.conf"));
        web_config_done(&c);
}

static void test_garbage(void **state) {
        (void) state;
        static const char *const inputs[] = {
                "http { server { fastcgi_pass \"unix:/run/unterminated.sock;",
                "}}}} fastcgi_pass unix:/run/a.sock; {{{{",
                "fastcgi_pass unix:/run/eof.sock",
                "a\\",
                "\"",
                "#",
                "error_log syslog:server=x; error_log memory:32m; proxy_pass http://unix:relative:/x;",
        };
        WebConfig c;
        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                assert_int_equal(nginx_config_parse_string(inputs[i], "g.conf", &c), 0);
                web_config_done(&c);
        }
        assert_int_equal(nginx_config_parse_string(inputs[1], "g.conf", &c), 0);
        assert_ref(&c, "/run/a.sock", "fastcgi_pass", "g.conf", 1);
        assert_true(errors_contain(c.errors, "g.conf:1: unexpected \"}\""));
        assert_true(errors_contain(c.errors, "g.conf:1: unexpected \"{\""));
        web_config_done(&c);

        assert_int_equal(nginx_config_parse_string(inputs[6], "g.conf", &c), 0);
        assert_string_equal(c.error_logs[0], "/usr/share/nginx/logs/error.log");
        assert_true(errors_contain(c.errors, "not absolute"));
        web_config_done(&c);

        /* NUL bytes, a 4 MiB word and 100k statements, read from a file */
        size_t n = 100000, len = n * 48 + (4u << 20) + 100;
        _cleanup_free_ char *big = malloc(len);
        char *w = big;
        for (size_t i = 0; i < n; i++)
                w += sprintf(w, "location /%zu { fastcgi_pass b%zu; }\n", i, i);
        *w++ = 0;
        memset(w, 'x', 4u << 20);
        w += 4u << 20;
        w += sprintf(w, ";\nupstream b7 { server unix:/run/b7.sock; }\n");
        char tmp[] = "/tmp/test-nginx-XXXXXX";
        int fd = mkstemp(tmp);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, big, w - big), w - big);
        close(fd);
        assert_int_equal(nginx_config_load(tmp, NULL, NULL, &c), 0);
        unlink(tmp);
        assert_int_equal(c.n_refs, 2);
        assert_ref(&c, "/run/b7.sock", "fastcgi_pass", tmp, 8);
        web_config_done(&c);
}

static void test_debian(void **state) {
        (void) state;
        WebConfig c;
        if (access("/etc/nginx/nginx.conf", R_OK) < 0)
                skip();
        assert_int_equal(nginx_config_load("/etc/nginx/nginx.conf", NULL, NULL, &c), 0);
        assert_string_equal(c.user, "www-data");
        assert_true(strv_contains(c.error_logs, "/var/log/nginx/error.log"));
        web_config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixture),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_garbage),
                cmocka_unit_test(test_debian),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
