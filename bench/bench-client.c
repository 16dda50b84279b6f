/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A lean sd-bus client that times sockfixd's methods and what they are compared with.
 * One connection per run; each repetition is one call plus the parse of its reply,
 * timed with CLOCK_MONOTONIC; one untimed warm-up call first. Prints key=value lines
 * (see bench-common.h) for bench/run.sh.
 *
 *   bench-client ping REPS                        Peer.Ping round trip to sockfixd
 *   bench-client diagnose-all REPS PREFIX TRUTH [FIELDS [NAME]]
 *                                                 DiagnoseAll; every report under PREFIX
 *                                                 must carry the verdict TRUTH gives its
 *                                                 socket ("PATH VERDICT" lines), and every
 *                                                 TRUTH socket must be reported. FIELDS
 *                                                 (comma-separated) is sent as the `fields`
 *                                                 option; each report must then carry
 *                                                 exactly socket and those keys. Keys are
 *                                                 printed as all_* without FIELDS, NAME_*
 *                                                 (default brief_*) with
 *   bench-client diagnose REPS SOCKET VERDICT     Diagnose(SOCKET) must answer VERDICT
 *   bench-client check-auth REPS USER SOCKET [VERDICT]
 *                                                 polkit CheckAuthorization of the diagnose
 *                                                 action for a bus connection of USER
 *                                                 (system-bus-name subject, as sockfixd
 *                                                 asks); root only. With VERDICT, that
 *                                                 connection calls Diagnose(SOCKET) after
 *                                                 each check, which must answer VERDICT:
 *                                                 both series side by side
 *   bench-client ready REPS EXE [ARGS...]         starts EXE REPS times and times exec to
 *                                                 the NameOwnerChanged that gives it the
 *                                                 name; stops it (SIGTERM) each time
 *   bench-client first 1 SOCKET VERDICT           one Diagnose, timed, without warm-up
 *                                                 (after a start: the host model built)
 *   bench-client serving 1 SOCKET STRATEGY        Fix(SOCKET, STRATEGY), then the Revert of
 *                                                 its transaction, each while a second
 *                                                 connection pings back to back; they must
 *                                                 answer applied and reverted
 *
 * Exit status: 0 done, 2 a wrong answer (verdict, authorization, a Fix or Revert's
 * outcome), 1 anything else. */

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "sockfix-bus.h"

#include "bench-common.h"

#define EXIT_WRONG 2
#define SWEEP_TIMEOUT_USEC (UINT64_C(600) * 1000000)

static int fail(const char *what, int r) {
        fprintf(stderr, "bench-client: %s: %s\n", what, strerror(r < 0 ? -r : r));
        return EXIT_FAILURE;
}

static int fail_error(const char *what, const sd_bus_error *e, int r) {
        if (sd_bus_error_is_set(e))
                fprintf(stderr, "bench-client: %s: %s: %s\n", what, e->name, e->message);
        else
                return fail(what, r);
        return EXIT_FAILURE;
}

/* ---------------------------------------------------------------------------------
 * Reply parsing */

/* Reads one a{sv} report, keeping "socket" and "verdict" (pointers into the message)
 * and skipping every other value; counts its keys into *n_keys if given. Returns 0
 * at the end of the enclosing array. */
static int read_report(sd_bus_message *m, const char **socket, const char **verdict, size_t *n_keys) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r <= 0)
                return r;
        *socket = *verdict = NULL;
        if (n_keys)
                *n_keys = 0;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, **want = NULL;

                r = sd_bus_message_read_basic(m, 's', &key);
                if (r < 0)
                        return r;
                if (n_keys)
                        (*n_keys)++;
                if (strcmp(key, "socket") == 0)
                        want = socket;
                else if (strcmp(key, "verdict") == 0)
                        want = verdict;
                if (want)
                        r = sd_bus_message_read(m, "v", "s", want);
                else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

static size_t align_to(size_t off, size_t a) {
        return (off + a - 1) & ~(a - 1);
}

static size_t alignment_of(char type) {
        switch (type) {
        case 'y': case 'g': case 'v':
                return 1;
        case 'n': case 'q':
                return 2;
        case 'x': case 't': case 'd': case '(': case '{': case 'r': case 'e':
                return 8;
        default: /* b i u h s o a */
                return 4;
        }
}

