/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Asynchronous CheckAuthorization over sd-bus.
 *
 * The method call message is the key of a query: the handler asks, returns 0, and
 * the loop keeps serving other callers; when polkit answers, the answer is stored
 * in the query and the handler is called again with the call message, runs from
 * the start and picks the answer up. Callers are watched: if one leaves the bus
 * while polkit (or the user typing a password) is still deciding, the query is
 * cancelled and nobody is answered.
 *
 * Deadlines are the registry's, not sd-bus's: a call with an sd-bus timeout arms the
 * event loop's timerfd when sent and disarms it when answered, and on a VM each
 * timerfd_settime() reprograms a virtual timer (with the call put back into the read
 * queue, which armed it once more, a tenth of an authorized Diagnose's CPU). One timer
 * for all queries is armed when none is and left alone when answers come. */

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "util/log.h"
#include "polkit.h"
#include "util/util.h"

#define POLKIT_BUS_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_OBJECT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"

/* CheckAuthorizationFlags */
#define POLKIT_ALLOW_USER_INTERACTION UINT32_C(1)

/* A person typing a password needs longer than sd-bus's default 25 s call timeout
 * (which, as $SYSTEMD_BUS_TIMEOUT may set it, bounds the other queries). */
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (UINT64_C(300) * 1000000)
#define POLKIT_DEFAULT_TIMEOUT_USEC (UINT64_C(25) * 1000000)
/* A user's checks pending at once. An interactive one (the user's own agent) may be
 * held for minutes, and the bus lets sockfixd wait for at most 128 replies in all
 * (max_replies_per_connection of the system bus): past that, every caller's check
 * would fail. */
#define POLKIT_MAX_PENDING_PER_UID 32u
/* The deadline timer may fire this much late (sd-event's default accuracy). */
#define POLKIT_DEADLINE_ACCURACY_USEC (UINT64_C(250000))

typedef struct AsyncQuery AsyncQuery;

struct AsyncQuery {
        PolkitRegistry *registry;
        AsyncQuery *prev, *next;

        sd_bus_message *request; /* the caller's method call, handled again on the answer */
        sd_bus_message_handler_t handler; /* the method handler that asked, and its userdata */
        void *userdata;
        char *action;
        uid_t uid;               /* the caller's */
        sd_bus_slot *slot;       /* CheckAuthorization in flight */
        uint64_t deadline;       /* CLOCK_MONOTONIC µs: unanswered by then -> refused */

        bool answered;
        int result;              /* > 0 authorized, < 0 refused with `error` */
        sd_bus_error error;

        PolkitPrepared prepared; /* the handler's work while polkit decides */
        uint64_t prepared_at;    /* CLOCK_MONOTONIC µs */
};

/* The uids of recent callers. A connection's uid never changes and the bus never
 * reuses a unique name, so an entry can never be wrong, only evicted; without it every
 * call costs a synchronous GetConnectionCredentials round trip to the bus driver.
 * Identities only: no authorization is kept here. */
#define UID_CACHE_SIZE 64

typedef struct SenderUid {
        char name[32]; /* unique name, ":1.42" */
        uid_t uid;
} SenderUid;

struct PolkitRegistry {
        AsyncQuery *queries;
        unsigned n_queries;
        sd_bus_slot *departures; /* NameOwnerChanged of every connection that leaves */
        sd_event_source *deadline_timer; /* the earliest deadline, or later; see above */
        SenderUid uids[UID_CACHE_SIZE];
        unsigned next_uid; /* ring: the oldest entry goes first */
};

static AsyncQuery *async_query_free(AsyncQuery *q) {
        if (!q)
                return NULL;

        if (q->registry) {
                if (q->prev)
                        q->prev->next = q->next;
                else
                        q->registry->queries = q->next;
                if (q->next)
                        q->next->prev = q->prev;
                q->registry->n_queries--;
        }

        /* Unreffing the slot cancels the pending call: its callback never runs. */
        sd_bus_slot_unref(q->slot);
        sd_bus_message_unref(q->request);
        sd_bus_error_free(&q->error);
        polkit_prepared_done(&q->prepared);
        free(q->action);
        free(q);
        return NULL;
}

static void async_query_freep(AsyncQuery **q) {
        async_query_free(*q);
}

int polkit_registry_new(PolkitRegistry **ret) {
        PolkitRegistry *reg;

        reg = calloc(1, sizeof(*reg));
        if (!reg)
                return -ENOMEM;
        *ret = reg;
        return 0;
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *reg) {
        if (!reg)
                return NULL;
        while (reg->queries)
                async_query_free(reg->queries);
        sd_bus_slot_unref(reg->departures);
        sd_event_source_disable_unref(reg->deadline_timer);
        free(reg);
        return NULL;
}

unsigned polkit_registry_n_pending(const PolkitRegistry *reg) {
        return reg ? reg->n_queries : 0;
}

static AsyncQuery *registry_find(PolkitRegistry *reg, sd_bus_message *call) {
        for (AsyncQuery *q = reg->queries; q; q = q->next)
                if (q->request == call)
                        return q;
        return NULL;
}

static void registry_link(PolkitRegistry *reg, AsyncQuery *q) {
        q->registry = reg;
        q->next = reg->queries;
        if (reg->queries)
                reg->queries->prev = q;
        reg->queries = q;
        reg->n_queries++;
}

/* The bus driver vouches for the credentials (GetConnectionCredentials). */
int bus_query_sender_uid(PolkitRegistry *reg, sd_bus_message *call, uid_t *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(call);
        int r;

        for (unsigned i = 0; sender && i < UID_CACHE_SIZE; i++)
                if (streq_ptr(reg->uids[i].name, sender)) {
                        *ret = reg->uids[i].uid;
                        return 0;
                }
        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID | SD_BUS_CREDS_AUGMENT, &creds);
        if (r >= 0)
                r = sd_bus_creds_get_euid(creds, ret);
        if (r >= 0 && sender && sender[0] == ':' && strlen(sender) < sizeof(reg->uids[0].name)) {
                SenderUid *e = &reg->uids[reg->next_uid++ % UID_CACHE_SIZE];
                strcpy(e->name, sender);
                e->uid = *ret;
        }
        return r;
}

