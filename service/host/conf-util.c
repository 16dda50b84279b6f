/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "conf-util.h"

#include "util/hashmap.h"

#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>

/* Configuration lives on disk file systems. On proc, sysfs, debugfs, tracefs, securityfs
 * and devpts a "regular file" may block a read (/proc/kmsg, trace_pipe) or have side
 * effects, and a root daemon must not be talked into reading it by an include line. */
static bool fs_is_pseudo(int fd) {
        struct statfs sf;
        if (fstatfs(fd, &sf) < 0)
                return true;
        switch ((unsigned long) sf.f_type) {
        case PROC_SUPER_MAGIC:
        case SYSFS_MAGIC:
        case DEBUGFS_MAGIC:
        case TRACEFS_MAGIC:
        case SECURITYFS_MAGIC:
        case DEVPTS_SUPER_MAGIC:
        case CGROUP_SUPER_MAGIC:
        case CGROUP2_SUPER_MAGIC:
        case BPF_FS_MAGIC:
                return true;
        default:
                return false;
        }
}

int conf_guard_enter_dir(ConfGuard *g, const char *path) {
        _cleanup_close_ int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (fs_is_pseudo(fd))
                return -EMEDIUMTYPE;
        if (g->n_files >= CONF_MAX_FILES || g->total_size >= CONF_MAX_TOTAL_SIZE)
                return -E2BIG;
        if (!g->dirs && !(g->dirs = hashmap_new_u64()))
                return -ENOMEM;
        uint64_t key = ((uint64_t) st.st_dev << 32) ^ (uint64_t) st.st_ino;
        /* The value is the device: a key collision of two directories is told apart. */
        void *have = hashmap_get_u64(g->dirs, key);
        if (have && (dev_t) (uintptr_t) have == st.st_dev)
                return -ELOOP;
        g->n_files++;
        return hashmap_put_u64(g->dirs, key, (void *) (uintptr_t) st.st_dev);
}

int conf_guard_enter(ConfGuard *g, const char *path, char **ret_text, size_t *ret_size) {
        if (g->depth >= CONF_MAX_DEPTH)
                return -ELOOP;
        if (g->n_files >= CONF_MAX_FILES || g->total_size >= CONF_MAX_TOTAL_SIZE)
                return -E2BIG;

        /* A FIFO or device planted by a site owner is never opened for reading (that
         * would block the daemon); the read goes through /proc, so the type check and
         * the read see the same file. */
        struct stat st;
        _cleanup_close_ int fd = open_regular_path(path, 0, &st);
        if (fd < 0)
                return fd;
        if (fs_is_pseudo(fd))
                return -EMEDIUMTYPE;
        for (unsigned i = 0; i < g->depth; i++)
                if (g->stack[i].dev == st.st_dev && g->stack[i].ino == st.st_ino)
                        return -ELOOP;
        if ((uint64_t) st.st_size > CONF_MAX_TOTAL_SIZE - g->total_size)
                return -E2BIG;

        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        int r = read_full_file_at(AT_FDCWD, proc, CONF_MAX_FILE_SIZE, ret_text, ret_size);
        if (r < 0)
                return r;
        g->stack[g->depth++] = (ConfFileId) { st.st_dev, st.st_ino };
        g->n_files++;
        g->total_size += ret_size ? *ret_size : (size_t) st.st_size;
        return 0;
}

void conf_guard_leave(ConfGuard *g) {
        if (g->depth > 0)
                g->depth--;
}

int conf_guard_record(ConfGuard *g, char ***files, const char *path) {
        if (!g->seen && !(g->seen = hashmap_new_str()))
                return -ENOMEM;
        if (hashmap_get_str(g->seen, path))
                return 0;
        int r = strv_extend(files, path);
        if (r < 0)
                return r;
        /* Key and value are the list's own copy: it lives as long as the config. */
        const char *copy = (*files)[strv_length(*files) - 1];
        return hashmap_put_str(g->seen, copy, (void *) copy);
}

const char *conf_guard_interned(const ConfGuard *g, const char *path) {
        return g->seen ? hashmap_get_str(g->seen, path) : NULL;
}

void conf_guard_done(ConfGuard *g) {
        g->seen = hashmap_free(g->seen);
        g->dirs = hashmap_free(g->dirs);
}

