/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One function per record kind, one line per key; the key list is the contract's. */

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "sockfix-bus.h"

#include "marshal.h"
#include "util/util.h"

/* Group and pid lists go out as au straight from the report's arrays. */
static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t must be 32 bit");
static_assert(sizeof(pid_t) == sizeof(uint32_t), "pid_t must be 32 bit");

/* Opens {sv} with a variant of the given contents; the caller appends the value
 * and calls close_entry(). Basic appends throughout: a sweep writes some 40 entries per
 * socket, and sd_bus_message_append()'s format parsing was its largest cost. */
static int open_entry(sd_bus_message *m, const char *key, const char *contents) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(m, 's', key);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(m, 'v', contents);
}

static int close_entry(sd_bus_message *m) {
        int r;

        r = sd_bus_message_close_container(m); /* v */
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m); /* e */
}

static int append_basic_entry(sd_bus_message *m, const char *key, char type, const void *value) {
        const char contents[2] = { type, 0 };
        int r;

        r = open_entry(m, key, contents);
        if (r < 0)
                return r;
        r = sd_bus_message_append_basic(m, type, value);
        if (r < 0)
                return r;
        return close_entry(m);
}

/* A string any user may have chosen the bytes of (a path, a program name, a log
 * line): one that is not UTF-8 goes escaped, or sd-bus would refuse the whole reply
 * and one socket would break a sweep of the host. */
static int append_text(sd_bus_message *m, const char *s) {
        if (utf8_is_valid(s))
                return sd_bus_message_append_basic(m, 's', s);
        _cleanup_free_ char *e = utf8_escape_invalid(s);
        return e ? sd_bus_message_append_basic(m, 's', e) : -ENOMEM;
}

static int append_str(sd_bus_message *m, const char *key, const char *value) {
        int r;

        if (!value)
                return 0;
        r = open_entry(m, key, "s");
        if (r < 0)
                return r;
        r = append_text(m, value);
        if (r < 0)
                return r;
        return close_entry(m);
}

static int append_u32(sd_bus_message *m, const char *key, uint32_t value) {
        return append_basic_entry(m, key, 'u', &value);
}

static int append_i32(sd_bus_message *m, const char *key, int32_t value) {
        return append_basic_entry(m, key, 'i', &value);
}

static int append_u64(sd_bus_message *m, const char *key, uint64_t value) {
        return append_basic_entry(m, key, 't', &value);
}

static int append_bool(sd_bus_message *m, const char *key, bool value) {
        int b = value; /* D-Bus booleans are 32 bit */
        return append_basic_entry(m, key, 'b', &b);
}

static int append_strv(sd_bus_message *m, const char *key, char **l, bool keep_empty) {
        int r;

        if (!keep_empty && strv_length(l) == 0)
                return 0;
        r = open_entry(m, key, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "s");
        for (char **s = l; r >= 0 && s && *s; s++)
                r = append_text(m, *s);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return close_entry(m);
}

static int append_u32_array(sd_bus_message *m, const char *key, const void *a, size_t n) {
        int r;

        r = open_entry(m, key, "au");
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(m, 'u', a, n * sizeof(uint32_t));
        if (r < 0)
                return r;
        return close_entry(m);
}

/* The report's top-level keys in the order they are sent; bit i of ReportFields is
 * report_keys[i]. */
enum {
        KEY_SOCKET, KEY_RESOLVED, KEY_VERDICT, KEY_OWNER, KEY_GROUP, KEY_MODE, KEY_LISTENER,
        KEY_CONSUMERS, KEY_FINDINGS, KEY_CANDIDATES, KEY_EVIDENCE, KEY_FASTCGI, _KEY_MAX
};
static const char *const report_keys[_KEY_MAX] = {
        "socket", "resolved", "verdict", "owner", "group", "mode", "listener",
        "consumers", "findings", "candidates", "evidence", "fastcgi",
};
static_assert(_KEY_MAX <= 32, "ReportFields has 32 bits");

static bool wants(ReportFields fields, unsigned key) {
        return fields == 0 || (fields & UINT32_C(1) << key);
}

static int append_inode(sd_bus_message *m, const Report *r, ReportFields fields) {
        int k = 0;

        if (!r->have_inode)
                return 0;
        if (wants(fields, KEY_OWNER))
                k = append_str(m, "owner", r->owner);
        if (k >= 0 && wants(fields, KEY_GROUP))
                k = append_str(m, "group", r->group);
        if (k >= 0 && wants(fields, KEY_MODE))
                k = append_u32(m, "mode", r->mode & 07777);
        return k;
}

static int append_listener(sd_bus_message *m, const ListenerInfo *l) {
        int r;

        if (!l->present)
                return 0;
        r = open_entry(m, "listener", "a{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        if (l->pid > 0) {
                r = append_u32(m, "pid", (uint32_t) l->pid);
                if (r < 0)
                        return r;
        }
        r = append_str(m, "program", l->program);
        if (r >= 0)
                r = append_str(m, "pool", l->pool);
        if (r >= 0)
                r = append_str(m, "config", l->config);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return close_entry(m);
}

