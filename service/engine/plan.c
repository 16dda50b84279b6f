/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include "access.h"
#include "sys/groups.h"
#include "sys/nss.h"
#include "util/util.h"

void plan_done(Plan *p) {
        for (size_t i = 0; i < p->n_steps; i++) {
                Step *s = &p->steps[i];
                free(s->target);
                free(s->before);
                free(s->after);
                free(s->file);
                free(s->section);
                free(s->key);
                free(s->value);
                free(s->user);
                free(s->group);
        }
        free(p->steps);
        free(p->reloads);
        strv_free(p->strategies);
        strv_free(p->targets);
        free(p->reason);
        free(p->outcome);
        *p = (Plan) {};
}

static Creds creds_of(const Consumer *c) {
        return (Creds) { .uid = c->uid, .gid = c->gid, .groups = c->groups, .n_groups = c->n_groups };
}

static const Finding *primary_finding(const Report *r, const Consumer *c) {
        for (size_t i = 0; i < r->n_findings; i++)
                if (r->findings[i].severity == SEVERITY_ERROR && streq_ptr(r->findings[i].consumer, c->user))
                        return &r->findings[i];
        return NULL;
}

static bool any_remedy(const Report *r, const char *strategy) {
        for (size_t i = 0; i < r->n_findings; i++)
                if (strv_contains(r->findings[i].remedies, strategy))
                        return true;
        return false;
}

static bool warnings_with_remedies(const Report *r) {
        for (size_t i = 0; i < r->n_findings; i++)
                if (r->findings[i].severity == SEVERITY_WARNING && r->findings[i].remedies)
                        return true;
        return false;
}

typedef struct Planner {
        const Host *h;
        const Diagnosis *d;
        const Report *r;
        Plan *p;
        const Consumer **targets;
        size_t n_targets;
        char *why; /* why a strategy cannot be used here */
        bool reloads; /* the servers in p->reloads will be reloaded, after their configuration tests */
} Planner;

static _printf_(2, 3) void unusable(Planner *x, const char *fmt, ...) {
        va_list ap;
        free(x->why);
        va_start(ap, fmt);
        if (vasprintf(&x->why, fmt, ap) < 0)
                x->why = NULL;
        va_end(ap);
}

static Step *add_step(Planner *x, StepKind kind, const char *target) {
        Step *s = ARRAY_PUSH(x->p->steps, x->p->n_steps);
        if (!s || !(s->target = strdup(target)))
                return NULL;
        s->kind = kind;
        return s;
}

static int set_text(char **dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_text(char **dst, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(dst, fmt, ap);
        va_end(ap);
        if (k < 0) {
                *dst = NULL;
                return -ENOMEM;
        }
        return 0;
}

static const char *inode_words(const Report *r, char *buf, size_t size) {
        snprintf(buf, size, "%s:%s %04o", strempty(r->owner), strempty(r->group), r->mode);
        return buf;
}

static int pool_key_step(Planner *x, const char *key, const char *value) {
        const Pool *pool = x->d->pool;
        const char *cur = fpm_pool_get(pool->cfg, key);
        if (streq_ptr(cur, value))
                return 0;
        const FpmKey *k = fpm_pool_key(pool->cfg, key);
        const FpmKey *listen = fpm_pool_key(pool->cfg, "listen");
        /* A new key goes where the pool's listen line is: that file is the pool's. */
        const char *file = k ? k->file : listen ? listen->file : pool->cfg->file;
        _cleanup_free_ char *target = NULL;
        if (set_text(&target, "%s [%s] %s", file, pool->cfg->name, key) < 0)
                return -ENOMEM;
        Step *s = add_step(x, STEP_POOL_EDIT, target);
        if (!s || !(s->file = strdup(file)) || !(s->section = strdup(pool->cfg->name)) || !(s->key = strdup(key)) ||
            (value && !(s->value = strdup(value))) || !(s->before = strdup(cur ? cur : "(unset)")) ||
            !(s->after = strdup(value ? value : "(unset)")))
                return -ENOMEM;
        return 0;
}

/* php-fpm's default listen.mode is 0660; both pool strategies settle it there. */
static int pool_mode_step(Planner *x) {
        const char *m = fpm_pool_get(x->d->pool->cfg, "listen.mode");
        if (!m || strtoul(m, NULL, 8) == 0660)
                return 0;
        return pool_key_step(x, "listen.mode", "0660");
}

/* The live mode after a pool strategy: owner and group rw where they were missing
 * (0660 is what the config now says), other-write dropped once everyone is granted. */
static mode_t live_mode_after(const Report *r) {
        return (r->mode | 0660) & ~(mode_t) 0002;
}

static int socket_mode_step(Planner *x, mode_t mode) {
        const Report *r = x->r;
        if (mode == r->mode)
                return 0;
        Step *s = add_step(x, STEP_SOCKET_MODE, r->resolved);
        if (!s || set_text(&s->before, "%04o", r->mode) < 0 || set_text(&s->after, "%04o", mode) < 0)
                return -ENOMEM;
        s->mode = mode;
        return 0;
}

static char *list_join_unique(const char *existing, char **add) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *copy = strdup_or_null(existing);
        char *save = NULL;
        if (existing && !copy)
                return NULL;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
                if (*strstrip(t) && strv_extend_unique(&l, strstrip(t)) < 0)
                        return NULL;
        for (char **a = add; a && *a; a++)
                if (strv_extend_unique(&l, *a) < 0)
                        return NULL;
        return strv_join(l, ",");
}

