/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the bench helpers: a monotonic clock and the summary line of a series
 * of timed repetitions (median, min, max in microseconds). */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline uint64_t bench_now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

static inline int bench_cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* Prints "PREFIX_median_us=... PREFIX_min_us=... PREFIX_max_us=... PREFIX_reps=N"
 * (fractional µs); sorts samples in place. */
static inline void bench_print_series(const char *prefix, uint64_t *samples_ns, size_t n) {
        double median;

        if (n == 0) {
                printf("%s_reps=0\n", prefix);
                return;
        }
        qsort(samples_ns, n, sizeof(uint64_t), bench_cmp_u64);
        median = n % 2 ? (double) samples_ns[n / 2]
                       : ((double) samples_ns[n / 2 - 1] + (double) samples_ns[n / 2]) / 2.0;
        printf("%s_median_us=%.1f %s_min_us=%.1f %s_max_us=%.1f %s_reps=%zu\n",
               prefix, median / 1000.0,
               prefix, (double) samples_ns[0] / 1000.0,
               prefix, (double) samples_ns[n - 1] / 1000.0,
               prefix, n);
}

/* A positive count from the command line, or exits. */
static inline unsigned bench_parse_count(const char *s, const char *what) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);

        if (end == s || *end != 0 || v > 100000) {
                fprintf(stderr, "invalid %s: %s\n", what, s);
                exit(EXIT_FAILURE);
        }
        return (unsigned) v;
}
