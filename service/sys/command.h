/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one place sockfixd runs another program (gpasswd, nginx -t, php-fpm -t).
 * The child gets an empty environment but a fixed PATH (a caller's environment
 * must not steer a privileged tool), stdin from /dev/null, stdout and stderr into
 * one captured buffer, its own process group, default signal dispositions and an
 * empty signal mask. It is killed with SIGKILL when it overruns its time and is
 * always reaped: PID 1 in a container may not reap zombies for us. */

#include <stdbool.h>
#include <sys/types.h>

#define COMMAND_OUTPUT_MAX (64u * 1024u)

typedef struct CommandResult {
        int exit_code;   /* exit status, or 128 + signal number when killed by a signal */
        bool timed_out;  /* killed by us after timeout_ms */
        char *output;    /* stdout and stderr interleaved, NUL-terminated, at most COMMAND_OUTPUT_MAX bytes */
        size_t output_size;
} CommandResult;

/* Runs argv (argv[0] absolute, or looked up in the fixed PATH) for at most
 * timeout_ms. Returns 0 when the program ran to its end (whatever its exit code:
 * see ret->exit_code), -ETIMEDOUT when it was killed for overrunning (ret->output
 * still holds what it printed), -ENOENT when the program is not found, other
 * -errno when it could not be started. ret is filled in all the first two cases. */
int command_run(char *const argv[], int timeout_ms, CommandResult *ret);
/* The same with env ("NAME=value") added to the fixed PATH: a server's configuration
 * test needs the environment its master was started with (Apache's ${APACHE_*}). Its
 * own PATH, and what steers the loader or libc (LD_*, GCONV_PATH...), are left out. */
int command_run_env(char *const argv[], char *const env[], int timeout_ms, CommandResult *ret);
void command_result_done(CommandResult *r);

/* The same, without waiting, for a caller that must go on serving (a Fix's
 * configuration tests): command_start() spawns as command_run_env() would;
 * command_poll() never blocks, answers -EAGAIN while the program runs, and else what
 * command_run_env() would (ret filled on 0 and -ETIMEDOUT); command_wait() blocks until
 * then. command_job_free() kills and reaps a program still running. */
typedef struct CommandJob CommandJob;
int command_start(char *const argv[], char *const env[], int timeout_ms, CommandJob **ret);
int command_poll(CommandJob *j, CommandResult *ret);
int command_wait(CommandJob *j, CommandResult *ret);
/* The output's read end while the program may still write (-1 after EOF), to poll on. */
int command_job_fd(const CommandJob *j);
CommandJob *command_job_free(CommandJob *j);

/* The PATH a spawned program gets and that command_run() searches. */
#define COMMAND_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
