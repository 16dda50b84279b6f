/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "render.h"

static const struct {
        const char *strategy;
        const char *text;
} remedy_texts[] = {
        { "auto",       "let sockfix combine the least-privilege fixes (sockfixctl fix SOCKET)" },
        { "pool-acl",   "grant the user by ACL in the pool (listen.acl_users) and on the live socket" },
        { "pool-group", "set the pool's listen.group to a group the web server's workers hold, in the pool and on the live socket" },
        { "member",     "add the web server's user to the socket's group (gpasswd) and reload the web server" },
        { "dir-search", "give the user search (x) on that directory only" },
        { "refresh",    "reload the web server so its workers take the groups the group database already grants" },
};

const char *remedy_to_text(const char *strategy) {
        for (size_t i = 0; i < sizeof(remedy_texts) / sizeof(remedy_texts[0]); i++)
                if (strcmp(remedy_texts[i].strategy, strategy) == 0)
                        return remedy_texts[i].text;
        return NULL;
}

static size_t control_len(const unsigned char *p) {
        if (*p < 0x20 || *p == 0x7f)
                return 1;
        if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) /* U+0080..U+009F: C1, CSI among them */
                return 2;
        return 0;
}

char *render_escape(const char *s) {
        char *out = malloc(strlen(s) * 4 + 1), *o = out;
        if (!out)
                return NULL;
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = control_len(p);
                if (n == 0) {
                        *o++ = (char) *p++;
                        continue;
                }
                for (size_t i = 0; i < n; i++)
                        o += sprintf(o, "\\x%02x", *p++);
        }
        *o = 0;
        return out;
}

void render_sanitize(json_object *o) {
        switch (json_object_get_type(o)) {
        case json_type_string: {
                const unsigned char *p = (const unsigned char *) json_object_get_string(o);
                while (*p && !control_len(p))
                        p++;
                if (!*p)
                        return;
                char *e = render_escape(json_object_get_string(o));
                if (e)
                        json_object_set_string(o, e);
                free(e);
                return;
        }
        case json_type_array:
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        render_sanitize(json_object_array_get_idx(o, i));
                return;
        case json_type_object: {
                json_object_object_foreach(o, key, v) {
                        (void) key;
                        render_sanitize(v);
                }
                return;
        }
        default:
                return;
        }
}

