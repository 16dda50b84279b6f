/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/acl.h>
#include <sys/stat.h>

#include "sys/pool-edit.h"
#include "util/util.h"

static const char www[] =
        "; Start a new pool named 'www'.\n"
        "[www]\n"
        "user = www-data\n"
        "group = www-data\n"
        "\n"
        "listen = /run/php/php8.2-fpm.sock\n"
        "  listen.owner   =   www-data   ; who owns it\n"
        "listen.group = \"www-data\"\n"
        ";listen.acl_users =\n"
        "listen.mode = 0660\n"
        "\n"
        "pm = dynamic\n"
        "; trailing comment of www\n"
        "\n"
        "[other]\n"
        "listen = /run/other.sock\n";

static void expect_edit(const char *text, const PoolEdit *e, size_t n, const char *expected) {
        _cleanup_free_ char *out = NULL;
        assert_int_equal(pool_text_edit(text, e, n, &out), 0);
        assert_string_equal(out, expected);
}

static void test_replace_keeps_layout(void **state) {
        (void) state;
        const PoolEdit e[] = {
                { "www", "listen.owner", "nginx" },
                { "www", "listen.group", "nginx" },
        };
        expect_edit(www, e, 2,
                    "; Start a new pool named 'www'.\n"
                    "[www]\n"
                    "user = www-data\n"
                    "group = www-data\n"
                    "\n"
                    "listen = /run/php/php8.2-fpm.sock\n"
                    "  listen.owner   =   nginx   ; who owns it\n"
                    "listen.group = \"nginx\"\n"
                    ";listen.acl_users =\n"
                    "listen.mode = 0660\n"
                    "\n"
                    "pm = dynamic\n"
                    "; trailing comment of www\n"
                    "\n"
                    "[other]\n"
                    "listen = /run/other.sock\n");
        /* Keys compare without case, as php-fpm reads them; sections do not. */
        const PoolEdit e2 = { "other", "LISTEN", "/run/x.sock" };
        expect_edit("[other]\r\nLISTEN=/run/o.sock\r\n", &e2, 1, "[other]\r\nLISTEN=/run/x.sock\r\n");
}

static void test_insert_after_last_key(void **state) {
        (void) state;
        const PoolEdit e[] = {
                { "www", "listen.acl_users", "www-data,nginx" },
                { "other", "listen.mode", "0660" },
        };
        expect_edit(www, e, 2,
                    "; Start a new pool named 'www'.\n"
                    "[www]\n"
                    "user = www-data\n"
                    "group = www-data\n"
                    "\n"
                    "listen = /run/php/php8.2-fpm.sock\n"
                    "  listen.owner   =   www-data   ; who owns it\n"
                    "listen.group = \"www-data\"\n"
                    ";listen.acl_users =\n"
                    "listen.mode = 0660\n"
                    "\n"
                    "pm = dynamic\n"
                    "listen.acl_users = www-data,nginx\n"
                    "; trailing comment of www\n"
                    "\n"
                    "[other]\n"
                    "listen = /run/other.sock\n"
                    "listen.mode = 0660\n");
        /* After the header of an empty section; a file without a final newline;
         * indentation and CRLF of the line above. */
        const PoolEdit e2 = { "p", "listen.group", "web" };
        expect_edit("[p]", &e2, 1, "[p]\nlisten.group = web");
        expect_edit("[p]\r\n\tuser = a\r\n", &e2, 1, "[p]\r\n\tuser = a\r\n\tlisten.group = web\r\n");
        /* A value that needs quotes gets them. */
        const PoolEdit e3 = { "p", "k", "a;b" };
        expect_edit("[p]\n", &e3, 1, "[p]\nk = \"a;b\"\n");
        _cleanup_free_ char *out = NULL;
        const PoolEdit bad[] = { { "nope", "k", "v" }, { "p", "k", "a\"b" }, { "p", "k=x", "v" }, { "p", "k", "a\nb" } };
        assert_int_equal(pool_text_edit("[p]\n", &bad[0], 1, &out), -ENOENT);
        for (size_t i = 1; i < ELEMENTSOF(bad); i++)
                assert_int_equal(pool_text_edit("[p]\n", &bad[i], 1, &out), -EINVAL);
        assert_null(out);
}

