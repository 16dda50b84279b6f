/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-login.h>
#include <unistd.h>

#include "agent.h"
#include "util/util.h"

/* pkttyagent registers within a fraction of a second; past this we call anyway
 * (polkit then answers InteractiveAuthorizationRequired). */
#define AGENT_REGISTER_TIMEOUT_MS 10000

int polkit_agent_open(pid_t *ret_pid) {
        char notify[16], process[16];
        pid_t parent = getpid(), pid;
        int fds[2], agent_fd, r;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        /* The agent's end must survive exec: a dup without O_CLOEXEC, made before fork
         * so the child runs nothing but async-signal-safe calls. */
        agent_fd = fcntl(fds[1], F_DUPFD, 3);
        r = -errno;
        close(fds[1]);
        if (agent_fd < 0) {
                close(fds[0]);
                return r;
        }
        snprintf(notify, sizeof(notify), "%d", agent_fd);
        snprintf(process, sizeof(process), "%d", (int) parent);
        _cleanup_free_ char *session = NULL;
        bool has_session = sd_pid_get_session(0, &session) >= 0;

        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(fds[0]);
                close(agent_fd);
                return r;
        }
        if (pid == 0) {
                /* The agent must not outlive us. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(EXIT_FAILURE);
                /* --fallback leaves the caller to a desktop agent of its session; polkit
                 * ignores a fallback agent for a caller without a logind session (a
                 * server's ssh login without pam_systemd, su, runuser), so only then. */
                if (has_session)
                        execlp("pkttyagent", "pkttyagent", "--notify-fd", notify, "--fallback", "--process",
                               process, (char *) NULL);
                else
                        execlp("pkttyagent", "pkttyagent", "--notify-fd", notify, "--process", process,
                               (char *) NULL);
                _exit(EXIT_FAILURE);
        }

        close(agent_fd);
        /* pkttyagent closes the notify fd once registered; exiting closes it too. */
        for (;;) {
                struct pollfd p = { .fd = fds[0], .events = POLLIN };
                char c;
                int k = poll(&p, 1, AGENT_REGISTER_TIMEOUT_MS);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k > 0 && read(fds[0], &c, 1) > 0)
                        continue;
                break;
        }
        close(fds[0]);

        *ret_pid = pid;
        return 0;
}

void polkit_agent_close(pid_t pid) {
        if (pid <= 0)
                return;
        (void) kill(pid, SIGTERM);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
