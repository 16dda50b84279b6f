/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fix and Revert calls whose job waits: for a configuration test, or for a reload to
 * take effect. The engine never blocks for them: the call message and the job are kept
 * here, and a CLOCK_MONOTONIC timer calls engine_fix_continue() (engine_revert_continue())
 * every fix_job_wait_usec() (revert_job_wait_usec()) until the job is finished; then
 * `done` answers the call. Meanwhile the loop serves every other caller.
 *
 * A job runs to its end even when its caller has left the bus — the host must not
 * be left half-changed — and the answer then goes nowhere. */

#include <systemd/sd-bus.h>

#include "engine/engine.h"

typedef struct JobRunner JobRunner;

/* One of fix and revert is set. error: 0, or a negative errno when continuing the job
 * failed (the job may then be unfinished). The runner frees the job after this returns. */
typedef void (*JobDoneFn)(sd_bus_message *call, const FixJob *fix, const RevertJob *revert, int error,
                          void *userdata);

int job_runner_new(Engine *engine, JobDoneFn done, void *userdata, JobRunner **ret);
/* Jobs still running are abandoned unanswered: each is logged; a fix's transaction stays
 * incomplete in the journal (Revert can finish it); a revert's servers are not reloaded,
 * its record says incomplete and its audit entry is written, and the next Revert of it
 * reloads them. */
JobRunner *job_runner_free(JobRunner *r);
static inline void job_runner_freep(JobRunner **r) {
        job_runner_free(*r);
}

/* Keep `call` (a reference) and the job (taken over on success) until the job ends. */
int job_runner_add_fix(JobRunner *r, sd_bus_message *call, FixJob *job);
int job_runner_add_revert(JobRunner *r, sd_bus_message *call, RevertJob *job);
/* Jobs not finished yet: the daemon must not exit while this is > 0. */
unsigned job_runner_n_running(const JobRunner *r);

static inline void fix_job_freep(FixJob **j) {
        fix_job_free(*j);
}
static inline void revert_job_freep(RevertJob **j) {
        revert_job_free(*j);
}
