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
 * reload, php-fpm -t of the pool's installation when the pool file is edited. They run
 * side by side while the daemon serves: apply_config_tests_start() starts them (-EBADMSG
 * with *msg when one cannot run), apply_config_tests_poll() answers -EAGAIN while one
 * runs, 0 once all passed, -EBADMSG with *msg when one failed. */
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

/* Makes the plan's changes, pinning each changed inode in *held. On failure returns <0
 * with *msg set; what was done is in the journal for undo_transaction(). */
int apply_changes(const Diagnosis *d, const Plan *p, JournalTx *tx, HeldInodes *held, char **msg);

/* A reload sent, and what to wait for before verifying. */
typedef struct ReloadWait {
        pid_t master;
        WorkerId *old;
        size_t n_old;
        gid_t required_gid;
} ReloadWait;

int apply_reloads(const Plan *p, Activation **acts, size_t *n_acts, ReloadWait **waits, size_t *n_waits, char **msg);
void reload_waits_free(ReloadWait *w, size_t n);

/* Undoes every done or pending change of tx in reverse order, then reloads the web
 * servers whose workers lost a group. check_conflicts: first verify that no pool key
 * we wrote was changed since (-EBUSY with *msg naming the keys; nothing undone).
 * Returns 0, or -EIO when some undo failed (the others are still done; *msg says which).
 * Inodes are reached through held (a rollback) or by walking their path (a Revert):
 * one re-created, removed or changed by someone since is not touched and *left_alone
 * says so; a path that now leads to something else (a symlink, a file) is a failure,
 * so the record stays incomplete and a later Revert can finish it. */
int undo_transaction(const char *proc_root, JournalTx *tx, const HeldInodes *held, bool check_conflicts,
                     Change **changes, size_t *n, char ***left_alone, char **msg);

int change_push(Change **l, size_t *n, const char *kind, const char *target, const char *before, const char *after);
