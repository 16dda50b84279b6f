/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine's read half: Diagnose and DiagnoseAll. Gathers the facts of one
 * socket from the host model (walk, listener, pool, consumers), lets findings.c
 * decide, and for a single Diagnose proves access with a real connect. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "access.h"
#include "engine.h"
#include "evidence.h"
#include "findings.h"
#include "journal.h"
#include "host/host.h"
#include "lsm.h"
#include "probe.h"
#include "sys/nss.h"
#include "sys/slow-fs.h"
#include "sys/timed-call.h"
#include "util/hashmap.h"
#include "util/util.h"

#define PROBE_TIMEOUT_MS 1000
#define EVIDENCE_MAX_LINES 20
#define CANDIDATES_MAX 5

static const char *const lsm_logs[] = {
        "/var/log/audit/audit.log",
        "/var/log/kern.log",
        "/var/log/syslog",
        "/var/log/messages",
        NULL,
};

#include "diagnosis.h"

int engine_new(const EngineConfig *cfg, Engine **ret) {
        Engine *e = calloc(1, sizeof(Engine));
        if (!e)
                return -ENOMEM;
        e->proc_root = strdup(cfg->proc_root ? cfg->proc_root : "/proc");
        e->state_dir = strdup_or_null(cfg->state_dir);
        e->runtime_dir = strdup_or_null(cfg->runtime_dir);
        e->scan_distro_defaults = cfg->scan_distro_defaults;
        e->busy = hashmap_new_str();
        e->host_cache = host_cache_new();
        if (!e->proc_root || !e->busy || !e->host_cache || (cfg->state_dir && !e->state_dir) || (cfg->runtime_dir && !e->runtime_dir)) {
                engine_free(e);
                return -ENOMEM;
        }
        if (e->state_dir) {
                /* Transactions interrupted by a crash are listed as incomplete from now on. */
                _cleanup_free_ char *dir = NULL;
                int r = asprintf(&dir, "%s/transactions", e->state_dir) < 0 ? -ENOMEM : journal_open(dir, &e->journal);
                if (r >= 0)
                        r = journal_recover(e->journal, NULL);
                if (r < 0) {
                        engine_free(e);
                        return r;
                }
        }
        *ret = e;
        return 0;
}

Engine *engine_free(Engine *e) {
        if (!e)
                return NULL;
        free(e->proc_root);
        free(e->state_dir);
        free(e->runtime_dir);
        journal_free(e->journal);
        host_unref(e->host);
        strv_free(e->strategies);
        lookup_done(&e->nss, &e->nss_owned);
        hashmap_free(e->busy);
        host_cache_free(e->host_cache);
        free(e);
        return NULL;
}

int engine_load_host(Engine *e, bool sweep, Host **ret) {
        if (e->host) {
                int r = host_check_current(e->host);
                /* A sweep reads every queue anyway: one dump refreshes them all. */
                if (r > 0 && sweep)
                        r = host_refresh_sockets(e->host) >= 0;
                if (r > 0) {
                        *ret = host_ref(e->host);
                        return 0;
                }
                e->host = host_unref(e->host);
        }
        HostConfig hc = { .proc_root = e->proc_root, .scan_distro_defaults = e->scan_distro_defaults,
                          .cache = e->host_cache };
        int r = host_load(&hc, &e->host);
        if (r < 0)
                return r;
        e->host_generation++;
        *ret = host_ref(e->host);
        return 0;
}

void engine_drop_host(Engine *e) {
        e->host = host_unref(e->host);
}

/* --- the pool's socket as php-fpm would create it now (for config-drift) --- */

static int parse_mode(const char *s, mode_t *ret) {
        char *end;
        errno = 0;
        unsigned long m = strtoul(s, &end, 8);
        if (errno || end == s || *end || m > 0777)
                return -EINVAL;
        *ret = (mode_t) m;
        return 0;
}

static int add_acl(InodeInfo *ino, AclTag tag, unsigned id, unsigned perm) {
        AclItem *a = ARRAY_PUSH(ino->acl, ino->n_acl);
        if (!a)
                return -ENOMEM;
        *a = (AclItem) { .tag = tag, .id = id, .perm = perm };
        return 0;
}

/* php-fpm (fpm_unix_resolve_socket_premissions / fpm_unix_set_socket_permissions):
 * umask(0777 ^ listen.mode); with listen.acl_* the owner/group keys are ignored and
 * rw entries are added with a recalculated mask; else chown to listen.owner and
 * listen.group (the owner's primary group when only the owner is named). */
