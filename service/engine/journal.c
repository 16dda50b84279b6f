/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "sys/atomic-file.h"
#include "util/util.h"

#define RECORD_MAX (16u << 20)

struct Journal {
        int dir_fd;
};

struct JournalTx {
        Journal *journal;
        char id[JOURNAL_ID_LEN + 1];
        json_object *root;
};

static const char *const status_names[] = {
        [JOURNAL_CHANGE_PENDING] = "pending",
        [JOURNAL_CHANGE_DONE] = "done",
        [JOURNAL_CHANGE_UNDONE] = "undone",
};

static void json_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_putp)

int journal_open(const char *dir, Journal **ret) {
        if (isempty(dir))
                return -EINVAL;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* Undo data holds whole config files and who asked: not for other users. */
        if (fchmod(fd, 0700) < 0)
                return -errno;
        Journal *j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->dir_fd = TAKE_FD(fd);
        *ret = j;
        return 0;
}

Journal *journal_free(Journal *j) {
        if (j) {
                closep(&j->dir_fd);
                free(j);
        }
        return NULL;
}

bool journal_id_is_valid(const char *id) {
        if (!id || strlen(id) != JOURNAL_ID_LEN)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
                        return false;
        return true;
}

static int record_name(const char *id, char buf[static JOURNAL_ID_LEN + 6]) {
        if (!journal_id_is_valid(id))
                return -EINVAL;
        snprintf(buf, JOURNAL_ID_LEN + 6, "%s.json", id);
        return 0;
}

static int tx_write(JournalTx *tx) {
        char name[JOURNAL_ID_LEN + 6];
        int r = record_name(tx->id, name);
        if (r < 0)
                return r;
        size_t len;
        const char *text = json_object_to_json_string_length(
                tx->root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!text)
                return -ENOMEM;
        return atomic_file_replace_at(tx->journal->dir_fd, name, text, len, geteuid(), getegid(), 0600);
}

static int json_set_str(json_object *o, const char *key, const char *value) {
        /* A key with no value is left out, as on the bus. */
        if (!value) {
                json_object_object_del(o, key);
                return 0;
        }
        json_object *s = json_object_new_string(value);
        if (!s)
                return -ENOMEM;
        return json_object_object_add(o, key, s) < 0 ? -ENOMEM : 0;
}

static int json_set_int(json_object *o, const char *key, int64_t value) {
        json_object *i = json_object_new_int64(value);
        if (!i)
                return -ENOMEM;
        return json_object_object_add(o, key, i) < 0 ? -ENOMEM : 0;
}

