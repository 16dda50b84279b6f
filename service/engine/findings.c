/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "findings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

#define REMEDIES(...) ((const char *const[]) { __VA_ARGS__, NULL })

bool finding_is_not_permissions(const char *code) {
        return streq_ptr(code, "selinux-denied") || streq_ptr(code, "apparmor-denied") ||
               streq_ptr(code, "namespace-mismatch");
}

const char *const *findings_filter_remedies(const SocketFacts *f, const char *const *remedies, const char **buf,
                                            size_t n_buf) {
        size_t n = 0;
        for (const char *const *i = remedies; i && *i && n + 1 < n_buf; i++) {
                /* pool-acl needs a pool, a php-fpm that knows listen.acl_* and an ACL-capable
                 * file system; pool-group needs a pool to persist the group in. */
                if (streq_ptr(*i, "pool-acl") && !(f->pool.present && f->pool.acl_supported && f->fs_acl))
                        continue;
                if (streq_ptr(*i, "pool-group") && !f->pool.present)
                        continue;
                buf[n++] = *i;
        }
        buf[n] = NULL;
        return buf;
}

static Finding *add_with_remedies(Report *r, const SocketFacts *f, const char *code, Severity sev,
                                  const char *consumer, const char *path, const char *const *remedies,
                                  const char *summary) {
        const char *buf[8];
        return report_add_finding(r, code, sev, consumer, path, findings_filter_remedies(f, remedies, buf, 8), "%s",
                                  summary);
}

static bool acl_has_named_entries(const InodeInfo *ino) {
        for (size_t i = 0; i < ino->n_acl; i++)
                if (ino->acl[i].tag == ACL_TAG_USER || ino->acl[i].tag == ACL_TAG_GROUP)
                        return true;
        return false;
}

static bool acl_names_creds(const InodeInfo *ino, const Creds *c) {
        for (size_t i = 0; i < ino->n_acl; i++) {
                const AclItem *a = &ino->acl[i];
                if ((a->tag == ACL_TAG_USER && a->id == c->uid) || (a->tag == ACL_TAG_GROUP && creds_in_group(c, a->id)))
                        return true;
        }
        return false;
}

static Creds consumer_creds(const Consumer *c) {
        return (Creds) { .uid = c->uid, .gid = c->gid, .groups = c->groups, .n_groups = c->n_groups };
}

static bool db_grants_more(const Consumer *c, const ConsumerFacts *cf) {
        Creds live = consumer_creds(c);
        for (size_t i = 0; cf->db_groups && i < cf->n_db_groups; i++)
                if (!creds_in_group(&live, cf->db_groups[i]))
                        return true;
        return false;
}

static const char *class_words(AccessClass cls) {
        switch (cls) {
        case ACCESS_CLASS_OWNER:
                return "the owner class";
        case ACCESS_CLASS_NAMED_USER:
                return "a named ACL entry";
        case ACCESS_CLASS_GROUP:
                return "the group class";
        case ACCESS_CLASS_OTHER:
                return "the 'other' class";
        case ACCESS_CLASS_ROOT:
                return "root";
        }
        return "?";
}

