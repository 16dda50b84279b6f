/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "engine/access.h"

#include <errno.h>

#include "util/util.h"

bool creds_in_group(const Creds *c, gid_t g) {
        if (c->gid == g)
                return true;
        for (size_t i = 0; i < c->n_groups; i++)
                if (c->groups[i] == g)
                        return true;
        return false;
}

const char *access_class_to_string(AccessClass c) {
        static const char *const table[] = {
                [ACCESS_CLASS_ROOT] = "root",
                [ACCESS_CLASS_OWNER] = "owner",
                [ACCESS_CLASS_NAMED_USER] = "named-user",
                [ACCESS_CLASS_GROUP] = "group",
                [ACCESS_CLASS_OTHER] = "other",
        };

        if ((unsigned) c >= ELEMENTSOF(table))
                return NULL;
        return table[c];
}

static int grant(unsigned perm, unsigned want) {
        return (perm & want) == want ? 0 : -EACCES;
}

static unsigned acl_mask(const InodeInfo *ino) {
        for (size_t i = 0; i < ino->n_acl; i++)
                if (ino->acl[i].tag == ACL_TAG_MASK)
                        return ino->acl[i].perm;
        /* Without a mask entry nothing limits the named entries. */
        return 7;
}

/* posix_acl_permission(), past the owner: a named user entry wins outright; else
 * any group entry the creds hold that grants `want` lets them in (both limited by
 * the mask); a group that matched without granting denies without falling to
 * "other". */
static int access_acl(const InodeInfo *ino, const Creds *c, unsigned want, AccessClass *cls) {
        unsigned mask = acl_mask(ino), other = 0;
        bool group_found = false, group_grants = false;

        for (size_t i = 0; i < ino->n_acl; i++) {
                const AclItem *a = &ino->acl[i];

                switch (a->tag) {
                case ACL_TAG_USER:
                        if (a->id == c->uid) {
                                *cls = ACCESS_CLASS_NAMED_USER;
                                return grant(a->perm & mask, want);
                        }
                        break;
                case ACL_TAG_GROUP_OBJ:
                case ACL_TAG_GROUP: {
                        gid_t g = a->tag == ACL_TAG_GROUP_OBJ ? ino->st.st_gid : (gid_t) a->id;
                        if (creds_in_group(c, g)) {
                                group_found = true;
                                if (grant(a->perm & mask, want) == 0)
                                        group_grants = true;
                        }
                        break;
                }
                case ACL_TAG_OTHER:
                        other = a->perm;
                        break;
                case ACL_TAG_USER_OBJ:
                case ACL_TAG_MASK:
                        break;
                }
        }

        if (group_found) {
                *cls = ACCESS_CLASS_GROUP;
                return group_grants ? 0 : -EACCES;
        }
        *cls = ACCESS_CLASS_OTHER;
        return grant(other, want);
}

static int access_mode_bits(const InodeInfo *ino, const Creds *c, unsigned want, AccessClass *cls) {
        mode_t mode = ino->st.st_mode;

        if (creds_in_group(c, ino->st.st_gid)) {
                *cls = ACCESS_CLASS_GROUP;
                return grant((mode >> 3) & 7, want);
        }
        *cls = ACCESS_CLASS_OTHER;
        return grant(mode & 7, want);
}

int access_inode(const InodeInfo *ino, const Creds *c, unsigned want, AccessClass *cls) {
        AccessClass dummy;
        mode_t mode = ino->st.st_mode;

        if (!cls)
                cls = &dummy;

        if (c->uid == 0) {
                /* CAP_DAC_OVERRIDE: everything but executing a file no one may execute. */
                *cls = ACCESS_CLASS_ROOT;
                if (!(want & ACCESS_EXEC) || S_ISDIR(mode) || (mode & 0111))
                        return 0;
                return -EACCES;
        }

        if (c->uid == ino->st.st_uid) {
                /* The owner class ignores the ACL and the mask. */
                *cls = ACCESS_CLASS_OWNER;
                return grant((mode >> 6) & 7, want);
        }

        /* With an ACL the group class bits are the mask. The kernel skips the ACL when
         * they are 0 (acl_permission_check), so a named entry then falls back to the
         * group/other bits: copy that, or a u:USER:rwx under mask --- diverges. */
        if (ino->n_acl > 0 && (mode & S_IRWXG))
                return access_acl(ino, c, want, cls);

        return access_mode_bits(ino, c, want, cls);
}

void access_walk(const PathWalk *w, const Creds *c, AccessVerdict *ret) {
        *ret = (AccessVerdict) { .blocking_dir = -1 };

        for (size_t i = 0; i < w->n_dirs; i++)
                if (access_inode(&w->dirs[i], c, ACCESS_EXEC, &ret->cls) < 0) {
                        ret->error = EACCES;
                        ret->blocking_dir = (ssize_t) i;
                        return;
                }

        /* The walk's own failure is only reached by creds that could search so far. */
        if (w->error != 0) {
                ret->error = w->error;
                return;
        }
        if (!w->have_final) {
                ret->error = ENOENT;
                return;
        }

        if (access_inode(&w->final, c, ACCESS_WRITE, &ret->cls) < 0) {
                ret->error = EACCES;
                ret->socket_denied = true;
        }
}
