/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine/lsm.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>

#include "util/util.h"

/* audit hex-encodes untrusted strings that contain spaces, quotes or control
 * characters and then leaves them unquoted: name=2F72756E2F... */
static bool is_hex_string(const char *s, size_t n) {
        if (n == 0 || n % 2 != 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isxdigit((unsigned char) s[i]))
                        return false;
        return true;
}

static char *hex_decode(const char *s, size_t n) {
        char *r = malloc(n / 2 + 1);

        if (!r)
                return NULL;
        for (size_t i = 0; i < n / 2; i++) {
                char b[3] = { s[2 * i], s[2 * i + 1], 0 };
                r[i] = (char) strtoul(b, NULL, 16);
        }
        r[n / 2] = 0;
        return r;
}

typedef enum FieldKind {
        FIELD_PLAIN,  /* numbers, contexts, keywords: never hex-encoded */
        FIELD_STRING, /* untrusted strings audit may hex-encode */
} FieldKind;

/* Finds key=value in an audit record, stepping over quoted values so that a path
 * containing " pid=" cannot fake a field. *ret is NULL when the key is absent or
 * its value is "?" / "(null)". */
static int field_get(const char *line, const char *key, FieldKind kind, char **ret) {
        size_t klen = strlen(key);
        const char *p = line;

        *ret = NULL;
        while (*p) {
                p += strspn(p, " \t");
                if (!*p)
                        break;

                const char *k = p;
                p += strcspn(p, "= \t\"");
                if (*p != '=') {
                        /* a bare word, or a quote in one: skip to its end */
                        if (*p == '"') {
                                const char *q = strchr(p + 1, '"');
                                p = q ? q + 1 : p + strlen(p);
                        }
                        p += strcspn(p, " \t");
                        continue;
                }

                bool match = (size_t) (p - k) == klen && strncmp(k, key, klen) == 0;
                const char *v = ++p;
                size_t n;
                bool quoted = *v == '"';

                if (quoted) {
                        v++;
                        const char *q = strchr(v, '"');
                        n = q ? (size_t) (q - v) : strlen(v);
                        p = v + n + (q ? 1 : 0);
                } else {
                        n = strcspn(v, " \t");
                        p = v + n;
                }
                if (!match)
                        continue;

                if (!quoted && (n == 0 || (n == 1 && *v == '?') || (n == 6 && strncmp(v, "(null)", 6) == 0)))
                        return 0;
                *ret = !quoted && kind == FIELD_STRING && is_hex_string(v, n) ? hex_decode(v, n) : strndup(v, n);
                return *ret ? 1 : -ENOMEM;
        }
        return 0;
}

/* The permission set of an AVC record: "avc:  denied  { read write } for ...". */
static bool avc_denied_perm(const char *line, const char *perm) {
        const char *p = strstr(line, "avc:");

        if (!p)
                return false;
        p += strlen("avc:");
        p += strspn(p, " ");
        if (!startswith(p, "denied"))
                return false;
        p = strchr(p, '{');
        const char *end = p ? strchr(p, '}') : NULL;
        if (!end)
                return false;

        size_t plen = strlen(perm);
        for (p++; p < end;) {
                p += strspn(p, " ");
                size_t n = strcspn(p, " }");
                if (n == plen && strncmp(p, perm, plen) == 0)
                        return true;
                p += n;
        }
        return false;
}

static int lsm_parse_selinux(const char *line, LsmDenial *d) {
        _cleanup_free_ char *tclass = NULL, *permissive = NULL;
        const char *perm;
        int r;

        r = field_get(line, "tclass", FIELD_PLAIN, &tclass);
        if (r <= 0)
                return r;
        if (streq_ptr(tclass, "unix_stream_socket"))
                perm = "connectto";
        else if (streq_ptr(tclass, "sock_file"))
                perm = "write";
        else
                return 0;
        if (!avc_denied_perm(line, perm))
                return 0;

        d->kind = LSM_SELINUX;
        d->tclass = TAKE_PTR(tclass);
        d->perm = strdup(perm);
        if (!d->perm)
                return -ENOMEM;

        /* connectto logs the address as path=, sock_file the dentry as name=. */
        r = field_get(line, "path", FIELD_STRING, &d->path);
        if (r == 0)
                r = field_get(line, "name", FIELD_STRING, &d->path);
        if (r < 0)
                return r;
        if (field_get(line, "scontext", FIELD_PLAIN, &d->scontext) < 0 ||
            field_get(line, "tcontext", FIELD_PLAIN, &d->tcontext) < 0 ||
            field_get(line, "permissive", FIELD_PLAIN, &permissive) < 0)
                return -ENOMEM;
        d->permissive = streq_ptr(permissive, "1");
        return 1;
}

