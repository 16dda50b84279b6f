/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pool-edit.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>

#include "sys/atomic-file.h"
#include "sys/safe-fs.h"
#include "util/util.h"

#define POOL_FILE_MAX (4u << 20)

typedef enum LineKind {
        LINE_OTHER, /* comment, blank, anything php-fpm would not read as key or section */
        LINE_SECTION,
        LINE_KEY,
} LineKind;

/* Offsets into the text. end stops before "\r\n" / "\n"; next is the start of
 * the following line. */
typedef struct Line {
        LineKind kind;
        size_t start, end, next;
        size_t name_start, name_end;   /* section name or key, trimmed */
        size_t value_start, value_end; /* raw value, quotes included; trailing blanks and comment excluded */
        bool quoted;
} Line;

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static void trim_span(const char *t, size_t *a, size_t *b) {
        while (*a < *b && is_blank(t[*a]))
                (*a)++;
        while (*b > *a && is_blank(t[*b - 1]))
                (*b)--;
}

static void parse_value(const char *t, Line *l, size_t eq) {
        size_t p = eq + 1;
        while (p < l->end && is_blank(t[p]))
                p++;
        l->value_start = p;
        if (p < l->end && t[p] == '"') {
                const char *close = memchr(t + p + 1, '"', l->end - p - 1);
                if (close) {
                        l->quoted = true;
                        l->value_end = (size_t) (close - t) + 1;
                        return;
                }
        }
        const char *semi = memchr(t + p, ';', l->end - p);
        size_t e = semi ? (size_t) (semi - t) : l->end;
        while (e > p && is_blank(t[e - 1]))
                e--;
        l->value_end = e;
}

static void parse_line(const char *t, size_t len, size_t start, Line *l) {
        const char *nl = memchr(t + start, '\n', len - start);
        *l = (Line) { .kind = LINE_OTHER, .start = start };
        l->next = nl ? (size_t) (nl - t) + 1 : len;
        l->end = nl ? (size_t) (nl - t) : len;
        if (l->end > start && t[l->end - 1] == '\r')
                l->end--;

        size_t p = start;
        while (p < l->end && is_blank(t[p]))
                p++;
        if (p >= l->end || t[p] == ';' || t[p] == '#')
                return;
        if (t[p] == '[') {
                const char *close = memchr(t + p, ']', l->end - p);
                if (!close)
                        return;
                l->kind = LINE_SECTION;
                l->name_start = p + 1;
                l->name_end = (size_t) (close - t);
                trim_span(t, &l->name_start, &l->name_end);
                return;
        }
        const char *eq = memchr(t + p, '=', l->end - p);
        if (!eq)
                return;
        l->kind = LINE_KEY;
        l->name_start = p;
        l->name_end = (size_t) (eq - t);
        trim_span(t, &l->name_start, &l->name_end);
        parse_value(t, l, (size_t) (eq - t));
}

static bool span_eq(const char *t, size_t a, size_t b, const char *s, bool icase) {
        size_t n = strlen(s);
        if (b - a != n)
                return false;
        return icase ? strncasecmp(t + a, s, n) == 0 : strncmp(t + a, s, n) == 0;
}

/* Walks text, calling back for every line with whether it lies in [section]. */
typedef struct Scan {
        ssize_t last_key;       /* index into lines of the last line of key in [section] */
        ssize_t first_header;   /* first [section] header */
        ssize_t insert_after;   /* last key line of the first [section], else its header */
        Line *lines;
        size_t n_lines;
} Scan;

static void scan_done(Scan *s) {
        free(s->lines);
}

