/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SELinux and AppArmor denials of a connect to a unix socket, recognised in audit
 * and kernel log lines. Pure parsing; the caller decides which log files to read. */

#include <stdbool.h>
#include <sys/types.h>

typedef enum LsmKind {
        LSM_SELINUX,
        LSM_APPARMOR,
} LsmKind;

typedef struct LsmDenial {
        LsmKind kind;
        char *path;     /* name= / path= of the socket, when logged */
        pid_t pid;
        char *comm;
        char *scontext; /* SELinux source context (the worker's domain) */
        char *tcontext;
        char *tclass;   /* sock_file, unix_stream_socket */
        char *perm;     /* connectto, write */
        char *profile;  /* AppArmor profile */
        bool permissive;/* SELinux permissive=1: logged but not enforced */
} LsmDenial;

/* Returns 1 and fills d for an AVC denial of { connectto } or sock_file { write },
 * or an apparmor="DENIED" operation="connect" (or "file_perm"/"sendmsg" on a unix socket) line;
 * 0 for any other line; -ENOMEM. */
int lsm_parse_line(const char *line, LsmDenial *d);
void lsm_denial_done(LsmDenial *d);

/* Whether the denial concerns this socket path (or, when no path is logged, this pid / comm). */
bool lsm_denial_matches(const LsmDenial *d, const char *socket_path, const char *resolved_path);

/* Whether a logged denial is about a worker running with label (its
 * /proc/PID/attr/current; NULL if unknown) on a host whose SELinux mode is
 * selinux_enforcing (1, 0 permissive, -1 absent): SELinux enforcing and the same type
 * as the worker's context; AppArmor the worker's profile, in enforce mode. Where the
 * running context is unknown the log line decides alone. */
bool lsm_denial_applies(const LsmDenial *d, int selinux_enforcing, const char *label);

/* SELinux mode from selinuxfs ("/sys/fs/selinux/enforce"): 1 enforcing, 0 permissive, -1 absent. */
int lsm_selinux_enforcing(const char *selinuxfs);
/* Reads /proc/PID/attr/current (the SELinux context or AppArmor profile); NULL if none. */
char *lsm_process_label(const char *proc_root, pid_t pid);
