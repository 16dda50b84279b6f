/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The engine's entry points, one per bus method. The engine never includes sd-bus
 * headers: it takes plain arguments and returns reports; the bus adapter checks
 * arguments, authorizes and marshals. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "report.h"

typedef struct Engine Engine;

typedef struct EngineConfig {
        const char *proc_root;   /* "/proc" */
        const char *state_dir;   /* journal lives here */
        const char *runtime_dir;
        bool scan_distro_defaults; /* also read configs of stopped installations at distro paths */
} EngineConfig;

typedef struct DiagnoseOptions {
        const char *consumer; /* only that web-server user; NULL for all. A name no user has:
                               * -ESRCH from Diagnose and the sweeps (a typo) */
        bool evidence;        /* add error-log lines */
        bool restricted;      /* the caller is not root: a not-a-socket or missing report says no
                               * more than that; a path no config names, behind a directory
                               * closed to others, or whose lookup does not finish: -EACCES;
                               * no probe where the caller could redirect the path */
        uid_t caller_uid;     /* with restricted */
} DiagnoseOptions;

int engine_new(const EngineConfig *cfg, Engine **ret);
Engine *engine_free(Engine *e);

/* One socket, with the real connect probe, in two steps so that a caller can have the
 * first done while polkit decides. The first has no effect on the system it inspects
 * (it reads); the second makes the one connection a Diagnose is allowed, the probe, and
 * consumes p. Both fail only with -ENOMEM (every path gets a verdict), except that a
 * cheap first step, for a caller not yet authorized, is -EAGAIN where it would cost
 * more than the authorization (rebuilding the host model, reading the error logs...):
 * it is then done in full after the grant. And a path that crosses the mount point of
 * a network, FUSE or automount file system is looked up on a thread of its own, given
 * up on after ENGINE_LOOKUP_TIMEOUT_MS: -ETIMEDOUT, or -EBUSY while
 * engine_stuck_lookups() have reached their limit (before a grant, such a lookup waits
 * for it: -EAGAIN). A Fix fails the same way at its first lookup; one whose check after
 * the change meets it ends applied and unverified. */
typedef struct PreparedDiagnosis PreparedDiagnosis;
int engine_diagnose_prepare(Engine *e, const char *socket, const DiagnoseOptions *o, bool cheap,
                            PreparedDiagnosis **ret);
int engine_diagnose_finish(PreparedDiagnosis *p, Report **ret);
PreparedDiagnosis *prepared_diagnosis_free(PreparedDiagnosis *p);
#define ENGINE_LOOKUP_TIMEOUT_MS 2000
/* Lookups given up on whose file system has not answered yet. */
unsigned engine_stuck_lookups(void);
/* Every known socket, without connecting to any. Each report goes to cb as soon as
 * it is made and is freed after, so a sweep over thousands of pools holds one report
 * at a time (the reply is the only copy). A negative return of cb stops the sweep. */
int engine_diagnose_each(Engine *e, const DiagnoseOptions *o, int (*cb)(const Report *r, void *userdata),
                         void *userdata);

/* Strategy names usable for at least one pool on this host (the Strategies property),
 * as of the model sockfixd keeps. Owned by the engine, valid until the next call; NULL
 * on failure. */
char *const *engine_strategies(Engine *e);

/* --- the write half: Fix, Revert, ListTransactions --- */

/* Why a Fix or Revert was refused before anything was attempted (bus errors). */
typedef enum EngineError {
        ENGINE_OK,
        ENGINE_ERROR_INVALID_ARGS,
        ENGINE_ERROR_NOT_A_SOCKET,
        ENGINE_ERROR_UNKNOWN_SOCKET,
        ENGINE_ERROR_UNSAFE_PATH,
        ENGINE_ERROR_NO_CONSUMER,
        ENGINE_ERROR_STRATEGY_UNAVAILABLE,
        ENGINE_ERROR_REFUSED_GROUP,
        ENGINE_ERROR_BUSY,
        ENGINE_ERROR_CONFIG_TEST_FAILED,
        ENGINE_ERROR_UNKNOWN_TRANSACTION,
        ENGINE_ERROR_CONFLICT,
} EngineError;

