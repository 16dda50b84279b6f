/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers every layer uses: scoped cleanup (so early returns cannot leak),
 * NULL-terminated string vectors, and growable arrays. Nothing here touches the
 * system. */

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p) {
        free(*(void **) p);
}
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}
/* Strings someone else already owns, for a loader to borrow instead of copying: the host
 * model lends its pools' socket paths to the web-server references and the socket table,
 * which would otherwise hold each one again (a host of thousands of sites keeps them all
 * between calls). find returns an equal string that outlives what is loaded, or NULL. */
typedef struct StrShare {
        const char *(*find)(const char *s, void *userdata);
        void *userdata;
} StrShare;

static inline const char *str_share_find(const StrShare *share, const char *s) {
        return share && s ? share->find(s, share->userdata) : NULL;
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Take ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                             \
        ({                                      \
                __typeof__(p) _tp = (p);        \
                (p) = NULL;                     \
                _tp;                            \
        })
#define TAKE_FD(fd)                             \
        ({                                      \
                int _tf = (fd);                 \
                (fd) = -1;                      \
                _tf;                            \
        })

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
static inline bool isempty(const char *s) {
        return !s || !*s;
}
static inline const char *strempty(const char *s) {
        return s ? s : "";
}
static inline bool startswith(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* NULL-terminated vectors of heap strings. */
char **strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Appends a copy of s; -ENOMEM on failure (l unchanged). */
int strv_extend(char ***l, const char *s);
/* Appends s only if not already present. */
int strv_extend_unique(char ***l, const char *s);
/* Takes ownership of s (frees it on failure). */
int strv_consume(char ***l, char *s);
char *strv_join(char *const *l, const char *sep);

/* Grows *array (of *n elements of size sz) by one zeroed element; returns it or NULL. */
void *array_grow(void **array, size_t *n, size_t sz);
#define ARRAY_PUSH(array, n) ((__typeof__(*(array)) *) array_grow((void **) &(array), &(n), sizeof(*(array))))
/* A list whose first element lives inline, in first (most lists of a large host's model
 * hold one: a socket's holder, a path's web server): array points at first until a
 * second element moves the list to an array of its own. The caller frees array only
 * when it is not first. */
void *inline_list_push(void **array, void *first, size_t *n, size_t sz);
#define INLINE_LIST_PUSH(array, first, n) \
        ((__typeof__(*(array)) *) inline_list_push((void **) &(array), &(first), &(n), sizeof(*(array))))

char *strdup_or_null(const char *s);
/* Reads a whole (small) file into a NUL-terminated buffer; size optional. */
int read_full_file(const char *path, char **ret, size_t *size);
int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *size);
char *strstrip(char *s);
/* Strings on the bus must be valid UTF-8 (sd-bus refuses the whole message otherwise),
 * but paths, program names and log lines are bytes any user can choose. */
bool utf8_is_valid(const char *s);
/* A copy with each byte outside a valid sequence, and each backslash, written as \xHH
 * (a name with the text "\xe9" in it is then told from one with the byte); NULL on
 * ENOMEM. */
char *utf8_escape_invalid(const char *s);
/* An O_PATH fd of path if it is a regular file (st filled), -EISDIR for a directory,
 * -EINVAL for anything else: a FIFO, device or socket a user names (a config, an
 * error_log) is never opened for reading, which may block or act (/dev/watchdog arms
 * a timer). Read it through /proc/self/fd/N, which is the same inode. flags may add
 * O_NOFOLLOW. */
int open_regular_path(const char *path, int flags, struct stat *st);
/* The kernel's __SO_ACCEPTCON (include/linux/net.h), which is not exported to
 * userspace: set in /proc/net/unix Flags for sockets that called listen(). */
#define PROC_NET_UNIX_ACCEPTCON 0x10000u

/* The socket inode N of a /proc/PID/fd link "socket:[N]"; false for any other target. */
bool parse_socket_fd_link(const char *target, uint32_t *ret);
