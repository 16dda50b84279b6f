/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "conf-util.h"
#include "web-config.h"

#define NGINX_DEFAULT_PREFIX "/usr/share/nginx/"
/* Deeper nesting is still parsed (braces are counted), only not named. */
#define NGINX_MAX_BLOCKS 64

typedef struct Upstream {
        char *name;
        char **paths;
} Upstream;

/* A *_pass naming an upstream, resolved once every file is read (the upstream may come
 * later or from another include). */
typedef struct Pending {
        char *name;
        const char *directive; /* static, as UnixRef's */
        const char *file;      /* the config's own copy */
        unsigned line;
} Pending;

typedef struct NginxParser {
        WebConfig *c;
        ConfGuard guard;
        char *conf_dir;
        unsigned depth;                    /* open blocks, across includes */
        ssize_t blocks[NGINX_MAX_BLOCKS];  /* upstream index, -1 for other blocks */
        Upstream *ups;
        size_t n_ups;
        Pending *pending;
        size_t n_pending;
} NginxParser;

typedef struct Stmt {
        char **args;
        size_t n;
        unsigned line;
        char term; /* ';', '{', '}' or 0 at end of file */
} Stmt;

static int parse_file(NginxParser *P, const char *path);
static int parse_text_cb(void *P, char *text, size_t size, const char *file);

static void parser_done(NginxParser *P) {
        for (size_t i = 0; i < P->n_ups; i++) {
                free(P->ups[i].name);
                strv_free(P->ups[i].paths);
        }
        free(P->ups);
        for (size_t i = 0; i < P->n_pending; i++) {
                free(P->pending[i].name);
        }
        free(P->pending);
        free(P->conf_dir);
        conf_guard_done(&P->guard);
}

static int add_path_to(char **dst, const char *prefix, const char *value) {
        char *s;
        int r = conf_path_resolve(prefix, value, &s);
        if (r < 0)
                return r;
        free(*dst);
        *dst = s;
        return 0;
}

static int on_error_log(NginxParser *P, const char *value) {
        /* Not files: nginx writes these to stderr, syslog or a memory buffer. */
        if (streq_ptr(value, "stderr") || startswith(value, "syslog:") || startswith(value, "memory:"))
                return 0;
        _cleanup_free_ char *path = NULL;
        int r = conf_path_resolve(P->c->prefix, value, &path);
        if (r < 0)
                return r;
        return strv_extend_unique(&P->c->error_logs, path);
}

/* "unix:/p", "grpc://unix:/p", "http://unix:/p:/uri": the socket path, which ends at the
 * first ':' (nginx splits the URI there, so a socket path cannot hold one). Otherwise
 * *ret_host is the upstream name or host. */
static int split_pass(const char *value, char **ret_path, char **ret_host) {
        const char *s = value, *scheme = strstr(value, "://");
        if (scheme)
                s = scheme + 3;
        *ret_path = *ret_host = NULL;
        if (startswith(s, "unix:")) {
                s += 5;
                char *p = strndup(s, strcspn(s, ":"));
                if (!p)
                        return -ENOMEM;
                *ret_path = p;
                return 0;
        }
        char *h = strndup(s, strcspn(s, ":/"));
        if (!h)
                return -ENOMEM;
        *ret_host = h;
        return 0;
}

/* The static name of a *_pass directive (references keep it by pointer), or NULL. */
static const char *pass_name(const char *d) {
        static const char *const passes[] = { "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass",
                                              "memcached_pass", "proxy_pass" };
        for (size_t i = 0; i < ELEMENTSOF(passes); i++)
                if (streq_ptr(d, passes[i]))
                        return passes[i];
        return NULL;
}

static int add_unix_ref(NginxParser *P, const char *path, const char *directive, const char *file, unsigned line) {
        if (path[0] != '/')
                return conf_error(&P->c->errors, file, line, "%s: socket path \"%s\" is not absolute", directive, path);
        return web_config_add_ref(P->c, path, directive, file, line);
}

static int on_pass(NginxParser *P, const char *directive, const char *value, const char *file, unsigned line) {
        _cleanup_free_ char *path = NULL, *host = NULL;

        /* Resolved at request time, so not a fixed reference. */
        if (strchr(value, '$'))
                return 0;
        int r = split_pass(value, &path, &host);
        if (r < 0)
                return r;
        if (path)
                return add_unix_ref(P, path, directive, file, line);
        if (isempty(host))
                return 0;

        Pending *p = ARRAY_PUSH(P->pending, P->n_pending);
        if (!p)
                return -ENOMEM;
        *p = (Pending) { .name = TAKE_PTR(host), .directive = directive, .file = file, .line = line };
        return 0;
}

