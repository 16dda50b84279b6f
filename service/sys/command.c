/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>

#include "util/util.h"

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}

/* posix_spawnp() would search the daemon's own PATH, not the child's; search
 * the fixed one instead so what runs does not depend on how we were started. */
static int find_program(const char *name, char **ret) {
        if (strchr(name, '/')) {
                if (access(name, X_OK) < 0)
                        return -errno;
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        _cleanup_free_ char *path = strdup(COMMAND_PATH);
        if (!path)
                return -ENOMEM;
        char *save = NULL;
        for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *full = NULL;
                if (asprintf(&full, "%s/%s", dir, name) < 0)
                        return -ENOMEM;
                if (access(full, X_OK) == 0) {
                        *ret = TAKE_PTR(full);
                        return 0;
                }
        }
        return -ENOENT;
}

/* Both objects are initialised by the caller, so they can always be destroyed. */
static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr, int out_fd) {
        int r;
        if ((r = posix_spawn_file_actions_addopen(fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0)) ||
            (r = posix_spawn_file_actions_adddup2(fa, out_fd, STDOUT_FILENO)) ||
            (r = posix_spawn_file_actions_adddup2(fa, out_fd, STDERR_FILENO)))
                return -r;

        /* The daemon blocks signals for sd-event; a child must not inherit that
         * mask or ignored dispositions, or SIGTERM/SIGPIPE would not reach it.
         * Its own process group lets a timeout kill whatever it forked. */
        sigset_t empty, all;
        sigemptyset(&empty);
        sigfillset(&all);
        if ((r = posix_spawnattr_setsigmask(attr, &empty)) ||
            (r = posix_spawnattr_setsigdefault(attr, &all)) ||
            (r = posix_spawnattr_setpgroup(attr, 0)) ||
            (r = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                POSIX_SPAWN_SETPGROUP)))
                return -r;
        return 0;
}

static void reap(pid_t pid, int *status) {
        while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
}

/* Appends what the child wrote; past the cap it keeps draining so the child
 * never blocks on a full pipe. 0 at EOF, 2 when nothing is there now, else 1. */
static int read_some(int fd, CommandResult *res, size_t *cap) {
        char buf[4096];
        ssize_t k = read(fd, buf, sizeof buf);
        if (k < 0)
                return errno == EAGAIN ? 2 : errno == EINTR ? 1 : -errno;
        if (k == 0)
                return 0;
        size_t take = (size_t) k;
        if (res->output_size + take > COMMAND_OUTPUT_MAX)
                take = COMMAND_OUTPUT_MAX - res->output_size;
        if (take > 0) {
                if (res->output_size + take + 1 > *cap) {
                        size_t ncap = (res->output_size + take + 1) * 2;
                        char *n = realloc(res->output, ncap);
                        if (!n)
                                return -ENOMEM;
                        res->output = n;
                        *cap = ncap;
                }
                memcpy(res->output + res->output_size, buf, take);
                res->output_size += take;
                res->output[res->output_size] = 0;
        }
        return 1;
}

int command_run(char *const argv[], int timeout_ms, CommandResult *ret) {
        return command_run_env(argv, NULL, timeout_ms, ret);
}

struct CommandJob {
        pid_t pid;
        int fd;            /* the read end of its output, non-blocking; -1 after EOF */
        uint64_t deadline; /* CLOCK_MONOTONIC ms */
        CommandResult res;
        size_t cap;
        bool reaped;
};

