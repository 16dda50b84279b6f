/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bus API, read top-down: the vtable at the bottom lists every property and
 * method; each method is a short handler above it. */

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "sockfix-bus.h"

#include "args.h"
#include "job-runner.h"
#include "manager.h"
#include "marshal.h"
#include "polkit.h"
#include "util/log.h"
#include "util/util.h"

struct Manager {
        Engine *engine;
        PolkitRegistry *polkit;
        JobRunner *jobs; /* fixes and reverts that wait */
        sd_bus_slot *vtable_slot;
        bool stopping; /* SIGTERM: running fixes and reverts finish; new ones answer Busy */
};

/* The options of Diagnose, DiagnoseAll and ListSockets: the engine's, and which keys
 * of each report to send (reports only: a socket record is small already). */
typedef struct DiagnoseCall {
        DiagnoseOptions o;
        ReportFields fields;
} DiagnoseCall;

static const BusOption report_options[] = {
        { "consumer", 's', offsetof(DiagnoseCall, o.consumer) },
        { "evidence", 'b', offsetof(DiagnoseCall, o.evidence) },
        { "fields", 'a', offsetof(DiagnoseCall, fields), bus_report_field_add },
};
#define SOCKET_RECORD_OPTIONS 2 /* the first two of report_options */

static int read_diagnose_options(sd_bus_message *m, bool reports, DiagnoseCall *c, sd_bus_error *error) {
        *c = (DiagnoseCall) {};
        return bus_read_options(m, report_options, reports ? ELEMENTSOF(report_options) : SOCKET_RECORD_OPTIONS,
                                c, error);
}

typedef struct SweepReply {
        sd_bus_message *reply;
        ReportFields fields; /* of reports */
} SweepReply;

static int append_report(const Report *r, void *userdata) {
        SweepReply *s = userdata;
        return bus_append_report(s->reply, r, s->fields);
}

static int append_socket_record(const Report *r, void *userdata) {
        SweepReply *s = userdata;
        return bus_append_socket_record(s->reply, r);
}

/* Beyond sockets a report is a stat() and a readlink() of any path, in root-only
 * directories too: a caller other than root is told less (DiagnoseOptions.restricted).
 * Its uid is known by now: the polkit check asked it (a cache hit). */
static bool caller_restricted(Manager *mgr, sd_bus_message *m, uid_t *ret_uid) {
        uid_t uid = (uid_t) -1; /* not known: restricted, and a uid no user has */
        if (bus_query_sender_uid(mgr->polkit, m, &uid) < 0)
                uid = (uid_t) -1;
        *ret_uid = uid;
        return uid != 0;
}

static void set_caller(Manager *mgr, sd_bus_message *m, DiagnoseOptions *o) {
        o->restricted = caller_restricted(mgr, m, &o->caller_uid);
}

static int consumer_unknown(sd_bus_error *error, const char *consumer) {
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option consumer: no user '%s' exists", consumer);
}

/* The sweeps differ only in what they send of each report. Reports are appended as
 * the engine makes them: the reply is the only place a sweep's results pile up. */
