/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "sys/inode-change.h"
#include "util/util.h"

/* Under a fresh temp dir T: T/d (0700) holding T/d/sock (0660), and T/file. */
static char T[] = "/tmp/test-inode-change.XXXXXX";
static char dir[256], sock[256], file[256];
static int sock_fd = -1;

static int setup(void **state) {
        (void) state;
        assert_non_null(mkdtemp(T));
        snprintf(dir, sizeof dir, "%s/d", T);
        snprintf(sock, sizeof sock, "%s/d/sock", T);
        snprintf(file, sizeof file, "%s/file", T);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chmod(dir, 0700), 0);
        sock_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(sock);
        assert_true(n < sizeof sa.sun_path);
        memcpy(sa.sun_path, sock, n + 1);
        assert_int_equal(bind(sock_fd, (struct sockaddr *) &sa, sizeof sa), 0);
        assert_int_equal(chmod(sock, 0660), 0);
        int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        closep(&sock_fd);
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static int open_path(const char *p) {
        int fd = open(p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static void reset_socket(void) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "setfacl -b '%s' && chown 0:0 '%s' && chmod 0660 '%s'", sock, sock, sock);
        assert_int_equal(system(cmd), 0);
}

static void test_chown_chmod(void **state) {
        (void) state;
        reset_socket();
        _cleanup_close_ int fd = open_path(sock);
        assert_int_equal(inode_chown(fd, INODE_SOCKET, (uid_t) -1, 65534), 0);
        struct stat st;
        assert_int_equal(stat(sock, &st), 0);
        assert_int_equal(st.st_gid, 65534);
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(inode_chmod(fd, INODE_SOCKET, 0640), 0);
        assert_int_equal(stat(sock, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        /* Never other-write. */
        assert_int_equal(inode_chmod(fd, INODE_SOCKET, 0666), -EPERM);
        assert_int_equal(inode_chmod(fd, INODE_SOCKET, 0777), -EPERM);
        assert_int_equal(stat(sock, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
}

static void test_dir_search_mask(void **state) {
        (void) state;
        _cleanup_close_ int fd = open_path(dir);
        assert_int_equal(inode_acl_grant(fd, INODE_DIRECTORY, INODE_ACL_USER, 65534, 1), 0);
        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        /* The mask makes a 0700 dir show 0710; other stays ---. */
        assert_int_equal(st.st_mode & 07777, 0710);
        InodeState s = {};
        assert_int_equal(inode_state_read(fd, INODE_DIRECTORY, &s), 0);
        assert_non_null(s.acl);
        assert_non_null(strstr(s.acl, "u:65534:--x"));
        assert_non_null(strstr(s.acl, "g::---"));
        assert_non_null(strstr(s.acl, "m::--x"));
        assert_non_null(strstr(s.acl, "o::---"));
        inode_state_done(&s);

        assert_int_equal(inode_acl_revoke(fd, INODE_DIRECTORY, INODE_ACL_USER, 65534), 0);
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(inode_state_read(fd, INODE_DIRECTORY, &s), 0);
        assert_null(s.acl);
        inode_state_done(&s);
}

static void test_socket_acl_grant_revoke(void **state) {
        (void) state;
        reset_socket();
        _cleanup_close_ int fd = open_path(sock);
        assert_int_equal(inode_chmod(fd, INODE_SOCKET, 0640), 0);
        InodeState before = {}, s = {};
        assert_int_equal(inode_state_read(fd, INODE_SOCKET, &before), 0);
        assert_null(before.acl);

        assert_int_equal(inode_acl_grant(fd, INODE_SOCKET, INODE_ACL_USER, 65534, 6), 0);
        assert_int_equal(inode_acl_grant(fd, INODE_SOCKET, INODE_ACL_GROUP, 65534, 6), 0);
        assert_int_equal(inode_state_read(fd, INODE_SOCKET, &s), 0);
        assert_string_equal(s.acl, "u::rw-,u:65534:rw-,g::r--,g:65534:rw-,m::rw-,o::---");
        /* The owning group keeps r--: only the mask widened, to what the entries need. */
        assert_int_equal(s.mode, 0660);
        _cleanup_free_ char *text = NULL;
        assert_int_equal(inode_state_format(&s, &text), 0);
        assert_string_equal(text, "root:root 0660 u:nobody:rw-,g:nogroup:rw-,m::rw-");
        inode_state_done(&s);

        /* Granting again adds nothing. */
        assert_int_equal(inode_acl_grant(fd, INODE_SOCKET, INODE_ACL_USER, 65534, 2), 0);
        assert_int_equal(inode_acl_revoke(fd, INODE_SOCKET, INODE_ACL_GROUP, 65534), 0);
        assert_int_equal(inode_state_read(fd, INODE_SOCKET, &s), 0);
        assert_string_equal(s.acl, "u::rw-,u:65534:rw-,g::r--,m::rw-,o::---");
        inode_state_done(&s);
        assert_int_equal(inode_acl_revoke(fd, INODE_SOCKET, INODE_ACL_USER, 65534), 0);
        assert_int_equal(inode_acl_revoke(fd, INODE_SOCKET, INODE_ACL_USER, 65534), 0);
        assert_int_equal(inode_state_read(fd, INODE_SOCKET, &s), 0);
        assert_true(inode_state_equal(&s, &before));
        inode_state_done(&s);
        inode_state_done(&before);
        assert_int_equal(inode_acl_grant(fd, INODE_SOCKET, INODE_ACL_USER, 65534, 0), -EINVAL);
}

static void test_restore_exact(void **state) {
        (void) state;
        reset_socket();
        _cleanup_close_ int fd = open_path(sock);
        InodeState plain = {}, with_acl = {}, s = {};
        assert_int_equal(inode_state_read(fd, INODE_SOCKET, &plain), 0);

        assert_int_equal(inode_chown(fd, INODE_SOCKET, 65534, 65534), 0);
        assert_int_equal(inode_acl_grant(fd, INODE_SOCKET, INODE_ACL_USER, 33, 6), 0);
        assert_int_equal(inode_chmod(fd, INODE_SOCKET, 0600), 0);
        assert_int_equal(inode_state_read(fd, INODE_SOCKET, &with_acl), 0);
        assert_non_null(with_acl.acl);

        assert_int_equal(inode_state_restore(fd, INODE_SOCKET, &plain), 0);
        assert_int_equal(inode_state_read(fd, INODE_SOCKET, &s), 0);
        assert_true(inode_state_equal(&s, &plain));
        inode_state_done(&s);

        assert_int_equal(inode_state_restore(fd, INODE_SOCKET, &with_acl), 0);
        assert_int_equal(inode_state_read(fd, INODE_SOCKET, &s), 0);
        assert_true(inode_state_equal(&s, &with_acl));
        assert_int_equal(s.uid, 65534);
        assert_int_equal(s.mode, 0600);
        inode_state_done(&s);

        assert_int_equal(inode_state_restore(fd, INODE_SOCKET, &plain), 0);
        inode_state_done(&plain);
        inode_state_done(&with_acl);
}

static void test_swapped_inode(void **state) {
        (void) state;
        char path[300], moved[300];
        snprintf(path, sizeof path, "%s/swap.sock", T);
        snprintf(moved, sizeof moved, "%s/swap.moved", T);
        _cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(path);
        assert_true(n < sizeof sa.sun_path);
        memcpy(sa.sun_path, path, n + 1);
        assert_int_equal(bind(s, (struct sockaddr *) &sa, sizeof sa), 0);
        _cleanup_close_ int fd = open_path(path);
        struct stat old;
        assert_int_equal(fstat(fd, &old), 0);

        /* Someone replaces the name with a regular file (a victim). */
        assert_int_equal(rename(path, moved), 0);
        _cleanup_close_ int victim = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(victim >= 0);
        struct stat vst;
        assert_int_equal(fstat(victim, &vst), 0);

        assert_int_equal(inode_matches(fd, old.st_dev, old.st_ino), 0);
        assert_int_equal(inode_matches(fd, vst.st_dev, vst.st_ino), -ESTALE);
        /* The change lands on the inode we inspected, never on the victim. */
        assert_int_equal(inode_chown(fd, INODE_SOCKET, (uid_t) -1, 65534), 0);
        assert_int_equal(inode_acl_grant(fd, INODE_SOCKET, INODE_ACL_USER, 65534, 6), 0);
        assert_int_equal(stat(path, &vst), 0);
        assert_int_equal(vst.st_gid, 0);
        assert_int_equal(vst.st_mode & 07777, 0600);
        InodeState vs = {};
        _cleanup_close_ int vfd = open_path(path);
        assert_int_equal(inode_state_read(vfd, INODE_SOCKET, &vs), -ENOTSOCK);
        struct stat mst;
        assert_int_equal(stat(moved, &mst), 0);
        assert_int_equal(mst.st_gid, 65534);
}

static void test_wrong_kind_refused(void **state) {
        (void) state;
        _cleanup_close_ int ffd = open_path(file);
        _cleanup_close_ int sfd = open_path(sock);
        _cleanup_close_ int dfd = open_path(dir);
        InodeState s = {};
        assert_int_equal(inode_chown(ffd, INODE_SOCKET, (uid_t) -1, 65534), -ENOTSOCK);
        assert_int_equal(inode_chmod(ffd, INODE_SOCKET, 0600), -ENOTSOCK);
        assert_int_equal(inode_acl_grant(ffd, INODE_DIRECTORY, INODE_ACL_USER, 65534, 1), -ENOTDIR);
        assert_int_equal(inode_acl_revoke(ffd, INODE_SOCKET, INODE_ACL_USER, 65534), -ENOTSOCK);
        assert_int_equal(inode_state_restore(ffd, INODE_SOCKET, &s), -ENOTSOCK);
        assert_int_equal(inode_acl_grant(sfd, INODE_DIRECTORY, INODE_ACL_USER, 65534, 1), -ENOTDIR);
        assert_int_equal(inode_chown(dfd, INODE_SOCKET, (uid_t) -1, 65534), -ENOTSOCK);
        assert_int_equal(inode_check(-1, INODE_SOCKET, NULL), -EBADF);
        struct stat st;
        assert_int_equal(stat(file, &st), 0);
        assert_int_equal(st.st_gid, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chown_chmod),
                cmocka_unit_test(test_dir_search_mask),
                cmocka_unit_test(test_socket_acl_grant_revoke),
                cmocka_unit_test(test_restore_exact),
                cmocka_unit_test(test_swapped_inode),
                cmocka_unit_test(test_wrong_kind_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