static int predict_socket(const FpmPool *p, const Process *master, Lookup *lk, Owned *ow, PoolFacts *pf) {
        const char *owner = fpm_pool_get(p, "listen.owner"), *group = fpm_pool_get(p, "listen.group");
        const char *mode_s = fpm_pool_get(p, "listen.mode");
        const char *acl_users = fpm_pool_get(p, "listen.acl_users"), *acl_groups = fpm_pool_get(p, "listen.acl_groups");
        InodeInfo *ino = &pf->predicted;
        mode_t mode = 0660;
        if (mode_s && parse_mode(mode_s, &mode) < 0)
                return 0;
        ino->st.st_mode = S_IFSOCK | mode;
        ino->st.st_uid = master ? master->euid : 0;
        ino->st.st_gid = master ? master->egid : 0;

        if (pf->sets_acl) {
                unsigned mask = (mode >> 3) & 7;
                int r = add_acl(ino, ACL_TAG_USER_OBJ, 0, (mode >> 6) & 7);
                _cleanup_free_ char *users = strdup_or_null(acl_users), *groups = strdup_or_null(acl_groups);
                char *save = NULL;
                for (char *u = users ? strtok_r(users, ",", &save) : NULL; r >= 0 && u; u = strtok_r(NULL, ",", &save)) {
                        uid_t uid;
                        int k = lookup_user(lk, ow, strstrip(u), &uid, NULL);
                        if (k == -ENOMEM)
                                return k;
                        if (k == -ESRCH)
                                pf->unknown_account = fpm_pool_get(p, "listen.acl_users");
                        if (k < 0) /* also -ETIMEDOUT: no prediction, no claim */
                                return 0;
                        r = add_acl(ino, ACL_TAG_USER, uid, 6);
                        mask |= 6;
                }
                if (r >= 0)
                        r = add_acl(ino, ACL_TAG_GROUP_OBJ, 0, (mode >> 3) & 7);
                save = NULL;
                for (char *g = groups ? strtok_r(groups, ",", &save) : NULL; r >= 0 && g; g = strtok_r(NULL, ",", &save)) {
                        gid_t gid;
                        int k = lookup_group(lk, ow, strstrip(g), &gid);
                        if (k == -ENOMEM)
                                return k;
                        if (k == -ESRCH)
                                pf->unknown_account = fpm_pool_get(p, "listen.acl_groups");
                        if (k < 0)
                                return 0;
                        r = add_acl(ino, ACL_TAG_GROUP, gid, 6);
                        mask |= 6;
                }
                if (r >= 0)
                        r = add_acl(ino, ACL_TAG_MASK, 0, mask);
                if (r >= 0)
                        r = add_acl(ino, ACL_TAG_OTHER, 0, mode & 7);
                if (r < 0)
                        return r;
                ino->st.st_mode = S_IFSOCK | (mode & 0707) | (mask << 3);
        } else {
                int k = 0;
                if (owner && (k = lookup_user(lk, ow, owner, &ino->st.st_uid, &ino->st.st_gid)) == -ESRCH) {
                        pf->unknown_account = owner;
                        return 0;
                }
                if (k >= 0 && group && (k = lookup_group(lk, ow, group, &ino->st.st_gid)) == -ESRCH) {
                        pf->unknown_account = group;
                        return 0;
                }
                if (k == -ETIMEDOUT)
                        return 0;
                if (k < 0)
                        return k;
        }
        pf->have_predicted = true;
        return 0;
}

static int pool_facts(const Host *h, const Pool *pool, Lookup *lk, Owned *ow, PoolFacts *pf) {
        if (!pool)
                return 0;
        const FpmPool *p = pool->cfg;
        const FpmKey *listen = fpm_pool_key(p, "listen");
        pf->present = true;
        pf->name = p->name;
        pf->file = listen ? listen->file : p->file;
        pf->sets_owner_or_group = fpm_pool_get(p, "listen.owner") || fpm_pool_get(p, "listen.group");
        pf->sets_acl = fpm_pool_get(p, "listen.acl_users") || fpm_pool_get(p, "listen.acl_groups");
        pf->acl_supported = pool->fpm->acl_supported;
        /* The pool's own user must exist too, or php-fpm refuses to start it. */
        const char *user = fpm_pool_get(p, "user"), *group = fpm_pool_get(p, "group");
        gid_t gid;
        int k = user ? lookup_user(lk, ow, user, NULL, NULL) : 0;
        if (k == -ESRCH)
                pf->unknown_account = user;
        else if (k >= 0 && group && (k = lookup_group(lk, ow, group, &gid)) == -ESRCH)
                pf->unknown_account = group;
        if (k == -ENOMEM)
                return k;
        /* A user database that does not answer (sys/nss.h) leaves the socket unpredicted:
         * neither an unknown account nor a drift is claimed on a guess. */
        if (k == -ETIMEDOUT)
                return 0;
        const Process *master = pool->fpm->master_pid ? proc_table_find(&h->procs, pool->fpm->master_pid) : NULL;
        return pf->unknown_account ? 0 : predict_socket(p, master, lk, ow, pf);
}

/* --- candidates for a missing path: sockets that listen under a similar name --- */

static void name_skeleton(const char *path, char *buf, size_t size) {
        const char *b = strrchr(path, '/');
        size_t n = 0;
        for (b = b ? b + 1 : path; *b && n + 1 < size; b++)
                if (!(*b >= '0' && *b <= '9') && *b != '.')
                        buf[n++] = *b;
        buf[n] = 0;
}

static size_t dir_len(const char *p) {
        const char *s = strrchr(p, '/');
        return s ? (size_t) (s - p) : 0;
}

static int find_candidates(const UnixSocketTable *t, const char *path, char ***ret) {
        char want[256], have[256];
        name_skeleton(path, want, sizeof(want));
        /* Two passes: same name apart from version digits first (php8.1 -> php8.2), then same directory. */
        for (int pass = 0; pass < 2; pass++)
                for (size_t i = 0; i < t->n && strv_length(*ret) < CANDIDATES_MAX; i++) {
                        const char *c = t->socks[i].path;
                        if (!c || streq_ptr(c, path) || strv_contains(*ret, c))
                                continue;
                        name_skeleton(c, have, sizeof(have));
                        bool match = pass == 0 ? streq_ptr(want, have)
                                               : dir_len(c) == dir_len(path) && strncmp(c, path, dir_len(c)) == 0;
                        if (match && strv_extend(ret, c) < 0)
                                return -ENOMEM;
                }
        return 0;
}

