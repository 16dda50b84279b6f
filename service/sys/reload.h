/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Activation: making a web server pick up new group memberships, and the config
 * tests that must pass before anything is reloaded. nginx and Apache masters
 * running as root spawn workers with setgid + initgroups + setuid, so a reload
 * (SIGHUP / graceful SIGUSR1) gives new workers fresh groups; old workers keep
 * theirs until they exit, hence wait_for_workers(). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "sys/command.h"

typedef enum ReloadMethod {
        RELOAD_SIGNAL,       /* kill(master, signal) */
        RELOAD_SYSTEMD_UNIT, /* org.freedesktop.systemd1.Manager.ReloadUnit(unit, "replace") */
} ReloadMethod;

typedef struct ReloadPlan {
        ReloadMethod method;
        int signal;  /* RELOAD_SIGNAL: SIGHUP for nginx, SIGUSR1 (graceful) for Apache */
        char *unit;  /* RELOAD_SYSTEMD_UNIT: e.g. "nginx.service" */
} ReloadPlan;

/* Whether sockfix knows how to reload a server of this kind (nginx, Apache). */
bool reload_supported(const char *server);
/* Why a reload of server is not made, given reload_plan()'s result r and its plan p:
 * sockfix cannot reload it (Caddy, lighttpd: restarted, not reloaded); NULL when it
 * can. Fix refuses with it, Revert notes it. Every reload is preceded by the server's
 * own configuration test (apply.c). */
const char *reload_refusal(const char *server, int r, const ReloadPlan *p);
/* reload_refusal() of the plan reload_plan() makes for this running master, in *ret;
 * -ENOMEM, else 0. */
int reload_refusal_of(const char *server, pid_t master, const char **ret);
/* The decision alone: server is "nginx", "apache2" or "httpd"; booted is
 * sd_booted()'s answer, unit sd_pid_get_unit()'s (NULL if none) and parent the
 * master's parent pid. Only a .service unit whose daemon the master is (a child of
 * PID 1) is reloaded through systemd: a master started by hand sits in a session
 * scope, which has no reload, or in the unit of whatever started it. -EOPNOTSUPP for
 * other servers. */
int reload_plan_decide(const char *server, int booted, const char *unit, pid_t parent, ReloadPlan *ret);
/* Asks sd_booted() and sd_pid_get_unit(master), then decides. */
int reload_plan(const char *server, pid_t master, ReloadPlan *ret);
void reload_plan_done(ReloadPlan *p);
/* "SIGHUP to 1234" or "reload nginx.service", for the result's activations. */
int reload_plan_describe(const ReloadPlan *p, pid_t master, char **ret);
/* Carries the plan out; returns once the signal is sent or the job is queued. A signal
 * reaches the master only while it still has start_time (/proc/PID/stat field 22):
 * -ESRCH once its pid belongs to another process. */
int reload_execute(const ReloadPlan *p, pid_t master, uint64_t start_time);

/* A worker: a child of the master (not a zombie); for a root master only
 * children that dropped root count (piped loggers and helpers keep root and never
 * get the web server's groups). (pid, start time) tells a new worker from an old
 * one whose pid was reused. */
typedef struct WorkerId {
        pid_t pid;
        uint64_t start_time;
} WorkerId;

/* Snapshot of the master's workers, taken before the reload. */
int workers_list(pid_t master, WorkerId **ret, size_t *n);
/* Polls /proc until the master runs at least one worker started after the snapshot
 * and either every such new worker holds required_gid among its groups and no old
 * worker still holds a listening socket (TCP or unix, in the master's network
 * namespace), or, with no gid requirement ((gid_t) -1), no worker of the old snapshot
 * remains. Old workers finishing a long request may linger: once they have closed
 * their listeners they take no new connection. 0, -ETIMEDOUT, -ESRCH when the master
 * is gone. */
int wait_for_workers(pid_t master, const WorkerId *old, size_t n_old, gid_t required_gid, int timeout_ms);

/* Config tests, run before any reload, started: the daemon goes on serving while a
 * large host's nginx -t or php-fpm -t reads thousands of files. config_test_poll()
 * gives a test's answer without waiting (-EAGAIN while it runs), config_test_wait()
 * waits for it: 0 when the test passes, -EBADMSG when the server rejects its
 * configuration (output says why), -ETIMEDOUT, or -errno when it cannot be run. output
 * (optional) receives what the test printed. command_job_free() ends one given up on.
 * nginx: exe -t -c CONF [-p PREFIX] [-g GLOBALS] (conf/prefix/globals as the master
 * had them; NULL to leave out). */
int config_test_nginx_start(const char *exe, const char *conf, const char *prefix, const char *globals,
                            CommandJob **ret);
/* apache2 -t (httpd -t) with the running master's own -d, -f, -D, -C and -c options
 * (master_argv, its command line as given) and environment (env: the ${APACHE_*} its
 * configuration names), as Debian's apache2ctl configtest would. */
int config_test_apache_start(const char *exe, char *const *master_argv, char *const *env, CommandJob **ret);
/* php-fpm: exe -t -y CONF (exe: the master's /proc/PID/exe, e.g. php-fpm8.2). */
int config_test_fpm_start(const char *exe, const char *conf, CommandJob **ret);
int config_test_poll(CommandJob *j, char **output);
int config_test_wait(CommandJob *j, char **output);
