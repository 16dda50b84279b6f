/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The passwd and group databases, asked with a bound where they may wait on a server.
 * Local sources (files, systemd, compat) are asked on the caller's thread. Any other
 * (ldap, sss, winbind, nis...) may wait on a server that does not answer, and glibc
 * has no timeout of its own for that: such a lookup runs on a thread of its own
 * (sys/timed-call.h) and is given up on after NSS_TIMEOUT_MS. While one given up on
 * still waits, no lookup goes to NSS: a sweep over thousands of pools must not wait the
 * bound once per name, nor leave a thread per name behind. Names and ids are then
 * answered from /etc/passwd and /etc/group where "files" is the first source (as glibc
 * would answer them), and everything else fails at once. The loop's thread only. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define NSS_TIMEOUT_MS 2000

/* Each: 0, -ESRCH (no such entry), -EIO (a source failed), -ETIMEDOUT (not answered:
 * the database did not answer within the bound, a lookup given up on still waits, or
 * no thread could be made for it), -ENOMEM. */
int nss_user_by_name(const char *name, uid_t *ret_uid, gid_t *ret_gid);
int nss_group_by_name(const char *name, gid_t *ret_gid);
int nss_name_by_id(bool group, unsigned id, char **ret);
/* The groups the database gives user with primary group gid (getgrouplist(3): gid
 * included, and an unknown user gets just gid); -EIO instead of -ESRCH, when it gives
 * no list at all. */
int nss_grouplist(const char *user, gid_t gid, gid_t **ret, size_t *ret_n);

/* The name of a uid or gid, or the number as text when it has none or the database
 * did not answer. NULL only on -ENOMEM. */
char *nss_name_or_number(bool group, unsigned id);

/* Lookups given up on that still wait. */
unsigned nss_stuck(void);
/* How many lookups have failed with -ETIMEDOUT since start: a model built while this
 * moved holds numbers where names belong, and is built again once nss_stuck() is 0. */
unsigned nss_timeouts(void);

/* The files the passwd and group databases are read from, as one signature. */
int nss_signature(uint64_t ret[9]);
/* Whether passwd and group come from local sources only (files, systemd, compat): then
 * the signature above tells when an answer may have changed, and no lookup waits on a
 * server. LDAP, sssd and the like change behind our back, so their answers are never
 * kept across calls. */
bool nss_is_local(void);
