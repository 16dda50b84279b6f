/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The passwd and group databases as the engine asks them (see lookup.c). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sys/safe-fs.h"
#include "util/hashmap.h"

/* Per-call caches: a sweep asks the same few names and group lists thousands of times. */
typedef struct Lookup {
        Hashmap *users;    /* uid -> char* */
        Hashmap *groups;   /* gid -> char* */
        Hashmap *dbgroups; /* uid -> DbGroups* */
        Hashmap *user_ids;  /* name -> NameId* */
        Hashmap *group_ids; /* name -> NameId* */
        WalkCache *walk;    /* sweeps only: parent directories walked once (the sweep's to free) */
        bool preload_ok;    /* local databases, a sweep's or the kept caches: see lookup_miss() */
        bool preloaded;
        unsigned misses;    /* names and ids asked of NSS one by one */
} Lookup;

/* A name looked up in the passwd or group database (found false: no such entry). */
typedef struct NameId {
        char *name;
        bool found;
        bool unanswered; /* the database did not answer (sys/nss.h): not found, not "no such" */
        unsigned id;
        unsigned gid; /* users: primary group */
} NameId;

typedef struct DbGroups {
        gid_t *groups;
        size_t n;
        bool unanswered; /* the database did not answer (sys/nss.h): n is 0, and means nothing */
} DbGroups;

/* What the caches own, freed in one place. */
typedef struct Owned {
        char **names;
        DbGroups **dbs;
        size_t n_dbs;
        NameId **ids;
        size_t n_ids;
} Owned;

int lookup_init(Lookup *l);
/* For a sweep: also reads the whole databases once when many distinct names are asked
 * and the databases are local (lookup.c, lookup_miss). */
int lookup_init_sweep(Lookup *l);
/* 0, -ESRCH for an unknown name, -ETIMEDOUT when the database did not answer
 * (sys/nss.h), -ENOMEM. */
int lookup_user(Lookup *l, Owned *o, const char *name, uid_t *uid, gid_t *gid);
int lookup_group(Lookup *l, Owned *o, const char *name, gid_t *gid);
/* The name of a uid or gid, or the number as text (also when the database did not
 * answer); NULL only on -ENOMEM. */
const char *lookup_name(Lookup *l, Owned *o, bool group, unsigned id);
/* The group list the database gives user (getgrouplist); NULL only on -ENOMEM. */
const DbGroups *lookup_db_groups(Lookup *l, Owned *o, const char *user, uid_t uid, gid_t gid);
void lookup_done(Lookup *l, Owned *o);
