/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>

#include "conf-util.h"
#include "web-config.h"

#define CADDY_MAX_BLOCKS 64

typedef struct CaddyParser {
        WebConfig *c;
        ConfGuard guard;
        char **snippets;                     /* "(name)" definitions: import of these is no file */
        unsigned depth;
        const char *blocks[CADDY_MAX_BLOCKS]; /* static directive names we care about, or NULL */
} CaddyParser;

static int parse_file(CaddyParser *P, const char *path);
static int parse_text_cb(void *P, char *text, size_t size, const char *file);

static const char *upstream_directive(const char *d) {
        if (streq_ptr(d, "php_fastcgi"))
                return "php_fastcgi";
        if (streq_ptr(d, "reverse_proxy"))
                return "reverse_proxy";
        return NULL;
}

/* Caddy's network addresses: "unix//run/php/php-fpm.sock" (also unix+h2c/). */
static int on_upstream(CaddyParser *P, const char *directive, const char *addr, const char *file, unsigned line) {
        const char *p;
        if (startswith(addr, "unix/"))
                p = addr + 5;
        else if (startswith(addr, "unix+h2c/"))
                p = addr + 9;
        else
                return 0;
        if (p[0] != '/')
                return conf_error(&P->c->errors, file, line, "%s: socket path \"%s\" is not absolute", directive, p);
        return web_config_add_ref(P->c, p, directive, file, line);
}

static int on_import(CaddyParser *P, const char *pattern, const char *file, unsigned line) {
        _cleanup_free_ char *snippet = NULL, *dir = NULL;

        if (asprintf(&snippet, "(%s)", pattern) < 0)
                return -ENOMEM;
        if (strv_contains(P->snippets, snippet))
                return 0;
        int r = conf_dirname(file, &dir);
        if (r < 0)
                return r;
        return conf_include_glob(&P->guard, &P->c->files, &P->c->errors, dir, pattern, "import", file, line,
                                 parse_text_cb, P);
}

static int on_line(CaddyParser *P, char **w, size_t n, const char *file, unsigned line) {
        const char *parent = P->depth > 0 && P->depth <= CADDY_MAX_BLOCKS ? P->blocks[P->depth - 1] : NULL;
        const char *d = upstream_directive(w[0]);
        int r;

        if (streq_ptr(w[0], "}")) {
                if (P->depth == 0)
                        return conf_error(&P->c->errors, file, line, "unexpected '}'");
                P->depth--;
                return 0;
        }
        if (streq_ptr(w[0], "import") && n > 1)
                return on_import(P, w[1], file, line);
        if (w[0][0] == '(' && n > 0 && !strv_contains(P->snippets, w[0])) {
                r = strv_extend(&P->snippets, w[0]);
                if (r < 0)
                        return r;
        }

        /* `to unix//p` inside a php_fastcgi / reverse_proxy block. */
        const char *ref_directive = d ?: (parent && streq_ptr(w[0], "to") ? parent : NULL);
        for (size_t i = 1; ref_directive && i < n; i++) {
                r = on_upstream(P, ref_directive, w[i], file, line);
                if (r < 0)
                        return r;
        }

        if (streq_ptr(w[n - 1], "{")) {
                if (P->depth < CADDY_MAX_BLOCKS)
                        P->blocks[P->depth] = d;
                P->depth++;
        }
        return 0;
}

static int parse_text(CaddyParser *P, char *text, size_t size, const char *file) {
        _cleanup_free_ char **w = NULL;
        char *end = text + size;
        unsigned line = 0, base = P->depth;

        for (char *p = text; p < end;) {
                char *nl = memchr(p, '\n', end - p);
                if (nl)
                        *nl = 0;
                line++;

                size_t n = 0;
                bool quoted;
                for (char *s = p, *word; (word = conf_next_word(&s, &quoted));) {
                        if (!quoted && word[0] == '#')
                                break;
                        char **slot = ARRAY_PUSH(w, n);
                        if (!slot)
                                return -ENOMEM;
                        *slot = word;
                }
                if (n > 0) {
                        int r = on_line(P, w, n, file, line);
                        if (r < 0)
                                return r;
                }
                p = nl ? nl + 1 : end;
        }
        if (P->depth > base) {
                P->depth = base;
                return conf_error(&P->c->errors, file, line, "unexpected end of file, expecting '}'");
        }
        return 0;
}

static int parse_text_cb(void *P, char *text, size_t size, const char *file) {
        return parse_text(P, text, size, file);
}

static int parse_file(CaddyParser *P, const char *path) {
        return conf_parse_file(&P->guard, &P->c->files, path, parse_text_cb, P);
}

static int caddy_parse(const char *conf, const char *text, const StrShare *share, WebConfig *ret) {
        WebConfig c = { .share = share };
        CaddyParser P = { .c = &c };
        int r = -ENOMEM;

        c.server = strdup("caddy");
        c.main_file = strdup(conf);
        if (c.server && c.main_file)
                r = text ? conf_parse_string(&P.guard, &c.files, conf, text, parse_text_cb, &P)
                         : parse_file(&P, conf);
        strv_free(P.snippets);
        conf_guard_done(&P.guard);
        return web_config_finish(&c, r, ret);
}

int caddy_config_load(const char *conf, const StrShare *share, WebConfig *ret) {
        return caddy_parse(conf, NULL, share, ret);
}

int caddy_config_parse_string(const char *text, const char *name, WebConfig *ret) {
        return caddy_parse(name, text, NULL, ret);
}
