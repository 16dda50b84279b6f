/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fpm-config.h"

#include <stdint.h>
#include <stdio.h>

#include "conf-util.h"
#include "util/hashmap.h"

/* Pools hold php_value[...] and env[...] keys beyond the known ones, but a pool with
 * thousands of keys is garbage: bounding it keeps the key lookup linear overall. */
#define FPM_MAX_POOLS 10000u

typedef struct FpmParser {
        FpmConfig *c;
        ConfGuard guard;
        ssize_t cur; /* index of the pool being filled, -1 in [global] */
        int fatal;   /* -ELOOP / -E2BIG: php-fpm refuses the whole configuration */
        /* Hosting servers declare thousands of pools: look them up by hash. */
        Hashmap *pools_by_name; /* name -> index + 1 */
        struct PoolParse *pp;   /* per pool: its draft while its keys are being set */
        size_t n_pp;
        ssize_t active;         /* the pool whose draft goes into its block once another pool gets a key */
} FpmParser;

static int parse_file(FpmParser *P, const char *path);

static const char *lookup_env(const char *name, void *userdata) {
        (void) userdata;
        return getenv(name);
}

/* No value sockfix reads (a socket path, user and group names, a mode, ACL lists) comes
 * near this; $pool substitution could otherwise turn one line naming a long pool many
 * times into gigabytes. */
#define FPM_MAX_VALUE (64u << 10)

/* -E2BIG: longer than FPM_MAX_VALUE once substituted. */
static int replace_pool_name(const char *s, const char *pool, char **ret) {
        static const char token[] = "$pool";
        size_t n = 0, plen = strlen(pool), tlen = strlen(token), len = strlen(s);

        for (const char *p = strstr(s, token); p; p = strstr(p + tlen, token))
                n++;
        if (len > FPM_MAX_VALUE || (plen > 0 && n > (FPM_MAX_VALUE - len) / plen))
                return -E2BIG;
        char *out = malloc(len + n * plen + 1), *w = out;
        if (!out)
                return -ENOMEM;
        for (const char *p = s;;) {
                const char *m = strstr(p, token);
                if (!m) {
                        strcpy(w, p);
                        break;
                }
                w = mempcpy(w, p, m - p);
                w = mempcpy(w, pool, plen);
                p = m + tlen;
        }
        *ret = out;
        return 0;
}

/* The value part of `key = value`: quoted ("..." with \" escapes, '...' raw) or bare up
 * to a ';' comment. Sets *expand when ${VAR} applies (everything but single quotes). */
static char *unquote_value(char *v, bool *expand, bool *unterminated) {
        v = strstrip(v);
        *expand = true;
        *unterminated = false;
        if (*v == '"' || *v == '\'') {
                char q = *v, *r = v + 1, *w = v;
                *expand = q == '"';
                for (;; r++) {
                        if (!*r) {
                                *unterminated = true;
                                break;
                        }
                        if (*r == q)
                                break;
                        if (q == '"' && *r == '\\' && (r[1] == '"' || r[1] == '\\'))
                                r++;
                        *w++ = *r;
                }
                *w = 0;
                return v;
        }
        char *semi = strchr(v, ';');
        if (semi)
                *semi = 0;
        return strstrip(v);
}

static int set_global(FpmParser *P, const char *key, const char *value) {
        if (streq_ptr(key, "pid"))
                return conf_path_resolve_replace(P->c->prefix, value, &P->c->pid_file);
        /* "syslog" is a destination, not a file. */
        if (streq_ptr(key, "error_log") && !streq_ptr(value, "syslog"))
                return conf_path_resolve_replace(P->c->prefix, value, &P->c->error_log);
        return 0;
}

/* The pool keys sockfix reads: who may connect, and as whom the pool runs. The rest
 * (pm.*, php_admin_value[...], env[...]) is not kept: a host with thousands of pools
 * would hold them all between calls for nothing. A fix edits pool files from the file
 * itself (sys/pool-edit.c), not from here. */
static const char *const kept_keys[] = {
        "listen", "listen.owner", "listen.group", "listen.mode", "listen.acl_users", "listen.acl_groups",
        "user",   "group",
};

/* Each pool is one exact block: its keys, then their values, then its name. A host
 * with thousands of pools keeps them all between calls, and separate allocations with
 * spare slots were a quarter of that model. The name index borrows the name, so its key
 * moves with the block. */
