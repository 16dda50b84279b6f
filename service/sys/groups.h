/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Group membership, the `member` strategy's half of the system: which groups must
 * never be handed out, and changes through gpasswd (it owns /etc/group and
 * /etc/gshadow locking and flushes nscd; a hand edit would do none of that). */

#include <stdbool.h>
#include <sys/types.h>

/* Whether membership in this group amounts to root or to reading secrets. Either
 * argument may be unknown: gid (gid_t) -1 or name NULL. */
bool group_is_privileged(gid_t gid, const char *name);

/* Whether a user or group name is safe to pass as an argument: not empty, no
 * leading '-' (it would be parsed as an option), no whitespace, control
 * characters, ':' or ',' (separators of /etc/group). */
bool account_name_is_valid(const char *name);

/* gpasswd -a USER GROUP. -EINVAL for an unsafe name, -ESRCH for an unknown user
 * or group, -ETIMEDOUT when the database did not answer (sys/nss.h), -EPERM for a
 * privileged group (refused here as well, so no caller can forget it), -EIO when
 * gpasswd fails (ret_error, optional, gets its output, or says which lookup did not
 * answer). */
int group_add_member(const char *user, const char *group, char **ret_error);
/* gpasswd -d USER GROUP; same errors (a privileged group is not refused: removing
 * is always allowed). */
int group_remove_member(const char *user, const char *group, char **ret_error);

/* Whether the group database (not a running process) makes user a member of
 * group, as initgroups() would at the next worker spawn: 1 yes, 0 no, -ESRCH for
 * an unknown user or group, -EINVAL for an unsafe name, -ETIMEDOUT when the database
 * did not answer, -EIO when it gave no group list. */
int user_in_group_db(const char *user, const char *group);