static int on_upstream_server(NginxParser *P, Upstream *u, const char *value, const char *file, unsigned line) {
        if (!startswith(value, "unix:"))
                return 0;
        const char *path = value + 5;
        if (path[0] == '/') {
                int r = strv_extend(&u->paths, path);
                if (r < 0)
                        return r;
        }
        return add_unix_ref(P, path, "upstream server", file, line);
}

static int on_include(NginxParser *P, const char *pattern, const char *file, unsigned line) {
        return conf_include_glob(&P->guard, &P->c->files, &P->c->errors, P->conf_dir, pattern, "include", file, line,
                                 parse_text_cb, P);
}

static int on_block_open(NginxParser *P, const Stmt *st) {
        ssize_t up = -1;
        if (st->n == 2 && streq_ptr(st->args[0], "upstream")) {
                Upstream *u = ARRAY_PUSH(P->ups, P->n_ups);
                if (!u || !(u->name = strdup(st->args[1])))
                        return -ENOMEM;
                up = (ssize_t) P->n_ups - 1;
        }
        if (P->depth < NGINX_MAX_BLOCKS)
                P->blocks[P->depth] = up;
        P->depth++;
        return 0;
}

static ssize_t current_upstream(const NginxParser *P) {
        if (P->depth == 0 || P->depth > NGINX_MAX_BLOCKS)
                return -1;
        return P->blocks[P->depth - 1];
}

static int on_directive(NginxParser *P, const Stmt *st, const char *file) {
        WebConfig *c = P->c;
        const char *d = st->args[0], *v = st->n > 1 ? st->args[1] : NULL;
        int r;

        if (!v)
                return 0;
        if (streq_ptr(d, "include"))
                return on_include(P, v, file, st->line);
        if (streq_ptr(d, "error_log"))
                return on_error_log(P, v);
        const char *pass = pass_name(d);
        if (pass)
                return on_pass(P, pass, v, file, st->line);

        ssize_t up = current_upstream(P);
        if (up >= 0 && streq_ptr(d, "server"))
                return on_upstream_server(P, &P->ups[up], v, file, st->line);

        if (P->depth > 0)
                return 0;
        if (streq_ptr(d, "pid"))
                return add_path_to(&c->pid_file, c->prefix, v);
        if (streq_ptr(d, "user")) {
                /* nginx: "If group is omitted, a group whose name equals that of user is used." */
                const char *g = st->n > 2 ? st->args[2] : v;
                free(c->user);
                free(c->group);
                c->user = strdup(v);
                c->group = strdup(g);
                r = c->user && c->group ? 0 : -ENOMEM;
                return r;
        }
        return 0;
}

static int on_stmt(NginxParser *P, const Stmt *st, unsigned base_depth, const char *file) {
        switch (st->term) {
        case '{':
                if (st->n == 0)
                        return conf_error(&P->c->errors, file, st->line, "unexpected \"{\"");
                return on_block_open(P, st);
        case '}':
                if (st->n > 0 || P->depth <= base_depth)
                        return conf_error(&P->c->errors, file, st->line, "unexpected \"}\"");
                P->depth--;
                return 0;
        case ';':
                if (st->n == 0)
                        return 0;
                return on_directive(P, st, file);
        default:
                if (st->n > 0)
                        return conf_error(&P->c->errors, file, st->line, "unexpected end of file, expecting \";\" or \"}\"");
                return 0;
        }
}

static char unescape(char c) {
        switch (c) {
        case 't':
                return '\t';
        case 'r':
                return '\r';
        case 'n':
                return '\n';
        default:
                return c;
        }
}

/* nginx's tokenizer: words, "double" or 'single' quoted strings with backslash escapes,
 * '#' comments at a word start, and ';' '{' '}' ending a statement. Words are copied to
 * out (one NUL-terminated string each), so the whole file costs one pass. */