static bool pool_acl_usable(Planner *x) {
        const SocketFacts *f = &x->d->facts;
        if (!x->d->pool)
                unusable(x, "no php-fpm pool declares %s", x->r->resolved);
        else if (!f->pool.acl_supported)
                unusable(x, "this php-fpm build has no ACL support (listen.acl_users)");
        else if (!f->fs_acl)
                unusable(x, "the file system holding %s has no POSIX ACLs", x->r->resolved);
        else
                return true;
        return false;
}

/* pool-acl: name the consumers in listen.acl_users and on the live inode. php-fpm
 * ignores listen.owner/group once listen.acl_* is set, so a pool converted to ACLs
 * carries its old owner and group into the lists: nobody loses access. */
static int plan_pool_acl(Planner *x, bool *usable) {
        const FpmPool *cfg = x->d->pool->cfg;
        const SocketFacts *f = &x->d->facts;
        _cleanup_strv_free_ char **users = NULL, **groups = NULL;
        _cleanup_free_ char *owner_group = NULL;
        *usable = false;
        if (!f->pool.sets_acl) {
                const char *owner = fpm_pool_get(cfg, "listen.owner"), *group = fpm_pool_get(cfg, "listen.group");
                if (owner && strv_extend(&users, owner) < 0)
                        return -ENOMEM;
                if (!group && owner) { /* php-fpm gives the socket the owner's primary group */
                        gid_t primary;
                        int k = nss_user_by_name(owner, NULL, &primary);
                        if (k >= 0)
                                k = nss_name_by_id(true, primary, &owner_group);
                        if (k == -ENOMEM)
                                return k;
                        if (k == -ETIMEDOUT) { /* a guess could cut that group off */
                                unusable(x, "the user and group databases did not answer for %s within %d ms", owner,
                                         NSS_TIMEOUT_MS);
                                return 0;
                        }
                        group = owner_group;
                }
                if (group && strv_extend(&groups, group) < 0)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < x->n_targets; i++)
                if (strv_extend_unique(&users, x->targets[i]->user) < 0)
                        return -ENOMEM;
        _cleanup_free_ char *u = list_join_unique(fpm_pool_get(cfg, "listen.acl_users"), users);
        _cleanup_free_ char *g = list_join_unique(fpm_pool_get(cfg, "listen.acl_groups"), groups);
        if (!u || !g)
                return -ENOMEM;
        if (pool_key_step(x, "listen.acl_users", u) < 0 || (*g && pool_key_step(x, "listen.acl_groups", g) < 0) ||
            pool_mode_step(x) < 0)
                return -ENOMEM;

        char buf[128];
        for (size_t i = 0; i < x->n_targets; i++) {
                const Consumer *c = x->targets[i];
                if (c->uid == x->r->uid)
                        continue; /* the owner class ignores named entries: the mode step grants it */
                Step *s = add_step(x, STEP_SOCKET_ACL, x->r->resolved);
                if (!s || !(s->before = strdup(inode_words(x->r, buf, sizeof(buf)))) ||
                    set_text(&s->after, "%s +u:%s:rw-", buf, c->user) < 0)
                        return -ENOMEM;
                s->id = c->uid;
        }
        *usable = true;
        return socket_mode_step(x, live_mode_after(x->r));
}

