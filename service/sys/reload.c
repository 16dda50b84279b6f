/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "reload.h"

#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
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

/* The signal that makes a master start new workers with fresh groups; 0: none known
 * (caddy and lighttpd are restarted, not reloaded, for that). */
static int reload_signal(const char *server) {
        if (streq_ptr(server, "nginx"))
                return SIGHUP;
        if (streq_ptr(server, "apache2") || streq_ptr(server, "httpd"))
                return SIGUSR1;
        return 0;
}

static int read_stat(pid_t pid, char *state, pid_t *ppid, uint64_t *start_time);

bool reload_supported(const char *server) {
        return reload_signal(server) != 0;
}

const char *reload_refusal(const char *server, int r, const ReloadPlan *p) {
        /* Every reload sockfix makes is safe once planned: it tests the configuration
         * itself first (nginx -t, apache2 -t with the master's options and environment),
         * so a broken one never reaches a master that would stop on it (Apache's graceful
         * restart exits). */
        return r < 0 || !p || !reload_supported(server) ? "sockfix cannot reload it" : NULL;
}

int reload_refusal_of(const char *server, pid_t master, const char **ret) {
        ReloadPlan rp = {};
        int r = reload_plan(server, master, &rp);
        if (r == -ENOMEM)
                return r;
        *ret = reload_refusal(server, r, &rp);
        reload_plan_done(&rp);
        return 0;
}

