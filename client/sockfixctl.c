/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sockfixctl: parse arguments, call org.sockfix.SockFix1, render text or JSON.
 * No logic of its own: what is wrong and what to do comes from the service. */

#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "config.h"
#include "sockfix-bus.h"
#include "sockfix-contract.h"

#include "agent.h"
#include "bus-json.h"
#include "render.h"
#include "util/util.h"

/* Exit codes, documented in sockfixctl(1). Scripts branch on them. */
enum {
        EXIT_OK = 0,               /* ok, applied, planned, already-ok, reverted */
        EXIT_PROBLEM = 1,          /* diagnose: some socket's verdict is not "ok" */
        EXIT_NOT_PERMISSIONS = 2,  /* fix: the problem is not one of permissions */
        EXIT_ROLLED_BACK = 3,      /* fix: rolled back or failed */
        EXIT_NOT_AUTHORIZED = 4,   /* polkit or bus policy said no */
        EXIT_BAD_INPUT = 5,        /* usage error, or InvalidArgs from the service */
        EXIT_UNREACHABLE = 6,      /* no bus, or nobody owns org.sockfix.SockFix1 */
        EXIT_OTHER = 7,            /* any other failure */
        EXIT_REFUSED = 8,          /* fix/revert refused by sockfix (org.sockfix.SockFix1.Error.*) */
};

/* Long enough for a person typing a password, for a sweep of a large host, and for
 * a fix that waits for web server reloads to take effect before it answers. */
#define CALL_TIMEOUT_USEC (UINT64_C(300) * 1000000)

static bool arg_json = false;
static bool arg_ask_password = true;
static const char *arg_host = NULL;
static const char *arg_consumer = NULL;
static bool arg_evidence = false;
static const char *arg_fields = NULL; /* --fields, comma-separated */
static bool arg_all = false;
static const char *arg_strategy = NULL; /* NULL: auto */
static bool arg_dry_run = false;
static bool arg_no_reload = false;

/* Options given, checked against what the verb takes (Verb.options). */
enum {
        OPT_CONSUMER = 1 << 0,
        OPT_EVIDENCE = 1 << 1,
        OPT_ALL = 1 << 2,
        OPT_FIX = 1 << 3, /* --strategy, --dry-run, --no-reload */
        OPT_FIELDS = 1 << 4,
};
static unsigned arg_given = 0;

static void json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)
#define _cleanup_bus_error_ _cleanup_(sd_bus_error_free)

static int exit_code_for_error(const sd_bus_error *e, int r) {
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_ACCESS_DENIED,
                                   SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                return EXIT_NOT_AUTHORIZED;
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_INVALID_ARGS))
                return EXIT_BAD_INPUT;
        if (sd_bus_error_is_set(e) && strncmp(e->name, SOCKFIX_ERROR_PREFIX, strlen(SOCKFIX_ERROR_PREFIX)) == 0)
                return EXIT_REFUSED;
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                   SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED,
                                   SD_BUS_ERROR_UNKNOWN_OBJECT, SD_BUS_ERROR_UNKNOWN_INTERFACE,
                                   SD_BUS_ERROR_UNKNOWN_METHOD, SD_BUS_ERROR_TIMEOUT))
                return EXIT_UNREACHABLE;
        /* The connection itself failed: sd-bus reports it as an errno, or as an error
         * named after one (System.Error.ENOTCONN when ssh to -H's host fails). */
        bool errno_only = !sd_bus_error_is_set(e) || strncmp(e->name, "System.Error.", 13) == 0;
        int err = sd_bus_error_is_set(e) ? sd_bus_error_get_errno(e) : -r;
        if (errno_only && (err == ENOTCONN || err == ECONNRESET || err == ECONNREFUSED || err == ENOENT))
                return EXIT_UNREACHABLE;
        return EXIT_OTHER;
}

