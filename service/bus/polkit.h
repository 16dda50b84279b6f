/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous polkit authorization of bus method calls, without GLib.
 *
 * A handler calls bus_verify_polkit_async() after reading and validating its
 * arguments and before anything else:
 *   r < 0   refused or failed; `error` is set (AccessDenied, or
 *           InteractiveAuthorizationRequired) — return r.
 *   r == 0  a CheckAuthorization query is in flight — return 0: the call message
 *           is dispatched again when polkit answers, and the handler then runs
 *           from the start and gets the stored answer.
 *   r > 0   authorized — do the work.
 * A read-only handler may also work while polkit decides: see bus_polkit_set_prepared().
 * Answers are kept only for the call they were asked for: polkit's own
 * auth_admin_keep decides what is remembered between calls. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct PolkitRegistry PolkitRegistry;

int polkit_registry_new(PolkitRegistry **ret);
/* Drops every pending query without replying to its caller. */
PolkitRegistry *polkit_registry_free(PolkitRegistry *reg);
static inline void polkit_registry_freep(PolkitRegistry **reg) {
        polkit_registry_free(*reg);
}
/* Queries waiting for polkit; the daemon must not exit on idle while this is > 0. */
unsigned polkit_registry_n_pending(const PolkitRegistry *reg);

/* Work a handler did while polkit decided: see bus_verify_polkit_async_prepared(). */
typedef struct PolkitPrepared {
        void *data;
        void (*free)(void *data);
} PolkitPrepared;

/* details: NULL or a NULL-terminated list of key, value, key, value … (polkit's a{ss}). */
int bus_verify_polkit_async_prepared(sd_bus_message *call, const char *action, const char *const *details,
                                     PolkitRegistry *reg, PolkitPrepared *ret_prepared, sd_bus_error *error);
static inline int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char *const *details,
                                          PolkitRegistry *reg, sd_bus_error *error) {
        return bus_verify_polkit_async_prepared(call, action, details, reg, NULL, error);
}

/* A handler whose work before sending anything is free of effects on the system may do
 * it while polkit decides, on the CPU polkitd leaves idle, instead of after the answer:
 * after bus_verify_polkit_async_prepared() returned 0, it does that work and hands the
 * result over here. Called again authorized, it gets the result back in *ret_prepared
 * and owns it; refused, or its caller gone, the registry frees it unsent. A result
 * older than POLKIT_PREPARED_MAX_AGE_USEC when polkit answers (a person typed a
 * password meanwhile) is freed too: the handler gets none and does the work again, so
 * no answer describes the system as it was seconds before. Takes data in all cases. */
#define POLKIT_PREPARED_MAX_AGE_USEC (UINT64_C(100) * 1000)
int bus_polkit_set_prepared(PolkitRegistry *reg, sd_bus_message *call, PolkitPrepared prepared);
void polkit_prepared_done(PolkitPrepared *p);

/* The caller's effective uid, as the bus driver reports it (for audit records). */
int bus_query_sender_uid(PolkitRegistry *reg, sd_bus_message *call, uid_t *ret);