int command_start(char *const argv[], char *const env[], int timeout_ms, CommandJob **ret) {
        if (!argv || !argv[0] || timeout_ms <= 0)
                return -EINVAL;
        /* A program run as root finds what it runs by our PATH, not the one env brings,
         * and gets nothing that steers the dynamic loader or libc (glibc's list for
         * setuid programs) or talks to a service manager in its master's name. */
        static const char *const unsafe[] = {
                "PATH=", "LD_", "GCONV_PATH=", "GETCONF_DIR=", "HOSTALIASES=", "LOCALDOMAIN=", "LOCPATH=",
                "MALLOC_", "GLIBC_TUNABLES=", "NIS_PATH=", "NLSPATH=", "RESOLV_HOST_CONF=", "RES_OPTIONS=",
                "TMPDIR=", "TZDIR=", "NOTIFY_SOCKET=", "LISTEN_", "WATCHDOG_", NULL,
        };
        _cleanup_free_ char **envp = calloc(strv_length((char **) env) + 2, sizeof(char *));
        if (!envp)
                return -ENOMEM;
        size_t k = 0;
        envp[k++] = (char *) "PATH=" COMMAND_PATH;
        for (char *const *e = env; e && *e; e++) {
                bool drop = !strchr(*e, '=');
                for (const char *const *u = unsafe; *u && !drop; u++)
                        drop = startswith(*e, *u);
                if (!drop)
                        envp[k++] = *e;
        }

        _cleanup_free_ char *program = NULL;
        int r = find_program(argv[0], &program);
        if (r < 0)
                return r;
        CommandJob *j = calloc(1, sizeof(CommandJob));
        if (!j)
                return -ENOMEM;
        j->fd = -1;
        j->res.exit_code = -1;

        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0) {
                free(j);
                return -errno;
        }
        j->fd = pipefd[0];
        _cleanup_close_ int wfd = pipefd[1];
        /* Only our end: the caller's loop must never wait on the child's output. */
        if (fcntl(j->fd, F_SETFL, O_NONBLOCK) < 0) {
                r = -errno;
                close(j->fd);
                free(j);
                return r;
        }

        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        if (posix_spawn_file_actions_init(&fa) != 0) {
                close(j->fd);
                free(j);
                return -ENOMEM;
        }
        if (posix_spawnattr_init(&attr) != 0) {
                posix_spawn_file_actions_destroy(&fa);
                close(j->fd);
                free(j);
                return -ENOMEM;
        }
        r = spawn_setup(&fa, &attr, wfd);
        if (r == 0)
                r = -posix_spawn(&j->pid, program, &fa, &attr, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r < 0) {
                close(j->fd);
                free(j);
                return r;
        }
        /* wfd closes here: only the child writes now, and EOF comes when it is done. */
        j->deadline = now_ms() + (uint64_t) timeout_ms;
        *ret = j;
        return 0;
}

/* The whole process group: a tool that forked must not outlive us. */
static void job_kill(CommandJob *j, int *status) {
        kill(-j->pid, SIGKILL);
        kill(j->pid, SIGKILL);
        reap(j->pid, status);
        j->reaped = true;
}

int command_poll(CommandJob *j, CommandResult *ret) {
        int status = 0, r = 2;
        /* Output first: the child may be blocked writing. */
        while (j->fd >= 0 && (r = read_some(j->fd, &j->res, &j->cap)) == 1)
                ;
        if (j->fd >= 0 && r == 0) {
                close(j->fd);
                j->fd = -1;
        } else if (j->fd >= 0 && r < 0) {
                job_kill(j, &status);
                return r;
        }
        /* After EOF the child may still run (it closed its output): not past the deadline. */
        if (j->fd < 0) {
                pid_t w = waitpid(j->pid, &status, WNOHANG);
                if (w < 0 && errno != EINTR) {
                        r = -errno;
                        job_kill(j, &status);
                        return r;
                }
                j->reaped = w == j->pid;
        }
        if (!j->reaped && now_ms() < j->deadline)
                return -EAGAIN;
        if (!j->reaped) {
                job_kill(j, &status);
                j->res.timed_out = true;
        }
        if (WIFEXITED(status))
                j->res.exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
                j->res.exit_code = 128 + WTERMSIG(status);
        if (!j->res.output && !(j->res.output = calloc(1, 1)))
                return -ENOMEM;
        *ret = j->res;
        j->res = (CommandResult) {};
        return ret->timed_out ? -ETIMEDOUT : 0;
}

int command_job_fd(const CommandJob *j) {
        return j->fd;
}

CommandJob *command_job_free(CommandJob *j) {
        if (!j)
                return NULL;
        if (!j->reaped) {
                int status;
                job_kill(j, &status);
        }
        if (j->fd >= 0)
                close(j->fd);
        free(j->res.output);
        free(j);
        return NULL;
}

int command_wait(CommandJob *j, CommandResult *ret) {
        for (;;) {
                int r = command_poll(j, ret);
                if (r != -EAGAIN)
                        return r;
                uint64_t now = now_ms();
                int left = j->deadline > now ? (int) (j->deadline - now) : 0;
                if (j->fd >= 0) {
                        struct pollfd p = { .fd = j->fd, .events = POLLIN };
                        if (poll(&p, 1, left) < 0 && errno != EINTR)
                                return -errno;
                } else {
                        struct timespec ts = { .tv_nsec = 5 * 1000 * 1000 };
                        nanosleep(&ts, NULL);
                }
        }
}

int command_run_env(char *const argv[], char *const env[], int timeout_ms, CommandResult *ret) {
        CommandJob *j = NULL;
        int r = command_start(argv, env, timeout_ms, &j);
        if (r < 0)
                return r;
        r = command_wait(j, ret);
        command_job_free(j);
        return r;
}

void command_result_done(CommandResult *r) {
        if (!r)
                return;
        free(r->output);
        *r = (CommandResult) {};
}