/* The one primary code of a blocked consumer: the first of FAILURES.md's order that applies. */
static int classify_blocked(Report *r, const SocketFacts *f, const Consumer *c, const ConsumerFacts *cf,
                            const AccessVerdict *v) {
        const PathWalk *w = f->walk;
        const char *sock = strempty(w->resolved);
        _cleanup_free_ char *s = NULL;
        Finding *fd;

        if (v->blocking_dir >= 0) {
                const InodeInfo *d = &w->dirs[v->blocking_dir];
                if (asprintf(&s, "%s workers (user %s) cannot search directory %s (mode %04o, %u:%u)", c->server,
                             c->user, d->path, d->st.st_mode & 07777, d->st.st_uid, d->st.st_gid) < 0)
                        return -ENOMEM;
                /* Crossed only for ".." or a symlink: the path, not the directory, is what to mend. */
                if (!path_walk_holds(w, d)) {
                        fd = report_add_finding(r, "dir-no-search", SEVERITY_ERROR, c->user, d->path, NULL, "%s", s);
                        return fd && finding_set_detail(fd, "the path crosses %s only through '..' or a symbolic link: "
                                                            "point the web server at %s",
                                                        d->path, sock) >= 0
                                       ? 0
                                       : -ENOMEM;
                }
                return add_with_remedies(r, f, "dir-no-search", SEVERITY_ERROR, c->user, d->path,
                                         REMEDIES("dir-search"), s) ? 0 : -ENOMEM;
        }

        Creds db = { .uid = c->uid, .gid = c->gid, .groups = cf->db_groups, .n_groups = cf->n_db_groups };
        AccessVerdict dbv;
        if (cf->running && cf->db_groups) {
                access_walk(w, &db, &dbv);
                if (dbv.error != EACCES) {
                        if (asprintf(&s, "%s workers (user %s) were started before the user got the group that "
                                         "grants access to %s; the running workers do not hold it",
                                     c->server, c->user, sock) < 0)
                                return -ENOMEM;
                        /* refresh is a reload: where sockfix makes none, the pool strategies
                         * grant the workers as they are. */
                        fd = add_with_remedies(r, f, "stale-credentials", SEVERITY_ERROR, c->user, sock,
                                               cf->reload_refusal ? REMEDIES("pool-acl", "pool-group")
                                                                  : REMEDIES("refresh"),
                                               s);
                        if (!fd)
                                return -ENOMEM;
                        if (cf->reload_refusal)
                                return finding_set_detail(fd, "%s must be restarted to pick up the group (%s), or its "
                                                              "workers granted as they are",
                                                          c->server, cf->reload_refusal);
                        return finding_set_detail(fd, "reload %s so that new workers pick up the group", c->server);
                }
        }

        const InodeInfo *ino = &w->final;
        Creds cr = consumer_creds(c);
        if (acl_has_named_entries(ino) && !acl_names_creds(ino, &cr)) {
                if (asprintf(&s, "the ACL of %s names users and groups, but neither %s nor any group its workers hold",
                             sock, c->user) < 0)
                        return -ENOMEM;
                return add_with_remedies(r, f, "acl-missing-user", SEVERITY_ERROR, c->user, sock,
                                         REMEDIES("pool-acl"), s) ? 0 : -ENOMEM;
        }

        if (ino->st.st_uid == 0 && ino->st.st_gid == 0 && f->pool.present && !f->pool.sets_owner_or_group &&
            !f->pool.sets_acl) {
                if (asprintf(&s, "%s is root:root because pool %s sets no listen.owner, listen.group or listen.acl_*",
                             sock, strempty(f->pool.name)) < 0)
                        return -ENOMEM;
                return add_with_remedies(r, f, "socket-unowned", SEVERITY_ERROR, c->user, sock,
                                         REMEDIES("pool-acl", "pool-group"), s) ? 0 : -ENOMEM;
        }

        if (v->cls == ACCESS_CLASS_OWNER || v->cls == ACCESS_CLASS_GROUP || v->cls == ACCESS_CLASS_NAMED_USER) {
                if (asprintf(&s, "%s workers (user %s) fall in %s of %s (mode %04o), which lacks write", c->server,
                             c->user, class_words(v->cls), sock, ino->st.st_mode & 07777) < 0)
                        return -ENOMEM;
                return add_with_remedies(r, f, "socket-mode-no-write", SEVERITY_ERROR, c->user, sock,
                                         REMEDIES("pool-acl", "pool-group"), s) ? 0 : -ENOMEM;
        }

        if (asprintf(&s, "%s workers (user %s) are neither owner nor in group of %s (%s:%s %04o), so they fall in "
                         "the 'other' class, which lacks write",
                     c->server, c->user, sock, strempty(r->owner), strempty(r->group), ino->st.st_mode & 07777) < 0)
                return -ENOMEM;
        return add_with_remedies(r, f, "socket-group-mismatch", SEVERITY_ERROR, c->user, sock,
                                 REMEDIES("pool-acl", "pool-group", "member"), s) ? 0 : -ENOMEM;
}

