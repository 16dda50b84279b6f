/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "host/web-config.h"
#include "util/util.h"
#include "conf-test.h"

static void test_fixture(void **state) {
        (void) state;
        _cleanup_free_ char *root = data_path("apache"), *conf = data_path("apache/apache2.conf"),
                            *envvars = data_path("apache/envvars"), *php = data_path("apache/conf-enabled/php.conf"),
                            *site = data_path("apache/sites-enabled/site.conf"), *rel = NULL;
        WebConfig c;

        unsetenv("APACHE_CONFDIR");
        assert_int_equal(apache_config_load(conf, root, envvars, NULL, NULL, &c), 0);
        assert_string_equal(c.server, "apache2");
        assert_string_equal(c.user, "www-data");  /* ${APACHE_RUN_USER} from envvars */
        assert_string_equal(c.group, "www-data"); /* quoted in envvars */
        assert_string_equal(c.pid_file, "/var/run/apache2/apache2.pid");
        assert_true(asprintf(&rel, "%s/logs/relative.log", root) > 0);
        assert_int_equal(strv_length(c.error_logs), 2); /* piped and syslog ignored */
        assert_string_equal(c.error_logs[0], "/var/log/apache2/error.log");
        assert_string_equal(c.error_logs[1], rel);
        assert_string_equal(c.files[0], conf);

        assert_ref(&c, "/run/php/php8.2-fpm.sock", "SetHandler", php, 2);
        assert_ref(&c, "/run/app.sock", "ProxyPass", site, 2);
        assert_ref(&c, "/run/php/match.sock", "ProxyPassMatch", site, 3);
        assert_ref(&c, "/run/php/proxy.sock", "Proxy", site, 4);
        assert_ref(&c, "/run/http.sock", "ProxyPass", site, 6); /* case-insensitive */
        assert_ref(&c, "/run/cont.sock", "ProxyPass", site, 7);  /* continuation line */
        assert_int_equal(c.n_refs, 6);

        /* Include with no match is an error, IncludeOptional is not */
        assert_true(errors_contain(c.errors, "missing-required"));
        assert_false(errors_contain(c.errors, "nothing"));
        web_config_done(&c);
}

/* A running instance (apache2ctl with APACHE_CONFDIR=/etc/apache2-inst): its ${VAR}s are
 * its environment's, which the envvars file works out with shell code (SUFFIX) that a
 * reading of NAME=value lines gets wrong; the file is then not read at all. */
static void test_environ(void **state) {
        (void) state;
        _cleanup_free_ char *root = data_path("apache"), *conf = data_path("apache/apache2.conf"),
                            *envvars = data_path("apache/envvars");
        char *const env[] = { "APACHE_RUN_USER=inst-user", "APACHE_LOG_DIR=/var/log/apache2-inst",
                              "APACHE_PID_FILE=/var/run/apache2-inst/apache2.pid", "NOT A VARIABLE", "=x", NULL };
        WebConfig c;

        unsetenv("APACHE_CONFDIR");
        unsetenv("APACHE_RUN_GROUP");
        assert_int_equal(apache_config_load(conf, root, envvars, env, NULL, &c), 0);
        assert_string_equal(c.user, "inst-user");
        assert_string_equal(c.error_logs[0], "/var/log/apache2-inst/error.log");
        assert_string_equal(c.pid_file, "/var/run/apache2-inst/apache2.pid");
        assert_string_equal(c.group, "${APACHE_RUN_GROUP}"); /* the file's www-data is not the instance's */
        assert_false(strv_contains(c.files, envvars));
        web_config_done(&c);

        /* Without it, the file as before: SUFFIX's last plain assignment is empty. */
        assert_int_equal(apache_config_load(conf, root, envvars, NULL, NULL, &c), 0);
        assert_string_equal(c.error_logs[0], "/var/log/apache2/error.log");
        assert_true(strv_contains(c.files, envvars));
        web_config_done(&c);
}

static void test_string(void **state) {
        (void) state;
        WebConfig c;
        setenv("SOCKFIX_APACHE_USER", "envuser", 1);
        assert_int_equal(apache_config_parse_string("Define SOCK /run/d.sock\n"
                                                    "User ${SOCKFIX_APACHE_USER}\n"
                                                    "Group ${UNDEFINED_VAR}\n"
                                                    "ProxyPass / \"unix:${SOCK}|fcgi://x/\"\n"
                                                    "Include /t/self.conf\n",
                                                    "/t/self.conf", &c),
                         0);
        assert_string_equal(c.user, "envuser");
        assert_string_equal(c.group, "${UNDEFINED_VAR}"); /* Apache leaves unknown names */
        assert_ref(&c, "/run/d.sock", "ProxyPass", "/t/self.conf", 4);
        assert_true(errors_contain(c.errors, "/t/self.conf:5: Include /t/self.conf"));
        web_config_done(&c);

        assert_int_equal(apache_config_load("/nonexistent/apache2.conf", NULL, NULL, NULL, NULL, &c), -ENOENT);
}

static void test_garbage(void **state) {
        (void) state;
        static const char *const inputs[] = {
                "<Proxy \"unix:", "SetHandler proxy:unix:relative|fcgi://x", "\\", "${", "${UNTERMINATED",
                "<", "</", "ProxyPass", "ProxyPass / unix:\\\n\\\n\\", "User \"unterminated",
        };
        WebConfig c;
        for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
                assert_int_equal(apache_config_parse_string(inputs[i], "g.conf", &c), 0);
                web_config_done(&c);
        }
        size_t n = 100000;
        _cleanup_free_ char *big = malloc(n * 64 + 100);
        char *w = big;
        for (size_t i = 0; i < n; i++)
                w += sprintf(w, "ProxyPass /%zu unix:/run/s%zu.sock|fcgi://x \\\n", i, i % 3);
        strcpy(w, "\n");
        assert_int_equal(apache_config_parse_string(big, "big.conf", &c), 0);
        assert_int_equal(c.n_refs, 1); /* one logical line */
        web_config_done(&c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_fixture),
                cmocka_unit_test(test_environ),
                cmocka_unit_test(test_string),
                cmocka_unit_test(test_garbage),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