/* --- LSM denials, looked for only when the real connect and the rule disagree --- */

typedef struct LsmCtx {
        Report *r;
        const Consumer *c;
        bool selinux, apparmor;
        int error;
        int enforcing;     /* SELinux: 1 enforcing, 0 permissive, -1 absent */
        const char *label; /* the worker's /proc/PID/attr/current, or NULL */
} LsmCtx;

static int lsm_line(const char *line, void *userdata) {
        LsmCtx *x = userdata;
        _cleanup_(lsm_denial_done) LsmDenial d = {};
        int k = lsm_parse_line(line, &d);
        if (k <= 0)
                return k;
        if (!lsm_denial_matches(&d, x->r->socket, x->r->resolved))
                return 0;
        /* A denial logged without a path only counts if it names this consumer's workers. */
        if (!d.path && !streq_ptr(d.comm, x->c->server)) {
                bool ours = false;
                for (size_t i = 0; i < x->c->n_pids && !ours; i++)
                        ours = x->c->pids[i] == d.pid;
                if (!ours)
                        return 0;
        }
        if (d.permissive || !lsm_denial_applies(&d, x->enforcing, x->label))
                return 0; /* logged, not enforced, or about another domain: not why the connect failed */
        if (d.kind == LSM_SELINUX && !x->selinux) {
                Finding *f = report_add_finding(x->r, "selinux-denied", SEVERITY_ERROR, x->c->user, x->r->resolved,
                                                NULL, "SELinux denies %s workers (%s) %s on %s", x->c->server,
                                                d.scontext ? d.scontext : "?", d.perm ? d.perm : "connect",
                                                x->r->resolved);
                if (!f || finding_set_detail(f, "label the socket for the web server's domain (semanage fcontext -a -t "
                                                "httpd_var_run_t '%s' && restorecon -v '%s'); never setenforce 0",
                                             x->r->resolved, x->r->resolved) < 0)
                        return -ENOMEM;
                x->selinux = true;
        } else if (d.kind == LSM_APPARMOR && !x->apparmor) {
                Finding *f = report_add_finding(x->r, "apparmor-denied", SEVERITY_ERROR, x->c->user, x->r->resolved,
                                                NULL, "AppArmor profile %s denies connect to %s",
                                                d.profile ? d.profile : "?", x->r->resolved);
                if (!f || finding_set_detail(f, "allow it in the profile: '%s rw,' then apparmor_parser -r",
                                             x->r->resolved) < 0)
                        return -ENOMEM;
                x->apparmor = true;
        }
        return 0;
}

static int lsm_findings(const char *proc_root, Report *r, const Consumer *c) {
        _cleanup_free_ char *label = c->n_pids > 0 ? lsm_process_label(proc_root, c->pids[0]) : NULL;
        LsmCtx x = { .r = r, .c = c, .enforcing = lsm_selinux_enforcing("/sys/fs/selinux"), .label = label };
        for (const char *const *l = lsm_logs; *l; l++) {
                int k = log_tail_foreach(*l, EVIDENCE_TAIL_BYTES, lsm_line, &x);
                if (k == -ENOMEM)
                        return k;
        }
        return 0;
}

/* The second proof: a real connect as each consumer. Disagreement with the rule
 * is a finding; a denial the rule cannot explain is looked up in the LSM logs. */
int probe_consumers(const char *proc_root, Report *r, const Process *master) {
        bool fcgi = master && program_speaks_fastcgi(master->comm);
        for (size_t i = 0; i < r->n_consumers; i++) {
                Consumer *c = &r->consumers[i];
                Creds cr = { .uid = c->uid, .gid = c->gid, .groups = c->groups, .n_groups = c->n_groups };
                ProbeResult pr;
                /* One FastCGI exchange is enough to tell whether the listener speaks it. */
                bool try_fcgi = fcgi && r->fastcgi < 0;
                if (probe_connect(r->socket, &cr, try_fcgi, PROBE_TIMEOUT_MS, &pr) < 0)
                        continue;
                c->probe_errno = pr.connect_errno;
                if (try_fcgi && pr.connect_errno == 0)
                        r->fastcgi = pr.fastcgi;
        }
        int k = findings_add_probe(r);
        if (k < 0)
                return k;
        for (size_t i = 0; k > 0 && i < r->n_consumers; i++)
                if (r->consumers[i].probe_errno == EACCES && r->consumers[i].error == 0 &&
                    lsm_findings(proc_root, r, &r->consumers[i]) < 0)
                        return -ENOMEM;
        return 0;
}

/* --- one socket --- */