/* uid 0 is authorized without asking, as polkit itself would answer. */
static bool sender_is_root(PolkitRegistry *reg, sd_bus_message *call) {
        uid_t uid;

        return bus_query_sender_uid(reg, call, &uid) >= 0 && uid == 0;
}

static bool polkit_unreachable(const sd_bus_error *e) {
        return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                      SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT,
                                      SD_BUS_ERROR_DISCONNECTED);
}

static void async_query_store_answer(AsyncQuery *q, sd_bus_message *reply) {
        const sd_bus_error *e;
        int authorized, challenge, r;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                /* polkitd missing, timed out, or failing: never a reason to allow. */
                e = sd_bus_message_get_error(reply);
                q->result = -EACCES;
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Authorization for %s failed: polkit authority %s: %s", q->action,
                                  polkit_unreachable(e) ? "unavailable" : "refused the check",
                                  e->message ?: e->name);
                return;
        }

        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                q->result = -EACCES;
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Authorization for %s failed: malformed answer from polkit authority: %s",
                                  q->action, strerror(-r));
                return;
        }

        if (authorized) {
                q->result = 1;
                return;
        }

        q->result = -EACCES;
        if (challenge)
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                  "Interactive authentication required for %s", q->action);
        else
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Access denied by polkit for %s", q->action);
}

/* The answer is in q: the method handler runs again, from the start, and picks it
 * up. It is called directly, as sd-bus called it: putting the call back into the
 * bus's read queue (sd_bus_enqueue_for_read) made the loop arm and disarm a timer to
 * dispatch it, one more loop turn per authorized call. */
static void async_query_finish(AsyncQuery *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = sd_bus_message_ref(q->request);
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        PolkitRegistry *reg = q->registry;
        int r;

        q->answered = true;
        r = sd_bus_message_rewind(call, true);
        if (r >= 0)
                r = q->handler(call, q->userdata, &error); /* finds q and frees it */
        if (sd_bus_error_is_set(&error))
                (void) sd_bus_reply_method_error(call, &error);
        else if (r < 0)
                (void) sd_bus_reply_method_errno(call, r, NULL);
        /* A handler that failed before asking again leaves the query behind. */
        async_query_free(registry_find(reg, call));
}

static int on_polkit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AsyncQuery *q = userdata;

        (void) ret_error;
        q->slot = sd_bus_slot_unref(q->slot);
        async_query_store_answer(q, reply);
        async_query_finish(q);
        return 1;
}

static int arm_deadline(PolkitRegistry *reg, sd_event *event, uint64_t deadline);

/* Refuses every query past its deadline (cancelling its CheckAuthorization) and
 * re-arms for the earliest one left. */
static int on_deadline(sd_event_source *s, uint64_t now, void *userdata) {
        PolkitRegistry *reg = userdata;
        uint64_t next = UINT64_MAX;

        for (AsyncQuery *q = reg->queries, *n; q; q = n) {
                n = q->next;
                if (q->deadline > now) {
                        if (q->deadline < next)
                                next = q->deadline;
                        continue;
                }
                q->slot = sd_bus_slot_unref(q->slot);
                q->result = -EACCES;
                sd_bus_error_setf(&q->error, SD_BUS_ERROR_ACCESS_DENIED,
                                  "Authorization for %s failed: polkit authority unavailable: no answer in time",
                                  q->action);
                async_query_finish(q);
        }
        if (next != UINT64_MAX)
                (void) arm_deadline(reg, sd_event_source_get_event(s), next);
        return 0;
}

