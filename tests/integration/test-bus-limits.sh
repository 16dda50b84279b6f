#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A reply the bus will not carry (past its max_message_size, 32 MiB on a stock system
# bus, some 33,000 pools for DiagnoseAll) makes dbus-daemon drop sockfixd. Here a bus
# with a 1000-byte limit: ListSockets still fits, DiagnoseAll does not. sockfixd must
# then exit, saying why (bus activation starts it again), not linger without its name.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init bus-limits

h_bus_extra_listen_xml() { echo '<limit name="max_message_size">1000</limit>'; }
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_call "$H_T/list.json" ListSockets '{}'
h_is "$?" 0 "ListSockets answers (its reply fits the bus's limit)"
h_call "$H_T/all.json" DiagnoseAll '{}'
h_json_is "$H_T/all.json" 'r.get("error")' org.freedesktop.DBus.Error.NoReply "DiagnoseAll: the bus dropped sockfixd with a reply past its limit"
h_ok "sockfixd exited" h_wait_gone "$H_SOCKFIXD_PID" 50
h_file_like "$H_T/sockfixd.log" 'Lost the connection to the system bus, exiting' "  saying why"
h_ok "  and no longer owns its name" h_has_no_name org.sockfix.SockFix1
h_done