static json_object *get(json_object *o, const char *key) {
        json_object *v;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static const char *get_str(json_object *o, const char *key) {
        json_object *v = get(o, key);

        return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool get_int(json_object *o, const char *key, int64_t *ret) {
        json_object *v = get(o, key);

        if (!v || !json_object_is_type(v, json_type_int))
                return false;
        *ret = json_object_get_int64(v);
        return true;
}

static bool get_bool(json_object *o, const char *key, bool def) {
        json_object *v = get(o, key);

        return v && json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : def;
}

static size_t get_len(json_object *o, const char *key) {
        json_object *v = get(o, key);

        return v && json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

static void print_errno(FILE *f, int64_t e) {
        const char *name = e > 0 && e < 4096 ? strerrorname_np((int) e) : NULL;

        if (name)
                fprintf(f, "%s: %s", name, strerror((int) e));
        else
                fprintf(f, "error %" PRIi64, e);
}

static void print_strv(FILE *f, json_object *arr, const char *sep) {
        for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
                fprintf(f, "%s%s", i > 0 ? sep : "", json_object_get_string(json_object_array_get_idx(arr, i)));
}

void render_status(const RenderContext *ctx, json_object *status) {
        render_sanitize(status);
        fprintf(ctx->f, "     Version: %s\n", get_str(status, "version") ?: "?");
        fprintf(ctx->f, "  Strategies: ");
        print_strv(ctx->f, get(status, "strategies"), ", ");
        fputc('\n', ctx->f);
}

static void print_inode(FILE *f, json_object *o) {
        int64_t mode;

        if (!get_int(o, "mode", &mode)) {
                fputs("-", f);
                return;
        }
        fprintf(f, "%s:%s %04" PRIo64, get_str(o, "owner") ?: "?", get_str(o, "group") ?: "?", mode);
}

static void print_listener(FILE *f, json_object *l) {
        int64_t pid;

        fputs(get_str(l, "program") ?: "?", f);
        if (get_int(l, "pid", &pid))
                fprintf(f, " pid %" PRIi64, pid);
        if (get_str(l, "pool"))
                fprintf(f, ", pool %s", get_str(l, "pool"));
        if (get_str(l, "config"))
                fprintf(f, " (%s)", get_str(l, "config"));
}

void render_socket_list(const RenderContext *ctx, json_object *sockets) {
        render_sanitize(sockets);
        size_t n = json_object_array_length(sockets);

        for (size_t i = 0; i < n; i++) {
                json_object *s = json_object_array_get_idx(sockets, i);
                json_object *l = get(s, "listener");

                fprintf(ctx->f, "%s\n  verdict %s, %s, ", get_str(s, "path") ?: "?",
                        get_str(s, "verdict") ?: "?",
                        get_bool(s, "listening", false) ? "listening" : "not listening");
                print_inode(ctx->f, s);
                if (l) {
                        fputs("\n  listener ", ctx->f);
                        print_listener(ctx->f, l);
                }
                if (get_len(s, "servers") > 0) {
                        fputs("\n  used by ", ctx->f);
                        print_strv(ctx->f, get(s, "servers"), ", ");
                }
                fputc('\n', ctx->f);
        }
        fprintf(ctx->f, "%s%zu socket%s.\n", n > 0 ? "\n" : "", n, n == 1 ? "" : "s");
}

static void print_group(const RenderContext *ctx, int64_t gid) {
        struct group *g = ctx->resolve_names ? getgrgid((gid_t) gid) : NULL;

        if (g)
                fprintf(ctx->f, "%" PRIi64 "(%s)", gid, g->gr_name);
        else
                fprintf(ctx->f, "%" PRIi64, gid);
}

static void render_consumer(const RenderContext *ctx, json_object *c) {
        json_object *groups = get(c, "groups");
        int64_t uid = -1, gid = -1, e = 0, probe;
        size_t n_pids = get_len(c, "pids");

        (void) get_int(c, "uid", &uid);
        (void) get_int(c, "gid", &gid);
        (void) get_int(c, "errno", &e);

        fprintf(ctx->f, "  consumer  %s: user %s (uid %" PRIi64 "), groups ",
                get_str(c, "server") ?: "?", get_str(c, "user") ?: "?", uid);
        for (size_t i = 0; groups && i < json_object_array_length(groups); i++) {
                if (i > 0)
                        fputc(' ', ctx->f);
                print_group(ctx, json_object_get_int64(json_object_array_get_idx(groups, i)));
        }
        if (!groups || json_object_array_length(groups) == 0)
                print_group(ctx, gid);
        if (n_pids > 0)
                fprintf(ctx->f, ", %zu worker%s running", n_pids, n_pids == 1 ? "" : "s");
        else
                fputs(", not running", ctx->f);
        fputs("\n            ", ctx->f);

        if (get_bool(c, "can_connect", false))
                fputs("can connect", ctx->f);
        else {
                fputs("cannot connect (", ctx->f);
                print_errno(ctx->f, e);
                fputc(')', ctx->f);
        }
        if (get_int(c, "probe_errno", &probe)) {
                fputs("; real connect: ", ctx->f);
                if (probe == 0)
                        fputs("succeeded", ctx->f);
                else
                        print_errno(ctx->f, probe);
        }
        fputc('\n', ctx->f);
        if (get_bool(c, "stale_credentials", false))
                fputs("            stale credentials: the group database grants more than the workers hold\n", ctx->f);
}

static void render_finding(const RenderContext *ctx, json_object *fi) {
        json_object *remedies = get(fi, "remedies");

        fprintf(ctx->f, "  %-8s  %s: %s\n", get_str(fi, "severity") ?: "?", get_str(fi, "code") ?: "?",
                get_str(fi, "summary") ?: "");
        if (get_str(fi, "path"))
                fprintf(ctx->f, "            at fault: %s\n", get_str(fi, "path"));
        if (get_str(fi, "consumer"))
                fprintf(ctx->f, "            for: %s\n", get_str(fi, "consumer"));
        if (get_str(fi, "detail"))
                fprintf(ctx->f, "            %s\n", get_str(fi, "detail"));
        for (size_t i = 0; remedies && i < json_object_array_length(remedies); i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(remedies, i));
                const char *text = remedy_to_text(s);

                fprintf(ctx->f, "            fix %s: %s\n", s, text ?: "(see sockfixctl(1))");
        }
}

void render_report(const RenderContext *ctx, json_object *report) {
        render_sanitize(report);
        json_object *l = get(report, "listener"), *consumers = get(report, "consumers"),
                    *findings = get(report, "findings");
        const char *resolved = get_str(report, "resolved"), *socket = get_str(report, "socket");

        fprintf(ctx->f, "%s: %s\n", socket ?: "?", get_str(report, "verdict") ?: "?");
        if (resolved && socket && strcmp(resolved, socket) != 0)
                fprintf(ctx->f, "  resolved  %s\n", resolved);
        if (get(report, "mode")) {
                fputs("  socket    ", ctx->f);
                print_inode(ctx->f, report);
                fputc('\n', ctx->f);
        }
        if (l) {
                fputs("  listener  ", ctx->f);
                print_listener(ctx->f, l);
                fputc('\n', ctx->f);
        }
        if (get(report, "fastcgi"))
                fprintf(ctx->f, "  fastcgi   %s\n", get_bool(report, "fastcgi", false) ?
                        "answered FCGI_GET_VALUES" : "no FastCGI answer");
        for (size_t i = 0; consumers && i < json_object_array_length(consumers); i++)
                render_consumer(ctx, json_object_array_get_idx(consumers, i));
        for (size_t i = 0; findings && i < json_object_array_length(findings); i++)
                render_finding(ctx, json_object_array_get_idx(findings, i));
        if (get_len(report, "candidates") > 0) {
                fputs("  similar   ", ctx->f);
                print_strv(ctx->f, get(report, "candidates"), ", ");
                fputc('\n', ctx->f);
        }
        for (size_t i = 0; i < get_len(report, "evidence"); i++)
                fprintf(ctx->f, "  log       %s\n",
                        json_object_get_string(json_object_array_get_idx(get(report, "evidence"), i)));
}

static void render_change(const RenderContext *ctx, const char *label, json_object *c) {
        fprintf(ctx->f, "  %-12s %s %s: %s %s %s\n", label, get_str(c, "kind") ?: "?", get_str(c, "target") ?: "?",
                get_str(c, "before") ?: "?", ctx->arrow, get_str(c, "after") ?: "?");
}

static void render_changes(const RenderContext *ctx, const char *label, json_object *o) {
        json_object *changes = get(o, "changes");

        for (size_t i = 0; i < get_len(o, "changes"); i++)
                render_change(ctx, label, json_object_array_get_idx(changes, i));
}

void render_fix_result(const RenderContext *ctx, const char *socket, json_object *result) {
        render_sanitize(result);
        json_object *activations = get(result, "activations");
        const char *outcome = get_str(result, "outcome") ?: "?", *tx = get_str(result, "transaction");
        bool planned = strcmp(outcome, "planned") == 0;

        fprintf(ctx->f, "%s: %s\n", socket, outcome);
        if (get_str(result, "strategy"))
                fprintf(ctx->f, "  %-12s %s\n", "strategy", get_str(result, "strategy"));
        if (get_str(result, "reason"))
                fprintf(ctx->f, "  %-12s %s\n", "why", get_str(result, "reason"));
        render_changes(ctx, planned ? "would change" : "change", result);
        for (size_t i = 0; i < get_len(result, "activations"); i++) {
                json_object *a = json_object_array_get_idx(activations, i);

                fprintf(ctx->f, "  %-12s %s: %s\n", planned ? "would reload" : "reload", get_str(a, "target") ?: "?",
                        get_str(a, "action") ?: "?");
        }
        if (!planned && get(result, "verified"))
                fprintf(ctx->f, "  %-12s %s\n", "verified", get_bool(result, "verified", false) ? "yes" : "no");
        if (get_str(result, "verdict_before")) {
                fprintf(ctx->f, "  %-12s %s", "verdict", get_str(result, "verdict_before"));
                if (get_str(result, "verdict_after"))
                        fprintf(ctx->f, " %s %s", ctx->arrow, get_str(result, "verdict_after"));
                fputc('\n', ctx->f);
        }
        if (planned)
                fputs("Dry run: nothing was changed. Run it without --dry-run to apply this plan.\n", ctx->f);
        if (tx && *tx) {
                fprintf(ctx->f, "  %-12s %s\n", "transaction", tx);
                /* A rolled-back fix left nothing to undo; a failed one is finished by Revert. */
                if (strcmp(outcome, "rolled-back") != 0)
                        fprintf(ctx->f, "Undo it with: sockfixctl revert %s\n", tx);
        }
}

void render_revert_result(const RenderContext *ctx, json_object *result) {
        render_sanitize(result);
        fprintf(ctx->f, "transaction %s: %s\n", get_str(result, "transaction") ?: "?",
                get_str(result, "outcome") ?: "?");
        if (get_str(result, "reason"))
                fprintf(ctx->f, "  %-12s %s\n", "why", get_str(result, "reason"));
        render_changes(ctx, "undone", result);
}

static void format_time(json_object *t, char *buf, size_t size) {
        int64_t usec;
        struct tm tm;
        time_t sec;

        if (!t || !json_object_is_type(t, json_type_int) || (usec = json_object_get_int64(t)) <= 0) {
                snprintf(buf, size, "-");
                return;
        }
        sec = (time_t) (usec / 1000000);
        if (!localtime_r(&sec, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "%" PRIi64, usec);
}

static int column_width(json_object *rows, const char *key, int min) {
        int w = min;

        for (size_t i = 0; i < json_object_array_length(rows); i++) {
                const char *s = get_str(json_object_array_get_idx(rows, i), key);

                if (s && (int) strlen(s) > w)
                        w = (int) strlen(s);
        }
        return w;
}

void render_transactions(const RenderContext *ctx, json_object *transactions) {
        render_sanitize(transactions);
        size_t n = json_object_array_length(transactions);
        int ws = column_width(transactions, "socket", 6), wst = column_width(transactions, "strategy", 8);

        if (n > 0)
                fprintf(ctx->f, "%-19s  %-32s  %6s  %-*s  %-*s  %s\n", "TIME", "TRANSACTION", "UID", ws, "SOCKET",
                        wst, "STRATEGY", "OUTCOME");
        for (size_t i = 0; i < n; i++) {
                json_object *t = json_object_array_get_idx(transactions, i);
                char when[64];
                int64_t uid;

                format_time(get(t, "time"), when, sizeof(when));
                fprintf(ctx->f, "%-19s  %-32s  ", when, get_str(t, "transaction") ?: "?");
                if (get_int(t, "uid", &uid))
                        fprintf(ctx->f, "%6" PRIi64, uid);
                else
                        fprintf(ctx->f, "%6s", "-");
                fprintf(ctx->f, "  %-*s  %-*s  %s\n", ws, get_str(t, "socket") ?: "?", wst,
                        get_str(t, "strategy") ?: "?", get_str(t, "outcome") ?: "?");
        }
        fprintf(ctx->f, "%s%zu transaction%s.\n", n > 0 ? "\n" : "", n, n == 1 ? "" : "s");
}
