/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The user database asked with a bound (sys/nss.c), against glibc's real NSS: the test
 * enters a mount namespace of its own and binds an nsswitch.conf over the host's that
 * names, after files, a source that does not answer while a gate file exists
 * (tests/lib/nss-sfhang.c, found through LD_LIBRARY_PATH), as an LDAP server that
 * hangs. A lookup that reaches it must be given up on after NSS_TIMEOUT_MS; while it
 * still waits, no lookup may start a thread or reach it: /etc/passwd and /etc/group
 * answer what they hold (files comes first), the rest fails at once; once the source
 * answers, lookups must work again. And with local sources only, no lookup may be
 * bounded (nor run on a thread). Without the bound the first lookup never returns. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/lookup.h"
#include "sys/nss.h"
#include "fs-test.h"
#include "util/util.h"

static char T[] = "/tmp/sockfix-nss-XXXXXX";
static char gate[64], log_path[64], conf_local[64], conf_hung[64], conf_other_first[64];
static bool ready;

static int setup(void **state) {
        (void) state;
        if (!own_mount_namespace())
                return 0;
        assert_non_null(mkdtemp(T));
        snprintf(gate, sizeof(gate), "%s/gate", T);
        snprintf(log_path, sizeof(log_path), "%s/asked", T);
        snprintf(conf_local, sizeof(conf_local), "%s/nsswitch.local", T);
        snprintf(conf_hung, sizeof(conf_hung), "%s/nsswitch.hung", T);
        snprintf(conf_other_first, sizeof(conf_other_first), "%s/nsswitch.other-first", T);
        write_text(conf_local, "passwd: files systemd\ngroup: files systemd\nhosts: files\n");
        write_text(conf_hung, "passwd: files sfhang\ngroup: files sfhang\nhosts: files\n");
        write_text(conf_other_first, "passwd: sfhang files\ngroup: sfhang files\nhosts: files\n");
        setenv("SFHANG_GATE", gate, 1);
        setenv("SFHANG_LOG", log_path, 1);
        ready = true;
        return 0;
}

static int teardown(void **state) {
        (void) state;
        if (!ready)
                return 0;
        (void) umount("/etc/nsswitch.conf");
        (void) unlink(gate);
        /* A thread given up on may still be asking: let it leave before the files go. */
        for (int i = 0; i < 500 && nss_stuck() > 0; i++)
                usleep(10 * 1000);
        (void) unlink(log_path);
        (void) unlink(conf_local);
        (void) unlink(conf_hung);
        (void) unlink(conf_other_first);
        (void) rmdir(T);
        return 0;
}

static void use_nsswitch(const char *conf) {
        (void) umount("/etc/nsswitch.conf");
        assert_int_equal(mount(conf, "/etc/nsswitch.conf", NULL, MS_BIND, NULL), 0);
}

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Lookups that reached the source that does not answer. */
static int asked(void) {
        _cleanup_free_ char *text = NULL;
        if (read_full_file(log_path, &text, NULL) < 0)
                return 0;
        int n = 0;
        for (const char *p = text; (p = strchr(p, '\n')); p++)
                n++;
        return n;
}

static int threads(void) {
        _cleanup_free_ char *text = NULL;
        assert_int_equal(read_full_file("/proc/self/status", &text, NULL), 0);
        const char *t = strstr(text, "\nThreads:");
        assert_non_null(t);
        return atoi(t + strlen("\nThreads:"));
}

static void test_local_sources_are_not_bounded(void **state) {
        (void) state;
        if (!ready)
                skip();
        use_nsswitch(conf_local);
        assert_true(nss_is_local());
        unsigned before = nss_timeouts();
        uid_t uid = 1;
        gid_t gid = 1;
        assert_int_equal(nss_user_by_name("root", &uid, &gid), 0);
        assert_int_equal(uid, 0);
        assert_int_equal(gid, 0);
        assert_int_equal(nss_user_by_name("sockfix-no-such-user", NULL, NULL), -ESRCH);
        _cleanup_free_ char *name = nss_name_or_number(true, 0);
        assert_string_equal(name, "root");
        assert_int_equal(nss_timeouts(), before);
        assert_int_equal(threads(), 1);
}

