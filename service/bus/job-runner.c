/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "job-runner.h"
#include "util/log.h"
#include "util/util.h"

typedef struct RunningJob RunningJob;

struct RunningJob {
        JobRunner *runner;
        RunningJob *prev, *next;

        sd_bus_message *call;
        FixJob *fix;       /* one of the two */
        RevertJob *revert;
        sd_event_source *timer;
};

struct JobRunner {
        Engine *engine;
        JobDoneFn done;
        void *userdata;
        RunningJob *running;
        unsigned n_running;
};

static RunningJob *running_job_free(RunningJob *f) {
        if (!f)
                return NULL;

        if (f->runner) {
                if (f->prev)
                        f->prev->next = f->next;
                else
                        f->runner->running = f->next;
                if (f->next)
                        f->next->prev = f->prev;
                f->runner->n_running--;
        }

        sd_event_source_disable_unref(f->timer);
        fix_job_free(f->fix);
        revert_job_free(f->revert);
        sd_bus_message_unref(f->call);
        free(f);
        return NULL;
}

int job_runner_new(Engine *engine, JobDoneFn done, void *userdata, JobRunner **ret) {
        JobRunner *r;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->engine = engine;
        r->done = done;
        r->userdata = userdata;
        *ret = r;
        return 0;
}

JobRunner *job_runner_free(JobRunner *r) {
        if (!r)
                return NULL;
        while (r->running) {
                RunningJob *f = r->running;
                if (f->fix) {
                        const FixResult *res = fix_job_result(f->fix);
                        log_warning("Fix of %s abandoned before it finished; transaction %s stays incomplete",
                                    strempty(res->socket), isempty(res->transaction) ? "(none)" : res->transaction);
                } else {
                        const RevertResult *res = revert_job_result(f->revert);
                        log_warning("Revert of %s (%s) abandoned before its web servers were reloaded",
                                    strempty(res->transaction), strempty(res->socket));
                }
                running_job_free(f);
        }
        free(r);
        return NULL;
}

unsigned job_runner_n_running(const JobRunner *r) {
        return r ? r->n_running : 0;
}

/* The poll interval is short (tens of ms): ask for it, not sd-event's default 250 ms slack. */
static uint64_t tick_accuracy(uint64_t usec) {
        return usec / 10 + 1;
}

static bool job_finished(const RunningJob *f) {
        return f->fix ? fix_job_finished(f->fix) : revert_job_finished(f->revert);
}

static uint64_t job_wait_usec(const RunningJob *f) {
        return f->fix ? fix_job_wait_usec(f->fix) : revert_job_wait_usec(f->revert);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        RunningJob *f = userdata;
        Engine *e = f->runner->engine;
        uint64_t wait;
        int r;

        (void) usec;

        r = f->fix ? engine_fix_continue(e, f->fix) : engine_revert_continue(e, f->revert);
        if (r >= 0 && !job_finished(f)) {
                wait = job_wait_usec(f);
                r = sd_event_source_set_time_relative(s, wait);
                if (r >= 0)
                        r = sd_event_source_set_time_accuracy(s, tick_accuracy(wait));
                if (r >= 0)
                        r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                if (r >= 0)
                        return 0;
                log_error_errno(r, "Failed to wait for the %s of %s", f->fix ? "fix" : "revert",
                                strempty(f->fix ? fix_job_result(f->fix)->socket : revert_job_result(f->revert)->socket));
        }

        f->runner->done(f->call, f->fix, f->revert, r < 0 ? r : 0, f->runner->userdata);
        running_job_free(f);
        return 0;
}

static int runner_add(JobRunner *r, sd_bus_message *call, FixJob *fix, RevertJob *revert) {
        sd_event *event = sd_bus_get_event(sd_bus_message_get_bus(call));
        RunningJob *f;
        int k;

        if (!event)
                return -ENXIO;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->fix = fix;
        f->revert = revert;

        uint64_t wait = job_wait_usec(f);
        k = sd_event_add_time_relative(event, &f->timer, CLOCK_MONOTONIC, wait, tick_accuracy(wait), on_tick, f);
        if (k < 0) {
                free(f); /* the job stays the caller's */
                return k;
        }
        (void) sd_event_source_set_description(f->timer, fix ? "fix-job" : "revert-job");

        f->call = sd_bus_message_ref(call);
        f->runner = r;
        f->next = r->running;
        if (r->running)
                r->running->prev = f;
        r->running = f;
        r->n_running++;
        return 0;
}

int job_runner_add_fix(JobRunner *r, sd_bus_message *call, FixJob *job) {
        return runner_add(r, call, job, NULL);
}

int job_runner_add_revert(JobRunner *r, sd_bus_message *call, RevertJob *job) {
        return runner_add(r, call, NULL, job);
}