static bool consumer_holds(const Consumer *c, gid_t g) {
        Creds cr = creds_of(c);
        return creds_in_group(&cr, g);
}

/* pool-group: the socket's group becomes one the consumers' workers hold. Refused
 * where it would cut off another consumer that can connect today. */
static int plan_pool_group(Planner *x, bool *usable) {
        const Report *r = x->r;
        *usable = false;
        if (!x->d->pool) {
                unusable(x, "no php-fpm pool declares %s", r->resolved);
                return 0;
        }
        if (x->d->facts.pool.sets_acl) {
                unusable(x, "pool %s uses listen.acl_*, which makes php-fpm ignore listen.group", x->d->pool->cfg->name);
                return 0;
        }
        gid_t g = x->targets[0]->gid;
        for (size_t i = 1; i < x->n_targets; i++)
                if (!consumer_holds(x->targets[i], g)) {
                        unusable(x, "the consumers hold no common group");
                        return 0;
                }
        InodeInfo after = x->d->walk.final;
        after.st.st_gid = g;
        after.st.st_mode = S_IFSOCK | live_mode_after(r);
        for (size_t i = 0; i < r->n_consumers; i++) {
                Creds cr = creds_of(&r->consumers[i]);
                AccessClass cls;
                bool now = access_inode(&x->d->walk.final, &cr, ACCESS_WRITE, &cls) == 0;
                if (now && access_inode(&after, &cr, ACCESS_WRITE, &cls) < 0) {
                        unusable(x, "changing the group of %s would cut off %s workers (user %s)", r->resolved,
                                 r->consumers[i].server, r->consumers[i].user);
                        return 0;
                }
        }
        _cleanup_free_ char *gname = NULL;
        int k = nss_name_by_id(true, g, &gname);
        if (k == -ENOMEM)
                return k;
        if (k == -ETIMEDOUT) {
                unusable(x, "the group database did not answer for group %u within %d ms", (unsigned) g, NSS_TIMEOUT_MS);
                return 0;
        }
        if (k < 0) {
                unusable(x, "group %u has no name", (unsigned) g);
                return 0;
        }
        if (pool_key_step(x, "listen.group", gname) < 0 || pool_mode_step(x) < 0)
                return -ENOMEM;
        if (g != r->gid) {
                Step *s = add_step(x, STEP_SOCKET_GROUP, r->resolved);
                if (!s || !(s->before = strdup(strempty(r->group))) || !(s->after = strdup(gname)))
                        return -ENOMEM;
                s->id = g;
        }
        *usable = true;
        return socket_mode_step(x, live_mode_after(r));
}

static const WebServer *server_of(const Planner *x, const Consumer *c) {
        for (size_t i = 0; i < x->h->n_servers; i++) {
                const WebServer *s = &x->h->servers[i];
                if (!streq_ptr(s->config.server, c->server))
                        continue;
                for (size_t j = 0; j < s->n_workers; j++)
                        if (s->workers[j].uid == c->uid && s->workers[j].n_pids && c->n_pids &&
                            s->workers[j].pids[0] == c->pids[0])
                                return s;
        }
        return NULL;
}

static int add_reload(Planner *x, const Consumer *c, gid_t required) {
        const WebServer *s = server_of(x, c);
        if (!s || s->master_pid <= 0)
                return 0; /* a stopped server gets the new groups at its next start */
        for (size_t i = 0; i < x->p->n_reloads; i++)
                if (x->p->reloads[i].server == s)
                        return 0;
        ReloadStep *rs = ARRAY_PUSH(x->p->reloads, x->p->n_reloads);
        if (!rs)
                return -ENOMEM;
        *rs = (ReloadStep) { .server = s, .required_gid = required };
        return 0;
}

