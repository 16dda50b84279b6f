/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/util.h"

/* status and stat are a few KiB; cmdline can be as large as the argument area
 * the kernel allowed at exec. */
#define PROC_SMALL_FILE_MAX (64u << 10)
#define PROC_CMDLINE_MAX (16u << 20)

static const char *skip_blanks(const char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

/* strtoul() would run past the end of a status line into the next one, so
 * numbers are read by hand and never cross '\n'. */
static int parse_u32(const char **p, uint32_t *ret) {
        const char *s = skip_blanks(*p);
        uint64_t v = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > UINT32_MAX)
                        return -ERANGE;
        }
        *p = s;
        *ret = (uint32_t) v;
        return 0;
}

/* "Uid:\treal\teffective\tsaved\tfs" */
static int parse_id_pair(const char *s, uint32_t *real, uint32_t *effective) {
        int r = parse_u32(&s, real);
        if (r < 0)
                return r;
        return parse_u32(&s, effective);
}

static int gid_compare(const void *a, const void *b) {
        gid_t x = *(const gid_t *) a, y = *(const gid_t *) b;
        return x < y ? -1 : x > y;
}

/* The kernel keeps group_info sorted; sorting and deduplicating here holds
 * recorded samples to the same form, so credential sets compare linearly. */
static int parse_groups(const char *s, gid_t **ret, size_t *ret_n) {
        _cleanup_free_ gid_t *groups = NULL;
        size_t n = 0;

        for (;;) {
                s = skip_blanks(s);
                if (*s == '\n' || *s == 0)
                        break;
                uint32_t g;
                int r = parse_u32(&s, &g);
                if (r < 0)
                        return r;
                gid_t *slot = ARRAY_PUSH(groups, n);
                if (!slot)
                        return -ENOMEM;
                *slot = g;
        }

        if (n > 1) {
                qsort(groups, n, sizeof(gid_t), gid_compare);
                size_t k = 1;
                for (size_t i = 1; i < n; i++)
                        if (groups[i] != groups[k - 1])
                                groups[k++] = groups[i];
                n = k;
        }

        *ret = TAKE_PTR(groups);
        *ret_n = n;
        return 0;
}

int proc_status_parse(const char *text, Process *p) {
        _cleanup_free_ gid_t *groups = NULL;
        size_t n_groups = 0;
        uint32_t ruid = 0, euid = 0, rgid = 0, egid = 0, ppid = 0; /* set only with have_uid/have_gid */
        bool have_uid = false, have_gid = false;
        int r;

        for (const char *line = text; line && *line;) {
                const char *eol = strchr(line, '\n');

                if (startswith(line, "Uid:")) {
                        r = parse_id_pair(line + 4, &ruid, &euid);
                        if (r < 0)
                                return r;
                        have_uid = true;
                } else if (startswith(line, "Gid:")) {
                        r = parse_id_pair(line + 4, &rgid, &egid);
                        if (r < 0)
                                return r;
                        have_gid = true;
                } else if (startswith(line, "Groups:")) {
                        free(groups);
                        groups = NULL;
                        r = parse_groups(line + 7, &groups, &n_groups);
                        if (r < 0)
                                return r;
                } else if (startswith(line, "PPid:")) {
                        const char *s = line + 5;
                        r = parse_u32(&s, &ppid);
                        if (r < 0)
                                return r;
                }

                line = eol ? eol + 1 : NULL;
        }

        if (!have_uid || !have_gid)
                return -EINVAL;

        p->ruid = ruid;
        p->euid = euid;
        p->rgid = rgid;
        p->egid = egid;
        p->ppid = (pid_t) ppid;
        free(p->groups);
        p->groups = TAKE_PTR(groups);
        p->n_groups = n_groups;
        return 0;
}

/* Returns the start of the 0-based field idx after the comm, or NULL. */
static const char *stat_field(const char *s, unsigned idx) {
        for (; idx > 0; idx--) {
                s = strchr(s, ' ');
                if (!s)
                        return NULL;
                s++;
        }
        return s;
}

