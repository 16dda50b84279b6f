/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The evidence option's line matching and log tails: a socket's lines from the web
 * servers' error logs, not every line that happens to contain its characters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/evidence.h"
#include "util/util.h"

static void test_mentions(void **state) {
        (void) state;
        const char *crit = "2026/11/26 12:00:00 [crit] 42#42: *1 connect() to unix:/run/php/php8.2-fpm.sock failed "
                           "(13: Permission denied) while connecting to upstream, upstream: "
                           "\"fastcgi://unix:/run/php/php8.2-fpm.sock:\"";
        const char *apache = "[proxy_fcgi:error] AH01079: failed to make connection to backend: httpd-UDS; "
                             "AH02454: FCGI: attempt to connect to Unix domain socket /run/php/php8.2-fpm.sock (*) "
                             "failed";
        assert_true(line_mentions_path(crit, "/run/php/php8.2-fpm.sock"));
        assert_true(line_mentions_path(apache, "/run/php/php8.2-fpm.sock"));
        /* Not inside a longer path or name. */
        assert_false(line_mentions_path(crit, "/run/php/php8.2-fpm"));
        assert_false(line_mentions_path(crit, "/php/php8.2-fpm.sock"));
        assert_false(line_mentions_path("connect() to unix:/var/run/php/x.sock failed", "/run/php/x.sock"));
        assert_false(line_mentions_path("connect() to unix:/run/php/x.sock.old failed", "/run/php/x.sock"));
        /* "/" (where a link may lead) is not in every date and path. */
        assert_false(line_mentions_path(crit, "/"));
        assert_false(line_mentions_path("anything", ""));
        /* A later whole mention counts after a partial one. */
        assert_true(line_mentions_path("unix:/run/x.sock2 and unix:/run/x.sock:", "/run/x.sock"));
        assert_true(line_mentions_path("/run/x.sock", "/run/x.sock"));
}

static void test_collect(void **state) {
        (void) state;
        char log[] = "/tmp/sfx-evidence-XXXXXX";
        int fd = mkstemp(log);
        assert_true(fd >= 0);
        FILE *f = fdopen(fd, "w");
        assert_non_null(f);
        fputs("2026/11/26 [notice] 1#1: using the \"epoll\" event method\n"
              "2026/11/26 [crit] connect() to unix:/srv/a.sock failed (13: Permission denied)\n"
              "2026/11/26 [crit] connect() to unix:/srv/real.sock failed (13: Permission denied)\n"
              "2026/11/26 [error] connect() to unix:/srv/a.sock.bak failed (111: Connection refused)\n"
              "an unfinished line",
              f);
        assert_int_equal(fclose(f), 0);

        char *logs[] = { log, (char *) "/nonexistent/error.log", NULL };
        char **lines = NULL;
        /* By the path as asked and where it leads. */
        assert_int_equal(evidence_collect(logs, "/srv/a.sock", "/srv/real.sock", 10, &lines), 0);
        assert_int_equal(strv_length(lines), 2);
        assert_non_null(strstr(lines[0], "unix:/srv/a.sock failed"));
        assert_non_null(strstr(lines[1], "unix:/srv/real.sock failed"));
        strv_free(lines);
        lines = NULL;
        /* Only the path: a link's target is left out (NULL), and a link to "/" names nothing. */
        assert_int_equal(evidence_collect(logs, "/srv/a.sock", NULL, 10, &lines), 0);
        assert_int_equal(strv_length(lines), 1);
        strv_free(lines);
        lines = NULL;
        assert_int_equal(evidence_collect(logs, "/srv/link", "/", 10, &lines), 0);
        assert_int_equal(strv_length(lines), 0);
        strv_free(lines);
        lines = NULL;
        /* The newest max lines. */
        assert_int_equal(evidence_collect(logs, "/srv/a.sock", "/srv/real.sock", 1, &lines), 0);
        assert_int_equal(strv_length(lines), 1);
        assert_non_null(strstr(lines[0], "real.sock"));
        strv_free(lines);
        assert_int_equal(unlink(log), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mentions),
                cmocka_unit_test(test_collect),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
