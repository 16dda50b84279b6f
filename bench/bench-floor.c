/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor: the kernel's own answer to "can the web server's worker connect to each
 * listening unix socket on this host", with nothing around it.
 *
 *   bench-floor REPS WORKER-PID PREFIX TRUTH-FILE
 *
 * Each repetition reads /proc/net/unix once, reads the worker's uid, gid and groups
 * from /proc/WORKER-PID/status, forks a child that takes exactly those credentials
 * (setgroups, setresgid, setresuid) and access(path, W_OK)-checks every listening
 * path-bound socket (search on every parent directory included: it is path
 * resolution), and collects one result byte per socket through a pipe. That whole
 * sequence is timed with CLOCK_MONOTONIC.
 *
 * Afterwards (untimed) the last repetition's answers for the sockets under PREFIX
 * are compared with TRUTH-FILE ("PATH ok|denied" lines). Prints key=value lines;
 * exits 2 when the kernel disagrees with the truth, 1 on errors. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-common.h"

#define MAX_GROUPS 1024

typedef struct Creds {
        uid_t uid;
        gid_t gid;
        gid_t groups[MAX_GROUPS];
        size_t n_groups;
} Creds;

typedef struct Sockets {
        char *text;   /* /proc/net/unix, paths cut out in place */
        char **paths; /* into text */
        size_t n, cap;
} Sockets;

static int read_all(const char *path, char **ret, size_t *ret_size) {
        size_t cap = 1 << 16, n = 0;
        char *buf = malloc(cap);
        int fd;

        if (!buf)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                free(buf);
                return -errno;
        }
        for (;;) {
                ssize_t k;

                if (cap - n < 4096) {
                        char *b = realloc(buf, cap * 2);
                        if (!b) {
                                close(fd);
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = b;
                        cap *= 2;
                }
                k = read(fd, buf + n, cap - n - 1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        k = -errno;
                        close(fd);
                        free(buf);
                        return (int) k;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        close(fd);
        buf[n] = 0;
        *ret = buf;
        if (ret_size)
                *ret_size = n;
        return 0;
}

/* Listening (__SO_ACCEPTCON), path-bound (not abstract) sockets of /proc/net/unix:
 * "Num: RefCount Protocol Flags Type St Inode Path". */
static int read_sockets(Sockets *s) {
        char *line, *next;
        int r;

        r = read_all("/proc/net/unix", &s->text, NULL);
        if (r < 0)
                return r;
        s->n = 0;
        line = strchr(s->text, '\n'); /* skip the header */
        for (line = line ? line + 1 : NULL; line && *line; line = next) {
                char *f = line, *end;
                unsigned long flags;
                int field;

                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                /* fields 0..6, then the path */
                for (field = 0; field < 7 && f; field++) {
                        if (field == 3) {
                                flags = strtoul(f, &end, 16);
                                if (!(flags & 0x10000))
                                        break;
                        }
                        f = strchr(f, ' ');
                        while (f && *f == ' ')
                                f++;
                }
                if (field < 7 || !f || f[0] != '/')
                        continue;
                if (s->n == s->cap) {
                        size_t cap = s->cap ? s->cap * 2 : 1024;
                        char **p = realloc(s->paths, cap * sizeof(char *));
                        if (!p)
                                return -ENOMEM;
                        s->paths = p;
                        s->cap = cap;
                }
                s->paths[s->n++] = f;
        }
        return 0;
}

/* Effective ids and supplementary groups, as the worker holds them. */
static int read_creds(pid_t pid, Creds *c) {
        char path[64], *text, *l;
        bool have_uid = false, have_gid = false;
        int r;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        r = read_all(path, &text, NULL);
        if (r < 0)
                return r;
        c->n_groups = 0;
        for (l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                unsigned long a, b;
                char *p, *end;

                if (sscanf(l, "Uid: %lu %lu", &a, &b) == 2) {
                        c->uid = (uid_t) b;
                        have_uid = true;
                } else if (sscanf(l, "Gid: %lu %lu", &a, &b) == 2) {
                        c->gid = (gid_t) b;
                        have_gid = true;
                } else if (strncmp(l, "Groups:", 7) == 0) {
                        for (p = l + 7; c->n_groups < MAX_GROUPS; p = end) {
                                a = strtoul(p, &end, 10);
                                if (end == p)
                                        break;
                                c->groups[c->n_groups++] = (gid_t) a;
                        }
                }
        }
        free(text);
        return have_uid && have_gid ? 0 : -EBADMSG;
}

/* One result byte per socket: '1' writable, '0' not. */
static int check_as(const Creds *c, const Sockets *s, char *results) {
        int pfd[2], status;
        pid_t pid;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char *out = malloc(s->n + 1);

                close(pfd[0]);
                if (!out || setgroups(c->n_groups, c->groups) < 0 ||
                    setresgid(c->gid, c->gid, c->gid) < 0 || setresuid(c->uid, c->uid, c->uid) < 0)
                        _exit(3);
                for (size_t i = 0; i < s->n; i++)
                        out[i] = access(s->paths[i], W_OK) == 0 ? '1' : '0';
                _exit(bench_write_full(pfd[1], out, s->n) ? 0 : 4);
        }
        close(pfd[1]);
        bool got = bench_read_full(pfd[0], results, s->n);
        close(pfd[0]);
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !got)
                return -EPROTO;
        return 0;
}