static int pool_build(FpmParser *P, size_t i, const char *name, const FpmKey *keys, char *const *values,
                      size_t n) {
        FpmPool *p = &P->c->pools[i];
        size_t size = n * sizeof(FpmKey) + strlen(name) + 1;
        for (size_t j = 0; j < n; j++)
                size += strlen(values[j]) + 1;
        char *block = malloc(size);
        if (!block)
                return -ENOMEM;
        if (n > 0)
                memcpy(block, keys, n * sizeof(FpmKey));
        char *w = block + n * sizeof(FpmKey);
        for (size_t j = 0; j < n; j++)
                w = stpcpy(w, values[j]) + 1;
        strcpy(w, name); /* name may point into the old block: copied before it is freed */

        if (p->keys)
                hashmap_remove_str(P->pools_by_name, p->name);
        free(p->keys);
        p->keys = (FpmKey *) (void *) block;
        p->n_keys = (unsigned) n;
        p->name = w;
        return hashmap_put_str(P->pools_by_name, p->name, (void *) (uintptr_t) (i + 1));
}

/* A pool whose keys are being set: its values apart, so that a key costs its own value,
 * not a copy of the pool. It goes into the pool's block when another pool gets a key
 * (so what parsing one pool allocated is freed before the next is parsed, and its memory
 * reused: building every block at the end left a 5,000-pool host's heap full of freed
 * holes), and at the end. A pool taken up again more than DRAFT_REOPEN_MAX times stays a
 * draft until the end, so that a file alternating between pools with long values costs
 * a bounded number of copies of each. */
typedef struct Draft {
        FpmKey keys[ELEMENTSOF(kept_keys)];
        char *values[ELEMENTSOF(kept_keys)];
        unsigned n_keys;
} Draft;

typedef struct PoolParse {
        Draft *draft;
        unsigned opened; /* drafts made of the pool so far */
} PoolParse;

#define DRAFT_REOPEN_MAX 4u

static void draft_free(Draft *d) {
        if (!d)
                return;
        for (unsigned j = 0; j < d->n_keys; j++)
                free(d->values[j]);
        free(d);
}

/* The draft into the pool's block; it stays a draft if it was taken up too often and
 * the parse goes on (at_end: it does not). */
static int draft_close(FpmParser *P, size_t i, bool at_end) {
        PoolParse *pp = &P->pp[i];
        if (!pp->draft || (!at_end && pp->opened > DRAFT_REOPEN_MAX))
                return 0;
        int r = pool_build(P, i, P->c->pools[i].name, pp->draft->keys, pp->draft->values, pp->draft->n_keys);
        if (r < 0)
                return r;
        draft_free(pp->draft);
        pp->draft = NULL;
        return 0;
}

static Draft *draft_open(FpmParser *P, size_t i) {
        if (i < P->n_pp && P->pp[i].draft)
                return P->pp[i].draft;
        if (P->active >= 0 && (size_t) P->active != i && draft_close(P, (size_t) P->active, false) < 0)
                return NULL;
        while (P->n_pp <= i)
                if (!ARRAY_PUSH(P->pp, P->n_pp))
                        return NULL;
        const FpmPool *p = &P->c->pools[i];
        Draft *d = calloc(1, sizeof(Draft));
        if (!d)
                return NULL;
        for (unsigned j = 0; j < p->n_keys; j++) {
                d->keys[j] = p->keys[j];
                if (!(d->values[j] = strdup(fpm_key_value(p, &p->keys[j])))) {
                        draft_free(d);
                        return NULL;
                }
                d->n_keys = j + 1;
        }
        P->pp[i].draft = d;
        P->pp[i].opened++;
        P->active = (ssize_t) i;
        return d;
}

