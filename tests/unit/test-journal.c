/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "engine/journal.h"
#include "util/util.h"

static char T[] = "/tmp/test-journal.XXXXXX";
static char dir[256];

static int setup(void **state) {
        (void) state;
        assert_non_null(mkdtemp(T));
        snprintf(dir, sizeof dir, "%s/transactions", T);
        return 0;
}

static int teardown(void **state) {
        (void) state;
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", T);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static char *record_path(const char *id) {
        char *p = NULL;
        assert_true(asprintf(&p, "%s/%s.json", dir, id) > 0);
        return p;
}

static void test_lifecycle(void **state) {
        (void) state;
        Journal *j = NULL;
        assert_int_equal(journal_open(dir, &j), 0);
        struct stat st;
        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);

        JournalTx *tx = NULL;
        assert_int_equal(journal_begin(j, 1000, "/run/php/php8.2-fpm.sock", "pool-acl", &tx), 0);
        const char *id = journal_tx_id(tx);
        assert_true(journal_id_is_valid(id));
        /* Durable before the first change, private. */
        _cleanup_free_ char *path = record_path(id);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        _cleanup_free_ char *text = NULL;
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_non_null(strstr(text, "\"state\":\"in-progress\""));

        size_t i0, i1;
        assert_int_equal(journal_add_change(tx, "socket-acl", "/run/php/php8.2-fpm.sock", "root:root 0660",
                                            "root:root 0660 u:nginx:rw-,m::rw-",
                                            journal_undo_inode(2049, 1234, 0, 0, 0660, NULL), &i0), 0);
        assert_int_equal(journal_add_change(tx, "pool-config", "/etc/php/8.2/fpm/pool.d/www.conf [www] listen.acl_users",
                                            NULL, "www-data,nginx",
                                            journal_undo_pool("/etc/php/8.2/fpm/pool.d/www.conf", "www",
                                                              "listen.acl_users", NULL, "www-data,nginx",
                                                              "[www]\n", "[www]\nlisten.acl_users = www-data,nginx\n"),
                                            &i1), 0);
        assert_int_equal(i0, 0);
        assert_int_equal(i1, 1);
        free(text);
        text = NULL;
        assert_int_equal(read_full_file(path, &text, NULL), 0);
        assert_non_null(strstr(text, "\"status\":\"pending\""));
        assert_int_equal(journal_mark(tx, i0, JOURNAL_CHANGE_DONE), 0);
        assert_int_equal(journal_mark(tx, i1, JOURNAL_CHANGE_DONE), 0);
        assert_int_equal(journal_mark(tx, 7, JOURNAL_CHANGE_DONE), -EINVAL);
        assert_int_equal(journal_set_strategy(tx, "dir-search+pool-acl"), 0);
        assert_int_equal(journal_finish(tx, "applied"), 0);
        char saved_id[JOURNAL_ID_LEN + 1];
        strcpy(saved_id, id);
        tx = journal_tx_free(tx);

        JournalEntry *list = NULL;
        size_t n = 0;
        assert_int_equal(journal_list(j, &list, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(list[0].id, saved_id);
        assert_int_equal(list[0].uid, 1000);
        assert_string_equal(list[0].socket, "/run/php/php8.2-fpm.sock");
        assert_string_equal(list[0].strategy, "dir-search+pool-acl");
        assert_string_equal(list[0].outcome, "applied");
        assert_false(list[0].in_progress);
        assert_true(list[0].time_usec > 1600000000000000ull);
        assert_int_equal(list[0].n_changes, 2);
        assert_string_equal(list[0].changes[0].kind, "socket-acl");
        assert_string_equal(list[0].changes[0].after, "root:root 0660 u:nginx:rw-,m::rw-");
        assert_null(list[0].changes[1].before); /* absent, not "" */
        assert_int_equal(list[0].changes[1].status, JOURNAL_CHANGE_DONE);
        journal_entries_free(list, n);

        /* Revert reads the undo data back and records its progress. */
        assert_int_equal(journal_load(j, saved_id, &tx), 0);
        assert_int_equal(journal_tx_n_changes(tx), 2);
        JournalChangeStatus s;
        json_object *undo = NULL, *v;
        assert_int_equal(journal_tx_change(tx, 1, &s, &undo), 0);
        assert_int_equal(s, JOURNAL_CHANGE_DONE);
        assert_true(json_object_object_get_ex(undo, "written", &v));
        assert_string_equal(json_object_get_string(v), "[www]\nlisten.acl_users = www-data,nginx\n");
        assert_false(json_object_object_get_ex(undo, "before", &v));
        assert_int_equal(journal_tx_change(tx, 0, &s, &undo), 0);
        assert_true(json_object_object_get_ex(undo, "ino", &v));
        assert_int_equal(json_object_get_int64(v), 1234);
        assert_int_equal(journal_mark(tx, 1, JOURNAL_CHANGE_UNDONE), 0);
        assert_int_equal(journal_mark(tx, 0, JOURNAL_CHANGE_UNDONE), 0);
        assert_int_equal(journal_finish(tx, "reverted"), 0);
        JournalEntry e;
        assert_int_equal(journal_tx_entry(tx, &e), 0);
        assert_string_equal(e.outcome, "reverted");
        assert_int_equal(e.changes[0].status, JOURNAL_CHANGE_UNDONE);
        journal_entry_done(&e);
        journal_tx_free(tx);
        journal_free(j);
}

static void test_invalid_ids(void **state) {
        (void) state;
        Journal *j = NULL;
        assert_int_equal(journal_open(dir, &j), 0);
        JournalTx *tx = NULL;
        const char *bad[] = {
                "", "../../../../etc/passwd", "0123456789abcdef0123456789abcde",
                "0123456789abcdef0123456789abcdef0", "0123456789ABCDEF0123456789ABCDEF",
                "0123456789abcdef0123456789abcde/", "0123456789abcdef/../456789abcdef",
                "0123456789abcdef0123456789abcdeg",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                assert_false(journal_id_is_valid(bad[i]));
                assert_int_equal(journal_load(j, bad[i], &tx), -EINVAL);
        }
        assert_int_equal(journal_load(j, NULL, &tx), -EINVAL);
        assert_int_equal(journal_load(j, "0123456789abcdef0123456789abcdef", &tx), -ENOENT);
        assert_null(tx);
        journal_free(j);
}

static void test_crash_left_in_progress(void **state) {
        (void) state;
        Journal *j = NULL;
        assert_int_equal(journal_open(dir, &j), 0);
        JournalTx *tx = NULL;
        assert_int_equal(journal_begin(j, 0, "/run/php/crash.sock", "member", &tx), 0);
        char id[JOURNAL_ID_LEN + 1];
        strcpy(id, journal_tx_id(tx));
        size_t idx;
        assert_int_equal(journal_add_change(tx, "group-member", "nginx", "", "www-data",
                                            journal_undo_member("nginx", "www-data", false), &idx), 0);
        /* The daemon dies here: no mark, no finish. A rewrite cut short leaves a temp file. */
        journal_tx_free(tx);
        char tmp[400];
        snprintf(tmp, sizeof tmp, "%s/.%s.json.0000000000000000.tmp", dir, id);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        close(fd);
        journal_free(j);

        assert_int_equal(journal_open(dir, &j), 0);
        JournalEntry *list = NULL;
        size_t n = 0;
        assert_int_equal(journal_list(j, &list, &n), 0);
        const JournalEntry *e = NULL;
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(list[i].id, id))
                        e = &list[i];
        assert_non_null(e);
        assert_string_equal(e->outcome, "incomplete");
        assert_true(e->in_progress);
        journal_entries_free(list, n);

        size_t recovered = 0;
        assert_int_equal(journal_recover(j, &recovered), 0);
        assert_int_equal(recovered, 1);
        assert_int_equal(access(tmp, F_OK), -1);
        assert_int_equal(journal_load(j, id, &tx), 0);
        JournalEntry full;
        assert_int_equal(journal_tx_entry(tx, &full), 0);
        assert_string_equal(full.outcome, "incomplete");
        assert_false(full.in_progress);
        journal_entry_done(&full);
        /* Still revertible: the pending change and its undo data are there. */
        JournalChangeStatus s;
        json_object *undo = NULL, *v;
        assert_int_equal(journal_tx_change(tx, 0, &s, &undo), 0);
        assert_int_equal(s, JOURNAL_CHANGE_PENDING);
        assert_true(json_object_object_get_ex(undo, "was_member", &v));
        assert_false(json_object_get_boolean(v));
        journal_tx_free(tx);
        assert_int_equal(journal_recover(j, &recovered), 0);
        assert_int_equal(recovered, 0);
        journal_free(j);
}

