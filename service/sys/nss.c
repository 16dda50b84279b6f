/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The passwd and group databases, asked with a bound where they may wait on a server
 * (see nss.h). */
#include "sys/nss.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sys/timed-call.h"
#include "util/log.h"
#include "util/util.h"

typedef enum AskKind {
        ASK_USER,      /* name -> id (uid), gid */
        ASK_GROUP,     /* name -> id (gid) */
        ASK_USER_ID,   /* id -> name */
        ASK_GROUP_ID,  /* id -> name */
        ASK_GROUPLIST, /* name, gid -> groups */
} AskKind;

/* One lookup, with everything it reads and writes: a thread given up on keeps it. */
typedef struct Ask {
        AskKind kind;
        char *name;
        unsigned id;
        unsigned gid;
        gid_t *groups;
        size_t n_groups;
} Ask;

static atomic_int n_stuck;
static atomic_uint n_timeouts;
/* Whether "files" is the first source of passwd, of group in nsswitch.conf: glibc then
 * answers what /etc/passwd and /etc/group hold from them alone (ask_files()). */
static bool files_first[2];

unsigned nss_stuck(void) {
        int n = atomic_load(&n_stuck);
        return n > 0 ? (unsigned) n : 0;
}

unsigned nss_timeouts(void) {
        return atomic_load(&n_timeouts);
}

static void ask_free(Ask *a) {
        if (!a)
                return;
        free(a->name);
        free(a->groups);
        free(a);
}

/* drop() of timed_call: the thread given up on is done with it. */
static void ask_drop(void *p) {
        ask_free(p);
        atomic_fetch_sub(&n_stuck, 1);
}

/* The reentrant lookups need a buffer as large as the entry (a group with thousands of
 * members): doubled on ERANGE, up to a bound. */
#define NSS_BUF_MIN 4096u
#define NSS_BUF_MAX (16u << 20)

static int ask_entry(Ask *a) {
        _cleanup_free_ char *buf = NULL;
        for (size_t size = NSS_BUF_MIN;; size *= 2) {
                if (size > NSS_BUF_MAX)
                        return -ENOMEM;
                char *nb = realloc(buf, size);
                if (!nb)
                        return -ENOMEM;
                buf = nb;
                struct passwd pw, *pwr = NULL;
                struct group gr, *grr = NULL;
                int k;
                switch (a->kind) {
                case ASK_USER:
                        k = getpwnam_r(a->name, &pw, buf, size, &pwr);
                        break;
                case ASK_USER_ID:
                        k = getpwuid_r(a->id, &pw, buf, size, &pwr);
                        break;
                case ASK_GROUP:
                        k = getgrnam_r(a->name, &gr, buf, size, &grr);
                        break;
                case ASK_GROUP_ID:
                        k = getgrgid_r(a->id, &gr, buf, size, &grr);
                        break;
                default:
                        return -EINVAL;
                }
                if (k == ERANGE)
                        continue;
                if (k != 0) /* a source failed (EIO, EAGAIN...): not "no such entry" */
                        return -EIO;
                if (!pwr && !grr)
                        return -ESRCH;
                if (pwr) {
                        a->id = pwr->pw_uid;
                        a->gid = pwr->pw_gid;
                        if (a->kind == ASK_USER_ID && !(a->name = strdup(pwr->pw_name)))
                                return -ENOMEM;
                } else {
                        a->id = grr->gr_gid;
                        if (a->kind == ASK_GROUP_ID && !(a->name = strdup(grr->gr_name)))
                                return -ENOMEM;
                }
                return 0;
        }
}

static int ask_grouplist(Ask *a) {
        for (int n = 64;;) {
                gid_t *g = realloc(a->groups, sizeof(gid_t) * (size_t) n);
                if (!g)
                        return -ENOMEM;
                a->groups = g;
                int k = n;
                if (getgrouplist(a->name, a->gid, a->groups, &k) >= 0) {
                        a->n_groups = (size_t) k;
                        return 0;
                }
                if (k <= n) /* no growth asked for: nothing to give */
                        return -EIO;
                n = k;
        }
}