static bool path_in_tmp(const char *p) {
        return p && (startswith(p, "/tmp/") || startswith(p, "/var/tmp/"));
}

/* config-drift: who can connect to the live inode versus who could once php-fpm
 * re-creates the socket from its config. Owner fields alone would cry wolf. */
static int check_config_drift(Report *r, const SocketFacts *f) {
        if (!f->pool.present || !f->pool.have_predicted || !f->walk->have_final)
                return 0;
        _cleanup_free_ char *who = NULL;
        for (size_t i = 0; i < r->n_consumers; i++) {
                Creds c = consumer_creds(&r->consumers[i]);
                AccessClass cls;
                bool live = access_inode(&f->walk->final, &c, ACCESS_WRITE, &cls) == 0;
                bool next = access_inode(&f->pool.predicted, &c, ACCESS_WRITE, &cls) == 0;
                if (live == next)
                        continue;
                char *n;
                if (asprintf(&n, "%s%s%s %s", strempty(who), who ? "; " : "", r->consumers[i].user,
                             live ? "can connect now but not after php-fpm restarts"
                                  : "cannot connect now but could after php-fpm restarts") < 0)
                        return -ENOMEM;
                free(who);
                who = n;
        }
        if (!who)
                return 0;
        _cleanup_free_ char *s = NULL;
        if (asprintf(&s, "the live socket and pool %s's config disagree: %s", strempty(f->pool.name), who) < 0)
                return -ENOMEM;
        Finding *fd = add_with_remedies(r, f, "config-drift", SEVERITY_WARNING, NULL, strempty(f->walk->resolved),
                                        REMEDIES("pool-acl", "pool-group"), s);
        if (!fd)
                return -ENOMEM;
        return finding_set_detail(fd, "php-fpm re-creates the socket from %s at its next start (a reload does not)",
                                  strempty(f->pool.file));
}

static const char *file_type(mode_t m) {
        switch (m & S_IFMT) {
        case S_IFREG:
                return "regular file";
        case S_IFDIR:
                return "directory";
        case S_IFIFO:
                return "FIFO";
        case S_IFCHR:
                return "character device";
        case S_IFBLK:
                return "block device";
        default:
                return "file of another kind";
        }
}

/* Why nothing can connect at a path that holds no socket: what stands there, or what
 * its lookup met (the errno connect() would give). Without a walk (w NULL), for a
 * caller who may learn only that the path as asked is no socket. */
