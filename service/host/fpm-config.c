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
        size_t *open;           /* pools not compacted since they were last changed */
        size_t n_open;
} FpmParser;

static int parse_file(FpmParser *P, const char *path);

static const char *lookup_env(const char *name, void *userdata) {
        (void) userdata;
        return getenv(name);
}

static int replace_pool_name(const char *s, const char *pool, char **ret) {
        static const char token[] = "$pool";
        size_t n = 0, plen = strlen(pool), tlen = strlen(token);

        for (const char *p = strstr(s, token); p; p = strstr(p + tlen, token))
                n++;
        char *out = malloc(strlen(s) + n * plen + 1), *w = out;
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

/* One block per pool for its keys, their values and its name, sized exactly: a host
 * with thousands of pools keeps them all between calls, and the ten small allocations
 * and the spare key slots of each pool were a quarter of that model. */
static int compact_pool(FpmPool *p) {
        if (p->compact || p->n_keys == 0)
                return 0; /* a pool without keys keeps its name's own allocation */
        size_t size = p->n_keys * sizeof(FpmKey) + strlen(p->name) + 1;
        for (size_t j = 0; j < p->n_keys; j++)
                size += strlen(p->keys[j].value) + 1;
        char *block = malloc(size);
        if (!block)
                return -ENOMEM;
        FpmKey *keys = (FpmKey *) (void *) block;
        char *w = block + p->n_keys * sizeof(FpmKey);
        for (size_t j = 0; j < p->n_keys; j++) {
                keys[j] = p->keys[j];
                keys[j].value = w;
                w = stpcpy(w, p->keys[j].value) + 1;
                free(p->keys[j].value);
        }
        strcpy(w, p->name);
        free(p->name);
        free(p->keys);
        *p = (FpmPool) { .name = w, .file = p->file, .line = p->line, .keys = keys, .n_keys = p->n_keys,
                         .compact = true };
        return 0;
}

static int mark_open(FpmParser *P, size_t i) {
        size_t *slot = ARRAY_PUSH(P->open, P->n_open);
        if (!slot)
                return -ENOMEM;
        *slot = i;
        return 0;
}

/* A compacted pool that a later line changes again (a repeated [name] section, or
 * an included file that left it current) goes back to separate allocations. Pools
 * not compacted yet are left as they are: finish() compacts whatever is left. */
static int reopen_pool(FpmParser *P, size_t i) {
        FpmPool *p = &P->c->pools[i];
        if (p->compact) {
                /* With ARRAY_PUSH's capacity: the next power of two. */
                size_t cap = 1;
                while (cap < p->n_keys)
                        cap <<= 1;
                FpmKey *keys = calloc(cap, sizeof(FpmKey));
                char *name = strdup(p->name);
                if (!keys || !name) {
                        free(keys);
                        free(name);
                        return -ENOMEM;
                }
                for (size_t j = 0; j < p->n_keys; j++) {
                        keys[j] = p->keys[j];
                        if (!(keys[j].value = strdup(p->keys[j].value))) {
                                while (j-- > 0)
                                        free(keys[j].value);
                                free(keys);
                                free(name);
                                return -ENOMEM;
                        }
                }
                /* The name index borrows the pool's name: move its key along. */
                hashmap_remove_str(P->pools_by_name, p->name);
                free(p->keys);
                *p = (FpmPool) { .name = name, .file = p->file, .line = p->line, .keys = keys, .n_keys = p->n_keys };
                if (hashmap_put_str(P->pools_by_name, p->name, (void *) (uintptr_t) (i + 1)) < 0)
                        return -ENOMEM;
                return mark_open(P, i);
        }
        return 0;
}

/* Pools are compacted at the end of every file, so what parsing one pool file
 * allocates is freed before the next is read and its memory reused: compacting them
 * all at the end left the heap of a 5,000-pool host full of freed holes. */
static int compact_open_pools(FpmParser *P) {
        for (size_t j = 0; j < P->n_open; j++) {
                size_t i = P->open[j];
                FpmPool *p = &P->c->pools[i];
                /* The name index borrows the pool's name, which moves into the block. */
                hashmap_remove_str(P->pools_by_name, p->name);
                int r = compact_pool(p);
                if (hashmap_put_str(P->pools_by_name, p->name, (void *) (uintptr_t) (i + 1)) < 0 || r < 0)
                        return -ENOMEM;
        }
        P->n_open = 0;
        return 0;
}

/* Takes ownership of value. */
static int set_pool_key(FpmParser *P, const char *key, char *value, const char *file, unsigned line) {
        _cleanup_free_ char *v = value;
        FpmPool *p = &P->c->pools[P->cur];
        FpmKey *k = NULL;
        const char *name = NULL;

        for (size_t i = 0; i < ELEMENTSOF(kept_keys) && !name; i++)
                if (streq_ptr(kept_keys[i], key))
                        name = kept_keys[i];
        if (!name)
                return 0;
        int r = reopen_pool(P, (size_t) P->cur);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n_keys && !k; i++)
                if (p->keys[i].key == name)
                        k = &p->keys[i];
        if (!k) {
                k = ARRAY_PUSH(p->keys, p->n_keys);
                if (!k)
                        return -ENOMEM;
                k->key = name;
        }
        free(k->value);
        k->value = TAKE_PTR(v);
        k->file = file;
        k->line = line;
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
                return 0; /* set_pool_key() reopens it if it was compacted */
        }
        if (c->n_pools >= FPM_MAX_POOLS) {
                P->fatal = -E2BIG;
                return conf_error(&c->errors, file, line, "too many pools");
        }
        FpmPool *p = ARRAY_PUSH(c->pools, c->n_pools);
        if (!p)
                return -ENOMEM;
        p->name = strdup(name);
        p->file = file;
        p->line = line;
        if (!p->name ||
            hashmap_put_str(P->pools_by_name, p->name, (void *) (uintptr_t) c->n_pools) < 0)
                return -ENOMEM;
        P->cur = (ssize_t) c->n_pools - 1;
        return mark_open(P, (size_t) P->cur);
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

        char *v;
        r = replace_pool_name(value, c->pools[P->cur].name, &v);
        if (r < 0)
                return r;
        return set_pool_key(P, key, v, file, line);
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
        return compact_open_pools(P);
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
        *P = (FpmParser) { .c = c, .cur = -1, .pools_by_name = hashmap_new_str() };
        return P->pools_by_name ? 0 : -ENOMEM;
}

