/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What a sweep pays the passwd and group databases on a host with a user per site.
 *
 *   bench-lookup N REPS
 *
 * In a mount namespace of its own (nothing outside this process sees it), binds copies
 * of /etc/passwd and /etc/group with N site users and groups added (site00000...) over
 * the real ones, then times, REPS times after one warm-up, what a sweep over N pools
 * asks per pool (the pool's user and group, the socket's owner and group names) through
 * the engine's caches:
 *   - lookup_one_by_one: the per-call caches alone, each new name asked of NSS (with the
 *     files database every getpwnam() reads /etc/passwd from the top);
 *   - lookup_sweep: a sweep's caches (engine/lookup.c), which read each database once
 *     when many distinct names are asked.
 * Every answer is checked against the generated databases. Prints key=value lines (see
 * bench-common.h). Exit status: 0 done, 2 a wrong answer, 1 anything else (not root). */

#include <errno.h>
#include <sched.h>
#include <sys/mount.h>

#include "engine/lookup.h"

#include "bench-common.h"

#define BASE_ID 50000u

static char T[] = "/tmp/sockfix-bench-lookup-XXXXXX";

/* SRC with N site entries added (passwd or group lines), written to T/NAME and bound
 * over SRC. */
static int bind_extended(const char *src, const char *name, unsigned n, bool group) {
        char path[128], buf[65536];
        snprintf(path, sizeof(path), "%s/%s", T, name);
        FILE *in = fopen(src, "re"), *out = fopen(path, "we");
        if (!in || !out)
                return -errno;
        size_t k;
        while ((k = fread(buf, 1, sizeof(buf), in)) > 0)
                fwrite(buf, 1, k, out);
        for (unsigned i = 0; i < n; i++)
                if (group)
                        fprintf(out, "site%05u:x:%u:\n", i, BASE_ID + i);
                else
                        fprintf(out, "site%05u:x:%u:%u::/nonexistent:/usr/sbin/nologin\n", i, BASE_ID + i,
                                BASE_ID + i);
        fclose(in);
        if (fclose(out) != 0)
                return -errno;
        return mount(path, src, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

/* One sweep's questions: per pool its user and group, its socket's owner and group. */
static int ask_all(unsigned n, bool sweep, unsigned *wrong) {
        Lookup l = {};
        Owned o = {};
        char name[32];
        int r = sweep ? lookup_init_sweep(&l) : lookup_init(&l);
        for (unsigned i = 0; r >= 0 && i < n; i++) {
                uid_t uid;
                gid_t gid, g;
                snprintf(name, sizeof(name), "site%05u", i);
                if (lookup_user(&l, &o, name, &uid, &gid) < 0 || uid != BASE_ID + i ||
                    lookup_group(&l, &o, name, &g) < 0 || g != BASE_ID + i)
                        (*wrong)++;
                const char *on = lookup_name(&l, &o, false, BASE_ID + i), *gn = lookup_name(&l, &o, true, BASE_ID + i);
                if (!on || !gn) {
                        r = -ENOMEM;
                        break;
                }
                if (strcmp(on, name) != 0 || strcmp(gn, name) != 0)
                        (*wrong)++;
        }
        lookup_done(&l, &o);
        return r;
}

static int series(const char *prefix, unsigned n, unsigned reps, bool sweep, unsigned *wrong) {
        uint64_t *samples = calloc(reps + 1, sizeof(uint64_t));
        if (!samples)
                return -ENOMEM;
        for (unsigned i = 0; i <= reps; i++) {
                uint64_t t0 = bench_now_ns();
                int r = ask_all(n, sweep, wrong);
                if (r < 0) {
                        free(samples);
                        return r;
                }
                if (i > 0)
                        samples[i - 1] = bench_now_ns() - t0;
        }
        bench_print_series(prefix, samples, reps);
        free(samples);
        return 0;
}

int main(int argc, char *argv[]) {
        if (argc != 3) {
                fprintf(stderr, "usage: %s N REPS\n", argv[0]);
                return EXIT_FAILURE;
        }
        unsigned n = bench_parse_count(argv[1], "N"), reps = bench_parse_count(argv[2], "repetitions"), wrong = 0;
        if (reps == 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            !mkdtemp(T)) {
                fprintf(stderr, "bench-lookup: needs root (a mount namespace of its own): %s\n", strerror(errno));
                return EXIT_FAILURE;
        }
        int r = bind_extended("/etc/passwd", "passwd", n, false);
        if (r >= 0)
                r = bind_extended("/etc/group", "group", n, true);
        if (r >= 0)
                r = series("lookup_one_by_one", n, reps, false, &wrong);
        if (r >= 0)
                r = series("lookup_sweep", n, reps, true, &wrong);
        (void) umount("/etc/passwd");
        (void) umount("/etc/group");
        char path[128];
        snprintf(path, sizeof(path), "%s/passwd", T);
        (void) unlink(path);
        snprintf(path, sizeof(path), "%s/group", T);
        (void) unlink(path);
        (void) rmdir(T);
        if (r < 0) {
                fprintf(stderr, "bench-lookup: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        printf("lookup_users=%u lookup_wrong=%u\n", n, wrong);
        return wrong ? 2 : 0;
}
