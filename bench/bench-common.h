/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Shared by the bench helpers: a monotonic clock, the summary line of a series of
 * timed repetitions (median, min, max in microseconds), the run's truth file, and a
 * write that finishes. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t bench_now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * UINT64_C(1000000000) + (uint64_t) ts.tv_nsec;
}

/* Writes all of buf, through EINTR and short writes: false on any failure. */
static inline bool bench_write_full(int fd, const void *buf, size_t n) {
        const char *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
}

/* Reads exactly n bytes, through EINTR and short reads: false on EOF or failure first. */
static inline bool bench_read_full(int fd, void *buf, size_t n) {
        char *p = buf;

        while (n > 0) {
                ssize_t k = read(fd, p, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                p += k;
                n -= (size_t) k;
        }
        return true;
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

/* The run's truth file, "PATH VERDICT" lines (a path may hold spaces, a verdict not),
 * sorted by path for bsearch with bench_cmp_truth. */
typedef struct Truth {
        char *path;
        char *verdict;
        bool seen;
} Truth;

static inline int bench_cmp_truth(const void *a, const void *b) {
        return strcmp(((const Truth *) a)->path, ((const Truth *) b)->path);
}

static inline int bench_load_truth(const char *file, Truth **ret, size_t *ret_n) {
        size_t n = 0, cap = 0, len = 0;
        char *line = NULL;
        Truth *t = NULL;
        FILE *f;

        f = fopen(file, "re");
        if (!f)
                return -errno;
        while (getline(&line, &len, f) > 0) {
                char *sp, *nl;

                nl = strchr(line, '\n');
                if (nl)
                        *nl = 0;
                sp = strrchr(line, ' ');
                if (!sp)
                        continue;
                *sp = 0;
                if (n == cap) {
                        Truth *p;
                        cap = cap ? cap * 2 : 1024;
                        p = realloc(t, cap * sizeof(Truth));
                        if (!p) {
                                fclose(f);
                                return -ENOMEM;
                        }
                        t = p;
                }
                t[n] = (Truth) { .path = strdup(line), .verdict = strdup(sp + 1) };
                if (!t[n].path || !t[n].verdict) {
                        fclose(f);
                        return -ENOMEM;
                }
                n++;
        }
        free(line);
        fclose(f);
        qsort(t, n, sizeof(Truth), bench_cmp_truth);
        *ret = t;
        *ret_n = n;
        return 0;
}