int conf_parse_file(ConfGuard *g, char ***files, const char *path, ConfParseText parse, void *parser) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r = conf_guard_enter(g, path, &text, &size);
        if (r < 0)
                return r;
        r = conf_guard_record(g, files, path);
        if (r >= 0)
                r = parse(parser, text, size, conf_guard_interned(g, path));
        conf_guard_leave(g);
        return r;
}

int conf_parse_string(ConfGuard *g, char ***files, const char *name, const char *text, ConfParseText parse,
                      void *parser) {
        _cleanup_free_ char *copy = strdup(text);
        if (!copy)
                return -ENOMEM;
        int r = conf_guard_record(g, files, name);
        if (r >= 0)
                r = parse(parser, copy, strlen(copy), conf_guard_interned(g, name));
        return r;
}

int conf_include_error(char ***errors, const char *file, unsigned line, const char *directive, const char *path,
                       int error) {
        const char *why = error == -ELOOP        ? "include loop or nesting too deep" :
                          error == -E2BIG        ? "too many included files" :
                          error == -EMEDIUMTYPE  ? "on a pseudo file system (proc, sysfs...): not read" :
                                                   strerror(-error);
        return conf_error(errors, file, line, "%s %s: %s", directive, path, why);
}

int conf_include_glob(ConfGuard *g, char ***files, char ***errors, const char *base_dir, const char *pattern,
                      const char *directive, const char *file, unsigned line, ConfParseText parse, void *parser) {
        _cleanup_strv_free_ char **paths = NULL;
        int r = conf_glob(base_dir, pattern, &paths);
        if (r < 0)
                return r;
        for (char **i = paths; *i; i++) {
                r = conf_parse_file(g, files, *i, parse, parser);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && (r = conf_include_error(errors, file, line, directive, *i, r)) < 0)
                        return r;
        }
        return 0;
}