static int parse_text(NginxParser *P, const char *text, size_t size, const char *file) {
        _cleanup_free_ char *out = malloc(size + 1);
        _cleanup_free_ char **args = NULL;
        size_t n_args = 0;
        const char *p = text, *end = text + size;
        char *w = out;
        unsigned line = 1, stmt_line = 1, base_depth = P->depth;
        int r;

        if (!out)
                return -ENOMEM;

        for (;;) {
                while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == 0)) {
                        if (*p == '\n')
                                line++;
                        p++;
                }
                if (p < end && *p == '#') {
                        while (p < end && *p != '\n')
                                p++;
                        continue;
                }

                Stmt st = { .args = args, .n = n_args, .line = n_args > 0 ? stmt_line : line };
                if (p >= end || *p == ';' || *p == '{' || *p == '}') {
                        st.term = p < end ? *p : 0;
                        r = on_stmt(P, &st, base_depth, file);
                        if (r < 0)
                                return r;
                        n_args = 0;
                        /* Words of a finished statement are no longer needed. */
                        w = out;
                        if (p >= end)
                                break;
                        p++;
                        continue;
                }

                if (n_args == 0)
                        stmt_line = line;
                char q = (*p == '"' || *p == '\'') ? *p++ : 0;
                char *word = w;
                for (;;) {
                        if (p >= end) {
                                if (q) {
                                        r = conf_error(&P->c->errors, file, line, "unterminated quoted string");
                                        if (r < 0)
                                                return r;
                                }
                                break;
                        }
                        char ch = *p;
                        if (q ? ch == q : (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == 0 ||
                                           ch == ';' || ch == '{' || ch == '}')) {
                                if (q)
                                        p++;
                                break;
                        }
                        if (ch == '\n')
                                line++;
                        if (ch == '\\' && p + 1 < end) {
                                char e = p[1];
                                if (e == '"' || e == '\'' || e == '\\' || e == 't' || e == 'r' || e == 'n') {
                                        *w++ = unescape(e);
                                        p += 2;
                                        continue;
                                }
                                /* An escaped terminator is part of the word. */
                                *w++ = *p++;
                                if (e == '\n')
                                        line++;
                                *w++ = *p++;
                                continue;
                        }
                        *w++ = *p++;
                }
                *w++ = 0;
                char **slot = ARRAY_PUSH(args, n_args);
                if (!slot)
                        return -ENOMEM;
                *slot = word;
        }

        if (P->depth > base_depth) {
                r = conf_error(&P->c->errors, file, line, "unexpected end of file, expecting \"}\"");
                P->depth = base_depth;
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_text_cb(void *P, char *text, size_t size, const char *file) {
        return parse_text(P, text, size, file);
}

static int parse_file(NginxParser *P, const char *path) {
        return conf_parse_file(&P->guard, &P->c->files, path, parse_text_cb, P);
}

static int upstream_cmp(const void *a, const void *b) {
        return strcmp(((const Upstream *) a)->name, ((const Upstream *) b)->name);
}

/* Sorted once and searched per *_pass, so thousands of vhosts stay O(n log n). A
 * repeated upstream name is an nginx error; the first one found is used. */
static int resolve_pending(NginxParser *P) {
        if (P->n_ups > 0)
                qsort(P->ups, P->n_ups, sizeof(Upstream), upstream_cmp);
        for (size_t i = 0; i < P->n_pending; i++) {
                Pending *p = &P->pending[i];
                Upstream key = { .name = p->name };
                const Upstream *u = P->n_ups > 0 ? bsearch(&key, P->ups, P->n_ups, sizeof(Upstream), upstream_cmp) : NULL;
                for (char **j = u ? u->paths : NULL; j && *j; j++) {
                        int r = web_config_add_ref(P->c, *j, p->directive, p->file, p->line);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int nginx_parse(const char *conf, const char *prefix, const char *text, const StrShare *share,
                       WebConfig *ret) {
        WebConfig c = { .share = share };
        NginxParser P = { .c = &c };
        int r;

        c.server = strdup("nginx");
        c.main_file = strdup(conf);
        c.prefix = strdup(prefix ?: NGINX_DEFAULT_PREFIX);
        if (!c.server || !c.main_file || !c.prefix) {
                r = -ENOMEM;
                goto finish;
        }
        r = conf_dirname(conf, &P.conf_dir);
        if (r < 0)
                goto finish;

        r = text ? conf_parse_string(&P.guard, &c.files, conf, text, parse_text_cb, &P) : parse_file(&P, conf);
        if (r < 0)
                goto finish;

        r = resolve_pending(&P);
        if (r < 0)
                goto finish;
        /* nginx's compiled-in default when the config names no error_log. */
        if (!c.error_logs)
                r = on_error_log(&P, "logs/error.log");

finish:
        parser_done(&P);
        return web_config_finish(&c, r, ret);
}

int nginx_config_load(const char *conf, const char *prefix, const StrShare *share, WebConfig *ret) {
        return nginx_parse(conf, prefix, NULL, share, ret);
}

int nginx_config_parse_string(const char *text, const char *name, WebConfig *ret) {
        return nginx_parse(name, NULL, text, NULL, ret);
}