static void test_list_sorted_and_garbage_skipped(void **state) {
        (void) state;
        Journal *j = NULL;
        assert_int_equal(journal_open(dir, &j), 0);
        for (int i = 0; i < 200; i++) {
                JournalTx *tx = NULL;
                assert_int_equal(journal_begin(j, (uid_t) i, "/run/php/many.sock", "refresh", &tx), 0);
                assert_int_equal(journal_finish(tx, "applied"), 0);
                journal_tx_free(tx);
        }
        char junk[300];
        snprintf(junk, sizeof junk, "%s/ffffffffffffffffffffffffffffffff.json", dir);
        FILE *f = fopen(junk, "we");
        assert_non_null(f);
        fputs("{ not json", f);
        fclose(f);
        snprintf(junk, sizeof junk, "%s/README", dir);
        f = fopen(junk, "we");
        assert_non_null(f);
        fclose(f);

        JournalEntry *list = NULL;
        size_t n = 0;
        assert_int_equal(journal_list(j, &list, &n), 0);
        assert_true(n >= 200);
        for (size_t i = 1; i < n; i++)
                assert_true(list[i - 1].time_usec <= list[i].time_usec);
        journal_entries_free(list, n);
        journal_free(j);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_lifecycle),
                cmocka_unit_test(test_invalid_ids),
                cmocka_unit_test(test_crash_left_in_progress),
                cmocka_unit_test(test_list_sorted_and_garbage_skipped),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
