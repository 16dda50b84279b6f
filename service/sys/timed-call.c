/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sys/timed-call.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

typedef struct TimedCall {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int (*fn)(void *arg);
        void (*drop)(void *arg);
        void *arg;
        int result;
        bool done;      /* fn returned */
        bool abandoned; /* the caller stopped waiting: the thread frees everything */
} TimedCall;

static atomic_uint n_stuck;

unsigned timed_call_stuck(void) {
        return atomic_load(&n_stuck);
}

static void timed_call_free(TimedCall *t) {
        pthread_cond_destroy(&t->cond);
        pthread_mutex_destroy(&t->lock);
        free(t);
}

static void *timed_call_thread(void *p) {
        TimedCall *t = p;
        int r = t->fn(t->arg);

        pthread_mutex_lock(&t->lock);
        t->result = r;
        t->done = true;
        bool abandoned = t->abandoned;
        pthread_cond_signal(&t->cond);
        pthread_mutex_unlock(&t->lock);
        /* Not abandoned: the waiting caller owns t now and may have freed it already. */
        if (abandoned) {
                t->drop(t->arg);
                timed_call_free(t);
                atomic_fetch_sub(&n_stuck, 1);
        }
        return NULL;
}

int timed_call(int (*fn)(void *arg), void *arg, void (*drop)(void *arg), int timeout_ms, int *ret) {
        pthread_condattr_t ca;
        pthread_attr_t ta;
        pthread_t thread;
        struct timespec deadline;
        int r;

        if (!fn || !drop || timeout_ms < 0 || !ret)
                return -EINVAL;
        if (atomic_load(&n_stuck) >= TIMED_CALL_MAX_STUCK)
                return -EBUSY;

        TimedCall *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        *t = (TimedCall) { .fn = fn, .drop = drop, .arg = arg };
        /* The deadline is on the monotonic clock: a clock step must not end a wait early
         * nor stretch it. */
        if ((r = pthread_condattr_init(&ca)) != 0) {
                free(t);
                return -r;
        }
        r = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        if (r == 0)
                r = pthread_cond_init(&t->cond, &ca);
        pthread_condattr_destroy(&ca);
        if (r != 0) {
                free(t);
                return -r;
        }
        if ((r = pthread_mutex_init(&t->lock, NULL)) != 0) {
                pthread_cond_destroy(&t->cond);
                free(t);
                return -r;
        }

        /* Detached: a thread given up on is never joined. It starts with every signal
         * blocked, so the loop's signalfd stays the only receiver of SIGTERM and SIGINT. */
        sigset_t all, saved;
        sigfillset(&all);
        r = pthread_attr_init(&ta);
        if (r == 0) {
                r = pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
                if (r == 0) {
                        pthread_sigmask(SIG_SETMASK, &all, &saved);
                        r = pthread_create(&thread, &ta, timed_call_thread, t);
                        pthread_sigmask(SIG_SETMASK, &saved, NULL);
                }
                pthread_attr_destroy(&ta);
        }
        if (r != 0) {
                timed_call_free(t);
                return -r;
        }

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }

        pthread_mutex_lock(&t->lock);
        while (!t->done && pthread_cond_timedwait(&t->cond, &t->lock, &deadline) != ETIMEDOUT)
                ;
        if (!t->done) {
                t->abandoned = true;
                atomic_fetch_add(&n_stuck, 1);
                pthread_mutex_unlock(&t->lock);
                return -ETIMEDOUT;
        }
        pthread_mutex_unlock(&t->lock);
        *ret = t->result;
        timed_call_free(t);
        return 0;
}