/* Makes sure the timer fires by `deadline`; a timer already due earlier is left as it is. */
static int arm_deadline(PolkitRegistry *reg, sd_event *event, uint64_t deadline) {
        uint64_t armed;
        int enabled = SD_EVENT_OFF, r;

        if (!reg->deadline_timer)
                return sd_event_add_time(event, &reg->deadline_timer, CLOCK_MONOTONIC, deadline,
                                         POLKIT_DEADLINE_ACCURACY_USEC, on_deadline, reg);
        r = sd_event_source_get_enabled(reg->deadline_timer, &enabled);
        if (r >= 0 && enabled != SD_EVENT_OFF && sd_event_source_get_time(reg->deadline_timer, &armed) >= 0 &&
            armed <= deadline)
                return 0;
        r = sd_event_source_set_time(reg->deadline_timer, deadline);
        if (r >= 0)
                r = sd_event_source_set_enabled(reg->deadline_timer, SD_EVENT_ONESHOT);
        return r;
}

/* A connection left the bus: queries it was waiting for are dropped (nobody is left to
 * answer), and its uid is forgotten. */
static int on_departure(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        PolkitRegistry *reg = userdata;
        const char *name, *old_owner, *new_owner;

        (void) ret_error;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || name[0] != ':' ||
            !isempty(new_owner))
                return 0;
        for (AsyncQuery *q = reg->queries, *next; q; q = next) {
                next = q->next;
                if (streq_ptr(sd_bus_message_get_sender(q->request), name)) {
                        log_debug("Caller %s left the bus during authorization of %s, dropping the query",
                                  name, q->action);
                        async_query_free(q);
                }
        }
        for (unsigned i = 0; i < UID_CACHE_SIZE; i++)
                if (streq_ptr(reg->uids[i].name, name))
                        reg->uids[i].name[0] = 0;
        return 0;
}

static int on_departures_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        PolkitRegistry *reg = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(m);

        (void) ret_error;
        if (!e)
                return 0;
        /* polkit's answer (or its timeout) still ends each query; only a caller leaving
         * meanwhile goes unnoticed until then. The next query tries again. */
        log_warning("Cannot watch callers leaving the bus: %s", e->message ?: e->name);
        reg->departures = sd_bus_slot_unref(reg->departures);
        return 0;
}

/* Callers leaving, watched by one match for the daemon's life: a match per query
 * (sd_bus_track) costs an AddMatch, a RemoveMatch and a synchronous GetNameOwner round
 * trip on every call, and the system bus sees few departures. No GetNameOwner is needed:
 * the bus handles our messages in order, so the match is in place before polkitd, handed
 * our CheckAuthorization after it, looks the caller up. A caller gone before that point
 * gets polkit's own refusal; one gone after it, the NameOwnerChanged. */
static int watch_departures(sd_bus *bus, PolkitRegistry *reg) {
        if (reg->departures)
                return 0;
        return sd_bus_add_match_async(bus, &reg->departures,
                                      "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                      "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg2=''",
                                      on_departure, on_departures_installed, reg);
}

