/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The transaction journal: one JSON file per transaction, <id>.json in a 0700
 * directory under the state directory, files 0600, each update an atomic rewrite
 * (sys/atomic-file.h). Write-ahead: the record exists (state "in-progress") before
 * the first change, and each change is recorded "pending" before it is made and
 * marked "done" after, so a crash at any point leaves enough to undo. A record
 * still "in-progress" when the daemon starts is reported as outcome "incomplete";
 * its done and pending changes can still be reverted (undo must tolerate a
 * pending change that never happened).
 *
 * Each change has a public part (kind, target, before, after: the bus contract's
 * change record) and private undo data, a JSON object of the caller's (use the
 * journal_undo_* builders). */

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define JOURNAL_ID_LEN 32

typedef struct Journal Journal;
typedef struct JournalTx JournalTx;

typedef enum JournalChangeStatus {
        JOURNAL_CHANGE_PENDING, /* recorded, maybe not made (crash between) */
        JOURNAL_CHANGE_DONE,
        JOURNAL_CHANGE_UNDONE,
} JournalChangeStatus;

/* A change as the bus shows it. */
typedef struct JournalChange {
        char *kind;   /* "socket-acl", "socket-group", "pool-config", "group-member", "dir-acl", ... */
        char *target;
        char *before;
        char *after;
        JournalChangeStatus status;
} JournalChange;

/* A record as ListTransactions shows it (no undo data: lists stay small). */
typedef struct JournalEntry {
        char id[JOURNAL_ID_LEN + 1];
        uint64_t time_usec; /* CLOCK_REALTIME at begin */
        uid_t uid;          /* caller */
        char *socket;
        char *strategy;
        char *outcome;      /* "incomplete" for a record still in progress */
        bool in_progress;   /* not finished: a crash, or a fix running right now */
        JournalChange *changes;
        size_t n_changes;
} JournalEntry;

/* Opens (creating, 0700) the journal directory dir, e.g. "$STATE_DIRECTORY/transactions". */
int journal_open(const char *dir, Journal **ret);
Journal *journal_free(Journal *j);

/* Whether id is exactly 32 lower-case hex characters (ids come from bus callers). */
bool journal_id_is_valid(const char *id);

/* Creates the record (state in-progress, fsynced) with a fresh random id. */
int journal_begin(Journal *j, uid_t uid, const char *socket, const char *strategy, JournalTx **ret);
const char *journal_tx_id(const JournalTx *tx);
/* Updates the strategy ("dir-search+pool-acl" is only known once planned). */
int journal_set_strategy(JournalTx *tx, const char *strategy);
/* Records a change as pending, durably, before the caller makes it. undo is taken
 * (also on failure). ret_index (optional) names it for journal_mark(). */
int journal_add_change(JournalTx *tx, const char *kind, const char *target, const char *before,
                       const char *after, json_object *undo, size_t *ret_index);
int journal_mark(JournalTx *tx, size_t index, JournalChangeStatus status);
/* Sets the outcome ("applied", "rolled-back", "failed", "reverted", ...) and ends the
 * in-progress state. */
int journal_finish(JournalTx *tx, const char *outcome);
JournalTx *journal_tx_free(JournalTx *tx);

/* Loads one whole record, undo data included, for Revert: -EINVAL for a malformed
 * id, -ENOENT for an unknown one. The record can be updated with journal_mark() and
 * journal_finish() like a new one. */
int journal_load(Journal *j, const char *id, JournalTx **ret);
/* The public view of a loaded or running transaction. */
int journal_tx_entry(const JournalTx *tx, JournalEntry *ret);
size_t journal_tx_n_changes(const JournalTx *tx);
/* The undo data of change index (borrowed) and its status. */
int journal_tx_change(const JournalTx *tx, size_t index, JournalChangeStatus *ret_status, json_object **ret_undo);

/* Every record, oldest first (by time, then id). Unreadable files are skipped. */
int journal_list(Journal *j, JournalEntry **ret, size_t *n);
void journal_entry_done(JournalEntry *e);
void journal_entries_free(JournalEntry *e, size_t n);

/* At daemon start: records left in-progress by a crash become outcome
 * "incomplete" on disk (their changes stay available to undo). ret_n optional. */
int journal_recover(Journal *j, size_t *ret_n);

/* Undo data builders. */
json_object *journal_undo_inode(uint64_t dev, uint64_t ino, uid_t uid, gid_t gid, unsigned mode, const char *acl);
/* One key of a pool file edit; original and written (the whole file before and
 * after) may be NULL on all but one key of the same edit, to avoid copies. */
json_object *journal_undo_pool(const char *file, const char *section, const char *key, const char *before,
                               const char *after, const char *original, const char *written);
json_object *journal_undo_member(const char *user, const char *group, bool was_member);