typedef struct Change {
        char *kind;   /* socket-acl, socket-group, socket-mode, pool-config, group-member, dir-acl */
        char *target;
        char *before;
        char *after;
} Change;

typedef struct Activation {
        char *target; /* e.g. "nginx (master 1234)" */
        char *action; /* e.g. "reload (SIGHUP)" */
} Activation;

typedef struct FixOptions {
        bool dry_run;
        const char *consumer;  /* only this consumer's user; NULL: every blocked consumer */
        bool no_activation;    /* activation "none": nothing reloaded, verified false */
        uid_t caller_uid;      /* for the journal and the audit record */
        const char *caller;    /* the caller's bus name, for the audit record */
} FixOptions;

typedef struct FixResult {
        EngineError error;     /* != ENGINE_OK: refused, nothing attempted; message says why */
        char *message;
        char *transaction;     /* empty for dry runs, already-ok, not-permissions */
        char *strategy;
        char *outcome;         /* applied, planned, already-ok, not-permissions, rolled-back, failed */
        char *reason;
        bool verified;
        Change *changes;
        size_t n_changes;
        Activation *activations;
        size_t n_activations;
        Verdict verdict_before;
        bool have_verdict_after;
        Verdict verdict_after;
        char *socket;          /* as asked, for the TransactionFinished signal */
} FixResult;

typedef struct FixJob FixJob;

/* Starts a Fix. The job is either finished (fix_job_finished) or waits for a
 * reload to take effect: call engine_fix_continue() after fix_job_wait_usec(). The
 * engine never blocks for the reload, so diagnoses keep being answered, and a second
 * Fix on the same socket meanwhile gets ENGINE_ERROR_BUSY. -ENOMEM only. */
int engine_fix_start(Engine *e, const char *socket, const char *strategy, const FixOptions *o, FixJob **ret);
int engine_fix_continue(Engine *e, FixJob *job);
bool fix_job_finished(const FixJob *job);
uint64_t fix_job_wait_usec(const FixJob *job);
const FixResult *fix_job_result(const FixJob *job);
FixJob *fix_job_free(FixJob *job);

typedef struct RevertResult {
        EngineError error;
        char *message;
        char *transaction;
        char *socket;          /* the transaction's socket */
        char *outcome;         /* reverted, failed */
        char *reason;
        Change *changes;
        size_t n_changes;
} RevertResult;

/* The transaction's socket, for the polkit details before authorization; -ENOENT / -EINVAL. */
int engine_transaction_socket(Engine *e, const char *id, char **ret);

typedef struct RevertJob RevertJob;

/* Starts a Revert: *ret is always set (its result's error says why it was refused).
 * Every change is undone at once; a membership taken back reloads the servers running
 * as that user, each after its configuration test, which runs while the daemon serves:
 * until then the job is not finished, and engine_revert_continue() is called after
 * revert_job_wait_usec(), as for a Fix. -ENOMEM only. */
int engine_revert_start(Engine *e, const char *id, uid_t caller_uid, const char *caller, RevertJob **ret);
int engine_revert_continue(Engine *e, RevertJob *job);
bool revert_job_finished(const RevertJob *job);
uint64_t revert_job_wait_usec(const RevertJob *job);
const RevertResult *revert_job_result(const RevertJob *job);
RevertJob *revert_job_free(RevertJob *job);

typedef struct TransactionRecord {
        char *transaction;
        uint64_t time_usec;
        uid_t uid;
        char *socket;
        char *strategy;
        char *outcome;
        Change *changes;
        size_t n_changes;
} TransactionRecord;

/* The journal's records, oldest first; with only_caller, those of that caller uid only
 * (a caller other than root is not told where root's fixes changed what). */
int engine_list_transactions(Engine *e, bool only_caller, uid_t caller, TransactionRecord **ret, size_t *n);
void transaction_records_free(TransactionRecord *l, size_t n);

void changes_free(Change *c, size_t n);
void activations_free(Activation *a, size_t n);
