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

/* Each pool is one exact block: its keys, then their values, then its name. A host
 * with thousands of pools keeps them all between calls, and separate allocations with
 * spare slots were a quarter of that model. A key set while parsing builds the pool's
 * block anew (a pool keeps at most ELEMENTSOF(kept_keys) keys, so that stays cheap)
 * and frees the old one at once: parsing thousands of pool files leaves no holes of
 * freed memory behind, as building the blocks at the end did. The name index borrows
 * the name, so its key moves with the block. */
static int pool_build(FpmParser *P, size_t i, const char *name, const FpmKey *set, const char *set_value) {
        FpmPool *p = &P->c->pools[i];
        const char *values[ELEMENTSOF(kept_keys)];
        size_t n = p->n_keys, at = n;

        for (size_t j = 0; j < n; j++) {
                values[j] = fpm_key_value(p, &p->keys[j]);
                if (set && p->keys[j].id == set->id)
                        at = j;
        }
        size_t n_new = set && at == n ? n + 1 : n;
        if (set)
                values[at] = set_value;
        size_t size = n_new * sizeof(FpmKey) + strlen(name) + 1;
        for (size_t j = 0; j < n_new; j++)
                size += strlen(values[j]) + 1;
        char *block = malloc(size);
        if (!block)
                return -ENOMEM;
        FpmKey *keys = (FpmKey *) (void *) block;
        if (n > 0)
                memcpy(keys, p->keys, n * sizeof(FpmKey));
        if (set)
                keys[at] = *set;
        char *w = block + n_new * sizeof(FpmKey);
        for (size_t j = 0; j < n_new; j++)
                w = stpcpy(w, values[j]) + 1;
        strcpy(w, name); /* name may point into the old block: copied before it is freed */

        if (p->keys)
                hashmap_remove_str(P->pools_by_name, p->name);
        free(p->keys);
        p->keys = keys;
        p->n_keys = (unsigned) n_new;
        p->name = w;
        return hashmap_put_str(P->pools_by_name, p->name, (void *) (uintptr_t) (i + 1));
}

/* Takes ownership of value. */
static int set_pool_key(FpmParser *P, const char *key, char *value, const char *file, unsigned line) {
        _cleanup_free_ char *v = value;

        for (size_t i = 0; i < ELEMENTSOF(kept_keys); i++)
                if (streq_ptr(kept_keys[i], key)) {
                        FpmKey k = { .file = file, .line = line, .id = (uint8_t) i };
                        return pool_build(P, (size_t) P->cur, P->c->pools[P->cur].name, &k, v);
                }
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
        return pool_build(P, (size_t) P->cur, name, NULL, NULL);
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
        *P = (FpmParser) { .c = c, .cur = -1, .pools_by_name = hashmap_new_str() };
        return P->pools_by_name ? 0 : -ENOMEM;
}

static int finish(FpmParser *P, int r, FpmConfig *c, FpmConfig *ret) {
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
