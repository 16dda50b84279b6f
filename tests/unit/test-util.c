/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>

#include "util/hashmap.h"
#include "util/util.h"

static void test_strv_extend_and_contains(void **state) {
        (void) state;
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(strv_length(l), 0);
        assert_false(strv_contains(l, "a"));
        assert_int_equal(strv_extend(&l, "a"), 0);
        assert_int_equal(strv_extend(&l, "b"), 0);
        assert_int_equal(strv_length(l), 2);
        assert_string_equal(l[0], "a");
        assert_string_equal(l[1], "b");
        assert_null(l[2]);
        assert_true(strv_contains(l, "b"));
        assert_false(strv_contains(l, "c"));
}

static void test_strv_extend_unique(void **state) {
        (void) state;
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(strv_extend_unique(&l, "www-data"), 0);
        assert_int_equal(strv_extend_unique(&l, "nginx"), 0);
        assert_int_equal(strv_extend_unique(&l, "www-data"), 0);
        assert_int_equal(strv_length(l), 2);
}

static void test_strv_consume(void **state) {
        (void) state;
        _cleanup_strv_free_ char **l = NULL;

        assert_int_equal(strv_consume(&l, strdup("x")), 0);
        assert_int_equal(strv_consume(&l, NULL), -ENOMEM);
        assert_int_equal(strv_length(l), 1);
}

static void test_strv_join(void **state) {
        (void) state;
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *empty = strv_join(l, "+");

        assert_string_equal(empty, "");
        assert_int_equal(strv_extend(&l, "dir-search"), 0);
        _cleanup_free_ char *one = strv_join(l, "+");
        assert_string_equal(one, "dir-search");
        assert_int_equal(strv_extend(&l, "pool-acl"), 0);
        _cleanup_free_ char *two = strv_join(l, "+");
        assert_string_equal(two, "dir-search+pool-acl");
}

static void test_hashmap_u64(void **state) {
        (void) state;
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new_u64();
        static int values[3];

        assert_non_null(h);
        assert_null(hashmap_get_u64(h, 1));
        assert_int_equal(hashmap_size(h), 0);

        assert_int_equal(hashmap_put_u64(h, 0, &values[0]), 0);
        assert_int_equal(hashmap_put_u64(h, UINT64_MAX, &values[1]), 0);
        assert_ptr_equal(hashmap_get_u64(h, 0), &values[0]);
        assert_ptr_equal(hashmap_get_u64(h, UINT64_MAX), &values[1]);
        assert_null(hashmap_get_u64(h, 1));

        /* Replacing keeps the size. */
        assert_int_equal(hashmap_put_u64(h, 0, &values[2]), 0);
        assert_ptr_equal(hashmap_get_u64(h, 0), &values[2]);
        assert_int_equal(hashmap_size(h), 2);
}

/* Keys that agree in their low bits (inode numbers a power of two apart) must not
 * shadow each other, across many growths of the table. */
static void test_hashmap_u64_grow(void **state) {
        (void) state;
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new_u64();
        const uint64_t n = 20000;

        assert_non_null(h);
        for (uint64_t i = 0; i < n; i++)
                assert_int_equal(hashmap_put_u64(h, i << 32, (void *) (uintptr_t) (i + 1)), 0);
        assert_int_equal(hashmap_size(h), n);
        for (uint64_t i = 0; i < n; i++)
                assert_int_equal((uintptr_t) hashmap_get_u64(h, i << 32), i + 1);
        assert_null(hashmap_get_u64(h, n << 32));
        assert_null(hashmap_get_u64(h, 1));
}

static void test_hashmap_str(void **state) {
        (void) state;
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new_str();
        char keys[5000][32];

        assert_non_null(h);
        assert_null(hashmap_get_str(h, "/run/php/php8.2-fpm.sock"));
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                snprintf(keys[i], sizeof(keys[i]), "/run/php/pool%zu.sock", i);
                assert_int_equal(hashmap_put_str(h, keys[i], keys[i]), 0);
        }
        assert_int_equal(hashmap_size(h), ELEMENTSOF(keys));

        /* Lookups compare contents, not pointers. */
        char probe[32];
        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                snprintf(probe, sizeof(probe), "/run/php/pool%zu.sock", i);
                assert_ptr_equal(hashmap_get_str(h, probe), keys[i]);
        }
        assert_null(hashmap_get_str(h, "/run/php/pool5000.sock"));
        assert_null(hashmap_get_str(h, ""));

        /* Keys hashed 8 bytes at a time: prefixes of one another, of every tail length,
         * are all distinct keys. */
        static char prefixes[41][41];
        for (size_t n = 0; n <= 40; n++) {
                memset(prefixes[n], 'x', n);
                assert_int_equal(hashmap_put_str(h, prefixes[n], prefixes[n]), 0);
        }
        for (size_t n = 0; n <= 40; n++) {
                char probe_x[41] = "";
                memset(probe_x, 'x', n);
                assert_ptr_equal(hashmap_get_str(h, probe_x), prefixes[n]);
        }
        assert_int_equal(hashmap_size(h), ELEMENTSOF(keys) + 41);
}

