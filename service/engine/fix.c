/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The engine's write half: Fix and Revert as jobs that never block the daemon on a
 * configuration test or while a reload takes effect, and the transaction list. Every
 * privileged action goes to the system journal with who asked and what changed. */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "apply.h"
#include "diagnosis.h"
#include "engine.h"
#include "journal.h"
#include "plan.h"
#include "sockfix-contract.h"
#include "sys/reload.h"
#include "sys/slow-fs.h"
#include "util/util.h"

/* Old nginx workers exit as soon as their connections are idle; 10 s bounds a busy one. */
#define RELOAD_WAIT_USEC (10ULL * 1000 * 1000)
#define RELOAD_POLL_USEC (50ULL * 1000)
#define TEST_POLL_USEC (5ULL * 1000)

/* sd-id128 of sockfix's audit records: journalctl MESSAGE_ID=... finds every change. */
#define SOCKFIX_MESSAGE_FIX "MESSAGE_ID=5a3c1f0e8d7b4b62a1f09c2e7d4b8a31"
#define SOCKFIX_MESSAGE_REVERT "MESSAGE_ID=9b2e4d6c1a8f4e07b3c5d9e1f2a4b6c8"

struct FixJob {
        Engine *e;
        char *busy_key;
        char *busy_tx; /* its transaction id, also a key of e->busy: a Revert of it answers Busy */
        char *strategy;
        char *consumer;
        FixOptions opts;
        char *caller;
        Host *host;
        Lookup lk;
        Owned ow;
        Diagnosis d;
        Plan plan;
        JournalTx *tx;
        ReloadWait *waits;
        size_t n_waits;
        HeldInodes held; /* every inode this fix changed, for its own rollback */
        ConfigTests *tests; /* running before anything changes; NULL once they answered */
        ConfigTests *pool_test; /* php-fpm -t of the pool file just written, before the live changes */
        UndoReloads *undo_reloads; /* a rollback's reloads, waiting for their tests */
        char **rollback_left;      /* what the rollback left alone (a server not reloaded) */
        const char *rollback_outcome;
        uint64_t deadline;
        bool finished;
        FixResult res;
};

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

void changes_free(Change *c, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(c[i].kind);
                free(c[i].target);
                free(c[i].before);
                free(c[i].after);
        }
        free(c);
}

void activations_free(Activation *a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(a[i].target);
                free(a[i].action);
        }
        free(a);
}

static int set_str(char **dst, const char *s) {
        free(*dst);
        *dst = strdup(strempty(s));
        return *dst ? 0 : -ENOMEM;
}

static int refuse(FixJob *j, EngineError err, char *msg) {
        j->res.error = err;
        j->res.message = msg;
        j->finished = true;
        return msg ? 0 : -ENOMEM;
}

/* One journal entry per change, after the fix's or revert's own (message_id tells
 * which), so that an auditor can follow each file and inode it touched. */
static void audit_changes(const char *message_id, const char *transaction, const Change *c, size_t n,
                          uid_t caller_uid) {
        for (size_t i = 0; i < n; i++)
                sd_journal_send("MESSAGE=sockfix: %s %s: %s -> %s", c[i].kind, c[i].target, c[i].before, c[i].after,
                                message_id, "SOCKFIX_TRANSACTION=%s", strempty(transaction),
                                "SOCKFIX_CALLER_UID=%u", (unsigned) caller_uid, "PRIORITY=5", NULL);
}

static void audit_fix(const FixJob *j) {
        const FixResult *r = &j->res;
        sd_journal_send("MESSAGE=sockfix: fix of %s by uid %u (%s): %s %s%s%s", r->socket, (unsigned) j->opts.caller_uid,
                        strempty(j->caller), strempty(r->strategy), strempty(r->outcome), r->reason ? ": " : "",
                        strempty(r->reason), SOCKFIX_MESSAGE_FIX, "SOCKFIX_SOCKET=%s", r->socket,
                        "SOCKFIX_STRATEGY=%s", strempty(r->strategy), "SOCKFIX_OUTCOME=%s", strempty(r->outcome),
                        "SOCKFIX_TRANSACTION=%s", strempty(r->transaction), "SOCKFIX_CALLER_UID=%u",
                        (unsigned) j->opts.caller_uid, "SOCKFIX_CALLER=%s", strempty(j->caller), "PRIORITY=5", NULL);
        audit_changes(SOCKFIX_MESSAGE_FIX, r->transaction, r->changes, r->n_changes, j->opts.caller_uid);
        fprintf(stderr, "sockfixd: fix %s by uid %u: %s %s %s\n", r->socket, (unsigned) j->opts.caller_uid,
                strempty(r->strategy), strempty(r->outcome), strempty(r->transaction));
}