static void test_remove(void **state) {
        (void) state;
        const PoolEdit e[] = { { "www", "listen.mode", NULL }, { "www", "absent", NULL } };
        _cleanup_free_ char *out = NULL;
        assert_int_equal(pool_text_edit(www, e, 2, &out), 0);
        /* Exactly the one line is gone. */
        const char *line = "listen.mode = 0660\n";
        const char *at = strstr(www, line);
        assert_non_null(at);
        assert_int_equal(strlen(out), strlen(www) - strlen(line));
        assert_memory_equal(out, www, (size_t) (at - www));
        assert_string_equal(out + (at - www), at + strlen(line));
}

static const char merged[] =
        "[www]\n"
        "listen.mode = 0600\n"
        "[x]\n"
        "listen.mode = 0644\n"
        "[www]\n"
        "listen.mode = \"0640\" ; effective\n"
        "user = a\n";

static void test_repeated_sections(void **state) {
        (void) state;
        _cleanup_free_ char *v = NULL, *v2 = NULL;
        assert_int_equal(pool_text_get(merged, "www", "listen.mode", &v), 0);
        assert_string_equal(v, "0640");
        assert_int_equal(pool_text_get(merged, "x", "listen.mode", &v2), 0);
        assert_string_equal(v2, "0644");
        char *none = NULL;
        assert_int_equal(pool_text_get(merged, "www", "group", &none), -ENOENT);
        assert_int_equal(pool_text_get(merged, "y", "user", &none), -ENOENT);

        const PoolEdit set = { "www", "listen.mode", "0660" };
        expect_edit(merged, &set, 1,
                    "[www]\nlisten.mode = 0600\n[x]\nlisten.mode = 0644\n[www]\nlisten.mode = \"0660\" ; effective\nuser = a\n");
        const PoolEdit rm = { "www", "listen.mode", NULL };
        expect_edit(merged, &rm, 1, "[www]\n[x]\nlisten.mode = 0644\n[www]\nuser = a\n");
        const PoolEdit ins = { "www", "group", "g" };
        expect_edit(merged, &ins, 1,
                    "[www]\nlisten.mode = 0600\ngroup = g\n[x]\nlisten.mode = 0644\n[www]\nlisten.mode = \"0640\" ; effective\nuser = a\n");
}

/* Files: T/pool.d/www.conf (0:65534 0640) and T/alt.conf -> pool.d/www.conf. Under
 * /run, not /tmp: sockfixd edits only files no one but root can swap. */
static char T[] = "/run/test-pool-edit.XXXXXX";
static char conf[256], link_path[256], pool_dir[256];

static void write_file(const char *p, const char *text) {
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        assert_int_equal(fchown(fd, 0, 65534), 0);
        assert_int_equal(fchmod(fd, 0640), 0);
}

static char *slurp(const char *p) {
        char *t = NULL;
        assert_int_equal(read_full_file(p, &t, NULL), 0);
        return t;
}