/* Walks the rest of the current container, reading every value, and adds its
 * marshalled size (D-Bus wire format, offsets relative to the body's start) to *off. */
static int body_size(sd_bus_message *m, size_t *off) {
        for (;;) {
                const char *contents;
                char type;
                int r;

                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r <= 0)
                        return r;
                if (type == 'a' || type == 'v' || type == 'r' || type == 'e') {
                        if (type == 'a') {
                                *off = align_to(*off, 4) + 4;
                                *off = align_to(*off, alignment_of(contents[0]));
                        } else if (type == 'v')
                                *off += 1 + strlen(contents) + 1;
                        else
                                *off = align_to(*off, 8);
                        r = sd_bus_message_enter_container(m, type, contents);
                        if (r < 0)
                                return r;
                        r = body_size(m, off);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                        continue;
                }

                union {
                        const char *s;
                        uint64_t u64;
                } v;
                r = sd_bus_message_read_basic(m, type, &v);
                if (r < 0)
                        return r;
                switch (type) {
                case 's': case 'o':
                        *off = align_to(*off, 4) + 4 + strlen(v.s) + 1;
                        break;
                case 'g':
                        *off += 1 + strlen(v.s) + 1;
                        break;
                default: {
                        size_t a = alignment_of(type);
                        *off = align_to(*off, a) + a;
                }
                }
        }
}

/* ---------------------------------------------------------------------------------
 * The timed loop: warm-up + REPS calls of one() */

typedef struct Ctx {
        sd_bus *bus;
        const char *socket;
        const char *expect;   /* verdict */
        const char *subject;  /* check-auth: the unique name */
        char **fields;        /* diagnose-all: the `fields` option, NULL for full reports */
        sd_bus_message *last; /* the last reply, for checks after the timing */
        uint64_t call_ns;     /* time until the reply arrived (without the parse) */
        int wrong;
} Ctx;

typedef int (*OnceFn)(Ctx *c);

static int run_series(Ctx *c, OnceFn one, unsigned reps, const char *prefix, bool report_call) {
        uint64_t *samples = calloc(reps + 1, sizeof(uint64_t));
        uint64_t *calls = calloc(reps + 1, sizeof(uint64_t));
        char name[64];
        int r;

        if (!samples || !calls)
                return -ENOMEM;
        for (unsigned i = 0; i <= reps; i++) {
                uint64_t t0 = bench_now_ns();
                r = one(c);
                if (r < 0)
                        return r;
                if (i > 0) {
                        samples[i - 1] = bench_now_ns() - t0;
                        calls[i - 1] = c->call_ns - t0;
                }
        }
        bench_print_series(prefix, samples, reps);
        if (report_call) {
                snprintf(name, sizeof(name), "%s_call", prefix);
                bench_print_series(name, calls, reps);
        }
        free(samples);
        free(calls);
        return 0;
}

static int keep_reply(Ctx *c, sd_bus_message *reply) {
        c->call_ns = bench_now_ns();
        sd_bus_message_unref(c->last);
        c->last = reply;
        return 0;
}