static int add_consumers(const Host *h, const RefList *refs, const DiagnoseOptions *o, Report *r, Lookup *lk,
                         Owned *ow, ConsumerFacts **cf, size_t *n_cf) {
        for (size_t i = 0; refs && i < refs->n; i++) {
                const WebServer *s = &h->servers[refs->servers[i]];
                if (strv_extend_unique(&r->servers, s->config.server) < 0)
                        return -ENOMEM;
                for (size_t j = 0; j < s->n_workers; j++) {
                        const WorkerSet *w = &s->workers[j];
                        if (o && o->consumer && !streq_ptr(o->consumer, w->user))
                                continue;
                        bool dup = false;
                        for (size_t k = 0; k < r->n_consumers && !dup; k++)
                                dup = r->consumers[k].n_pids > 0 && w->n_pids > 0 &&
                                      r->consumers[k].pids[0] == w->pids[0];
                        if (dup)
                                continue;
                        Consumer *c = ARRAY_PUSH(r->consumers, r->n_consumers);
                        ConsumerFacts *f = ARRAY_PUSH(*cf, *n_cf);
                        if (!c || !f)
                                return -ENOMEM;
                        c->probe_errno = -1;
                        c->server = strdup(s->config.server);
                        c->user = strdup(w->user);
                        c->uid = w->uid;
                        c->gid = w->gid;
                        if (w->n_groups && !(c->groups = malloc(sizeof(gid_t) * w->n_groups)))
                                return -ENOMEM;
                        if (w->n_groups)
                                memcpy(c->groups, w->groups, sizeof(gid_t) * w->n_groups);
                        c->n_groups = w->n_groups;
                        if (w->n_pids && !(c->pids = malloc(sizeof(pid_t) * w->n_pids)))
                                return -ENOMEM;
                        if (w->n_pids)
                                memcpy(c->pids, w->pids, sizeof(pid_t) * w->n_pids);
                        c->n_pids = w->n_pids;
                        if (!c->server || !c->user)
                                return -ENOMEM;
                        const DbGroups *db = lookup_db_groups(lk, ow, w->user, w->uid, w->gid);
                        f->db_groups = db && db->n ? db->groups : NULL;
                        f->n_db_groups = db ? db->n : 0;
                        f->running = w->n_pids > 0;
                        f->reload_refusal = s->reload_refusal;
                        f->mnt_ns = w->mnt_ns;
                }
        }
        return 0;
}

void diagnosis_done(Diagnosis *d) {
        report_free(d->report);
        free(d->facts.pool.predicted.acl);
        free(d->cf);
        path_walk_done(&d->walk);
        *d = (Diagnosis) { .walk.final_fd = -1 };
}

/* The caller's credentials as the group database gives them (its processes may hold
 * fewer groups); false for a uid without a name, or a database that did not answer. */
static bool caller_creds(uid_t caller, Lookup *lk, Owned *ow, Creds *ret) {
        const char *name = lookup_name(lk, ow, false, caller);
        uid_t uid;
        gid_t gid;
        if (!name || lookup_user(lk, ow, name, &uid, &gid) < 0 || uid != caller)
                return false;
        const DbGroups *g = lookup_db_groups(lk, ow, name, uid, gid);
        if (!g || g->unanswered) /* its uid and gid alone would understate what it may do */
                return false;
        *ret = (Creds) { .uid = caller, .gid = gid, .groups = g->groups, .n_groups = g->n };
        return true;
}

/* Whether the caller may search every directory the walk searched (look behind them);
 * without its credentials, no. */
static bool caller_may_search_all(const PathWalk *w, const Creds *c) {
        for (size_t i = 0; c && i < w->n_dirs; i++) {
                AccessClass cls;
                if (access_inode(&w->dirs[i], c, ACCESS_EXEC, &cls) < 0)
                        return false;
        }
        return c != NULL;
}

/* Whether the caller may write a directory on the walk (change where the path leads),
 * or own one (it may chmod it first); without its credentials, assume so. */
static bool caller_may_write_any(const PathWalk *w, const Creds *c) {
        for (size_t i = 0; c && i < w->n_dirs; i++) {
                AccessClass cls;
                if (w->dirs[i].st.st_uid == c->uid || access_inode(&w->dirs[i], c, ACCESS_WRITE, &cls) == 0)
                        return true;
        }
        return c == NULL;
}

/* The logs of list the caller may read (the kernel's rule for its credentials on every
 * directory and the file) and cannot redirect (a directory on the way it may write or
 * owns could lead the path, once checked, to a log it may not read): a new
 * NULL-terminated list of borrowed strings, NULL on -ENOMEM. */
static char **readable_logs(char *const *list, const Creds *c) {
        char **buf = calloc(strv_length((char **) list) + 1, sizeof(char *));
        size_t k = 0;
        for (char *const *l = list; buf && c && l && *l; l++) {
                _cleanup_(path_walk_done) PathWalk w = { .final_fd = -1 };
                AccessClass cls;
                if (path_walk(*l, &w) >= 0 && w.have_final && caller_may_search_all(&w, c) &&
                    !caller_may_write_any(&w, c) && access_inode(&w.final, c, ACCESS_READ, &cls) == 0)
                        buf[k++] = *l;
        }
        return buf;
}

/* Components a cheap walk may look up: /run/php/php8.2-fpm.sock takes three, and
 * links such as /var/run add a few. */
#define CHEAP_WALK_STEPS 64u

