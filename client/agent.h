/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A polkit text agent (pkttyagent) for this process, as systemctl spawns one:
 * only on a terminal and never for root — the caller decides. */

#include <sys/types.h>

/* Starts pkttyagent for our pid and returns once it has registered (or died). */
int polkit_agent_open(pid_t *ret_pid);
void polkit_agent_close(pid_t pid);
