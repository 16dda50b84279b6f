/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <stdio.h>

#include "sys/groups.h"
#include "util/util.h"

/* A system user and group made for this run and deleted at the end. */
static char user[32], group[32];

static int setup(void **state) {
        (void) state;
        snprintf(user, sizeof user, "sfxtu%d", (int) getpid());
        snprintf(group, sizeof group, "sfxtg%d", (int) getpid());
        char cmd[256];
        snprintf(cmd, sizeof cmd, "groupadd -r %s && useradd -r -M -N -s /usr/sbin/nologin %s", group, user);
        return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state) {
        (void) state;
        char cmd[256];
        snprintf(cmd, sizeof cmd, "userdel %s; groupdel %s", user, group);
        return system(cmd) == 0 ? 0 : -1;
}

static void test_privileged(void **state) {
        (void) state;
        assert_true(group_is_privileged(0, NULL));
        assert_true(group_is_privileged(0, "whatever"));
        const char *bad[] = { "root", "sudo", "wheel", "adm", "admin", "shadow", "disk", "docker", "lxd",
                              "kmem", "systemd-journal", "staff", "utmp", "tty", "sys", "lpadmin", "libvirt", "kvm" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_true(group_is_privileged(1234, bad[i]));
        assert_false(group_is_privileged(33, "www-data"));
        assert_false(group_is_privileged(998, "nginx"));
        assert_false(group_is_privileged((gid_t) -1, NULL));
}

static void test_names(void **state) {
        (void) state;
        assert_true(account_name_is_valid("www-data"));
        assert_true(account_name_is_valid("nginx"));
        const char *bad[] = { "", "-a", "--help", "a b", "a\tb", "a\nb", "a:b", "a,b", "\x01" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_false(account_name_is_valid(bad[i]));
        assert_false(account_name_is_valid(NULL));
}

static void test_add_remove(void **state) {
        (void) state;
        assert_int_equal(user_in_group_db(user, group), 0);
        _cleanup_free_ char *err = NULL;
        assert_int_equal(group_add_member(user, group, &err), 0);
        assert_null(err);
        assert_int_equal(user_in_group_db(user, group), 1);
        struct group *g = getgrnam(group);
        assert_non_null(g);
        assert_non_null(g->gr_mem[0]);
        assert_string_equal(g->gr_mem[0], user);
        assert_null(g->gr_mem[1]);

        assert_int_equal(group_remove_member(user, group, NULL), 0);
        assert_int_equal(user_in_group_db(user, group), 0);
        /* Not a member any more: gpasswd says so, and we pass its words on. */
        assert_int_equal(group_remove_member(user, group, &err), -EIO);
        assert_non_null(err);
        assert_non_null(strstr(err, "gpasswd -d"));
        assert_non_null(strstr(err, user));
}

static void test_refused(void **state) {
        (void) state;
        /* Privileged groups are refused here too, and nobody is added. */
        struct group *g = getgrnam("adm");
        if (g) {
                assert_int_equal(group_add_member(user, "adm", NULL), -EPERM);
                assert_int_equal(user_in_group_db(user, "adm"), 0);
        }
        assert_int_equal(group_add_member(user, "root", NULL), -EPERM);
        assert_int_equal(user_in_group_db(user, "root"), 0);
        /* Argument injection. */
        assert_int_equal(group_add_member("-r", group, NULL), -EINVAL);
        assert_int_equal(group_add_member(user, "-r", NULL), -EINVAL);
        assert_int_equal(group_add_member("a b", group, NULL), -EINVAL);
        assert_int_equal(group_remove_member(user, "--help", NULL), -EINVAL);
        assert_int_equal(user_in_group_db("-x", group), -EINVAL);
        /* Unknown names. */
        assert_int_equal(group_add_member("sfx-no-such-user", group, NULL), -ESRCH);
        assert_int_equal(group_add_member(user, "sfx-no-such-group", NULL), -ESRCH);
        assert_int_equal(user_in_group_db(user, "sfx-no-such-group"), -ESRCH);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_privileged),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_add_remove),
                cmocka_unit_test(test_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
