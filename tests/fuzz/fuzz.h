/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every fuzz target shares: libFuzzer's entry points (the target defines the first;
 * libFuzzer or fuzz-main.c calls it), a check that aborts with the broken invariant, and the
 * privilege drop that keeps fuzzed include directives away from root-only files. */

#include <grp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* libFuzzer calls it once before the first input (fuzz-libfuzzer.c). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant that must hold for every input: a violation is a bug, reported as a crash
 * so that both libFuzzer and fuzz-main.c keep the input. */
#define FUZZ_CHECK(expr)                                                                      \
        do {                                                                                  \
                if (!(expr)) {                                                                \
                        fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                              \
                }                                                                             \
        } while (0)

/* Whether p is one of the list's own strings (not an equal copy): parsers point keys and
 * references at the config's file list instead of owning copies. */
static inline int fuzz_is_entry_of(char **list, const char *p) {
        for (char **i = list; i && *i; i++)
                if (*i == p)
                        return 1;
        return 0;
}

/* The input as the NUL-terminated string a parser takes (it ends at the first NUL byte,
 * as it would for text read from a file by the caller). NULL on ENOMEM. */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);
        if (s) {
                memcpy(s, data, size);
                s[size] = 0;
        }
        return s;
}

/* The config parsers follow include directives, and as root an input naming /proc/kmsg
 * (a regular file that blocks and consumes the kernel log) or a root-only secret would
 * read it. Running as nobody keeps every such read harmless; the parsers only read. */
static inline void fuzz_drop_root(void) {
        if (geteuid() != 0)
                return;
        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
                perror("fuzz: dropping root to uid/gid 65534");
                exit(EXIT_FAILURE);
        }
}

/* The parse_string name of every config input: a file inside the fixture tree, so relative
 * includes (and an input including its own name) resolve against real, small files. */
#define FUZZ_CONF(rel) FUZZ_CONF_DIR "/" rel
