#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (c) listen.mode 0644: the class nginx falls in lacks w. The socket is www-data:nginx
# 0644, so nginx (primary group nginx) is in the group class, r-- -> 502 [crit] 13;
# verdict denied, primary finding socket-mode-no-write.
# (With listen.owner = nginx and 0644 nginx would be the owner, rw-, and connect: the
# owner class of 0644 has w. The group class is the one 0644 leaves without it.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-mode-no-write

stack_ensure_web_user
stack_up --owner www-data --group nginx --mode 0644
h_is "$(stat -c '%U:%G %a' "$S_SOCK")" "www-data:nginx 644" "the socket is www-data:nginx 0644"
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
stack_assert_primary "$r" socket-mode-no-write
stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing"
h_done
