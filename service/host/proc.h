/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One read of /proc per call: every process with the facts discovery needs.
 * Credentials come from /proc/PID/status (what the kernel uses for access
 * checks), never from configs. The root is a parameter so tests can point it at
 * recorded samples. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct Process {
        pid_t pid, ppid;
        char *comm;          /* /proc/PID/comm */
        char *exe;           /* readlink /proc/PID/exe ("(deleted)" suffix stripped); NULL if unreadable */
        char **argv;         /* /proc/PID/cmdline split at NULs; a title rewritten into one string stays one element */
        uid_t ruid, euid;    /* Uid: real, effective */
        gid_t rgid, egid;    /* Gid: real, effective */
        gid_t *groups;       /* Groups: */
        size_t n_groups;
        uint64_t start_time; /* field 22 of /proc/PID/stat, clock ticks since boot */
        uint64_t mnt_ns;     /* inode of /proc/PID/ns/mnt; 0 if unknown */
        char state;          /* field 3 of stat: R S D Z ... */
} Process;

typedef struct ProcTable {
        Process *procs; /* sorted by pid */
        size_t n;
} ProcTable;

/* Parses the text of a /proc/PID/status file into p's credential fields
 * (ruid/euid/rgid/egid/groups, ppid). Returns 0, or -EINVAL if Uid:/Gid: are missing. */
int proc_status_parse(const char *text, Process *p);

/* Parses /proc/PID/stat text: state, ppid, start_time. Handles comm with spaces and ')'. */
int proc_stat_parse(const char *text, Process *p);

/* Loads every process under proc_root ("/proc" in production). Processes that
 * vanish mid-scan are skipped. Kernel threads (empty cmdline) are skipped. */
int proc_table_load(const char *proc_root, ProcTable *ret);
void proc_table_done(ProcTable *t);
const Process *proc_table_find(const ProcTable *t, pid_t pid);

/* Re-reads start_time of pid; returns true if the process still exists with that start time.
 * Used to revalidate a cached host model cheaply. */
bool proc_still_running(const char *proc_root, pid_t pid, uint64_t start_time);
/* Same, relative to an open directory fd of the proc root (no open of /proc per check). */
bool proc_still_running_at(int proc_fd, pid_t pid, uint64_t start_time);
/* /proc/PID/stat kept open: the file is bound to the process, not to its number (once it
 * is reaped, reads fail with ESRCH even if the pid is reused), so whether it still runs
 * is one pread() instead of a lookup, open, read and close. -errno on failure. */
int proc_stat_open(int proc_fd, pid_t pid);
bool proc_stat_fd_running(int stat_fd, uint64_t start_time);

/* The process's environment ("NAME=value" entries) while it is still the process of
 * that start time; *ret NULL when it cannot be read (gone, a pid reused). -ENOMEM, else 0. */
int proc_read_environ(int proc_fd, pid_t pid, uint64_t start_time, char ***ret);

/* Whether the credential sets are identical (uid, gid, same group set in any order). */
bool process_same_creds(const Process *a, const Process *b);