static int ask_run(void *p) {
        Ask *a = p;
        return a->kind == ASK_GROUPLIST ? ask_grouplist(a) : ask_entry(a);
}

/* While a lookup given up on waits: what /etc/passwd or /etc/group say, where "files"
 * comes first in nsswitch.conf (glibc would stop at that answer too), so that the
 * system's own accounts (the web servers', the pools') keep their names. What they do
 * not hold may be the other source's: -ETIMEDOUT. So is every group list, which the
 * other source may add to. */
static int ask_files(Ask *a) {
        bool grp = a->kind == ASK_GROUP || a->kind == ASK_GROUP_ID;
        if (a->kind == ASK_GROUPLIST || !files_first[grp])
                return -ETIMEDOUT;
        FILE *f = fopen(grp ? "/etc/group" : "/etc/passwd", "re");
        if (!f)
                return -ETIMEDOUT;
        int r = -ETIMEDOUT;
        if (grp) {
                for (struct group *g; r == -ETIMEDOUT && (g = fgetgrent(f));)
                        if (a->kind == ASK_GROUP ? streq_ptr(g->gr_name, a->name) : g->gr_gid == a->id) {
                                a->id = g->gr_gid;
                                r = a->kind == ASK_GROUP_ID && !(a->name = strdup(g->gr_name)) ? -ENOMEM : 0;
                        }
        } else {
                for (struct passwd *p; r == -ETIMEDOUT && (p = fgetpwent(f));)
                        if (a->kind == ASK_USER ? streq_ptr(p->pw_name, a->name) : p->pw_uid == a->id) {
                                a->id = p->pw_uid;
                                a->gid = p->pw_gid;
                                r = a->kind == ASK_USER_ID && !(a->name = strdup(p->pw_name)) ? -ENOMEM : 0;
                        }
        }
        fclose(f);
        return r;
}

/* Runs *ap, bounded unless the databases are local. On -ETIMEDOUT *ap belongs to the
 * thread still waiting, and is set to NULL. */
static int ask(Ask **ap) {
        static bool warned;
        int r, result;

        if (nss_is_local())
                return ask_run(*ap);
        if (nss_stuck() > 0) {
                r = ask_files(*ap);
                if (r != -ETIMEDOUT)
                        return r;
        } else {
                r = timed_call(ask_run, *ap, ask_drop, NSS_TIMEOUT_MS, &result);
                if (r == 0) {
                        if (warned)
                                log_info("The user and group databases answer again");
                        warned = false;
                        return result;
                }
                if (r == -ENOMEM)
                        return r;
                if (r != -ETIMEDOUT) {
                        /* No thread could be made (-EAGAIN), or those given up on elsewhere
                         * fill the limit (-EBUSY): not asked, and not counted as a timeout
                         * (a model built now would be built again on every call). */
                        return ask_files(*ap);
                }
                atomic_fetch_add(&n_stuck, 1);
                *ap = NULL;
        }
        atomic_fetch_add(&n_timeouts, 1);
        if (!warned)
                log_warning("The user and group databases did not answer within %d ms (nsswitch.conf names a source "
                            "besides files): until that lookup ends, only /etc/passwd and /etc/group are read, "
                            "other names are shown as numbers, and group lists are unknown", NSS_TIMEOUT_MS);
        warned = true;
        return -ETIMEDOUT;
}

static Ask *ask_new(AskKind kind, const char *name, unsigned id, unsigned gid) {
        Ask *a = calloc(1, sizeof(Ask));
        if (!a)
                return NULL;
        *a = (Ask) { .kind = kind, .id = id, .gid = gid };
        if (name && !(a->name = strdup(name))) {
                free(a);
                return NULL;
        }
        return a;
}