static int not_a_socket_finding(Report *r, const PathWalk *w, const char *pool, const char *sock) {
        Finding *fd;

        if (!w || w->have_final) {
                mode_t m = w ? w->final.st.st_mode : 0;
                fd = w ? report_add_finding(r, "not-a-socket", SEVERITY_ERROR, NULL, sock, NULL,
                                            "%s is a %s, not a socket", sock, file_type(m))
                       : report_add_finding(r, "not-a-socket", SEVERITY_ERROR, NULL, sock, NULL,
                                            "%s is not a socket", sock);
                if (!fd)
                        return -ENOMEM;
                /* php-fpm unlinks the path before bind() when a pool starts (not on a
                 * reload, which keeps its sockets); unlink() fails on a directory. */
                if (w && pool && S_ISDIR(m))
                        return finding_set_detail(fd, "php-fpm cannot create pool %s's socket where a directory "
                                                      "stands: move the directory away, then restart php-fpm", pool);
                if (w && pool)
                        return finding_set_detail(fd, "php-fpm replaces the file with pool %s's socket when it next "
                                                      "starts (a reload does not): find what put it there, then "
                                                      "restart php-fpm", pool);
                return finding_set_detail(fd, "point the web server at the socket its pool listens on");
        }
        switch (w->error) {
        case ENOTDIR:
                fd = report_add_finding(r, "path-lookup-failed", SEVERITY_ERROR, NULL, sock, NULL,
                                        "a component of %s is not a directory", sock);
                break;
        case ELOOP:
                fd = report_add_finding(r, "path-lookup-failed", SEVERITY_ERROR, NULL, sock, NULL,
                                        "%s has too many levels of symbolic links (a loop)", sock);
                break;
        case ENAMETOOLONG:
                fd = report_add_finding(r, "path-lookup-failed", SEVERITY_ERROR, NULL, sock, NULL,
                                        "%s is too long or too deep to look up", sock);
                break;
        case ETIMEDOUT:
        case EBUSY:
                /* A sweep's lookup given up on (sys/slow-fs.c), or not made while others wait. */
                fd = report_add_finding(r, "path-lookup-failed", SEVERITY_ERROR, NULL, sock, NULL,
                                        w->error == ETIMEDOUT ? "looking up %s does not answer: a file system on the "
                                                                "path (NFS, CIFS, FUSE...) stopped answering"
                                                              : "%s was not looked up: lookups on file systems that "
                                                                "stopped answering already wait",
                                        sock);
                if (fd && finding_set_detail(fd, "a web server's connect() there waits as well; see the server or "
                                                 "the FUSE daemon behind the mount") < 0)
                        return -ENOMEM;
                return fd ? 0 : -ENOMEM;
        default:
                /* EIO, ENOTCONN from a FUSE daemon gone, ESTALE...: the file system's own answer. */
                fd = report_add_finding(r, "path-lookup-failed", SEVERITY_ERROR, NULL, sock, NULL,
                                        "looking up %s fails: %s", sock, strerror(w->error));
                if (fd && finding_set_detail(fd, "the file system holding the path reported the error (see the "
                                                 "kernel log); permissions are not the problem") < 0)
                        return -ENOMEM;
                return fd ? 0 : -ENOMEM;
        }
        return fd ? finding_set_detail(fd, "check the path in the web server's and the pool's configuration") : -ENOMEM;
}

static int missing_finding(Report *r, const char *sock) {
        Finding *fd = report_add_finding(r, "socket-missing", SEVERITY_ERROR, NULL, sock, NULL, "nothing exists at %s",
                                         sock);
        if (!fd)
                return -ENOMEM;
        if (r->candidates) {
                _cleanup_free_ char *l = strv_join(r->candidates, ", ");
                return l ? finding_set_detail(fd, "point the web server at the socket that listens: %s", l) : -ENOMEM;
        }
        return finding_set_detail(fd, "start the pool that declares %s, or point the web server at the socket that "
                                      "listens", sock);
}

static int socket_state_findings(Report *r, const SocketFacts *f) {
        const PathWalk *w = f->walk;
        const char *sock = w->resolved ? w->resolved : r->socket;
        Finding *fd;

        switch (r->verdict) {
        case VERDICT_NOT_A_SOCKET:
                return not_a_socket_finding(r, w, f->pool.present ? strempty(f->pool.name) : NULL, sock);
        case VERDICT_MISSING:
                return missing_finding(r, sock);
        case VERDICT_REFUSED:
                fd = report_add_finding(r, "listener-down", SEVERITY_ERROR, NULL, sock, NULL,
                                        "%s exists but no process listens on it", sock);
                if (!fd)
                        return -ENOMEM;
                return finding_set_detail(fd, "start (or restart) the pool%s%s; permissions are not the problem",
                                          f->pool.name ? " " : "", strempty(f->pool.name));
        case VERDICT_OVERLOADED:
                fd = report_add_finding(r, "backlog-full", SEVERITY_ERROR, NULL, sock, NULL,
                                        "the listen queue of %s is full: the listener accepts no more connections",
                                        sock);
                if (!fd)
                        return -ENOMEM;
                return finding_set_detail(fd, "raise pm.max_children (or pm.max_spare_servers) and listen.backlog of "
                                              "the pool, or find what blocks its workers");
        default:
                return 0;
        }
}