typedef int (*AppendFields)(sd_bus_message *m, const void *item);

/* One record: a{sv} of the fields f appends. */
static int append_record(sd_bus_message *m, AppendFields f, const void *item) {
        int r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = f(m, item);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* A list of n records of size bytes each: aa{sv}. */
static int append_records(sd_bus_message *m, AppendFields f, const void *items, size_t n, size_t size) {
        int r = sd_bus_message_open_container(m, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_record(m, f, (const char *) items + i * size);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* The same list as a key of the enclosing record. An empty list is kept: "none" (no
 * consumer, nothing changed) is the answer, not a missing value. */
static int append_records_entry(sd_bus_message *m, const char *key, AppendFields f, const void *items, size_t n,
                                size_t size) {
        int r = open_entry(m, key, "aa{sv}");
        if (r >= 0)
                r = append_records(m, f, items, n, size);
        if (r >= 0)
                r = close_entry(m);
        return r;
}

static int consumer_fields(sd_bus_message *m, const void *item) {
        const Consumer *c = item;
        int r = append_str(m, "server", c->server);
        if (r >= 0)
                r = append_str(m, "user", c->user);
        if (r >= 0)
                r = append_u32(m, "uid", c->uid);
        if (r >= 0)
                r = append_u32(m, "gid", c->gid);
        if (r >= 0)
                r = append_u32_array(m, "groups", c->groups, c->n_groups);
        if (r >= 0)
                r = append_u32_array(m, "pids", c->pids, c->n_pids);
        if (r >= 0)
                r = append_bool(m, "can_connect", c->can_connect);
        if (r >= 0)
                r = append_i32(m, "errno", c->error);
        if (r >= 0 && c->probe_errno >= 0)
                r = append_i32(m, "probe_errno", c->probe_errno);
        if (r >= 0)
                r = append_bool(m, "stale_credentials", c->stale_credentials);
        return r;
}

static int finding_fields(sd_bus_message *m, const void *item) {
        const Finding *f = item;
        int r = append_str(m, "code", f->code);
        if (r >= 0)
                r = append_str(m, "severity", severity_to_string(f->severity));
        if (r >= 0)
                r = append_str(m, "summary", f->summary);
        if (r >= 0)
                r = append_str(m, "detail", f->detail);
        if (r >= 0)
                r = append_str(m, "path", f->path);
        if (r >= 0)
                r = append_str(m, "consumer", f->consumer);
        /* An empty remedies list says "no strategy helps": keep it, it is information. */
        if (r >= 0)
                r = append_strv(m, "remedies", f->remedies, true);
        return r;
}

int bus_report_field_add(const char *key, void *dest, sd_bus_error *error) {
        ReportFields *fields = dest;
        char known[160] = "";

        for (size_t i = 0; i < _KEY_MAX; i++)
                if (streq_ptr(key, report_keys[i])) {
                        *fields |= UINT32_C(1) << i | UINT32_C(1) << KEY_SOCKET;
                        return 0;
                }
        for (size_t i = 0; i < _KEY_MAX; i++) {
                strncat(known, i > 0 ? ", " : "", sizeof(known) - strlen(known) - 1);
                strncat(known, report_keys[i], sizeof(known) - strlen(known) - 1);
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown report field '%.64s' (%s)", key, known);
}

int bus_append_report(sd_bus_message *m, const Report *rep, ReportFields fields) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_str(m, "socket", rep->socket);
        if (r >= 0 && wants(fields, KEY_RESOLVED))
                r = append_str(m, "resolved", rep->resolved);
        if (r >= 0 && wants(fields, KEY_VERDICT))
                r = append_str(m, "verdict", verdict_to_string(rep->verdict));
        if (r >= 0)
                r = append_inode(m, rep, fields);
        if (r >= 0 && wants(fields, KEY_LISTENER))
                r = append_listener(m, &rep->listener);
        if (r >= 0 && wants(fields, KEY_CONSUMERS))
                r = append_records_entry(m, "consumers", consumer_fields, rep->consumers, rep->n_consumers, sizeof(Consumer));
        if (r >= 0 && wants(fields, KEY_FINDINGS))
                r = append_records_entry(m, "findings", finding_fields, rep->findings, rep->n_findings, sizeof(Finding));
        if (r >= 0 && wants(fields, KEY_CANDIDATES))
                r = append_strv(m, "candidates", rep->candidates, false);
        if (r >= 0 && wants(fields, KEY_EVIDENCE))
                r = append_strv(m, "evidence", rep->evidence, false);
        if (r >= 0 && rep->fastcgi >= 0 && wants(fields, KEY_FASTCGI))
                r = append_bool(m, "fastcgi", rep->fastcgi > 0);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int bus_append_socket_record(sd_bus_message *m, const Report *rep) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_str(m, "path", rep->socket);
        if (r >= 0)
                r = append_inode(m, rep, 0);
        if (r >= 0)
                r = append_bool(m, "listening", rep->listening);
        if (r >= 0)
                r = append_listener(m, &rep->listener);
        if (r >= 0)
                r = append_strv(m, "servers", rep->servers, true);
        if (r >= 0)
                r = append_str(m, "verdict", verdict_to_string(rep->verdict));
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int change_fields(sd_bus_message *m, const void *item) {
        const Change *c = item;
        int r = append_str(m, "kind", c->kind);
        if (r >= 0)
                r = append_str(m, "target", c->target);
        if (r >= 0)
                r = append_str(m, "before", c->before);
        if (r >= 0)
                r = append_str(m, "after", c->after);
        return r;
}

static int activation_fields(sd_bus_message *m, const void *item) {
        const Activation *a = item;
        int r = append_str(m, "target", a->target);
        if (r >= 0)
                r = append_str(m, "action", a->action);
        return r;
}

static int append_changes(sd_bus_message *m, const Change *l, size_t n) {
        return append_records_entry(m, "changes", change_fields, l, n, sizeof(Change));
}

int bus_append_fix_result(sd_bus_message *m, const FixResult *res) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        /* Empty for dry runs, already-ok and not-permissions: the contract says so. */
        r = append_str(m, "transaction", strempty(res->transaction));
        if (r >= 0)
                r = append_str(m, "strategy", res->strategy);
        if (r >= 0)
                r = append_str(m, "outcome", res->outcome);
        if (r >= 0)
                r = append_str(m, "reason", res->reason);
        if (r >= 0)
                r = append_bool(m, "verified", res->verified);
        if (r >= 0)
                r = append_changes(m, res->changes, res->n_changes);
        if (r >= 0)
                r = append_records_entry(m, "activations", activation_fields, res->activations, res->n_activations, sizeof(Activation));
        if (r >= 0)
                r = append_str(m, "verdict_before", verdict_to_string(res->verdict_before));
        if (r >= 0 && res->have_verdict_after)
                r = append_str(m, "verdict_after", verdict_to_string(res->verdict_after));
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int bus_append_revert_result(sd_bus_message *m, const RevertResult *res) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_str(m, "transaction", res->transaction);
        if (r >= 0)
                r = append_str(m, "outcome", res->outcome);
        if (r >= 0)
                r = append_str(m, "reason", res->reason);
        if (r >= 0)
                r = append_changes(m, res->changes, res->n_changes);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int transaction_fields(sd_bus_message *m, const void *item) {
        const TransactionRecord *t = item;
        int r = append_str(m, "transaction", t->transaction);
        if (r >= 0)
                r = append_u64(m, "time", t->time_usec);
        if (r >= 0)
                r = append_u32(m, "uid", t->uid);
        if (r >= 0)
                r = append_str(m, "socket", t->socket);
        if (r >= 0)
                r = append_str(m, "strategy", t->strategy);
        if (r >= 0)
                r = append_str(m, "outcome", t->outcome);
        if (r >= 0)
                r = append_changes(m, t->changes, t->n_changes);
        return r;
}

int bus_append_transaction_records(sd_bus_message *m, const TransactionRecord *l, size_t n) {
        return append_records(m, transaction_fields, l, n, sizeof(TransactionRecord));
}

const char *bus_engine_error_name(EngineError e) {
        static const char *const names[] = {
                [ENGINE_ERROR_INVALID_ARGS] = SD_BUS_ERROR_INVALID_ARGS,
                [ENGINE_ERROR_NOT_A_SOCKET] = SOCKFIX_ERROR_NOT_A_SOCKET,
                [ENGINE_ERROR_UNKNOWN_SOCKET] = SOCKFIX_ERROR_UNKNOWN_SOCKET,
                [ENGINE_ERROR_UNSAFE_PATH] = SOCKFIX_ERROR_UNSAFE_PATH,
                [ENGINE_ERROR_NO_CONSUMER] = SOCKFIX_ERROR_NO_CONSUMER,
                [ENGINE_ERROR_STRATEGY_UNAVAILABLE] = SOCKFIX_ERROR_STRATEGY_UNAVAILABLE,
                [ENGINE_ERROR_REFUSED_GROUP] = SOCKFIX_ERROR_REFUSED_GROUP,
                [ENGINE_ERROR_BUSY] = SOCKFIX_ERROR_BUSY,
                [ENGINE_ERROR_CONFIG_TEST_FAILED] = SOCKFIX_ERROR_CONFIG_TEST_FAILED,
                [ENGINE_ERROR_UNKNOWN_TRANSACTION] = SOCKFIX_ERROR_UNKNOWN_TRANSACTION,
                [ENGINE_ERROR_CONFLICT] = SOCKFIX_ERROR_CONFLICT,
        };

        if ((size_t) e < ELEMENTSOF(names) && names[e])
                return names[e];
        return SD_BUS_ERROR_FAILED; /* ENGINE_OK is no error; a new code must be added above */
}