/* Removal keeps every other key reachable, including keys that probed past the
 * removed one (sequential keys collide in a small table). */
static void test_hashmap_remove(void **state) {
        (void) state;
        Hashmap *h = hashmap_new_u64();
        char names[2000][16];
        Hashmap *s = hashmap_new_str();
        for (uint64_t i = 1; i <= 2000; i++) {
                assert_int_equal(hashmap_put_u64(h, i, (void *) (uintptr_t) i), 0);
                snprintf(names[i - 1], sizeof(names[0]), "/run/p%u.sock", (unsigned) i);
                assert_int_equal(hashmap_put_str(s, names[i - 1], (void *) (uintptr_t) i), 0);
        }
        for (uint64_t i = 1; i <= 2000; i += 2) {
                assert_ptr_equal(hashmap_remove_u64(h, i), (void *) (uintptr_t) i);
                assert_ptr_equal(hashmap_remove_str(s, names[i - 1]), (void *) (uintptr_t) i);
        }
        assert_null(hashmap_remove_u64(h, 1));
        assert_null(hashmap_remove_str(s, "/nope"));
        assert_int_equal(hashmap_size(h), 1000);
        assert_int_equal(hashmap_size(s), 1000);
        for (uint64_t i = 1; i <= 2000; i++) {
                void *want = i % 2 ? NULL : (void *) (uintptr_t) i;
                assert_ptr_equal(hashmap_get_u64(h, i), want);
                assert_ptr_equal(hashmap_get_str(s, names[i - 1]), want);
        }
        /* A removed key can come back. */
        assert_int_equal(hashmap_put_u64(h, 7, (void *) 7), 0);
        assert_ptr_equal(hashmap_get_u64(h, 7), (void *) 7);
        hashmap_free(h);
        hashmap_free(s);
}

/* Keyed maps (the value carries its key, the slot holds the value only) behave as the
 * others: growth, lookups by content, a value replaced under an equal key, and removal
 * that keeps keys probing past the removed one reachable. */
typedef struct Item {
        uint64_t ino;
        char path[24];
} Item;

static uint64_t item_ino(const void *v) {
        return ((const Item *) v)->ino;
}

static const char *item_path(const void *v) {
        return ((const Item *) v)->path;
}

static void test_hashmap_keyed(void **state) {
        (void) state;
        _cleanup_(hashmap_freep) Hashmap *by_ino = hashmap_new_u64_keyed(item_ino);
        _cleanup_(hashmap_freep) Hashmap *by_path = hashmap_new_str_keyed(item_path);
        static Item items[3000], again;

        assert_non_null(by_ino);
        assert_non_null(by_path);
        assert_null(hashmap_get_u64(by_ino, 1));
        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                items[i].ino = (uint64_t) i << 32; /* equal low bits: they collide */
                snprintf(items[i].path, sizeof(items[i].path), "/run/php/p%zu.sock", i);
                assert_int_equal(hashmap_put_u64(by_ino, items[i].ino, &items[i]), 0);
                assert_int_equal(hashmap_put_str(by_path, items[i].path, &items[i]), 0);
        }
        assert_int_equal(hashmap_size(by_ino), ELEMENTSOF(items));
        char probe[24];
        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                snprintf(probe, sizeof(probe), "/run/php/p%zu.sock", i);
                assert_ptr_equal(hashmap_get_str(by_path, probe), &items[i]);
                assert_ptr_equal(hashmap_get_u64(by_ino, (uint64_t) i << 32), &items[i]);
        }
        assert_null(hashmap_get_str(by_path, "/run/php/p3000.sock"));

        again = items[7];
        assert_int_equal(hashmap_put_str(by_path, again.path, &again), 0);
        assert_ptr_equal(hashmap_get_str(by_path, items[7].path), &again);
        assert_int_equal(hashmap_size(by_path), ELEMENTSOF(items));

        for (size_t i = 0; i < ELEMENTSOF(items); i += 2) {
                assert_non_null(hashmap_remove_u64(by_ino, items[i].ino));
                assert_non_null(hashmap_remove_str(by_path, items[i].path));
        }
        assert_int_equal(hashmap_size(by_ino), ELEMENTSOF(items) / 2);
        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                const Item *want = i % 2 ? (i == 7 ? &again : &items[i]) : NULL;
                assert_ptr_equal(hashmap_get_str(by_path, items[i].path), want);
                assert_ptr_equal(hashmap_get_u64(by_ino, items[i].ino), i % 2 ? &items[i] : NULL);
        }
}

