/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Engine reports -> the bus contract's a{sv} records (dbus/org.sockfix.SockFix1.xml,
 * sockfixd(8)), written straight into the reply. A value the report does not have is
 * left out. */

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "engine/engine.h"
#include "engine/report.h"

/* The top-level keys of a report a caller asked for with the `fields` option of
 * Diagnose and DiagnoseAll, one bit per key; 0 (no option) means all. A panel that
 * polls thousands of pools for their verdicts needs a few of the ~40 values per
 * socket, and writing and parsing the rest is most of a full sweep's cost. */
typedef uint32_t ReportFields;
/* BusOption.parse_item of `fields`: adds one key to *(ReportFields *) dest. An
 * unknown key is InvalidArgs naming the known ones. `socket` is always sent. */
int bus_report_field_add(const char *key, void *dest, sd_bus_error *error);

/* Diagnose / DiagnoseAll: one report, a{sv}, of the keys in `fields`. */
int bus_append_report(sd_bus_message *m, const Report *r, ReportFields fields);
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