static void test_source_that_does_not_answer(void **state) {
        (void) state;
        if (!ready)
                skip();
        use_nsswitch(conf_hung);
        assert_false(nss_is_local());
        write_text(gate, "");
        (void) unlink(log_path);
        unsigned before = nss_timeouts();

        /* A name files does not know reaches the source: given up on after the bound. */
        long t0 = now_ms();
        assert_int_equal(nss_user_by_name("ldap-site-user", NULL, NULL), -ETIMEDOUT);
        long took = now_ms() - t0;
        assert_true(took >= NSS_TIMEOUT_MS - 50 && took < NSS_TIMEOUT_MS + 1500);
        assert_int_equal(nss_stuck(), 1);
        assert_int_equal(nss_timeouts(), before + 1);
        assert_int_equal(threads(), 2); /* the one given up on */

        /* While it waits, no lookup goes to NSS, nor starts a thread: names and ids are
         * answered from /etc/passwd and /etc/group (files comes first), the rest and
         * every group list fail at once. */
        t0 = now_ms();
        uid_t uid = 1;
        assert_int_equal(nss_user_by_name("root", &uid, NULL), 0);
        assert_int_equal(uid, 0);
        gid_t gid = 1;
        assert_int_equal(nss_group_by_name("root", &gid), 0);
        assert_int_equal(gid, 0);
        _cleanup_free_ char *root = nss_name_or_number(false, 0);
        assert_string_equal(root, "root");
        assert_int_equal(nss_user_by_name("ldap-other-user", NULL, NULL), -ETIMEDOUT);
        _cleanup_free_ gid_t *list = NULL;
        size_t n = 0;
        assert_int_equal(nss_grouplist("root", 0, &list, &n), -ETIMEDOUT);
        _cleanup_free_ char *num = nss_name_or_number(false, 4242424);
        assert_string_equal(num, "4242424");
        assert_true(now_ms() - t0 < 1000); /* each a read of /etc/passwd or /etc/group */
        assert_int_equal(threads(), 2);
        assert_int_equal(asked(), 1);

        /* The engine's caches tell "did not answer" from "no such user". */
        Lookup l = {};
        Owned o = {};
        assert_int_equal(lookup_init(&l), 0);
        assert_int_equal(lookup_user(&l, &o, "ldap-site-user", NULL, NULL), -ETIMEDOUT);
        assert_int_equal(lookup_group(&l, &o, "ldap-site-group", &gid), -ETIMEDOUT);
        assert_int_equal(lookup_user(&l, &o, "root", &uid, NULL), 0);
        const DbGroups *db = lookup_db_groups(&l, &o, "root", 0, 0);
        assert_non_null(db);
        assert_int_equal(db->n, 0);
        lookup_done(&l, &o);

        /* The source answers again: the thread given up on ends, and lookups work. */
        assert_int_equal(unlink(gate), 0);
        for (int i = 0; i < 300 && nss_stuck() > 0; i++)
                usleep(10 * 1000);
        assert_int_equal(nss_stuck(), 0);
        assert_int_equal(nss_user_by_name("root", &uid, NULL), 0);
        assert_int_equal(uid, 0);
        assert_int_equal(nss_user_by_name("ldap-site-user", NULL, NULL), -ESRCH);
        assert_int_equal(nss_grouplist("root", 0, &list, &n), 0);
        assert_true(n >= 1 && list[0] == 0);
        _cleanup_free_ char *name = nss_name_or_number(false, 0);
        assert_string_equal(name, "root");
        /* The one given up on, and the six refused while it waited. */
        assert_int_equal(nss_timeouts(), before + 7);
}

/* Where another source comes before files, /etc/passwd's answer may not be the one
 * glibc gives: while a lookup waits, none is made at all. */
static void test_files_not_first(void **state) {
        (void) state;
        if (!ready)
                skip();
        use_nsswitch(conf_other_first);
        write_text(gate, "");
        assert_int_equal(nss_user_by_name("root", NULL, NULL), -ETIMEDOUT);
        assert_int_equal(nss_stuck(), 1);
        long t0 = now_ms();
        assert_int_equal(nss_user_by_name("root", NULL, NULL), -ETIMEDOUT);
        _cleanup_free_ char *num = nss_name_or_number(false, 0);
        assert_string_equal(num, "0");
        assert_true(now_ms() - t0 < 1000);
        assert_int_equal(unlink(gate), 0);
        for (int i = 0; i < 300 && nss_stuck() > 0; i++)
                usleep(10 * 1000);
        assert_int_equal(nss_stuck(), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_local_sources_are_not_bounded),
                cmocka_unit_test(test_source_that_does_not_answer),
                cmocka_unit_test(test_files_not_first),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