int diagnosis_run(Host *h, const char *path, const DiagnoseOptions *o, DiagnosisFlags flags, Lookup *lk,
                  Owned *ow, Diagnosis *d) {
        bool cheap = flags & DIAGNOSIS_CHEAP;

        if (cheap && o && o->evidence)
                return -EAGAIN; /* a megabyte of each error log */
        /* The path exactly as asked: "/root/x/../../run/php/www.sock" is not the pool's. */
        bool named = host_pool_by_path(h, path) || host_refs_by_path(h, path);
        bool restricted = o && o->restricted;
        /* Before a grant, only a path the host itself names (a pool's listen, a web
         * server's fastcgi_pass): one lookup blocks as long as its file system takes to
         * answer (a hung NFS or FUSE mount, an automount), and a caller polkit may refuse
         * must not hold the daemon on one of its choosing. */
        if (cheap && !named)
                return -EAGAIN;

        *d = (Diagnosis) { .walk.final_fd = -1 };
        PathWalk *w = &d->walk;
        SocketFacts *f = &d->facts;
        Report *r = d->report = report_new(path);
        int k;

        if (!r)
                return -ENOMEM;
        f->walk = w;
        f->nscd_running = h->nscd_running;
        f->sssd_running = h->sssd_running;
        /* A sweep walks the paths the host's own configs name. The one path a caller
         * names may cross a file system that does not answer (a hung NFS or FUSE mount,
         * an automount that cannot mount): that walk is given up on after a bound, and
         * the daemon goes on serving. Before a grant, a walk may take no more lookups
         * than a real socket path needs, and none that would need such a bound: one
         * given up on holds a thread until its file system answers, and the daemon
         * keeps only so many. */
        if (lk->walk) {
                k = path_walk_cached(path, lk->walk, w);
                if (k == -EWOULDBLOCK)
                        k = path_walk_timed(path, UINT_MAX, ENGINE_LOOKUP_TIMEOUT_MS, w);
                /* A sweep answers every path: one given up on gets its verdict from the
                 * lookup's error (path-lookup-failed), and the sweep goes on. Another
                 * path on the same mount is not waited for again (sys/slow-fs.c). */
                if (k == -ETIMEDOUT || k == -EBUSY) {
                        w->error = -k;
                        k = 0;
                }
        } else
                k = path_walk_timed(path, cheap ? CHEAP_WALK_STEPS : UINT_MAX, cheap ? 0 : ENGINE_LOOKUP_TIMEOUT_MS,
                                    w);
        /* (EWOULDBLOCK is EAGAIN: only the guard's answer before a grant means "wait".) */
        if (k == -ETIMEDOUT || k == -EBUSY || (cheap && k == -EWOULDBLOCK)) {
                diagnosis_done(d);
                /* How far the lookup got (where a link led before the mount that does
                 * not answer), a restricted caller may not learn: the same answer as a
                 * closed directory (below), or the two would tell what exists there. */
                return k == -EWOULDBLOCK ? -EAGAIN : restricted ? -EACCES : k;
        }
        if (k == -ENOMEM)
                goto oom;
        /* What a walk behind a directory closed to others finds (a socket, a file,
         * nothing, a loop, too deep, who listens) is root's to know: else any granted user
         * could map /root. Not for a path the host's configs name, but only as asked: no
         * symlink followed, no "..", for a user who owns a directory on such a path can
         * make it lead anywhere. */
        bool as_asked = k >= 0 && w->symlinks == 0 && streq_ptr(w->resolved, path);
        /* The caller's groups from the database: not asked before a grant where it may be
         * a server's (LDAP, sssd). A cheap diagnosis has the kept caches, whose preload_ok
         * is nss_is_local() as of the signature engine_lookups() checked on this call: no
         * read of nsswitch.conf per call. */
        if (restricted && cheap && !lk->preload_ok) {
                diagnosis_done(d);
                return -EAGAIN;
        }
        Creds caller;
        const Creds *cc = restricted && caller_creds(o->caller_uid, lk, ow, &caller) ? &caller : NULL;
        /* Closed to others (kept when the walk failed), or to the caller by its group
         * class or a named ACL entry; a walk that could not end (too deep, a sweep's
         * given up on) kept no directories to judge. */
        bool closed = w->crossed_closed ||
                      (restricted && (k < 0 || w->error == ETIMEDOUT || w->error == EBUSY || !caller_may_search_all(w, cc)));
        if (restricted && closed && cheap) {
                diagnosis_done(d);
                return -EAGAIN; /* below, a walk of config files: after a grant */
        }
        /* (Only a config only root can change vouches for a path: a user's own may name
         * anything. Asked only here, where it matters: a walk of each such file.) */
        if (restricted && closed && !(as_asked && named && host_path_named_by_root(h, path))) {
                diagnosis_done(d);
                return -EACCES;
        }
        d->restricted = restricted;
        d->as_asked = as_asked;
        /* The probe connects by path, as the workers, later: a caller who may write a
         * directory on the path could make it lead elsewhere by then, where the workers
         * may look but the caller may not (probe_errno would tell what is there). Never
         * through procfs: the probe is made by sockfixd itself, and /proc/PID/fd/N of its
         * own pid reaches any file it holds open, whatever ids it has taken. */
        d->probe_allowed = !w->slow_fs && !w->crossed_procfs && (!restricted || !caller_may_write_any(w, cc));
        /* A missing path reads the socket table for its candidates (below). */
        if (cheap && (k == -E2BIG || (k >= 0 && w->error == ENOENT))) {
                diagnosis_done(d);
                return -EAGAIN;
        }
        if (k < 0) {
                /* The bus adapter refuses bad paths; anything else still gets a verdict. */
                if (k == -ENOMEM)
                        goto oom;
                /* Too long or too deep for a walk; else what the file system said (EIO,
                 * ENOTCONN from a FUSE daemon gone), as connect() would meet it. */
                w->error = k == -EINVAL || k == -E2BIG ? ENAMETOOLONG : -k;
        }
        if (w->resolved && !(r->resolved = strdup(w->resolved)))
                goto oom;
        bool is_socket = w->have_final && S_ISSOCK(w->final.st.st_mode);
        if (w->have_final) {
                r->have_inode = true;
                r->uid = w->final.st.st_uid;
                r->gid = w->final.st.st_gid;
                r->mode = w->final.st.st_mode & 07777;
                const char *on = lookup_name(lk, ow, false, r->uid), *gn = lookup_name(lk, ow, true, r->gid);
                if (!on || !gn || !(r->owner = strdup(on)) || !(r->group = strdup(gn)))
                        goto oom;
        }

        /* A sweep refreshed the whole socket table; one socket asks the kernel for its own. */
        const UnixSocket *us = NULL;
        if (is_socket && lk->walk)
                us = host_listener_for(h, w->final.st.st_dev, w->final.st.st_ino);
        else if (is_socket && (k = host_listener_now(h, w->final.st.st_dev, w->final.st.st_ino, !cheap, &us)) < 0) {
                diagnosis_done(d);
                return k; /* -ESTALE: the model predates this socket; the caller rebuilds it */
        }
        /* Held by no app server: find out who holds it (docker, D-Bus...), once per model. */
        if (us && us->n_pids == 0) {
                if (cheap && !host_all_pids_mapped(h)) {
                        diagnosis_done(d);
                        return -EAGAIN;
                }
                if (host_map_all_pids(h) < 0)
                        goto oom;
        }
        const Process *master = d->master = us ? host_listener_master(h, us) : NULL;
        d->listener_sock_ino = us ? us->sock_ino : 0;
        const Pool *pool = d->pool = host_pool_by_path(h, path);
        if (!pool && r->resolved)
                pool = d->pool = host_pool_by_path(h, r->resolved);
        r->listening = us != NULL;
        f->listener = us != NULL;
        f->queue_full = us && us->rqueue > us->backlog;
        f->listener_mnt_ns = master ? master->mnt_ns : pool && pool->fpm->master_pid ? pool->fpm->mnt_ns : 0;
        f->fs_acl = w->have_final ? w->final.fs_acl : w->n_dirs > 0 && w->dirs[w->n_dirs - 1].fs_acl;
        if (us || pool) {
                r->listener.present = true;
                r->listener.pid = master ? master->pid : pool ? pool->fpm->master_pid : 0;
                const char *prog = master ? master->comm : pool->fpm->program;
                if (prog && !(r->listener.program = strdup(prog)))
                        goto oom;
                if (pool) {
                        const FpmKey *lkey = fpm_pool_key(pool->cfg, "listen");
                        r->listener.pool = strdup(pool->cfg->name);
                        r->listener.config = strdup(lkey ? lkey->file : pool->cfg->file);
                        if (!r->listener.pool || !r->listener.config)
                                goto oom;
                }
        }
        if (pool_facts(h, pool, lk, ow, &f->pool) < 0)
                goto oom;

        if (add_consumers(h, host_refs_by_path(h, path), o, r, lk, ow, &d->cf, &d->n_cf) < 0)
                goto oom;
        if (r->resolved && !streq_ptr(r->resolved, path) &&
            add_consumers(h, host_refs_by_path(h, r->resolved), o, r, lk, ow, &d->cf, &d->n_cf) < 0)
                goto oom;

        if (w->error == ENOENT) {
                /* Sockets start and stop listening without making the kept model stale, so
                 * its table may name one gone or miss one new: a sweep refreshed it, one
                 * socket reads the kernel's now (a missing path is rare; the list is its
                 * answer). */
                _cleanup_(unix_sockets_done) UnixSocketTable now = {};
                const UnixSocketTable *t = &h->socks;
                if (!lk->walk) {
                        k = unix_sockets_load(NULL, &now);
                        if (k == -ENOMEM)
                                goto oom;
                        if (k >= 0)
                                t = &now; /* else the model's table, the best there is */
                }
                if (find_candidates(t, path, &r->candidates) < 0)
                        goto oom;
        }

        if (findings_classify(r, f, d->cf) < 0)
                goto oom;

        /* A caller other than root gets lines only of the logs it may read itself: they
         * hold other sites' clients and requests. */
        if (o && o->evidence)
                for (size_t i = 0; r->servers && i < h->n_servers; i++) {
                        if (!strv_contains(r->servers, h->servers[i].config.server))
                                continue;
                        _cleanup_free_ char **mine = restricted ? readable_logs(h->servers[i].config.error_logs, cc)
                                                                : NULL;
                        if ((restricted && !mine) ||
                            evidence_collect(restricted ? mine : h->servers[i].config.error_logs, path,
                                             /* Lines of root's logs that name where a user's
                                              * link leads ("/" names them all): not for a
                                              * caller other than root. */
                                             restricted && !as_asked ? NULL : r->resolved, EVIDENCE_MAX_LINES,
                                             &r->evidence) < 0)
                                goto oom;
                }

        /* Beyond sockets a report is a stat() and a readlink() of any path: a caller other
         * than root learns that it is no socket, or nothing there, and no more. */
        if (restricted && (r->verdict == VERDICT_NOT_A_SOCKET || r->verdict == VERDICT_MISSING) &&
            findings_hide_inode(r) < 0)
                goto oom;

        /* Last: the one step with an effect on the system (engine_diagnose_prepare()). Not
         * for a socket on a file system that may not answer: the probe's connect() looks
         * the path up again, unbounded, in the daemon's own loop. */
        if ((flags & DIAGNOSIS_PROBE) && d->probe_allowed && (k = probe_consumers(h->proc_root, r, master)) < 0)
                goto oom;
        return 0;
oom:
        diagnosis_done(d);
        return -ENOMEM;
}

