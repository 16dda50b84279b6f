/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sys/slow-fs.h"

#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/timed-call.h"
#include "util/hashmap.h"
#include "util/util.h"

bool fs_type_may_hang(const char *fstype) {
        /* Network file systems wait on their server (NFS "hard" mounts retry forever), FUSE
         * on its daemon (fuse, fuseblk, fuse.SUBTYPE), autofs on the automounter and then
         * on what it mounts. Not nfsd, the NFS server's own control file system. */
        static const char *const types[] = {
                "nfs",   "nfs4",  "cifs", "smb3", "smbfs", "ceph",   "9p",       "afs",
                "lustre", "gpfs", "beegfs", "ocfs2", "gfs2", "coda", "ncpfs", "autofs", "virtiofs",
        };
        if (!fstype || !*fstype)
                return false;
        if (startswith(fstype, "fuse"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq_ptr(fstype, types[i]))
                        return true;
        return false;
}

/* mountinfo escapes space, tab, newline and backslash in paths as \ooo. */
static char *unescape_octal(const char *s, size_t len) {
        char *out = malloc(len + 1), *o = out;
        if (!out)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
                    s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
                        *o++ = (char) ((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 | (s[i + 3] - '0'));
                        i += 3;
                } else
                        *o++ = s[i];
        }
        *o = 0;
        return out;
}

