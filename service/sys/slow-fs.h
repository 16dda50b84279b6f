/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* File systems that can leave a lookup waiting without bound (NFS, CIFS, FUSE,
 * automounts...), and a walk that does not wait for them past a bound. On a host that
 * mounts none, a walk is the plain path_walk: no thread, one poll() to learn that the
 * mount table has not changed; where some are mounted, only a walk that reaches one
 * runs on a thread. */

#include <stdbool.h>

#include "sys/safe-fs.h"
#include "util/hashmap.h"

/* Whether a lookup on a file system of this type (mountinfo's field after " - ") can
 * wait on a server, a FUSE daemon or an automounter. */
bool fs_type_may_hang(const char *fstype);

/* The mount points (unescaped) of the file systems in /proc/self/mountinfo text that
 * may hang, as a strv; their mount ids into slow_ids and every mount's id into all_ids
 * (u64 maps, may be NULL). */
int mountinfo_slow_mounts(const char *text, char ***ret, Hashmap *slow_ids, Hashmap *all_ids);

/* Whether such a file system is mounted in our mount namespace now. The table is read
 * again only when the kernel says it changed. Not thread-safe: the daemon's loop only. */
bool mounts_may_hang(void);

/* A PathWalkStop (sys/safe-fs.h): whether the component pinned at fd is the root of
 * such a file system, or one mounted since the table was read. userdata: NULL, or a
 * uint64_t * that gets the mount id it looked at. The loop's thread only. */
bool slow_mount_stop(int fd, const char *path, void *userdata);

/* path_walk_bounded(path, max_steps, ret), but a walk that would step onto the mount
 * point of such a file system is made again on a thread of its own, and waited for at
 * most timeout_ms: -ETIMEDOUT then (the thread is left to finish and frees what it
 * made; until it does, a walk that reaches the same mount gets -ETIMEDOUT at once), or
 * -EBUSY while too many such walks still wait or no thread can be made
 * (sys/timed-call.h); ret->slow_fs says it was made there. With timeout_ms 0 no
 * thread is made: -EWOULDBLOCK instead.
 * Other walks stay on the caller's thread. The loop's thread only. */
int path_walk_timed(const char *path, unsigned max_steps, int timeout_ms, PathWalk *ret);