static const char *json_str(json_object *o, const char *key) {
        json_object *v;
        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static json_object *json_changes(json_object *root) {
        json_object *v;
        if (!json_object_object_get_ex(root, "changes", &v) || !json_object_is_type(v, json_type_array))
                return NULL;
        return v;
}

static int new_id(char ret[static JOURNAL_ID_LEN + 1]) {
        uint8_t b[JOURNAL_ID_LEN / 2];
        if (getrandom(b, sizeof b, 0) != (ssize_t) sizeof b)
                return -errno;
        for (size_t i = 0; i < sizeof b; i++)
                snprintf(ret + 2 * i, 3, "%02x", b[i]);
        return 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void tx_freep(JournalTx **tx) {
        journal_tx_free(*tx);
}

JournalTx *journal_tx_free(JournalTx *tx) {
        if (tx) {
                json_putp(&tx->root);
                free(tx);
        }
        return NULL;
}

const char *journal_tx_id(const JournalTx *tx) {
        return tx->id;
}

int journal_begin(Journal *j, uid_t uid, const char *socket, const char *strategy, JournalTx **ret) {
        if (!j || isempty(socket))
                return -EINVAL;
        _cleanup_(tx_freep) JournalTx *tx = calloc(1, sizeof *tx);
        if (!tx)
                return -ENOMEM;
        tx->journal = j;
        int r = new_id(tx->id);
        if (r < 0)
                return r;
        tx->root = json_object_new_object();
        json_object *changes = json_object_new_array();
        if (!tx->root || !changes) {
                json_putp(&changes);
                return -ENOMEM;
        }
        if (json_object_object_add(tx->root, "changes", changes) < 0) {
                json_putp(&changes);
                return -ENOMEM;
        }
        if ((r = json_set_str(tx->root, "transaction", tx->id)) < 0 ||
            (r = json_set_int(tx->root, "time", (int64_t) now_usec())) < 0 ||
            (r = json_set_int(tx->root, "uid", (int64_t) uid)) < 0 ||
            (r = json_set_str(tx->root, "socket", socket)) < 0 ||
            (r = json_set_str(tx->root, "strategy", strategy)) < 0 ||
            (r = json_set_str(tx->root, "state", "in-progress")) < 0)
                return r;
        r = tx_write(tx);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(tx);
        return 0;
}

int journal_set_strategy(JournalTx *tx, const char *strategy) {
        int r = json_set_str(tx->root, "strategy", strategy);
        return r < 0 ? r : tx_write(tx);
}

int journal_add_change(JournalTx *tx, const char *kind, const char *target, const char *before,
                       const char *after, json_object *undo, size_t *ret_index) {
        _cleanup_json_ json_object *u = undo;
        if (isempty(kind) || isempty(target))
                return -EINVAL;
        json_object *changes = json_changes(tx->root);
        if (!changes)
                return -EINVAL;
        _cleanup_json_ json_object *c = json_object_new_object();
        if (!c)
                return -ENOMEM;
        int r;
        if ((r = json_set_str(c, "kind", kind)) < 0 || (r = json_set_str(c, "target", target)) < 0 ||
            (r = json_set_str(c, "before", before)) < 0 || (r = json_set_str(c, "after", after)) < 0 ||
            (r = json_set_str(c, "status", status_names[JOURNAL_CHANGE_PENDING])) < 0)
                return r;
        if (u && json_object_object_add(c, "undo", TAKE_PTR(u)) < 0)
                return -ENOMEM;
        size_t index = json_object_array_length(changes);
        if (json_object_array_add(changes, c) < 0)
                return -ENOMEM;
        TAKE_PTR(c);
        r = tx_write(tx);
        if (r < 0) {
                /* Not durable, so not made: the caller must not go on. */
                json_object_array_del_idx(changes, index, 1);
                return r;
        }
        if (ret_index)
                *ret_index = index;
        return 0;
}

int journal_mark(JournalTx *tx, size_t index, JournalChangeStatus status) {
        json_object *changes = json_changes(tx->root);
        if (!changes || index >= json_object_array_length(changes) || status > JOURNAL_CHANGE_UNDONE)
                return -EINVAL;
        int r = json_set_str(json_object_array_get_idx(changes, index), "status", status_names[status]);
        return r < 0 ? r : tx_write(tx);
}

int journal_finish(JournalTx *tx, const char *outcome) {
        if (isempty(outcome))
                return -EINVAL;
        int r;
        if ((r = json_set_str(tx->root, "outcome", outcome)) < 0 ||
            (r = json_set_str(tx->root, "state", "finished")) < 0)
                return r;
        return tx_write(tx);
}

static int parse_record(Journal *j, const char *name, const char *id, json_object **ret) {
        _cleanup_free_ char *text = NULL;
        int r = read_full_file_at(j->dir_fd, name, RECORD_MAX, &text, NULL);
        if (r < 0)
                return r;
        _cleanup_json_ json_object *root = json_tokener_parse(text);
        if (!root || !json_object_is_type(root, json_type_object) || !streq_ptr(json_str(root, "transaction"), id) ||
            !json_changes(root))
                return -EBADMSG;
        *ret = TAKE_PTR(root);
        return 0;
}

int journal_load(Journal *j, const char *id, JournalTx **ret) {
        char name[JOURNAL_ID_LEN + 6];
        int r = record_name(id, name);
        if (r < 0)
                return r;
        _cleanup_(tx_freep) JournalTx *tx = calloc(1, sizeof *tx);
        if (!tx)
                return -ENOMEM;
        tx->journal = j;
        memcpy(tx->id, id, JOURNAL_ID_LEN + 1);
        r = parse_record(j, name, id, &tx->root);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(tx);
        return 0;
}

static JournalChangeStatus status_from_string(const char *s) {
        for (size_t i = 0; i < ELEMENTSOF(status_names); i++)
                if (streq_ptr(s, status_names[i]))
                        return (JournalChangeStatus) i;
        return JOURNAL_CHANGE_PENDING; /* unknown: assume it may have happened */
}

static int entry_from_json(json_object *root, const char *id, JournalEntry *ret) {
        JournalEntry e = {};
        memcpy(e.id, id, JOURNAL_ID_LEN + 1);
        json_object *v;
        if (json_object_object_get_ex(root, "time", &v))
                e.time_usec = (uint64_t) json_object_get_int64(v);
        if (json_object_object_get_ex(root, "uid", &v))
                e.uid = (uid_t) json_object_get_int64(v);
        e.in_progress = !streq_ptr(json_str(root, "state"), "finished");
        const char *outcome = e.in_progress ? "incomplete" : json_str(root, "outcome");
        e.socket = strdup_or_null(json_str(root, "socket"));
        e.strategy = strdup_or_null(json_str(root, "strategy"));
        e.outcome = strdup_or_null(outcome ? outcome : "incomplete");
        json_object *changes = json_changes(root);
        size_t n = json_object_array_length(changes);
        e.changes = calloc(n ? n : 1, sizeof *e.changes);
        if (!e.changes || !e.outcome) {
                journal_entry_done(&e);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *c = json_object_array_get_idx(changes, i);
                JournalChange *jc = &e.changes[e.n_changes++];
                jc->kind = strdup_or_null(json_str(c, "kind"));
                jc->target = strdup_or_null(json_str(c, "target"));
                jc->before = strdup_or_null(json_str(c, "before"));
                jc->after = strdup_or_null(json_str(c, "after"));
                jc->status = status_from_string(json_str(c, "status"));
        }
        *ret = e;
        return 0;
}

int journal_tx_entry(const JournalTx *tx, JournalEntry *ret) {
        return entry_from_json(tx->root, tx->id, ret);
}

size_t journal_tx_n_changes(const JournalTx *tx) {
        json_object *changes = json_changes(tx->root);
        return changes ? json_object_array_length(changes) : 0;
}

int journal_tx_change(const JournalTx *tx, size_t index, JournalChangeStatus *ret_status, json_object **ret_undo) {
        json_object *changes = json_changes(tx->root);
        if (!changes || index >= json_object_array_length(changes))
                return -EINVAL;
        json_object *c = json_object_array_get_idx(changes, index), *undo = NULL;
        if (ret_status)
                *ret_status = status_from_string(json_str(c, "status"));
        if (ret_undo) {
                if (!json_object_object_get_ex(c, "undo", &undo))
                        undo = NULL;
                *ret_undo = undo;
        }
        return 0;
}

void journal_entry_done(JournalEntry *e) {
        if (!e)
                return;
        for (size_t i = 0; i < e->n_changes; i++) {
                free(e->changes[i].kind);
                free(e->changes[i].target);
                free(e->changes[i].before);
                free(e->changes[i].after);
        }
        free(e->changes);
        free(e->socket);
        free(e->strategy);
        free(e->outcome);
        *e = (JournalEntry) {};
}

void journal_entries_free(JournalEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++)
                journal_entry_done(&e[i]);
        free(e);
}

static int entry_compare(const void *a, const void *b) {
        const JournalEntry *x = a, *y = b;
        if (x->time_usec != y->time_usec)
                return x->time_usec < y->time_usec ? -1 : 1;
        return strcmp(x->id, y->id);
}

/* The id of a record file name "<id>.json", or false for anything else
 * (temp files start with '.'). */
static bool record_id(const char *name, char id[static JOURNAL_ID_LEN + 1]) {
        if (strlen(name) != JOURNAL_ID_LEN + 5 || strcmp(name + JOURNAL_ID_LEN, ".json") != 0)
                return false;
        memcpy(id, name, JOURNAL_ID_LEN);
        id[JOURNAL_ID_LEN] = 0;
        return journal_id_is_valid(id);
}

static int open_dir(Journal *j, DIR **ret) {
        /* A fresh fd: readdir position must not be shared with j->dir_fd. */
        int fd = openat(j->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return -e;
        }
        *ret = d;
        return 0;
}

int journal_list(Journal *j, JournalEntry **ret, size_t *n) {
        _cleanup_closedir_ DIR *d = NULL;
        int r = open_dir(j, &d);
        if (r < 0)
                return r;
        JournalEntry *list = NULL;
        size_t count = 0;
        struct dirent *de;
        /* One record parsed at a time and only its public part kept: undo data
         * (whole config files) never piles up in memory. */
        while ((de = readdir(d))) {
                char id[JOURNAL_ID_LEN + 1];
                if (!record_id(de->d_name, id))
                        continue;
                _cleanup_json_ json_object *root = NULL;
                if (parse_record(j, de->d_name, id, &root) < 0)
                        continue;
                JournalEntry e;
                r = entry_from_json(root, id, &e);
                JournalEntry *slot = r < 0 ? NULL : ARRAY_PUSH(list, count);
                if (!slot) {
                        if (r >= 0)
                                journal_entry_done(&e);
                        journal_entries_free(list, count);
                        return -ENOMEM;
                }
                *slot = e;
        }
        if (count > 1)
                qsort(list, count, sizeof *list, entry_compare);
        *ret = list;
        *n = count;
        return 0;
}

int journal_recover(Journal *j, size_t *ret_n) {
        _cleanup_closedir_ DIR *d = NULL;
        int r = open_dir(j, &d);
        if (r < 0)
                return r;
        size_t recovered = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                char id[JOURNAL_ID_LEN + 1];
                if (de->d_name[0] == '.' && strlen(de->d_name) > 4 &&
                    strcmp(de->d_name + strlen(de->d_name) - 4, ".tmp") == 0) {
                        /* A rewrite cut short: the record itself is intact. */
                        (void) unlinkat(j->dir_fd, de->d_name, 0);
                        continue;
                }
                if (!record_id(de->d_name, id))
                        continue;
                _cleanup_(tx_freep) JournalTx *tx = NULL;
                if (journal_load(j, id, &tx) < 0)
                        continue;
                if (streq_ptr(json_str(tx->root, "state"), "finished"))
                        continue;
                r = journal_finish(tx, "incomplete");
                if (r < 0)
                        return r;
                recovered++;
        }
        if (ret_n)
                *ret_n = recovered;
        return 0;
}