/* member: gpasswd -a into the socket's group, then a reload so new workers hold it. */
static int plan_member(Planner *x, bool *usable, EngineError *err) {
        const Report *r = x->r;
        *usable = false;
        if (group_is_privileged(r->gid, r->group)) {
                *err = ENGINE_ERROR_REFUSED_GROUP;
                unusable(x, "%s belongs to group %s, which grants root-level or secret access: sockfix never adds "
                            "members to it", r->resolved, strempty(r->group));
                return 0;
        }
        if (!(r->mode & 0020)) {
                unusable(x, "the group class of %s (mode %04o) lacks write: membership would not help", r->resolved,
                         r->mode);
                return 0;
        }
        for (size_t i = 0; i < x->n_targets; i++) {
                const Consumer *c = x->targets[i];
                int k = user_in_group_db(c->user, r->group);
                if (k == -ETIMEDOUT) {
                        unusable(x, "the group database did not answer within %d ms: whether %s is in %s is unknown",
                                 NSS_TIMEOUT_MS, c->user, strempty(r->group));
                        return 0;
                }
                if (k == 0) {
                        _cleanup_free_ char *t = NULL;
                        if (set_text(&t, "%s", c->user) < 0)
                                return -ENOMEM;
                        Step *s = add_step(x, STEP_MEMBER, t);
                        if (!s || !(s->user = strdup(c->user)) || !(s->group = strdup(r->group)) ||
                            set_text(&s->before, "not in %s", r->group) < 0 ||
                            set_text(&s->after, "in %s", r->group) < 0)
                                return -ENOMEM;
                }
                if (add_reload(x, c, r->gid) < 0)
                        return -ENOMEM;
        }
        *usable = true;
        return 0;
}

/* dir-search: u:USER:x on each directory that stops the consumer, nothing else. */
static int plan_dir_search(Planner *x, EngineError *err, char **msg) {
        const PathWalk *w = &x->d->walk;
        for (size_t i = 0; i < x->n_targets; i++) {
                Creds cr = creds_of(x->targets[i]);
                for (size_t j = 0; j < w->n_dirs; j++) {
                        AccessClass cls;
                        if (access_inode(&w->dirs[j], &cr, ACCESS_EXEC, &cls) == 0)
                                continue;
                        /* A directory crossed only for ".." or a symlink (/root in
                         * /root/../run/php/x.sock) is no business of the socket's: opening it
                         * would follow whatever path a caller or a link's owner wrote. */
                        if (!path_walk_holds(w, &w->dirs[j])) {
                                *err = ENGINE_ERROR_UNSAFE_PATH;
                                return set_text(msg,
                                                "%s: %s workers cannot search %s, which the path crosses only through "
                                                "'..' or a symbolic link; sockfix opens only the directories that hold "
                                                "the socket: point the web server at %s",
                                                x->r->socket, x->targets[i]->server, w->dirs[j].path, x->r->resolved);
                        }
                        Step *s = add_step(x, STEP_DIR_ACL, w->dirs[j].path);
                        if (!s || set_text(&s->before, "%u:%u %04o", w->dirs[j].st.st_uid, w->dirs[j].st.st_gid,
                                           w->dirs[j].st.st_mode & 07777) < 0 ||
                            set_text(&s->after, "%s +u:%s:--x", s->before, x->targets[i]->user) < 0)
                                return -ENOMEM;
                        s->id = x->targets[i]->uid;
                        s->dir_index = j;
                }
        }
        return 0;
}

/* refresh: a reload of c's server, so new workers hold the groups the database grants. */
static int plan_refresh_one(Planner *x, const Consumer *c, bool *usable) {
        const WebServer *s = server_of(x, c);
        *usable = s && s->master_pid > 0;
        if (!*usable) {
                unusable(x, "%s is not running: there is nothing to reload", c->server);
                return 0;
        }
        return add_reload(x, c, x->r->gid);
}

static int plan_refresh(Planner *x, bool *usable) {
        *usable = false;
        for (size_t i = 0; i < x->n_targets; i++) {
                int k = plan_refresh_one(x, x->targets[i], usable);
                if (k < 0 || !*usable)
                        return k;
        }
        return 0;
}

/* Why the reload a consumer's server would need is not made (WebServer.reload_refusal). */
static const char *reload_blocked(const Planner *x, const Consumer *c) {
        const WebServer *s = server_of(x, c);
        return s ? s->reload_refusal : NULL;
}