static int reply_sweep(sd_bus_message *m, Manager *mgr, bool reports, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        DiagnoseCall c;
        int r;

        r = read_diagnose_options(m, reports, &c, error);
        if (r < 0)
                return r;

        /* Sweeps carry no socket detail: a rule grants them whole or not at all. */
        r = bus_verify_polkit_async(m, SOCKFIX_ACTION_DIAGNOSE, NULL, mgr->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asking; we will be called again */
        set_caller(mgr, m, &c.o);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        if (r < 0)
                return r;
        SweepReply s = { .reply = reply, .fields = c.fields };
        r = engine_diagnose_each(mgr->engine, &c.o, reports ? append_report : append_socket_record, &s);
        if (r == -ENOMEM)
                return r;
        if (r == -ESRCH)
                return consumer_unknown(error, c.o.consumer);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to discover the sockets of this host: %m");
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_sockets(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return reply_sweep(m, userdata, false, error);
}

static int method_diagnose_all(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return reply_sweep(m, userdata, true, error);
}

/* An engine failure as the caller reads it. A path whose file system does not answer
 * is the one a caller can act on: say so, and that nothing was done. */
static int engine_error(sd_bus_error *error, int r, const char *verb, const char *socket) {
        if (r == -ETIMEDOUT)
                return sd_bus_error_setf(error, SOCKFIX_ERROR_TIMED_OUT,
                                         "Cannot %s %s: its lookup took more than %d s, so a file system on the path "
                                         "does not answer (a hung NFS, CIFS or FUSE mount, an automount that cannot "
                                         "mount); nothing was done",
                                         verb, socket, ENGINE_LOOKUP_TIMEOUT_MS / 1000);
        if (r == -EACCES)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Only root may %s %s: its lookup crosses a directory closed to you or to "
                                         "other users, or does not get to its end (too deep, a file system that does "
                                         "not answer), and no configuration only root can change names it as asked; "
                                         "nothing was done",
                                         verb, socket);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Cannot %s %s: %u earlier lookups on file systems that do not answer are "
                                         "still waiting; try again once they answer (nothing was done)",
                                         verb, socket, engine_stuck_lookups());
        return sd_bus_error_set_errnof(error, r, "Failed to %s %s: %m", verb, socket);
}

static void prepared_diagnosis_freev(void *p) {
        prepared_diagnosis_free(p);
}

static int method_diagnose(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(report_freep) Report *report = NULL;
        _cleanup_(polkit_prepared_done) PolkitPrepared prepared = {};
        PreparedDiagnosis *p;
        Manager *mgr = userdata;
        const char *socket;
        DiagnoseCall c;
        int r;

        r = sd_bus_message_read(m, "s", &socket);
        if (r < 0)
                return r;
        r = read_diagnose_options(m, true, &c, error);
        if (r < 0)
                return r;
        r = bus_check_socket_path(socket, error);
        if (r < 0)
                return r;

        const char *details[] = { "socket", socket, NULL };
        r = bus_verify_polkit_async_prepared(m, SOCKFIX_ACTION_DIAGNOSE, details, mgr->polkit, &prepared, error);
        if (r < 0)
                return r;
        set_caller(mgr, m, &c.o);
        if (r == 0) {
                /* polkit is asking, and we will be called again. Meanwhile the part of
                 * the diagnosis that only reads runs on the CPU polkitd leaves idle, as
                 * far as it costs no more than the check: a caller polkit refuses must
                 * not make sockfixd rebuild its model or read logs. The probe, a
                 * connection to the socket, waits for the answer. */
                const char *sender = strempty(sd_bus_message_get_sender(m));
                /* Our CheckAuthorization went out as a sync wakeup: the kernel put the
                 * bus daemon on this CPU to run when we sleep, which the reading below
                 * would put off by its whole length (0.2 ms, in 4 of 10 calls in
                 * `perf sched` traces), with the other CPU idle. Let it relay first. */
                (void) sched_yield();
                r = engine_diagnose_prepare(mgr->engine, socket, &c.o, true, &p);
                if (r >= 0 && bus_polkit_set_prepared(mgr->polkit, m,
                                                      (PolkitPrepared) { p, prepared_diagnosis_freev }) >= 0)
                        log_debug("Diagnosed %s for %s while polkit decides", socket, sender);
                else if (r == -EAGAIN)
                        log_debug("Diagnosis of %s for %s waits for polkit's answer: it costs more than a check",
                                  socket, sender);
                return 1;
        }

        p = TAKE_PTR(prepared.data);
        if (!p)
                r = engine_diagnose_prepare(mgr->engine, socket, &c.o, false, &p);
        if (r >= 0)
                r = engine_diagnose_finish(p, &report);
        if (r == -ESRCH)
                return consumer_unknown(error, c.o.consumer);
        if (r < 0)
                return engine_error(error, r, "diagnose", socket);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = bus_append_report(reply, report, c.fields);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

/* --- the write half --- */

/* A signal that cannot go out is logged: the call's own answer still does. */
static void emit_transaction_finished(sd_bus_message *call, const char *transaction, const char *socket,
                                      const char *outcome) {
        int r = sd_bus_emit_signal(sd_bus_message_get_bus(call), SOCKFIX_OBJECT_PATH, SOCKFIX_MANAGER_INTERFACE,
                                   "TransactionFinished", "sss", transaction, strempty(socket), strempty(outcome));
        if (r < 0)
                log_warning_errno(r, "Failed to emit TransactionFinished for %s", transaction);
}

/* Answers a Fix call, now or when its job ends: an engine refusal as its error, else
 * the result, after the signal for any Fix that got a transaction. */
static int reply_fix(sd_bus_message *call, const FixResult *res) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (res->error != ENGINE_OK) {
                /* The engine's one-line message, led by the path as asked where it does not name it. */
                bool named = res->message && res->socket && strstr(res->message, res->socket);
                /* It may quote a resolved path of any bytes: the bus takes UTF-8 only. */
                _cleanup_free_ char *msg = utf8_escape_invalid(strempty(res->message));
                if (!msg)
                        return -ENOMEM;

                return sd_bus_reply_method_errorf(call, bus_engine_error_name(res->error), "%s%s%s",
                                                  named ? "" : strempty(res->socket), named ? "" : ": ", msg);
        }

        if (!isempty(res->transaction))
                emit_transaction_finished(call, res->transaction, res->socket, res->outcome);

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = bus_append_fix_result(reply, res);
        if (r < 0)
                return sd_bus_reply_method_errnof(call, r, "Failed to send the result of fixing %s: %m",
                                                  strempty(res->socket));
        return sd_bus_send(NULL, reply, NULL);
}

