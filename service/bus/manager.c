/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The bus API, read top-down: the vtable at the bottom lists every property and
 * method; each method is a short handler above it. */

#include <stdlib.h>

#include "config.h"
#include "sockfix-bus.h"

#include "args.h"
#include "manager.h"
#include "marshal.h"
#include "polkit.h"
#include "util/util.h"

struct Manager {
        Engine *engine;
        PolkitRegistry *polkit;
        sd_bus_slot *vtable_slot;
};

static const BusOption diagnose_options[] = {
        { "consumer", 's', offsetof(DiagnoseOptions, consumer) },
        { "evidence", 'b', offsetof(DiagnoseOptions, evidence) },
};

static int read_diagnose_options(sd_bus_message *m, DiagnoseOptions *o, sd_bus_error *error) {
        *o = (DiagnoseOptions) {};
        return bus_read_options(m, diagnose_options, ELEMENTSOF(diagnose_options), o, error);
}

typedef int (*AppendReports)(sd_bus_message *m, Report *const *reports, size_t n);

/* The sweeps differ only in what they send of each report. */
static int reply_sweep(sd_bus_message *m, Manager *mgr, AppendReports append, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        DiagnoseOptions o;
        Report **reports = NULL;
        size_t n = 0;
        int r;

        r = read_diagnose_options(m, &o, error);
        if (r < 0)
                return r;

        /* Sweeps carry no socket detail: a rule grants them whole or not at all. */
        r = bus_verify_polkit_async(m, SOCKFIX_ACTION_DIAGNOSE, NULL, mgr->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asking; we will be called again */

        r = engine_diagnose_all(mgr->engine, &o, &reports, &n);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to discover the sockets of this host: %m");

        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = append(reply, reports, n);
        reports_free(reports, n);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_sockets(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return reply_sweep(m, userdata, bus_append_socket_records, error);
}

static int method_diagnose_all(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        return reply_sweep(m, userdata, bus_append_reports, error);
}

static int method_diagnose(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(report_freep) Report *report = NULL;
        Manager *mgr = userdata;
        const char *socket;
        DiagnoseOptions o;
        int r;

        r = sd_bus_message_read(m, "s", &socket);
        if (r < 0)
                return r;
        r = read_diagnose_options(m, &o, error);
        if (r < 0)
                return r;
        r = bus_check_socket_path(socket, error);
        if (r < 0)
                return r;

        const char *details[] = { "socket", socket, NULL };
        r = bus_verify_polkit_async(m, SOCKFIX_ACTION_DIAGNOSE, details, mgr->polkit, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asking; we will be called again */

        r = engine_diagnose(mgr->engine, socket, &o, &report);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to diagnose %s: %m", socket);

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = bus_append_report(reply, report);
        if (r < 0)
                return r;

        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
                                const char *property, sd_bus_message *reply, void *userdata,
                                sd_bus_error *error) {
        (void) bus, (void) path, (void) interface, (void) property, (void) userdata, (void) error;
        return sd_bus_message_append(reply, "s", PACKAGE_VERSION);
}

static int property_get_strategies(sd_bus *bus, const char *path, const char *interface,
                                   const char *property, sd_bus_message *reply, void *userdata,
                                   sd_bus_error *error) {
        Manager *mgr = userdata;
        _cleanup_strv_free_ char **l = NULL;

        (void) bus, (void) path, (void) interface, (void) property, (void) error;

        l = engine_strategies(mgr->engine);
        return sd_bus_message_append_strv(reply, l);
}

/* Every method is UNPRIVILEGED: sd-bus would otherwise refuse non-root callers
 * before the handler runs; polkit decides instead. */
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Strategies", "as", property_get_strategies, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("ListSockets",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("aa{sv}", sockets),
                                method_list_sockets,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Diagnose",
                                SD_BUS_ARGS("s", socket, "a{sv}", options),
                                SD_BUS_RESULT("a{sv}", report),
                                method_diagnose,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DiagnoseAll",
                                SD_BUS_ARGS("a{sv}", options),
                                SD_BUS_RESULT("aa{sv}", reports),
                                method_diagnose_all,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int manager_new(sd_bus *bus, Engine *engine, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->engine = engine;

        r = polkit_registry_new(&m->polkit);
        if (r < 0)
                return r;

        r = sd_bus_add_object_vtable(bus, &m->vtable_slot, SOCKFIX_OBJECT_PATH,
                                     SOCKFIX_MANAGER_INTERFACE, manager_vtable, m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        sd_bus_slot_unref(m->vtable_slot);
        polkit_registry_free(m->polkit);
        free(m);
        return NULL;
}

unsigned manager_n_pending_authorizations(const Manager *m) {
        return polkit_registry_n_pending(m->polkit);
}