static int compact(FpmConfig *c) {
        for (size_t i = 0; i < c->n_pools; i++) {
                int r = compact_pool(&c->pools[i]);
                if (r < 0)
                        return r;
        }
        FpmPool *exact = c->n_pools ? realloc(c->pools, c->n_pools * sizeof(FpmPool)) : NULL;
        if (exact)
                c->pools = exact;
        return 0;
}

static int finish(FpmParser *P, int r, FpmConfig *c, FpmConfig *ret) {
        hashmap_free(P->pools_by_name);
        free(P->open);
        conf_guard_done(&P->guard);
        if (r >= 0 && P->fatal)
                r = P->fatal;
        if (r >= 0)
                r = compact(c);
        if (r < 0) {
                fpm_config_done(c);
                return r;
        }
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
        for (size_t i = 0; i < c->n_pools; i++) {
                FpmPool *p = &c->pools[i];
                if (!p->compact) {
                        for (size_t j = 0; j < p->n_keys; j++)
                                free(p->keys[j].value);
                        free(p->name);
                }
                free(p->keys);
        }
        free(c->pools);
        free(c->main_file);
        free(c->prefix);
        free(c->pid_file);
        free(c->error_log);
        strv_free(c->files);
        strv_free(c->errors);
        *c = (FpmConfig) {};
}

const FpmKey *fpm_pool_key(const FpmPool *p, const char *key) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_keys; i++)
                if (streq_ptr(p->keys[i].key, key))
                        return &p->keys[i];
        return NULL;
}

const char *fpm_pool_get(const FpmPool *p, const char *key) {
        const FpmKey *k = fpm_pool_key(p, key);
        return k ? k->value : NULL;
}

const char *fpm_pool_unix_path(const FpmPool *p) {
        const char *l = fpm_pool_get(p, "listen");
        /* Everything php-fpm binds as TCP ("9000", "host:port", "[::1]:9000") does not
         * start with '/'. */
        return l && l[0] == '/' ? l : NULL;
}
