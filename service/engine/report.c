/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static const char *const verdict_table[_VERDICT_MAX] = {
        [VERDICT_NOT_A_SOCKET] = "not-a-socket",
        [VERDICT_MISSING] = "missing",
        [VERDICT_REFUSED] = "refused",
        [VERDICT_OVERLOADED] = "overloaded",
        [VERDICT_DENIED] = "denied",
        [VERDICT_NO_CONSUMER] = "no-consumer",
        [VERDICT_OK] = "ok",
};

const char *verdict_to_string(Verdict v) {
        return v < _VERDICT_MAX ? verdict_table[v] : NULL;
}

const char *severity_to_string(Severity s) {
        switch (s) {
        case SEVERITY_ERROR:
                return "error";
        case SEVERITY_WARNING:
                return "warning";
        case SEVERITY_INFO:
                return "info";
        }
        return NULL;
}

Report *report_new(const char *socket) {
        Report *r = calloc(1, sizeof(Report));
        if (!r)
                return NULL;
        r->socket = strdup(socket);
        if (!r->socket) {
                free(r);
                return NULL;
        }
        r->fastcgi = -1;
        return r;
}

static void consumer_done(Consumer *c) {
        free(c->server);
        free(c->user);
        free(c->groups);
        free(c->pids);
}

static void finding_done(Finding *f) {
        free(f->code);
        free(f->summary);
        free(f->detail);
        free(f->path);
        free(f->consumer);
        strv_free(f->remedies);
}

Report *report_free(Report *r) {
        if (!r)
                return NULL;
        free(r->socket);
        free(r->resolved);
        free(r->owner);
        free(r->group);
        free(r->listener.program);
        free(r->listener.pool);
        free(r->listener.config);
        strv_free(r->servers);
        for (size_t i = 0; i < r->n_consumers; i++)
                consumer_done(&r->consumers[i]);
        free(r->consumers);
        for (size_t i = 0; i < r->n_findings; i++)
                finding_done(&r->findings[i]);
        free(r->findings);
        strv_free(r->candidates);
        strv_free(r->evidence);
        free(r);
        return NULL;
}

void report_freep(Report **r) {
        report_free(*r);
}

Finding *report_add_finding(Report *r, const char *code, Severity sev, const char *consumer,
                            const char *path, const char *const *remedies, const char *summary_fmt, ...) {
        Finding *f = ARRAY_PUSH(r->findings, r->n_findings);
        if (!f)
                return NULL;
        va_list ap;
        va_start(ap, summary_fmt);
        int k = vasprintf(&f->summary, summary_fmt, ap);
        va_end(ap);
        f->code = strdup(code);
        f->severity = sev;
        f->consumer = strdup_or_null(consumer);
        f->path = strdup_or_null(path);
        bool oom = k < 0 || !f->code || (consumer && !f->consumer) || (path && !f->path);
        for (const char *const *i = remedies; !oom && i && *i; i++)
                oom = strv_extend(&f->remedies, *i) < 0;
        if (oom) {
                if (k < 0)
                        f->summary = NULL;
                finding_done(f);
                r->n_findings--;
                return NULL;
        }
        return f;
}

void report_remove_finding(Report *r, size_t i) {
        finding_done(&r->findings[i]);
        memmove(&r->findings[i], &r->findings[i + 1], (r->n_findings - i - 1) * sizeof(Finding));
        r->n_findings--;
}

int finding_set_detail(Finding *f, const char *fmt, ...) {
        va_list ap;
        char *d;
        va_start(ap, fmt);
        int k = vasprintf(&d, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        free(f->detail);
        f->detail = d;
        return 0;
}

bool report_has_finding(const Report *r, const char *code) {
        for (size_t i = 0; i < r->n_findings; i++)
                if (streq_ptr(r->findings[i].code, code))
                        return true;
        return false;
}