int nss_user_by_name(const char *name, uid_t *ret_uid, gid_t *ret_gid) {
        Ask *a = ask_new(ASK_USER, name, 0, 0);
        if (!a)
                return -ENOMEM;
        int r = ask(&a);
        if (r >= 0 && ret_uid)
                *ret_uid = a->id;
        if (r >= 0 && ret_gid)
                *ret_gid = a->gid;
        ask_free(a);
        return r;
}

int nss_group_by_name(const char *name, gid_t *ret_gid) {
        Ask *a = ask_new(ASK_GROUP, name, 0, 0);
        if (!a)
                return -ENOMEM;
        int r = ask(&a);
        if (r >= 0 && ret_gid)
                *ret_gid = a->id;
        ask_free(a);
        return r;
}

int nss_name_by_id(bool group, unsigned id, char **ret) {
        Ask *a = ask_new(group ? ASK_GROUP_ID : ASK_USER_ID, NULL, id, 0);
        if (!a)
                return -ENOMEM;
        int r = ask(&a);
        if (r >= 0) {
                *ret = a->name;
                a->name = NULL;
        }
        ask_free(a);
        return r;
}

int nss_grouplist(const char *user, gid_t gid, gid_t **ret, size_t *ret_n) {
        Ask *a = ask_new(ASK_GROUPLIST, user, 0, gid);
        if (!a)
                return -ENOMEM;
        int r = ask(&a);
        if (r >= 0) {
                *ret = a->groups;
                *ret_n = a->n_groups;
                a->groups = NULL;
        }
        ask_free(a);
        return r;
}

char *nss_name_or_number(bool group, unsigned id) {
        char *s = NULL;
        int r = nss_name_by_id(group, id, &s);
        if (r == -ENOMEM)
                return NULL;
        if (r >= 0)
                return s;
        return asprintf(&s, "%u", id) < 0 ? NULL : s;
}

int nss_signature(uint64_t ret[9]) {
        static const char *const files[] = { "/etc/passwd", "/etc/group", "/etc/nsswitch.conf" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                struct stat st;
                if (stat(files[i], &st) < 0)
                        return -errno;
                ret[3 * i] = st.st_ino;
                ret[3 * i + 1] = (uint64_t) st.st_mtim.tv_sec * 1000000000 + (uint64_t) st.st_mtim.tv_nsec;
                ret[3 * i + 2] = (uint64_t) st.st_size;
        }
        return 0;
}

/* Whether passwd and group name local sources only, and whether "files" is the first
 * source of each. */
static bool nsswitch_is_local(void) {
        _cleanup_free_ char *text = NULL;
        bool local = true;
        files_first[0] = files_first[1] = false;
        if (read_full_file("/etc/nsswitch.conf", &text, NULL) < 0)
                return false;
        for (char *line = text, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                char *l = strstrip(line);
                bool grp = startswith(l, "group:");
                if (!startswith(l, "passwd:") && !grp)
                        continue;
                char *save = NULL;
                bool first = true;
                for (char *w = strtok_r(strchr(l, ':') + 1, " \t", &save); w;
                     w = strtok_r(NULL, " \t", &save), first = false) {
                        if (first)
                                files_first[grp] = streq_ptr(w, "files");
                        if (!streq_ptr(w, "files") && !streq_ptr(w, "systemd") && !streq_ptr(w, "compat"))
                                local = false;
                }
        }
        return local;
}

/* Asked before every lookup: read again only when nsswitch.conf changed (one stat). */
bool nss_is_local(void) {
        static struct stat seen;
        static bool known, local;
        struct stat st;
        if (stat("/etc/nsswitch.conf", &st) < 0) {
                known = files_first[0] = files_first[1] = false;
                return false;
        }
        if (!known || st.st_dev != seen.st_dev || st.st_ino != seen.st_ino || st.st_size != seen.st_size ||
            st.st_mtim.tv_sec != seen.st_mtim.tv_sec || st.st_mtim.tv_nsec != seen.st_mtim.tv_nsec) {
                local = nsswitch_is_local();
                seen = st;
                known = true;
        }
        return local;
}
