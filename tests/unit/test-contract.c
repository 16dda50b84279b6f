/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sockfix-contract.h"

/* The contract's value rules, as both sockfixd (InvalidArgs) and sockfixctl (exit 5
 * before connecting) apply them: the one place a path, strategy or id is judged. */

static void test_socket_path(void **state) {
        (void) state;
        char buf[SOCKFIX_WHY_MAX];
        assert_null(sockfix_check_socket_path("/run/php/php8.2-fpm.sock", buf, sizeof(buf)));
        /* Odd but absolute paths are the walk's to judge, not the contract's. */
        assert_null(sockfix_check_socket_path("/", buf, sizeof(buf)));
        assert_null(sockfix_check_socket_path("/root/../run/x sock\n", buf, sizeof(buf)));
        assert_string_equal(sockfix_check_socket_path("", buf, sizeof(buf)), "Socket path is empty");
        assert_string_equal(sockfix_check_socket_path(NULL, buf, sizeof(buf)), "Socket path is empty");
        assert_string_equal(sockfix_check_socket_path("php.sock", buf, sizeof(buf)),
                            "Socket path php.sock is not absolute");

        /* PATH_MAX - 1 bytes is the longest a kernel path can be; one more is refused,
         * and the message quotes only the start of what was sent. */
        char *p = malloc(PATH_MAX + 1);
        assert_non_null(p);
        memset(p, 'a', PATH_MAX);
        p[0] = '/';
        p[PATH_MAX - 1] = 0;
        assert_null(sockfix_check_socket_path(p, buf, sizeof(buf)));
        p[PATH_MAX - 1] = 'a';
        p[PATH_MAX] = 0;
        const char *why = sockfix_check_socket_path(p, buf, sizeof(buf));
        assert_non_null(why);
        assert_non_null(strstr(why, "longer than"));
        assert_true(strlen(why) < 160);
        /* A long relative path: quoted in part too. */
        p[0] = 'a';
        p[300] = 0;
        why = sockfix_check_socket_path(p, buf, sizeof(buf));
        assert_non_null(strstr(why, "... is not absolute"));
        assert_true(strlen(why) < 100);
        free(p);

        /* A buffer too small truncates, never overflows. */
        char tiny[8];
        assert_string_equal(sockfix_check_socket_path("x", tiny, sizeof(tiny)), "Socket ");
}

static void test_strategy(void **state) {
        (void) state;
        char buf[SOCKFIX_WHY_MAX];
        static const char *const ok[] = { "auto", "pool-acl", "pool-group", "member", "dir-search", "refresh" };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                assert_null(sockfix_check_strategy(ok[i], buf, sizeof(buf)));
        assert_non_null(strstr(sockfix_check_strategy("chmod-666", buf, sizeof(buf)), "Unknown strategy 'chmod-666'"));
        assert_non_null(sockfix_check_strategy("", buf, sizeof(buf)));
        assert_non_null(sockfix_check_strategy(NULL, buf, sizeof(buf)));
        assert_non_null(sockfix_check_strategy("Auto", buf, sizeof(buf)));
}

static void test_transaction_id(void **state) {
        (void) state;
        char buf[SOCKFIX_WHY_MAX];
        assert_null(sockfix_check_transaction_id("0123456789abcdef0123456789abcdef", buf, sizeof(buf)));
        assert_non_null(sockfix_check_transaction_id("0123456789ABCDEF0123456789abcdef", buf, sizeof(buf)));
        assert_non_null(sockfix_check_transaction_id("0123456789abcdef0123456789abcde", buf, sizeof(buf)));
        assert_non_null(sockfix_check_transaction_id("0123456789abcdef0123456789abcdef0", buf, sizeof(buf)));
        assert_non_null(sockfix_check_transaction_id("../../../../etc/shadow", buf, sizeof(buf)));
        assert_non_null(sockfix_check_transaction_id("", buf, sizeof(buf)));
        assert_string_equal(sockfix_check_transaction_id(NULL, buf, sizeof(buf)),
                            "Transaction id '' is not 32 lower-case hex digits");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_socket_path),
                cmocka_unit_test(test_strategy),
                cmocka_unit_test(test_transaction_id),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
