#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (a) The seed case: the pool's socket is www-data:www-data 0660, nginx runs as `nginx`
# (not in www-data): nginx falls in "other" -> 502 with the [crit] EACCES line; verdict
# denied, primary finding socket-group-mismatch. With `evidence`, the report quotes the
# [crit] line from nginx's error log. The diagnosis changes nothing.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-seed

stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 before any diagnosis"
h_file_like "$S_NGINX_ERRLOG" "$(stack_crit_re)" "nginx logged [crit] connect() ... (13: Permission denied)"

stack_snapshot before
stack_diagnose report "$S_SOCK"
r=$H_T/report.json
h_json_is "$r" 'r["verdict"]' denied "verdict denied"
stack_assert_socket_fields "$r"
stack_assert_listener "$r"
stack_assert_consumer "$r"
stack_assert_errno "$r" 13
stack_assert_primary "$r" socket-group-mismatch
h_json_ok "$r" '"pool-acl" in [x for x in r["findings"] if x["code"] == "socket-group-mismatch"][0]["remedies"]' \
        "socket-group-mismatch offers pool-acl"
h_json_ok "$r" '"evidence" not in r' "no evidence without the option"

stack_diagnose evidence "$S_SOCK" '{"evidence": true}'
crit=$(stack_crit_re)
h_json_ok "$H_T/evidence.json" "any(__import__('re').search(r'''$crit''', l) for l in r['evidence'])" \
        "evidence quotes nginx's [crit] line"

stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing (modes, owners, ACLs, pool and group files)"
h_is "$(h_http_status "$S_URL")" 502 "still HTTP 502 after the diagnosis"
h_done
