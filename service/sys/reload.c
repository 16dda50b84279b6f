/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "reload.h"

#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-login.h>
#include <time.h>

#include "sys/command.h"
#include "util/util.h"

#define CONFIG_TEST_TIMEOUT_MS (30 * 1000)
#define WORKER_POLL_MS 50

static bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}

int reload_plan_decide(const char *server, int booted, const char *unit, ReloadPlan *ret) {
        int sig;
        if (streq_ptr(server, "nginx"))
                sig = SIGHUP;
        else if (streq_ptr(server, "apache2") || streq_ptr(server, "httpd"))
                sig = SIGUSR1;
        else
                return -EOPNOTSUPP;

        /* Under systemd the unit's ExecReload may do more than the signal (a
         * config test, a pid file), and systemd must know a reload happened. */
        if (booted > 0 && unit && endswith(unit, ".service")) {
                char *u = strdup(unit);
                if (!u)
                        return -ENOMEM;
                *ret = (ReloadPlan) { .method = RELOAD_SYSTEMD_UNIT, .signal = sig, .unit = u };
                return 0;
        }
        *ret = (ReloadPlan) { .method = RELOAD_SIGNAL, .signal = sig };
        return 0;
}

int reload_plan(const char *server, pid_t master, ReloadPlan *ret) {
        if (master <= 1)
                return -EINVAL;
        int booted = sd_booted();
        _cleanup_free_ char *unit = NULL;
        if (booted > 0 && sd_pid_get_unit(master, &unit) < 0)
                unit = NULL;
        return reload_plan_decide(server, booted, unit, ret);
}

void reload_plan_done(ReloadPlan *p) {
        if (!p)
                return;
        free(p->unit);
        p->unit = NULL;
}

int reload_plan_describe(const ReloadPlan *p, pid_t master, char **ret) {
        int k = p->method == RELOAD_SYSTEMD_UNIT ? asprintf(ret, "reload %s", p->unit)
                                                 : asprintf(ret, "SIG%s to %d", sigabbrev_np(p->signal), (int) master);
        return k < 0 ? -ENOMEM : 0;
}

static int reload_unit(const char *unit) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int r = sd_bus_open_system(&bus);
        if (r < 0)
                return r;
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "ReloadUnit", &error, &reply,
                               "ss", unit, "replace");
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        return r < 0 ? r : 0;
}

int reload_execute(const ReloadPlan *p, pid_t master) {
        if (master <= 1)
                return -EINVAL;
        if (p->method == RELOAD_SYSTEMD_UNIT)
                return reload_unit(p->unit);
        return kill(master, p->signal) < 0 ? -errno : 0;
}

/* /proc/PID/stat: the comm may hold spaces and ')', so fields are counted from
 * the last ')'. sys does not call up into host/proc.c, hence this small reader. */
static int read_stat(pid_t pid, char *state, pid_t *ppid, uint64_t *start_time) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL);
        if (r < 0)
                return r;
        char *p = strrchr(text, ')');
        if (!p)
                return -EINVAL;
        int pp;
        unsigned long long st;
        /* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
         * utime stime cutime cstime priority nice num_threads itrealvalue starttime */
        if (sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                   state, &pp, &st) != 3)
                return -EINVAL;
        *ppid = pp;
        *start_time = st;
        return 0;
}

/* Real uid and supplementary groups from /proc/PID/status. */
static int read_status(pid_t pid, uid_t *uid, gid_t required, bool *has_gid) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL);
        if (r < 0)
                return r;
        *has_gid = false;
        bool got_uid = false;
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                if (startswith(l, "Uid:")) {
                        unsigned u;
                        if (sscanf(l + 4, "%u", &u) == 1) {
                                *uid = u;
                                got_uid = true;
                        }
                } else if (startswith(l, "Groups:")) {
                        char *g = l + 7, *end;
                        for (;;) {
                                unsigned long v = strtoul(g, &end, 10);
                                if (end == g)
                                        break;
                                if ((gid_t) v == required)
                                        *has_gid = true;
                                g = end;
                        }
                }
        }
        return got_uid ? 0 : -EINVAL;
}

typedef struct Worker {
        WorkerId id;
        bool has_gid;
} Worker;

