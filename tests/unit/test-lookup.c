/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine's passwd/group caches against the real NSS, on databases of our own: the
 * test enters a mount namespace and binds generated /etc/passwd and /etc/group over the
 * host's (nothing outside the test process sees them). A sweep that asks for many
 * distinct users must give exactly getpwnam()/getpwuid()'s answers, whether it asked
 * them one by one or read the databases in one pass. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/lookup.h"
#include "fs-test.h"
#include "util/util.h"

#define N_USERS 300
#define BASE_ID 40000

static char T[] = "/tmp/sockfix-lookup-XXXXXX";

/* root, N_USERS users tu000... with their own groups, and two traps: a second name for
 * tu005's uid and a second tu007 with another uid, both after the first ones (the first
 * entry wins, in getpwnam(), getpwuid() and the cache alike). */
static int setup(void **state) {
        (void) state;
        if (!own_mount_namespace())
                return 0;
        assert_non_null(mkdtemp(T));
        size_t size = 64 * (N_USERS + 8);
        char *pw = calloc(1, size), *gr = calloc(1, size), *p = pw, *g = gr;
        assert_true(pw && gr);
        p += sprintf(p, "root:x:0:0:root:/root:/bin/sh\n");
        g += sprintf(g, "root:x:0:\n");
        for (int i = 0; i < N_USERS; i++) {
                p += sprintf(p, "tu%03d:x:%d:%d::/nonexistent:/usr/sbin/nologin\n", i, BASE_ID + i, BASE_ID + i);
                g += sprintf(g, "tg%03d:x:%d:\n", i, BASE_ID + i);
        }
        p += sprintf(p, "tudup:x:%d:%d::/nonexistent:/usr/sbin/nologin\n", BASE_ID + 5, BASE_ID + 5);
        p += sprintf(p, "tu007:x:%d:%d::/nonexistent:/usr/sbin/nologin\n", BASE_ID + 999, BASE_ID + 999);
        g += sprintf(g, "tgdup:x:%d:\n", BASE_ID + 5);
        char path[64];
        snprintf(path, sizeof(path), "%s/passwd", T);
        write_text(path, pw);
        assert_int_equal(mount(path, "/etc/passwd", NULL, MS_BIND, NULL), 0);
        snprintf(path, sizeof(path), "%s/group", T);
        write_text(path, gr);
        assert_int_equal(mount(path, "/etc/group", NULL, MS_BIND, NULL), 0);
        free(pw);
        free(gr);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        char path[64];
        (void) umount("/etc/passwd");
        (void) umount("/etc/group");
        snprintf(path, sizeof(path), "%s/passwd", T);
        (void) unlink(path);
        snprintf(path, sizeof(path), "%s/group", T);
        (void) unlink(path);
        (void) rmdir(T);
        return 0;
}

static bool have_own_databases(void) {
        struct passwd *p = getpwnam("tu299");
        return p && p->pw_uid == BASE_ID + 299;
}

/* Every name and id of the databases, asked as a sweep asks them, against NSS itself. */
static void check_all(Lookup *l, Owned *o) {
        char name[16];
        for (int i = 0; i < N_USERS; i++) {
                uid_t uid;
                gid_t gid, g;
                snprintf(name, sizeof(name), "tu%03d", i);
                const struct passwd *p = getpwnam(name);
                assert_non_null(p);
                assert_int_equal(lookup_user(l, o, name, &uid, &gid), 0);
                assert_int_equal(uid, p->pw_uid);
                assert_int_equal(gid, p->pw_gid);
                snprintf(name, sizeof(name), "tg%03d", i);
                assert_int_equal(lookup_group(l, o, name, &g), 0);
                assert_int_equal(g, BASE_ID + i);
                assert_string_equal(lookup_name(l, o, false, BASE_ID + i), getpwuid(BASE_ID + i)->pw_name);
                assert_string_equal(lookup_name(l, o, true, BASE_ID + i), getgrgid(BASE_ID + i)->gr_name);
        }
        /* The first entry of a name or an id wins. */
        uid_t uid;
        assert_int_equal(lookup_user(l, o, "tu007", &uid, NULL), 0);
        assert_int_equal(uid, BASE_ID + 7);
        assert_string_equal(lookup_name(l, o, false, BASE_ID + 5), "tu005");
        assert_string_equal(lookup_name(l, o, true, BASE_ID + 5), "tg005");
        assert_int_equal(lookup_user(l, o, "tudup", &uid, NULL), 0);
        assert_int_equal(uid, BASE_ID + 5);
        /* Unknown: -ESRCH, and an id without a name is its number. */
        assert_int_equal(lookup_user(l, o, "nosuchuser", NULL, NULL), -ESRCH);
        gid_t gid;
        assert_int_equal(lookup_group(l, o, "nosuchgroup", &gid), -ESRCH);
        assert_string_equal(lookup_name(l, o, false, 39999), "39999");
}

static void test_sweep_reads_the_databases_once(void **state) {
        (void) state;
        if (!have_own_databases())
                skip();
        Lookup l = {};
        Owned o = {};
        assert_int_equal(lookup_init_sweep(&l), 0);
        assert_true(l.preload_ok); /* files (and systemd) in nsswitch.conf */
        check_all(&l, &o);
        assert_true(l.preloaded);
        lookup_done(&l, &o);
}

static void test_few_names_one_by_one(void **state) {
        (void) state;
        if (!have_own_databases())
                skip();
        Lookup l = {};
        Owned o = {};
        uid_t uid;
        assert_int_equal(lookup_init_sweep(&l), 0);
        for (int i = 0; i < 10; i++)
                assert_int_equal(lookup_user(&l, &o, "tu010", &uid, NULL), 0);
        assert_int_equal(uid, BASE_ID + 10);
        assert_false(l.preloaded);
        lookup_done(&l, &o);
}

/* A single Diagnose's caches never read a whole database. */
static void test_not_a_sweep_never_reads_all(void **state) {
        (void) state;
        if (!have_own_databases())
                skip();
        Lookup l = {};
        Owned o = {};
        assert_int_equal(lookup_init(&l), 0);
        check_all(&l, &o);
        assert_false(l.preloaded);
        lookup_done(&l, &o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sweep_reads_the_databases_once),
                cmocka_unit_test(test_few_names_one_by_one),
                cmocka_unit_test(test_not_a_sweep_never_reads_all),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
