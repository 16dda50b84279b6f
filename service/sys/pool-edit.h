/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Edits to php-fpm pool files that a human would make: only the edited line
 * changes (indentation, spacing around '=', quotes and a trailing comment stay),
 * a new key goes right after the section's last key line, every other byte is
 * kept. Files are replaced atomically with the same owner and mode
 * (atomic-file.h). A pool file reached through a symlink (alternatives) is
 * edited at its target, and the result says so.
 *
 * Sections: php-fpm merges repeated [name] sections and the last value of a key
 * wins, so a set edits the last line that holds the key in any [S] section, and
 * inserts into the first [S] when none does; a removal deletes every line of the
 * key in every [S] (else an earlier one would take effect). Keys compare as
 * php-fpm compares them, without regard to case. */

#include <stdbool.h>
#include <stddef.h>

typedef struct PoolEdit {
        const char *section; /* pool name, e.g. "www" */
        const char *key;     /* e.g. "listen.acl_users" */
        const char *value;   /* unquoted; NULL removes the key */
} PoolEdit;

typedef struct PoolKeyChange {
        char *section;
        char *key;
        char *before; /* value before, NULL when the key was absent */
        char *after;  /* value written, NULL when removed */
} PoolKeyChange;

typedef struct PoolFileEdit {
        char *file;           /* the file written (symlinks resolved) */
        bool via_symlink;     /* the path given was (or went through) a symlink */
        char *original;       /* whole content before */
        char *written;        /* whole content written */
        PoolKeyChange *changes; /* one per edit, in order */
        size_t n_changes;
} PoolFileEdit;

/* In memory: applies edits in order to text. -ENOENT when a set names a section
 * the text lacks; -EINVAL for a key or value that cannot be written on one line. */
int pool_text_edit(const char *text, const PoolEdit *edits, size_t n, char **ret);
/* The value php-fpm would read for key in [section] (unquoted); -ENOENT when absent. */
int pool_text_get(const char *text, const char *section, const char *key, char **ret);

/* The same, of a file only root can change (-EPERM otherwise), as pool_file_edit() opens it. */
int pool_file_get(const char *file, const char *section, const char *key, char **ret);
/* Applies edits to file atomically and describes what changed (ret optional). */
int pool_file_edit(const char *file, const PoolEdit *edits, size_t n, PoolFileEdit *ret);
void pool_file_edit_done(PoolFileEdit *e);

/* Undoes journaled key changes: each key whose current value is still what we
 * wrote gets its before value back (or is removed); a key already back at its
 * before value is left alone; other keys and lines are not touched. If any key
 * holds a third value, nothing is written: -EBUSY, and ret_conflict (optional)
 * lists them as "[section] key, ...". */
int pool_file_restore_keys(const char *file, const PoolKeyChange *changes, size_t n, char **ret_conflict);
/* Puts original back byte for byte, only if the file still holds exactly what
 * we wrote (-EBUSY otherwise). */
int pool_file_restore_content(const char *file, const char *written, const char *original);