static int scan_workers(pid_t master, gid_t required, Worker **ret, size_t *n) {
        uid_t master_uid;
        bool unused;
        int r = read_status(master, &master_uid, required, &unused);
        if (r < 0)
                return r == -ENOENT ? -ESRCH : r;
        _cleanup_closedir_ DIR *d = opendir("/proc");
        if (!d)
                return -errno;
        _cleanup_free_ Worker *list = NULL;
        size_t count = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!isdigit((unsigned char) de->d_name[0]))
                        continue;
                pid_t pid = (pid_t) strtol(de->d_name, NULL, 10);
                char state;
                pid_t ppid;
                uint64_t start;
                uid_t uid;
                bool has_gid;
                /* Processes come and go while we look: a vanished one is skipped. */
                if (read_stat(pid, &state, &ppid, &start) < 0 || ppid != master || state == 'Z')
                        continue;
                if (read_status(pid, &uid, required, &has_gid) < 0)
                        continue;
                if (master_uid == 0 && uid == 0)
                        continue;
                Worker *w = ARRAY_PUSH(list, count);
                if (!w)
                        return -ENOMEM;
                *w = (Worker) { .id = { .pid = pid, .start_time = start }, .has_gid = has_gid };
        }
        *ret = TAKE_PTR(list);
        *n = count;
        return 0;
}

int workers_list(pid_t master, WorkerId **ret, size_t *n) {
        _cleanup_free_ Worker *w = NULL;
        size_t count = 0;
        int r = scan_workers(master, (gid_t) -1, &w, &count);
        if (r < 0)
                return r;
        WorkerId *ids = calloc(count ? count : 1, sizeof *ids);
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < count; i++)
                ids[i] = w[i].id;
        *ret = ids;
        *n = count;
        return 0;
}

static bool worker_is_old(const Worker *w, const WorkerId *old, size_t n_old) {
        for (size_t j = 0; j < n_old; j++)
                if (w->id.pid == old[j].pid && w->id.start_time == old[j].start_time)
                        return true;
        return false;
}

/* Settled once the old workers are gone, or the new ones hold the group: an old worker
 * still finishing a long request (an upload, a long poll) may linger, but it takes no
 * new connection after the reload. At least one new worker must run either way. */
static bool workers_settled(const Worker *w, size_t n, const WorkerId *old, size_t n_old, gid_t required) {
        size_t fresh = 0;
        bool old_left = false;
        for (size_t i = 0; i < n; i++) {
                if (worker_is_old(&w[i], old, n_old)) {
                        old_left = true;
                        continue;
                }
                fresh++;
                if (required != (gid_t) -1 && !w[i].has_gid)
                        return false;
        }
        if (fresh == 0)
                return false;
        return required != (gid_t) -1 || !old_left;
}

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

int wait_for_workers(pid_t master, const WorkerId *old, size_t n_old, gid_t required_gid, int timeout_ms) {
        uint64_t deadline = now_ms() + (uint64_t) (timeout_ms > 0 ? timeout_ms : 0);
        for (;;) {
                _cleanup_free_ Worker *w = NULL;
                size_t n = 0;
                int r = scan_workers(master, required_gid, &w, &n);
                if (r < 0)
                        return r;
                if (workers_settled(w, n, old, n_old, required_gid))
                        return 0;
                if (now_ms() >= deadline)
                        return -ETIMEDOUT;
                struct timespec ts = { .tv_nsec = WORKER_POLL_MS * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
}

static int run_test(char *const argv[], char **output) {
        CommandResult res = {};
        int r = command_run(argv, CONFIG_TEST_TIMEOUT_MS, &res);
        if (r >= 0 && res.exit_code != 0)
                r = -EBADMSG;
        if (output && res.output) {
                *output = TAKE_PTR(res.output);
        } else if (output)
                *output = NULL;
        command_result_done(&res);
        return r;
}

int config_test_nginx(const char *exe, const char *conf, const char *prefix, const char *globals, char **output) {
        if (isempty(exe))
                return -EINVAL;
        const char *argv[10];
        size_t n = 0;
        argv[n++] = exe;
        argv[n++] = "-t";
        if (conf) {
                argv[n++] = "-c";
                argv[n++] = conf;
        }
        if (prefix) {
                argv[n++] = "-p";
                argv[n++] = prefix;
        }
        if (globals) {
                argv[n++] = "-g";
                argv[n++] = globals;
        }
        argv[n] = NULL;
        return run_test((char *const *) argv, output);
}

int config_test_fpm(const char *exe, const char *conf, char **output) {
        if (isempty(exe) || isempty(conf))
                return -EINVAL;
        const char *argv[] = { exe, "-t", "-y", conf, NULL };
        return run_test((char *const *) argv, output);
}
