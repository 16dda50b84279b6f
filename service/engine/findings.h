/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The decisions of a diagnosis: the verdict, each consumer's errno under the
 * kernel's rule, its one primary finding code and the findings beside it, exactly
 * as shared/FAILURES.md and the bus contract order them. Works on facts gathered
 * by diagnose.c (walk, listener, pool, consumers), so every code is tested on
 * fixtures without a running web server. */

#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "report.h"
#include "sys/safe-fs.h"

/* What the pool declaring the socket says, and what its next start would create. */
typedef struct PoolFacts {
        bool present;
        const char *name;
        const char *file;           /* file declaring the path */
        bool sets_owner_or_group;   /* listen.owner or listen.group set */
        bool sets_acl;              /* listen.acl_users or listen.acl_groups set */
        bool acl_supported;         /* php-fpm build knows listen.acl_* */
        const char *unknown_account; /* a user/group the pool names that does not exist */
        bool have_predicted;        /* predicted is valid */
        InodeInfo predicted;        /* the socket php-fpm would create from its config now */
} PoolFacts;

typedef struct ConsumerFacts {
        const gid_t *db_groups;     /* group database (getgrouplist) for the user; NULL if unknown */
        size_t n_db_groups;
        bool running;               /* the workers exist now (stale credentials can be refreshed) */
        const char *reload_refusal; /* why sockfix makes no reload of their server (WebServer's); NULL: it can */
        uint64_t mnt_ns;            /* 0 if unknown */
} ConsumerFacts;

typedef struct SocketFacts {
        const PathWalk *walk;
        bool listener;              /* a listening socket is bound to the inode */
        bool queue_full;
        uint64_t listener_mnt_ns;   /* 0 if unknown */
        bool fs_acl;                /* the file system holding the socket supports ACLs */
        bool nscd_running;
        bool sssd_running;
        PoolFacts pool;
} SocketFacts;

/* Fills r->verdict, every consumer's error/can_connect/stale_credentials, and the
 * findings. r->consumers (credentials) must be filled; cf has one entry per consumer. */
int findings_classify(Report *r, const SocketFacts *f, const ConsumerFacts *cf);

/* After the real connect: adds probe-disagrees (and nothing else) where a consumer's
 * probe_errno differs from its kernel-rule errno. Returns how many disagreed. */
int findings_add_probe(Report *r);

/* The remedies a finding may offer on this socket: strategies that cannot work here are dropped. */
const char *const *findings_filter_remedies(const SocketFacts *f, const char *const *remedies, const char **buf,
                                            size_t n_buf);

/* Whether a finding code blocks in a way no permission change fixes (LSM, namespace). */
bool finding_is_not_permissions(const char *code);
/* For a caller other than root (DiagnoseOptions.restricted), a report whose verdict is
 * not-a-socket or missing says no more than that, of the path as asked: no owner, group,
 * mode or resolved path, and the verdict's finding rewritten. */
int findings_hide_inode(Report *r);
