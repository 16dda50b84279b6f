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
 * Answers are kept only for the call they were asked for: polkit's own
 * auth_admin_keep decides what is remembered between calls. */

#include <stdbool.h>
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

/* details: NULL or a NULL-terminated list of key, value, key, value … (polkit's a{ss}). */
int bus_verify_polkit_async(sd_bus_message *call, const char *action, const char *const *details,
                            PolkitRegistry *reg, sd_bus_error *error);

/* The caller's effective uid, as the bus driver reports it (for audit records). */
int bus_query_sender_uid(PolkitRegistry *reg, sd_bus_message *call, uid_t *ret);
