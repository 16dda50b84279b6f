/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A call that may block without bound in the kernel, waited for with a bound. A lookup
 * on a hung NFS or FUSE mount, or under an automount that cannot mount, sleeps until the
 * file system answers: no timeout or signal of ours ends it. Made on a thread of its
 * own, it can be given up on, and the daemon's loop serves the next caller. */

/* Runs fn(arg) on a new thread and waits at most timeout_ms for it to return.
 *   0           fn returned; its result is in *ret, and arg is the caller's again.
 *   -ETIMEDOUT  it had not: the thread goes on, and calls drop(arg) once fn returns,
 *               so arg belongs to the thread from then on.
 *   -EBUSY      TIMED_CALL_MAX_STUCK threads given up on are still waiting: nothing
 *               was run (each holds a thread and what fn opened).
 *   -errno      no thread could be made; nothing was run. */
int timed_call(int (*fn)(void *arg), void *arg, void (*drop)(void *arg), int timeout_ms, int *ret);

#define TIMED_CALL_MAX_STUCK 16u

/* Threads given up on and still waiting. */
unsigned timed_call_stuck(void);