int proc_stat_parse(const char *text, Process *p) {
        /* comm may itself contain ") (", so only the last ')' ends it. */
        const char *close = strrchr(text, ')');
        if (!close || close[1] != ' ' || !strchr(text, '('))
                return -EINVAL;

        /* Fields after "pid (comm) ": 0 is state (field 3), 1 ppid (4), 19 starttime (22). */
        const char *fields = close + 2;
        if (*fields == 0 || *fields == ' ' || fields[1] != ' ')
                return -EINVAL;

        const char *f = stat_field(fields, 1);
        if (!f || *f < '0' || *f > '9')
                return -EINVAL;
        char *end;
        errno = 0;
        unsigned long ppid = strtoul(f, &end, 10);
        if (errno != 0 || *end != ' ' || ppid > INT_MAX)
                return -EINVAL;

        f = stat_field(fields, 19);
        if (!f || *f < '0' || *f > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long start = strtoull(f, &end, 10);
        if (errno != 0 || (*end != ' ' && *end != '\n' && *end != 0))
                return -EINVAL;

        p->state = fields[0];
        p->ppid = (pid_t) ppid;
        p->start_time = start;
        return 0;
}

static void process_done(Process *p) {
        free(p->comm);
        free(p->exe);
        strv_free(p->argv);
        free(p->groups);
        *p = (Process) {};
}

void proc_table_done(ProcTable *t) {
        for (size_t i = 0; i < t->n; i++)
                process_done(&t->procs[i]);
        free(t->procs);
        *t = (ProcTable) {};
}

/* nginx and php-fpm overwrite their argument area with a title and pad the rest
 * with NULs or spaces; trailing padding is not an argument. */
static int argv_from_cmdline(const char *buf, size_t size, char ***ret) {
        char **argv = NULL;
        int r;

        while (size > 0 && (buf[size - 1] == 0 || buf[size - 1] == ' '))
                size--;

        for (size_t i = 0; i < size;) {
                size_t len = strnlen(buf + i, size - i);
                char *arg = strndup(buf + i, len);
                r = strv_consume(&argv, arg);
                if (r < 0) {
                        strv_free(argv);
                        return r;
                }
                i += len + 1;
        }

        *ret = argv;
        return 0;
}

int proc_read_environ(int proc_fd, pid_t pid, uint64_t start_time, char ***ret) {
        char name[32];
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        *ret = NULL;
        snprintf(name, sizeof(name), "%d/environ", (int) pid);
        int r = read_full_file_at(proc_fd, name, 256 * 1024, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        _cleanup_strv_free_ char **l = NULL;
        if ((r = argv_from_cmdline(text, size, &l)) < 0)
                return r;
        /* Read after the environment: a pid reused meanwhile reads as gone. */
        if (proc_still_running_at(proc_fd, pid, start_time))
                *ret = TAKE_PTR(l);
        return 0;
}

static int read_exe(int dfd, char **ret) {
        char buf[PATH_MAX];

        ssize_t k = readlinkat(dfd, "exe", buf, sizeof(buf));
        if (k < 0)
                return -errno;
        if ((size_t) k >= sizeof(buf))
                return -ENAMETOOLONG;
        buf[k] = 0;

        /* The binary was replaced by a package upgrade; the name still says what runs. */
        static const char deleted[] = " (deleted)";
        size_t n = (size_t) k, dl = sizeof(deleted) - 1;
        if (n > dl && memcmp(buf + n - dl, deleted, dl) == 0)
                buf[n - dl] = 0;

        char *exe = strdup(buf);
        if (!exe)
                return -ENOMEM;
        *ret = exe;
        return 0;
}

static bool errno_is_vanished(int r) {
        return r == -ENOENT || r == -ESRCH;
}

/* Reads one process through a dirfd of its /proc directory: if the pid is reused
 * meanwhile, the old directory stays dead (ENOENT/ESRCH) instead of showing the
 * new process, so one Process never mixes two. Returns 0 with p filled, 0 with
 * p->pid == 0 for processes to skip, or -errno. */
static int process_load(int dfd, pid_t pid, Process *p) {
        _cleanup_free_ char *status = NULL, *stat = NULL, *cmdline = NULL, *comm = NULL;
        size_t cmdline_size;
        int r;

        r = read_full_file_at(dfd, "cmdline", PROC_CMDLINE_MAX, &cmdline, &cmdline_size);
        if (r < 0)
                return r;
        if (cmdline_size == 0)
                return 0; /* kernel thread (or zombie): nothing a web server runs as */

        r = read_full_file_at(dfd, "status", PROC_SMALL_FILE_MAX, &status, NULL);
        if (r < 0)
                return r;
        r = read_full_file_at(dfd, "stat", PROC_SMALL_FILE_MAX, &stat, NULL);
        if (r < 0)
                return r;
        r = read_full_file_at(dfd, "comm", PROC_SMALL_FILE_MAX, &comm, NULL);
        if (r < 0)
                return r;

        r = proc_status_parse(status, p);
        if (r < 0)
                return r;
        r = proc_stat_parse(stat, p);
        if (r < 0)
                return r;
        r = argv_from_cmdline(cmdline, cmdline_size, &p->argv);
        if (r < 0)
                return r;

        comm[strcspn(comm, "\n")] = 0;
        p->comm = TAKE_PTR(comm);

        /* exe is unreadable without CAP_SYS_PTRACE over the process: not fatal. */
        r = read_exe(dfd, &p->exe);
        if (r == -ENOMEM)
                return r;

        struct stat st;
        if (fstatat(dfd, "ns/mnt", &st, 0) >= 0)
                p->mnt_ns = st.st_ino;

        p->pid = pid;
        return 0;
}

static bool parse_pid_name(const char *name, pid_t *ret) {
        uint64_t v = 0;

        if (*name == 0)
                return false;
        for (const char *s = name; *s; s++) {
                if (*s < '0' || *s > '9')
                        return false;
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > INT_MAX)
                        return false;
        }
        if (v == 0)
                return false;
        *ret = (pid_t) v;
        return true;
}

static int process_compare(const void *a, const void *b) {
        pid_t x = ((const Process *) a)->pid, y = ((const Process *) b)->pid;
        return x < y ? -1 : x > y;
}

int proc_table_load(const char *proc_root, ProcTable *ret) {
        _cleanup_(proc_table_done) ProcTable t = {};
        _cleanup_closedir_ DIR *d = opendir(proc_root);
        int r;

        if (!d)
                return -errno;

        for (;;) {
                errno = 0;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                return -errno;
                        break;
                }

                pid_t pid;
                if (!parse_pid_name(de->d_name, &pid))
                        continue;

                _cleanup_close_ int dfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0) {
                        if (errno_is_vanished(-errno))
                                continue;
                        return -errno;
                }

                _cleanup_(process_done) Process p = {};
                r = process_load(dfd, pid, &p);
                if (errno_is_vanished(r))
                        continue;
                if (r < 0)
                        return r;
                if (p.pid == 0)
                        continue;

                Process *slot = ARRAY_PUSH(t.procs, t.n);
                if (!slot)
                        return -ENOMEM;
                *slot = p;
                p = (Process) {};
        }

        qsort(t.procs, t.n, sizeof(Process), process_compare);
        *ret = t;
        t = (ProcTable) {};
        return 0;
}