int mountinfo_slow_mounts(const char *text, char ***ret, Hashmap *slow_ids, Hashmap *all_ids) {
        _cleanup_strv_free_ char **l = NULL;

        for (const char *line = text; line && *line;) {
                const char *end = strchr(line, '\n');
                size_t len = end ? (size_t) (end - line) : strlen(line);
                char *id_end;
                unsigned long long id = strtoull(line, &id_end, 10);
                bool have_id = id_end != line && *id_end == ' ';
                if (have_id && all_ids && hashmap_put_u64(all_ids, id, (void *) 1) < 0)
                        return -ENOMEM;
                /* "ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] - TYPE SOURCE SUPEROPTS";
                 * paths escape their spaces, so the first " - " ends the optional fields. */
                const char *sep = memmem(line, len, " - ", 3);
                if (sep) {
                        const char *type = sep + 3;
                        char t[64];
                        /* Only a prefix decides, and FUSE subtypes are the mounter's choice:
                         * a long one is cut, not skipped. */
                        size_t n = strcspn(type, " \n");
                        if (n > sizeof(t) - 1)
                                n = sizeof(t) - 1;
                        memcpy(t, type, n);
                        t[n] = 0;
                        /* The mount point is the fifth field. */
                        const char *point = line;
                        for (int field = 0; field < 4 && point; field++) {
                                point = memchr(point, ' ', (size_t) (sep - point));
                                if (point)
                                        point++;
                        }
                        if (point && point < sep && fs_type_may_hang(t)) {
                                size_t plen = strcspn(point, " ");
                                _cleanup_free_ char *p = unescape_octal(point, plen);
                                if (!p || strv_extend(&l, p) < 0)
                                        return -ENOMEM;
                                if (have_id && slow_ids && hashmap_put_u64(slow_ids, id, (void *) 1) < 0)
                                        return -ENOMEM;
                        }
                }
                line = end ? end + 1 : NULL;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* A mount table past this size (thousands of mounts) is not parsed: until it changes,
 * every walk takes the careful way. */
#define MOUNTINFO_MAX (4u << 20)

/* The daemon's view of the mount table, kept between calls (the loop's thread only). */
static struct {
        int fd;           /* /proc/self/mountinfo, polled for changes */
        bool known;       /* the rest describes the table as it is */
        bool all_slow;    /* could not tell: treat "/" itself as such a mount */
        char **points;    /* mount points of file systems that may hang */
        Hashmap *by_path; /* the same, keys borrowed from points (kernels before statx's mount id) */
        Hashmap *slow_ids; /* their mount ids */
        Hashmap *all_ids;  /* every mount's id: one not in it is newer than the table */
} mounts = { .fd = -1 };

static void mounts_forget(void) {
        mounts.by_path = hashmap_free(mounts.by_path);
        mounts.slow_ids = hashmap_free(mounts.slow_ids);
        mounts.all_ids = hashmap_free(mounts.all_ids);
        mounts.points = strv_free(mounts.points);
        mounts.known = false;
}

static void mounts_load(void) {
        _cleanup_free_ char *text = NULL;
        char **points = NULL;

        mounts_forget();
        mounts.all_slow = true;
        /* Read through a file of its own: the kept fd only tells of changes. */
        int r = read_full_file_at(AT_FDCWD, "/proc/self/mountinfo", MOUNTINFO_MAX, &text, NULL);
        if (r == -EFBIG) {
                mounts.known = true; /* careful until the next change */
                return;
        }
        if (r < 0 || !(mounts.slow_ids = hashmap_new_u64()) || !(mounts.all_ids = hashmap_new_u64()) ||
            !(mounts.by_path = hashmap_new_str()) ||
            mountinfo_slow_mounts(text, &points, mounts.slow_ids, mounts.all_ids) < 0) {
                mounts_forget();
                return;
        }
        mounts.points = points;
        for (char **p = points; p && *p; p++)
                if (hashmap_put_str(mounts.by_path, *p, *p) < 0) {
                        mounts_forget();
                        return;
                }
        mounts.all_slow = false;
        mounts.known = true;
}

bool mounts_may_hang(void) {
        if (mounts.fd < 0) {
                mounts.fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
                if (mounts.fd < 0) {
                        mounts.all_slow = true; /* cannot tell: take the careful way */
                        return true;
                }
                mounts.known = false;
        }
        /* The kernel flags a change of the mount table to every reader of mountinfo that
         * polls it (POLLPRI, once per change); none since the last read: the table stands. */
        struct pollfd p = { .fd = mounts.fd, .events = POLLPRI };
        if (!mounts.known || poll(&p, 1, 0) != 0)
                mounts_load();
        return mounts.all_slow || hashmap_size(mounts.by_path) > 0;
}

static bool id_is_slow(uint64_t id) {
        return mounts.slow_ids && hashmap_get_u64(mounts.slow_ids, id);
}

static bool id_is_known(uint64_t id) {
        return mounts.all_ids && hashmap_get_u64(mounts.all_ids, id);
}

/* PathWalkStop: whether fd, pinned with O_PATH, is on such a file system. By the mount
 * id (mount_id_at()), which a rename of a directory above the mount does not change; a
 * mount made since the table was read has an id the table lacks: read it again, and be
 * careful if it still lacks it.
 * userdata, if set, is a uint64_t that gets the id of the mount it stopped at (0: not
 * known). */
bool slow_mount_stop(int fd, const char *path, void *userdata) {
        uint64_t *ret_id = userdata;

        if (ret_id)
                *ret_id = 0;
        if (mounts.all_slow)
                return true;
        uint64_t id = mount_id_at(fd, "");
        if (id == 0)
                return mounts.by_path && hashmap_get_str(mounts.by_path, path);
        if (ret_id)
                *ret_id = id;
        if (id_is_slow(id))
                return true;
        if (id_is_known(id))
                return false;
        mounts_load();
        return mounts.all_slow || id_is_slow(id) || !id_is_known(id);
}

/* The mounts a walk given up on still waits on, one slot per walk on a thread (those
 * given up on, and the one being waited for): a walk that reaches one of them is not
 * made again, or a sweep over a thousand pools on one hung NFS mount would wait out the
 * bound a thousand times. The thread clears its slot when its walk returns (the file
 * system answered at last). */
static _Atomic uint64_t hung_mounts[TIMED_CALL_MAX_STUCK + 1];

static bool mount_is_hung(uint64_t id) {
        for (size_t i = 0; id != 0 && i < ELEMENTSOF(hung_mounts); i++)
                if (atomic_load(&hung_mounts[i]) == id)
                        return true;
        return false;
}

typedef struct WalkJob {
        char *path;
        unsigned max_steps;
        PathWalk walk;
        _Atomic uint64_t *hung_slot; /* while the walk runs, the id of the mount it last stepped
                                      * onto (note_mount()); NULL: none */
} WalkJob;

static void walk_job_free(void *p) {
        WalkJob *j = p;
        if (j->hung_slot)
                atomic_store(j->hung_slot, 0);
        path_walk_done(&j->walk);
        free(j->path);
        free(j);
}

/* PathWalkStop of a walk on a thread: never stops it, but notes each mount it steps onto
 * in the job's slot (mount_id_at() asks the file system nothing), so the
 * slot names the mount the walk waits on, not the first slow one on the way: a hung FUSE
 * mount below a healthy NFS /home must not make every path under /home fail. */
static bool note_mount(int fd, const char *path, void *userdata) {
        _Atomic uint64_t *slot = userdata;
        uint64_t id = slot ? mount_id_at(fd, "") : 0;

        (void) path;
        if (id != 0)
                atomic_store(slot, id);
        return false;
}

static int walk_job_run(void *p) {
        WalkJob *j = p;
        return path_walk_guarded(j->path, j->max_steps, note_mount, (void *) j->hung_slot, &j->walk);
}

int path_walk_timed(const char *path, unsigned max_steps, int timeout_ms, PathWalk *ret) {
        if (!mounts_may_hang())
                return path_walk_bounded(path, max_steps, ret);
        /* Here, where nothing is in the way (binfmt_misc's automount, say, is on most
         * hosts), and only a path that reaches such a mount on a thread. */
        uint64_t mnt_id = 0;
        int k = path_walk_guarded(path, max_steps, slow_mount_stop, &mnt_id, ret);
        if (k != -EWOULDBLOCK || timeout_ms == 0)
                return k; /* (the guarded walk left *ret empty, but for crossed_closed and symlinks) */
        if (mount_is_hung(mnt_id))
                return -ETIMEDOUT; /* a walk given up on still waits there */

        WalkJob *j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->walk = (PathWalk) { .final_fd = -1 };
        j->max_steps = max_steps;
        if (path && !(j->path = strdup(path))) {
                free(j);
                return -ENOMEM;
        }
        /* A free slot always exists while timed_call() lets one more thread wait. */
        for (size_t i = 0; mnt_id != 0 && !j->hung_slot && i < ELEMENTSOF(hung_mounts); i++) {
                uint64_t free_slot = 0;
                if (atomic_compare_exchange_strong(&hung_mounts[i], &free_slot, mnt_id))
                        j->hung_slot = &hung_mounts[i];
        }
        int result, r = timed_call(walk_job_run, j, walk_job_free, timeout_ms, &result);
        if (r == -ETIMEDOUT)
                return r; /* j is the thread's now */
        if (r == -EAGAIN)
                r = -EBUSY; /* no thread to be had: as good as too many waiting */
        if (r < 0) {
                walk_job_free(j);
                return r;
        }
        *ret = j->walk;
        ret->slow_fs = true;
        j->walk = (PathWalk) { .final_fd = -1 };
        walk_job_free(j);
        return result;
}