static int setup(void **state) {
        (void) state;
        assert_non_null(mkdtemp(T));
        snprintf(pool_dir, sizeof pool_dir, "%s/pool.d", T);
        snprintf(conf, sizeof conf, "%s/pool.d/www.conf", T);
        snprintf(link_path, sizeof link_path, "%s/alt.conf", T);
        assert_int_equal(mkdir(pool_dir, 0755), 0);
        assert_int_equal(symlink("pool.d/www.conf", link_path), 0);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static size_t count_dir_entries(void) {
        _cleanup_closedir_ DIR *d = opendir(pool_dir);
        assert_non_null(d);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        n++;
        return n;
}

static void test_file_atomic_same_owner_mode(void **state) {
        (void) state;
        write_file(conf, www);
        struct stat a, b;
        assert_int_equal(stat(conf, &a), 0);
        const PoolEdit e[] = { { "www", "listen.acl_users", "www-data,nginx" }, { "www", "listen.owner", NULL } };
        PoolFileEdit r = {};
        assert_int_equal(pool_file_edit(conf, e, 2, &r), 0);
        assert_int_equal(stat(conf, &b), 0);
        assert_int_not_equal(a.st_ino, b.st_ino); /* replaced by rename, not rewritten in place */
        assert_int_equal(b.st_uid, 0);
        assert_int_equal(b.st_gid, 65534);
        assert_int_equal(b.st_mode & 07777, 0640);
        assert_int_equal(count_dir_entries(), 1); /* no temp file left */
        assert_false(r.via_symlink);
        assert_string_equal(r.original, www);
        _cleanup_free_ char *now = slurp(conf);
        assert_string_equal(r.written, now);
        assert_int_equal(r.n_changes, 2);
        assert_string_equal(r.changes[0].key, "listen.acl_users");
        assert_null(r.changes[0].before);
        assert_string_equal(r.changes[0].after, "www-data,nginx");
        assert_string_equal(r.changes[1].before, "www-data");
        assert_null(r.changes[1].after);
        _cleanup_free_ char *v = NULL;
        assert_int_equal(pool_file_get(conf, "www", "listen.acl_users", &v), 0);
        assert_string_equal(v, "www-data,nginx");
        pool_file_edit_done(&r);
}

static void test_symlink_target_edited(void **state) {
        (void) state;
        write_file(conf, www);
        const PoolEdit e = { "www", "listen.group", "nginx" };
        PoolFileEdit r = {};
        assert_int_equal(pool_file_edit(link_path, &e, 1, &r), 0);
        assert_true(r.via_symlink);
        _cleanup_free_ char *real = realpath(conf, NULL);
        assert_string_equal(r.file, real);
        struct stat st;
        assert_int_equal(lstat(link_path, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        _cleanup_free_ char *v = NULL;
        assert_int_equal(pool_file_get(conf, "www", "listen.group", &v), 0);
        assert_string_equal(v, "nginx");
        pool_file_edit_done(&r);
}

static void test_restore_keys_and_conflict(void **state) {
        (void) state;
        write_file(conf, www);
        const PoolEdit e[] = { { "www", "listen.acl_users", "www-data,nginx" }, { "www", "listen.mode", "0660" },
                               { "www", "listen.owner", NULL } };
        PoolFileEdit r = {};
        assert_int_equal(pool_file_edit(conf, e, 3, &r), 0);

        /* Someone else edits another key: our keys are undone, theirs stays. */
        _cleanup_free_ char *theirs = NULL;
        const PoolEdit other = { "www", "pm", "static" };
        assert_int_equal(pool_text_edit(r.written, &other, 1, &theirs), 0);
        write_file(conf, theirs);
        assert_int_equal(pool_file_restore_content(conf, r.written, r.original), -EBUSY);
        assert_int_equal(pool_file_restore_keys(conf, r.changes, r.n_changes, NULL), 0);
        _cleanup_free_ char *now = slurp(conf), *v = NULL, *owner = NULL, *acl = NULL;
        assert_int_equal(pool_text_get(now, "www", "pm", &v), 0);
        assert_string_equal(v, "static");
        assert_int_equal(pool_text_get(now, "www", "listen.acl_users", &acl), -ENOENT);
        /* A removed key comes back with its value (after the section's last key). */
        assert_int_equal(pool_text_get(now, "www", "listen.owner", &owner), 0);
        assert_string_equal(owner, "www-data");
        /* Keys only changed in value come back in place: the rest is byte-identical. */
        write_file(conf, www);
        PoolFileEdit r1 = {};
        assert_int_equal(pool_file_edit(conf, e, 2, &r1), 0);
        _cleanup_free_ char *theirs1 = NULL, *expected = NULL;
        assert_int_equal(pool_text_edit(r1.written, &other, 1, &theirs1), 0);
        write_file(conf, theirs1);
        assert_int_equal(pool_file_restore_keys(conf, r1.changes, r1.n_changes, NULL), 0);
        _cleanup_free_ char *now1 = slurp(conf);
        assert_int_equal(pool_text_edit(www, &other, 1, &expected), 0);
        assert_string_equal(now1, expected);
        pool_file_edit_done(&r1);

        /* Someone changed one of our keys since: nothing is written, Conflict names it. */
        PoolFileEdit r2 = {};
        assert_int_equal(pool_file_edit(conf, e, 3, &r2), 0);
        _cleanup_free_ char *changed = NULL, *conflict = NULL;
        const PoolEdit mine = { "www", "listen.acl_users", "apache" };
        assert_int_equal(pool_text_edit(r2.written, &mine, 1, &changed), 0);
        write_file(conf, changed);
        assert_int_equal(pool_file_restore_keys(conf, r2.changes, r2.n_changes, &conflict), -EBUSY);
        assert_string_equal(conflict, "[www] listen.acl_users");
        _cleanup_free_ char *after = slurp(conf);
        assert_string_equal(after, changed);
        pool_file_edit_done(&r);
        pool_file_edit_done(&r2);
}

static void test_restore_byte_exact(void **state) {
        (void) state;
        /* Odd layout on purpose: tabs, CRLF, no final newline. */
        const char *odd = "; x\r\n[www]\r\n\tlisten.owner\t=\twww-data\r\n\r\n#c\r\npm=dynamic";
        write_file(conf, odd);
        const PoolEdit e[] = { { "www", "listen.owner", "nginx" }, { "www", "listen.acl_groups", "www-data" } };
        PoolFileEdit r = {};
        assert_int_equal(pool_file_edit(conf, e, 2, &r), 0);
        _cleanup_free_ char *mid = slurp(conf);
        assert_string_equal(mid, "; x\r\n[www]\r\n\tlisten.owner\t=\tnginx\r\n\r\n#c\r\npm=dynamic\nlisten.acl_groups = www-data");
        assert_int_equal(pool_file_restore_content(conf, r.written, r.original), 0);
        _cleanup_free_ char *back = slurp(conf);
        assert_string_equal(back, odd);
        struct stat st;
        assert_int_equal(stat(conf, &st), 0);
        assert_int_equal(st.st_gid, 65534);
        assert_int_equal(st.st_mode & 07777, 0640);
        pool_file_edit_done(&r);
}

/* A file another user could change, or swap through its directory, is not edited,
 * nor restored: each refusal leaves it byte for byte as it was. */
static void expect_refused(const char *path, const char *text) {
        const PoolEdit e = { "www", "listen.mode", "0660" };
        PoolFileEdit r = {};
        assert_int_equal(pool_file_edit(path, &e, 1, &r), -EPERM);
        assert_int_equal(pool_file_restore_content(path, text, "[www]\n"), -EPERM);
        _cleanup_free_ char *now = slurp(conf);
        assert_string_equal(now, text);
}

static void test_untrusted_files_refused(void **state) {
        (void) state;
        write_file(conf, www);
        assert_int_equal(chown(conf, 65534, 65534), 0);
        expect_refused(conf, www);
        assert_int_equal(chown(conf, 0, 65534), 0);
        assert_int_equal(chmod(conf, 0660), 0);
        expect_refused(conf, www);
        /* Group write is refused for the group root too, and so is a named ACL entry
         * with write, even one the mask holds back today. */
        assert_int_equal(chown(conf, 0, 0), 0);
        expect_refused(conf, www);
        acl_t acl = acl_from_text("u::rw-,u:65534:rw-,g::r--,m::r--,o::---");
        assert_non_null(acl);
        assert_int_equal(acl_set_file(conf, ACL_TYPE_ACCESS, acl), 0);
        acl_free(acl);
        struct stat st;
        assert_int_equal(stat(conf, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        expect_refused(conf, www);
        acl = acl_from_text("u::rw-,g::r--,o::---");
        assert_int_equal(acl_set_file(conf, ACL_TYPE_ACCESS, acl), 0);
        acl_free(acl);
        assert_int_equal(chown(conf, 0, 65534), 0);
        assert_int_equal(chmod(conf, 0640), 0);
        /* The symlink's directory is root's, the target's is not. */
        assert_int_equal(chmod(pool_dir, 0777), 0);
        expect_refused(link_path, www);
        assert_int_equal(chmod(pool_dir, 0755), 0);
        const PoolEdit e = { "www", "listen.mode", "0660" };
        PoolFileEdit r = {};
        assert_int_equal(pool_file_edit(link_path, &e, 1, &r), 0);
        pool_file_edit_done(&r);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_replace_keeps_layout),
                cmocka_unit_test(test_insert_after_last_key),
                cmocka_unit_test(test_remove),
                cmocka_unit_test(test_repeated_sections),
                cmocka_unit_test(test_file_atomic_same_owner_mode),
                cmocka_unit_test(test_symlink_target_edited),
                cmocka_unit_test(test_restore_keys_and_conflict),
                cmocka_unit_test(test_restore_byte_exact),
                cmocka_unit_test(test_untrusted_files_refused),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
