/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* One function per record kind, one line per key; the key list is the contract's. */

#include <assert.h>
#include <stdint.h>

#include "marshal.h"
#include "util/util.h"

/* Group and pid lists go out as au straight from the report's arrays. */
static_assert(sizeof(gid_t) == sizeof(uint32_t), "gid_t must be 32 bit");
static_assert(sizeof(pid_t) == sizeof(uint32_t), "pid_t must be 32 bit");

static int append_str(sd_bus_message *m, const char *key, const char *value) {
        if (!value)
                return 0;
        return sd_bus_message_append(m, "{sv}", key, "s", value);
}

static int append_u32(sd_bus_message *m, const char *key, uint32_t value) {
        return sd_bus_message_append(m, "{sv}", key, "u", value);
}

static int append_i32(sd_bus_message *m, const char *key, int32_t value) {
        return sd_bus_message_append(m, "{sv}", key, "i", value);
}

static int append_bool(sd_bus_message *m, const char *key, bool value) {
        return sd_bus_message_append(m, "{sv}", key, "b", (int) value);
}

/* Opens {sv} with a variant of the given contents; the caller appends the value
 * and calls close_entry(). */
static int open_entry(sd_bus_message *m, const char *key, const char *contents) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", key);
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

static int append_strv(sd_bus_message *m, const char *key, char **l, bool keep_empty) {
        int r;

        if (!keep_empty && strv_length(l) == 0)
                return 0;
        r = open_entry(m, key, "as");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, l);
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

static int append_inode(sd_bus_message *m, const Report *r) {
        int k;

        if (!r->have_inode)
                return 0;
        k = append_str(m, "owner", r->owner);
        if (k >= 0)
                k = append_str(m, "group", r->group);
        if (k >= 0)
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

static int append_consumer(sd_bus_message *m, const Consumer *c) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_str(m, "server", c->server);
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
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int append_finding(sd_bus_message *m, const Finding *f) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_str(m, "code", f->code);
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
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int append_consumers(sd_bus_message *m, const Report *rep) {
        int r;

        r = open_entry(m, "consumers", "aa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "a{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < rep->n_consumers; i++) {
                r = append_consumer(m, &rep->consumers[i]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return close_entry(m);
}

static int append_findings(sd_bus_message *m, const Report *rep) {
        int r;

        r = open_entry(m, "findings", "aa{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "a{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < rep->n_findings; i++) {
                r = append_finding(m, &rep->findings[i]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return close_entry(m);
}

int bus_append_report(sd_bus_message *m, const Report *rep) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_str(m, "socket", rep->socket);
        if (r >= 0)
                r = append_str(m, "resolved", rep->resolved);
        if (r >= 0)
                r = append_str(m, "verdict", verdict_to_string(rep->verdict));
        if (r >= 0)
                r = append_inode(m, rep);
        if (r >= 0)
                r = append_listener(m, &rep->listener);
        if (r >= 0)
                r = append_consumers(m, rep);
        if (r >= 0)
                r = append_findings(m, rep);
        if (r >= 0)
                r = append_strv(m, "candidates", rep->candidates, false);
        if (r >= 0)
                r = append_strv(m, "evidence", rep->evidence, false);
        if (r >= 0 && rep->fastcgi >= 0)
                r = append_bool(m, "fastcgi", rep->fastcgi > 0);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int bus_append_reports(sd_bus_message *m, Report *const *reports, size_t n) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "a{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = bus_append_report(m, reports[i]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int append_socket_record(sd_bus_message *m, const Report *rep) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        r = append_str(m, "path", rep->socket);
        if (r >= 0)
                r = append_inode(m, rep);
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

int bus_append_socket_records(sd_bus_message *m, Report *const *reports, size_t n) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "a{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = append_socket_record(m, reports[i]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}