static int append_check_authorization(sd_bus_message *pk, const char *sender, const char *action,
                                      const char *const *details, bool interactive) {
        int r;

        r = sd_bus_message_append(pk, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, action);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(pk, 'a', "{ss}");
        if (r < 0)
                return r;
        for (const char *const *d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(pk, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(pk);
        if (r < 0)
                return r;

        /* No cancellation id: a query ends with its caller (see on_departure). */
        return sd_bus_message_append(pk, "us", interactive ? POLKIT_ALLOW_USER_INTERACTION : 0, "");
}

static int async_query_start(sd_bus_message *call, const char *action, const char *const *details,
                             PolkitRegistry *reg, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *pk = NULL;
        _cleanup_(async_query_freep) AsyncQuery *q = NULL;
        sd_bus *bus = sd_bus_message_get_bus(call);
        const char *sender;
        bool interactive;
        int r;

        sender = sd_bus_message_get_sender(call);
        if (!sender)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Authorization for %s failed: the call has no sender", action);

        interactive = sd_bus_message_get_allow_interactive_authorization(call) > 0;

        uid_t uid;
        r = bus_query_sender_uid(reg, call, &uid);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Authorization for %s failed: cannot tell who asked: %s", action, strerror(-r));
        unsigned pending = 0;
        for (AsyncQuery *p = reg->queries; p; p = p->next)
                pending += p->uid == uid;
        if (pending >= POLKIT_MAX_PENDING_PER_UID) {
                /* Debug only: the caller chooses how often this happens. */
                log_debug("Refusing %s for %s: %u checks of uid %u pending", action, sender, pending, (unsigned) uid);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Authorization for %s refused: %u checks of uid %u are pending already; "
                                         "try again once polkit has answered them",
                                         action, pending, (unsigned) uid);
        }

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->uid = uid;
        q->handler = sd_bus_get_current_handler(bus);
        q->userdata = sd_bus_get_current_userdata(bus);
        if (!q->handler)
                return -EINVAL; /* asked from outside a method handler */
        q->request = sd_bus_message_ref(call);
        q->action = strdup(action);
        if (!q->action)
                return -ENOMEM;

        r = watch_departures(bus, reg);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_call(bus, &pk, POLKIT_BUS_NAME, POLKIT_OBJECT_PATH,
                                           POLKIT_INTERFACE, "CheckAuthorization");
        if (r < 0)
                return r;
        r = append_check_authorization(pk, sender, action, details, interactive);
        if (r < 0)
                return r;

        uint64_t timeout = POLKIT_INTERACTIVE_TIMEOUT_USEC, now;
        if (!interactive && sd_bus_get_method_call_timeout(bus, &timeout) < 0)
                timeout = POLKIT_DEFAULT_TIMEOUT_USEC;
        r = sd_event_now(sd_bus_get_event(bus), CLOCK_MONOTONIC, &now);
        if (r < 0)
                return r;
        q->deadline = now + timeout;
        r = arm_deadline(reg, sd_bus_get_event(bus), q->deadline);
        if (r < 0)
                return r;

        /* UINT64_MAX: no sd-bus timeout, the registry's deadline ends the query. */
        r = sd_bus_call_async(bus, &q->slot, pk, on_polkit_reply, q, UINT64_MAX);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Authorization for %s failed: polkit authority unavailable: %s",
                                         action, strerror(-r));

        registry_link(reg, TAKE_PTR(q));
        return 0;
}

void polkit_prepared_done(PolkitPrepared *p) {
        if (p->data && p->free)
                p->free(p->data);
        *p = (PolkitPrepared) {};
}

int bus_polkit_set_prepared(PolkitRegistry *reg, sd_bus_message *call, PolkitPrepared prepared) {
        AsyncQuery *q = registry_find(reg, call);
        int r;

        if (!q || q->answered || q->prepared.data) {
                polkit_prepared_done(&prepared);
                return -ESTALE; /* not asked, or asked twice: a programming error */
        }
        r = sd_event_now(sd_bus_get_event(sd_bus_message_get_bus(call)), CLOCK_MONOTONIC, &q->prepared_at);
        if (r < 0) {
                polkit_prepared_done(&prepared);
                return r;
        }
        q->prepared = prepared;
        return 0;
}

/* The prepared work of an authorized query, if still fresh (see polkit.h). */
static void async_query_take_prepared(AsyncQuery *q, sd_bus_message *call, PolkitPrepared *ret) {
        uint64_t now = 0;

        if (!q->prepared.data)
                return;
        (void) sd_event_now(sd_bus_get_event(sd_bus_message_get_bus(call)), CLOCK_MONOTONIC, &now);
        if (now >= q->prepared_at && now - q->prepared_at <= POLKIT_PREPARED_MAX_AGE_USEC) {
                *ret = q->prepared;
                q->prepared = (PolkitPrepared) {};
                return;
        }
        log_debug("Authorization of %s came %" PRIu64 " ms after the work prepared meanwhile: doing it again",
                  q->action, now >= q->prepared_at ? (now - q->prepared_at) / 1000 : 0);
}

int bus_verify_polkit_async_prepared(sd_bus_message *call, const char *action, const char *const *details,
                                     PolkitRegistry *reg, PolkitPrepared *ret_prepared, sd_bus_error *error) {
        AsyncQuery *q;
        int r;

        if (ret_prepared)
                *ret_prepared = (PolkitPrepared) {};
        q = registry_find(reg, call);
        if (q) {
                /* Called again: the answer is in. Only an unanswered query can be found
                 * here if a handler asked twice for one call — a programming error. */
                if (!q->answered || !streq_ptr(q->action, action)) {
                        log_error("Authorization for %s asked twice for one call", action);
                        async_query_free(q);
                        return -ESTALE;
                }
                r = q->result;
                if (r < 0)
                        sd_bus_error_copy(error, &q->error);
                else if (ret_prepared)
                        async_query_take_prepared(q, call, ret_prepared);
                async_query_free(q);
                return r;
        }

        if (sender_is_root(reg, call))
                return 1;

        r = async_query_start(call, action, details, reg, error);
        if (r < 0)
                return r;
        return 0;
}
