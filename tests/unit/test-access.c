/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "engine/access.h"
#include "util/util.h"
#include "fs-test.h"

/* ---- fixtures: InodeInfo built in code, one per rule branch ---- */

static InodeInfo ino(mode_t mode, uid_t uid, gid_t gid, AclItem *acl, size_t n_acl) {
        return (InodeInfo) {
                .path = (char *) "/fixture",
                .st = { .st_mode = mode, .st_uid = uid, .st_gid = gid },
                .acl = acl,
                .n_acl = n_acl,
        };
}

static const gid_t g33[] = { 33 }, g2000[] = { 2000 }, g33_2000[] = { 33, 2000 };
static const Creds web = { .uid = 1000, .gid = 1000 };
static const Creds web33 = { .uid = 1000, .gid = 1000, .groups = g33, .n_groups = 1 };
static const Creds web2000 = { .uid = 1000, .gid = 1000, .groups = g2000, .n_groups = 1 };
static const Creds web33_2000 = { .uid = 1000, .gid = 1000, .groups = g33_2000, .n_groups = 2 };
static const Creds root = { .uid = 0, .gid = 0 };

static void expect(const InodeInfo *i, const Creds *c, unsigned want, int r, AccessClass cls) {
        AccessClass got = (AccessClass) -1;
        assert_int_equal(access_inode(i, c, want, &got), r);
        assert_int_equal(got, cls);
}

static void test_mode_bits(void **state) {
        (void) state;
        /* the owner class ignores a group that would grant */
        InodeInfo owner = ino(S_IFSOCK | 0460, 1000, 1000, NULL, 0);
        expect(&owner, &web, ACCESS_WRITE, -EACCES, ACCESS_CLASS_OWNER);
        expect(&owner, &web, ACCESS_READ, 0, ACCESS_CLASS_OWNER);

        InodeInfo sock = ino(S_IFSOCK | 0660, 0, 33, NULL, 0);
        expect(&sock, &web33, ACCESS_WRITE, 0, ACCESS_CLASS_GROUP);      /* supplementary */
        expect(&sock, &web, ACCESS_WRITE, -EACCES, ACCESS_CLASS_OTHER);
        Creds primary = { .uid = 1000, .gid = 33 };
        expect(&sock, &primary, ACCESS_WRITE, 0, ACCESS_CLASS_GROUP);

        InodeInfo world = ino(S_IFSOCK | 0666, 0, 0, NULL, 0);
        expect(&world, &web, ACCESS_WRITE, 0, ACCESS_CLASS_OTHER);

        /* the group class decides even when "other" would grant */
        InodeInfo grp = ino(S_IFSOCK | 0646, 0, 33, NULL, 0);
        expect(&grp, &web33, ACCESS_WRITE, -EACCES, ACCESS_CLASS_GROUP);

        InodeInfo dir = ino(S_IFDIR | 0710, 0, 33, NULL, 0);
        expect(&dir, &web33, ACCESS_EXEC, 0, ACCESS_CLASS_GROUP);
        expect(&dir, &web, ACCESS_EXEC, -EACCES, ACCESS_CLASS_OTHER);
}

static void test_root(void **state) {
        (void) state;
        InodeInfo dir = ino(S_IFDIR | 0000, 1000, 1000, NULL, 0);
        expect(&dir, &root, ACCESS_EXEC, 0, ACCESS_CLASS_ROOT);
        InodeInfo sock = ino(S_IFSOCK | 0000, 1000, 1000, NULL, 0);
        expect(&sock, &root, ACCESS_WRITE, 0, ACCESS_CLASS_ROOT);
        /* CAP_DAC_OVERRIDE does not execute a file no one may execute */
        InodeInfo file = ino(S_IFREG | 0666, 1000, 1000, NULL, 0);
        expect(&file, &root, ACCESS_EXEC, -EACCES, ACCESS_CLASS_ROOT);
}

static void test_acl_named_user(void **state) {
        (void) state;
        AclItem acl[] = {
                { ACL_TAG_USER_OBJ, 0, 6 },
                { ACL_TAG_USER, 1000, 6 },
                { ACL_TAG_GROUP_OBJ, 0, 0 },
                { ACL_TAG_MASK, 0, 4 },
                { ACL_TAG_OTHER, 0, 6 },
        };
        /* mode's group bits are the mask (r) */
        InodeInfo i = ino(S_IFSOCK | 0646, 0, 0, acl, ELEMENTSOF(acl));
        expect(&i, &web, ACCESS_WRITE, -EACCES, ACCESS_CLASS_NAMED_USER); /* masked, no fall to other */
        expect(&i, &web, ACCESS_READ, 0, ACCESS_CLASS_NAMED_USER);

        acl[3].perm = 6;
        i.st.st_mode = S_IFSOCK | 0666;
        expect(&i, &web, ACCESS_WRITE, 0, ACCESS_CLASS_NAMED_USER);
        Creds other = { .uid = 1001, .gid = 1001 };
        expect(&i, &other, ACCESS_WRITE, 0, ACCESS_CLASS_OTHER);

        /* the owner is never masked */
        InodeInfo own = ino(S_IFSOCK | 0600, 1000, 0, acl, ELEMENTSOF(acl));
        acl[3].perm = 0;
        expect(&own, &web, ACCESS_WRITE, 0, ACCESS_CLASS_OWNER);

        /* mask ---: the kernel skips the ACL and the named user falls to "other" */
        InodeInfo m0 = ino(S_IFSOCK | 0606, 0, 0, acl, ELEMENTSOF(acl));
        expect(&m0, &web, ACCESS_WRITE, 0, ACCESS_CLASS_OTHER);
}