static bool socket_blocks(const Planner *x, const Consumer *c) {
        Creds cr = creds_of(c);
        AccessClass cls;
        return access_inode(&x->d->walk.final, &cr, ACCESS_WRITE, &cls) < 0;
}

static int use(Planner *x, const char *strategy) {
        return strv_extend_unique(&x->p->strategies, strategy);
}

/* The socket part of auto: pool-acl where it can work, else pool-group, else member. */
static int plan_socket_auto(Planner *x, EngineError *err, char **msg) {
        bool ok;
        int k;
        if (pool_acl_usable(x)) {
                if ((k = plan_pool_acl(x, &ok)) < 0)
                        return k;
                if (ok)
                        return use(x, "pool-acl");
        }
        _cleanup_free_ char *why_acl = TAKE_PTR(x->why);
        /* plan_pool_group adds no step unless it is usable. */
        if ((k = plan_pool_group(x, &ok)) < 0)
                return k;
        if (ok)
                return use(x, "pool-group");
        _cleanup_free_ char *why_group = TAKE_PTR(x->why);
        /* auto never plans what Fix would then refuse (see engine_fix_start()). */
        for (size_t i = 0; i < x->n_targets; i++) {
                const char *blocked = reload_blocked(x, x->targets[i]);
                if (blocked) {
                        unusable(x, "it needs %s to start new workers, and %s", x->targets[i]->server, blocked);
                        ok = false;
                        goto none;
                }
        }
        EngineError member_err = ENGINE_OK;
        if ((k = plan_member(x, &ok, &member_err)) < 0)
                return k;
        if (ok)
                return use(x, "member");
none:
        *err = ENGINE_ERROR_STRATEGY_UNAVAILABLE;
        return set_text(msg, "%s: no strategy can grant access: pool-acl: %s; pool-group: %s; member: %s",
                        x->r->resolved, strempty(why_acl), strempty(why_group), strempty(x->why));
}

static int plan_auto(Planner *x, EngineError *err, char **msg) {
        bool need_socket = false, ok;
        int k;
        for (size_t i = 0; i < x->n_targets; i++) {
                const Finding *f = primary_finding(x->r, x->targets[i]);
                /* A reload sockfix does not make (lighttpd, Caddy; an Apache whose files it
                 * cannot test): the workers are granted as they are, by a pool strategy. */
                if (f && streq_ptr(f->code, "stale-credentials") && !reload_blocked(x, x->targets[i])) {
                        /* That consumer's server only: another target may be one no reload helps. */
                        if ((k = plan_refresh_one(x, x->targets[i], &ok)) < 0)
                                return k;
                        if (ok && (k = use(x, "refresh")) < 0)
                                return k;
                        continue;
                }
                if (f && streq_ptr(f->code, "dir-no-search") && (k = use(x, "dir-search")) < 0)
                        return k;
                need_socket = need_socket || socket_blocks(x, x->targets[i]);
        }
        if (strv_contains(x->p->strategies, "dir-search") && ((k = plan_dir_search(x, err, msg)) < 0 || *err))
                return k;
        /* Warnings alone (world-writable, config-drift) are mended by a pool strategy too. */
        if (need_socket || x->r->verdict == VERDICT_OK)
                return plan_socket_auto(x, err, msg);
        return 0;
}