static int log_call_error(const char *what, const sd_bus_error *e, int r) {
        int code = exit_code_for_error(e, r);
        /* The daemon's message may quote a path of any bytes. */
        _cleanup_free_ char *msg = render_escape(sd_bus_error_is_set(e) ? e->message ?: e->name : strerror(-r));

        fprintf(stderr, "sockfixctl: %s: %s\n", what, msg ?: "?");
        if (sd_bus_error_has_name(e, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                fputs(arg_ask_password ? "sockfixctl: run it from a terminal (a polkit agent asks for the password) "
                                         "or as root\n"
                                       : "sockfixctl: --no-ask-password was given; authorization needs a password\n",
                      stderr);
        else if (code == EXIT_UNREACHABLE && arg_host)
                fprintf(stderr, "sockfixctl: can %s be reached over ssh, with sockfixd installed there?\n", arg_host);
        else if (code == EXIT_UNREACHABLE)
                fputs("sockfixctl: is sockfixd installed and the system bus running?\n", stderr);
        return code;
}

static int append_diagnose_options(sd_bus_message *m) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && arg_consumer)
                r = sd_bus_message_append(m, "{sv}", "consumer", "s", arg_consumer);
        if (r >= 0 && arg_evidence)
                r = sd_bus_message_append(m, "{sv}", "evidence", "b", 1);
        if (r >= 0 && arg_fields) {
                /* verdict always: it decides the exit status. The service names an unknown key. */
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', "fields");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                if (r >= 0)
                        r = sd_bus_message_append_basic(m, 's', "verdict");
                for (const char *p = arg_fields; r >= 0 && *p; p += strcspn(p, ",")) {
                        p += strspn(p, ",");
                        size_t len = strcspn(p, ",");
                        if (len > 0) {
                                char *key = strndup(p, len);
                                r = key ? sd_bus_message_append_basic(m, 's', key) : -ENOMEM;
                                free(key);
                        }
                }
                for (int i = 0; r >= 0 && i < 3; i++)
                        r = sd_bus_message_close_container(m);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int new_manager_call(sd_bus *bus, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, SOCKFIX_BUS_NAME, SOCKFIX_OBJECT_PATH,
                                              SOCKFIX_MANAGER_INTERFACE, method);
}

/* Sends the call and converts its one return value to JSON. Returns an exit code. */
static int call_read_json(sd_bus *bus, sd_bus_message *m, const char *what, json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_call(bus, m, CALL_TIMEOUT_USEC, &error, &reply);
        if (r < 0)
                return log_call_error(what, &error, r);

        r = bus_message_read_json(reply, ret);
        if (r < 0) {
                fprintf(stderr, "sockfixctl: cannot read the answer to %s: %s\n", sd_bus_message_get_member(m),
                        strerror(-r));
                return EXIT_OTHER;
        }
        return EXIT_OK;
}

/* Calls a diagnosis `method` (socket first if given, then the options) and converts
 * the one return value to JSON. Returns an exit code. */
static int call_manager(sd_bus *bus, const char *method, const char *socket, json_object **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        char what[PATH_MAX + 64];
        int r;

        snprintf(what, sizeof(what), "%s%s%s failed", method, socket ? " " : "", socket ?: "");

        r = new_manager_call(bus, method, &m);
        if (r >= 0 && socket)
                r = sd_bus_message_append(m, "s", socket);
        if (r >= 0)
                r = append_diagnose_options(m);
        if (r < 0)
                return log_call_error(what, &SD_BUS_ERROR_NULL, r);

        return call_read_json(bus, m, what, ret);
}

static void print_json(json_object *o) {
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static RenderContext render_context(void) {
        bool utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

        return (RenderContext) { .f = stdout, .resolve_names = !arg_host, .arrow = utf8 ? "\u2192" : "->" };
}

static const char *result_outcome(json_object *result) {
        json_object *v;

        return json_object_object_get_ex(result, "outcome", &v) ? json_object_get_string(v) : "";
}

/* Scripts branch on these (sockfixctl(1)). */
static int exit_code_for_outcome(const char *outcome) {
        static const struct {
                const char *outcome;
                int code;
        } table[] = {
                { "applied", EXIT_OK },           { "planned", EXIT_OK },
                { "already-ok", EXIT_OK },        { "reverted", EXIT_OK },
                { "not-permissions", EXIT_NOT_PERMISSIONS },
                { "rolled-back", EXIT_ROLLED_BACK }, { "failed", EXIT_ROLLED_BACK },
        };

        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (strcmp(table[i].outcome, outcome) == 0)
                        return table[i].code;
        return EXIT_OTHER;
}

static bool report_is_ok(json_object *report) {
        json_object *v;

        return json_object_object_get_ex(report, "verdict", &v) &&
               strcmp(json_object_get_string(v), "ok") == 0;
}

static int verb_status(sd_bus *bus, char **args, int n) {
        _cleanup_bus_error_ sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_json_ json_object *status = json_object_new_object(), *strategies = NULL;
        char *version = NULL, **l = NULL;
        RenderContext ctx = render_context();
        int r;

        (void) args, (void) n;

        r = sd_bus_get_property_string(bus, SOCKFIX_BUS_NAME, SOCKFIX_OBJECT_PATH,
                                       SOCKFIX_MANAGER_INTERFACE, "Version", &error, &version);
        if (r < 0)
                return log_call_error("cannot read Version", &error, r);
        json_object_object_add(status, "version", json_object_new_string(version));
        free(version);

        r = sd_bus_get_property_strv(bus, SOCKFIX_BUS_NAME, SOCKFIX_OBJECT_PATH,
                                     SOCKFIX_MANAGER_INTERFACE, "Strategies", &error, &l);
        if (r < 0)
                return log_call_error("cannot read Strategies", &error, r);
        strategies = json_object_new_array();
        for (char **s = l; s && *s; s++) {
                json_object_array_add(strategies, json_object_new_string(*s));
                free(*s);
        }
        free(l);
        json_object_object_add(status, "strategies", json_object_get(strategies));

        if (arg_json)
                print_json(status);
        else
                render_status(&ctx, status);
        return EXIT_OK;
}

static int verb_list(sd_bus *bus, char **args, int n) {
        _cleanup_json_ json_object *sockets = NULL;
        RenderContext ctx = render_context();
        int r;

        (void) args, (void) n;

        r = call_manager(bus, "ListSockets", NULL, &sockets);
        if (r != EXIT_OK)
                return r;
        if (arg_json)
                print_json(sockets);
        else
                render_socket_list(&ctx, sockets);
        return EXIT_OK;
}

static int print_reports(json_object *reports, bool as_array) {
        RenderContext ctx = render_context();
        size_t n = json_object_array_length(reports);
        int ret = EXIT_OK;

        for (size_t i = 0; i < n; i++)
                if (!report_is_ok(json_object_array_get_idx(reports, i)))
                        ret = EXIT_PROBLEM;

        if (arg_json) {
                print_json(as_array ? reports : json_object_array_get_idx(reports, 0));
                return ret;
        }
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        fputc('\n', stdout);
                render_report(&ctx, json_object_array_get_idx(reports, i));
        }
        return ret;
}

static int verb_diagnose(sd_bus *bus, char **args, int n) {
        _cleanup_json_ json_object *reports = NULL;
        int failed = EXIT_OK, r;

        if (arg_all) {
                r = call_manager(bus, "DiagnoseAll", NULL, &reports);
                if (r != EXIT_OK)
                        return r;
                return print_reports(reports, true);
        }

        /* One call per socket: each gets its own answer, and its own polkit detail. */
        reports = json_object_new_array();
        for (int i = 0; i < n; i++) {
                json_object *report = NULL;

                r = call_manager(bus, "Diagnose", args[i], &report);
                if (r != EXIT_OK) {
                        if (failed == EXIT_OK)
                                failed = r;
                        continue;
                }
                json_object_array_add(reports, report);
        }
        if (json_object_array_length(reports) > 0) {
                r = print_reports(reports, n > 1);
                if (failed == EXIT_OK)
                        failed = r;
        }
        return failed;
}

static int append_fix_options(sd_bus_message *m) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && arg_dry_run)
                r = sd_bus_message_append(m, "{sv}", "dry_run", "b", 1);
        if (r >= 0 && arg_consumer)
                r = sd_bus_message_append(m, "{sv}", "consumer", "s", arg_consumer);
        if (r >= 0 && arg_no_reload)
                r = sd_bus_message_append(m, "{sv}", "activation", "s", "none");
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int verb_fix(sd_bus *bus, char **args, int n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_json_ json_object *result = NULL;
        RenderContext ctx = render_context();
        char what[PATH_MAX + 64];
        int r;

        (void) n;
        snprintf(what, sizeof(what), "Fix %s failed", args[0]);

        r = new_manager_call(bus, "Fix", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", args[0], arg_strategy ?: "auto");
        if (r >= 0)
                r = append_fix_options(m);
        if (r < 0)
                return log_call_error(what, &SD_BUS_ERROR_NULL, r);

        r = call_read_json(bus, m, what, &result);
        if (r != EXIT_OK)
                return r;
        if (arg_json)
                print_json(result);
        else
                render_fix_result(&ctx, args[0], result);
        return exit_code_for_outcome(result_outcome(result));
}

static int verb_revert(sd_bus *bus, char **args, int n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_json_ json_object *result = NULL;
        RenderContext ctx = render_context();
        char what[128];
        int r;

        (void) n;
        snprintf(what, sizeof(what), "Revert %.64s failed", args[0]);

        r = new_manager_call(bus, "Revert", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "sa{sv}", args[0], 0);
        if (r < 0)
                return log_call_error(what, &SD_BUS_ERROR_NULL, r);

        r = call_read_json(bus, m, what, &result);
        if (r != EXIT_OK)
                return r;
        if (arg_json)
                print_json(result);
        else
                render_revert_result(&ctx, result);
        return exit_code_for_outcome(result_outcome(result));
}

static int verb_history(sd_bus *bus, char **args, int n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_json_ json_object *transactions = NULL;
        RenderContext ctx = render_context();
        int r;

        (void) args, (void) n;

        r = new_manager_call(bus, "ListTransactions", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 0);
        if (r < 0)
                return log_call_error("ListTransactions failed", &SD_BUS_ERROR_NULL, r);

        r = call_read_json(bus, m, "ListTransactions failed", &transactions);
        if (r != EXIT_OK)
                return r;
        if (arg_json)
                print_json(transactions);
        else
                render_transactions(&ctx, transactions);
        return EXIT_OK;
}

typedef struct Verb {
        const char *name;
        int min_args, max_args;
        int (*run)(sd_bus *bus, char **args, int n);
        unsigned options; /* OPT_* it takes */
} Verb;

static const Verb verbs[] = {
        /* status reads properties; ListSockets' records carry no log lines (evidence is
         * the reports'), so neither is offered an option it would ignore. */
        { "status",   0, 0,       verb_status,   0                                     },
        { "list",     0, 0,       verb_list,     OPT_CONSUMER                          },
        { "diagnose", 0, INT_MAX, verb_diagnose, OPT_CONSUMER | OPT_EVIDENCE | OPT_ALL | OPT_FIELDS },
        { "fix",      1, 1,       verb_fix,      OPT_CONSUMER | OPT_FIX                },
        { "revert",   1, 1,       verb_revert,   0                                     },
        { "history",  0, 0,       verb_history,  0                                     },
};

static void help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Diagnose why a web server cannot connect to a FastCGI unix socket.\n\n"
               "Commands:\n"
               "  status                      Show the service's version and strategies\n"
               "  list                        List the sockets this host's servers use\n"
               "  diagnose SOCKET...|--all    Explain who can connect and why not\n"
               "  fix SOCKET                  Grant the blocked web servers access, least privilege first\n"
               "  revert ID                   Undo a fix's transaction\n"
               "  history                     List the fixes made, and whether each was reverted\n\n"
               "Options:\n"
               "  -h --help                   Show this help\n"
               "     --version                Show package version\n"
               "     --json                   Print JSON\n"
               "     --no-ask-password        Do not ask for a password (no polkit agent)\n"
               "  -H --host=[USER@]HOST       Operate on a remote host (over ssh)\n"
               "     --consumer=USER          Only this web-server user\n"
               "     --evidence               Add the web servers' error-log lines\n"
               "     --all                    Diagnose every socket found\n"
               "     --fields=KEY,...         Only these keys of each report (and verdict),\n"
               "                              e.g. findings: a cheaper sweep of a large host\n"
               "     --strategy=NAME          Fix with auto (default), pool-acl, pool-group,\n"
               "                              member, dir-search or refresh\n"
               "     --dry-run                Show what fix would change; change nothing\n"
               "     --no-reload              Fix without reloading any server (not verified)\n\n"
               "See sockfixctl(1) for exit codes.\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_NO_ASK_PASSWORD,
                ARG_CONSUMER,
                ARG_EVIDENCE,
                ARG_ALL,
                ARG_FIELDS,
                ARG_STRATEGY,
                ARG_DRY_RUN,
                ARG_NO_RELOAD,
        };
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h'                 },
                { "version",         no_argument,       NULL, ARG_VERSION         },
                { "json",            no_argument,       NULL, ARG_JSON            },
                { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
                { "host",            required_argument, NULL, 'H'                 },
                { "consumer",        required_argument, NULL, ARG_CONSUMER        },
                { "evidence",        no_argument,       NULL, ARG_EVIDENCE        },
                { "all",             no_argument,       NULL, ARG_ALL             },
                { "fields",          required_argument, NULL, ARG_FIELDS          },
                { "strategy",        required_argument, NULL, ARG_STRATEGY        },
                { "dry-run",         no_argument,       NULL, ARG_DRY_RUN         },
                { "no-reload",       no_argument,       NULL, ARG_NO_RELOAD       },
                {}
        };
        int c;

        /* Our own messages: getopt's name the program by its path as run. */
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hH:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts(PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case 'H':
                        arg_host = optarg;
                        break;
                case ARG_CONSUMER:
                        if (!*optarg) {
                                fputs("sockfixctl: --consumer needs a user name\n", stderr);
                                return -EINVAL;
                        }
                        arg_consumer = optarg;
                        arg_given |= OPT_CONSUMER;
                        break;
                case ARG_EVIDENCE:
                        arg_evidence = true;
                        arg_given |= OPT_EVIDENCE;
                        break;
                case ARG_ALL:
                        arg_all = true;
                        arg_given |= OPT_ALL;
                        break;
                case ARG_FIELDS:
                        if (optarg[strspn(optarg, ",")] == 0) {
                                fputs("sockfixctl: --fields needs report keys, e.g. --fields=findings\n", stderr);
                                return -EINVAL;
                        }
                        arg_fields = optarg;
                        arg_given |= OPT_FIELDS;
                        break;
                case ARG_STRATEGY:
                        if (!*optarg) {
                                fputs("sockfixctl: --strategy needs a name\n", stderr);
                                return -EINVAL;
                        }
                        arg_strategy = optarg;
                        arg_given |= OPT_FIX;
                        break;
                case ARG_DRY_RUN:
                        arg_dry_run = true;
                        arg_given |= OPT_FIX;
                        break;
                case ARG_NO_RELOAD:
                        arg_no_reload = true;
                        arg_given |= OPT_FIX;
                        break;
                case ':':
                        fprintf(stderr, "sockfixctl: option '%s' needs a value; see --help\n", argv[optind - 1]);
                        return -EINVAL;
                case '?':
                        /* optopt: a short option's letter, a long one's value (ours are above 255). */
                        if (optopt > 0 && optopt < 128)
                                fprintf(stderr, "sockfixctl: unknown option '-%c'; see --help\n", optopt);
                        else
                                fprintf(stderr, "sockfixctl: bad option '%s'; see --help\n", argv[optind - 1]);
                        return -EINVAL;
                default:
                        abort();
                }
        return 1;
}

