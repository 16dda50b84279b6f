/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Carrying out a plan, and undoing a journaled transaction. Every change is
 * journaled (pending) before it is made and marked done after, so a crash at any
 * point leaves a record that undo_transaction() can finish. Inodes are changed
 * only through the fds of the diagnosed walk, re-checked by dev+inode. */

#include "diagnosis.h"
#include "engine.h"
#include "journal.h"
#include "plan.h"
#include "sys/reload.h"

/* Config tests before anything changes: nginx -t or apache2 -t of each server to
 * reload, php-fpm -t of the pool's installation when the pool file is edited (and again
 * after the edit, apply_pool_files()). They run side by side while the daemon serves:
 * apply_config_tests_start() starts them (-EBADMSG with *msg when one cannot run),
 * apply_config_tests_poll() answers -EAGAIN while one runs, 0 once all passed, -EBADMSG
 * with *msg when one failed. */
typedef struct ConfigTests ConfigTests;
int apply_config_tests_start(const Diagnosis *d, const Plan *p, bool reloads, ConfigTests **ret, char **msg);
int apply_config_tests_poll(ConfigTests *t, char **msg);
ConfigTests *config_tests_free(ConfigTests *t);
static inline void config_tests_freep(ConfigTests **t) {
        config_tests_free(*t);
}

/* The inodes a fix changed, pinned by O_PATH fds for as long as the fix runs, so its
 * own rollback reaches them even if their paths are swapped meanwhile. */
typedef struct HeldInode {
        dev_t dev;
        ino_t ino;
        int fd;
} HeldInode;

typedef struct HeldInodes {
        HeldInode *items;
        size_t n;
} HeldInodes;

void held_inodes_done(HeldInodes *h);

/* The plan's changes, in two steps; on failure each returns <0 with *msg set, and what
 * was done is in the journal for undo_transaction(). First the pool files (they persist
 * to php-fpm's next start), whose php-fpm -t is started into *test (NULL when there is
 * nothing to test): polled with apply_config_tests_poll(), it fails with -EBADMSG and
 * *msg, and the fix is rolled back. Then, once it passed, the live changes: the
 * socket's inode (effective at once), directories, memberships, each changed inode
 * pinned in *held. Reloads come after, from the caller. */
int apply_pool_files(const Diagnosis *d, const Plan *p, JournalTx *tx, ConfigTests **test, char **msg);
int apply_live_changes(const Diagnosis *d, const Plan *p, JournalTx *tx, HeldInodes *held, char **msg);

/* A reload sent, and what to wait for before verifying. */
typedef struct ReloadWait {
        pid_t master;
        WorkerId *old;
        size_t n_old;
        gid_t required_gid;
} ReloadWait;

int apply_reloads(const Plan *p, Activation **acts, size_t *n_acts, ReloadWait **waits, size_t *n_waits, char **msg);
void reload_waits_free(ReloadWait *w, size_t n);

/* Undoes every done or pending change of tx in reverse order; the users whose membership
 * it took back go to *unmembered, whose servers the caller reloads (undo_reloads_start()).
 * check_conflicts: first verify that no pool key we wrote was changed since (-EBUSY with
 * *msg naming the keys; nothing undone).
 * Returns 0, or -EIO when some undo failed (the others are still done; *msg says which).
 * Inodes are reached through held (a rollback) or by walking their path (a Revert):
 * one re-created, removed or changed by someone since is not touched and *left_alone
 * says so; a path that now leads to something else (a symlink, a file) is a failure,
 * so the record stays incomplete and a later Revert can finish it. */
int undo_transaction(JournalTx *tx, const HeldInodes *held, bool check_conflicts, Change **changes, size_t *n,
                     char ***left_alone, char ***unmembered, char **msg);

/* After memberships were taken back, the web servers running as those users are
 * reloaded, so that no worker keeps the group: each after its configuration test (run
 * while the daemon serves, as a fix's), only one sockfix may reload (as for a fix).
 * undo_reloads_start() starts the tests, for the servers of the host model h (current:
 * engine_load_host(); NULL: none known), which it keeps (*ret NULL when none is running:
 * every server was reloaded or noted); undo_reloads_poll() answers -EAGAIN while one
 * runs, then 0. A server that is not reloaded gets a note in *left_alone. -ENOMEM only. */
typedef struct UndoReloads UndoReloads;
int undo_reloads_start(Host *h, char **users, UndoReloads **ret, char ***left_alone);
int undo_reloads_poll(UndoReloads *u, char ***left_alone);
UndoReloads *undo_reloads_free(UndoReloads *u);
static inline void undo_reloads_freep(UndoReloads **u) {
        undo_reloads_free(*u);
}

int change_push(Change **l, size_t *n, const char *kind, const char *target, const char *before, const char *after);
