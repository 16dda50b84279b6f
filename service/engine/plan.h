/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Deciding a Fix: the contract's table (which answer for which socket), then the
 * steps of the chosen strategies. Nothing here changes the system; a dry run
 * returns exactly these steps. */

#include "diagnosis.h"
#include "engine.h"

typedef enum StepKind {
        STEP_POOL_EDIT,    /* one key of the pool file */
        STEP_SOCKET_ACL,   /* u:UID:rw on the live socket */
        STEP_SOCKET_GROUP, /* the live socket's group */
        STEP_SOCKET_MODE,  /* the live socket's mode */
        STEP_DIR_ACL,      /* u:UID:x on one directory of the path */
        STEP_MEMBER,       /* gpasswd -a USER GROUP */
} StepKind;

typedef struct Step {
        StepKind kind;
        char *target;     /* public: path, "FILE [pool] key", user */
        char *before;     /* public */
        char *after;      /* public */
        unsigned id;      /* uid (ACL entries) or gid (group) */
        mode_t mode;      /* STEP_SOCKET_MODE */
        size_t dir_index; /* STEP_DIR_ACL: walk.dirs[] */
        char *file;       /* STEP_POOL_EDIT */
        char *section;
        char *key;
        char *value;      /* NULL removes the key */
        char *user;       /* STEP_MEMBER */
        char *group;
} Step;

typedef struct ReloadStep {
        const WebServer *server; /* borrowed from the host */
        gid_t required_gid;      /* the new workers must hold it; (gid_t) -1 for none */
} ReloadStep;

typedef struct Plan {
        char **strategies; /* in the order applied */
        Step *steps;
        size_t n_steps;
        ReloadStep *reloads;
        size_t n_reloads;
        char *reason;      /* why these strategies */
        char *outcome;     /* set when the answer is decided without changes: already-ok, not-permissions */
        char **targets;    /* users of the consumers the fix is for */
} Plan;

/* Fills *plan, or sets *err and *msg (one line naming the path and the reason) when
 * the contract refuses. reloads: the fix will reload the servers it needs to (activation
 * auto), so their configuration tests will run. -ENOMEM only. */
int plan_fix(const Host *h, const Diagnosis *d, const char *strategy, const char *consumer, bool reloads, Plan *plan,
             EngineError *err, char **msg);
void plan_done(Plan *p);

/* A server is reloaded only after its configuration test, which runs as root from its
 * binary and reads its configuration: both must be root's alone (the binary may be gone
 * for nginx only: it keeps its workers on a reload that fails). 1 trusted; 0 not, *what
 * ("binary" or "configuration") and *file naming which, *why the reason; -errno else. */
int server_test_trusted(const WebServer *s, const char **what, const char **file, char **why);