/* Answers a Revert call, now or when its reloads are done: an engine refusal as its
 * error, else the result, after the signal. */
static int reply_revert(sd_bus_message *call, const RevertResult *res) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        if (res->error != ENGINE_OK) {
                _cleanup_free_ char *msg = utf8_escape_invalid(strempty(res->message));
                return msg ? sd_bus_reply_method_errorf(call, bus_engine_error_name(res->error), "%s", msg) : -ENOMEM;
        }

        emit_transaction_finished(call, res->transaction, res->socket, res->outcome);

        r = sd_bus_message_new_method_return(call, &reply);
        if (r >= 0)
                r = bus_append_revert_result(reply, res);
        if (r < 0)
                return sd_bus_reply_method_errnof(call, r, "Failed to send the result of reverting %s: %m",
                                                  res->transaction);
        return sd_bus_send(NULL, reply, NULL);
}

/* A job that waited (a configuration test, a reload) has ended. Its caller may have
 * left the bus: the answer is then refused by the bus and dropped, the job itself is
 * complete. */
static void on_job_done(sd_bus_message *call, const FixJob *fix, const RevertJob *revert, int error, void *userdata) {
        const char *what = fix ? "fix" : "revert";
        const char *socket = fix ? fix_job_result(fix)->socket : revert_job_result(revert)->socket;
        int r;

        (void) userdata;

        if (error < 0)
                r = sd_bus_reply_method_errnof(call, error, "Failed to finish the %s of %s: %m", what, strempty(socket));
        else
                r = fix ? reply_fix(call, fix_job_result(fix)) : reply_revert(call, revert_job_result(revert));
        if (r < 0)
                log_debug("Could not answer the %s of %s (caller %s gone?): %s", what, strempty(socket),
                          strempty(sd_bus_message_get_sender(call)), strerror(-r));
}

typedef struct FixCallOptions {
        bool dry_run;
        const char *consumer;
        const char *activation;
} FixCallOptions;

