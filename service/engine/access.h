/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel's permission rule (generic_permission + POSIX ACLs), evaluated for
 * a given credential set without becoming it: search (x) on every directory of a
 * walk, write (w) on the socket. Pure: works on InodeInfo collected by path_walk(),
 * so it is tested on fixtures and real files alike. */

#include <stdbool.h>
#include <sys/types.h>

#include "sys/safe-fs.h"

typedef struct Creds {
        uid_t uid;
        gid_t gid;
        const gid_t *groups;
        size_t n_groups;
} Creds;

typedef enum AccessClass {
        ACCESS_CLASS_ROOT,       /* uid 0: CAP_DAC_OVERRIDE */
        ACCESS_CLASS_OWNER,      /* owner bits / ACL_USER_OBJ */
        ACCESS_CLASS_NAMED_USER, /* ACL_USER entry (masked) */
        ACCESS_CLASS_GROUP,      /* owning group or named ACL group entries (masked) */
        ACCESS_CLASS_OTHER,
} AccessClass;

#define ACCESS_READ 4u
#define ACCESS_WRITE 2u
#define ACCESS_EXEC 1u

/* Whether creds may access the inode with `want` (bits above). Sets *cls to the class
 * the kernel picked for these creds. Returns 0 or -EACCES. */
int access_inode(const InodeInfo *ino, const Creds *c, unsigned want, AccessClass *cls);

typedef struct AccessVerdict {
        int error;           /* 0, EACCES, or the walk's error (ENOENT, ENOTDIR, ELOOP) */
        ssize_t blocking_dir;/* index into walk->dirs of the directory lacking x, or -1 */
        bool socket_denied;  /* the socket itself lacks w for these creds */
        AccessClass cls;     /* the class on the blocking inode (or the socket if allowed) */
} AccessVerdict;

/* Evaluates the whole walk: x on each directory in order, then w on the final inode. */
void access_walk(const PathWalk *w, const Creds *c, AccessVerdict *ret);

const char *access_class_to_string(AccessClass c);
bool creds_in_group(const Creds *c, gid_t g);