static int run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb = NULL;
        pid_t agent = 0;
        int n, r;

        if (optind >= argc) {
                fputs("sockfixctl: missing command; see --help\n", stderr);
                return EXIT_BAD_INPUT;
        }
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
                if (strcmp(verbs[i].name, argv[optind]) == 0)
                        verb = &verbs[i];
        if (!verb) {
                fprintf(stderr, "sockfixctl: unknown command '%s'; see --help\n", argv[optind]);
                return EXIT_BAD_INPUT;
        }
        n = argc - optind - 1;
        if (n < verb->min_args || n > verb->max_args) {
                fprintf(stderr, "sockfixctl: wrong number of arguments for '%s'\n", verb->name);
                return EXIT_BAD_INPUT;
        }
        /* Before connecting: bad input is exit 5 with or without a bus. */
        if (verb->run == verb_diagnose && arg_all == (n > 0)) {
                fputs("sockfixctl: diagnose takes SOCKET... or --all\n", stderr);
                return EXIT_BAD_INPUT;
        }
        if (arg_given & ~verb->options) {
                fprintf(stderr, "sockfixctl: %s does not take %s\n", verb->name,
                        arg_given & ~verb->options & OPT_FIX ? "--strategy, --dry-run or --no-reload" :
                        arg_given & ~verb->options & OPT_ALL ? "--all" :
                        arg_given & ~verb->options & OPT_FIELDS ? "--fields" :
                        arg_given & ~verb->options & OPT_EVIDENCE ? "--evidence" : "--consumer");
                return EXIT_BAD_INPUT;
        }
        /* The contract's rules for values, as sockfixd applies them (InvalidArgs). */
        char why_buf[SOCKFIX_WHY_MAX];
        const char *why = NULL;
        char **args = argv + optind + 1;
        for (int i = 0; !why && (verb->run == verb_diagnose || verb->run == verb_fix) && i < n; i++)
                why = sockfix_check_socket_path(args[i], why_buf, sizeof(why_buf));
        if (!why && verb->run == verb_fix && arg_strategy)
                why = sockfix_check_strategy(arg_strategy, why_buf, sizeof(why_buf));
        if (!why && verb->run == verb_revert)
                why = sockfix_check_transaction_id(args[0], why_buf, sizeof(why_buf));
        if (why) {
                fprintf(stderr, "sockfixctl: %s\n", why);
                return EXIT_BAD_INPUT;
        }

        r = arg_host ? sd_bus_open_system_remote(&bus, arg_host) : sd_bus_open_system(&bus);
        if (r < 0) {
                /* Name the bus's address: "No such file or directory" alone reads as if
                 * the socket path asked about were missing. */
                const char *address = getenv("DBUS_SYSTEM_BUS_ADDRESS");
                if (arg_host)
                        fprintf(stderr, "sockfixctl: cannot connect to the system bus of %s: %s\n", arg_host,
                                strerror(-r));
                else
                        fprintf(stderr, "sockfixctl: cannot connect to the system bus (%s): %s; is dbus running?\n",
                                address ?: "unix:path=/run/dbus/system_bus_socket", strerror(-r));
                return EXIT_UNREACHABLE;
        }

        /* polkit may then ask the user instead of refusing; the agent that asks runs
         * here only for local calls from a terminal, never for root. */
        (void) sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
        if (arg_ask_password && !arg_host && geteuid() != 0 && isatty(STDIN_FILENO))
                (void) polkit_agent_open(&agent);

        r = verb->run(bus, argv + optind + 1, n);

        polkit_agent_close(agent);
        return r;
}

int main(int argc, char *argv[]) {
        int r;

        /* Only to tell whether the terminal takes UTF-8 (the arrow in fix output). */
        (void) setlocale(LC_CTYPE, "");

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_BAD_INPUT : EXIT_OK;
        return run(argc, argv);
}