static int pool_findings(Report *r, const SocketFacts *f) {
        Finding *fd;
        if (!f->pool.present)
                return 0;
        if (f->pool.sets_acl && !f->pool.acl_supported) {
                fd = report_add_finding(r, "acl-unsupported", SEVERITY_ERROR, NULL, f->pool.file, NULL,
                                        "pool %s sets listen.acl_* but this php-fpm build has no ACL support",
                                        strempty(f->pool.name));
                if (!fd || finding_set_detail(fd, "remove listen.acl_users/listen.acl_groups from %s; php-fpm refuses "
                                                  "to start with them",
                                              strempty(f->pool.file)) < 0)
                        return -ENOMEM;
        }
        if (f->pool.unknown_account && (r->verdict == VERDICT_MISSING || r->verdict == VERDICT_REFUSED)) {
                fd = report_add_finding(r, "pool-start-failure", SEVERITY_ERROR, NULL, f->pool.file, NULL,
                                        "pool %s names '%s', which does not exist, so php-fpm cannot create the "
                                        "socket", strempty(f->pool.name), f->pool.unknown_account);
                if (!fd || finding_set_detail(fd, "fix the user/group names in %s", strempty(f->pool.file)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int findings_classify(Report *r, const SocketFacts *f, const ConsumerFacts *cf) {
        const PathWalk *w = f->walk;
        bool is_socket = w->have_final && S_ISSOCK(w->final.st.st_mode);
        int r_;

        if ((w->error && w->error != ENOENT) || (w->have_final && !is_socket))
                r->verdict = VERDICT_NOT_A_SOCKET;
        else if (!w->have_final)
                r->verdict = VERDICT_MISSING;
        else if (!f->listener)
                r->verdict = VERDICT_REFUSED;
        else if (f->queue_full)
                r->verdict = VERDICT_OVERLOADED;
        else
                r->verdict = _VERDICT_MAX; /* decided by the consumers below */

        bool any_denied = false, any_blocked = false;
        for (size_t i = 0; i < r->n_consumers; i++) {
                Consumer *c = &r->consumers[i];
                Creds cr = consumer_creds(c);
                AccessVerdict v;
                access_walk(w, &cr, &v);
                c->error = v.error;
                if (c->error == 0)
                        c->error = !is_socket ? ECONNREFUSED : !f->listener ? ECONNREFUSED : f->queue_full ? EAGAIN : 0;
                c->can_connect = c->error == 0;
                c->stale_credentials = cf[i].running && db_grants_more(c, &cf[i]);

                /* A mount namespace of its own (PrivateTmp) shows the worker another /tmp:
                 * no permission change can help there. */
                if (path_in_tmp(r->socket) && cf[i].mnt_ns && f->listener_mnt_ns && cf[i].mnt_ns != f->listener_mnt_ns) {
                        Finding *fd = report_add_finding(r, "namespace-mismatch", SEVERITY_ERROR, c->user, r->socket,
                                                         NULL, "%s workers (user %s) run in another mount namespace "
                                                         "than the listener: %s is not the same file for them",
                                                         c->server, c->user, r->socket);
                        if (!fd || finding_set_detail(fd, "move the socket out of /tmp (e.g. to /run/php/), or run "
                                                          "both services without PrivateTmp") < 0)
                                return -ENOMEM;
                }
                if (v.error != EACCES)
                        continue;
                /* Write on what is no socket: its own finding says why nothing connects,
                 * and no change of its permissions would help. */
                if (!is_socket && v.blocking_dir < 0)
                        continue;
                any_blocked = true;
                any_denied = true;
                r_ = classify_blocked(r, f, c, &cf[i], &v);
                if (r_ < 0)
                        return r_;
        }

        if (r->verdict == _VERDICT_MAX)
                r->verdict = any_denied ? VERDICT_DENIED : r->n_consumers == 0 ? VERDICT_NO_CONSUMER : VERDICT_OK;

        if ((r_ = socket_state_findings(r, f)) < 0 || (r_ = pool_findings(r, f)) < 0)
                return r_;

        if (is_socket && (w->final.st.st_mode & S_IWOTH)) {
                _cleanup_free_ char *s = NULL;
                if (asprintf(&s, "%s is writable by every local user (mode %04o): any of them can run code as pool %s",
                             w->resolved, w->final.st.st_mode & 07777, f->pool.name ? f->pool.name : "its user") < 0 ||
                    !add_with_remedies(r, f, "world-writable", SEVERITY_WARNING, NULL, w->resolved,
                                       REMEDIES("pool-acl", "pool-group"), s))
                        return -ENOMEM;
        }
        if (is_socket && w->n_dirs > 0 && w->dirs[w->n_dirs - 1].has_default_acl) {
                const char *dir = w->dirs[w->n_dirs - 1].path;
                Finding *fd = add_with_remedies(r, f, "dir-default-acl", SEVERITY_WARNING, NULL, dir,
                                                REMEDIES("pool-acl"), "the socket's directory has a default ACL, "
                                                "which shapes the mode of every socket created in it");
                if (!fd || finding_set_detail(fd, "see getfacl -d %s; pool-acl states the socket's access in the "
                                                  "pool instead", dir) < 0)
                        return -ENOMEM;
        }
        if (is_socket && (r_ = check_config_drift(r, f)) < 0)
                return r_;
        if (any_blocked && (f->nscd_running || f->sssd_running)) {
                Finding *fd = report_add_finding(r, "nss-cache", SEVERITY_INFO, NULL, NULL, NULL,
                                                 "%s caches the group database: a new membership may not show at once",
                                                 f->nscd_running ? "nscd" : "sssd");
                if (!fd || finding_set_detail(fd, f->nscd_running ? "run nscd -i group (gpasswd flushes nscd itself)"
                                                                  : "run sss_cache -E") < 0)
                        return -ENOMEM;
        }
        return 0;
}

int findings_add_probe(Report *r) {
        int n = 0;
        for (size_t i = 0; i < r->n_consumers; i++) {
                const Consumer *c = &r->consumers[i];
                if (c->probe_errno < 0 || c->probe_errno == c->error)
                        continue;
                Finding *fd = report_add_finding(
                        r, "probe-disagrees", SEVERITY_WARNING, c->user, r->resolved ? r->resolved : r->socket, NULL,
                        "the kernel's permission rule says %s for %s workers (user %s), a real connect as them gave %s",
                        c->error ? strerror(c->error) : "success", c->server, c->user,
                        c->probe_errno ? strerror(c->probe_errno) : "success");
                if (!fd || finding_set_detail(fd, "a security module (SELinux, AppArmor) or a mount namespace usually "
                                                  "explains the difference") < 0)
                        return -ENOMEM;
                n++;
        }
        return n;
}

int findings_hide_inode(Report *r) {
        r->have_inode = false;
        r->uid = 0;
        r->gid = 0;
        r->mode = 0;
        free(r->owner);
        free(r->group);
        free(r->resolved);
        r->owner = r->group = r->resolved = NULL;
        /* The verdict's own finding named what the path resolves to, or what stands
         * there: say it again of the path as asked, and no more. */
        for (size_t i = 0; i < r->n_findings; i++) {
                Finding *fd = &r->findings[i];
                if (!streq_ptr(fd->code, "not-a-socket") && !streq_ptr(fd->code, "path-lookup-failed") &&
                    !streq_ptr(fd->code, "socket-missing"))
                        continue;
                report_remove_finding(r, i);
                return r->verdict == VERDICT_MISSING ? missing_finding(r, r->socket)
                                                     : not_a_socket_finding(r, NULL, NULL, r->socket);
        }
        return 0;
}