static int lsm_parse_apparmor(const char *line, LsmDenial *d) {
        _cleanup_free_ char *verdict = NULL, *op = NULL, *family = NULL;
        int r;

        r = field_get(line, "apparmor", FIELD_PLAIN, &verdict);
        if (r <= 0)
                return r;
        /* "ALLOWED" is complain mode: logged, not enforced. */
        if (!streq_ptr(verdict, "DENIED"))
                return 0;

        if (field_get(line, "operation", FIELD_PLAIN, &op) < 0 ||
            field_get(line, "family", FIELD_PLAIN, &family) < 0)
                return -ENOMEM;
        /* connect is mediated on the socket file (class="file") and on AF_UNIX itself;
         * file_perm and sendmsg only count on a unix socket, and no family but unix
         * concerns us (a denied TCP connect logs family="inet"). */
        if (family && !streq_ptr(family, "unix"))
                return 0;
        if (!streq_ptr(op, "connect") &&
            !((streq_ptr(op, "file_perm") || streq_ptr(op, "sendmsg")) && streq_ptr(family, "unix")))
                return 0;

        d->kind = LSM_APPARMOR;
        r = field_get(line, "name", FIELD_STRING, &d->path);
        if (r == 0)
                r = field_get(line, "peer_addr", FIELD_STRING, &d->path);
        if (r < 0)
                return r;
        if (field_get(line, "profile", FIELD_STRING, &d->profile) < 0 ||
            field_get(line, "class", FIELD_PLAIN, &d->tclass) < 0 ||
            field_get(line, "denied_mask", FIELD_PLAIN, &d->perm) < 0)
                return -ENOMEM;
        return 1;
}

static int lsm_parse_common(const char *line, LsmDenial *d) {
        _cleanup_free_ char *pid = NULL;

        if (field_get(line, "pid", FIELD_PLAIN, &pid) < 0 ||
            field_get(line, "comm", FIELD_STRING, &d->comm) < 0)
                return -ENOMEM;
        if (pid) {
                char *end;
                errno = 0;
                long v = strtol(pid, &end, 10);
                if (errno == 0 && *end == 0 && v > 0 && v <= INT32_MAX)
                        d->pid = (pid_t) v;
        }
        return 1;
}

int lsm_parse_line(const char *line, LsmDenial *d) {
        int r;

        *d = (LsmDenial) {};
        if (!line)
                return 0;

        if (strstr(line, "apparmor="))
                r = lsm_parse_apparmor(line, d);
        else if (strstr(line, "avc:"))
                r = lsm_parse_selinux(line, d);
        else
                r = 0;
        if (r > 0)
                r = lsm_parse_common(line, d);
        if (r <= 0)
                lsm_denial_done(d);
        return r;
}

void lsm_denial_done(LsmDenial *d) {
        if (!d)
                return;
        free(d->path);
        free(d->comm);
        free(d->scontext);
        free(d->tcontext);
        free(d->tclass);
        free(d->perm);
        free(d->profile);
        *d = (LsmDenial) {};
}

static const char *last_component(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

static bool path_matches(const char *logged, const char *path) {
        if (!path)
                return false;
        if (logged[0] == '/')
                return streq_ptr(logged, path);
        /* SELinux sock_file denials log the dentry name only. */
        return streq_ptr(last_component(logged), last_component(path));
}

bool lsm_denial_matches(const LsmDenial *d, const char *socket_path, const char *resolved_path) {
        /* Without a logged path the record may concern any socket: the caller narrows
         * it down by the consumer's pids and comm. */
        if (isempty(d->path))
                return true;
        return path_matches(d->path, socket_path) || path_matches(d->path, resolved_path);
}

int lsm_selinux_enforcing(const char *selinuxfs) {
        _cleanup_free_ char *p = NULL, *s = NULL;

        if (asprintf(&p, "%s/enforce", selinuxfs ? selinuxfs : "/sys/fs/selinux") < 0)
                return -1;
        if (read_full_file_at(AT_FDCWD, p, 64, &s, NULL) < 0)
                return -1;

        const char *v = strstrip(s);
        if (streq_ptr(v, "1"))
                return 1;
        if (streq_ptr(v, "0"))
                return 0;
        return -1;
}

char *lsm_process_label(const char *proc_root, pid_t pid) {
        _cleanup_free_ char *p = NULL, *s = NULL;
        size_t n;

        if (pid <= 0)
                return NULL;
        if (asprintf(&p, "%s/%i/attr/current", proc_root ? proc_root : "/proc", (int) pid) < 0)
                return NULL;
        if (read_full_file_at(AT_FDCWD, p, 4096, &s, &n) < 0)
                return NULL;

        /* The kernel may end the label with a NUL or a newline. */
        while (n > 0 && (s[n - 1] == 0 || s[n - 1] == '\n'))
                s[--n] = 0;
        if (isempty(s))
                return NULL;
        return TAKE_PTR(s);
}

/* The type of an SELinux context ("system_u:system_r:httpd_t:s0" -> "httpd_t"), as a
 * length-bounded slice of ctx; false when it has none. */
static bool selinux_type(const char *ctx, const char **ret, size_t *len) {
        const char *t = ctx;
        for (int i = 0; i < 2 && t; i++)
                t = strchr(t, ':') ? strchr(t, ':') + 1 : NULL;
        if (!t)
                return false;
        *ret = t;
        *len = strcspn(t, ":");
        return *len > 0;
}

bool lsm_denial_applies(const LsmDenial *d, int selinux_enforcing, const char *label) {
        if (d->kind == LSM_SELINUX) {
                const char *a, *b;
                size_t la, lb;
                if (selinux_enforcing == 0)
                        return false; /* permissive: logged, not enforced */
                if (label && d->scontext && selinux_type(label, &a, &la) && selinux_type(d->scontext, &b, &lb))
                        return la == lb && strncmp(a, b, la) == 0;
                return true;
        }
        if (!label || !d->profile)
                return true;
        /* AppArmor labels read "/usr/sbin/nginx (enforce)". */
        size_t n = strlen(d->profile);
        return strncmp(label, d->profile, n) == 0 && (label[n] == 0 || label[n] == ' ') &&
               strstr(label + n, "(complain)") == NULL;
}
