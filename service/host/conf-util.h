/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the config parsers share: reading an included file safely (regular files
 * only, size cap, include loops and depth bounded), glob expansion the way the
 * servers do it, relative path resolution, error collection and the WebConfig
 * record helpers. The grammars themselves differ and stay in each parser. */

#include <stdbool.h>
#include <sys/types.h>

#include "util/util.h"
#include "web-config.h"

#define CONF_MAX_DEPTH 16
#define CONF_MAX_FILES 10000u
#define CONF_MAX_FILE_SIZE (16u << 20)
/* All files of one configuration together: far above any real one, and a bound on the
 * time an include of the wrong directory ("Include /") can cost. */
#define CONF_MAX_TOTAL_SIZE (64u << 20)
/* A garbage file must not turn into a million error strings on the bus. */
#define CONF_MAX_ERRORS 1000u

typedef struct ConfFileId {
        dev_t dev;
        ino_t ino;
} ConfFileId;

/* The chain of files being read right now, plus how many were read in total. */
typedef struct ConfGuard {
        ConfFileId stack[CONF_MAX_DEPTH];
        unsigned depth;
        unsigned n_files;
        size_t total_size;
        struct Hashmap *seen; /* paths already in the parser's file list */
        struct Hashmap *dirs; /* directories walked by a directory include: dev ^ ino -> dev */
} ConfGuard;

/* Reads path (a regular file on a disk file system, at most CONF_MAX_FILE_SIZE) and pushes it on the guard.
 * -ELOOP: already being read further up, or CONF_MAX_DEPTH reached; -E2BIG: more than
 * CONF_MAX_FILES or CONF_MAX_TOTAL_SIZE read; -EISDIR / -EINVAL: a directory / not a regular file;
 * -EMEDIUMTYPE: on proc, sysfs and the like (a read of /proc/kmsg blocks); else -errno.
 * On success the caller must call conf_guard_leave() when done with the file. */
int conf_guard_enter(ConfGuard *g, const char *path, char **ret_text, size_t *ret_size);
void conf_guard_leave(ConfGuard *g);
/* Before a directory include walks path: -ELOOP when that directory was walked already
 * (symlinks lead back: /proc/self/root, a link to "."), -E2BIG when the files-and-
 * directories budget is spent, -EMEDIUMTYPE on a pseudo file system. Each directory
 * counts against CONF_MAX_FILES. */
int conf_guard_enter_dir(ConfGuard *g, const char *path);
/* Appends path to *files unless it is there already. Hosting servers include
 * thousands of files, so this is a hash lookup, not a scan of the list. */
int conf_guard_record(ConfGuard *g, char ***files, const char *path);
/* The copy of path in the file list (recorded earlier), or NULL: parsers point at it
 * instead of keeping a copy of the file name per key. */
const char *conf_guard_interned(const ConfGuard *g, const char *path);
void conf_guard_done(ConfGuard *g);

/* Reads path under the guard, records it in *files and hands its text to parse, with
 * the file's name as kept in *files (it lives as long as the config). */
typedef int (*ConfParseText)(void *parser, char *text, size_t size, const char *file);
int conf_parse_file(ConfGuard *g, char ***files, const char *path, ConfParseText parse, void *parser);
/* The same for text already in memory (tests), recorded under name; parse gets a copy. */
int conf_parse_string(ConfGuard *g, char ***files, const char *name, const char *text, ConfParseText parse,
                      void *parser);

/* Parses every match of pattern (resolved against base_dir, as conf_glob) with
 * conf_parse_file(); a match that cannot be read is recorded by conf_include_error() and
 * the others are still read. Only -ENOMEM (or a failure to record) ends it early. */
int conf_include_glob(ConfGuard *g, char ***files, char ***errors, const char *base_dir, const char *pattern,
                      const char *directive, const char *file, unsigned line, ConfParseText parse, void *parser);

/* Records why an include of path failed ("include loop or nesting too deep", ...) as
 * "file:line: <directive> path: why". */
int conf_include_error(char ***errors, const char *file, unsigned line, const char *directive, const char *path,
                       int error);

bool conf_is_glob(const char *s);
/* Absolute path: a copy. Relative: base_dir/path. */
int conf_path_resolve(const char *base_dir, const char *path, char **ret);
/* The same, replacing (and freeing) what *dst held, as a directive given twice does. */
int conf_path_resolve_replace(const char *base_dir, const char *path, char **dst);
int conf_dirname(const char *path, char **ret);
/* Expands pattern (resolved against base_dir) into the sorted list of matches, as
 * glob(3) does; no match gives an empty list. A pattern without glob characters is
 * returned as is, so that the reader reports a missing plain include. */
int conf_glob(const char *base_dir, const char *pattern, char ***ret);

/* Appends "file:line: message" (line 0: "file: message"), up to CONF_MAX_ERRORS. */
int conf_error(char ***errors, const char *file, unsigned line, const char *fmt, ...) _printf_(4, 5);

/* Splits the next word off *p in place: skips blanks, honors "double" and 'single'
 * quotes where a backslash escapes the next character. Returns NULL at the end of
 * the string. *quoted tells whether the word was quoted (may be NULL). */
char *conf_next_word(char **p, bool *quoted);

/* Appends ${NAME} (and $NAME when bare_dollar) expanded through lookup to *ret.
 * Unknown names expand to "" (php, shell) or stay literally (keep_unknown: Apache). */
typedef const char *(*conf_lookup_t)(const char *name, void *userdata);
int conf_expand_vars(const char *s, bool bare_dollar, bool keep_unknown, conf_lookup_t lookup, void *userdata,
                     char **ret);

/* Copies path only, unless the config's share has it: directive must be a static name
 * and file the name the parse callback was given (the config's own copy), both kept
 * by pointer. */
int web_config_add_ref(WebConfig *c, const char *path, const char *directive, const char *file, unsigned line);
/* The end of every loader: the parsed config moves to ret, or is freed when r < 0. */
int web_config_finish(WebConfig *c, int r, WebConfig *ret);