static int scan(const char *t, const char *section, const char *key, Scan *ret) {
        Scan s = { .last_key = -1, .first_header = -1, .insert_after = -1 };
        size_t len = strlen(t);
        bool in = false, in_first = false;
        for (size_t pos = 0; pos < len;) {
                Line *l = ARRAY_PUSH(s.lines, s.n_lines);
                if (!l) {
                        scan_done(&s);
                        return -ENOMEM;
                }
                parse_line(t, len, pos, l);
                pos = l->next;
                ssize_t idx = (ssize_t) s.n_lines - 1;
                if (l->kind == LINE_SECTION) {
                        in = span_eq(t, l->name_start, l->name_end, section, false);
                        in_first = in && s.first_header < 0;
                        if (in_first)
                                s.first_header = s.insert_after = idx;
                        continue;
                }
                if (l->kind != LINE_KEY || !in)
                        continue;
                if (in_first)
                        s.insert_after = idx;
                if (span_eq(t, l->name_start, l->name_end, key, true))
                        s.last_key = idx;
        }
        *ret = s;
        return 0;
}

static char *text_splice(const char *t, size_t a, size_t b, const char *ins) {
        size_t len = strlen(t), n = strlen(ins);
        char *r = malloc(len - (b - a) + n + 1);
        if (!r)
                return NULL;
        memcpy(r, t, a);
        memcpy(r + a, ins, n);
        memcpy(r + a + n, t + b, len - b + 1);
        return r;
}

static bool value_needs_quotes(const char *v) {
        if (isempty(v) || is_blank(v[0]) || is_blank(v[strlen(v) - 1]))
                return true;
        return strpbrk(v, ";#=[]{}&|^!~()$") != NULL;
}

