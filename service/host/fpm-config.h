/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* php-fpm's configuration as php-fpm itself reads it: an INI file with a
 * [global] section and one section per pool, include= globs (relative to the
 * including file's prefix), ';' and '#' comments, quoted values and $pool
 * substitution. Each key remembers the file and line that set it, so a later fix
 * can edit exactly that line. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct FpmKey {
        const char *file; /* file that set it (points into FpmConfig.files) */
        unsigned line;
        uint8_t id;       /* which of the keys sockfix reads: fpm_key_name() */
} FpmKey;

/* A pool is one block: keys[n_keys], then each key's value (unquoted, $pool
 * substituted) in the same order, then the name. Only the keys sockfix reads are kept
 * (listen, listen.*, user, group), in file order; a repeated key keeps the last value. */
typedef struct FpmPool {
        const char *name;  /* in the block */
        const char *file;  /* file holding the [name] section header (points into FpmConfig.files) */
        FpmKey *keys;      /* the block; free(keys) frees the pool */
        unsigned line;
        unsigned n_keys;
} FpmPool;

typedef struct FpmConfig {
        char *main_file;
        char *prefix;    /* --prefix / the main file's directory used for relative includes */
        char *pid_file;  /* [global] pid */
        char *error_log; /* [global] error_log */
        FpmPool *pools;
        size_t n_pools;
        char **files;    /* every file read, main first (for stat revalidation) */
        char **errors;   /* parse problems, "file:line: message" (php-fpm would refuse these) */
} FpmConfig;

/* Parses main_file and everything it includes. Missing main file: -ENOENT.
 * Include loops and more than 10000 included files are refused with -ELOOP / -E2BIG. */
int fpm_config_load(const char *main_file, FpmConfig *ret);
/* Same, from text already in memory (for tests); includes are resolved relative to dir_for_includes. */
int fpm_config_parse_string(const char *text, const char *name, FpmConfig *ret);
void fpm_config_done(FpmConfig *c);

const FpmKey *fpm_pool_key(const FpmPool *p, const char *key);
const char *fpm_key_name(const FpmKey *k);                      /* e.g. "listen.owner" */
const char *fpm_key_value(const FpmPool *p, const FpmKey *k);
const char *fpm_pool_get(const FpmPool *p, const char *key); /* value or NULL */

/* The unix socket path a pool listens on: NULL for TCP (host:port, port, [::]:port). */
const char *fpm_pool_unix_path(const FpmPool *p);