static int diagnose_one(Host *h, const char *path, const DiagnoseOptions *o, Lookup *lk, Owned *ow, Report **ret) {
        Diagnosis d = { .walk.final_fd = -1 };
        int r = diagnosis_run(h, path, o, 0, lk, ow, &d);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(d.report);
        diagnosis_done(&d);
        return 0;
}

/* The kept model if it is current, without building one: -EAGAIN otherwise. */
static int engine_current_host(Engine *e, Host **ret) {
        int r = e->host ? host_check_current(e->host) : 0;
        if (r < 0)
                return r;
        if (r == 0)
                return -EAGAIN;
        *ret = host_ref(e->host);
        return 0;
}

int engine_diagnosis(Engine *e, const char *path, const DiagnoseOptions *o, DiagnosisFlags flags, Host **ret_host,
                     Lookup *lk, Owned *ow, Diagnosis *d) {
        bool cheap = flags & DIAGNOSIS_CHEAP;
        int r = -ESTALE;
        /* A model that turns out stale for this socket is rebuilt once. */
        for (int attempt = 0; attempt < 2 && r == -ESTALE; attempt++) {
                r = cheap ? engine_current_host(e, ret_host) : engine_load_host(e, false, ret_host);
                if (r >= 0)
                        r = diagnosis_run(*ret_host, path, o, flags, lk, ow, d);
                if (r == -ESTALE || r == -EAGAIN)
                        *ret_host = host_unref(*ret_host);
                if (r == -ESTALE && cheap)
                        return -EAGAIN;
                if (r == -ESTALE)
                        engine_drop_host(e);
        }
        return r;
}