/* The first element inline, the rest in an array of the list's own. */
static void test_inline_list(void **state) {
        (void) state;
        struct {
                int *items;
                size_t n;
                int first;
        } l = {};

        int *slot = INLINE_LIST_PUSH(l.items, l.first, l.n);
        assert_ptr_equal(slot, &l.first);
        *slot = 10;
        assert_ptr_equal(l.items, &l.first);
        assert_int_equal(l.n, 1);
        for (int v = 11; v < 20; v++) {
                slot = INLINE_LIST_PUSH(l.items, l.first, l.n);
                assert_non_null(slot);
                *slot = v;
        }
        assert_ptr_not_equal(l.items, &l.first);
        assert_int_equal(l.n, 10);
        for (size_t i = 0; i < l.n; i++)
                assert_int_equal(l.items[i], 10 + (int) i);
        free(l.items);
}

static void test_hashmap_free_null(void **state) {
        (void) state;
        assert_null(hashmap_free(NULL));
        assert_int_equal(hashmap_size(NULL), 0);
}

/* What sd-bus would refuse is escaped byte by byte; what it takes stays as it is. */
static void expect_utf8(const char *in, bool valid, const char *escaped) {
        assert_int_equal(utf8_is_valid(in), valid);
        _cleanup_free_ char *e = utf8_escape_invalid(in);
        assert_non_null(e);
        assert_string_equal(e, escaped);
        assert_true(utf8_is_valid(e));
}

static void test_utf8(void **state) {
        (void) state;
        expect_utf8("/run/php/php8.2-fpm.sock", true, "/run/php/php8.2-fpm.sock");
        expect_utf8("/run/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80.sock", true,
                    "/run/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80.sock");
        expect_utf8("caf\xe9.sock", false, "caf\\xe9.sock");                    /* Latin-1 */
        expect_utf8("\xc0\xaf", false, "\\xc0\\xaf");                          /* overlong '/' */
        expect_utf8("\xed\xa0\x80", false, "\\xed\\xa0\\x80");               /* a surrogate */
        expect_utf8("\xef\xbf\xbe", false, "\\xef\\xbf\\xbe");               /* U+FFFE */
        expect_utf8("\xf4\x90\x80\x80", false, "\\xf4\\x90\\x80\\x80");    /* above U+10FFFF */
        expect_utf8("ab\xe2\x82", false, "ab\\xe2\\x82");                      /* cut short */
        expect_utf8("", true, "");
        /* In an escaped string a backslash is escaped too: the text \xe9 is not the byte. */
        expect_utf8("a\\xe9-\xe9", false, "a\\x5cxe9-\\xe9");
}

/* A FIFO is refused without being opened for reading: that open would block until a
 * writer came (this test would hang). */
static void test_open_regular_path(void **state) {
        (void) state;
        char d[] = "/tmp/test-util.XXXXXX", fifo[64], file[64], link[64];
        assert_non_null(mkdtemp(d));
        snprintf(fifo, sizeof fifo, "%s/fifo", d);
        snprintf(file, sizeof file, "%s/file", d);
        snprintf(link, sizeof link, "%s/link", d);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        _cleanup_close_ int w = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        assert_true(w >= 0);
        assert_int_equal(symlink("file", link), 0);
        struct stat st;
        assert_int_equal(open_regular_path(fifo, 0, &st), -EINVAL);
        assert_int_equal(open_regular_path(d, 0, &st), -EISDIR);
        assert_int_equal(open_regular_path("/dev/null", 0, &st), -EINVAL);
        int fd = open_regular_path(link, 0, &st);
        assert_true(fd >= 0 && S_ISREG(st.st_mode));
        close(fd);
        assert_true(open_regular_path(link, O_NOFOLLOW, &st) < 0);
        assert_int_equal(unlink(fifo) | unlink(file) | unlink(link) | rmdir(d), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_strv_extend_and_contains),
                cmocka_unit_test(test_strv_extend_unique),
                cmocka_unit_test(test_strv_consume),
                cmocka_unit_test(test_strv_join),
                cmocka_unit_test(test_hashmap_u64),
                cmocka_unit_test(test_hashmap_u64_grow),
                cmocka_unit_test(test_hashmap_str),
                cmocka_unit_test(test_hashmap_remove),
                cmocka_unit_test(test_hashmap_keyed),
                cmocka_unit_test(test_inline_list),
                cmocka_unit_test(test_hashmap_free_null),
                cmocka_unit_test(test_utf8),
                cmocka_unit_test(test_open_regular_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
