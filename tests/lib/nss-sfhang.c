/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* An NSS source that does not answer, as an LDAP or sssd server that hangs leaves every
 * lookup that reaches it: each lookup blocks while the file named by $SFHANG_GATE
 * exists, then finds nothing. Loaded by glibc as libnss_sfhang.so.2 where
 * nsswitch.conf names "sfhang" (after "files", as hosts list LDAP), and found through
 * LD_LIBRARY_PATH. Each lookup appends what it was asked to $SFHANG_LOG, if set, so a
 * test can count the lookups that reached it. $SFHANG_USER, "NAME:UID:GID", is the one
 * user it knows (once the gate is gone), as a directory server's site user. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum nss_status _nss_sfhang_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, int *errnop);
enum nss_status _nss_sfhang_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, int *errnop);
enum nss_status _nss_sfhang_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, int *errnop);
enum nss_status _nss_sfhang_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, int *errnop);
enum nss_status _nss_sfhang_initgroups_dyn(const char *user, gid_t group, long *start, long *size, gid_t **groupsp,
                                           long limit, int *errnop);

static enum nss_status hang(const char *kind, const char *key, int *errnop) {
        const char *gate = getenv("SFHANG_GATE"), *log = getenv("SFHANG_LOG");
        if (log) {
                /* One write(2) per line: lookups on several threads do not interleave. */
                char line[512];
                int n = snprintf(line, sizeof(line), "%s %s\n", kind, key);
                int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
                if (fd >= 0) {
                        if (n > 0 && write(fd, line, (size_t) n < sizeof(line) ? (size_t) n : sizeof(line) - 1) < 0)
                                n = 0;
                        close(fd);
                }
        }
        while (gate && access(gate, F_OK) == 0)
                usleep(10 * 1000);
        *errnop = ENOENT;
        return NSS_STATUS_NOTFOUND;
}

static const char *num(unsigned id, char buf[static 16]) {
        snprintf(buf, 16, "%u", id);
        return buf;
}

/* The entry of $SFHANG_USER if it is name (or, name NULL, uid). */
static enum nss_status known_user(const char *name, uid_t uid, struct passwd *pw, char *buf, size_t len,
                                  int *errnop) {
        const char *spec = getenv("SFHANG_USER");
        char user[64];
        unsigned u, g;
        if (!spec || sscanf(spec, "%63[^:]:%u:%u", user, &u, &g) != 3 || (name ? strcmp(name, user) != 0 : uid != u))
                return NSS_STATUS_NOTFOUND;
        if (strlen(user) + 1 > len) {
                *errnop = ERANGE;
                return NSS_STATUS_TRYAGAIN;
        }
        strcpy(buf, user);
        *pw = (struct passwd) { .pw_name = buf, .pw_passwd = (char *) "x", .pw_uid = u, .pw_gid = g,
                                .pw_gecos = (char *) "", .pw_dir = (char *) "/nonexistent",
                                .pw_shell = (char *) "/usr/sbin/nologin" };
        *errnop = 0;
        return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_sfhang_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t len, int *errnop) {
        hang("getpwnam", name, errnop);
        return known_user(name, 0, pw, buf, len, errnop);
}

enum nss_status _nss_sfhang_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t len, int *errnop) {
        char b[16];
        hang("getpwuid", num(uid, b), errnop);
        return known_user(NULL, uid, pw, buf, len, errnop);
}

enum nss_status _nss_sfhang_getgrnam_r(const char *name, struct group *gr, char *buf, size_t len, int *errnop) {
        (void) gr, (void) buf, (void) len;
        return hang("getgrnam", name, errnop);
}

enum nss_status _nss_sfhang_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t len, int *errnop) {
        char b[16];
        (void) gr, (void) buf, (void) len;
        return hang("getgrgid", num(gid, b), errnop);
}

enum nss_status _nss_sfhang_initgroups_dyn(const char *user, gid_t group, long *start, long *size, gid_t **groupsp,
                                           long limit, int *errnop) {
        (void) group, (void) start, (void) size, (void) groupsp, (void) limit;
        return hang("initgroups", user, errnop);
}