/* The name and group-list caches of single Diagnoses, kept across calls while the
 * databases are local and their files unchanged (each lookup otherwise re-reads
 * /etc/passwd or /etc/group, and nss-systemd probes userdb). */
static int engine_lookups(Engine *e, Lookup **lk, Owned **ow) {
        uint64_t sig[9];
        int r = nss_signature(sig);
        bool keep = r >= 0 && e->nss_valid && memcmp(sig, e->nss_sig, sizeof(sig)) == 0;
        if (!keep) {
                lookup_done(&e->nss, &e->nss_owned);
                e->nss = (Lookup) {};
                e->nss_owned = (Owned) {};
                r = lookup_init(&e->nss);
                if (r < 0)
                        return r;
                e->nss_valid = r >= 0 && nss_is_local();
                /* A panel that diagnoses each of thousands of sites in turn asks as many
                 * names as a sweep: the kept caches read the databases once, too. */
                e->nss.preload_ok = e->nss_valid;
                memcpy(e->nss_sig, sig, sizeof(sig));
        }
        *lk = &e->nss;
        *ow = &e->nss_owned;
        return 0;
}

struct PreparedDiagnosis {
        Host *host; /* a reference: master points into it */
        const Process *master;
        Report *report;
        bool no_probe; /* Diagnosis.probe_allowed was false */
};

PreparedDiagnosis *prepared_diagnosis_free(PreparedDiagnosis *p) {
        if (!p)
                return NULL;
        report_free(p->report);
        host_unref(p->host);
        free(p);
        return NULL;
}

/* The consumer option of Diagnose and the sweeps names a user: one that does not exist is
 * a typo, not a filter that matches nothing (-ESRCH). A worker's uid without a name is
 * shown as its number, so a number is taken as it is. (Fix answers NoConsumer instead,
 * as for any user no discovered web server runs as.) */
static int check_consumer(const DiagnoseOptions *o) {
        if (!o || !o->consumer || (*o->consumer && strspn(o->consumer, "0123456789") == strlen(o->consumer)))
                return 0;
        if (strlen(o->consumer) > LOGIN_NAME_MAX)
                return -ESRCH;
        /* Asked directly, not through the kept name caches: a caller looping over names
         * no user has must not grow them. A database that cannot answer lets it pass. */
        int k = nss_user_by_name(o->consumer, NULL, NULL);
        return k == -ESRCH || k == -ENOMEM ? k : 0;
}

