/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "apply.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "sys/groups.h"
#include "sys/inode-change.h"
#include "sys/pool-edit.h"
#include "sys/slow-fs.h"
#include "util/util.h"

static _printf_(2, 3) int fail(char **msg, const char *fmt, ...) {
        va_list ap;
        free(*msg);
        va_start(ap, fmt);
        if (vasprintf(msg, fmt, ap) < 0)
                *msg = NULL;
        va_end(ap);
        return -EIO;
}

int change_push(Change **l, size_t *n, const char *kind, const char *target, const char *before, const char *after) {
        Change *c = ARRAY_PUSH(*l, *n);
        if (!c || !(c->kind = strdup(kind)) || !(c->target = strdup(strempty(target))) ||
            !(c->before = strdup(strempty(before))) || !(c->after = strdup(strempty(after))))
                return -ENOMEM;
        return 0;
}

/* The master's -g directives. Its title was split into words, so "daemon off;" comes
 * back as two: join them up to the word that ends the last directive. */
static char *nginx_globals(const WebServer *s) {
        for (char **w = s->master_argv; w && *w; w++) {
                if (!streq_ptr(*w, "-g") || !w[1])
                        continue;
                _cleanup_strv_free_ char **parts = NULL;
                for (char **p = w + 1; *p; p++) {
                        if (strv_extend(&parts, *p) < 0)
                                return NULL;
                        if ((*p)[strlen(*p) - 1] == ';')
                                break;
                }
                return strv_join(parts, " ");
        }
        return NULL;
}

/* Starts the configuration test before a reload of s: nginx -t of its own binary,
 * configuration, prefix and -g directives; apache2 -t with its master's own options and
 * environment. Returns what config_test_nginx_start() does; 0 with *job NULL for a
 * server with no test. */
static int test_server_start(const WebServer *s, CommandJob **job) {
        *job = NULL;
        if (streq_ptr(s->config.server, "nginx")) {
                _cleanup_free_ char *globals = nginx_globals(s);
                return config_test_nginx_start(s->exe, s->config.main_file, s->config.prefix, globals, job);
        }
        if (streq_ptr(s->config.server, "apache2"))
                return config_test_apache_start(s->exe, s->master_argv, s->master_env, job);
        return 0;
}

static bool plan_edits_pool(const Plan *p) {
        for (size_t i = 0; i < p->n_steps; i++)
                if (p->steps[i].kind == STEP_POOL_EDIT)
                        return true;
        return false;
}

/* One configuration test running for a fix: what it tests, for the message. */
typedef struct ConfigTest {
        CommandJob *job;
        char *what;        /* "nginx -t (/etc/nginx/nginx.conf)" */
        bool missing_ok;   /* a binary gone since passes: nginx keeps its old workers on a bad reload */
} ConfigTest;

struct ConfigTests {
        ConfigTest *t;
        size_t n;
        bool after_edit; /* php-fpm -t of the pool file just written: its failure rolls back */
};

ConfigTests *config_tests_free(ConfigTests *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n; i++) {
                command_job_free(t->t[i].job);
                free(t->t[i].what);
        }
        free(t->t);
        free(t);
        return NULL;
}

/* started: what config_test_*_start() answered. A binary not found counts as passed
 * where missing_ok; else the start's failure is the test's. */
static int test_add(ConfigTests *t, int started, CommandJob *job, bool missing_ok, char **msg, const char *fmt, ...)
        _printf_(6, 7);
static int test_add(ConfigTests *t, int started, CommandJob *job, bool missing_ok, char **msg, const char *fmt, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&what, fmt, ap);
        va_end(ap);
        if (k < 0) {
                command_job_free(job);
                return -ENOMEM;
        }
        if (started == -ENOENT && missing_ok)
                return 0;
        if (started < 0)
                return fail(msg, t->after_edit ? "the edited pool file could not be tested: %s could not run: %s"
                                               : "%s could not run before any change: %s",
                            what, strerror(-started)),
                       -EBADMSG;
        ConfigTest *c = ARRAY_PUSH(t->t, t->n);
        if (!c) {
                command_job_free(job);
                return -ENOMEM;
        }
        *c = (ConfigTest) { .job = job, .what = TAKE_PTR(what), .missing_ok = missing_ok };
        return 0;
}

/* php-fpm -t of the pool's installation. No binary known (stopped, non-standard
 * layout), or gone since: nothing to test with. */
static int test_fpm_add(ConfigTests *t, const Diagnosis *d, char **msg) {
        const FpmInstance *f = d->pool ? d->pool->fpm : NULL;
        CommandJob *job = NULL;
        if (!f || !f->exe)
                return 0;
        int k = config_test_fpm_start(f->exe, f->config.main_file, &job);
        return test_add(t, k, job, true, msg, "php-fpm -t -y %s", strempty(f->config.main_file));
}

