/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <stdio.h>

#include "conf-util.h"
#include "web-config.h"

#define LIGHTTPD_MAX_VARS 1000u
/* Longer than any path: stops "a" + "a" + ... from growing quadratically. */
#define LIGHTTPD_MAX_STRING 4096u

typedef enum TokType {
        TOK_STRING,
        TOK_WORD, /* identifiers and numbers: server.username, var.x, 80 */
        TOK_OP,   /* = += := => == != =~ !~ + and single ( ) { } [ ] , */
} TokType;

typedef struct Tok {
        TokType type;
        char *s;
        unsigned line;
} Tok;

typedef struct LighttpdParser {
        WebConfig *c;
        ConfGuard guard;
        char *base_dir; /* relative includes: the main file's directory */
        char **vars;    /* "var.x=value" */
} LighttpdParser;

static int parse_file(LighttpdParser *P, const char *path);
static int parse_text_cb(void *P, char *text, size_t size, const char *file);

static bool is_op_char(char c) {
        return strchr("=+:!~<>", c) != NULL;
}

static bool is_single(char c) {
        return strchr("(){}[],", c) != NULL;
}

/* One pass over the file into tokens copied to out (words never overlap). */
static int tokenize(LighttpdParser *P, const char *text, size_t size, const char *file, char *out, Tok **ret,
                    size_t *ret_n) {
        const char *p = text, *end = text + size;
        Tok *toks = NULL;
        size_t n = 0;
        unsigned line = 1;

        while (p < end) {
                char c = *p;
                if (c == '\n') {
                        line++;
                        p++;
                        continue;
                }
                if (c == ' ' || c == '\t' || c == '\r' || c == 0) {
                        p++;
                        continue;
                }
                if (c == '#') {
                        while (p < end && *p != '\n')
                                p++;
                        continue;
                }

                Tok *t = ARRAY_PUSH(toks, n);
                if (!t) {
                        free(toks);
                        return -ENOMEM;
                }
                t->s = out;
                t->line = line;
                if (c == '"') {
                        t->type = TOK_STRING;
                        for (p++;; p++) {
                                if (p >= end) {
                                        int r = conf_error(&P->c->errors, file, t->line, "unterminated string");
                                        if (r < 0) {
                                                free(toks);
                                                return r;
                                        }
                                        break;
                                }
                                if (*p == '"') {
                                        p++;
                                        break;
                                }
                                if (*p == '\n')
                                        line++;
                                if (*p == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
                                        p++;
                                *out++ = *p;
                        }
                } else if (is_single(c)) {
                        t->type = TOK_OP;
                        *out++ = *p++;
                } else if (is_op_char(c)) {
                        t->type = TOK_OP;
                        while (p < end && is_op_char(*p))
                                *out++ = *p++;
                } else {
                        t->type = TOK_WORD;
                        while (p < end && !strchr(" \t\r\n\"#", *p) && *p && !is_single(*p) && !is_op_char(*p))
                                *out++ = *p++;
                }
                *out++ = 0;
        }
        *ret = toks;
        *ret_n = n;
        return 0;
}

static const char *var_get(LighttpdParser *P, const char *name) {
        size_t n = strlen(name);
        for (size_t i = strv_length(P->vars); i > 0; i--)
                if (strncmp(P->vars[i - 1], name, n) == 0 && P->vars[i - 1][n] == '=')
                        return P->vars[i - 1] + n + 1;
        return NULL;
}

/* value := term ('+' term)*, term := "string" | var.name. Anything else (numbers,
 * arrays, env.X) is not a string we can know: NULL. *i ends after the expression. */
static int eval_string(LighttpdParser *P, const Tok *t, size_t n, size_t *i, char **ret) {
        _cleanup_free_ char *acc = strdup("");
        if (!acc)
                return -ENOMEM;
        for (;;) {
                if (*i >= n)
                        break;
                const char *v = t[*i].type == TOK_STRING ? t[*i].s :
                                t[*i].type == TOK_WORD ? var_get(P, t[*i].s) : NULL;
                if (!v) {
                        *ret = NULL;
                        return 0;
                }
                if (strlen(acc) + strlen(v) > LIGHTTPD_MAX_STRING) {
                        *ret = NULL;
                        return 0;
                }
                char *s;
                if (asprintf(&s, "%s%s", acc, v) < 0)
                        return -ENOMEM;
                free(acc);
                acc = s;
                (*i)++;
                if (*i < n && t[*i].type == TOK_OP && streq_ptr(t[*i].s, "+"))
                        (*i)++;
                else
                        break;
        }
        *ret = TAKE_PTR(acc);
        return 0;
}

static int on_include(LighttpdParser *P, const char *pattern, const char *file, unsigned line) {
        return conf_include_glob(&P->guard, &P->c->files, &P->c->errors, P->base_dir, pattern, "include", file, line,
                                 parse_text_cb, P);
}

static bool is_backend_key(const char *k) {
        return streq_ptr(k, "fastcgi.server") || streq_ptr(k, "scgi.server") || streq_ptr(k, "proxy.server");
}

static int on_assign(LighttpdParser *P, const char *key, const char *value) {
        WebConfig *c = P->c;
        char **dst = streq_ptr(key, "server.username")  ? &c->user :
                     streq_ptr(key, "server.groupname") ? &c->group :
                     streq_ptr(key, "server.pid-file")  ? &c->pid_file : NULL;
        if (dst) {
                free(*dst);
                return (*dst = strdup(value)) ? 0 : -ENOMEM;
        }
        if (streq_ptr(key, "server.errorlog"))
                return value[0] == '/' ? strv_extend_unique(&c->error_logs, value) : 0;
        if (startswith(key, "var.") && strv_length(P->vars) < LIGHTTPD_MAX_VARS) {
                char *s;
                if (asprintf(&s, "%s=%s", key, value) < 0)
                        return -ENOMEM;
                return strv_consume(&P->vars, s);
        }
        return 0;
}

static bool tok_is(const Tok *t, TokType type, const char *s) {
        return t->type == type && streq_ptr(t->s, s);
}

/* How many sockets a backend lighttpd spawns itself listens on, 0 for one it does not
 * spawn. With "bin-path", each process it starts binds the socket's path + "-" + its
 * number (0, 1, ...), never the path as written; it starts min-procs of them at once
 * (4 by default, at most max-procs, also 4 by default), and may add more up to
 * max-procs under load. Those started at once are the references: the others exist
 * only while lighttpd wants them. i is the "socket" key in the backend's ( ... ); a
 * backend's block longer than LIGHTTPD_MAX_BLOCK tokens is no real one (and a scan per
 * key must stay linear). */
#define LIGHTTPD_MAX_SPAWNED 64u
#define LIGHTTPD_MAX_BLOCK 1024u
static unsigned spawned_sockets(LighttpdParser *P, const Tok *t, size_t n, size_t i) {
        size_t lo = i, depth = 0;
        /* The "(" that opens the backend's block. */
        for (;;) {
                if (lo == 0 || i - lo >= LIGHTTPD_MAX_BLOCK)
                        return 0;
                lo--;
                if (tok_is(&t[lo], TOK_OP, ")"))
                        depth++;
                else if (tok_is(&t[lo], TOK_OP, "(") && depth-- == 0)
                        break;
        }
        bool spawns = false;
        unsigned long min_procs = 4, max_procs = 4;
        depth = 0;
        for (size_t k = lo + 1; k + 2 < n && k - lo < 2 * LIGHTTPD_MAX_BLOCK; k++) {
                if (tok_is(&t[k], TOK_OP, "(")) {
                        depth++;
                        continue;
                }
                if (tok_is(&t[k], TOK_OP, ")") && depth-- == 0)
                        break;
                if (depth != 0 || t[k].type != TOK_STRING || !tok_is(&t[k + 1], TOK_OP, "=>"))
                        continue;
                /* A value as written or through a var. (numbers are words, or strings). */
                const char *v = t[k + 2].type == TOK_WORD && !isdigit((unsigned char) t[k + 2].s[0])
                                        ? var_get(P, t[k + 2].s)
                                        : t[k + 2].s;
                char *end;
                if (streq_ptr(t[k].s, "bin-path"))
                        spawns = v && v[0];
                else if (v && (streq_ptr(t[k].s, "min-procs") || streq_ptr(t[k].s, "max-procs"))) {
                        unsigned long x = strtoul(v, &end, 10);
                        if (*end == 0 && end != v)
                                *(streq_ptr(t[k].s, "min-procs") ? &min_procs : &max_procs) = x;
                }
        }
        if (!spawns)
                return 0;
        unsigned long count = min_procs < max_procs ? min_procs : max_procs;
        return count < 1 ? 1 : count > LIGHTTPD_MAX_SPAWNED ? LIGHTTPD_MAX_SPAWNED : (unsigned) count;
}

static int parse_tokens(LighttpdParser *P, const Tok *t, size_t n, const char *file) {
        const char *assign = NULL; /* the key whose value is being read */
        int r;

        for (size_t i = 0; i < n;) {
                if (t[i].type == TOK_WORD && i + 1 < n && t[i + 1].type == TOK_STRING &&
                    (streq_ptr(t[i].s, "include") || streq_ptr(t[i].s, "include_shell"))) {
                        /* include_shell would run a command as root: never. */
                        if (streq_ptr(t[i].s, "include")) {
                                r = on_include(P, t[i + 1].s, file, t[i].line);
                                if (r < 0)
                                        return r;
                        }
                        i += 2;
                        continue;
                }
                if (t[i].type == TOK_WORD && i + 1 < n && t[i + 1].type == TOK_OP &&
                    (streq_ptr(t[i + 1].s, "=") || streq_ptr(t[i + 1].s, "+=") || streq_ptr(t[i + 1].s, ":="))) {
                        assign = t[i].s;
                        size_t j = i + 2;
                        _cleanup_free_ char *v = NULL;
                        r = eval_string(P, t, n, &j, &v);
                        if (r < 0)
                                return r;
                        if (v) {
                                r = on_assign(P, assign, v);
                                if (r < 0)
                                        return r;
                                i = j;
                        } else
                                i += 2;
                        continue;
                }
                if (t[i].type == TOK_STRING && streq_ptr(t[i].s, "socket") && i + 1 < n && t[i + 1].type == TOK_OP &&
                    streq_ptr(t[i + 1].s, "=>") && is_backend_key(assign)) {
                        size_t j = i + 2;
                        unsigned spawned = 0;
                        _cleanup_free_ char *v = NULL;
                        r = eval_string(P, t, n, &j, &v);
                        if (r < 0)
                                return r;
                        if (!v || v[0] != '/')
                                r = conf_error(&P->c->errors, file, t[i].line, "socket: cannot evaluate the path");
                        else if ((spawned = spawned_sockets(P, t, n, i)) == 0)
                                r = web_config_add_ref(P->c, v, "socket", file, t[i].line);
                        for (unsigned k = 0; r >= 0 && k < spawned; k++) {
                                _cleanup_free_ char *path = NULL;
                                r = asprintf(&path, "%s-%u", v, k) < 0
                                            ? -ENOMEM
                                            : web_config_add_ref(P->c, path, "socket", file, t[i].line);
                        }
                        if (r < 0)
                                return r;
                        i = j > i + 2 ? j : i + 2;
                        continue;
                }
                i++;
        }
        return 0;
}

static int parse_text(LighttpdParser *P, const char *text, size_t size, const char *file) {
        _cleanup_free_ char *out = malloc(size * 2 + 1);
        _cleanup_free_ Tok *toks = NULL;
        size_t n = 0;

        if (!out)
                return -ENOMEM;
        int r = tokenize(P, text, size, file, out, &toks, &n);
        if (r < 0)
                return r;
        return parse_tokens(P, toks, n, file);
}

static int parse_text_cb(void *P, char *text, size_t size, const char *file) {
        return parse_text(P, text, size, file);
}

static int parse_file(LighttpdParser *P, const char *path) {
        return conf_parse_file(&P->guard, &P->c->files, path, parse_text_cb, P);
}

static int lighttpd_parse(const char *conf, const char *text, const StrShare *share, WebConfig *ret) {
        WebConfig c = { .share = share };
        LighttpdParser P = { .c = &c };
        int r = -ENOMEM;

        c.server = strdup("lighttpd");
        c.main_file = strdup(conf);
        if (c.server && c.main_file)
                r = conf_dirname(conf, &P.base_dir);
        if (r >= 0) {
                r = text ? conf_parse_string(&P.guard, &c.files, conf, text, parse_text_cb, &P)
                         : parse_file(&P, conf);
        }
        free(P.base_dir);
        strv_free(P.vars);
        conf_guard_done(&P.guard);
        return web_config_finish(&c, r, ret);
}

int lighttpd_config_load(const char *conf, const StrShare *share, WebConfig *ret) {
        return lighttpd_parse(conf, NULL, share, ret);
}

int lighttpd_config_parse_string(const char *text, const char *name, WebConfig *ret) {
        return lighttpd_parse(name, text, NULL, ret);
}