static const BusOption fix_options[] = {
        { "dry_run",    'b', offsetof(FixCallOptions, dry_run)    },
        { "consumer",   's', offsetof(FixCallOptions, consumer)   },
        { "activation", 's', offsetof(FixCallOptions, activation) },
};

static int method_fix(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(fix_job_freep) FixJob *job = NULL;
        Manager *mgr = userdata;
        const char *socket, *strategy;
        FixCallOptions o = {};
        bool no_activation;
        uid_t uid;
        int r;

        r = sd_bus_message_read(m, "ss", &socket, &strategy);
        if (r < 0)
                return r;
        r = bus_read_options(m, fix_options, ELEMENTSOF(fix_options), &o, error);
        if (r < 0)
                return r;
        r = bus_check_socket_path(socket, error);
        if (r < 0)
                return r;
        r = bus_check_strategy(strategy, error);
        if (r < 0)
                return r;
        r = bus_parse_activation(o.activation, &no_activation, error);
        if (r < 0)
                return r;

        /* A dry run changes nothing: it needs what Diagnose needs, asked with Fix's
         * details so that a rule can tell what was asked. */
        const char *details[] = { "socket", socket, "strategy", strategy, "consumer", strempty(o.consumer), NULL };
        r = bus_verify_polkit_async(m, o.dry_run ? SOCKFIX_ACTION_DIAGNOSE : SOCKFIX_ACTION_FIX, details,
                                    mgr->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asking; we will be called again */

        if (mgr->stopping && !o.dry_run)
                return sd_bus_error_setf(error, SOCKFIX_ERROR_BUSY,
                                         "%s: sockfixd is stopping; try again when it is back", socket);

        r = bus_query_sender_uid(mgr->polkit, m, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot tell who asked to fix %s: %m", socket);

        r = engine_fix_start(mgr->engine, socket, strategy,
                             &(FixOptions) {
                                     .dry_run = o.dry_run,
                                     .consumer = o.consumer,
                                     .no_activation = no_activation,
                                     .caller_uid = uid,
                                     .caller = sd_bus_message_get_sender(m),
                             }, &job);
        if (r < 0)
                return engine_error(error, r, "fix", socket);

        if (fix_job_finished(job))
                return reply_fix(m, fix_job_result(job));

        /* Waiting for a test or a reload: answered by on_job_done(). */
        r = job_runner_add_fix(mgr->jobs, m, job);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to wait for the fix of %s: %m", socket);
        TAKE_PTR(job);
        return 1;
}

/* No option is defined yet; any key is InvalidArgs, so a typo never goes unnoticed. */
static int read_no_options(sd_bus_message *m, sd_bus_error *error) {
        char none;

        return bus_read_options(m, NULL, 0, &none, error);
}

static int method_revert(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(revert_job_freep) RevertJob *job = NULL;
        _cleanup_free_ char *socket = NULL;
        Manager *mgr = userdata;
        const char *id;
        uid_t uid;
        int r;

        r = sd_bus_message_read(m, "s", &id);
        if (r < 0)
                return r;
        r = read_no_options(m, error);
        if (r < 0)
                return r;
        r = bus_check_transaction_id(id, error);
        if (r < 0)
                return r;

        /* The socket is a polkit detail, so it is looked up before authorization. This
         * tells an unauthorized caller only whether the id exists. */
        r = engine_transaction_socket(mgr->engine, id, &socket);
        if (r == -ENOENT || r == -EINVAL)
                return sd_bus_error_setf(error, SOCKFIX_ERROR_UNKNOWN_TRANSACTION, "No transaction %s", id);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read transaction %s: %m", id);

        const char *details[] = { "transaction", id, "socket", socket, NULL };
        r = bus_verify_polkit_async(m, SOCKFIX_ACTION_REVERT, details, mgr->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asking; we will be called again */

        /* A Revert may have to wait for reloads, which a stopping daemon would give up on. */
        if (mgr->stopping)
                return sd_bus_error_setf(error, SOCKFIX_ERROR_BUSY,
                                         "Transaction %s: sockfixd is stopping; try again when it is back", id);

        r = bus_query_sender_uid(mgr->polkit, m, &uid);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot tell who asked to revert %s: %m", id);

        r = engine_revert_start(mgr->engine, id, uid, sd_bus_message_get_sender(m), &job);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to revert transaction %s: %m", id);
        if (revert_job_finished(job))
                return reply_revert(m, revert_job_result(job));

        /* A membership taken back: its servers reload after their configuration tests,
         * answered by on_job_done(). */
        r = job_runner_add_revert(mgr->jobs, m, job);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to wait for the revert of %s: %m", id);
        TAKE_PTR(job);
        return 1;
}

static int method_list_transactions(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *mgr = userdata;
        TransactionRecord *l = NULL;
        size_t n = 0;
        int r;

        r = read_no_options(m, error);
        if (r < 0)
                return r;

        /* A sweep: no socket detail, a rule grants it whole or not at all. */
        r = bus_verify_polkit_async(m, SOCKFIX_ACTION_DIAGNOSE, NULL, mgr->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asking; we will be called again */

        uid_t uid;
        bool restricted = caller_restricted(mgr, m, &uid);
        r = engine_list_transactions(mgr->engine, restricted, uid, &l, &n);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to read the transaction journal: %m");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = bus_append_transaction_records(reply, l, n);
        transaction_records_free(l, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        (void) bus, (void) path, (void) interface, (void) property, (void) userdata, (void) error;
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_strategies(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        Manager *mgr = userdata;

        (void) bus, (void) path, (void) interface, (void) property, (void) error;

        /* NULL (no model could be built) is an empty list, as before any pool was found. */
        char *const *l = engine_strategies(mgr->engine);
        return sd_bus_message_append_strv(reply, (char **) l);
}

/* Every method is UNPRIVILEGED: sd-bus would otherwise refuse non-root callers
 * before the handler runs; polkit decides instead. */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Strategies", "as", property_get_strategies, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("ListSockets",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("aa{sv}", sockets),
                                method_list_sockets,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Diagnose",
                                SD_BUS_ARGS("s", socket, "a{sv}", options),
                                SD_BUS_RESULT("a{sv}", report),
                                method_diagnose,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DiagnoseAll",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("aa{sv}", reports),
                                method_diagnose_all,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Fix",
                                SD_BUS_ARGS("s", socket, "s", strategy, "a{sv}", options),
                                SD_BUS_RESULT("a{sv}", result),
                                method_fix,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Revert",
                                SD_BUS_ARGS("s", transaction, "a{sv}", options),
                                SD_BUS_RESULT("a{sv}", result),
                                method_revert,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListTransactions",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("aa{sv}", transactions),
                                method_list_transactions,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("TransactionFinished",
                                SD_BUS_ARGS("s", transaction, "s", socket, "s", outcome),
                                0),
        SD_BUS_VTABLE_END
};

int manager_new(sd_bus *bus, Engine *engine, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->engine = engine;

        r = polkit_registry_new(&m->polkit);
        if (r < 0)
                return r;
        r = job_runner_new(engine, on_job_done, m, &m->jobs);
        if (r < 0)
                return r;

        r = sd_bus_add_object_vtable(bus, &m->vtable_slot, SOCKFIX_OBJECT_PATH,
                                     SOCKFIX_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        sd_bus_slot_unref(m->vtable_slot);
        job_runner_free(m->jobs);
        polkit_registry_free(m->polkit);
        free(m);
        return NULL;
}

unsigned manager_n_pending_authorizations(const Manager *m) {
        return polkit_registry_n_pending(m->polkit);
}

unsigned manager_n_running_jobs(const Manager *m) {
        return job_runner_n_running(m->jobs);
}

void manager_stop_accepting_fixes(Manager *m) {
        m->stopping = true;
}
