/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Engine reports -> the bus contract's a{sv} records (shared/DESIGN.md), written
 * straight into the reply. A value the report does not have is left out. */

#include <systemd/sd-bus.h>

#include "engine/report.h"

/* Diagnose / DiagnoseAll: one report, a{sv}. */
int bus_append_report(sd_bus_message *m, const Report *r);
/* DiagnoseAll: aa{sv}. */
int bus_append_reports(sd_bus_message *m, Report *const *reports, size_t n);
/* ListSockets: the socket records of the reports, aa{sv}. */
int bus_append_socket_records(sd_bus_message *m, Report *const *reports, size_t n);