static void test_acl_groups(void **state) {
        (void) state;
        AclItem acl[] = {
                { ACL_TAG_USER_OBJ, 0, 6 },
                { ACL_TAG_GROUP_OBJ, 0, 4 },
                { ACL_TAG_GROUP, 2000, 6 },
                { ACL_TAG_MASK, 0, 6 },
                { ACL_TAG_OTHER, 0, 6 },
        };
        InodeInfo i = ino(S_IFSOCK | 0666, 0, 33, acl, ELEMENTSOF(acl));

        expect(&i, &web2000, ACCESS_WRITE, 0, ACCESS_CLASS_GROUP);       /* named group */
        expect(&i, &web33_2000, ACCESS_WRITE, 0, ACCESS_CLASS_GROUP);    /* any matching group grants */
        expect(&i, &web33, ACCESS_WRITE, -EACCES, ACCESS_CLASS_GROUP);   /* group-obj r: no fall to other rw */
        expect(&i, &web33, ACCESS_READ, 0, ACCESS_CLASS_GROUP);
        expect(&i, &web, ACCESS_WRITE, 0, ACCESS_CLASS_OTHER);

        /* the group-obj entry, not the mode's group bits (the mask), decides */
        acl[1].perm = 6;
        acl[3].perm = 4;
        i.st.st_mode = S_IFSOCK | 0646;
        expect(&i, &web33, ACCESS_WRITE, -EACCES, ACCESS_CLASS_GROUP);
        acl[3].perm = 6;
        i.st.st_mode = S_IFSOCK | 0660;
        expect(&i, &web33, ACCESS_WRITE, 0, ACCESS_CLASS_GROUP);
}

static void test_walk_fixture(void **state) {
        (void) state;
        InodeInfo dirs[] = {
                ino(S_IFDIR | 0755, 0, 0, NULL, 0),
                ino(S_IFDIR | 0710, 0, 33, NULL, 0),
        };
        PathWalk w = {
                .dirs = dirs, .n_dirs = 2, .have_final = true, .final_fd = -1,
                .final = ino(S_IFSOCK | 0660, 0, 33, NULL, 0),
        };
        AccessVerdict v;

        access_walk(&w, &web33, &v);
        assert_int_equal(v.error, 0);
        assert_int_equal(v.blocking_dir, -1);
        assert_false(v.socket_denied);
        assert_int_equal(v.cls, ACCESS_CLASS_GROUP);

        access_walk(&w, &web, &v);
        assert_int_equal(v.error, EACCES);
        assert_int_equal(v.blocking_dir, 1);
        assert_false(v.socket_denied);
        assert_int_equal(v.cls, ACCESS_CLASS_OTHER);

        dirs[1].st.st_mode = S_IFDIR | 0711;
        access_walk(&w, &web, &v);
        assert_int_equal(v.error, EACCES);
        assert_int_equal(v.blocking_dir, -1);
        assert_true(v.socket_denied);

        /* the walk's own error comes after the directories it passed */
        w.have_final = false;
        w.error = ENOENT;
        access_walk(&w, &web, &v);
        assert_int_equal(v.error, ENOENT);
        dirs[1].st.st_mode = S_IFDIR | 0710;
        access_walk(&w, &web, &v);
        assert_int_equal(v.error, EACCES);
        assert_int_equal(v.blocking_dir, 1);
}

static void test_strings(void **state) {
        (void) state;
        assert_string_equal(access_class_to_string(ACCESS_CLASS_ROOT), "root");
        assert_string_equal(access_class_to_string(ACCESS_CLASS_OWNER), "owner");
        assert_string_equal(access_class_to_string(ACCESS_CLASS_NAMED_USER), "named-user");
        assert_string_equal(access_class_to_string(ACCESS_CLASS_GROUP), "group");
        assert_string_equal(access_class_to_string(ACCESS_CLASS_OTHER), "other");
        assert_null(access_class_to_string((AccessClass) 99));
        assert_true(creds_in_group(&web33, 33));
        assert_true(creds_in_group(&web33, 1000));
        assert_false(creds_in_group(&web33, 34));
}

/* ---- real files: the rule must agree with the kernel ---- */

static char *T;

/* What the kernel says: connect() from a child holding exactly these credentials.
 * The sockets do not listen, so "allowed" shows as ECONNREFUSED. */