static int plan_explicit(Planner *x, const char *strategy, EngineError *err, char **msg) {
        bool ok = true;
        int k = 0;
        if (!any_remedy(x->r, strategy)) {
                *err = ENGINE_ERROR_STRATEGY_UNAVAILABLE;
                /* A stale consumer's finding offers no refresh where sockfix makes no reload: say why. */
                for (size_t i = 0; streq_ptr(strategy, "refresh") && i < x->n_targets; i++) {
                        const WebServer *s = server_of(x, x->targets[i]);
                        if (s && s->reload_refusal)
                                return set_text(msg, "%s: refresh is a reload of %s (master %d), and %s", x->r->resolved,
                                                s->config.server, (int) s->master_pid, s->reload_refusal);
                }
                return set_text(msg, "%s: no finding lists %s as a remedy", x->r->resolved, strategy);
        }
        if (streq_ptr(strategy, "pool-acl"))
                k = (ok = pool_acl_usable(x)) ? plan_pool_acl(x, &ok) : 0;
        else if (streq_ptr(strategy, "pool-group"))
                k = plan_pool_group(x, &ok);
        else if (streq_ptr(strategy, "member")) {
                EngineError e = ENGINE_OK;
                k = plan_member(x, &ok, &e);
                if (k >= 0 && e != ENGINE_OK) {
                        *err = e;
                        return set_text(msg, "%s", x->why);
                }
        } else if (streq_ptr(strategy, "dir-search")) {
                k = plan_dir_search(x, err, msg);
                if (k >= 0 && *err != ENGINE_OK)
                        return k;
        }
        else if (streq_ptr(strategy, "refresh"))
                k = plan_refresh(x, &ok);
        if (k < 0)
                return k;
        if (!ok) {
                *err = ENGINE_ERROR_STRATEGY_UNAVAILABLE;
                return set_text(msg, "%s: %s is unusable here: %s", x->r->resolved, strategy, strempty(x->why));
        }
        return use(x, strategy);
}

static const char *not_permissions_reason(const Report *r) {
        for (size_t i = 0; i < r->n_findings; i++)
                if (r->findings[i].severity == SEVERITY_ERROR &&
                    (finding_is_not_permissions(r->findings[i].code) || !r->findings[i].consumer))
                        return r->findings[i].summary;
        return verdict_to_string(r->verdict);
}

static int explain(Planner *x) {
        const Report *r = x->r;
        _cleanup_free_ char *s = strv_join(x->p->strategies, "+");
        const char *why = "";
        if (strv_contains(x->p->strategies, "refresh"))
                why = "the group database already grants access; only the running workers lack it";
        else if (strv_contains(x->p->strategies, "pool-acl"))
                why = "pool-acl grants exactly the consumers, by name, live and in the pool file, and takes "
                      "nobody's access away";
        else if (strv_contains(x->p->strategies, "pool-group"))
                why = "pool-group makes the socket's group one the consumers hold, live and in the pool file";
        else if (strv_contains(x->p->strategies, "member"))
                why = "member adds the consumer to the socket's group and reloads the web server";
        else if (strv_contains(x->p->strategies, "dir-search"))
                why = "dir-search gives search on the blocking directory only";
        if (!s)
                return -ENOMEM;
        /* lighttpd disables a backend a connect failed on, for fastcgi.server's
         * disable-time: an admin who tries at once meets its 503 after a verified fix. */
        const char *after = "";
        for (size_t i = 0; i < x->n_targets; i++)
                if (streq_ptr(x->targets[i]->server, "lighttpd") && !x->targets[i]->can_connect)
                        after = "; lighttpd answers 503 until it retries a backend it disabled (its disable-time, "
                                "1 s by default)";
        /* Each why names its strategy: a plan of one strategy needs no other name. */
        bool one = strv_length(x->p->strategies) == 1 && startswith(why, s);
        return set_text(&x->p->reason, "%s%s%s (verdict %s)%s", one ? "" : s, one ? "" : ": ", why,
                        verdict_to_string(r->verdict), after);
}

/* What Fix writes, or runs as root to test, must be root's own: in a directory another
 * user can write, a pool file can be swapped for a link to any file between the check
 * and the write, and a binary or configuration of theirs run as root is their code. */
static int check_root_file(const char *what, const char *path, bool may_be_missing, EngineError *err, char **msg) {
        _cleanup_free_ char *why = NULL;
        int r = path_only_root_can_change(path, &why);
        if (r > 0 || (r == -ENOENT && may_be_missing))
                return 0;
        if (r == -ENOMEM)
                return r;
        *err = ENGINE_ERROR_UNSAFE_PATH;
        if (r == 0)
                return set_text(msg, "%s %s: %s; sockfix tests and edits only what no one but root can change", what,
                                path, why);
        return set_text(msg, "%s %s: %s", what, path, strerror(-r));
}

/* Whether an earlier step already edits steps[i]'s pool file (one step per key). */
static bool file_edited_before(const Plan *p, size_t i) {
        for (size_t j = 0; j < i; j++)
                if (p->steps[j].kind == STEP_POOL_EDIT && streq_ptr(p->steps[j].file, p->steps[i].file))
                        return true;
        return false;
}