int engine_diagnose_prepare(Engine *e, const char *socket, const DiagnoseOptions *o, bool cheap,
                            PreparedDiagnosis **ret) {
        _cleanup_(host_unrefp) Host *h = NULL;
        Lookup *lk;
        Owned *ow;
        Diagnosis d = { .walk.final_fd = -1 };
        /* The user database may be a server's (LDAP): not asked before a grant. */
        if (cheap && o && o->consumer)
                return -EAGAIN;
        int r = check_consumer(o);
        if (r >= 0)
                r = engine_lookups(e, &lk, &ow);
        if (r >= 0)
                r = engine_diagnosis(e, socket, o, cheap ? DIAGNOSIS_CHEAP : 0, &h, lk, ow, &d);
        if (r < 0)
                return r;
        PreparedDiagnosis *p = malloc(sizeof(*p));
        if (p)
                *p = (PreparedDiagnosis) { .host = TAKE_PTR(h), .master = d.master, .report = TAKE_PTR(d.report),
                                           .no_probe = !d.probe_allowed };
        /* The walk's fds are closed now: a prepared diagnosis may wait for polkit. */
        diagnosis_done(&d);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

unsigned engine_stuck_lookups(void) {
        return timed_call_stuck();
}

int engine_diagnose_finish(PreparedDiagnosis *p, Report **ret) {
        int r = p->no_probe ? 0 : probe_consumers(p->host->proc_root, p->report, p->master);
        if (r >= 0)
                *ret = TAKE_PTR(p->report);
        prepared_diagnosis_free(p);
        return r;
}

static int add_path(Hashmap *seen, const char ***paths, size_t *n, const char *p) {
        if (hashmap_get_str(seen, p))
                return 0;
        const char **slot = ARRAY_PUSH(*paths, *n);
        if (!slot)
                return -ENOMEM;
        *slot = p;
        return hashmap_put_str(seen, p, (void *) 1);
}

/* Every path the sweep answers for: pools' declared paths, app servers' listening
 * sockets, web servers' references; each once, in that order. Borrowed from h. */
static int sweep_paths(const Host *h, const char ***ret, size_t *n) {
        _cleanup_(hashmap_freep) Hashmap *seen = hashmap_new_str();
        int r = seen ? 0 : -ENOMEM;
        *ret = NULL;
        *n = 0;
        for (size_t i = 0; r >= 0 && i < h->n_pools; i++)
                r = add_path(seen, ret, n, h->pools[i].listen);
        for (size_t i = 0; r >= 0 && i < h->n_listener_paths; i++)
                r = add_path(seen, ret, n, h->listener_paths[i]);
        for (size_t i = 0; r >= 0 && i < h->n_ref_paths; i++)
                r = add_path(seen, ret, n, h->ref_paths[i]);
        return r;
}

int engine_diagnose_each(Engine *e, const DiagnoseOptions *o, int (*cb)(const Report *r, void *userdata),
                         void *userdata) {
        Host *h = NULL;
        Lookup lk = {};
        Owned ow = {};
        _cleanup_free_ const char **paths = NULL;
        size_t n_paths = 0;
        int r = engine_load_host(e, true, &h);
        if (r >= 0)
                r = lookup_init_sweep(&lk);
        if (r >= 0)
                r = check_consumer(o);
        /* Where a file system that may hang is mounted, the cache stops at it: such a
         * path is walked on its own, bounded in time (diagnosis_run()). */
        if (r >= 0 && !(lk.walk = walk_cache_new(mounts_may_hang() ? slow_mount_stop : NULL, NULL)))
                r = -ENOMEM;
        if (r >= 0)
                r = sweep_paths(h, &paths, &n_paths);
        for (size_t i = 0; r >= 0 && i < n_paths; i++) {
                Report *rep = NULL;
                r = diagnose_one(h, paths[i], o, &lk, &ow, &rep);
                if (r == -EACCES) {
                        /* A path a caller other than root may not be told of (behind a
                         * directory closed to it, given up on: diagnosis_run()): left out. */
                        r = 0;
                        continue;
                }
                if (r >= 0)
                        r = cb(rep, userdata);
                report_free(rep);
        }
        walk_cache_free(lk.walk);
        lookup_done(&lk, &ow);
        host_unref(h);
        return r < 0 ? r : 0;
}

/* Anyone may read a property (polkit is not asked), so the answer comes from the model
 * the last call kept, current or not, and is worked out once per model: a reader can
 * make sockfixd build one only when it has none (at start). */
static char **strategies_of(const Host *h) {
        char **l = NULL;
        bool acl = false;
        for (size_t i = 0; i < h->n_pools && !acl; i++) {
                if (!h->pools[i].fpm->acl_supported)
                        continue;
                /* The file system that will hold the socket: its directory, as it exists now. */
                _cleanup_free_ char *dir = strndup(h->pools[i].listen, dir_len(h->pools[i].listen));
                /* Not on a file system that may hang: a reader must not make a thread wait. */
                PathWalk w = { .final_fd = -1 };
                if (dir && path_walk_timed(*dir ? dir : "/", WALK_MAX_STEPS, 0, &w) >= 0 && w.final_fd >= 0)
                        acl = fs_supports_acl(w.final_fd);
                path_walk_done(&w);
        }
        bool ok = strv_extend(&l, "auto") >= 0 && (!acl || strv_extend(&l, "pool-acl") >= 0) &&
                  (h->n_pools == 0 || strv_extend(&l, "pool-group") >= 0) && strv_extend(&l, "member") >= 0 &&
                  strv_extend(&l, "dir-search") >= 0 && strv_extend(&l, "refresh") >= 0;
        return ok ? l : strv_free(l);
}

char *const *engine_strategies(Engine *e) {
        Host *h = NULL;
        if (e->host)
                h = host_ref(e->host);
        else if (engine_load_host(e, false, &h) < 0)
                return NULL;
        if (!e->strategies || e->strategies_generation != e->host_generation) {
                char **l = strategies_of(h);
                if (l) {
                        strv_free(e->strategies);
                        e->strategies = l;
                        e->strategies_generation = e->host_generation;
                }
        }
        host_unref(h);
        return e->strategies;
}
