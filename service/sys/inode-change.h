/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Changes to one inode held as an O_PATH fd (path_walk()'s final_fd, or an
 * openat(O_PATH|O_NOFOLLOW)), never by path name: Debian's /run/php belongs to
 * www-data, so a name can be swapped for a symlink to a victim file between the
 * check and the change; an fd cannot. Ownership goes through
 * fchownat(AT_EMPTY_PATH), mode and ACL through /proc/self/fd/N (fchmod and
 * the acl_*_fd calls refuse O_PATH fds). Every call first fstat()s the fd and
 * requires the kind the caller expects: -ENOTSOCK / -ENOTDIR otherwise. */

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef enum InodeKind {
        INODE_SOCKET,
        INODE_DIRECTORY,
} InodeKind;

typedef enum InodeAclTag {
        INODE_ACL_USER,  /* named user entry, u:UID:perm */
        INODE_ACL_GROUP, /* named group entry, g:GID:perm */
} InodeAclTag;

/* What inode_state_restore() needs to put an inode back exactly. */
typedef struct InodeState {
        uid_t uid;
        gid_t gid;
        mode_t mode; /* st_mode & 07777 */
        char *acl;   /* access ACL, short text with numeric ids ("u::rw-,u:33:rw-,g::rw-,m::rw-,o::---");
                      * NULL when the inode has no extended entries */
} InodeState;

/* fstat()s fd and checks its kind; st optional. */
int inode_check(int fd, InodeKind kind, struct stat *st);
/* 0 when fd is the inode (dev, ino), -ESTALE when it is another one. */
int inode_matches(int fd, dev_t dev, ino_t ino);

/* fchownat(AT_EMPTY_PATH); (uid_t) -1 / (gid_t) -1 leave that id as it is. */
int inode_chown(int fd, InodeKind kind, uid_t uid, gid_t gid);
/* Permission bits (07777). Other-write is refused (-EPERM): no strategy may
 * ever widen a socket or a directory to everyone. */
int inode_chmod(int fd, InodeKind kind, mode_t mode);

/* Adds perm (4 r, 2 w, 1 x) to the named entry for id, creating it when absent,
 * and widens the mask just enough that the entry is effective ('other' is never
 * touched). On a 0700 directory, u:65534:x makes the mode show 0710. */
int inode_acl_grant(int fd, InodeKind kind, InodeAclTag tag, unsigned id, unsigned perm);
/* Removes the named entry for id (0 also when there was none). The mask only
 * narrows; with no named entry left the ACL goes back to plain mode bits. */
int inode_acl_revoke(int fd, InodeKind kind, InodeAclTag tag, unsigned id);

int inode_state_read(int fd, InodeKind kind, InodeState *ret);
/* Puts owner, group, mode and access ACL back as saved (a NULL acl removes the
 * extended entries). The default ACL of a directory is never touched. */
int inode_state_restore(int fd, InodeKind kind, const InodeState *s);
/* "root:www-data 0660" or "root:root 0660 u:nginx:rw-,m::rw-" for journal
 * before/after strings: names where they resolve, only the extended ACL entries. */
int inode_state_format(const InodeState *s, char **ret);
bool inode_state_equal(const InodeState *a, const InodeState *b);
void inode_state_done(InodeState *s);