int reload_plan_decide(const char *server, int booted, const char *unit, pid_t parent, ReloadPlan *ret) {
        int sig = reload_signal(server);
        if (sig == 0)
                return -EOPNOTSUPP;

        /* Under systemd the unit's ExecReload may do more than the signal (a
         * config test, a pid file), and systemd must know a reload happened. The
         * unit must be the master's own: systemd starts a service's daemon as a child
         * of PID 1 (a forking one is re-parented there), while a master some other
         * service started (a CI runner, a user's manager, user@UID.service) sits in
         * that service's unit, which a ReloadUnit would reload instead. */
        if (booted > 0 && unit && endswith(unit, ".service") && parent == 1) {
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
        char state;
        pid_t parent = 0;
        uint64_t start;
        if (booted > 0 && (read_stat(master, &state, &parent, &start) < 0 || sd_pid_get_unit(master, &unit) < 0)) {
                free(unit);
                unit = NULL;
        }
        return reload_plan_decide(server, booted, unit, parent, ret);
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

int reload_execute(const ReloadPlan *p, pid_t master, uint64_t start_time) {
        if (master <= 1)
                return -EINVAL;
        if (p->method == RELOAD_SYSTEMD_UNIT)
                return reload_unit(p->unit);
        /* SIGHUP's and SIGUSR1's default action ends a process: the signal goes to the
         * master diagnosed, through a pidfd taken while its start time still matched,
         * never to whatever process got its pid since. */
        _cleanup_close_ int fd = (int) syscall(SYS_pidfd_open, master, 0);
        if (fd < 0)
                return -errno;
        char state;
        pid_t parent;
        uint64_t start;
        int r = read_stat(master, &state, &parent, &start);
        if (r < 0)
                return r;
        if (start != start_time || state == 'Z')
                return -ESRCH;
        return syscall(SYS_pidfd_send_signal, fd, p->signal, NULL, 0) < 0 ? -errno : 0;
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

/* TCP_LISTEN in the st column of /proc/net/tcp{,6}. */
#define PROC_NET_TCP_LISTEN 0x0Au

static int cmp_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

/* Inodes of the sockets in LISTEN state in the master's network namespace: TCP (st 0A)
 * and unix stream listeners (__SO_ACCEPTCON). Sorted for bsearch. */
static int listener_inodes(pid_t master, uint32_t **ret, size_t *n) {
        static const char *const tables[] = { "tcp", "tcp6", "unix" };
        _cleanup_free_ uint32_t *list = NULL;
        size_t count = 0;
        for (size_t i = 0; i < ELEMENTSOF(tables); i++) {
                char path[64];
                snprintf(path, sizeof path, "/proc/%d/net/%s", (int) master, tables[i]);
                _cleanup_free_ char *text = NULL;
                int r = read_full_file(path, &text, NULL);
                if (r == -ENOENT && i < 2)
                        continue; /* no IPv6, or no IPv4, in this kernel */
                if (r < 0)
                        return r;
                bool unix_table = i == 2;
                char *save = NULL;
                /* The first line is the column header. */
                for (char *l = strtok_r(text, "\n", &save); (l = strtok_r(NULL, "\n", &save));) {
                        unsigned st, flags, type;
                        unsigned long ino;
                        bool listening;
                        if (unix_table) {
                                /* Num RefCount Protocol Flags Type St Inode Path */
                                if (sscanf(l, "%*s %*s %*s %x %x %x %lu", &flags, &type, &st, &ino) != 4)
                                        continue;
                                listening = flags & PROC_NET_UNIX_ACCEPTCON;
                        } else {
                                /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
                                if (sscanf(l, "%*s %*s %*s %x %*s %*s %*s %*s %*s %lu", &st, &ino) != 2)
                                        continue;
                                listening = st == PROC_NET_TCP_LISTEN;
                        }
                        if (!listening || ino == 0 || ino > UINT32_MAX)
                                continue;
                        uint32_t *slot = ARRAY_PUSH(list, count);
                        if (!slot)
                                return -ENOMEM;
                        *slot = (uint32_t) ino;
                }
        }
        if (count > 0)
                qsort(list, count, sizeof *list, cmp_u32);
        *ret = TAKE_PTR(list);
        *n = count;
        return 0;
}

/* Whether pid holds one of the listening sockets. When its fds cannot be read (it
 * left, or the ptrace check says no) it counts as not listening: the wait is then
 * what it was before this check, rather than a timeout on every fix. */
static bool holds_listener(pid_t pid, const uint32_t *listeners, size_t n) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd", (int) pid);
        _cleanup_closedir_ DIR *d = opendir(path);
        if (!d)
                return false;
        struct dirent *de;
        while ((de = readdir(d))) {
                char target[32];
                ssize_t k = readlinkat(dirfd(d), de->d_name, target, sizeof target - 1);
                if (k < 0)
                        continue;
                target[k] = 0;
                uint32_t ino;
                if (parse_socket_fd_link(target, &ino) && bsearch(&ino, listeners, n, sizeof *listeners, cmp_u32))
                        return true;
        }
        return false;
}

/* Settled once the old workers are gone, or the new ones hold the group and no old
 * worker still listens: an old worker finishing a long request (an upload, a long poll)
 * may linger, but once it has closed its listening sockets it takes no new connection.
 * Until it has (nginx handles the master's QUIT a moment after the new workers start),
 * a request may still land on it and get the old 502. At least one new worker must run
 * either way. */
static int workers_settled(pid_t master, const Worker *w, size_t n, const WorkerId *old, size_t n_old,
                           gid_t required, bool *ret) {
        size_t fresh = 0;
        bool old_left = false;
        *ret = false;
        for (size_t i = 0; i < n; i++) {
                if (worker_is_old(&w[i], old, n_old)) {
                        old_left = true;
                        continue;
                }
                fresh++;
                if (required != (gid_t) -1 && !w[i].has_gid)
                        return 0;
        }
        if (fresh == 0)
                return 0;
        if (!old_left) {
                *ret = true;
                return 0;
        }
        if (required == (gid_t) -1)
                return 0;

        _cleanup_free_ uint32_t *listeners = NULL;
        size_t n_listeners = 0;
        int r = listener_inodes(master, &listeners, &n_listeners);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (worker_is_old(&w[i], old, n_old) && holds_listener(w[i].id.pid, listeners, n_listeners))
                        return 0;
        *ret = true;
        return 0;
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
                bool settled;
                r = workers_settled(master, w, n, old, n_old, required_gid, &settled);
                if (r < 0)
                        return r;
                if (settled)
                        return 0;
                if (now_ms() >= deadline)
                        return -ETIMEDOUT;
                struct timespec ts = { .tv_nsec = WORKER_POLL_MS * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
}

/* A finished test's verdict: -EBADMSG when the server rejected its configuration. */
static int test_verdict(int r, CommandResult *res, char **output) {
        if (r >= 0 && res->exit_code != 0)
                r = -EBADMSG;
        if (output && res->output)
                *output = TAKE_PTR(res->output);
        else if (output)
                *output = NULL;
        command_result_done(res);
        return r;
}

/* Runs the test to its end, or with started only starts it (config_test_poll()). */
static int run_test(char *const argv[], char *const env[], CommandJob **started) {
        return command_start(argv, env, CONFIG_TEST_TIMEOUT_MS, started);
}

int config_test_wait(CommandJob *j, char **output) {
        CommandResult res = {};
        return test_verdict(command_wait(j, &res), &res, output);
}

int config_test_poll(CommandJob *j, char **output) {
        CommandResult res = {};
        int r = command_poll(j, &res);
        return r == -EAGAIN ? r : test_verdict(r, &res, output);
}

int config_test_nginx_start(const char *exe, const char *conf, const char *prefix, const char *globals,
                            CommandJob **ret) {
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
        return run_test((char *const *) argv, NULL, ret);
}

int config_test_apache_start(const char *exe, char *const *master_argv, char *const *env, CommandJob **ret) {
        if (isempty(exe))
                return -EINVAL;
        /* The options that choose what the master read (its ServerRoot, file, defines and
         * directives), never what it was told to do: -k stop beside -t must not reach a
         * running Apache. Apache's getopt takes a value attached (-f/etc/x) or apart. */
        size_t n = strv_length((char **) master_argv);
        _cleanup_free_ const char **argv = calloc(n + 3, sizeof(char *));
        if (!argv)
                return -ENOMEM;
        size_t k = 0;
        argv[k++] = exe;
        argv[k++] = "-t";
        for (size_t i = 1; i < n; i++) {
                const char *a = master_argv[i];
                if (a[0] != '-' || !a[1] || !strchr("dfDCckeE", a[1]))
                        continue; /* a flag of no value (-X, -S...), or no option */
                bool keep = strchr("dfDCc", a[1]);
                if (a[2]) { /* attached */
                        if (keep)
                                argv[k++] = a;
                } else if (i + 1 < n) {
                        if (keep) {
                                argv[k++] = a;
                                argv[k++] = master_argv[i + 1];
                        }
                        i++;
                }
        }
        argv[k] = NULL;
        return run_test((char *const *) argv, env, ret);
}

int config_test_fpm_start(const char *exe, const char *conf, CommandJob **ret) {
        if (isempty(exe) || isempty(conf))
                return -EINVAL;
        const char *argv[] = { exe, "-t", "-y", conf, NULL };
        return run_test((char *const *) argv, NULL, ret);
}
