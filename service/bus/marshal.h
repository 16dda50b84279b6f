/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Engine reports -> the bus contract's a{sv} records (shared/DESIGN.md), written
 * straight into the reply. A value the report does not have is left out. */

#include <systemd/sd-bus.h>

#include "engine/engine.h"
#include "engine/report.h"

/* Diagnose / DiagnoseAll: one report, a{sv}. */
int bus_append_report(sd_bus_message *m, const Report *r);
/* ListSockets: the socket record of a report, a{sv}. */
int bus_append_socket_record(sd_bus_message *m, const Report *r);
/* Fix: transaction, strategy, outcome, reason, verified, changes, activations,
 * verdict_before, verdict_after (when verified after), a{sv}. */
int bus_append_fix_result(sd_bus_message *m, const FixResult *res);
/* Revert: transaction, outcome, reason, changes, a{sv}. */
int bus_append_revert_result(sd_bus_message *m, const RevertResult *res);
/* ListTransactions: aa{sv} of transaction, time, uid, socket, strategy, outcome, changes. */
int bus_append_transaction_records(sd_bus_message *m, const TransactionRecord *l, size_t n);
/* The bus error name of an engine refusal (InvalidArgs or org.sockfix.SockFix1.Error.*). */
const char *bus_engine_error_name(EngineError e);