json_object *journal_undo_inode(uint64_t dev, uint64_t ino, uid_t uid, gid_t gid, unsigned mode, const char *acl) {
        _cleanup_json_ json_object *o = json_object_new_object();
        if (!o || json_set_int(o, "dev", (int64_t) dev) < 0 || json_set_int(o, "ino", (int64_t) ino) < 0 ||
            json_set_int(o, "uid", (int64_t) uid) < 0 || json_set_int(o, "gid", (int64_t) gid) < 0 ||
            json_set_int(o, "mode", (int64_t) mode) < 0 || json_set_str(o, "acl", acl) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_object *journal_undo_pool(const char *file, const char *section, const char *key, const char *before,
                               const char *after, const char *original, const char *written) {
        _cleanup_json_ json_object *o = json_object_new_object();
        if (!o || json_set_str(o, "file", file) < 0 || json_set_str(o, "section", section) < 0 ||
            json_set_str(o, "key", key) < 0 || json_set_str(o, "before", before) < 0 ||
            json_set_str(o, "after", after) < 0 || json_set_str(o, "original", original) < 0 ||
            json_set_str(o, "written", written) < 0)
                return NULL;
        return TAKE_PTR(o);
}

json_object *journal_undo_member(const char *user, const char *group, bool was_member) {
        _cleanup_json_ json_object *o = json_object_new_object();
        json_object *b = json_object_new_boolean(was_member);
        if (!o || !b || json_set_str(o, "user", user) < 0 || json_set_str(o, "group", group) < 0 ||
            json_object_object_add(o, "was_member", b) < 0) {
                json_putp(&b);
                return NULL;
        }
        return TAKE_PTR(o);
}
