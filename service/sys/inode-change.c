/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "inode-change.h"

#include <acl/libacl.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/acl.h>

#include "sys/nss.h"
#include "util/util.h"

#define FD_PATH_MAX sizeof("/proc/self/fd/-2147483648")

static void acl_freep(acl_t *a) {
        if (*a)
                acl_free(*a);
}
static void acl_text_freep(char **s) {
        if (*s)
                acl_free(*s);
}
#define _cleanup_acl_ _cleanup_(acl_freep)

static void fd_path(int fd, char buf[static FD_PATH_MAX]) {
        snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
}

int inode_check(int fd, InodeKind kind, struct stat *ret) {
        struct stat st;
        if (fd < 0)
                return -EBADF;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (kind == INODE_SOCKET && !S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        if (kind == INODE_DIRECTORY && !S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (ret)
                *ret = st;
        return 0;
}

int inode_matches(int fd, dev_t dev, ino_t ino) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        return st.st_dev == dev && st.st_ino == ino ? 0 : -ESTALE;
}

int inode_chown(int fd, InodeKind kind, uid_t uid, gid_t gid) {
        int r = inode_check(fd, kind, NULL);
        if (r < 0)
                return r;
        if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
                return -errno;
        return 0;
}

static int chmod_fd(int fd, mode_t mode) {
        char p[FD_PATH_MAX];
        fd_path(fd, p);
        if (chmod(p, mode & 07777) < 0)
                return -errno;
        return 0;
}

int inode_chmod(int fd, InodeKind kind, mode_t mode) {
        if (mode & ~(mode_t) 07777)
                return -EINVAL;
        if (mode & S_IWOTH)
                return -EPERM;
        int r = inode_check(fd, kind, NULL);
        if (r < 0)
                return r;
        return chmod_fd(fd, mode);
}

static unsigned perm_get(acl_entry_t e) {
        acl_permset_t ps;
        if (acl_get_permset(e, &ps) < 0)
                return 0;
        return (acl_get_perm(ps, ACL_READ) > 0 ? 4u : 0u) |
               (acl_get_perm(ps, ACL_WRITE) > 0 ? 2u : 0u) |
               (acl_get_perm(ps, ACL_EXECUTE) > 0 ? 1u : 0u);
}

static int perm_set(acl_entry_t e, unsigned perm) {
        acl_permset_t ps;
        if (acl_get_permset(e, &ps) < 0 || acl_clear_perms(ps) < 0)
                return -errno;
        if (((perm & 4) && acl_add_perm(ps, ACL_READ) < 0) ||
            ((perm & 2) && acl_add_perm(ps, ACL_WRITE) < 0) ||
            ((perm & 1) && acl_add_perm(ps, ACL_EXECUTE) < 0))
                return -errno;
        return acl_set_permset(e, ps) < 0 ? -errno : 0;
}

/* Finds the entry with tag (and, for named entries, qualifier id); NULL if none. */
static acl_entry_t acl_find(acl_t acl, acl_tag_t tag, unsigned id) {
        acl_entry_t e;
        for (int w = ACL_FIRST_ENTRY; acl_get_entry(acl, w, &e) == 1; w = ACL_NEXT_ENTRY) {
                acl_tag_t t;
                if (acl_get_tag_type(e, &t) < 0 || t != tag)
                        continue;
                if (tag != ACL_USER && tag != ACL_GROUP)
                        return e;
                void *q = acl_get_qualifier(e);
                if (!q)
                        continue;
                unsigned qid = tag == ACL_USER ? (unsigned) *(uid_t *) q : (unsigned) *(gid_t *) q;
                acl_free(q);
                if (qid == id)
                        return e;
        }
        return NULL;
}

/* The permissions the group class asks for: what a recomputed mask would be. */
static unsigned group_class_union(acl_t acl, bool *ret_named) {
        unsigned u = 0;
        bool named = false;
        acl_entry_t e;
        for (int w = ACL_FIRST_ENTRY; acl_get_entry(acl, w, &e) == 1; w = ACL_NEXT_ENTRY) {
                acl_tag_t t;
                if (acl_get_tag_type(e, &t) < 0)
                        continue;
                if (t == ACL_USER || t == ACL_GROUP)
                        named = true;
                if (t == ACL_USER || t == ACL_GROUP || t == ACL_GROUP_OBJ)
                        u |= perm_get(e);
        }
        *ret_named = named;
        return u;
}

static int acl_load(int fd, acl_t *ret) {
        char p[FD_PATH_MAX];
        fd_path(fd, p);
        acl_t acl = acl_get_file(p, ACL_TYPE_ACCESS);
        if (!acl)
                return -errno;
        *ret = acl;
        return 0;
}

static int acl_store(int fd, acl_t acl) {
        char p[FD_PATH_MAX];
        fd_path(fd, p);
        if (acl_valid(acl) < 0)
                return -EINVAL;
        if (acl_set_file(p, ACL_TYPE_ACCESS, acl) < 0)
                return -errno;
        return 0;
}

static acl_tag_t acl_tag(InodeAclTag tag) {
        return tag == INODE_ACL_USER ? ACL_USER : ACL_GROUP;
}

int inode_acl_grant(int fd, InodeKind kind, InodeAclTag tag, unsigned id, unsigned perm) {
        if (perm == 0 || perm > 7)
                return -EINVAL;
        int r = inode_check(fd, kind, NULL);
        if (r < 0)
                return r;
        _cleanup_acl_ acl_t acl = NULL;
        r = acl_load(fd, &acl);
        if (r < 0)
                return r;

        acl_entry_t e = acl_find(acl, acl_tag(tag), id);
        if (!e) {
                if (acl_create_entry(&acl, &e) < 0 || acl_set_tag_type(e, acl_tag(tag)) < 0)
                        return -errno;
                if (tag == INODE_ACL_USER) {
                        uid_t q = (uid_t) id;
                        if (acl_set_qualifier(e, &q) < 0)
                                return -errno;
                } else {
                        gid_t q = (gid_t) id;
                        if (acl_set_qualifier(e, &q) < 0)
                                return -errno;
                }
        }
        r = perm_set(e, perm_get(e) | perm);
        if (r < 0)
                return r;

        /* An existing mask is only widened by the bits granted: recomputing it
         * from scratch would also lift a restriction someone put on other named
         * entries. Without a mask (plain mode bits) the kernel needs one now, and
         * the union is exactly group_obj | this entry. 'other' is left alone. */
        acl_entry_t mask = acl_find(acl, ACL_MASK, 0);
        if (mask)
                r = perm_set(mask, perm_get(mask) | perm);
        else if (acl_calc_mask(&acl) < 0)
                r = -errno;
        if (r < 0)
                return r;
        return acl_store(fd, acl);
}

int inode_acl_revoke(int fd, InodeKind kind, InodeAclTag tag, unsigned id) {
        int r = inode_check(fd, kind, NULL);
        if (r < 0)
                return r;
        _cleanup_acl_ acl_t acl = NULL;
        r = acl_load(fd, &acl);
        if (r < 0)
                return r;
        acl_entry_t e = acl_find(acl, acl_tag(tag), id);
        if (!e)
                return 0;
        if (acl_delete_entry(acl, e) < 0)
                return -errno;

        acl_entry_t mask = acl_find(acl, ACL_MASK, 0);
        if (mask) {
                bool named;
                unsigned want = group_class_union(acl, &named);
                unsigned m = perm_get(mask);
                if (named)
                        r = perm_set(mask, m & want);
                else {
                        /* Back to plain mode bits: the group bits showed the mask, so the
                         * owning group keeps at most what it had in effect. */
                        acl_entry_t g = acl_find(acl, ACL_GROUP_OBJ, 0);
                        r = g ? perm_set(g, perm_get(g) & m) : -EINVAL;
                        if (r == 0 && acl_delete_entry(acl, mask) < 0)
                                r = -errno;
                }
                if (r < 0)
                        return r;
        }
        return acl_store(fd, acl);
}

int inode_state_read(int fd, InodeKind kind, InodeState *ret) {
        struct stat st = {};
        int r = inode_check(fd, kind, &st);
        if (r < 0)
                return r;
        _cleanup_acl_ acl_t acl = NULL;
        r = acl_load(fd, &acl);
        if (r < 0)
                return r;
        InodeState s = { .uid = st.st_uid, .gid = st.st_gid, .mode = st.st_mode & 07777 };
        mode_t equiv;
        if (acl_equiv_mode(acl, &equiv) != 0) {
                _cleanup_(acl_text_freep) char *text =
                        acl_to_any_text(acl, NULL, ',', TEXT_ABBREVIATE | TEXT_NUMERIC_IDS);
                if (!text)
                        return -errno;
                s.acl = strdup(text);
                if (!s.acl)
                        return -ENOMEM;
        }
        *ret = s;
        return 0;
}

int inode_state_restore(int fd, InodeKind kind, const InodeState *s) {
        int r = inode_check(fd, kind, NULL);
        if (r < 0)
                return r;
        if (fchownat(fd, "", s->uid, s->gid, AT_EMPTY_PATH) < 0)
                return -errno;
        _cleanup_acl_ acl_t acl = s->acl ? acl_from_text(s->acl) : acl_from_mode(s->mode);
        if (!acl)
                return errno == EINVAL ? -EINVAL : -errno;
        r = acl_store(fd, acl);
        if (r < 0)
                return r;
        /* Last: chown may have cleared set-id bits, and the mode's group bits are
         * the saved mask, so this leaves both as they were. */
        return chmod_fd(fd, s->mode);
}

/* The named entries and the mask, with names: the base entries repeat the mode. */
static int acl_extended_text(const char *numeric, char **ret) {
        _cleanup_acl_ acl_t acl = acl_from_text(numeric);
        if (!acl)
                return -EINVAL;
        _cleanup_(acl_text_freep) char *text = acl_to_any_text(acl, NULL, ',', TEXT_ABBREVIATE);
        if (!text)
                return -errno;
        _cleanup_strv_free_ char **keep = NULL;
        char *save = NULL;
        for (char *t = strtok_r(text, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (!startswith(t, "u::") && !startswith(t, "g::") && !startswith(t, "o::"))
                        if (strv_extend(&keep, t) < 0)
                                return -ENOMEM;
        *ret = strv_join(keep, ",");
        return *ret ? 0 : -ENOMEM;
}

int inode_state_format(const InodeState *s, char **ret) {
        _cleanup_free_ char *u = nss_name_or_number(false, s->uid), *g = nss_name_or_number(true, s->gid), *acl = NULL;
        if (!u || !g)
                return -ENOMEM;
        if (s->acl) {
                int r = acl_extended_text(s->acl, &acl);
                if (r < 0)
                        return r;
        }
        char *out = NULL;
        if (asprintf(&out, "%s:%s %04o%s%s", u, g, (unsigned) s->mode, acl ? " " : "", strempty(acl)) < 0)
                return -ENOMEM;
        *ret = out;
        return 0;
}

bool inode_state_equal(const InodeState *a, const InodeState *b) {
        return a->uid == b->uid && a->gid == b->gid && a->mode == b->mode && streq_ptr(a->acl, b->acl);
}

void inode_state_done(InodeState *s) {
        if (!s)
                return;
        free(s->acl);
        s->acl = NULL;
}
