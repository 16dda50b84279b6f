/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the engine answers, in the bus contract's terms (dbus/org.sockfix.SockFix1.xml,
 * sockfixd(8)): a report per socket with its verdict, consumers and findings. The bus adapter
 * marshals these field by field; a field that is "unset" is left out of the
 * a{sv}, never sent as zero. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum Verdict {
        VERDICT_NOT_A_SOCKET,
        VERDICT_MISSING,
        VERDICT_REFUSED,
        VERDICT_OVERLOADED,
        VERDICT_DENIED,
        VERDICT_NO_CONSUMER,
        VERDICT_OK,
        _VERDICT_MAX,
} Verdict;

typedef enum Severity {
        SEVERITY_ERROR,
        SEVERITY_WARNING,
        SEVERITY_INFO,
} Severity;

typedef struct Finding {
        char *code;      /* shared/FAILURES.md code */
        Severity severity;
        char *summary;   /* one line */
        char *detail;    /* advice no strategy carries out; may be NULL */
        char *path;      /* component at fault; may be NULL */
        char *consumer;  /* consumer's user; may be NULL */
        char **remedies; /* strategy names; may be NULL */
} Finding;

typedef struct Consumer {
        char *server;     /* "nginx", "apache2", "caddy", "lighttpd" */
        char *user;
        uid_t uid;
        gid_t gid;
        gid_t *groups;    /* as the running workers hold them */
        size_t n_groups;
        pid_t *pids;      /* workers with exactly these credentials; empty for a stopped server */
        size_t n_pids;
        bool can_connect;
        int error;        /* kernel rule: 0, EACCES, ENOENT, ECONNREFUSED, EAGAIN, ... */
        int probe_errno;  /* real connect; -1 when not probed */
        bool stale_credentials;
} Consumer;

typedef struct ListenerInfo {
        bool present;
        pid_t pid;        /* master */
        char *program;    /* "php-fpm8.2", "fcgiwrap", "uwsgi" ... */
        char *pool;       /* php-fpm pool name; may be NULL */
        char *config;     /* file declaring the path; may be NULL */
} ListenerInfo;

typedef struct Report {
        char *socket;     /* as asked */
        char *resolved;   /* symlinks followed */
        Verdict verdict;
        bool have_inode;  /* owner/group/mode are valid */
        uid_t uid;
        gid_t gid;
        char *owner;      /* name, or the number as text */
        char *group;
        mode_t mode;      /* st_mode & 07777 */
        bool listening;
        ListenerInfo listener;
        char **servers;   /* web servers whose config references the path */
        Consumer *consumers;
        size_t n_consumers;
        Finding *findings;
        size_t n_findings;
        char **candidates; /* for missing: listening sockets that look like the path */
        char **evidence;   /* error-log lines (option evidence) */
        int fastcgi;       /* -1 not probed; 0/1 (Diagnose only) */
} Report;

const char *verdict_to_string(Verdict v);
const char *severity_to_string(Severity s);

Report *report_new(const char *socket);
Report *report_free(Report *r);
void report_freep(Report **r);

/* Adds a finding; strings are copied, remedies is a NULL-terminated list of literals or NULL.
 * Returns the finding (for detail/path setters) or NULL on OOM. */
Finding *report_add_finding(Report *r, const char *code, Severity sev, const char *consumer,
                            const char *path, const char *const *remedies, const char *summary_fmt, ...)
        __attribute__((format(printf, 7, 8)));
/* Frees finding i and closes the gap. */
void report_remove_finding(Report *r, size_t i);
int finding_set_detail(Finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool report_has_finding(const Report *r, const char *code);
