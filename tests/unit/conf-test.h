/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the config parser tests check, once: fixture paths, error lists, references.
 * Include after cmocka.h. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/web-config.h"
#include "util/util.h"

/* A file under tests/data/conf (SOCKFIX_TEST_DATA, set by meson, names tests/data). */
static inline char *data_path(const char *rel) {
        char *p;
        assert_true(asprintf(&p, "%s/conf/%s", getenv("SOCKFIX_TEST_DATA") ?: "tests/data", rel) > 0);
        return p;
}

/* Whether one of a parser's "file:line: message" errors contains needle. */
static inline bool errors_contain(char *const *errors, const char *needle) {
        for (char *const *e = errors; e && *e; e++)
                if (strstr(*e, needle))
                        return true;
        return false;
}

/* The reference to path made by directive at file:line exists. */
static inline void assert_ref(const WebConfig *c, const char *path, const char *directive, const char *file,
                              unsigned line) {
        for (size_t i = 0; i < c->n_refs; i++)
                if (streq_ptr(c->refs[i].path, path) && streq_ptr(c->refs[i].directive, directive) &&
                    streq_ptr(c->refs[i].file, file) && c->refs[i].line == line)
                        return;
        fail_msg("no %s reference to %s at %s:%u", directive, path, file, line);
}
