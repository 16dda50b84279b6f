/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the engine: one socket's diagnosis with the facts it was made from
 * kept alive (the walk with its O_PATH fd on the inode, the pool, the listener),
 * so Fix plans and applies against exactly what was diagnosed. */

#include "engine.h"
#include "findings.h"
#include "host/host.h"
#include "util/hashmap.h"

struct Engine {
        char *proc_root;
        char *state_dir;
        char *runtime_dir;
        bool scan_distro_defaults;
        struct Journal *journal;
        Hashmap *busy; /* resolved socket path -> running FixJob */
};

/* Per-call caches: a sweep asks the same few names and group lists thousands of times. */
typedef struct Lookup {
        Hashmap *users;    /* uid -> char* */
        Hashmap *groups;   /* gid -> char* */
        Hashmap *dbgroups; /* uid -> DbGroups* */
} Lookup;

typedef struct DbGroups {
        gid_t *groups;
        size_t n;
} DbGroups;

/* What the caches own, freed in one place. */
typedef struct Owned {
        char **names;
        DbGroups **dbs;
        size_t n_dbs;
} Owned;

typedef struct Diagnosis {
        Report *report;
        PathWalk walk;
        SocketFacts facts;
        ConsumerFacts *cf; /* one per report->consumers */
        size_t n_cf;
        const Pool *pool;      /* the pool declaring the path, borrowed from the host */
        const Process *master; /* the listener's master, borrowed from the host */
        uint32_t listener_sock_ino; /* the listening socket bound to the file; 0 if none */
} Diagnosis;

int engine_load_host(Engine *e, Host **ret);
int lookup_init(Lookup *l);
void lookup_done(Lookup *l, Owned *o);
const char *lookup_name(Lookup *l, Owned *o, bool group, unsigned id);

int diagnosis_run(const Host *h, const char *path, const DiagnoseOptions *o, bool probe, Lookup *lk, Owned *ow,
                  Diagnosis *d);
void diagnosis_done(Diagnosis *d);
int probe_consumers(Report *r, const Process *master);
