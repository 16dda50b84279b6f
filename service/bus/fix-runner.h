/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fix calls whose job waits for a reload to take effect. The engine never blocks
 * for it: the call message and the job are kept here, and a CLOCK_MONOTONIC timer
 * calls engine_fix_continue() every fix_job_wait_usec() until the job is finished;
 * then `done` answers the call. Meanwhile the loop serves every other caller.
 *
 * A job runs to its end even when its caller has left the bus — the host must not
 * be left half-changed — and the answer then goes nowhere. */

#include <systemd/sd-bus.h>

#include "engine/engine.h"

typedef struct FixRunner FixRunner;

/* error: 0, or a negative errno when continuing the job failed (the job may then
 * be unfinished). The runner frees the job after this returns. */
typedef void (*FixDoneFn)(sd_bus_message *call, const FixJob *job, int error, void *userdata);

int fix_runner_new(Engine *engine, FixDoneFn done, void *userdata, FixRunner **ret);
/* Jobs still running are abandoned unanswered: each is logged, and its transaction
 * stays incomplete in the journal (Revert can finish it). */
FixRunner *fix_runner_free(FixRunner *r);
static inline void fix_runner_freep(FixRunner **r) {
        fix_runner_free(*r);
}

/* Keeps `call` (a reference) and `job` (taken over on success) until the job ends. */
int fix_runner_add(FixRunner *r, sd_bus_message *call, FixJob *job);
/* Jobs not finished yet: the daemon must not exit while this is > 0. */
unsigned fix_runner_n_running(const FixRunner *r);

static inline void fix_job_freep(FixJob **j) {
        fix_job_free(*j);
}