static int format_value(const char *v, bool quote, char **ret) {
        if (strpbrk(v, "\"\n\r"))
                return -EINVAL;
        if (quote || value_needs_quotes(v)) {
                char *s = NULL;
                if (asprintf(&s, "\"%s\"", v) < 0)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

static int edit_set(const char *t, const Scan *s, const PoolEdit *e, char **ret) {
        _cleanup_free_ char *ins = NULL;
        if (s->last_key >= 0) {
                const Line *l = &s->lines[s->last_key];
                int r = format_value(e->value, l->quoted, &ins);
                if (r < 0)
                        return r;
                *ret = text_splice(t, l->value_start, l->value_end, ins);
                return *ret ? 0 : -ENOMEM;
        }
        if (s->first_header < 0)
                return -ENOENT;

        const Line *at = &s->lines[s->insert_after];
        _cleanup_free_ char *v = NULL;
        int r = format_value(e->value, false, &v);
        if (r < 0)
                return r;
        /* Same indentation as the line above when it is a key line, same line ending. */
        size_t indent = 0;
        if (at->kind == LINE_KEY)
                while (is_blank(t[at->start + indent]))
                        indent++;
        bool has_nl = at->next > at->end;
        bool crlf = has_nl && at->next - at->end == 2;
        const char *eol = crlf ? "\r\n" : "\n";
        if (asprintf(&ins, "%s%.*s%s = %s%s", has_nl ? "" : "\n", (int) indent, t + at->start,
                     e->key, v, has_nl ? eol : "") < 0) {
                ins = NULL;
                return -ENOMEM;
        }
        *ret = text_splice(t, at->next, at->next, ins);
        return *ret ? 0 : -ENOMEM;
}

static int edit_remove(const char *t, const Scan *s, const PoolEdit *e, char **ret) {
        _cleanup_free_ char *cur = strdup(t);
        if (!cur)
                return -ENOMEM;
        /* From the bottom up, so earlier offsets stay valid. */
        for (size_t i = s->n_lines; i-- > 0;) {
                const Line *l = &s->lines[i];
                if (l->kind != LINE_KEY || !span_eq(t, l->name_start, l->name_end, e->key, true))
                        continue;
                /* Only lines inside a [section]: find the header above. */
                bool in = false;
                for (size_t j = i; j-- > 0;)
                        if (s->lines[j].kind == LINE_SECTION) {
                                in = span_eq(t, s->lines[j].name_start, s->lines[j].name_end, e->section, false);
                                break;
                        }
                if (!in)
                        continue;
                char *n = text_splice(cur, l->start, l->next, "");
                if (!n)
                        return -ENOMEM;
                free(cur);
                cur = n;
        }
        *ret = TAKE_PTR(cur);
        return 0;
}

static bool name_is_valid(const char *s) {
        return !isempty(s) && !strpbrk(s, "\n\r=;[]\"") && !is_blank(s[0]) && !is_blank(s[strlen(s) - 1]);
}

static int apply_one(const char *t, const PoolEdit *e, char **ret) {
        if (!name_is_valid(e->section) || !name_is_valid(e->key))
                return -EINVAL;
        _cleanup_(scan_done) Scan s = {};
        int r = scan(t, e->section, e->key, &s);
        if (r < 0)
                return r;
        return e->value ? edit_set(t, &s, e, ret) : edit_remove(t, &s, e, ret);
}

int pool_text_edit(const char *text, const PoolEdit *edits, size_t n, char **ret) {
        _cleanup_free_ char *cur = strdup(text);
        if (!cur)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                char *next = NULL;
                int r = apply_one(cur, &edits[i], &next);
                if (r < 0)
                        return r;
                free(cur);
                cur = next;
        }
        *ret = TAKE_PTR(cur);
        return 0;
}

int pool_text_get(const char *text, const char *section, const char *key, char **ret) {
        _cleanup_(scan_done) Scan s = {};
        int r = scan(text, section, key, &s);
        if (r < 0)
                return r;
        if (s.last_key < 0)
                return -ENOENT;
        const Line *l = &s.lines[s.last_key];
        size_t a = l->value_start, b = l->value_end;
        if (l->quoted) {
                a++;
                b--;
        }
        *ret = strndup(text + a, b - a);
        return *ret ? 0 : -ENOMEM;
}

/* The file as it really is: target of any symlink, its directory held open. */
typedef struct PoolFile {
        char *path;
        char *base;
        int dir_fd;
        struct stat st;
        char *text;
} PoolFile;

static void pool_file_close(PoolFile *f) {
        free(f->path);
        free(f->base);
        closep(&f->dir_fd);
        free(f->text);
}

/* Fills f in place; the caller's cleanup frees whatever was set on failure. */
static int pool_file_open(const char *file, PoolFile *f) {
        /* The names below are trusted only where no one but root can swap them: the
         * file as named, so a symlink's own directory counts too. */
        int r = path_only_root_can_change(file, NULL);
        if (r <= 0)
                return r < 0 ? r : -EPERM;
        f->path = realpath(file, NULL);
        if (!f->path)
                return -errno;
        _cleanup_free_ char *d1 = strdup(f->path), *d2 = strdup(f->path);
        if (!d1 || !d2)
                return -ENOMEM;
        f->base = strdup(basename(d1));
        if (!f->base)
                return -ENOMEM;
        f->dir_fd = open(dirname(d2), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f->dir_fd < 0)
                return -errno;
        /* realpath() left no symlink in the name; one planted since is refused. */
        if (fstatat(f->dir_fd, f->base, &f->st, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (!S_ISREG(f->st.st_mode))
                return -EINVAL;
        return read_full_file_at(f->dir_fd, f->base, POOL_FILE_MAX, &f->text, NULL);
}

int pool_file_get(const char *file, const char *section, const char *key, char **ret) {
        /* Read as it would be edited: a file only root can change, else -EPERM (a link a
         * user planted since would read another file for Revert's check). */
        _cleanup_(pool_file_close) PoolFile f = { .dir_fd = -1 };
        int r = pool_file_open(file, &f);
        if (r < 0)
                return r;
        return pool_text_get(f.text, section, key, ret);
}

static int pool_file_write(PoolFile *f, const char *text) {
        if (streq_ptr(f->text, text))
                return 0;
        return atomic_file_replace_at(f->dir_fd, f->base, text, strlen(text), f->st.st_uid, f->st.st_gid,
                                      f->st.st_mode);
}

static int describe(const char *text, const PoolEdit *edits, size_t n, PoolKeyChange **ret) {
        _cleanup_free_ PoolKeyChange *c = calloc(n ? n : 1, sizeof *c);
        if (!c)
                return -ENOMEM;
        _cleanup_free_ char *cur = strdup(text);
        if (!cur)
                return -ENOMEM;
        int r = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                c[i].section = strdup(edits[i].section);
                c[i].key = strdup(edits[i].key);
                c[i].after = strdup_or_null(edits[i].value);
                if (!c[i].section || !c[i].key || (edits[i].value && !c[i].after))
                        r = -ENOMEM;
                if (r >= 0) {
                        r = pool_text_get(cur, edits[i].section, edits[i].key, &c[i].before);
                        if (r == -ENOENT)
                                r = 0;
                }
                char *next = NULL;
                if (r >= 0)
                        r = apply_one(cur, &edits[i], &next);
                if (r >= 0) {
                        free(cur);
                        cur = next;
                }
        }
        if (r < 0) {
                for (size_t i = 0; i < n; i++) {
                        free(c[i].section);
                        free(c[i].key);
                        free(c[i].before);
                        free(c[i].after);
                }
                return r;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int pool_file_edit(const char *file, const PoolEdit *edits, size_t n, PoolFileEdit *ret) {
        _cleanup_(pool_file_close) PoolFile f = { .dir_fd = -1 };
        int r = pool_file_open(file, &f);
        if (r < 0)
                return r;
        _cleanup_free_ char *written = NULL;
        r = pool_text_edit(f.text, edits, n, &written);
        if (r < 0)
                return r;
        PoolFileEdit e = {};
        if (ret) {
                r = describe(f.text, edits, n, &e.changes);
                if (r < 0)
                        return r;
                e.n_changes = n;
        }
        r = pool_file_write(&f, written);
        if (r < 0) {
                pool_file_edit_done(&e);
                return r;
        }
        if (ret) {
                e.via_symlink = !streq_ptr(file, f.path);
                e.file = TAKE_PTR(f.path);
                e.original = TAKE_PTR(f.text);
                e.written = TAKE_PTR(written);
                *ret = e;
        }
        return 0;
}

void pool_file_edit_done(PoolFileEdit *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n_changes; i++) {
                free(e->changes[i].section);
                free(e->changes[i].key);
                free(e->changes[i].before);
                free(e->changes[i].after);
        }
        free(e->changes);
        free(e->file);
        free(e->original);
        free(e->written);
        *e = (PoolFileEdit) {};
}

int pool_file_restore_keys(const char *file, const PoolKeyChange *changes, size_t n, char **ret_conflict) {
        _cleanup_(pool_file_close) PoolFile f = { .dir_fd = -1 };
        int r = pool_file_open(file, &f);
        if (r < 0)
                return r;

        _cleanup_free_ PoolEdit *edits = calloc(n ? n : 1, sizeof *edits);
        _cleanup_strv_free_ char **conflicts = NULL;
        if (!edits)
                return -ENOMEM;
        size_t n_edits = 0;
        /* Newest change first: a key edited twice ends at its oldest value. */
        for (size_t i = n; i-- > 0;) {
                const PoolKeyChange *c = &changes[i];
                _cleanup_free_ char *cur = NULL;
                r = pool_text_get(f.text, c->section, c->key, &cur);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (streq_ptr(cur, c->before))
                        continue; /* already back */
                if (!streq_ptr(cur, c->after)) {
                        char *s = NULL;
                        if (asprintf(&s, "[%s] %s", c->section, c->key) < 0 || strv_consume(&conflicts, s) < 0)
                                return -ENOMEM;
                        continue;
                }
                edits[n_edits++] = (PoolEdit) { .section = c->section, .key = c->key, .value = c->before };
        }
        if (conflicts) {
                if (ret_conflict)
                        *ret_conflict = strv_join(conflicts, ", ");
                return -EBUSY;
        }
        _cleanup_free_ char *text = NULL;
        r = pool_text_edit(f.text, edits, n_edits, &text);
        if (r < 0)
                return r;
        return pool_file_write(&f, text);
}

int pool_file_restore_content(const char *file, const char *written, const char *original) {
        _cleanup_(pool_file_close) PoolFile f = { .dir_fd = -1 };
        int r = pool_file_open(file, &f);
        if (r < 0)
                return r;
        if (!streq_ptr(f.text, written))
                return -EBUSY;
        return pool_file_write(&f, original);
}