int apply_config_tests_start(const Diagnosis *d, const Plan *p, bool reloads, ConfigTests **ret, char **msg) {
        _cleanup_(config_tests_freep) ConfigTests *t = calloc(1, sizeof(ConfigTests));
        if (!t)
                return -ENOMEM;
        int r = 0;
        for (size_t i = 0; reloads && r >= 0 && i < p->n_reloads; i++) {
                const WebServer *s = p->reloads[i].server;
                CommandJob *job = NULL;
                if (!s->exe)
                        continue; /* its reload is refused then (WebServer.reload_refusal) */
                int k = test_server_start(s, &job);
                /* Apache's graceful restart would exit on a broken configuration: never
                 * sent untested, a binary gone since included. */
                bool nginx = streq_ptr(s->config.server, "nginx");
                if (k < 0 || job)
                        r = test_add(t, k, job, nginx, msg, "%s -t (%s)", s->config.server, strempty(s->config.main_file));
        }
        if (r >= 0 && plan_edits_pool(p))
                r = test_fpm_add(t, d, msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

int apply_config_tests_poll(ConfigTests *t, char **msg) {
        bool running = false;
        for (size_t i = 0; i < t->n; i++) {
                ConfigTest *c = &t->t[i];
                if (!c->job)
                        continue;
                _cleanup_free_ char *out = NULL;
                int r = config_test_poll(c->job, &out);
                if (r == -EAGAIN) {
                        running = true;
                        continue;
                }
                c->job = command_job_free(c->job);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && !(r == -ENOENT && c->missing_ok))
                        return fail(msg, t->after_edit ? "the edited pool file is rejected: %s failed: %s"
                                                       : "%s failed before any change: %s",
                                    c->what, out ? strstrip(out) : strerror(-r)),
                               -EBADMSG;
        }
        return running ? -EAGAIN : 0;
}

/* --- pool file --- */

static int apply_pool_file(const Plan *p, const char *file, JournalTx *tx, char **msg) {
        _cleanup_free_ char *text = NULL, *written = NULL;
        _cleanup_free_ PoolEdit *edits = NULL;
        _cleanup_free_ size_t *idx = NULL;
        size_t n = 0;
        int r;
        for (size_t i = 0; i < p->n_steps; i++)
                if (p->steps[i].kind == STEP_POOL_EDIT && streq_ptr(p->steps[i].file, file))
                        n++;
        edits = calloc(n, sizeof(PoolEdit));
        idx = calloc(n, sizeof(size_t));
        if (!edits || !idx)
                return -ENOMEM;
        n = 0;
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = &p->steps[i];
                if (s->kind == STEP_POOL_EDIT && streq_ptr(s->file, file))
                        edits[n++] = (PoolEdit) { .section = s->section, .key = s->key, .value = s->value };
        }
        if ((r = read_full_file(file, &text, NULL)) < 0)
                return fail(msg, "cannot read pool file %s: %s", file, strerror(-r));
        if ((r = pool_text_edit(text, edits, n, &written)) < 0)
                return fail(msg, "cannot edit pool file %s: %s", file, strerror(-r));
        /* Write-ahead: every key is journaled with both whole texts before the rename. */
        size_t k = 0;
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = &p->steps[i];
                if (s->kind != STEP_POOL_EDIT || !streq_ptr(s->file, file))
                        continue;
                json_object *undo = journal_undo_pool(file, s->section, s->key,
                                                      streq_ptr(s->before, "(unset)") ? NULL : s->before, s->value,
                                                      k == 0 ? text : NULL, k == 0 ? written : NULL);
                if (!undo)
                        return -ENOMEM;
                if ((r = journal_add_change(tx, "pool-config", s->target, s->before, s->after, undo, &idx[k])) < 0)
                        return fail(msg, "cannot journal the change of %s: %s", s->target, strerror(-r));
                k++;
        }
        _cleanup_(pool_file_edit_done) PoolFileEdit fe = {};
        if ((r = pool_file_edit(file, edits, n, &fe)) < 0)
                return fail(msg, "cannot write pool file %s: %s", file, strerror(-r));
        for (size_t i = 0; i < k; i++)
                (void) journal_mark(tx, idx[i], JOURNAL_CHANGE_DONE);
        return 0;
}

/* --- inodes --- */

static int journal_inode(JournalTx *tx, int fd, InodeKind kind, const char *jkind, const Step *s, size_t *idx,
                         char **msg) {
        _cleanup_(inode_state_done) InodeState st = {};
        struct stat sb;
        int r = inode_check(fd, kind, &sb);
        if (r >= 0)
                r = inode_state_read(fd, kind, &st);
        if (r < 0)
                return fail(msg, "%s changed under us or cannot be read: %s", s->target, strerror(-r));
        json_object *undo = journal_undo_inode(sb.st_dev, sb.st_ino, st.uid, st.gid, st.mode, st.acl);
        if (!undo)
                return -ENOMEM;
        r = journal_add_change(tx, jkind, s->target, s->before, s->after, undo, idx);
        return r < 0 ? fail(msg, "cannot journal the change of %s: %s", s->target, strerror(-r)) : 0;
}

void held_inodes_done(HeldInodes *h) {
        for (size_t i = 0; i < h->n; i++)
                close(h->items[i].fd);
        free(h->items);
        *h = (HeldInodes) {};
}

