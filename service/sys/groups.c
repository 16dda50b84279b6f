/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "groups.h"

#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "sys/command.h"
#include "sys/nss.h"
#include "util/util.h"

#define GPASSWD_TIMEOUT_MS (30 * 1000) /* it waits for the /etc/group lock */

/* Each of these grants root-equivalent power or reads secrets (the web server's user
 * in one of them would hand it to every site's PHP):
 * root: gid 0 owns most of the system's files;
 * sudo, wheel, admin: sudo/su to root by policy;
 * adm: reads every log (and their secrets) in /var/log;
 * shadow: reads password hashes;
 * disk: raw block devices, i.e. every file;
 * docker, lxd: start a privileged container that mounts /;
 * kmem: /dev/mem and /dev/kmem, kernel memory;
 * systemd-journal: reads the whole system journal;
 * staff: writes /usr/local (Debian), so programs root runs;
 * utmp: rewrites login records; tty: writes to other users' terminals;
 * sys: system files on some distributions;
 * lpadmin: administers printers (root-run filters);
 * libvirt, kvm: start virtual machines with host devices and disks;
 * ssl-cert: reads TLS private keys (/etc/ssl/private);
 * crontab: edits crontabs; input, video: every keystroke, the screen. */
static const char *const privileged_groups[] = {
        "root", "sudo", "wheel", "adm", "admin", "shadow", "disk", "docker", "lxd",
        "kmem", "systemd-journal", "staff", "utmp", "tty", "sys", "lpadmin", "libvirt", "kvm",
        "ssl-cert", "crontab", "input", "video",
};

bool group_is_privileged(gid_t gid, const char *name) {
        if (gid == 0)
                return true;
        if (!name)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(privileged_groups); i++)
                if (streq_ptr(name, privileged_groups[i]))
                        return true;
        return false;
}

bool account_name_is_valid(const char *name) {
        if (isempty(name) || name[0] == '-' || strlen(name) > 256)
                return false;
        for (const char *p = name; *p; p++)
                if (isspace((unsigned char) *p) || iscntrl((unsigned char) *p) || *p == ':' || *p == ',')
                        return false;
        return true;
}

static int run_gpasswd(const char *op, const char *user, const char *group, char **ret_error) {
        /* "--" is not needed: names starting with '-' are refused before we get here. */
        char *const argv[] = { (char *) "gpasswd", (char *) op, (char *) user, (char *) group, NULL };
        CommandResult res = {};
        int r = command_run(argv, GPASSWD_TIMEOUT_MS, &res);
        if (r >= 0 && res.exit_code != 0)
                r = -EIO;
        if (r < 0 && ret_error) {
                const char *out = res.output ? strstrip(res.output) : "";
                if (asprintf(ret_error, "gpasswd %s %s %s: %s", op, user, group,
                             !isempty(out) ? out : strerror(-r)) < 0)
                        *ret_error = NULL;
        }
        command_result_done(&res);
        return r;
}

/* Both names safe and known: the user's primary group and the group's gid. */
static int check_names(const char *user, const char *group, gid_t *ret_primary, gid_t *ret_gid, char **ret_error) {
        if (!account_name_is_valid(user) || !account_name_is_valid(group))
                return -EINVAL;
        int r = nss_user_by_name(user, NULL, ret_primary);
        if (r >= 0)
                r = nss_group_by_name(group, ret_gid);
        if (r == -ETIMEDOUT && ret_error &&
            asprintf(ret_error, "the user and group databases did not answer for %s and %s within %d ms", user,
                     group, NSS_TIMEOUT_MS) < 0)
                *ret_error = NULL;
        return r;
}

int group_add_member(const char *user, const char *group, char **ret_error) {
        gid_t gid;
        int r = check_names(user, group, NULL, &gid, ret_error);
        if (r < 0)
                return r;
        if (group_is_privileged(gid, group))
                return -EPERM;
        return run_gpasswd("-a", user, group, ret_error);
}

int group_remove_member(const char *user, const char *group, char **ret_error) {
        gid_t gid;
        int r = check_names(user, group, NULL, &gid, ret_error);
        if (r < 0)
                return r;
        return run_gpasswd("-d", user, group, ret_error);
}

int user_in_group_db(const char *user, const char *group) {
        gid_t primary, gid;
        int r = check_names(user, group, &primary, &gid, NULL);
        if (r < 0)
                return r;
        _cleanup_free_ gid_t *list = NULL;
        size_t n = 0;
        r = nss_grouplist(user, primary, &list, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (list[i] == gid)
                        return 1;
        return 0;
}
