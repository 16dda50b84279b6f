/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "fix-runner.h"
#include "util/log.h"
#include "util/util.h"

typedef struct RunningFix RunningFix;

struct RunningFix {
        FixRunner *runner;
        RunningFix *prev, *next;

        sd_bus_message *call;
        FixJob *job;
        sd_event_source *timer;
};

struct FixRunner {
        Engine *engine;
        FixDoneFn done;
        void *userdata;
        RunningFix *running;
        unsigned n_running;
};

static RunningFix *running_fix_free(RunningFix *f) {
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
        fix_job_free(f->job);
        sd_bus_message_unref(f->call);
        free(f);
        return NULL;
}

int fix_runner_new(Engine *engine, FixDoneFn done, void *userdata, FixRunner **ret) {
        FixRunner *r;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->engine = engine;
        r->done = done;
        r->userdata = userdata;
        *ret = r;
        return 0;
}

FixRunner *fix_runner_free(FixRunner *r) {
        if (!r)
                return NULL;
        while (r->running) {
                const FixResult *res = fix_job_result(r->running->job);

                log_warning("Fix of %s abandoned before it finished; transaction %s stays incomplete",
                            strempty(res->socket), isempty(res->transaction) ? "(none)" : res->transaction);
                running_fix_free(r->running);
        }
        free(r);
        return NULL;
}

unsigned fix_runner_n_running(const FixRunner *r) {
        return r ? r->n_running : 0;
}

/* The poll interval is short (tens of ms): ask for it, not sd-event's default 250 ms slack. */
static uint64_t tick_accuracy(uint64_t usec) {
        return usec / 10 + 1;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        RunningFix *f = userdata;
        uint64_t wait;
        int r;

        (void) usec;

        r = engine_fix_continue(f->runner->engine, f->job);
        if (r >= 0 && !fix_job_finished(f->job)) {
                wait = fix_job_wait_usec(f->job);
                r = sd_event_source_set_time_relative(s, wait);
                if (r >= 0)
                        r = sd_event_source_set_time_accuracy(s, tick_accuracy(wait));
                if (r >= 0)
                        r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                if (r >= 0)
                        return 0;
                log_error_errno(r, "Failed to wait for the fix of %s", strempty(fix_job_result(f->job)->socket));
        }

        f->runner->done(f->call, f->job, r < 0 ? r : 0, f->runner->userdata);
        running_fix_free(f);
        return 0;
}

int fix_runner_add(FixRunner *r, sd_bus_message *call, FixJob *job) {
        sd_event *event = sd_bus_get_event(sd_bus_message_get_bus(call));
        uint64_t wait = fix_job_wait_usec(job);
        RunningFix *f;
        int k;

        if (!event)
                return -ENXIO;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;

        k = sd_event_add_time_relative(event, &f->timer, CLOCK_MONOTONIC, wait, tick_accuracy(wait), on_tick, f);
        if (k < 0) {
                free(f);
                return k;
        }
        (void) sd_event_source_set_description(f->timer, "fix-job");

        f->call = sd_bus_message_ref(call);
        f->job = job;
        f->runner = r;
        f->next = r->running;
        if (r->running)
                r->running->prev = f;
        r->running = f;
        r->n_running++;
        return 0;
}