int server_test_trusted(const WebServer *s, const char **what, const char **file, char **why) {
        int r = 1;

        *why = NULL;
        if (s->config.main_file) {
                *what = "configuration";
                *file = s->config.main_file;
                r = path_only_root_can_change(*file, why);
        }
        if (r > 0 && s->exe) {
                *what = "binary";
                *file = s->exe;
                r = path_only_root_can_change(*file, why);
                if (r == -ENOENT && streq_ptr(s->config.server, "nginx"))
                        r = 1;
        }
        return r;
}

static int check_trust(Planner *x, EngineError *err, char **msg) {
        const Plan *p = x->p;
        const FpmInstance *f = x->d->pool ? x->d->pool->fpm : NULL;
        const Process *m = x->d->master;
        bool edits = false, member = false;
        int k = 0;
        /* Each file once: a walk per key would repeat the same lookups. */
        for (size_t i = 0; i < p->n_steps && k >= 0 && *err == ENGINE_OK; i++)
                if (p->steps[i].kind == STEP_POOL_EDIT && !file_edited_before(p, i)) {
                        edits = true;
                        k = check_root_file("pool file", p->steps[i].file, false, err, msg);
                } else if (p->steps[i].kind == STEP_MEMBER)
                        member = true;
        if (k >= 0 && *err == ENGINE_OK && member) {
                /* The group is the listener's choice, or its pool file's: one of a user's
                 * own groups (ssl-cert, say) would be handed to every site's PHP. */
                if (m && (m->ruid || m->euid)) {
                        *err = ENGINE_ERROR_UNSAFE_PATH;
                        return set_text(msg, "%s: its listener (pid %d) does not run as root; sockfix adds no one to "
                                             "a group a user's server chose",
                                        x->r->socket, (int) m->pid);
                }
                if (x->d->pool)
                        k = check_root_file("pool file", x->d->pool->cfg->file, false, err, msg);
        }
        if (k >= 0 && *err == ENGINE_OK && edits && f) {
                if (f->config.main_file)
                        k = check_root_file("php-fpm configuration", f->config.main_file, false, err, msg);
                if (k >= 0 && *err == ENGINE_OK && f->exe)
                        k = check_root_file("php-fpm binary", f->exe, true, err, msg);
        }
        /* Each server sockfix reloads is tested first by its own binary and configuration
         * (nginx -t, apache2 -t), run as root. One that will not be reloaded (activation
         * none) or cannot be (engine_fix_start() refuses it) runs nothing. */
        for (size_t i = 0; x->reloads && i < p->n_reloads && k >= 0 && *err == ENGINE_OK; i++) {
                const WebServer *s = p->reloads[i].server;
                if (s->reload_refusal)
                        continue;
                const char *what = NULL, *file = NULL;
                _cleanup_free_ char *why = NULL;
                int t = server_test_trusted(s, &what, &file, &why);
                if (t == -ENOMEM)
                        return t;
                if (t <= 0) {
                        *err = ENGINE_ERROR_UNSAFE_PATH;
                        return t == 0 ? set_text(msg, "%s %s %s: %s; sockfix tests and edits only what no one but root "
                                                      "can change", s->config.server, what, file, why)
                                      : set_text(msg, "%s %s %s: %s", s->config.server, what, file, strerror(-t));
                }
        }
        return k;
}