static int kernel_connect(const char *path, const Creds *c) {
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                if (setgroups(c->n_groups, c->groups) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
                    setresuid(c->uid, c->uid, c->uid) < 0)
                        _exit(255);
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                strcpy(sa.sun_path, path);
                if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
                        _exit(0);
                _exit(errno == ECONNREFUSED ? 0 : errno);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_not_equal(WEXITSTATUS(status), 255);
        return WEXITSTATUS(status);
}

static int setup_tree(void **state) {
        (void) state;
        T = strdup("/tmp/test-access-XXXXXX");
        if (!T || !mkdtemp(T))
                return -1;
        run("cd '%s' && chmod 0755 . && mkdir -m 0755 open && mkdir -m 0700 closed && "
            "mkdir -m 0710 grp && chgrp 4242 grp && mkdir -m 0700 acldir && setfacl -m u:65534:x acldir && "
            "mkdir -m 0755 mask0", T);

        static const char *const socks[] = {
                "open/s0660", "open/s0666", "closed/s", "grp/s", "acldir/s", "open/acl-user", "open/acl-masked",
                "open/acl-group", "open/acl-groupobj", "mask0/s", "open/owner", "open/s0606",
        };
        for (size_t i = 0; i < ELEMENTSOF(socks); i++) {
                _cleanup_free_ char *p = NULL;
                assert_true(asprintf(&p, "%s/%s", T, socks[i]) > 0);
                bind_socket(p);
        }
        run("cd '%s' && chmod 0660 open/s0660 grp/s && chmod 0666 open/s0666 closed/s && chgrp 4242 grp/s && "
            "chmod 0600 acldir/s open/acl-user && setfacl -m u:65534:rw acldir/s open/acl-user && "
            "setfacl -m u:65534:rw,m::r open/acl-masked && chmod o+rw open/acl-masked && "
            "chmod 0600 open/acl-group && setfacl -m g:4242:rw open/acl-group && "
            "chgrp 4242 open/acl-groupobj && chmod 0646 open/acl-groupobj && setfacl -m g::r,g:4244:rw,m::rw open/acl-groupobj && "
            "setfacl -m u:65534:rwx,m::- mask0/s && chmod o+rw mask0/s && "
            "chown 65534:4242 open/owner && chmod 0460 open/owner && chmod 0606 open/s0606", T);
        return 0;
}

static int teardown_tree(void **state) {
        (void) state;
        run("rm -rf '%s'", T);
        free(T);
        T = NULL;
        return 0;
}

static void test_agrees_with_kernel(void **state) {
        static const char *const paths[] = {
                "open/s0660", "open/s0666", "closed/s", "grp/s", "acldir/s", "open/acl-user", "open/acl-masked",
                "open/acl-group", "open/acl-groupobj", "mask0/s", "open/owner", "open/s0606", "open/missing",
                "open/s0666/x", "missing/s", "closed/missing",
        };
        static const gid_t none[] = { 0 }, g4242[] = { 4242 }, g4244[] = { 4244 }, both[] = { 4242, 4244 };
        const Creds creds[] = {
                { 65534, 65534, none, 0 },
                { 65534, 65534, g4242, 1 },
                { 4243, 4243, both, 2 },
                { 4243, 4243, g4244, 1 },
                { 4243, 4242, none, 0 },
                { 4243, 4243, none, 0 },
        };
        unsigned allowed = 0, denied = 0, other = 0;
        (void) state;

        for (size_t p = 0; p < ELEMENTSOF(paths); p++) {
                _cleanup_free_ char *path = NULL;
                PathWalk w;

                assert_true(asprintf(&path, "%s/%s", T, paths[p]) > 0);
                assert_int_equal(path_walk(path, &w), 0);
                for (size_t c = 0; c < ELEMENTSOF(creds); c++) {
                        AccessVerdict v;
                        access_walk(&w, &creds[c], &v);
                        int k = kernel_connect(path, &creds[c]);
                        print_message("# %-20s uid=%u gid=%u n_groups=%zu: rule %i (%s), kernel %i\n", paths[p],
                                      creds[c].uid, creds[c].gid, creds[c].n_groups, v.error,
                                      access_class_to_string(v.cls), k);
                        assert_int_equal(v.error, k);
                        if (k == 0)
                                allowed++;
                        else if (k == EACCES)
                                denied++;
                        else
                                other++;
                }
                path_walk_done(&w);
        }
        /* the comparison means something only if every outcome occurred */
        assert_true(allowed >= 10);
        assert_true(denied >= 10);
        assert_true(other >= 6);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mode_bits),
                cmocka_unit_test(test_root),
                cmocka_unit_test(test_acl_named_user),
                cmocka_unit_test(test_acl_groups),
                cmocka_unit_test(test_walk_fixture),
                cmocka_unit_test(test_strings),
                cmocka_unit_test_setup_teardown(test_agrees_with_kernel, setup_tree, teardown_tree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
