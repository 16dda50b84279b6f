#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (d) listen.acl_users = www-data: php-fpm ignores owner/group (socket root:root) and adds
# user:www-data:rw; nothing for nginx -> 502 [crit] 13; verdict denied, primary finding
# acl-missing-user.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-acl-missing

stack_up --acl-users www-data
h_like "$(getfacl -p "$S_SOCK" 2>/dev/null)" 'user:www-data:rw-' "the socket carries user:www-data:rw"
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502"
h_file_like "$S_NGINX_ERRLOG" "$(stack_crit_re)" "nginx logged [crit] (13: Permission denied)"

stack_snapshot before
stack_diagnose report "$S_SOCK"
r=$H_T/report.json
h_json_is "$r" 'r["verdict"]' denied "verdict denied"
stack_assert_socket_fields "$r"
stack_assert_consumer "$r"
stack_assert_errno "$r" 13
stack_assert_primary "$r" acl-missing-user
h_json_ok "$r" '"pool-acl" in [x for x in r["findings"] if x["code"] == "acl-missing-user"][0]["remedies"]' \
        "acl-missing-user offers pool-acl"
stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing"
h_done
