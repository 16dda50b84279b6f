/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* File systems that can leave a lookup waiting without bound (NFS, CIFS, FUSE,
 * automounts...), and a walk that does not wait for them past a bound. On a host that
 * mounts none, a walk is the plain path_walk: no thread, one poll() to learn that the
 * mount table has not changed. */

#include <stdbool.h>

#include "sys/safe-fs.h"

/* Whether a lookup on a file system of this type (mountinfo's field after " - ") can
 * wait on a server, a FUSE daemon or an automounter. */
bool fs_type_may_hang(const char *fstype);

/* Whether /proc/self/mountinfo text lists such a file system; for the unit tests. */
bool mountinfo_may_hang(const char *text);

/* Whether such a file system is mounted in our mount namespace now. The table is read
 * again only when the kernel says it changed. Not thread-safe: the daemon's loop only. */
bool mounts_may_hang(void);

/* path_walk_bounded(path, max_steps, ret), on a thread of its own when
 * mounts_may_hang(), waited for at most timeout_ms: -ETIMEDOUT then (the thread is left
 * to finish and frees what it made), or -EBUSY while too many such walks still wait
 * (sys/timed-call.h). */
int path_walk_timed(const char *path, unsigned max_steps, int timeout_ms, PathWalk *ret);
