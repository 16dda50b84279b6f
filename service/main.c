/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sockfixd: owns org.sockfix.SockFix1 on the system bus and serves the Manager
 * object until SIGTERM, or, with --idle-timeout, until it has been idle that
 * long with no authorization pending (bus activation starts it again). */

#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "sockfix-bus.h"

#include "bus/manager.h"
#include "engine/engine.h"
#include "util/log.h"
#include "util/util.h"

#define USEC_PER_SEC UINT64_C(1000000)

static uint64_t arg_idle_timeout_usec = 0; /* 0: never exit on idle */
static bool arg_distro_defaults = true;

static void help(void) {
        printf("%s [OPTIONS...]\n\n"
               "Diagnose why a web server cannot connect to a FastCGI unix socket,\n"
               "served on the system bus as " SOCKFIX_BUS_NAME ".\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show package version\n"
               "     --idle-timeout=SEC   Exit after SEC seconds without calls (0: never)\n"
               "     --no-distro-defaults Do not read configs at distribution default paths\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_IDLE_TIMEOUT,
                ARG_NO_DISTRO_DEFAULTS,
        };
        static const struct option options[] = {
                { "help",               no_argument,       NULL, 'h'                    },
                { "version",            no_argument,       NULL, ARG_VERSION            },
                { "idle-timeout",       required_argument, NULL, ARG_IDLE_TIMEOUT       },
                { "no-distro-defaults", no_argument,       NULL, ARG_NO_DISTRO_DEFAULTS },
                {}
        };
        char *end;
        unsigned long sec;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts(PACKAGE_VERSION);
                        return 0;
                case ARG_IDLE_TIMEOUT:
                        errno = 0;
                        sec = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end != 0 || optarg[0] == '-' ||
                            sec > UINT64_MAX / USEC_PER_SEC)
                                return log_error_errno(EINVAL, "Invalid --idle-timeout value '%s'", optarg);
                        arg_idle_timeout_usec = sec * USEC_PER_SEC;
                        break;
                case ARG_NO_DISTRO_DEFAULTS:
                        arg_distro_defaults = false;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }

        if (optind < argc)
                return log_error_errno(EINVAL, "%s takes no arguments", program_invocation_short_name);
        return 1;
}

/* systemd passes StateDirectory=/RuntimeDirectory= as absolute paths (a
 * colon-separated list when several are configured; ours is the first). */
static int directory_from_env(const char *env, const char *fallback, char **ret) {
        const char *v = getenv(env);
        char *d;

        if (isempty(v))
                v = fallback;
        d = strndup(v, strcspn(v, ":"));
        if (!d)
                return -ENOMEM;
        if (d[0] != '/') {
                free(d);
                return log_error_errno(EINVAL, "$%s=%s is not an absolute path", env, v);
        }
        if (mkdir(d, 0755) < 0 && errno != EEXIST) {
                int r = log_error_errno(errno, "Failed to create %s", d);
                free(d);
                return r;
        }
        *ret = d;
        return 0;
}

/* Running fixes hold the host half-changed until they verify or roll back (the
 * engine bounds each reload wait): on SIGTERM, or once the name is released, the
 * loop keeps serving until they end, at most this long. */
#define DRAIN_TIMEOUT_USEC (30 * USEC_PER_SEC)

typedef struct LoopState {
        bool stop_requested;  /* SIGTERM / SIGINT */
        bool name_released;   /* idle exit: the bus confirmed we gave the name up */
} LoopState;

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        LoopState *st = userdata;

        (void) s, (void) si;
        st->stop_requested = true;
        return 0;
}

static int on_name_released(sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        LoopState *st = userdata;

        (void) reply, (void) error;
        st->name_released = true;
        return 0;
}

static uint64_t now_monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* Once asked to stop: exit when no fix or revert runs, or when the drain time is up
 * (the manager then abandons what still runs, and says so). Returns the sd_event_run
 * timeout until the next check. */
static uint64_t drain(sd_event *e, Manager *m, uint64_t *deadline) {
        unsigned n = manager_n_running_jobs(m);
        uint64_t now = now_monotonic_usec();

        if (*deadline == 0) {
                manager_stop_accepting_fixes(m);
                *deadline = now + DRAIN_TIMEOUT_USEC;
                if (n > 0)
                        log_info("Stopping once %u running fix%s or revert%s finished", n, n == 1 ? "" : "es",
                                 n == 1 ? " has" : "s have");
        }
        if (n == 0 || now >= *deadline) {
                if (n > 0)
                        log_warning("%u fix%s or revert%s still running after %" PRIu64 " s, stopping anyway", n,
                                    n == 1 ? "" : "es", n == 1 ? "" : "s", DRAIN_TIMEOUT_USEC / USEC_PER_SEC);
                (void) sd_event_exit(e, 0);
                return UINT64_MAX;
        }
        return *deadline - now;
}

/* Idle for us means: no event at all for the timeout (a call, a polkit answer, a
 * signal), no call waiting for polkit and no fix or revert running. We then give the name up
 * first and keep serving until the bus confirms, so a call that raced with us is
 * answered by us and the next one activates a fresh instance. */