/* At the end: every draft into its block. */
static int drafts_close_all(FpmParser *P) {
        for (size_t i = 0; i < P->n_pp; i++) {
                int r = draft_close(P, i, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void drafts_free(FpmParser *P) {
        for (size_t i = 0; i < P->n_pp; i++)
                draft_free(P->pp[i].draft);
        free(P->pp);
        P->pp = NULL;
        P->n_pp = 0;
}

/* Which of the kept keys, or -1. */
static int kept_key_id(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(kept_keys); i++)
                if (streq_ptr(kept_keys[i], key))
                        return (int) i;
        return -1;
}

/* Takes ownership of value. */
static int set_pool_key(FpmParser *P, int id, char *value, const char *file, unsigned line) {
        _cleanup_free_ char *v = value;
        Draft *d = draft_open(P, (size_t) P->cur);
        if (!d)
                return -ENOMEM;
        unsigned at = 0;
        while (at < d->n_keys && d->keys[at].id != id)
                at++;
        if (at == d->n_keys)
                d->n_keys++;
        else
                free(d->values[at]);
        d->keys[at] = (FpmKey) { .file = file, .line = line, .id = (uint8_t) id };
        d->values[at] = TAKE_PTR(v);
        return 0;
}

static int enter_section(FpmParser *P, const char *name, const char *file, unsigned line) {
        FpmConfig *c = P->c;

        if (streq_ptr(name, "global")) {
                P->cur = -1;
                return 0;
        }
        /* A repeated [name] continues the same pool, as in php-fpm. */
        uintptr_t known = (uintptr_t) hashmap_get_str(P->pools_by_name, name);
        if (known) {
                P->cur = (ssize_t) known - 1;
                return 0;
        }
        if (c->n_pools >= FPM_MAX_POOLS) {
                P->fatal = -E2BIG;
                return conf_error(&c->errors, file, line, "too many pools");
        }
        FpmPool *p = ARRAY_PUSH(c->pools, c->n_pools);
        if (!p)
                return -ENOMEM;
        p->file = file;
        p->line = line;
        P->cur = (ssize_t) c->n_pools - 1;
        return pool_build(P, (size_t) P->cur, name, NULL, NULL, 0);
}

static int include_glob(FpmParser *P, const char *pattern, const char *file, unsigned line) {
        _cleanup_strv_free_ char **paths = NULL;
        int r = conf_glob(P->c->prefix, pattern, &paths);
        if (r < 0)
                return r;
        /* php-fpm only warns when nothing matches, and skips directories. */
        for (char **i = paths; *i && !P->fatal; i++) {
                r = parse_file(P, *i);
                if (r == -ENOENT || r == -EISDIR)
                        continue;
                if (r == -ELOOP || r == -E2BIG) {
                        P->fatal = r;
                        return conf_include_error(&P->c->errors, file, line, "include", *i, r);
                }
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        r = conf_error(&P->c->errors, file, line, "include %s: %s", *i, strerror(-r));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int parse_line(FpmParser *P, char *s, const char *file, unsigned line) {
        FpmConfig *c = P->c;
        int r;

        s = strstrip(s);
        if (!*s || *s == ';' || *s == '#')
                return 0;

        if (*s == '[') {
                char *e = strchr(s, ']');
                if (!e)
                        return conf_error(&c->errors, file, line, "unterminated section header");
                *e = 0;
                char *name = strstrip(s + 1);
                if (!*name)
                        return conf_error(&c->errors, file, line, "empty section name");
                return enter_section(P, name, file, line);
        }

        char *eq = strchr(s, '=');
        if (!eq)
                return conf_error(&c->errors, file, line, "syntax error, expected key = value");
        *eq = 0;
        char *key = strstrip(s);
        if (!*key)
                return conf_error(&c->errors, file, line, "empty key");

        bool expand, unterminated;
        char *raw = unquote_value(eq + 1, &expand, &unterminated);
        if (unterminated) {
                r = conf_error(&c->errors, file, line, "unterminated quoted value");
                if (r < 0)
                        return r;
        }

        _cleanup_free_ char *value = NULL;
        if (expand)
                r = conf_expand_vars(raw, false, false, lookup_env, NULL, &value);
        else
                r = (value = strdup(raw)) ? 0 : -ENOMEM;
        if (r < 0)
                return r;

        if (streq_ptr(key, "include"))
                return include_glob(P, value, file, line);
        if (P->cur < 0)
                return set_global(P, key, value);

        int id = kept_key_id(key);
        if (id < 0)
                return 0;
        char *v;
        r = replace_pool_name(value, c->pools[P->cur].name, &v);
        if (r == -E2BIG)
                return conf_error(&c->errors, file, line, "%s: longer than %u bytes once $pool is substituted, not read",
                                  key, FPM_MAX_VALUE);
        if (r < 0)
                return r;
        return set_pool_key(P, id, v, file, line);
}

static int parse_text(FpmParser *P, char *text, size_t size, const char *file) {
        char *end = text + size;
        unsigned line = 0;

        for (char *p = text; p < end && !P->fatal;) {
                char *nl = memchr(p, '\n', end - p);
                if (nl)
                        *nl = 0;
                line++;
                /* A NUL byte inside the line just ends it early: nothing reads past it. */
                int r = parse_line(P, p, file, line);
                if (r < 0)
                        return r;
                p = nl ? nl + 1 : end;
        }
        return 0;
}

static int parse_text_cb(void *P, char *text, size_t size, const char *file) {
        return parse_text(P, text, size, file);
}

static int parse_file(FpmParser *P, const char *path) {
        return conf_parse_file(&P->guard, &P->c->files, path, parse_text_cb, P);
}

static int config_init(FpmConfig *c, const char *main_file) {
        *c = (FpmConfig) {};
        c->main_file = strdup(main_file);
        if (!c->main_file)
                return -ENOMEM;
        return conf_dirname(main_file, &c->prefix);
}

static int parser_init(FpmParser *P, FpmConfig *c) {
        *P = (FpmParser) { .c = c, .cur = -1, .active = -1, .pools_by_name = hashmap_new_str() };
        return P->pools_by_name ? 0 : -ENOMEM;
}

static int finish(FpmParser *P, int r, FpmConfig *c, FpmConfig *ret) {
        if (r >= 0)
                r = drafts_close_all(P);
        drafts_free(P);
        hashmap_free(P->pools_by_name);
        conf_guard_done(&P->guard);
        if (r >= 0 && P->fatal)
                r = P->fatal;
        if (r < 0) {
                fpm_config_done(c);
                return r;
        }
        /* The host model keeps the pool array: no spare slots. */
        FpmPool *exact = c->n_pools ? realloc(c->pools, c->n_pools * sizeof(FpmPool)) : NULL;
        if (exact)
                c->pools = exact;
        *ret = *c;
        return 0;
}

int fpm_config_load(const char *main_file, FpmConfig *ret) {
        FpmConfig c;
        FpmParser P;

        int r = config_init(&c, main_file);
        if (r >= 0)
                r = parser_init(&P, &c);
        if (r >= 0)
                r = parse_file(&P, main_file);
        return finish(&P, r, &c, ret);
}

int fpm_config_parse_string(const char *text, const char *name, FpmConfig *ret) {
        FpmConfig c;
        FpmParser P;

        int r = config_init(&c, name);
        int k = parser_init(&P, &c);
        if (r >= 0)
                r = k;
        if (r >= 0)
                r = conf_parse_string(&P.guard, &c.files, name, text, parse_text_cb, &P);
        return finish(&P, r, &c, ret);
}

void fpm_config_done(FpmConfig *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_pools; i++)
                free(c->pools[i].keys); /* the block: keys, values, name */
        free(c->pools);
        free(c->main_file);
        free(c->prefix);
        free(c->pid_file);
        free(c->error_log);
        strv_free(c->files);
        strv_free(c->errors);
        *c = (FpmConfig) {};
}

const char *fpm_key_name(const FpmKey *k) {
        return k->id < ELEMENTSOF(kept_keys) ? kept_keys[k->id] : NULL;
}

const char *fpm_key_value(const FpmPool *p, const FpmKey *k) {
        const char *v = (const char *) (p->keys + p->n_keys);
        for (const FpmKey *i = p->keys; i < k; i++)
                v += strlen(v) + 1;
        return v;
}

const FpmKey *fpm_pool_key(const FpmPool *p, const char *key) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_keys; i++)
                if (streq_ptr(fpm_key_name(&p->keys[i]), key))
                        return &p->keys[i];
        return NULL;
}

const char *fpm_pool_get(const FpmPool *p, const char *key) {
        const FpmKey *k = fpm_pool_key(p, key);
        return k ? fpm_key_value(p, k) : NULL;
}

const char *fpm_pool_unix_path(const FpmPool *p) {
        const char *l = fpm_pool_get(p, "listen");
        /* Everything php-fpm binds as TCP ("9000", "host:port", "[::1]:9000") does not
         * start with '/'. */
        return l && l[0] == '/' ? l : NULL;
}