static int once_ping(Ctx *c) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(c->bus, SOCKFIX_BUS_NAME, SOCKFIX_OBJECT_PATH, "org.freedesktop.DBus.Peer",
                               "Ping", &e, &reply, "");
        if (r < 0) {
                fail_error("Ping", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        return keep_reply(c, reply);
}

static int once_diagnose_all(Ctx *c) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *call = NULL, *reply = NULL;
        const char *socket, *verdict;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &call, SOCKFIX_BUS_NAME, SOCKFIX_OBJECT_PATH,
                                           SOCKFIX_MANAGER_INTERFACE, "DiagnoseAll");
        if (r >= 0)
                r = sd_bus_message_open_container(call, 'a', "{sv}");
        if (r >= 0 && c->fields) {
                r = sd_bus_message_open_container(call, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append_basic(call, 's', "fields");
                if (r >= 0)
                        r = sd_bus_message_open_container(call, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(call, c->fields);
                if (r >= 0)
                        r = sd_bus_message_close_container(call);
                if (r >= 0)
                        r = sd_bus_message_close_container(call);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(call);
        if (r >= 0)
                r = sd_bus_call(c->bus, call, SWEEP_TIMEOUT_USEC, &e, &reply);
        sd_bus_message_unref(call);
        if (r < 0) {
                fail_error("DiagnoseAll", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        keep_reply(c, reply);

        r = sd_bus_message_enter_container(reply, 'a', "a{sv}");
        if (r < 0)
                return r;
        while ((r = read_report(reply, &socket, &verdict, NULL)) > 0)
                if (!socket || !verdict)
                        return -EBADMSG;
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

static int once_diagnose(Ctx *c) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *socket, *verdict;
        int r;

        r = sd_bus_call_method(c->bus, SOCKFIX_BUS_NAME, SOCKFIX_OBJECT_PATH, SOCKFIX_MANAGER_INTERFACE,
                               "Diagnose", &e, &reply, "sa{sv}", c->socket, 0);
        if (r < 0) {
                fail_error("Diagnose", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        keep_reply(c, reply);
        r = read_report(reply, &socket, &verdict, NULL);
        if (r < 0)
                return r;
        if (!verdict || strcmp(verdict, c->expect) != 0) {
                if (!c->wrong)
                        fprintf(stderr, "bench-client: Diagnose %s: verdict %s, expected %s\n",
                                c->socket, verdict ?: "(none)", c->expect);
                c->wrong++;
        }
        return 0;
}

static int once_check_auth(Ctx *c) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int authorized = 0, challenge = 0, r;

        r = sd_bus_call_method(c->bus, "org.freedesktop.PolicyKit1", "/org/freedesktop/PolicyKit1/Authority",
                               "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization", &e, &reply,
                               "(sa{sv})sa{ss}us",
                               "system-bus-name", 1, "name", "s", c->subject,
                               SOCKFIX_ACTION_DIAGNOSE,
                               1, "socket", c->socket,
                               UINT32_C(0), "");
        if (r < 0) {
                fail_error("CheckAuthorization", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        keep_reply(c, reply);
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r >= 0)
                r = sd_bus_message_skip(reply, "a{ss}");
        if (r < 0)
                return r;
        if (!authorized) {
                if (!c->wrong)
                        fprintf(stderr, "bench-client: polkit did not authorize %s (challenge %d)\n",
                                c->subject, challenge);
                c->wrong++;
        }
        return 0;
}

/* ---------------------------------------------------------------------------------
 * Commands */

static int open_bus(sd_bus **ret) {
        int r = sd_bus_open_system(ret);
        if (r < 0)
                return fail("connect to the system bus", r);
        return 0;
}

static int cmd_ping(unsigned reps) {
        Ctx c = {};
        int r;

        if (open_bus(&c.bus) != 0)
                return EXIT_FAILURE;
        r = run_series(&c, once_ping, reps, "ping", false);
        sd_bus_message_unref(c.last);
        sd_bus_flush_close_unref(c.bus);
        return r < 0 ? fail("ping", r) : 0;
}

static int cmd_diagnose(unsigned reps, const char *socket, const char *expect) {
        Ctx c = { .socket = socket, .expect = expect };
        int r;

        if (open_bus(&c.bus) != 0)
                return EXIT_FAILURE;
        r = run_series(&c, once_diagnose, reps, "diagnose", false);
        sd_bus_message_unref(c.last);
        sd_bus_flush_close_unref(c.bus);
        if (r < 0)
                return fail("diagnose", r);
        printf("diagnose_wrong=%d\n", c.wrong);
        return c.wrong ? EXIT_WRONG : 0;
}

/* One Diagnose, timed, no warm-up: the first call after sockfixd's start builds the host
 * model that later calls keep. */
static int cmd_first(const char *socket, const char *expect) {
        Ctx c = { .socket = socket, .expect = expect };
        int r;

        if (open_bus(&c.bus) != 0)
                return EXIT_FAILURE;
        uint64_t t0 = bench_now_ns();
        r = once_diagnose(&c);
        uint64_t took = bench_now_ns() - t0;
        sd_bus_message_unref(c.last);
        sd_bus_flush_close_unref(c.bus);
        if (r < 0)
                return fail("diagnose", r);
        printf("first_us=%.1f diagnose_wrong=%d\n", (double) took / 1000.0, c.wrong);
        return c.wrong ? EXIT_WRONG : 0;
}

/* FIELDS "a,b" -> { "a", "b", NULL }, in one allocation. */
static char **split_fields(const char *s, size_t *ret_n) {
        size_t n = 1, len = strlen(s);
        for (const char *p = s; *p; p++)
                n += *p == ',';
        char **l = malloc((n + 1) * sizeof(char *) + len + 1);
        if (!l)
                return NULL;
        char *copy = memcpy((char *) (l + n + 1), s, len + 1), *save = NULL;
        size_t i = 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                l[i++] = t;
        l[i] = NULL;
        *ret_n = i;
        return l;
}

static int cmd_diagnose_all(unsigned reps, const char *prefix, const char *truth_file, const char *fields,
                            const char *name) {
        size_t n_truth = 0, n_reports = 0, under = 0, wrong = 0, missing = 0, unknown = 0, size = 0;
        size_t prefix_len = strlen(prefix), n_ok = 0, n_denied = 0, n_other = 0, n_fields = 0, odd_keys = 0;
        const char *socket, *verdict, *p = fields ? name : "all";
        Truth *truth = NULL;
        Ctx c = {};
        int r;

        if (fields && !(c.fields = split_fields(fields, &n_fields)))
                return fail("fields", -ENOMEM);
        r = bench_load_truth(truth_file, &truth, &n_truth);
        if (r < 0)
                return fail(truth_file, r);
        if (open_bus(&c.bus) != 0)
                return EXIT_FAILURE;
        r = run_series(&c, once_diagnose_all, reps, p, true);
        if (r < 0)
                return fail("DiagnoseAll", r);

        /* Untimed: every verdict of the last reply against the truth, and its size. */
        r = sd_bus_message_rewind(c.last, true);
        if (r >= 0)
                r = sd_bus_message_enter_container(c.last, 'a', "a{sv}");
        size_t n_keys;
        while (r >= 0 && (r = read_report(c.last, &socket, &verdict, &n_keys)) > 0) {
                Truth key = { .path = (char *) socket }, *t;

                n_reports++;
                /* With FIELDS: socket and exactly the keys asked for (all of them are
                 * always present in this benchmark's reports). */
                if (fields && n_keys != n_fields + 1 && odd_keys++ < 5)
                        fprintf(stderr, "bench-client: %s has %zu keys, expected socket and %s\n", socket,
                                n_keys, fields);
                if (strncmp(socket, prefix, prefix_len) != 0)
                        continue;
                under++;
                if (strcmp(verdict, "ok") == 0)
                        n_ok++;
                else if (strcmp(verdict, "denied") == 0)
                        n_denied++;
                else
                        n_other++;
                t = bsearch(&key, truth, n_truth, sizeof(Truth), bench_cmp_truth);
                if (!t) {
                        if (unknown++ < 5)
                                fprintf(stderr, "bench-client: DiagnoseAll reported %s (%s), not in the truth\n",
                                        socket, verdict);
                        continue;
                }
                if (t->seen)
                        fprintf(stderr, "bench-client: DiagnoseAll reported %s twice\n", socket);
                t->seen = true;
                if (strcmp(t->verdict, verdict) != 0) {
                        if (wrong++ < 5)
                                fprintf(stderr, "bench-client: %s: verdict %s, expected %s\n", socket,
                                        verdict, t->verdict);
                }
        }
        if (r < 0)
                return fail("parse DiagnoseAll reply", r);
        for (size_t i = 0; i < n_truth; i++)
                if (!truth[i].seen) {
                        if (missing++ < 5)
                                fprintf(stderr, "bench-client: DiagnoseAll did not report %s\n", truth[i].path);
                }

        r = sd_bus_message_rewind(c.last, true);
        if (r >= 0)
                r = body_size(c.last, &size);
        if (r < 0)
                return fail("walk DiagnoseAll reply", r);

        printf("%s_reports=%zu %s_under_prefix=%zu %s_ok=%zu %s_denied=%zu %s_other=%zu %s_wrong=%zu "
               "%s_missing=%zu %s_unknown=%zu %s_odd_keys=%zu %s_reply_body_bytes=%zu\n",
               p, n_reports, p, under, p, n_ok, p, n_denied, p, n_other, p, wrong, p, missing, p, unknown, p,
               odd_keys, p, size);
        sd_bus_message_unref(c.last);
        sd_bus_flush_close_unref(c.bus);
        free(c.fields);
        return wrong || missing || unknown || odd_keys ? EXIT_WRONG : 0;
}

/* The child of check-auth, as USER: its connection is the subject. With a verdict
 * to expect, each byte from the parent asks it for one timed Diagnose, answered with
 * the time in ns (UINT64_MAX: failed or wrong). Exits when the parent closes. */
static void check_auth_child(int to_parent, int to_child, const struct passwd *pw, const char *socket,
                             const char *expect) {
        Ctx c = { .socket = socket, .expect = expect };
        const char *unique;
        char ch;

        if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
            setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
                _exit(3);
        if (sd_bus_open_system(&c.bus) < 0 || sd_bus_get_unique_name(c.bus, &unique) < 0)
                _exit(4);
        if (!bench_write_full(to_parent, unique, strlen(unique)) || !bench_write_full(to_parent, "\n", 1))
                _exit(5);
        while (bench_read_full(to_child, &ch, 1)) {
                uint64_t t0 = bench_now_ns(), ns;
                int wrong = c.wrong;
                ns = expect && once_diagnose(&c) >= 0 && c.wrong == wrong ? bench_now_ns() - t0 : UINT64_MAX;
                if (!bench_write_full(to_parent, &ns, sizeof(ns)))
                        break;
        }
        sd_bus_message_unref(c.last);
        sd_bus_flush_close_unref(c.bus);
        _exit(0);
}

/* Reads up to the newline the child ends its name with. */
static int read_name(int fd, char *name, size_t size) {
        size_t got = 0;

        while (got < size - 1) {
                ssize_t k = read(fd, name + got, 1);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return -EPROTO;
                if (name[got] == '\n')
                        break;
                got++;
        }
        name[got] = 0;
        return got > 0 ? 0 : -EPROTO;
}

/* Asks the child for one Diagnose; its time in ns. */
static int child_diagnose(int to_child, int from_child, uint64_t *ret_ns) {
        if (!bench_write_full(to_child, "d", 1))
                return -EPIPE;
        if (!bench_read_full(from_child, ret_ns, sizeof(*ret_ns)))
                return -EPROTO;
        return *ret_ns == UINT64_MAX ? -EBADMSG : 0; /* the child said why */
}

/* REPS pairs, back to back (one warm-up pair first): a CheckAuthorization, then a
 * Diagnose by the subject itself. */
static int run_pairs(Ctx *c, int to_child, int from_child, unsigned reps) {
        uint64_t *check = calloc(reps, sizeof(uint64_t)), *diag = calloc(reps, sizeof(uint64_t));
        int r = check && diag ? 0 : -ENOMEM;

        for (unsigned i = 0; r >= 0 && i <= reps; i++) {
                uint64_t t0, check_ns, diag_ns;

                t0 = bench_now_ns();
                r = once_check_auth(c);
                if (r < 0)
                        break;
                check_ns = bench_now_ns() - t0;
                r = child_diagnose(to_child, from_child, &diag_ns);
                if (r >= 0 && i > 0) {
                        check[i - 1] = check_ns;
                        diag[i - 1] = diag_ns;
                }
        }
        if (r >= 0) {
                bench_print_series("checkauth", check, reps);
                bench_print_series("diagnose", diag, reps);
        }
        free(check);
        free(diag);
        return r;
}

/* A child holding USER's credentials keeps a bus connection open while the parent,
 * root, asks polkit about it: the subject sockfixd would send for that caller. With
 * EXPECT, the child also calls Diagnose(SOCKET) after each CheckAuthorization, so
 * the two series are measured side by side (polkitd's own time drifts by a third
 * between series a few seconds apart) and the caller is the very subject asked about. */
static int cmd_check_auth(unsigned reps, const char *user, const char *socket, const char *expect) {
        int to_parent[2], to_child[2], status, r;
        struct passwd *pw;
        char name[256] = "";
        Ctx c = { .socket = socket, .subject = name };
        pid_t pid;

        pw = getpwnam(user);
        if (!pw)
                return fail(user, ENOENT);
        if (pipe2(to_parent, O_CLOEXEC) < 0 || pipe2(to_child, O_CLOEXEC) < 0)
                return fail("pipe", errno);
        pid = fork();
        if (pid < 0)
                return fail("fork", errno);
        if (pid == 0) {
                close(to_parent[0]);
                close(to_child[1]);
                check_auth_child(to_parent[1], to_child[0], pw, socket, expect);
        }
        close(to_parent[1]);
        close(to_child[0]);

        r = read_name(to_parent[0], name, sizeof(name));
        if (r == 0 && open_bus(&c.bus) != 0)
                r = -ENOTCONN;
        if (r == 0)
                r = expect ? run_pairs(&c, to_child[1], to_parent[0], reps)
                           : run_series(&c, once_check_auth, reps, "checkauth", false);

        close(to_child[1]);
        close(to_parent[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        sd_bus_message_unref(c.last);
        sd_bus_flush_close_unref(c.bus);
        if (r == -EBADMSG) {
                printf("diagnose_wrong=1\n");
                return EXIT_WRONG;
        }
        if (r < 0)
                return fail("CheckAuthorization", r);
        printf("checkauth_subject=%s checkauth_uid=%u checkauth_wrong=%d\n", name, (unsigned) pw->pw_uid,
               c.wrong);
        return c.wrong ? EXIT_WRONG : 0;
}

typedef struct NameState {
        bool owned;
} NameState;

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        NameState *s = userdata;
        const char *name, *old_owner, *new_owner;

        (void) error;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (strcmp(name, SOCKFIX_BUS_NAME) == 0)
                s->owned = new_owner[0] != 0;
        return 0;
}

/* Processes bus traffic until want == s->owned, the child (if any) died, or the
 * deadline. */
static int wait_owned(sd_bus *bus, NameState *s, bool want, pid_t child, uint64_t deadline_ns) {
        for (;;) {
                int r;

                while ((r = sd_bus_process(bus, NULL)) > 0)
                        if (s->owned == want)
                                return 0;
                if (r < 0)
                        return r;
                if (s->owned == want)
                        return 0;
                if (child > 0 && waitpid(child, NULL, WNOHANG) == child)
                        return -ECHILD;
                if (bench_now_ns() > deadline_ns)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, 50 * 1000);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

static long vm_rss_kib(pid_t pid) {
        char path[64], line[256];
        long kib = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

static int cmd_ready(unsigned reps, char **argv) {
        uint64_t *samples = calloc(reps, sizeof(uint64_t)), *rss = calloc(reps, sizeof(uint64_t));
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        NameState s = {};
        sd_bus *bus = NULL;
        int has = 0, r;

        if (!samples || !rss)
                return fail("ready", ENOMEM);
        if (open_bus(&bus) != 0)
                return EXIT_FAILURE;
        r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "NameOwnerChanged", on_name_owner_changed, &s);
        if (r < 0)
                return fail("add NameOwnerChanged match", r);
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &e, &reply, "s", SOCKFIX_BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        if (r < 0)
                return fail_error("NameHasOwner", &e, r);
        if (has) {
                fprintf(stderr, "bench-client: %s is already owned on this bus\n", SOCKFIX_BUS_NAME);
                return EXIT_FAILURE;
        }

        for (unsigned i = 0; i < reps; i++) {
                uint64_t t0, t1;
                int status;
                pid_t pid;

                s.owned = false;
                t0 = bench_now_ns();
                pid = fork();
                if (pid < 0)
                        return fail("fork", errno);
                if (pid == 0) {
                        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                        if (null >= 0)
                                dup2(null, STDOUT_FILENO);
                        execv(argv[0], argv);
                        _exit(127);
                }
                r = wait_owned(bus, &s, true, pid, t0 + UINT64_C(30) * 1000000000);
                t1 = bench_now_ns();
                if (r >= 0)
                        rss[i] = (uint64_t) vm_rss_kib(pid);
                kill(pid, SIGTERM);
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                if (r < 0)
                        return fail("waiting for sockfixd to own its name", r);
                samples[i] = t1 - t0;
                r = wait_owned(bus, &s, false, 0, bench_now_ns() + UINT64_C(10) * 1000000000);
                if (r < 0)
                        return fail("waiting for the name to be released", r);
        }
        bench_print_series("ready", samples, reps);
        qsort(rss, reps, sizeof(uint64_t), bench_cmp_u64);
        printf("ready_rss_kib=%" PRIu64 "\n", rss[reps / 2]); /* VmRSS when the name was owned */
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(bus);
        return 0;
}

/* ---------------------------------------------------------------------------------
 * A Fix, then its Revert, while another connection pings: the daemon must go on
 * answering while a call of it waits (php-fpm -t of every pool file, twice for a Fix
 * that edits one). */

static const char *or_none(const char *s) {
        return s ? s : "(none)";
}

typedef struct Pending {
        bool done;
        int error;
        sd_bus_message *reply;
} Pending;

static int on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Pending *p = userdata;
        (void) ret_error;
        p->done = true;
        if (sd_bus_message_is_method_error(m, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(m);
                fprintf(stderr, "%s: %s\n", e->name, or_none(e->message));
                p->error = -EIO;
        } else
                p->reply = sd_bus_message_ref(m);
        return 0;
}

/* The result's `outcome` and `transaction` (pointers into the message). */
static int read_outcome(sd_bus_message *m, const char **outcome, const char **transaction) {
        int r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, **want = NULL;
                if ((r = sd_bus_message_read_basic(m, 's', &key)) < 0)
                        return r;
                if (strcmp(key, "outcome") == 0)
                        want = outcome;
                else if (strcmp(key, "transaction") == 0)
                        want = transaction;
                r = want ? sd_bus_message_read(m, "v", "s", want) : sd_bus_message_skip(m, "v");
                if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
                        return r;
        }
        return r < 0 ? r : sd_bus_message_exit_container(m);
}

/* Sends call on `calls`, pings on `pings` back to back until its reply, then prints
 * PREFIX_ms and the pings' series as PREFIX_ping. */
static int call_while_pinging(sd_bus *calls, sd_bus *pings, sd_bus_message *call, const char *prefix,
                              sd_bus_message **ret_reply) {
        Pending p = {};
        sd_bus_slot *slot = NULL;
        size_t n = 0, allocated = 1024;
        uint64_t *samples = malloc(allocated * sizeof(uint64_t));
        Ctx c = { .bus = pings };
        char name[64];
        int r;

        if (!samples)
                return -ENOMEM;
        uint64_t t0 = bench_now_ns();
        r = sd_bus_call_async(calls, &slot, call, on_reply, &p, UINT64_C(300) * 1000000);
        while (r >= 0 && !p.done) {
                uint64_t t = bench_now_ns();
                if ((r = once_ping(&c)) < 0)
                        break;
                if (n == allocated) {
                        uint64_t *bigger = realloc(samples, 2 * allocated * sizeof(uint64_t));
                        if (!bigger) {
                                r = -ENOMEM;
                                break;
                        }
                        samples = bigger;
                        allocated *= 2;
                }
                samples[n++] = bench_now_ns() - t;
                while ((r = sd_bus_process(calls, NULL)) > 0 && !p.done)
                        ;
        }
        uint64_t took = bench_now_ns() - t0;
        sd_bus_slot_unref(slot);
        sd_bus_message_unref(c.last);
        if (r >= 0 && p.error < 0)
                r = p.error;
        if (r >= 0) {
                printf("%s_ms=%.1f\n", prefix, (double) took / 1e6);
                snprintf(name, sizeof(name), "%s_ping", prefix);
                bench_print_series(name, samples, n);
                *ret_reply = p.reply;
        } else
                sd_bus_message_unref(p.reply);
        free(samples);
        return r;
}

/* Sends call while pinging (see call_while_pinging()) and reads its result's outcome,
 * which must be `expect`, and transaction (pointing into *reply). 0, 1 for another
 * outcome (said on stderr), or -errno. */
static int outcome_while_pinging(sd_bus *calls, sd_bus *pings, sd_bus_message *call, const char *prefix,
                                 const char *expect, sd_bus_message **reply, const char **transaction) {
        const char *outcome = NULL;
        int r = call_while_pinging(calls, pings, call, prefix, reply);
        if (r >= 0)
                r = read_outcome(*reply, &outcome, transaction);
        if (r < 0)
                return r;
        if (!outcome || strcmp(outcome, expect) != 0 || !*transaction) {
                fprintf(stderr, "%s: outcome %s, expected %s\n", prefix, or_none(outcome), expect);
                return 1;
        }
        return 0;
}

static int cmd_serving(const char *socket, const char *strategy) {
        sd_bus *calls = NULL, *pings = NULL;
        sd_bus_message *fix = NULL, *fixed = NULL, *revert = NULL, *reverted = NULL;
        const char *transaction = NULL, *reverted_tx = NULL;
        int r, wrong;

        if (open_bus(&calls) != 0 || open_bus(&pings) != 0)
                return EXIT_FAILURE;
        r = sd_bus_message_new_method_call(calls, &fix, SOCKFIX_BUS_NAME, SOCKFIX_OBJECT_PATH,
                                           SOCKFIX_MANAGER_INTERFACE, "Fix");
        if (r >= 0)
                r = sd_bus_message_append(fix, "ssa{sv}", socket, strategy, 0);
        if (r >= 0)
                r = outcome_while_pinging(calls, pings, fix, "fix", "applied", &fixed, &transaction);
        if (r < 0)
                return fail("Fix while pinging", r);
        wrong = r;

        r = sd_bus_message_new_method_call(calls, &revert, SOCKFIX_BUS_NAME, SOCKFIX_OBJECT_PATH,
                                           SOCKFIX_MANAGER_INTERFACE, "Revert");
        if (r >= 0)
                r = sd_bus_message_append(revert, "sa{sv}", transaction ? transaction : "", 0);
        if (r >= 0)
                r = outcome_while_pinging(calls, pings, revert, "revert", "reverted", &reverted, &reverted_tx);
        if (r < 0)
                return fail("Revert while pinging", r);
        wrong |= r;

        printf("serving_wrong=%d\n", wrong);
        sd_bus_message_unref(fix);
        sd_bus_message_unref(fixed);
        sd_bus_message_unref(revert);
        sd_bus_message_unref(reverted);
        sd_bus_flush_close_unref(calls);
        sd_bus_flush_close_unref(pings);
        return wrong ? EXIT_WRONG : 0;
}

static void usage(const char *p) {
        fprintf(stderr,
                "usage: %s ping REPS\n"
                "       %s diagnose-all REPS PREFIX TRUTH-FILE [FIELD,... [NAME]]\n"
                "       %s diagnose REPS SOCKET VERDICT\n"
                "       %s check-auth REPS USER SOCKET [VERDICT]\n"
                "       %s ready REPS EXE [ARGS...]\n"
                "       %s serving 1 SOCKET STRATEGY\n"
                "       %s first 1 SOCKET VERDICT\n", p, p, p, p, p, p, p);
}

int main(int argc, char *argv[]) {
        unsigned reps;

        if (argc < 3) {
                usage(argv[0]);
                return EXIT_FAILURE;
        }
        reps = bench_parse_count(argv[2], "repetitions");
        if (reps == 0) {
                usage(argv[0]);
                return EXIT_FAILURE;
        }
        if (strcmp(argv[1], "ping") == 0 && argc == 3)
                return cmd_ping(reps);
        if (strcmp(argv[1], "diagnose-all") == 0 && argc >= 5 && argc <= 7)
                return cmd_diagnose_all(reps, argv[3], argv[4], argc >= 6 ? argv[5] : NULL,
                                        argc == 7 ? argv[6] : "brief");
        if (strcmp(argv[1], "diagnose") == 0 && argc == 5)
                return cmd_diagnose(reps, argv[3], argv[4]);
        if (strcmp(argv[1], "check-auth") == 0 && (argc == 5 || argc == 6))
                return cmd_check_auth(reps, argv[3], argv[4], argc == 6 ? argv[5] : NULL);
        if (strcmp(argv[1], "ready") == 0 && argc >= 4)
                return cmd_ready(reps, argv + 3);
        if (strcmp(argv[1], "first") == 0 && argc == 5)
                return cmd_first(argv[3], argv[4]);
        if (strcmp(argv[1], "serving") == 0 && argc == 5)
                return cmd_serving(argv[3], argv[4]);
        usage(argv[0]);
        return EXIT_FAILURE;
}
