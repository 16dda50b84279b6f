/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char *const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

bool strv_contains(char *const *l, const char *s) {
        if (l)
                for (char *const *i = l; *i; i++)
                        if (streq_ptr(*i, s))
                                return true;
        return false;
}

int strv_consume(char ***l, char *s) {
        if (!s)
                return -ENOMEM;
        size_t n = strv_length(*l);
        char **nl = realloc(*l, sizeof(char *) * (n + 2));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[n] = s;
        nl[n + 1] = NULL;
        *l = nl;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

int strv_extend_unique(char ***l, const char *s) {
        return strv_contains(*l, s) ? 0 : strv_extend(l, s);
}

char *strv_join(char *const *l, const char *sep) {
        size_t len = 1, seplen = strlen(sep);
        for (char *const *i = l; i && *i; i++)
                len += strlen(*i) + seplen;
        char *r = malloc(len), *p = r;
        if (!r)
                return NULL;
        *p = 0;
        for (char *const *i = l; i && *i; i++) {
                if (i != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *i);
        }
        return r;
}

void *array_grow(void **array, size_t *n, size_t sz) {
        if (*n >= SIZE_MAX / sz - 1)
                return NULL;
        /* Double the capacity on powers of two, so pushes are amortised O(1)
         * without a separate capacity field. */
        size_t cap = 1;
        while (cap < *n + 1)
                cap <<= 1;
        if (*n == 0 || (*n & (*n - 1)) == 0) {
                void *na = realloc(*array, cap * sz);
                if (!na)
                        return NULL;
                *array = na;
        }
        void *e = (char *) *array + *n * sz;
        memset(e, 0, sz);
        (*n)++;
        return e;
}

void *inline_list_push(void **array, void *first, size_t *n, size_t sz) {
        if (*n == 0) {
                *array = first;
                *n = 1;
                return first;
        }
        if (*array == first) {
                /* A one-element array: array_grow()'s capacity rule holds. */
                void *a = malloc(sz);
                if (!a)
                        return NULL;
                memcpy(a, first, sz);
                *array = a;
        }
        return array_grow(array, n, sz);
}

char *strdup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *size) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (len + 1 >= cap) {
                        if (cap >= max)
                                return -EFBIG;
                        size_t ncap = cap ? cap * 2 : 4096;
                        if (ncap > max + 1)
                                ncap = max + 1;
                        char *nb = realloc(buf, ncap);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        cap = ncap;
                }
                ssize_t k = read(fd, buf + len, cap - len - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        if (!buf && !(buf = malloc(1)))
                return -ENOMEM;
        buf[len] = 0;
        if (size)
                *size = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_full_file(const char *path, char **ret, size_t *size) {
        return read_full_file_at(AT_FDCWD, path, 64u << 20, ret, size);
}

char *strstrip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = 0;
        return s;
}

bool parse_socket_fd_link(const char *target, uint32_t *ret) {
        if (!startswith(target, "socket:["))
                return false;
        char *end;
        errno = 0;
        unsigned long v = strtoul(target + 8, &end, 10);
        if (errno != 0 || end == target + 8 || !streq_ptr(end, "]") || v > UINT32_MAX)
                return false;
        *ret = (uint32_t) v;
        return true;
}

/* The length of the valid UTF-8 sequence at s, or 0. Valid as sd-bus checks a
 * string: shortest form, no surrogates, nothing above U+10FFFF, no noncharacters
 * (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF). */
static size_t utf8_sequence(const unsigned char *s) {
        if (s[0] < 0x80)
                return 1;
        size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? (s[0] <= 0xef ? 3 : 0) : s[0] >= 0xc2 ? 2 : 0;
        if (n == 0)
                return 0;
        uint32_t c = s[0] & (0x7f >> n);
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = c << 6 | (s[i] & 0x3f);
        }
        static const uint32_t shortest[5] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (c < shortest[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff) || (c >= 0xfdd0 && c <= 0xfdef) ||
            (c & 0xfffe) == 0xfffe)
                return 0;
        return n;
}

bool utf8_is_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s, *end = p + strlen(s);
        while (p < end) {
                /* Nearly every byte of a path or a name is ASCII: eight at a time (a sweep
                 * checks some 20,000 strings per 1,000 sockets). */
                uint64_t w;
                if (end - p >= 8 && (memcpy(&w, p, 8), !(w & UINT64_C(0x8080808080808080)))) {
                        p += 8;
                        continue;
                }
                if (*p < 0x80) {
                        p++;
                        continue;
                }
                size_t n = utf8_sequence(p);
                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

char *utf8_escape_invalid(const char *s) {
        size_t len = strlen(s);
        char *out = malloc(len * 4 + 1), *o = out; /* every byte may become \xHH */
        if (!out)
                return NULL;
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = utf8_sequence(p);
                if (n == 0 || *p == '\\') {
                        o += sprintf(o, "\\x%02x", *p++);
                        continue;
                }
                memcpy(o, p, n);
                o += n;
                p += n;
        }
        *o = 0;
        return out;
}

int open_regular_path(const char *path, int flags, struct stat *st) {
        _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW));
        if (fd < 0)
                return -errno;
        if (fstat(fd, st) < 0)
                return -errno;
        if (S_ISDIR(st->st_mode))
                return -EISDIR;
        if (!S_ISREG(st->st_mode))
                return -EINVAL;
        return TAKE_FD(fd);
}
