#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (e) The socket itself would admit nginx (www-data:nginx 0660) but sits in a directory
# that is root:root 0700 -> 502 [crit] 13; verdict denied, primary finding dir-no-search
# with path = that directory.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-dir-no-search

stack_ensure_web_user
stack_up --owner www-data --group nginx --mode 0660 --sock-dir private --sock-dir-mode 0700
h_is "$(stat -c '%U:%G %a' "$S_SOCK_DIR")" "root:root 700" "the socket's directory is root:root 0700"
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502"
h_file_like "$S_NGINX_ERRLOG" "$(stack_crit_re)" "nginx logged [crit] (13: Permission denied)"

stack_snapshot before
stack_diagnose report "$S_SOCK"
r=$H_T/report.json
h_json_is "$r" 'r["verdict"]' denied "verdict denied"
stack_assert_consumer "$r"
stack_assert_errno "$r" 13
stack_assert_primary "$r" dir-no-search
stack_assert_finding "$r" dir-no-search error "$S_SOCK_DIR"
h_json_ok "$r" '"dir-search" in [x for x in r["findings"] if x["code"] == "dir-no-search"][0]["remedies"]' \
        "dir-no-search offers dir-search"
stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing"
h_done