int plan_fix(const Host *h, const Diagnosis *d, const char *strategy, const char *consumer, bool reloads, Plan *plan,
             EngineError *err, char **msg) {
        const Report *r = d->report;
        const PathWalk *w = &d->walk;
        Planner x = { .h = h, .d = d, .r = r, .p = plan, .reloads = reloads };
        const char *path = r->resolved ? r->resolved : r->socket;
        int k = 0;

        *plan = (Plan) {};
        *err = ENGINE_OK;
        *msg = NULL;

        if (w->error == ELOOP) {
                *err = ENGINE_ERROR_UNSAFE_PATH;
                return set_text(msg, "%s: too many levels of symbolic links (a loop): refusing to walk it", r->socket);
        }
        if (w->error == ENAMETOOLONG) {
                *err = ENGINE_ERROR_UNSAFE_PATH;
                return set_text(msg, "%s: too long or too deep to walk: refusing to walk it", r->socket);
        }
        /* Not where a symlink leads: a dry run needs only the diagnose action, and the
         * target of a link in a root-only directory is no one else's to know. */
        if (w->have_final && !S_ISSOCK(w->final.st.st_mode)) {
                *err = ENGINE_ERROR_NOT_A_SOCKET;
                return set_text(msg, "%s is not a socket", r->socket);
        }
        if (w->error && w->error != ENOENT) { /* ENOTDIR, EIO, ENOTCONN (a FUSE daemon gone)... */
                *err = ENGINE_ERROR_NOT_A_SOCKET;
                /* What the lookup met is root's to know, as in the report (findings_hide_inode()). */
                return d->restricted ? set_text(msg, "%s is not a socket", r->socket)
                                     : set_text(msg, "%s is not a socket: looking it up fails (%s)", r->socket,
                                                strerror(w->error));
        }
        /* Only what discovery vouches for: a live listener must be a FastCGI/application
         * server it found. A socket nobody listens on belongs to no other service; its
         * verdict (refused) answers below, and nothing is changed either way. */
        if (r->listening && !(d->master && program_is_app_server(d->master->comm))) {
                *err = ENGINE_ERROR_UNKNOWN_SOCKET;
                return set_text(msg, "%s is served by %s, not by a FastCGI/application server that sockfix discovered",
                                path, d->master ? d->master->comm : "an unknown program");
        }
        if (r->verdict == VERDICT_MISSING || r->verdict == VERDICT_REFUSED || r->verdict == VERDICT_OVERLOADED ||
            report_has_finding(r, "selinux-denied") || report_has_finding(r, "apparmor-denied") ||
            report_has_finding(r, "namespace-mismatch")) {
                plan->outcome = strdup("not-permissions");
                return plan->outcome && set_text(&plan->reason, "%s", not_permissions_reason(r)) >= 0 ? 0 : -ENOMEM;
        }
        if (r->verdict == VERDICT_NO_CONSUMER) {
                *err = ENGINE_ERROR_NO_CONSUMER;
                return consumer ? set_text(msg, "%s: no discovered web server worker runs as %s for it", path, consumer)
                                : set_text(msg, "%s: no discovered web server references it", path);
        }
        if (r->verdict == VERDICT_OK && !warnings_with_remedies(r)) {
                plan->outcome = strdup("already-ok");
                return plan->outcome && set_text(&plan->reason, "every consumer of %s can connect", path) >= 0 ? 0
                                                                                                                : -ENOMEM;
        }

        /* A model built while the user database did not answer (sys/nss.h) lacks what
         * only it gives: a stopped server's next workers, named users. A change planned on
         * it could cut off a consumer it cannot see. */
        if (h->nss_unanswered) {
                *err = ENGINE_ERROR_STRATEGY_UNAVAILABLE;
                return set_text(msg, "%s: the user and group databases did not answer while the web servers were "
                                     "read, so some consumers may be unknown; nothing was changed: fix again once "
                                     "they answer", path);
        }
        x.targets = calloc(r->n_consumers, sizeof(Consumer *));
        if (!x.targets)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_consumers; i++)
                if (r->consumers[i].error == EACCES)
                        x.targets[x.n_targets++] = &r->consumers[i];
        if (x.n_targets == 0) /* warnings only: every consumer is granted by name before other-write goes */
                for (size_t i = 0; i < r->n_consumers; i++)
                        x.targets[x.n_targets++] = &r->consumers[i];
        for (size_t i = 0; i < x.n_targets && k >= 0; i++)
                k = strv_extend(&plan->targets, x.targets[i]->user);

        if (k >= 0)
                k = streq_ptr(strategy, "auto") ? plan_auto(&x, err, msg) : plan_explicit(&x, strategy, err, msg);
        if (k >= 0 && *err == ENGINE_OK)
                k = check_trust(&x, err, msg);
        if (k >= 0 && *err == ENGINE_OK)
                k = explain(&x);
        free(x.targets);
        free(x.why);
        return k;
}
