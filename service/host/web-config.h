/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a web server's configuration says about unix upstreams: which paths it
 * references (every form in shared/FAILURES.md), which user its workers run as, and
 * where its error log is. One shape for nginx, Apache, Caddy and lighttpd. */

#include <stdbool.h>
#include <sys/types.h>

#include "util/util.h"

/* A host with thousands of sites keeps every reference between calls, so only the
 * path is the reference's own, and a host model may share even that (path_shared). */
typedef struct UnixRef {
        const char *path;       /* absolute socket path */
        const char *directive;  /* a static name: "fastcgi_pass", "upstream server", "ProxyPass", "php_fastcgi", "socket" ... */
        const char *file;       /* borrowed: the config's own copy in files */
        unsigned line;
        bool path_shared;       /* path is borrowed from the loader's share (an equal string that outlives the config) */
} UnixRef;

typedef struct WebConfig {
        char *server;      /* "nginx", "apache2", "caddy", "lighttpd" */
        char *main_file;
        char *prefix;      /* nginx -p / Apache ServerRoot */
        char *user;        /* worker user from the config; NULL if the server's default applies */
        char *group;
        char **error_logs; /* absolute paths */
        char *pid_file;
        UnixRef *refs;
        size_t n_refs;
        char **files;      /* every file read, main first */
        char **errors;     /* "file:line: message" */
        const StrShare *share; /* while parsing: socket paths the references borrow */
} WebConfig;

/* nginx: include globs (relative to the conf dir), quoting, comments, upstream blocks,
 * fastcgi_pass/uwsgi_pass/scgi_pass/grpc_pass unix:, proxy_pass http://unix:/p:/uri,
 * `user`, `error_log`, `pid`. prefix may be NULL (compiled default /usr/share/nginx/ on Debian). */
/* The loaders: a reference whose path share (may be NULL) finds borrows it (path_shared). */
int nginx_config_load(const char *conf, const char *prefix, const StrShare *share, WebConfig *ret);
int nginx_config_parse_string(const char *text, const char *name, WebConfig *ret);

/* Apache: Include/IncludeOptional globs relative to ServerRoot, ${VAR} from the running
 * master's environment ("NAME=value" strings) when given, else from envvars (Debian
 * /etc/apache2/envvars: APACHE_RUN_USER...), SetHandler "proxy:unix:/p|fcgi://x",
 * ProxyPass / ProxyPassMatch ... unix:/p|fcgi://..., User, Group, ErrorLog. */
int apache_config_load(const char *conf, const char *server_root, const char *envvars, char *const *env,
                       const StrShare *share, WebConfig *ret);
int apache_config_parse_string(const char *text, const char *name, WebConfig *ret);

/* Caddy (Caddyfile): php_fastcgi unix//p, reverse_proxy unix//p; user is `caddy` unless known. */
int caddy_config_load(const char *conf, const StrShare *share, WebConfig *ret);
int caddy_config_parse_string(const char *text, const char *name, WebConfig *ret);

/* lighttpd: "socket" => "/p" in fastcgi.server/scgi.server, server.username, include. */
int lighttpd_config_load(const char *conf, const StrShare *share, WebConfig *ret);
int lighttpd_config_parse_string(const char *text, const char *name, WebConfig *ret);

void web_config_done(WebConfig *c);