bool conf_is_glob(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

int conf_path_resolve(const char *base_dir, const char *path, char **ret) {
        char *s;
        if (path[0] == '/' || isempty(base_dir))
                s = strdup(path);
        else if (asprintf(&s, "%s%s%s", base_dir, base_dir[strlen(base_dir) - 1] == '/' ? "" : "/", path) < 0)
                s = NULL;
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int conf_path_resolve_replace(const char *base_dir, const char *path, char **dst) {
        char *s;
        int r = conf_path_resolve(base_dir, path, &s);
        if (r < 0)
                return r;
        free(*dst);
        *dst = s;
        return 0;
}

int conf_dirname(const char *path, char **ret) {
        const char *slash = strrchr(path, '/');
        char *s;
        if (!slash)
                s = strdup(".");
        else if (slash == path)
                s = strdup("/");
        else
                s = strndup(path, slash - path);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int conf_glob(const char *base_dir, const char *pattern, char ***ret) {
        _cleanup_free_ char *full = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = conf_path_resolve(base_dir, pattern, &full);
        if (r < 0)
                return r;

        if (!conf_is_glob(full)) {
                r = strv_extend(&l, full);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(l);
                return 0;
        }

        glob_t gl = {};
        /* Sorted (no GLOB_NOSORT), as nginx, php-fpm and Apache read includes in order. */
        int k = glob(full, 0, NULL, &gl);
        if (k == GLOB_NOSPACE) {
                globfree(&gl);
                return -ENOMEM;
        }
        for (size_t i = 0; k == 0 && i < gl.gl_pathc; i++) {
                r = strv_extend(&l, gl.gl_pathv[i]);
                if (r < 0) {
                        globfree(&gl);
                        return r;
                }
        }
        globfree(&gl);
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int conf_error(char ***errors, const char *file, unsigned line, const char *fmt, ...) {
        size_t n = strv_length(*errors);
        if (n > CONF_MAX_ERRORS)
                return 0;
        if (n == CONF_MAX_ERRORS)
                return strv_extend(errors, "too many errors, the rest are not shown");

        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;

        char *s;
        if (line > 0)
                k = asprintf(&s, "%s:%u: %s", strempty(file), line, msg);
        else
                k = asprintf(&s, "%s: %s", strempty(file), msg);
        if (k < 0)
                return -ENOMEM;
        return strv_consume(errors, s);
}

char *conf_next_word(char **p, bool *quoted) {
        char *s = *p;
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
                s++;
        if (!*s) {
                *p = s;
                return NULL;
        }

        char q = (*s == '"' || *s == '\'') ? *s : 0;
        if (quoted)
                *quoted = q != 0;
        if (q)
                s++;

        /* Unquote in place: the write cursor never overtakes the read cursor. */
        char *word = s, *w = s;
        for (;;) {
                char c = *s;
                if (!c)
                        break;
                if (q ? c == q : (c == ' ' || c == '\t' || c == '\r' || c == '\n')) {
                        s++;
                        break;
                }
                /* As Apache's ap_getword_conf: inside quotes a backslash escapes only the
                 * quote or itself, so regexes like "\.php$" keep their backslash. */
                if (q && c == '\\' && (s[1] == q || s[1] == '\\')) {
                        s++;
                        c = *s;
                }
                *w++ = c;
                s++;
        }
        *w = 0;
        *p = s;
        return word;
}

/* Appends n bytes, keeping room for the terminating NUL; doubles so expansion stays linear. */
static int buf_append(char **buf, size_t *len, size_t *cap, const char *src, size_t n) {
        if (*len + n + 1 > *cap) {
                size_t ncap = (*len + n + 1) * 2;
                char *nb = realloc(*buf, ncap);
                if (!nb)
                        return -ENOMEM;
                *buf = nb;
                *cap = ncap;
        }
        memcpy(*buf + *len, src, n);
        *len += n;
        return 0;
}

int conf_expand_vars(const char *s, bool bare_dollar, bool keep_unknown, conf_lookup_t lookup, void *userdata,
                     char **ret) {
        _cleanup_free_ char *out = NULL;
        size_t len = 0, cap = 0;

        for (const char *p = s; *p;) {
                const char *name = NULL, *next = NULL;
                size_t nlen = 0;

                if (p[0] == '$' && p[1] == '{') {
                        const char *e = strchr(p + 2, '}');
                        if (e) {
                                name = p + 2;
                                nlen = e - name;
                                next = e + 1;
                        }
                } else if (p[0] == '$' && bare_dollar) {
                        const char *e = p + 1;
                        while (*e == '_' || (*e >= 'A' && *e <= 'Z') || (*e >= 'a' && *e <= 'z') ||
                               (e > p + 1 && *e >= '0' && *e <= '9'))
                                e++;
                        if (e > p + 1) {
                                name = p + 1;
                                nlen = e - name;
                                next = e;
                        }
                }

                const char *add = p;
                size_t alen = 1;
                if (name) {
                        _cleanup_free_ char *n = strndup(name, nlen);
                        if (!n)
                                return -ENOMEM;
                        const char *v = lookup(n, userdata);
                        if (v) {
                                add = v;
                                alen = strlen(v);
                        } else if (keep_unknown)
                                alen = next - p;
                        else
                                alen = 0;
                        /* v may live in storage the lookup owns; copy before n goes. */
                        if (buf_append(&out, &len, &cap, add, alen) < 0)
                                return -ENOMEM;
                        p = next;
                        continue;
                }

                if (buf_append(&out, &len, &cap, add, alen) < 0)
                        return -ENOMEM;
                p++;
        }

        if (!out && !(out = malloc(1)))
                return -ENOMEM;
        out[len] = 0;
        *ret = TAKE_PTR(out);
        return 0;
}

int web_config_add_ref(WebConfig *c, const char *path, const char *directive, const char *file, unsigned line) {
        const char *shared = str_share_find(c->share, path);
        char *copy = shared ? NULL : strdup(path);
        UnixRef *ref = shared || copy ? ARRAY_PUSH(c->refs, c->n_refs) : NULL;
        if (!ref) {
                free(copy);
                return -ENOMEM;
        }
        *ref = (UnixRef) { .path = shared ?: copy, .directive = directive, .file = file, .line = line,
                           .path_shared = shared != NULL };
        return 0;
}

int web_config_finish(WebConfig *c, int r, WebConfig *ret) {
        if (r < 0) {
                web_config_done(c);
                return r;
        }
        c->share = NULL; /* the loader's, lent for the parse only */
        *ret = *c;
        return 0;
}

void web_config_done(WebConfig *c) {
        if (!c)
                return;
        free(c->server);
        free(c->main_file);
        free(c->prefix);
        free(c->user);
        free(c->group);
        strv_free(c->error_logs);
        free(c->pid_file);
        for (size_t i = 0; i < c->n_refs; i++)
                if (!c->refs[i].path_shared)
                        free((char *) c->refs[i].path);
        free(c->refs);
        strv_free(c->files);
        strv_free(c->errors);
        *c = (WebConfig) {};
}
