/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside the engine: one socket's diagnosis with the facts it was made from
 * kept alive (the walk with its O_PATH fd on the inode, the pool, the listener),
 * so Fix plans and applies against exactly what was diagnosed. */

#include "engine.h"
#include "findings.h"
#include "host/host.h"
#include "util/hashmap.h"
#include "lookup.h"

struct Engine {
        char *proc_root;
        char *state_dir;
        char *runtime_dir;
        bool scan_distro_defaults;
        struct Journal *journal;
        Hashmap *busy; /* resolved socket path, and transaction id -> running FixJob */
        HostCache *host_cache;
        Host *host; /* the model, reused while host_check_current() says it is */
        uint64_t host_generation;       /* counts the models built */
        uint64_t strategies_generation; /* the model strategies were worked out from */
        char **strategies;              /* the Strategies property, see engine_strategies() */
        Lookup nss; /* names and group lists for single Diagnoses, see engine_lookups() */
        Owned nss_owned;
        uint64_t nss_sig[9];
        bool nss_valid;
};

typedef struct Diagnosis {
        Report *report;
        PathWalk walk;
        SocketFacts facts;
        ConsumerFacts *cf; /* one per report->consumers */
        size_t n_cf;
        const Pool *pool;      /* the pool declaring the path, borrowed from the host */
        const Process *master; /* the listener's master, borrowed from the host */
        uint32_t listener_sock_ino; /* the listening socket bound to the file; 0 if none */
        bool restricted;       /* for a caller other than root (DiagnoseOptions.restricted) */
        bool as_asked;         /* the path leads where it says: no symlink followed, no ".." */
        bool probe_allowed;    /* a connect probe may be made (diagnosis_run()) */
} Diagnosis;

/* A reference to the host model: the cached one while it is current, else a new one.
 * sweep: also refresh every socket's queue (one sock_diag dump). */
int engine_load_host(Engine *e, bool sweep, Host **ret);
/* After -ESTALE from diagnosis_run(): the next engine_load_host() rebuilds. */
void engine_drop_host(Engine *e);

/* How a diagnosis may go about it. */
typedef enum DiagnosisFlags {
        DIAGNOSIS_PROBE = 1 << 0, /* the real connect: the one step with an effect on the system */
        /* Before the caller is authorized: only what costs about as little as polkit's
         * check itself. The model as it is; anything that would rebuild it, read the whole
         * socket table, map every process's fds, read the error logs or walk more than a
         * socket path's few directories is -EAGAIN, left for after the grant, so that
         * callers polkit refuses cannot make sockfixd work. */
        DIAGNOSIS_CHEAP = 1 << 1,
} DiagnosisFlags;

/* -ESTALE: the host model is out of date for this socket (a listener it does not know,
 * or one that went away); rebuild it and run again. */
int diagnosis_run(Host *h, const char *path, const DiagnoseOptions *o, DiagnosisFlags flags, Lookup *lk,
                  Owned *ow, Diagnosis *d);
void diagnosis_done(Diagnosis *d);
int probe_consumers(const char *proc_root, Report *r, const Process *master);
/* engine_load_host() + diagnosis_run() for one socket, rebuilding a model that is stale
 * for it once (with DIAGNOSIS_CHEAP: -EAGAIN instead). *ret_host is a reference for the caller. */
int engine_diagnosis(Engine *e, const char *path, const DiagnoseOptions *o, DiagnosisFlags flags, Host **ret_host,
                     Lookup *lk, Owned *ow, Diagnosis *d);