static int hold_inode(HeldInodes *h, int fd) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        for (size_t i = 0; i < h->n; i++)
                if (h->items[i].dev == st.st_dev && h->items[i].ino == st.st_ino)
                        return 0;
        int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return -errno;
        HeldInode *i = ARRAY_PUSH(h->items, h->n);
        if (!i) {
                close(copy);
                return -ENOMEM;
        }
        *i = (HeldInode) { .dev = st.st_dev, .ino = st.st_ino, .fd = copy };
        return 0;
}

static int journal_undo_set(JournalTx *tx, size_t idx, const char *key, int64_t value) {
        JournalChangeStatus status;
        json_object *undo, *v;
        if (journal_tx_change(tx, idx, &status, &undo) < 0 || !(v = json_object_new_int64(value)))
                return -ENOMEM;
        if (json_object_object_add(undo, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* The perms of the named user entry for id in an ACL's short text ("u:33:rw-"), or -1. */
static int acl_text_user_perm(const char *text, unsigned id) {
        char key[32];
        int n = snprintf(key, sizeof(key), "u:%u:", id);
        for (const char *p = text; p && (p = strstr(p, key)); p += n)
                if (p == text || p[-1] == ',')
                        return (p[n] == 'r' ? 4 : 0) | (p[n + 1] == 'w' ? 2 : 0) | (p[n + 2] == 'x' ? 1 : 0);
        return -1;
}

/* What undo needs to reverse exactly this change and nothing else: the entry granted
 * and whether it existed, the group or mode set; for a socket also the listener bound
 * to it, which tells it apart from one php-fpm re-created at the same path (ext4 hands
 * out a freed inode number again at once). */
static int journal_delta(JournalTx *tx, size_t idx, const Step *s, int fd, uint32_t listener) {
        _cleanup_(inode_state_done) InodeState before = {};
        int r = inode_state_read(fd, s->kind == STEP_DIR_ACL ? INODE_DIRECTORY : INODE_SOCKET, &before);
        if (r < 0)
                return r;
        if (listener && (r = journal_undo_set(tx, idx, "listener_sock_ino", listener)) < 0)
                return r;
        switch (s->kind) {
        case STEP_SOCKET_ACL:
        case STEP_DIR_ACL:
                if ((r = journal_undo_set(tx, idx, "acl_id", s->id)) < 0 ||
                    (r = journal_undo_set(tx, idx, "acl_perm_granted", s->kind == STEP_DIR_ACL ? 1 : 6)) < 0)
                        return r;
                return journal_undo_set(tx, idx, "acl_perm_before", acl_text_user_perm(before.acl, s->id));
        case STEP_SOCKET_GROUP:
                return journal_undo_set(tx, idx, "gid_after", s->id);
        case STEP_SOCKET_MODE:
                return journal_undo_set(tx, idx, "mode_after", s->mode);
        default:
                return 0;
        }
}

static int apply_socket_step(const Diagnosis *d, const Step *s, JournalTx *tx, HeldInodes *held, char **msg) {
        int fd = d->walk.final_fd;
        size_t idx;
        int r;
        static const char *const kinds[] = {
                [STEP_SOCKET_ACL] = "socket-acl", [STEP_SOCKET_GROUP] = "socket-group", [STEP_SOCKET_MODE] = "socket-mode",
        };
        /* The fd is the inode that was diagnosed; a path swapped since cannot redirect us. */
        if ((r = inode_matches(fd, d->walk.final.st.st_dev, d->walk.final.st.st_ino)) < 0)
                return fail(msg, "%s is no longer the socket that was diagnosed", s->target);
        if ((r = hold_inode(held, fd)) < 0 || (r = journal_inode(tx, fd, INODE_SOCKET, kinds[s->kind], s, &idx, msg)) < 0)
                return r;
        if ((r = journal_delta(tx, idx, s, fd, d->listener_sock_ino)) < 0)
                return r;
        switch (s->kind) {
        case STEP_SOCKET_ACL:
                r = inode_acl_grant(fd, INODE_SOCKET, INODE_ACL_USER, s->id, 6);
                break;
        case STEP_SOCKET_GROUP:
                r = inode_chown(fd, INODE_SOCKET, (uid_t) -1, (gid_t) s->id);
                break;
        default:
                r = inode_chmod(fd, INODE_SOCKET, s->mode);
                break;
        }
        if (r < 0)
                return fail(msg, "cannot change %s: %s", s->target, strerror(-r));
        return journal_mark(tx, idx, JOURNAL_CHANGE_DONE) < 0 ? fail(msg, "cannot journal %s", s->target) : 0;
}

static int apply_dir_step(const Diagnosis *d, const Step *s, JournalTx *tx, HeldInodes *held, char **msg) {
        const InodeInfo *want = &d->walk.dirs[s->dir_index];
        PathWalk w = { .final_fd = -1 };
        size_t idx;
        int r = path_walk_timed(want->path, UINT_MAX, ENGINE_LOOKUP_TIMEOUT_MS, &w);
        if (r == -ETIMEDOUT || r == -EBUSY) {
                path_walk_done(&w);
                return fail(msg, "%s: a file system on its path stopped answering", want->path);
        }
        if (r >= 0 && (w.final_fd < 0 || inode_matches(w.final_fd, want->st.st_dev, want->st.st_ino) < 0))
                r = -ESTALE;
        if (r >= 0 && (r = hold_inode(held, w.final_fd)) >= 0)
                r = journal_inode(tx, w.final_fd, INODE_DIRECTORY, "dir-acl", s, &idx, msg);
        if (r >= 0)
                r = journal_delta(tx, idx, s, w.final_fd, 0);
        else if (r < 0)
                fail(msg, "%s is no longer the directory that was diagnosed", want->path);
        if (r >= 0 && (r = inode_acl_grant(w.final_fd, INODE_DIRECTORY, INODE_ACL_USER, s->id, 1)) < 0)
                fail(msg, "cannot give search on %s: %s", want->path, strerror(-r));
        if (r >= 0 && journal_mark(tx, idx, JOURNAL_CHANGE_DONE) < 0)
                r = fail(msg, "cannot journal %s", want->path);
        path_walk_done(&w);
        return r;
}

static int apply_member_step(const Step *s, JournalTx *tx, char **msg) {
        size_t idx;
        json_object *undo = journal_undo_member(s->user, s->group, false);
        if (!undo)
                return -ENOMEM;
        int r = journal_add_change(tx, "group-member", s->target, s->before, s->after, undo, &idx);
        if (r < 0)
                return fail(msg, "cannot journal the membership of %s: %s", s->user, strerror(-r));
        _cleanup_free_ char *out = NULL;
        if ((r = group_add_member(s->user, s->group, &out)) < 0)
                return fail(msg, "gpasswd -a %s %s failed: %s", s->user, s->group, out ? strstrip(out) : strerror(-r));
        return journal_mark(tx, idx, JOURNAL_CHANGE_DONE) < 0 ? fail(msg, "cannot journal %s", s->user) : 0;
}

int apply_pool_files(const Diagnosis *d, const Plan *p, JournalTx *tx, ConfigTests **test, char **msg) {
        _cleanup_strv_free_ char **files = NULL;
        int r;

        *test = NULL;
        for (size_t i = 0; i < p->n_steps; i++)
                if (p->steps[i].kind == STEP_POOL_EDIT && strv_extend_unique(&files, p->steps[i].file) < 0)
                        return -ENOMEM;
        if (!files)
                return 0;
        for (char **f = files; *f; f++)
                if ((r = apply_pool_file(p, *f, tx, msg)) < 0)
                        return r;
        _cleanup_(config_tests_freep) ConfigTests *t = calloc(1, sizeof(ConfigTests));
        if (!t)
                return -ENOMEM;
        t->after_edit = true;
        if ((r = test_fpm_add(t, d, msg)) < 0)
                return r;
        if (t->n > 0)
                *test = TAKE_PTR(t);
        return 0;
}

int apply_live_changes(const Diagnosis *d, const Plan *p, JournalTx *tx, HeldInodes *held, char **msg) {
        int r;
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = &p->steps[i];
                r = 0;
                if (s->kind == STEP_SOCKET_ACL || s->kind == STEP_SOCKET_GROUP || s->kind == STEP_SOCKET_MODE)
                        r = apply_socket_step(d, s, tx, held, msg);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < p->n_steps; i++) {
                const Step *s = &p->steps[i];
                r = s->kind == STEP_DIR_ACL ? apply_dir_step(d, s, tx, held, msg) :
                    s->kind == STEP_MEMBER  ? apply_member_step(s, tx, msg) : 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- reloads --- */

void reload_waits_free(ReloadWait *w, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(w[i].old);
        free(w);
}

int apply_reloads(const Plan *p, Activation **acts, size_t *n_acts, ReloadWait **waits, size_t *n_waits, char **msg) {
        for (size_t i = 0; i < p->n_reloads; i++) {
                const WebServer *s = p->reloads[i].server;
                ReloadPlan rp = {};
                _cleanup_free_ char *what = NULL, *target = NULL;
                int r = reload_plan(s->config.server, s->master_pid, &rp);
                if (r < 0)
                        return fail(msg, "%s (master %d) cannot be reloaded: %s", s->config.server, (int) s->master_pid,
                                    strerror(-r));
                ReloadWait *w = ARRAY_PUSH(*waits, *n_waits);
                if (!w) {
                        reload_plan_done(&rp);
                        return -ENOMEM;
                }
                w->master = s->master_pid;
                w->required_gid = p->reloads[i].required_gid;
                /* Snapshot first: the old workers are the ones that must be gone. */
                r = workers_list(s->master_pid, &w->old, &w->n_old);
                if (r >= 0)
                        r = reload_plan_describe(&rp, s->master_pid, &what);
                if (r >= 0)
                        r = reload_execute(&rp, s->master_pid, s->master_start);
                reload_plan_done(&rp);
                if (r < 0)
                        return fail(msg, "reloading %s (master %d) failed: %s", s->config.server, (int) s->master_pid,
                                    strerror(-r));
                if (asprintf(&target, "%s (master %d)", s->config.server, (int) s->master_pid) < 0 ||
                    !ARRAY_PUSH(*acts, *n_acts))
                        return -ENOMEM;
                (*acts)[*n_acts - 1] = (Activation) { .target = TAKE_PTR(target), .action = TAKE_PTR(what) };
        }
        return 0;
}

/* --- undo --- */

static int64_t json_int(json_object *o, const char *key, int64_t dflt) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : dflt;
}

/* Whether the socket file is still bound to the listener the fix saw. */
static int same_listener(int fd, uint32_t sock_ino) {
        struct stat st;
        _cleanup_(unix_sockets_done) UnixSocketTable t = {};
        if (fstat(fd, &st) < 0)
                return -errno;
        int r = unix_sockets_load(NULL, &t);
        if (r < 0)
                return r;
        const UnixSocket *s = unix_sockets_by_file(&t, st.st_dev, st.st_ino);
        return s && s->sock_ino == sock_ino;
}

/* Reverses exactly this change where the inode still shows it: the entry it granted
 * goes (or gets its old perms back), the group or mode it set goes back. A later change
 * by someone else, or by another transaction, is left as it is (returns 1 with *note). */
static int undo_delta(int fd, InodeKind kind, json_object *undo, const JournalChange *c, char **note) {
        json_object *v;
        if (json_object_object_get_ex(undo, "acl_id", &v)) {
                unsigned id = (unsigned) json_object_get_int64(v);
                int before = (int) json_int(undo, "acl_perm_before", -1);
                int granted = (int) json_int(undo, "acl_perm_granted", 0);
                /* The entry held all of it already: this change did nothing to undo (another
                 * transaction, or the admin, granted it, and still owns it). */
                if (before >= 0 && (before & granted) == granted)
                        return 0;
                int r = inode_acl_revoke(fd, kind, INODE_ACL_USER, id);
                if (r >= 0 && before > 0)
                        r = inode_acl_grant(fd, kind, INODE_ACL_USER, id, (unsigned) before);
                return r;
        }
        _cleanup_(inode_state_done) InodeState now = {};
        int r = inode_state_read(fd, kind, &now);
        if (r < 0)
                return r;
        if (json_object_object_get_ex(undo, "gid_after", &v)) {
                if (now.gid != (gid_t) json_object_get_int64(v))
                        return asprintf(note, "%s: its group was changed since; left as it is", c->target) < 0 ? -ENOMEM
                                                                                                             : 1;
                return inode_chown(fd, kind, (uid_t) -1, (gid_t) json_int(undo, "gid", 0));
        }
        if (json_object_object_get_ex(undo, "mode_after", &v)) {
                if (now.mode != (mode_t) json_object_get_int64(v))
                        return asprintf(note, "%s: its mode was changed since; left as it is", c->target) < 0 ? -ENOMEM
                                                                                                            : 1;
                /* Through the state, not inode_chmod(): putting back what the admin had,
                 * other-write included, is the one place a mode may widen. */
                now.mode = (mode_t) json_int(undo, "mode", 0);
                return inode_state_restore(fd, kind, &now);
        }
        return -EBADMSG; /* a record from before deltas were journaled: nothing safe to do */
}

static int undo_inode(json_object *undo, const JournalChange *c, InodeKind kind, const HeldInodes *held,
                      char **note) {
        uint64_t dev = (uint64_t) json_int(undo, "dev", 0), ino = (uint64_t) json_int(undo, "ino", 0);
        json_object *v;

        /* A rollback holds the very inode: no path is trusted. */
        for (size_t i = 0; held && i < held->n; i++)
                if (held->items[i].dev == (dev_t) dev && held->items[i].ino == (ino_t) ino)
                        return undo_delta(held->items[i].fd, kind, undo, c, note);

        /* Bounded like a Diagnose's lookup: a file system that stopped answering leaves
         * this change to a later Revert (the record stays incomplete). */
        PathWalk w = { .final_fd = -1 };
        int r = path_walk_timed(c->target, UINT_MAX, ENGINE_LOOKUP_TIMEOUT_MS, &w);
        /* Through a symlink, how the walk failed (too deep, a mount that does not
         * answer) would tell its caller what lies where its link leads (/root): as for
         * any symlink, not ours to judge now. */
        if (r < 0 && r != -ENOMEM && w.symlinks > 0)
                r = -ESTALE;
        if (r < 0)
                return r;
        mode_t want = kind == INODE_SOCKET ? S_IFSOCK : S_IFDIR;
        /* A symlink first: "gone" of where it leads would tell its caller what exists
         * there (a link of its own into /root). */
        if (!w.have_final && w.error == ENOENT && w.symlinks == 0) {
                path_walk_done(&w);
                return asprintf(note, "%s is gone; nothing to restore", c->target) < 0 ? -ENOMEM : 1;
        }
        if (!w.have_final || (w.final.st.st_mode & S_IFMT) != want || w.symlinks > 0) {
                /* Another kind of file, or a symlink, where ours was: perhaps swapped for a
                 * moment. Not ours to judge now; the record stays incomplete. */
                path_walk_done(&w);
                return -ESTALE;
        }
        int ours = inode_matches(w.final_fd, (dev_t) dev, (ino_t) ino) >= 0;
        if (ours && kind == INODE_SOCKET && json_object_object_get_ex(undo, "listener_sock_ino", &v))
                ours = same_listener(w.final_fd, (uint32_t) json_object_get_int64(v));
        if (ours < 0) {
                path_walk_done(&w);
                return ours;
        }
        if (!ours) {
                /* Re-created by php-fpm since: the pool file (restored below) decides its
                 * access from the next start on. */
                path_walk_done(&w);
                return asprintf(note, "%s was re-created since; left as it is", c->target) < 0 ? -ENOMEM : 1;
        }
        r = undo_delta(w.final_fd, kind, undo, c, note);
        path_walk_done(&w);
        return r;
}

typedef struct PoolUndo {
        const char *file;
        PoolKeyChange *keys;
        size_t n;
        const char *original;
        const char *written;
} PoolUndo;

static int collect_pool_undo(JournalTx *tx, const JournalEntry *e, PoolUndo **ret, size_t *n) {
        for (size_t i = 0; i < e->n_changes; i++) {
                JournalChangeStatus st;
                json_object *undo, *v;
                if (!streq_ptr(e->changes[i].kind, "pool-config") || journal_tx_change(tx, i, &st, &undo) < 0 ||
                    st == JOURNAL_CHANGE_UNDONE)
                        continue;
                const char *file = json_object_object_get_ex(undo, "file", &v) ? json_object_get_string(v) : NULL;
                if (!file)
                        continue;
                PoolUndo *u = NULL;
                for (size_t j = 0; j < *n && !u; j++)
                        if (streq_ptr((*ret)[j].file, file))
                                u = &(*ret)[j];
                if (!u && !(u = ARRAY_PUSH(*ret, *n)))
                        return -ENOMEM;
                u->file = file;
                if (json_object_object_get_ex(undo, "original", &v))
                        u->original = json_object_get_string(v);
                if (json_object_object_get_ex(undo, "written", &v))
                        u->written = json_object_get_string(v);
                PoolKeyChange *k = ARRAY_PUSH(u->keys, u->n);
                if (!k)
                        return -ENOMEM;
                k->section = json_object_object_get_ex(undo, "section", &v) ? (char *) json_object_get_string(v) : NULL;
                k->key = json_object_object_get_ex(undo, "key", &v) ? (char *) json_object_get_string(v) : NULL;
                k->before = json_object_object_get_ex(undo, "before", &v) ? (char *) json_object_get_string(v) : NULL;
                k->after = json_object_object_get_ex(undo, "after", &v) ? (char *) json_object_get_string(v) : NULL;
        }
        return 0;
}

static void pool_undo_free(PoolUndo *u, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(u[i].keys); /* strings are borrowed from the journal */
        free(u);
}

/* A key we wrote that holds a third value now: someone edited it since. */
static int pool_conflicts(const PoolUndo *u, size_t n, char **msg) {
        _cleanup_free_ char *list = NULL;
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < u[i].n; j++) {
                        const PoolKeyChange *k = &u[i].keys[j];
                        _cleanup_free_ char *cur = NULL;
                        int r = pool_file_get(u[i].file, k->section, k->key, &cur);
                        if (r < 0 && r != -ENOENT)
                                return fail(msg, "cannot read %s: %s", u[i].file, strerror(-r));
                        if (streq_ptr(cur, k->after) || streq_ptr(cur, k->before))
                                continue;
                        char *l;
                        if (asprintf(&l, "%s%s%s [%s] %s", strempty(list), list ? ", " : "", u[i].file, k->section,
                                     k->key) < 0)
                                return -ENOMEM;
                        free(list);
                        list = l;
                }
        if (list)
                return fail(msg, "changed since the fix: %s", list), -EBUSY;
        return 0;
}

static int undo_pool(const PoolUndo *u, Change **changes, size_t *n, char **msg) {
        /* Byte for byte when nobody touched the file since; else only our keys. */
        int r = -EBUSY;
        if (u->original && u->written)
                r = pool_file_restore_content(u->file, u->written, u->original);
        if (r == -EBUSY) {
                _cleanup_free_ char *conflict = NULL;
                r = pool_file_restore_keys(u->file, u->keys, u->n, &conflict);
                if (r == -EBUSY)
                        return fail(msg, "changed since the fix: %s", strempty(conflict)), -EBUSY;
        }
        if (r < 0)
                return fail(msg, "cannot restore %s: %s", u->file, strerror(-r));
        for (size_t i = 0; i < u->n; i++) {
                _cleanup_free_ char *t = NULL;
                if (asprintf(&t, "%s [%s] %s", u->file, u->keys[i].section, u->keys[i].key) < 0 ||
                    change_push(changes, n, "pool-config", t, u->keys[i].after ? u->keys[i].after : "(unset)",
                                u->keys[i].before ? u->keys[i].before : "(unset)") < 0)
                        return -ENOMEM;
        }
        return 0;
}

/* --- reloads after an undo --- */

/* One server to reload once its configuration test passed. */
typedef struct UndoReload {
        const WebServer *server; /* the UndoReloads' host's */
        CommandJob *test;        /* NULL once answered */
} UndoReload;

struct UndoReloads {
        Host *host;
        UndoReload *items;
        size_t n;
};

UndoReloads *undo_reloads_free(UndoReloads *u) {
        if (!u)
                return NULL;
        for (size_t i = 0; i < u->n; i++)
                command_job_free(u->items[i].test); /* a test still running is killed and reaped */
        free(u->items);
        host_unref(u->host);
        free(u);
        return NULL;
}

static int note_not_reloaded(const WebServer *s, const char *why, char ***left_alone) {
        char *note;
        if (asprintf(&note, "%s (master %d) was not reloaded (%s): its workers keep the group until it is",
                     s->config.server, (int) s->master_pid, why) < 0)
                return -ENOMEM;
        return strv_consume(left_alone, note);
}

/* The reload itself, once the test passed (or nginx's binary is gone: nginx keeps its
 * workers on a reload that fails). The master must still be the one diagnosed. */
static int reload_now(const WebServer *s, char ***left_alone) {
        ReloadPlan rp = {};
        int r = reload_plan(s->config.server, s->master_pid, &rp);
        const char *why = reload_refusal(s->config.server, r, &rp);
        if (!why && reload_execute(&rp, s->master_pid, s->master_start) < 0)
                why = "the reload failed";
        reload_plan_done(&rp);
        return why ? note_not_reloaded(s, why, left_alone) : 0;
}

/* Why a reload of s, to drop a group taken back, is not made: as for a fix, only one
 * that cannot stop the server (its configuration test first, run only from a binary and
 * configuration that are root's alone). NULL: its test is started into *test (NULL when
 * there is nothing to run: reload at once). */
static const char *undo_reload_start(const WebServer *s, CommandJob **test) {
        ReloadPlan rp = {};
        int r = reload_plan(s->config.server, s->master_pid, &rp);
        const char *why = s->reload_refusal ?: reload_refusal(s->config.server, r, &rp);
        reload_plan_done(&rp);
        *test = NULL;
        if (why || !s->exe)
                return why;
        bool nginx = streq_ptr(s->config.server, "nginx");
        const char *what, *file;
        _cleanup_free_ char *untrusted = NULL;
        if (server_test_trusted(s, &what, &file, &untrusted) <= 0)
                return nginx ? "its binary or configuration is not root's alone, so nginx -t is not run"
                             : "its binary or configuration is not root's alone, so apache2 -t is not run";
        r = test_server_start(s, test);
        if (r < 0 && (r != -ENOENT || !nginx))
                return nginx ? "nginx -t could not run" : "apache2 -t could not run";
        return NULL;
}

int undo_reloads_start(Host *h, char **users, UndoReloads **ret, char ***left_alone) {
        *ret = NULL;
        if (!users || !h)
                return 0;
        _cleanup_(undo_reloads_freep) UndoReloads *u = calloc(1, sizeof(UndoReloads));
        if (!u)
                return -ENOMEM;
        u->host = host_ref(h);
        int r = 0;
        for (size_t i = 0; i < u->host->n_servers; i++) {
                const WebServer *s = &u->host->servers[i];
                bool hit = false;
                for (size_t j = 0; j < s->n_workers && !hit; j++)
                        hit = strv_contains(users, s->workers[j].user);
                if (!hit || s->master_pid <= 0)
                        continue;
                CommandJob *test = NULL;
                const char *why = undo_reload_start(s, &test);
                if (why)
                        r = note_not_reloaded(s, why, left_alone);
                else if (!test)
                        r = reload_now(s, left_alone);
                else if (!ARRAY_PUSH(u->items, u->n)) {
                        command_job_free(test);
                        r = -ENOMEM;
                } else
                        u->items[u->n - 1] = (UndoReload) { .server = s, .test = test };
                if (r < 0)
                        return r;
        }
        if (u->n > 0)
                *ret = TAKE_PTR(u);
        return 0;
}

int undo_reloads_poll(UndoReloads *u, char ***left_alone) {
        bool running = false;
        for (size_t i = 0; i < u->n; i++) {
                UndoReload *it = &u->items[i];
                if (!it->test)
                        continue;
                int r = config_test_poll(it->test, NULL);
                if (r == -EAGAIN) {
                        running = true;
                        continue;
                }
                it->test = command_job_free(it->test);
                const WebServer *s = it->server;
                bool nginx = streq_ptr(s->config.server, "nginx");
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && (r != -ENOENT || !nginx))
                        r = note_not_reloaded(s, nginx ? "nginx -t fails" : "apache2 -t fails", left_alone);
                else
                        r = reload_now(s, left_alone);
                if (r < 0)
                        return r;
        }
        return running ? -EAGAIN : 0;
}

/* A group-member change's undo record: whether the fix made user a member of group
 * (it was not one before), and who. */
static bool member_added(json_object *undo, const char **user, const char **group) {
        json_object *v;
        *user = json_object_object_get_ex(undo, "user", &v) ? json_object_get_string(v) : NULL;
        *group = json_object_object_get_ex(undo, "group", &v) ? json_object_get_string(v) : NULL;
        bool was = json_object_object_get_ex(undo, "was_member", &v) && json_object_get_boolean(v);
        return !was && *user && *group;
}

int undo_transaction(JournalTx *tx, const HeldInodes *held, bool check_conflicts, Change **changes, size_t *n,
                     char ***left_alone, char ***unmembered, char **msg) {
        JournalEntry e = {};
        PoolUndo *pu = NULL;
        size_t n_pu = 0;
        bool failed = false;
        int r = journal_tx_entry(tx, &e);
        if (r >= 0)
                r = collect_pool_undo(tx, &e, &pu, &n_pu);
        if (r >= 0 && check_conflicts)
                r = pool_conflicts(pu, n_pu, msg);
        if (r < 0)
                goto out;

        for (size_t i = e.n_changes; i-- > 0;) {
                const JournalChange *c = &e.changes[i];
                JournalChangeStatus st;
                json_object *undo;
                _cleanup_free_ char *note = NULL;
                if (journal_tx_change(tx, i, &st, &undo) < 0)
                        continue;
                const char *user = NULL, *group = NULL;
                bool added = streq_ptr(c->kind, "group-member") && member_added(undo, &user, &group);
                if (st == JOURNAL_CHANGE_UNDONE) {
                        /* Taken back by an undo that stopped before its reloads (the daemon
                         * stopped or crashed): the servers are reloaded now. */
                        /* Reloaded unless surely still a member (a database that does not
                         * answer costs a reload, not a worker left with the group). */
                        if (added && user_in_group_db(user, group) != 1 && strv_extend_unique(unmembered, user) < 0) {
                                r = -ENOMEM;
                                goto out;
                        }
                        continue;
                }
                int k = 0;
                _cleanup_free_ char *out = NULL;
                if (streq_ptr(c->kind, "pool-config"))
                        continue; /* whole files, below */
                if (startswith(c->kind, "socket-"))
                        k = undo_inode(undo, c, INODE_SOCKET, held, &note);
                else if (streq_ptr(c->kind, "dir-acl"))
                        k = undo_inode(undo, c, INODE_DIRECTORY, held, &note);
                else if (added) {
                        k = group_remove_member(user, group, &out);
                        if (k == -EIO && user_in_group_db(user, group) == 0)
                                k = 0; /* the pending change never happened */
                        if (k >= 0 && strv_extend_unique(unmembered, user) < 0)
                                k = -ENOMEM;
                }
                if (k == -ENOMEM) {
                        r = k;
                        goto out;
                }
                if (k < 0) {
                        failed = true;
                        if (k == -ESTALE)
                                fail(msg, "cannot undo %s of %s: the path leads to something else now (a symlink or "
                                          "another kind of file); revert again once it is back", c->kind, c->target);
                        else if (added && k == -ETIMEDOUT) /* sys/nss.h */
                                fail(msg, "cannot undo %s of %s: %s; revert again once they answer", c->kind,
                                     c->target, out ? out : "the user and group databases do not answer");
                        else if (k == -ETIMEDOUT || k == -EBUSY) /* path_walk_timed() */
                                fail(msg, "cannot undo %s of %s: a file system on the path does not answer; "
                                          "revert again once it does", c->kind, c->target);
                        else
                                fail(msg, "cannot undo %s of %s: %s", c->kind, c->target, strerror(-k));
                        continue;
                }
                if (journal_mark(tx, i, JOURNAL_CHANGE_UNDONE) < 0 ||
                    (note ? strv_consume(left_alone, TAKE_PTR(note))
                          : change_push(changes, n, c->kind, c->target, c->after, c->before)) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
        }
        for (size_t i = 0; i < n_pu; i++) {
                int k = undo_pool(&pu[i], changes, n, msg);
                if (k == -ENOMEM) {
                        r = k;
                        goto out;
                }
                if (k < 0) {
                        failed = true;
                        continue;
                }
                for (size_t j = 0; j < e.n_changes; j++) {
                        json_object *undo, *v;
                        JournalChangeStatus st;
                        if (streq_ptr(e.changes[j].kind, "pool-config") && journal_tx_change(tx, j, &st, &undo) >= 0 &&
                            json_object_object_get_ex(undo, "file", &v) && streq_ptr(json_object_get_string(v), pu[i].file))
                                (void) journal_mark(tx, j, JOURNAL_CHANGE_UNDONE);
                }
        }
        r = failed ? -EIO : 0;
out:
        pool_undo_free(pu, n_pu);
        journal_entry_done(&e);
        return r;
}
