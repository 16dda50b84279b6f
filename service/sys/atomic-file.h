/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Replacing a file so that a reader (php-fpm starting, a crash) sees either the
 * whole old content or the whole new one: a temp file in the same directory,
 * created relative to a directory fd with O_CREAT|O_EXCL|O_NOFOLLOW (a
 * pre-planted symlink cannot redirect it), given its final owner and mode through
 * the fd, written, fsync()ed, renamed over the name, and the directory fsync()ed
 * so the rename itself survives a power cut. */

#include <stddef.h>
#include <sys/types.h>

int atomic_file_replace_at(int dir_fd, const char *name, const void *data, size_t size,
                           uid_t uid, gid_t gid, mode_t mode);