int main(int argc, char *argv[]) {
        unsigned reps;
        pid_t worker;
        const char *prefix;
        size_t prefix_len, n_truth = 0, under = 0, ok = 0, denied = 0, wrong = 0, missing = 0;
        uint64_t *samples;
        Sockets s = {};
        Truth *truth = NULL;
        char *results = NULL;
        Creds creds;
        int r;

        if (argc != 5) {
                fprintf(stderr, "usage: %s REPS WORKER-PID PREFIX TRUTH-FILE\n", argv[0]);
                return EXIT_FAILURE;
        }
        reps = bench_parse_count(argv[1], "repetitions");
        worker = (pid_t) bench_parse_count(argv[2], "pid");
        prefix = argv[3];
        prefix_len = strlen(prefix);
        r = bench_load_truth(argv[4], &truth, &n_truth);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", argv[4], strerror(-r));
                return EXIT_FAILURE;
        }
        samples = calloc(reps + 1, sizeof(uint64_t));
        if (!samples)
                return EXIT_FAILURE;

        for (unsigned i = 0; i <= reps; i++) { /* repetition 0 is the warm-up */
                uint64_t t0 = bench_now_ns();

                free(s.text);
                r = read_sockets(&s);
                if (r >= 0)
                        r = read_creds(worker, &creds);
                if (r >= 0) {
                        free(results);
                        results = malloc(s.n + 1);
                        r = results ? check_as(&creds, &s, results) : -ENOMEM;
                }
                if (r < 0) {
                        fprintf(stderr, "floor: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                if (i > 0)
                        samples[i - 1] = bench_now_ns() - t0;
        }

        for (size_t i = 0; i < s.n; i++) {
                Truth key = { .path = s.paths[i] }, *t;

                if (strncmp(s.paths[i], prefix, prefix_len) != 0)
                        continue;
                under++;
                if (results[i] == '1')
                        ok++;
                else
                        denied++;
                t = bsearch(&key, truth, n_truth, sizeof(Truth), bench_cmp_truth);
                if (!t) {
                        continue; /* a socket of ours the truth does not list (none expected) */
                }
                t->seen = true;
                bool truth_ok = strcmp(t->verdict, "ok") == 0;
                if (truth_ok != (results[i] == '1')) {
                        if (wrong < 5)
                                fprintf(stderr, "floor: %s: kernel says %s, truth %s\n", t->path,
                                        results[i] == '1' ? "ok" : "denied", t->verdict);
                        wrong++;
                }
        }
        for (size_t i = 0; i < n_truth; i++)
                if (!truth[i].seen)
                        missing++;

        bench_print_series("floor", samples, reps);
        printf("floor_sockets=%zu floor_under_prefix=%zu floor_ok=%zu floor_denied=%zu "
               "floor_wrong=%zu floor_missing=%zu floor_uid=%u floor_gid=%u floor_ngroups=%zu\n",
               s.n, under, ok, denied, wrong, missing, (unsigned) creds.uid, (unsigned) creds.gid,
               creds.n_groups);
        return wrong || missing ? 2 : EXIT_SUCCESS;
}
