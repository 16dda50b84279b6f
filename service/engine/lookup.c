/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The passwd and group databases as the engine asks them: per-call caches of names,
 * ids and group lists, filled one by one or, in a sweep over local databases with many
 * distinct users, by one pass over each database. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "sys/nss.h"
#include "util/util.h"

int lookup_init(Lookup *l) {
        l->users = hashmap_new_u64();
        l->groups = hashmap_new_u64();
        l->dbgroups = hashmap_new_u64();
        l->user_ids = hashmap_new_str();
        l->group_ids = hashmap_new_str();
        return l->users && l->groups && l->dbgroups && l->user_ids && l->group_ids ? 0 : -ENOMEM;
}

int lookup_init_sweep(Lookup *l) {
        int r = lookup_init(l);
        l->preload_ok = nss_is_local();
        return r;
}

/* A new NameId for name, owned by o (not yet in any map). */
static NameId *name_id_new(Owned *o, const char *name) {
        NameId *n = calloc(1, sizeof(NameId));
        NameId **slot = n ? ARRAY_PUSH(o->ids, o->n_ids) : NULL;
        if (!slot || !(n->name = strdup(name))) {
                if (n && slot)
                        *slot = n; /* freed with the others */
                else
                        free(n);
                return NULL;
        }
        *slot = n;
        return n;
}

/* One database entry into a name map and an id map; the first of a name or an id wins,
 * as in getpwnam()/getpwuid(). */
static int preload_entry(Hashmap *by_name, Hashmap *by_id, Owned *o, const char *name, unsigned id, unsigned gid) {
        if (hashmap_get_str(by_name, name))
                return 0;
        NameId *n = name_id_new(o, name);
        if (!n)
                return -ENOMEM;
        *n = (NameId) { .name = n->name, .found = true, .id = id, .gid = gid };
        int r = hashmap_put_str(by_name, n->name, n);
        if (r >= 0 && !hashmap_get_u64(by_id, id))
                r = hashmap_put_u64(by_id, id, n->name);
        return r;
}

/* Every entry of the passwd and group databases into the caches. Local databases only
 * (preload_ok): enumerating a server's could wait without bound (sys/nss.h). */
static int lookup_preload(Lookup *l, Owned *o) {
        int r = 0;
        setpwent();
        for (struct passwd *p; r >= 0 && (p = getpwent());)
                r = preload_entry(l->user_ids, l->users, o, p->pw_name, p->pw_uid, p->pw_gid);
        endpwent();
        setgrent();
        for (struct group *g; r >= 0 && (g = getgrent());)
                r = preload_entry(l->group_ids, l->groups, o, g->gr_name, g->gr_gid, 0);
        endgrent();
        return r;
}

/* A name or id not in the caches. Hosting servers run a user per site: a sweep asks for
 * thousands of distinct ones, and with the files database each getpwnam() reads
 * /etc/passwd from the top (5,000 site users: seconds per sweep; bench/bench-lookup).
 * After sixteen misses, caches over local databases that allow it (a sweep's, and the
 * caches single Diagnoses keep) read each database once instead; a small host, or one
 * call's few names, never pays for a whole database it does not need.
 * What that pass did not see is still asked one by one (nss-systemd may hold names it
 * does not enumerate). Returns whether the caches were filled, so the caller looks
 * again. */
#define LOOKUP_MISSES_BEFORE_PRELOAD 16u
static int lookup_miss(Lookup *l, Owned *o) {
        if (!l->preload_ok || l->preloaded || ++l->misses <= LOOKUP_MISSES_BEFORE_PRELOAD)
                return 0;
        l->preloaded = true;
        int r = lookup_preload(l, o);
        return r < 0 ? r : 1;
}

static NameId *lookup_id(Lookup *l, Owned *o, bool group, const char *name) {
        Hashmap *m = group ? l->group_ids : l->user_ids;
        NameId *n = hashmap_get_str(m, name);
        if (n)
                return n;
        int k = lookup_miss(l, o);
        if (k < 0)
                return NULL;
        if (k > 0 && (n = hashmap_get_str(m, name)))
                return n;
        if (!(n = name_id_new(o, name)))
                return NULL;
        unsigned id, gid = 0;
        k = group ? nss_group_by_name(name, &id) : nss_user_by_name(name, &id, &gid);
        if (k == -ENOMEM)
                return NULL;
        if (k >= 0)
                *n = (NameId) { .name = n->name, .found = true, .id = id, .gid = gid };
        n->unanswered = k == -ETIMEDOUT;
        return hashmap_put_str(m, n->name, n) < 0 ? NULL : n;
}

int lookup_user(Lookup *l, Owned *o, const char *name, uid_t *uid, gid_t *gid) {
        const NameId *n = lookup_id(l, o, false, name);
        if (!n)
                return -ENOMEM;
        if (!n->found)
                return n->unanswered ? -ETIMEDOUT : -ESRCH;
        if (uid)
                *uid = n->id;
        if (gid)
                *gid = n->gid;
        return 0;
}

int lookup_group(Lookup *l, Owned *o, const char *name, gid_t *gid) {
        const NameId *n = lookup_id(l, o, true, name);
        if (!n)
                return -ENOMEM;
        if (!n->found)
                return n->unanswered ? -ETIMEDOUT : -ESRCH;
        *gid = n->id;
        return 0;
}

void lookup_done(Lookup *l, Owned *o) {
        hashmap_free(l->users);
        hashmap_free(l->groups);
        hashmap_free(l->dbgroups);
        hashmap_free(l->user_ids);
        hashmap_free(l->group_ids);
        for (size_t i = 0; i < o->n_ids; i++) {
                free(o->ids[i]->name);
                free(o->ids[i]);
        }
        free(o->ids);
        strv_free(o->names);
        for (size_t i = 0; i < o->n_dbs; i++) {
                free(o->dbs[i]->groups);
                free(o->dbs[i]);
        }
        free(o->dbs);
}

const char *lookup_name(Lookup *l, Owned *o, bool group, unsigned id) {
        Hashmap *m = group ? l->groups : l->users;
        const char *n = hashmap_get_u64(m, id);
        if (n)
                return n;
        int k = lookup_miss(l, o);
        if (k < 0)
                return NULL;
        if (k > 0 && (n = hashmap_get_u64(m, id)))
                return n;
        char *s = nss_name_or_number(group, id);
        if (!s)
                return NULL;
        if (strv_consume(&o->names, s) < 0 || hashmap_put_u64(m, id, s) < 0)
                return NULL;
        return s;
}

const DbGroups *lookup_db_groups(Lookup *l, Owned *o, const char *user, uid_t uid, gid_t gid) {
        DbGroups *d = hashmap_get_u64(l->dbgroups, uid);
        if (d)
                return d;
        d = calloc(1, sizeof(DbGroups));
        if (!d)
                return NULL;
        /* A user the database gives no list for (or that did not answer) has no
         * database view: an empty one. */
        int r = nss_grouplist(user, gid, &d->groups, &d->n);
        if (r == -ENOMEM)
                goto fail;
        d->unanswered = r == -ETIMEDOUT;
        DbGroups **slot = ARRAY_PUSH(o->dbs, o->n_dbs);
        if (!slot)
                goto fail;
        *slot = d;
        if (hashmap_put_u64(l->dbgroups, uid, d) < 0)
                return NULL;
        return d;
fail:
        free(d->groups);
        free(d);
        return NULL;
}
