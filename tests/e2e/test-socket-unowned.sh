#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (b) The pool sets no listen.owner/group: php-fpm (master as root) leaves the socket
# root:root 0660 -> 502 [crit] 13; verdict denied, primary finding socket-unowned.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-unowned

stack_up
h_is "$(stat -c '%U:%G %a' "$S_SOCK")" "root:root 660" "the socket is root:root 0660"
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
stack_assert_primary "$r" socket-unowned
stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing"
h_done