static int plan_changes(const Plan *p, FixResult *res) {
        for (size_t i = 0; i < p->n_steps; i++) {
                static const char *const kinds[] = {
                        [STEP_POOL_EDIT] = "pool-config",  [STEP_SOCKET_ACL] = "socket-acl",
                        [STEP_SOCKET_GROUP] = "socket-group", [STEP_SOCKET_MODE] = "socket-mode",
                        [STEP_DIR_ACL] = "dir-acl",        [STEP_MEMBER] = "group-member",
                };
                const Step *s = &p->steps[i];
                if (change_push(&res->changes, &res->n_changes, kinds[s->kind], s->target, s->before, s->after) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int plan_activations(const Plan *p, FixResult *res, const char *action) {
        for (size_t i = 0; i < p->n_reloads; i++) {
                const WebServer *s = p->reloads[i].server;
                Activation *a = ARRAY_PUSH(res->activations, res->n_activations);
                if (!a || asprintf(&a->target, "%s (master %d)", s->config.server, (int) s->master_pid) < 0 ||
                    !(a->action = strdup(action)))
                        return -ENOMEM;
        }
        return 0;
}

static void job_release(FixJob *j) {
        if (j->busy_key) {
                hashmap_remove_str(j->e->busy, j->busy_key);
                free(j->busy_key);
                j->busy_key = NULL;
        }
        if (j->busy_tx) {
                hashmap_remove_str(j->e->busy, j->busy_tx);
                free(j->busy_tx);
                j->busy_tx = NULL;
        }
}

static int job_finish(FixJob *j, const char *outcome) {
        int r = set_str(&j->res.outcome, outcome);
        if (j->tx) {
                /* The record says incomplete where an undo failed, so Revert can finish it. */
                (void) journal_finish(j->tx, streq_ptr(outcome, "failed") ? "incomplete" : outcome);
        }
        j->finished = true;
        audit_fix(j);
        job_release(j);
        return r;
}

/* Reloads the servers running as users, as the model kept for diagnoses knows them:
 * rebuilt only if stale (a fresh one for each undo cost a fraction of a second on a host
 * of thousands of pools, with the daemon waiting). Where it cannot be loaded, no server
 * is known: the note says so. */
static int undo_reload_servers(Engine *e, char **users, UndoReloads **ret, char ***left_alone) {
        Host *h = NULL;
        int r = engine_load_host(e, false, &h);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                _cleanup_free_ char *who = strv_join(users, ", ");
                char *note;
                if (!who || asprintf(&note, "the web servers running as %s were not reloaded (the host could not "
                                            "be read: %s): their workers keep the group until they are",
                                     who, strerror(-r)) < 0)
                        return -ENOMEM;
                return strv_consume(left_alone, note);
        }
        r = undo_reloads_start(h, users, ret, left_alone);
        host_unref(h);
        return r;
}

/* The rollback's end, once the servers that lost a member were reloaded: what was left
 * alone goes into the reason. */
static int job_rolled_back(FixJob *j) {
        if (j->rollback_left) {
                _cleanup_free_ char *left = strv_join(j->rollback_left, "; "), *reason = NULL;
                if (!left || asprintf(&reason, "%s; %s", j->res.reason, left) < 0)
                        return -ENOMEM;
                free(j->res.reason);
                j->res.reason = TAKE_PTR(reason);
        }
        return job_finish(j, j->rollback_outcome);
}

/* Verification failed or applying failed: undo everything, in reverse. */
static int job_roll_back(FixJob *j, const char *why) {
        _cleanup_free_ char *msg = NULL;
        _cleanup_strv_free_ char **unmembered = NULL;
        Change *undone = NULL;
        size_t n = 0;
        int k = undo_transaction(j->tx, &j->held, false, &undone, &n, &j->rollback_left, &unmembered, &msg);
        changes_free(undone, n);
        if (k == -ENOMEM)
                return k;
        free(j->res.reason);
        if (asprintf(&j->res.reason, "%s%s%s", why, k < 0 ? "; undo failed too: " : "; everything was undone",
                     k < 0 ? strempty(msg) : "") < 0) {
                j->res.reason = NULL;
                return -ENOMEM;
        }
        j->rollback_outcome = k < 0 ? "failed" : "rolled-back";
        /* A membership taken back: the servers running as that user reload (after their
         * configuration tests, which run while the daemon serves) before the answer. */
        int r = unmembered ? undo_reload_servers(j->e, unmembered, &j->undo_reloads, &j->rollback_left) : 0;
        if (r < 0)
                return r;
        return j->undo_reloads ? 0 : job_rolled_back(j);
}

static int job_undo_reloads_done(FixJob *j) {
        int r = undo_reloads_poll(j->undo_reloads, &j->rollback_left);
        if (r == -EAGAIN)
                return 0;
        j->undo_reloads = undo_reloads_free(j->undo_reloads);
        return r < 0 ? r : job_rolled_back(j);
}

/* Workers that were running before a reload and are only finishing their requests:
 * they take no new connection, so they are not who verification asks about. */
static bool only_old_workers(const FixJob *j, const Consumer *c) {
        if (c->n_pids == 0)
                return false;
        for (size_t k = 0; k < c->n_pids; k++) {
                bool old = false;
                for (size_t w = 0; w < j->n_waits && !old; w++)
                        for (size_t o = 0; o < j->waits[w].n_old && !old; o++)
                                old = j->waits[w].old[o].pid == c->pids[k];
                if (!old)
                        return false;
        }
        return true;
}

static bool targets_can_connect(const FixJob *j, const Report *r, char **targets) {
        size_t seen = 0;
        for (size_t i = 0; i < r->n_consumers; i++) {
                const Consumer *c = &r->consumers[i];
                if (!strv_contains(targets, c->user) || only_old_workers(j, c))
                        continue;
                seen++;
                if (!c->can_connect || (c->probe_errno > 0))
                        return false;
        }
        return seen > 0;
}

/* The socket diagnosed again, as the fix left it: verdict_after, and (ret_connect)
 * whether every target can connect now. */
static int job_rediagnose(FixJob *j, DiagnosisFlags flags, bool *ret_connect) {
        Host *h = NULL;
        Lookup lk = {};
        Owned ow = {};
        Diagnosis d = { .walk.final_fd = -1 };
        /* As the caller may see it: the path may lead elsewhere by now. */
        DiagnoseOptions o = { .consumer = j->consumer, .restricted = j->opts.caller_uid != 0,
                              .caller_uid = j->opts.caller_uid };
        int r = lookup_init(&lk);
        if (r >= 0)
                r = engine_diagnosis(j->e, j->d.report->socket, &o, flags, &h, &lk, &ow, &d);
        if (r >= 0) {
                j->res.have_verdict_after = true;
                j->res.verdict_after = d.report->verdict;
                if (ret_connect)
                        *ret_connect = targets_can_connect(j, d.report, j->plan.targets);
        }
        diagnosis_done(&d);
        lookup_done(&lk, &ow);
        host_unref(h);
        return r;
}

static int job_verify(FixJob *j) {
        int r = job_rediagnose(j, DIAGNOSIS_PROBE, &j->res.verified);
        if (r == -ETIMEDOUT || r == -EBUSY || r == -EACCES) {
                /* Applied, and a file system on the path has stopped answering since, or
                 * (for a caller other than root) the path now leads where it may not look:
                 * what the kernel says now cannot be learnt or told, and a rollback would
                 * need the same lookups. The change stands, journaled, unverified. */
                j->res.verified = false;
                free(j->res.reason);
                if (asprintf(&j->res.reason, "%s; not verified: %s", strempty(j->plan.reason),
                             r == -EACCES ? "the path leads where the caller may not look, or stopped answering" :
                                            "a file system on the path stopped answering") < 0) {
                        j->res.reason = NULL;
                        return -ENOMEM;
                }
                return job_finish(j, "applied");
        }
        if (r < 0)
                return r;
        if (!j->res.verified) {
                j->res.have_verdict_after = false;
                return job_roll_back(j, "verification failed: the consumers still cannot connect");
        }
        return job_finish(j, "applied");
}

static int job_apply(FixJob *j);
static int job_apply_live(FixJob *j);

/* php-fpm -t of the edited pool file: still running (0), failed (rolled back: php-fpm's
 * next start would meet a file it rejects), or passed (the live changes follow). */
static int job_pool_test_done(FixJob *j) {
        _cleanup_free_ char *msg = NULL;
        int r = apply_config_tests_poll(j->pool_test, &msg);
        if (r == -EAGAIN)
                return 0;
        j->pool_test = config_tests_free(j->pool_test);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return job_roll_back(j, strempty(msg));
        return job_apply_live(j);
}

/* The configuration tests' answer: still running (0, the job waits), failed (refused:
 * nothing changed), or passed (applied). */
static int job_tests_done(FixJob *j) {
        _cleanup_free_ char *msg = NULL;
        int r = apply_config_tests_poll(j->tests, &msg);
        if (r == -EAGAIN)
                return 0;
        j->tests = config_tests_free(j->tests);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return refuse(j, ENGINE_ERROR_CONFIG_TEST_FAILED, TAKE_PTR(msg));
        return job_apply(j);
}

/* nginx -t of thousands of sites takes seconds: the tests run while the daemon serves,
 * and the job is applied once they passed (job_tests_done(), from engine_fix_continue()). */
static int job_start(FixJob *j) {
        _cleanup_free_ char *msg = NULL;
        int r = apply_config_tests_start(&j->d, &j->plan, !j->opts.no_activation, &j->tests, &msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return refuse(j, ENGINE_ERROR_CONFIG_TEST_FAILED, TAKE_PTR(msg));
        return job_tests_done(j);
}

int engine_fix_continue(Engine *e, FixJob *j) {
        (void) e;
        if (j->finished)
                return 0;
        if (j->tests)
                return job_tests_done(j);
        if (j->pool_test)
                return job_pool_test_done(j);
        if (j->undo_reloads)
                return job_undo_reloads_done(j);
        bool settled = true;
        for (size_t i = 0; i < j->n_waits && settled; i++) {
                const ReloadWait *w = &j->waits[i];
                settled = wait_for_workers(w->master, w->old, w->n_old, w->required_gid, 0) != -ETIMEDOUT;
        }
        if (!settled && now_usec() < j->deadline)
                return 0;
        return job_verify(j);
}

/* Once the configuration tests passed: journal, the pool files, then (job_apply_live(),
 * once the edited file passed php-fpm -t, which takes a second on a host of thousands of
 * pools and runs while the daemon serves) the live changes and the reloads. */
static int job_apply(FixJob *j) {
        _cleanup_free_ char *msg = NULL, *strategy = strv_join(j->plan.strategies, "+");
        int r;
        if (!strategy)
                return -ENOMEM;
        r = journal_begin(j->e->journal, j->opts.caller_uid, j->d.report->socket, strategy, &j->tx);
        if (r < 0)
                return refuse(j, ENGINE_ERROR_BUSY, strdup("cannot open a transaction in the journal"));
        if (set_str(&j->res.transaction, journal_tx_id(j->tx)) < 0 || plan_changes(&j->plan, &j->res) < 0)
                return -ENOMEM;
        /* The record names the socket as the caller wrote it, the busy key is the resolved
         * path: a Revert finds the running fix by its id. */
        if (!(j->busy_tx = strdup(journal_tx_id(j->tx))) || hashmap_put_str(j->e->busy, j->busy_tx, j) < 0)
                return -ENOMEM;

        r = apply_pool_files(&j->d, &j->plan, j->tx, &j->pool_test, &msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return job_roll_back(j, strempty(msg));
        return j->pool_test ? job_pool_test_done(j) : job_apply_live(j);
}

static int job_apply_live(FixJob *j) {
        _cleanup_free_ char *msg = NULL;
        int r = apply_live_changes(&j->d, &j->plan, j->tx, &j->held, &msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return job_roll_back(j, strempty(msg));

        if (j->opts.no_activation) {
                /* Unverified, as asked, but what the kernel's rule says now is worth
                 * showing: a live inode change (pool-acl) already lets the workers in, a
                 * membership (member) waits for the reload not made. No connect: that is
                 * the verification. A lookup that fails here leaves verdict_after out. */
                j->res.verified = false;
                if (plan_activations(&j->plan, &j->res, "none (activation: none)") < 0 ||
                    job_rediagnose(j, 0, NULL) == -ENOMEM)
                        return -ENOMEM;
                return job_finish(j, "applied");
        }
        r = apply_reloads(&j->plan, &j->res.activations, &j->res.n_activations, &j->waits, &j->n_waits, &msg);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return job_roll_back(j, strempty(msg));
        j->deadline = now_usec() + RELOAD_WAIT_USEC;
        /* Without a reload there is nothing to wait for: the live inode already changed. */
        return j->n_waits == 0 ? job_verify(j) : 0;
}

int engine_fix_start(Engine *e, const char *socket, const char *strategy, const FixOptions *o, FixJob **ret) {
        FixJob *j = calloc(1, sizeof(FixJob));
        EngineError err = ENGINE_OK;
        char *msg = NULL;
        int r;
        if (!j)
                return -ENOMEM;
        *ret = j;
        j->e = e;
        j->opts = *o;
        j->d.walk.final_fd = -1;
        if (!(j->res.socket = strdup(socket)) || !(j->strategy = strdup(strategy)) ||
            (o->consumer && !(j->consumer = strdup(o->consumer))) || !(j->caller = strdup(strempty(o->caller))))
                return -ENOMEM;
        j->opts.consumer = j->consumer;
        j->opts.caller = j->caller;

        if (!sockfix_strategy_is_known(strategy))
                return refuse(j, ENGINE_ERROR_INVALID_ARGS, strdup("unknown strategy"));
        if (!e->journal)
                return refuse(j, ENGINE_ERROR_BUSY, strdup("no state directory: fixes cannot be journaled"));

        DiagnoseOptions dop = { .consumer = j->consumer, .restricted = o->caller_uid != 0, .caller_uid = o->caller_uid };
        if ((r = lookup_init(&j->lk)) < 0 ||
            (r = engine_diagnosis(e, socket, &dop, 0, &j->host, &j->lk, &j->ow, &j->d)) < 0)
                return r;
        j->res.verdict_before = j->d.report->verdict;
        /* polkit granted the path as the caller wrote it (a rule may grant an account its
         * own sites only): a link of the caller's, or "..", must not lead the fix to
         * another site's socket, pool and directories. Root may name a link. */
        if (dop.restricted && !j->d.as_asked)
                return refuse(j, ENGINE_ERROR_UNSAFE_PATH,
                              strdup("only root may fix a socket through a symbolic link or \"..\": name the socket "
                                     "itself"));

        if ((r = plan_fix(j->host, &j->d, strategy, j->consumer, !o->no_activation, &j->plan, &err, &msg)) < 0)
                return r;
        if (err != ENGINE_OK)
                return refuse(j, err, msg);
        /* A plan that needs a reload sockfix cannot make would be applied, fail at the
         * reload and be rolled back; one whose reload tests no configuration could stop
         * the server. Refused first, saying what would work. */
        for (size_t i = 0; !o->no_activation && i < j->plan.n_reloads; i++) {
                const WebServer *s = j->plan.reloads[i].server;
                const char *refusal = s->reload_refusal;
                if (!refusal)
                        continue;
                _cleanup_free_ char *s_joined = strv_join(j->plan.strategies, "+");
                char *why = NULL;
                if (asprintf(&why, "%s needs %s (master %d) to start new workers, and %s: fix with activation none, "
                                   "then reload or restart it yourself",
                             s_joined ? s_joined : strategy, s->config.server, (int) s->master_pid, refusal) < 0)
                        return -ENOMEM;
                return refuse(j, ENGINE_ERROR_STRATEGY_UNAVAILABLE, why);
        }
        _cleanup_free_ char *joined = strv_join(j->plan.strategies, "+");
        if (!joined || set_str(&j->res.strategy, j->plan.strategies ? joined : strategy) < 0 ||
            set_str(&j->res.reason, j->plan.reason) < 0 || set_str(&j->res.transaction, "") < 0)
                return -ENOMEM;
        if (j->plan.outcome) {
                j->finished = true;
                return set_str(&j->res.outcome, j->plan.outcome);
        }

        const char *key = j->d.report->resolved ? j->d.report->resolved : socket;
        if (hashmap_get_str(e->busy, key))
                return refuse(j, ENGINE_ERROR_BUSY, strdup("a fix of this socket is already running"));

        if (o->dry_run) {
                j->finished = true;
                if (plan_changes(&j->plan, &j->res) < 0 ||
                    plan_activations(&j->plan, &j->res, o->no_activation ? "none (activation: none)" : "reload") < 0)
                        return -ENOMEM;
                return set_str(&j->res.outcome, "planned");
        }

        if (!(j->busy_key = strdup(key)) || hashmap_put_str(e->busy, j->busy_key, j) < 0)
                return -ENOMEM;
        return job_start(j);
}

bool fix_job_finished(const FixJob *j) {
        return j->finished;
}

uint64_t fix_job_wait_usec(const FixJob *j) {
        /* A configuration test is a few ms of a binary's work: its answer is looked for sooner. */
        return j->finished ? 0 : j->tests || j->pool_test || j->undo_reloads ? TEST_POLL_USEC : RELOAD_POLL_USEC;
}

const FixResult *fix_job_result(const FixJob *j) {
        return &j->res;
}

FixJob *fix_job_free(FixJob *j) {
        if (!j)
                return NULL;
        job_release(j);
        config_tests_free(j->tests); /* a test still running is killed and reaped */
        config_tests_free(j->pool_test);
        undo_reloads_free(j->undo_reloads);
        strv_free(j->rollback_left);
        journal_tx_free(j->tx);
        reload_waits_free(j->waits, j->n_waits);
        held_inodes_done(&j->held);
        plan_done(&j->plan);
        diagnosis_done(&j->d);
        lookup_done(&j->lk, &j->ow);
        host_unref(j->host);
        FixResult *r = &j->res;
        free(r->message);
        free(r->transaction);
        free(r->strategy);
        free(r->outcome);
        free(r->reason);
        free(r->socket);
        changes_free(r->changes, r->n_changes);
        activations_free(r->activations, r->n_activations);
        free(j->strategy);
        free(j->consumer);
        free(j->caller);
        free(j);
        return NULL;
}

/* --- Revert --- */

int engine_transaction_socket(Engine *e, const char *id, char **ret) {
        JournalTx *tx = NULL;
        JournalEntry en = {};
        if (!e->journal)
                return -ENOENT;
        int r = journal_load(e->journal, id, &tx);
        if (r >= 0)
                r = journal_tx_entry(tx, &en);
        if (r >= 0)
                r = (*ret = strdup(strempty(en.socket))) ? 0 : -ENOMEM;
        journal_entry_done(&en);
        journal_tx_free(tx);
        return r;
}

/* A running fix holds its transaction id and the resolved path of its socket; the
 * record names the socket as its caller wrote it, maybe through a symlink. */
static bool revert_busy(Engine *e, const char *id, const char *socket, bool restricted) {
        if (hashmap_get_str(e->busy, id) || (socket && hashmap_get_str(e->busy, socket)))
                return true;
        /* Not resolved for a caller other than root: through its own links, "a fix of
         * ... is running" would tell what root is fixing where it may not look (a fix
         * of its own socket by that name is found above). */
        if (restricted)
                return false;
        /* Resolved as a Diagnose resolves it: bounded where the path crosses a file system
         * that may not answer (one that does not cannot be part of a running fix's path
         * as far as this lookup can tell, and the undo's own lookups are bounded too). */
        PathWalk w = { .final_fd = -1 };
        bool busy = socket && path_walk_timed(socket, UINT_MAX, ENGINE_LOOKUP_TIMEOUT_MS, &w) >= 0 && w.have_final &&
                    hashmap_get_str(e->busy, w.resolved);
        path_walk_done(&w);
        return busy;
}

struct RevertJob {
        Engine *e;
        RevertResult res;
        JournalTx *tx;  /* finished once the reloads are done (a Revert meanwhile: Busy) */
        char *busy_tx;  /* its transaction id, a key of e->busy while the reloads wait */
        char *strategy; /* the transaction's, for the audit record */
        uid_t caller_uid;
        char *caller;
        bool undone;    /* the changes were undone: the record and the audit entry are owed */
        int undo;       /* undo_transaction()'s answer: 0, or -EIO when some undo failed */
        char *msg;      /* which, then */
        char **left;    /* what was left alone: changed since, a server not reloaded */
        UndoReloads *reloads;
        bool finished;
};

static void revert_release(RevertJob *j) {
        if (j->busy_tx) {
                hashmap_remove_str(j->e->busy, j->busy_tx);
                free(j->busy_tx);
                j->busy_tx = NULL;
        }
}

/* The record and the audit entry of an undo. outcome: reverted, failed, or incomplete for
 * one whose reloads were given up on (the daemon stopped): a Revert finishes it. */
static void revert_record(RevertJob *j, const char *outcome, const char *reason) {
        const RevertResult *res = &j->res;
        (void) journal_finish(j->tx, streq_ptr(outcome, "failed") ? "incomplete" : outcome);
        sd_journal_send("MESSAGE=sockfix: revert of %s (%s) by uid %u (%s): %s: %s", res->transaction, res->socket,
                        (unsigned) j->caller_uid, strempty(j->caller), outcome, strempty(reason),
                        SOCKFIX_MESSAGE_REVERT, "SOCKFIX_TRANSACTION=%s", res->transaction,
                        "SOCKFIX_SOCKET=%s", res->socket, "SOCKFIX_STRATEGY=%s", strempty(j->strategy),
                        "SOCKFIX_OUTCOME=%s", outcome, "SOCKFIX_CALLER_UID=%u", (unsigned) j->caller_uid,
                        "SOCKFIX_CALLER=%s", strempty(j->caller), "PRIORITY=5", NULL);
        audit_changes(SOCKFIX_MESSAGE_REVERT, res->transaction, res->changes, res->n_changes, j->caller_uid);
        fprintf(stderr, "sockfixd: revert %s (%s) by uid %u: %s\n", res->transaction, res->socket,
                (unsigned) j->caller_uid, outcome);
}

/* Its answer, once the servers that lost a member were reloaded. */
static int revert_finish(RevertJob *j) {
        RevertResult *res = &j->res;
        _cleanup_free_ char *left_text = NULL;
        int k;

        if (j->left && !(left_text = strv_join(j->left, "; ")))
                return -ENOMEM;
        if (j->undo < 0)
                k = set_str(&res->reason, j->msg);
        else if (j->left)
                k = asprintf(&res->reason, "undone, except: %s", left_text) < 0 ? -ENOMEM : 0;
        else
                k = set_str(&res->reason, "every change of the transaction was undone");
        if (k < 0 || set_str(&res->outcome, j->undo < 0 ? "failed" : "reverted") < 0)
                return -ENOMEM;
        revert_record(j, res->outcome, res->reason);
        revert_release(j);
        j->finished = true;
        return 0;
}

/* Refused before anything was undone. */
static _printf_(3, 4) int revert_refuse(RevertJob *j, EngineError error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&j->res.message, fmt, ap);
        va_end(ap);
        j->res.error = error;
        j->finished = true;
        if (k < 0) {
                j->res.message = NULL;
                return -ENOMEM;
        }
        return 0;
}

/* Everything but the reloads, which wait for their servers' configuration tests. */
static int revert_undo(RevertJob *j, const char *id) {
        Engine *e = j->e;
        RevertResult *res = &j->res;
        JournalEntry en = {};
        _cleanup_strv_free_ char **unmembered = NULL;
        int r = e->journal ? journal_load(e->journal, id, &j->tx) : -ENOENT;
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return revert_refuse(j, ENGINE_ERROR_UNKNOWN_TRANSACTION, "no transaction %s", id);
        if ((r = journal_tx_entry(j->tx, &en)) < 0)
                goto out;
        /* A caller other than root is told of its own transactions only (as by
         * ListTransactions): another's is, to it, no transaction at all. */
        if (j->caller_uid != 0 && en.uid != j->caller_uid) {
                r = revert_refuse(j, ENGINE_ERROR_UNKNOWN_TRANSACTION, "no transaction %s", id);
                goto out;
        }
        if ((r = set_str(&res->socket, en.socket)) < 0 || (r = set_str(&j->strategy, en.strategy)) < 0)
                goto out;
        if (streq_ptr(en.outcome, "reverted")) {
                r = revert_refuse(j, ENGINE_ERROR_UNKNOWN_TRANSACTION, "transaction %s was already reverted", id);
                goto out;
        }
        /* A fix still running on this socket owns the record; so does a Revert of it
         * waiting for its reloads. */
        if (revert_busy(e, id, en.socket, j->caller_uid != 0)) {
                r = revert_refuse(j, ENGINE_ERROR_BUSY, "a fix or revert of %s is running", en.socket);
                goto out;
        }
        r = undo_transaction(j->tx, NULL, true, &res->changes, &res->n_changes, &j->left, &unmembered, &j->msg);
        if (r == -EBUSY) {
                res->error = ENGINE_ERROR_CONFLICT;
                j->finished = true;
                r = asprintf(&res->message, "%s: %s", en.socket, strempty(j->msg)) < 0 ? -ENOMEM : 0;
                goto out;
        }
        if (r == -ENOMEM)
                goto out;
        j->undone = true;
        j->undo = r;
        r = unmembered ? undo_reload_servers(e, unmembered, &j->reloads, &j->left) : 0;
        if (r >= 0 && j->reloads) {
                /* Until the reloads are done the record says incomplete: should the daemon
                 * die meanwhile, a Revert of it reloads what is left. */
                (void) journal_finish(j->tx, "incomplete");
                if (!(j->busy_tx = strdup(id)) || hashmap_put_str(e->busy, j->busy_tx, j) < 0)
                        r = -ENOMEM;
        }
out:
        journal_entry_done(&en);
        return r;
}

int engine_revert_start(Engine *e, const char *id, uid_t caller_uid, const char *caller, RevertJob **ret) {
        RevertJob *j = calloc(1, sizeof(RevertJob));
        if (!j)
                return -ENOMEM;
        *ret = j;
        j->e = e;
        j->caller_uid = caller_uid;
        if (!(j->res.transaction = strdup(id)) || set_str(&j->caller, caller) < 0)
                return -ENOMEM;
        int r = revert_undo(j, id);
        if (r < 0 || j->finished || j->reloads)
                return r;
        return revert_finish(j);
}

int engine_revert_continue(Engine *e, RevertJob *j) {
        (void) e;
        if (j->finished)
                return 0;
        int r = undo_reloads_poll(j->reloads, &j->left);
        if (r == -EAGAIN)
                return 0;
        j->reloads = undo_reloads_free(j->reloads);
        return r < 0 ? r : revert_finish(j);
}

bool revert_job_finished(const RevertJob *j) {
        return j->finished;
}

uint64_t revert_job_wait_usec(const RevertJob *j) {
        return j->finished ? 0 : TEST_POLL_USEC;
}

const RevertResult *revert_job_result(const RevertJob *j) {
        return &j->res;
}

RevertJob *revert_job_free(RevertJob *j) {
        if (!j)
                return NULL;
        /* Undone, but given up on before its reloads (the daemon stopped, or ran out of
         * memory): the record says incomplete, and a Revert of it reloads what is left. */
        if (j->undone && !j->finished)
                revert_record(j, "incomplete", "undone, but the daemon stopped before it reloaded the web servers "
                                               "running as the users it took out of a group");
        revert_release(j);
        undo_reloads_free(j->reloads); /* a test still running is killed and reaped */
        journal_tx_free(j->tx);
        RevertResult *r = &j->res;
        free(r->message);
        free(r->transaction);
        free(r->socket);
        free(r->outcome);
        free(r->reason);
        changes_free(r->changes, r->n_changes);
        strv_free(j->left);
        free(j->msg);
        free(j->strategy);
        free(j->caller);
        free(j);
        return NULL;
}

/* --- ListTransactions --- */

void transaction_records_free(TransactionRecord *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(l[i].transaction);
                free(l[i].socket);
                free(l[i].strategy);
                free(l[i].outcome);
                changes_free(l[i].changes, l[i].n_changes);
        }
        free(l);
}

int engine_list_transactions(Engine *e, bool only_caller, uid_t caller, TransactionRecord **ret, size_t *n) {
        JournalEntry *l = NULL;
        size_t count = 0;
        TransactionRecord *out = NULL;
        size_t n_out = 0;
        int r = e->journal ? journal_list(e->journal, &l, &count) : 0;
        if (r < 0)
                return r;
        for (size_t i = 0; i < count; i++) {
                if (only_caller && l[i].uid != caller)
                        continue;
                TransactionRecord *t = ARRAY_PUSH(out, n_out);
                if (!t)
                        goto oom;
                t->time_usec = l[i].time_usec;
                t->uid = l[i].uid;
                if (!(t->transaction = strdup(l[i].id)) || !(t->socket = strdup(strempty(l[i].socket))) ||
                    !(t->strategy = strdup(strempty(l[i].strategy))) ||
                    /* A record this daemon is still applying shows as incomplete until it ends. */
                    !(t->outcome = strdup(l[i].outcome ? l[i].outcome : "incomplete")))
                        goto oom;
                for (size_t k = 0; k < l[i].n_changes; k++)
                        if (change_push(&t->changes, &t->n_changes, l[i].changes[k].kind, l[i].changes[k].target,
                                        l[i].changes[k].before, l[i].changes[k].after) < 0)
                                goto oom;
        }
        journal_entries_free(l, count);
        *ret = out;
        *n = n_out;
        return 0;
oom:
        journal_entries_free(l, count);
        transaction_records_free(out, n_out);
        return -ENOMEM;
}
