/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What a web server's configuration says about unix upstreams: which paths it
 * references (every form in shared/FAILURES.md), which user its workers run as, and
 * where its error log is. One shape for nginx, Apache, Caddy and lighttpd. */

#include <stdbool.h>
#include <sys/types.h>

typedef struct UnixRef {
        char *path;      /* absolute socket path; directive and file share its allocation */
        char *directive; /* "fastcgi_pass", "upstream server", "proxy_pass", "SetHandler", "ProxyPass", "php_fastcgi", "socket" ... */
        char *file;
        unsigned line;
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
} WebConfig;

/* nginx: include globs (relative to the conf dir), quoting, comments, upstream blocks,
 * fastcgi_pass/uwsgi_pass/scgi_pass/grpc_pass unix:, proxy_pass http://unix:/p:/uri,
 * `user`, `error_log`, `pid`. prefix may be NULL (compiled default /usr/share/nginx/ on Debian). */
int nginx_config_load(const char *conf, const char *prefix, WebConfig *ret);
int nginx_config_parse_string(const char *text, const char *name, WebConfig *ret);

/* Apache: Include/IncludeOptional globs relative to ServerRoot, ${VAR} from envvars
 * (Debian /etc/apache2/envvars: APACHE_RUN_USER...), SetHandler "proxy:unix:/p|fcgi://x",
 * ProxyPass / ProxyPassMatch ... unix:/p|fcgi://..., User, Group, ErrorLog. */
int apache_config_load(const char *conf, const char *server_root, const char *envvars, WebConfig *ret);
int apache_config_parse_string(const char *text, const char *name, WebConfig *ret);

/* Caddy (Caddyfile): php_fastcgi unix//p, reverse_proxy unix//p; user is `caddy` unless known. */
int caddy_config_load(const char *conf, WebConfig *ret);
int caddy_config_parse_string(const char *text, const char *name, WebConfig *ret);

/* lighttpd: "socket" => "/p" in fastcgi.server/scgi.server, server.username, include. */
int lighttpd_config_load(const char *conf, WebConfig *ret);
int lighttpd_config_parse_string(const char *text, const char *name, WebConfig *ret);

void web_config_done(WebConfig *c);