static int run_loop(sd_event *e, sd_bus *bus, Manager *m, LoopState *st) {
        uint64_t drain_deadline = 0, timeout;
        bool releasing = false;
        int r;

        for (;;) {
                r = sd_event_get_state(e);
                if (r < 0)
                        return r;
                if (r == SD_EVENT_FINISHED)
                        break;

                if (r == SD_EVENT_EXITING)
                        timeout = UINT64_MAX;
                else if (st->stop_requested || st->name_released)
                        timeout = drain(e, m, &drain_deadline);
                else if (releasing || arg_idle_timeout_usec == 0)
                        timeout = UINT64_MAX;
                else
                        timeout = arg_idle_timeout_usec;

                r = sd_event_run(e, timeout);
                if (r < 0)
                        return log_error_errno(r, "Event loop failed");

                if (r == 0 && !releasing && !st->stop_requested && timeout == arg_idle_timeout_usec &&
                    manager_n_pending_authorizations(m) == 0 && manager_n_running_jobs(m) == 0) {
                        log_info("Idle for %" PRIu64 " s, exiting", arg_idle_timeout_usec / USEC_PER_SEC);
                        (void) sd_notify(false, "STOPPING=1");
                        r = sd_bus_release_name_async(bus, NULL, SOCKFIX_BUS_NAME, on_name_released, st);
                        if (r < 0)
                                return log_error_errno(r, "Failed to release %s", SOCKFIX_BUS_NAME);
                        releasing = true;
                }
        }

        r = 0;
        (void) sd_event_get_exit_code(e, &r);
        /* sd-bus ends the loop when the bus drops us (a reply past its max_message_size
         * does that): say so, or the daemon would vanish from the journal unexplained. */
        if (sd_bus_is_open(bus) <= 0 && !st->stop_requested && !st->name_released)
                log_warning("Lost the connection to the system bus, exiting (bus activation starts sockfixd "
                            "again on the next call)");
        return r;
}

static int run(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *state_dir = NULL, *runtime_dir = NULL;
        Engine *engine = NULL;
        Manager *m = NULL;
        LoopState st = {};
        sigset_t mask;
        int r;

        r = directory_from_env("STATE_DIRECTORY", STATE_DIR_DEFAULT, &state_dir);
        if (r < 0)
                return r;
        r = directory_from_env("RUNTIME_DIRECTORY", RUNTIME_DIR_DEFAULT, &runtime_dir);
        if (r < 0)
                return r;

        r = engine_new(&(EngineConfig) {
                                .proc_root = "/proc",
                                .state_dir = state_dir,
                                .runtime_dir = runtime_dir,
                                .scan_distro_defaults = arg_distro_defaults,
                        }, &engine);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the engine");

        /* The signals arrive through the loop (signalfd), so they must be blocked. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                r = log_error_errno(errno, "Failed to block signals");
                goto finish;
        }

        r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, on_signal, &st);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, on_signal, &st);
        if (r < 0) {
                log_error_errno(r, "Failed to set up the event loop");
                goto finish;
        }

        /* Honours $DBUS_SYSTEM_BUS_ADDRESS, which the tests' private bus uses. */
        r = sd_bus_open_system(&bus);
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the system bus");
                goto finish;
        }
        r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0) {
                log_error_errno(r, "Failed to attach the bus to the event loop");
                goto finish;
        }

        r = manager_new(bus, engine, &m);
        if (r < 0) {
                log_error_errno(r, "Failed to register %s", SOCKFIX_OBJECT_PATH);
                goto finish;
        }

        /* The object is in place before the name is owned: a bus-activated call
         * queued for the name finds it. */
        r = sd_bus_request_name(bus, SOCKFIX_BUS_NAME, 0);
        if (r < 0) {
                log_error_errno(r, "Failed to own %s on the system bus (bus policy installed? "
                                "another instance running?)", SOCKFIX_BUS_NAME);
                goto finish;
        }

        (void) sd_notify(false, "READY=1\nSTATUS=Serving " SOCKFIX_BUS_NAME);
        log_info("Serving %s", SOCKFIX_BUS_NAME);

        r = run_loop(e, bus, m, &st);

finish:
        /* Pending polkit queries hold call messages of the bus: drop them first. */
        manager_free(m);
        engine_free(engine);
        return r;
}

int main(int argc, char *argv[]) {
        int r;

        log_set_program(program_invocation_short_name);

        /* A sweep's reply over thousands of pools is megabytes, built by growing one
         * buffer. glibc raises its mmap threshold to the size of every mmapped block
         * freed: after the first sweep, the next one's reply would grow in the heap by
         * copying (old and new buffer resident at once) and stay resident after it was
         * sent. A fixed threshold keeps big buffers mmapped: they grow by mremap() and
         * go back to the system when freed. */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        /* run() returns the loop's exit code: non-zero also when the bus went away. */
        r = run();
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
