/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.sockfix.SockFix1.Manager object: the vtable and its method handlers.
 * Each handler reads its arguments, checks them, authorizes through polkit, calls
 * one engine entry point and marshals the answer. */

#include <systemd/sd-bus.h>

#include "engine/engine.h"

typedef struct Manager Manager;

/* Registers the object on `bus`; the engine must outlive the manager. */
int manager_new(sd_bus *bus, Engine *engine, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        manager_free(*m);
}

/* Calls waiting for polkit: the daemon must not exit on idle while any is. */
unsigned manager_n_pending_authorizations(const Manager *m);
/* Fix and Revert jobs waiting for a configuration test or a reload: the daemon must
 * not exit while any runs (the host would be left half-changed). */
unsigned manager_n_running_jobs(const Manager *m);
/* On SIGTERM: running fixes and reverts finish, new ones are refused with Busy (dry runs
 * go on). */
void manager_stop_accepting_fixes(Manager *m);
