/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>

#include "conf-util.h"
#include "web-config.h"

/* Define and envvars are a handful of names; a file defining thousands is garbage. */
#define APACHE_MAX_VARS 1000u

typedef struct ApacheParser {
        WebConfig *c;
        ConfGuard guard;
        char **defines; /* "NAME=value" from Define */
        char **envvars; /* "NAME=value": the running master's environment, else the envvars file */
} ApacheParser;

static int parse_file(ApacheParser *P, const char *path);

static const char *vars_get(char **l, const char *name) {
        size_t n = strlen(name);
        /* Last assignment wins. */
        for (size_t i = strv_length(l); i > 0; i--)
                if (strncmp(l[i - 1], name, n) == 0 && l[i - 1][n] == '=')
                        return l[i - 1] + n + 1;
        return NULL;
}

/* Values are bounded: Define A ${A}${A} on every line would double one each time. */
#define APACHE_MAX_VALUE (64u * 1024u)

static int vars_set(char ***l, const char *name, const char *value) {
        if (strv_length(*l) >= APACHE_MAX_VARS || strlen(value) > APACHE_MAX_VALUE)
                return 0;
        char *s;
        if (asprintf(&s, "%s=%s", name, value) < 0)
                return -ENOMEM;
        return strv_consume(l, s);
}

static const char *lookup_apache(const char *name, void *userdata) {
        ApacheParser *P = userdata;
        return vars_get(P->defines, name) ?: vars_get(P->envvars, name) ?: getenv(name);
}

static const char *lookup_envvars(const char *name, void *userdata) {
        ApacheParser *P = userdata;
        return vars_get(P->envvars, name) ?: getenv(name);
}

/* Debian's envvars is a shell fragment sourced by apache2ctl. Only plain
 * `[export] NAME=value` lines are understood; nothing is ever executed. */
