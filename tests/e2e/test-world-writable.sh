#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (g) listen.mode 0666: everyone connects (HTTP 200), so verdict ok, but any local user
# can run code as www-data: warning world-writable.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-world-writable

stack_up --owner www-data --group www-data --mode 0666
h_is "$(stat -c '%a' "$S_SOCK")" 666 "the socket is 0666"
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 200 "HTTP 200"
h_is "$(cat "$H_T/http.body")" ok "index.php answered ok"

stack_snapshot before
stack_diagnose report "$S_SOCK"
r=$H_T/report.json
h_json_is "$r" 'r["verdict"]' ok "verdict ok"
stack_assert_socket_fields "$r"
stack_assert_consumer "$r"
stack_assert_errno "$r" 0
h_json_is "$r" 'r.get("fastcgi", False)' true "the listener answered FCGI_GET_VALUES (the probe connected)"
stack_assert_finding "$r" world-writable warning
h_json_is "$r" "[x['code'] for x in r.get('findings', []) if x.get('severity') == 'error']" "[]" "no error findings"
stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing"
h_done