const Process *proc_table_find(const ProcTable *t, pid_t pid) {
        if (t->n == 0)
                return NULL;
        return bsearch(&(Process) { .pid = pid }, t->procs, t->n, sizeof(Process), process_compare);
}

bool proc_still_running(const char *proc_root, pid_t pid, uint64_t start_time) {
        _cleanup_close_ int rfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return rfd >= 0 && proc_still_running_at(rfd, pid, start_time);
}

int proc_stat_open(int rfd, pid_t pid) {
        char name[32];
        snprintf(name, sizeof(name), "%d/stat", (int) pid);
        int fd = openat(rfd, name, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

bool proc_stat_fd_running(int stat_fd, uint64_t start_time) {
        char text[4096];
        Process p = {};
        ssize_t k = pread(stat_fd, text, sizeof(text) - 1, 0);
        if (k <= 0)
                return false;
        text[k] = 0;
        /* A zombie has exited: only its parent has not reaped it yet. */
        return proc_stat_parse(text, &p) >= 0 && p.start_time == start_time && p.state != 'Z';
}

bool proc_still_running_at(int rfd, pid_t pid, uint64_t start_time) {
        _cleanup_close_ int fd = proc_stat_open(rfd, pid);
        return fd >= 0 && proc_stat_fd_running(fd, start_time);
}

bool process_same_creds(const Process *a, const Process *b) {
        /* Both group lists are sorted and unique (see parse_groups). */
        return a->ruid == b->ruid && a->euid == b->euid &&
               a->rgid == b->rgid && a->egid == b->egid &&
               a->n_groups == b->n_groups &&
               (a->n_groups == 0 || memcmp(a->groups, b->groups, a->n_groups * sizeof(gid_t)) == 0);
}