static int load_envvars(ApacheParser *P, const char *path) {
        _cleanup_free_ char *text = NULL;
        int r = read_full_file_at(AT_FDCWD, path, CONF_MAX_FILE_SIZE, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return conf_error(&P->c->errors, path, 0, "%s", strerror(-r));
        r = conf_guard_record(&P->guard, &P->c->files, path);
        if (r < 0)
                return r;

        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                l = strstrip(l);
                if (startswith(l, "export "))
                        l = strstrip(l + 7);
                size_t n = strspn(l, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_0123456789");
                if (n == 0 || l[n] != '=' || isdigit((unsigned char) l[0]))
                        continue;
                l[n] = 0;
                char *v = l + n + 1, *word = conf_next_word(&v, NULL);
                _cleanup_free_ char *value = NULL;
                r = conf_expand_vars(word ?: "", true, false, lookup_envvars, P, &value);
                if (r < 0)
                        return r;
                r = vars_set(&P->envvars, l, value);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int include_one(ApacheParser *P, const char *path, bool optional, unsigned level, const char *file,
                       unsigned line);

/* Include of a directory reads every file below it, in order (Apache's ap_process_resource_config). */
static int include_dir(ApacheParser *P, const char *dir, unsigned level, const char *file, unsigned line) {
        if (level >= CONF_MAX_DEPTH)
                return conf_error(&P->c->errors, file, line, "Include %s: nesting too deep", dir);
        /* Each directory once and within the budget: symlinks can lead back up the tree. */
        int r = conf_guard_enter_dir(&P->guard, dir);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return conf_include_error(&P->c->errors, file, line, "Include", dir, r);
        _cleanup_strv_free_ char **paths = NULL;
        r = conf_glob(dir, "*", &paths);
        if (r < 0)
                return r;
        for (char **i = paths; *i && P->guard.n_files < CONF_MAX_FILES && P->guard.total_size < CONF_MAX_TOTAL_SIZE;
             i++) {
                r = include_one(P, *i, true, level + 1, file, line);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int include_one(ApacheParser *P, const char *path, bool optional, unsigned level, const char *file,
                       unsigned line) {
        int r = parse_file(P, path);
        if (r == -EISDIR)
                return include_dir(P, path, level, file, line);
        if (r == -ENOMEM)
                return r;
        if (r == -ENOENT && optional)
                return 0;
        if (r < 0)
                return conf_include_error(&P->c->errors, file, line, "Include", path, r);
        return 0;
}

static int on_include(ApacheParser *P, const char *pattern, bool optional, const char *file, unsigned line) {
        _cleanup_strv_free_ char **paths = NULL;
        int r = conf_glob(P->c->prefix, pattern, &paths);
        if (r < 0)
                return r;
        /* Include with a wildcard that matches nothing is an error since Apache 2.3.6;
         * IncludeOptional is the silent form. */
        if (!paths[0] && !optional)
                return conf_error(&P->c->errors, file, line, "Include %s: no matches for the wildcard", pattern);
        for (char **i = paths; *i; i++) {
                r = include_one(P, *i, optional, 0, file, line);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "unix:/p|fcgi://localhost/" (any case): the socket path ends at the '|'. */
static int add_unix_url(ApacheParser *P, const char *url, const char *directive, const char *file, unsigned line) {
        _cleanup_free_ char *path = strndup(url + 5, strcspn(url + 5, "|"));
        if (!path)
                return -ENOMEM;
        if (path[0] != '/')
                return conf_error(&P->c->errors, file, line, "%s: socket path \"%s\" is not absolute", directive, path);
        return web_config_add_ref(P->c, path, directive, file, line);
}

static bool is_unix_url(const char *s) {
        return strncasecmp(s, "unix:", 5) == 0;
}

static int on_directive(ApacheParser *P, const char *d, char **args, size_t n, const char *file, unsigned line) {
        WebConfig *c = P->c;
        const char *v = n > 0 ? args[0] : NULL;

        if (!v)
                return 0;
        if (strcasecmp(d, "Include") == 0 || strcasecmp(d, "IncludeOptional") == 0)
                return on_include(P, v, strcasecmp(d, "IncludeOptional") == 0, file, line);
        if (strcasecmp(d, "ServerRoot") == 0)
                return conf_path_resolve_replace(P->c->prefix, v, &c->prefix);
        if (strcasecmp(d, "Define") == 0)
                return vars_set(&P->defines, v, n > 1 ? args[1] : "");
        if (strcasecmp(d, "User") == 0) {
                free(c->user);
                return (c->user = strdup(v)) ? 0 : -ENOMEM;
        }
        if (strcasecmp(d, "Group") == 0) {
                free(c->group);
                return (c->group = strdup(v)) ? 0 : -ENOMEM;
        }
        if (strcasecmp(d, "PidFile") == 0)
                return conf_path_resolve_replace(P->c->prefix, v, &c->pid_file);
        if (strcasecmp(d, "ErrorLog") == 0) {
                /* Piped loggers and syslog are not files. */
                if (v[0] == '|' || strncasecmp(v, "syslog", 6) == 0)
                        return 0;
                _cleanup_free_ char *path = NULL;
                int r = conf_path_resolve(c->prefix, v, &path);
                if (r < 0)
                        return r;
                return strv_extend_unique(&c->error_logs, path);
        }
        if (strcasecmp(d, "SetHandler") == 0) {
                if (strncasecmp(v, "proxy:", 6) == 0 && is_unix_url(v + 6))
                        return add_unix_url(P, v + 6, "SetHandler", file, line);
                return 0;
        }

        static const char *const proxies[] = { "ProxyPass", "ProxyPassMatch", "BalancerMember", "Proxy", "ProxyMatch" };
        for (size_t i = 0; i < ELEMENTSOF(proxies); i++)
                if (strcasecmp(d, proxies[i]) == 0) {
                        for (size_t j = 0; j < n; j++)
                                if (is_unix_url(args[j]))
                                        return add_unix_url(P, args[j], proxies[i], file, line);
                        return 0;
                }
        return 0;
}

static int parse_logical_line(ApacheParser *P, const char *raw, const char *file, unsigned line) {
        _cleanup_free_ char *expanded = NULL;
        _cleanup_free_ char **args = NULL;
        size_t n = 0;

        int r = conf_expand_vars(raw, false, true, lookup_apache, P, &expanded);
        if (r < 0)
                return r;
        char *s = strstrip(expanded);
        if (!*s || *s == '#')
                return 0;

        /* <Proxy "unix:...|fcgi://x"> opens a section named by its argument; closing
         * tags and other sections carry nothing for us. */
        if (*s == '<') {
                if (s[1] == '/')
                        return 0;
                size_t len = strlen(s);
                if (s[len - 1] == '>')
                        s[len - 1] = 0;
                s++;
        }

        char *d = conf_next_word(&s, NULL);
        if (!d)
                return 0;
        for (char *a; (a = conf_next_word(&s, NULL));) {
                char **slot = ARRAY_PUSH(args, n);
                if (!slot)
                        return -ENOMEM;
                *slot = a;
        }
        return on_directive(P, d, args, n, file, line);
}

static int parse_text(ApacheParser *P, char *text, size_t size, const char *file) {
        _cleanup_free_ char *joined = NULL;
        size_t jlen = 0;
        char *end = text + size;
        unsigned line = 0, first = 0;

        if (!(joined = malloc(size + 1)))
                return -ENOMEM;

        for (char *p = text; p < end;) {
                char *nl = memchr(p, '\n', end - p), *e = nl ?: end;
                line++;
                if (jlen == 0)
                        first = line;
                size_t len = strnlen(p, e - p);
                if (len > 0 && p[len - 1] == '\r')
                        len--;
                /* A trailing backslash continues the directive on the next line. */
                bool cont = len > 0 && p[len - 1] == '\\' && nl;
                if (cont)
                        len--;
                memcpy(joined + jlen, p, len);
                jlen += len;
                p = nl ? nl + 1 : end;
                if (cont)
                        continue;
                joined[jlen] = 0;
                jlen = 0;
                int r = parse_logical_line(P, joined, file, first);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_text_cb(void *P, char *text, size_t size, const char *file) {
        return parse_text(P, text, size, file);
}

static int parse_file(ApacheParser *P, const char *path) {
        return conf_parse_file(&P->guard, &P->c->files, path, parse_text_cb, P);
}

/* A running master's ${VAR}s are its environment's: what apache2ctl exported from the
 * envvars file when it started (an instance's own log and run directories included,
 * which envvars works out with shell code no plain NAME=value reading follows), not
 * what the file says now. */
static int load_environ(ApacheParser *P, char *const *env) {
        for (char *const *e = env; e && *e; e++) {
                const char *eq = strchr(*e, '=');
                if (!eq || eq == *e)
                        continue;
                _cleanup_free_ char *name = strndup(*e, (size_t) (eq - *e));
                if (!name)
                        return -ENOMEM;
                int r = vars_set(&P->envvars, name, eq + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int apache_parse(const char *conf, const char *server_root, const char *envvars, char *const *env,
                        const char *text, const StrShare *share, WebConfig *ret) {
        WebConfig c = { .share = share };
        ApacheParser P = { .c = &c };
        int r = -ENOMEM;

        c.server = strdup("apache2");
        c.main_file = strdup(conf);
        if (!c.server || !c.main_file)
                goto finish;
        if (server_root)
                r = (c.prefix = strdup(server_root)) ? 0 : -ENOMEM;
        else
                r = conf_dirname(conf, &c.prefix);
        if (r < 0)
                goto finish;

        /* Main file first in files; the envvars must be known before ${VAR} is expanded. */
        r = conf_guard_record(&P.guard, &c.files, conf);
        if (r >= 0 && env)
                r = load_environ(&P, env);
        else if (r >= 0 && envvars)
                r = load_envvars(&P, envvars);
        if (r >= 0)
                r = text ? conf_parse_string(&P.guard, &c.files, conf, text, parse_text_cb, &P) : parse_file(&P, conf);

finish:
        conf_guard_done(&P.guard);
        strv_free(P.defines);
        strv_free(P.envvars);
        return web_config_finish(&c, r, ret);
}

int apache_config_load(const char *conf, const char *server_root, const char *envvars, char *const *env,
                       const StrShare *share, WebConfig *ret) {
        return apache_parse(conf, server_root, envvars, env, NULL, share, ret);
}

int apache_config_parse_string(const char *text, const char *name, WebConfig *ret) {
        return apache_parse(name, NULL, NULL, NULL, text, NULL, ret);
}
