#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A Revert waits for no fix, but it must not run under one: while a fix of a socket
# waits for its reload, a Revert of an older transaction of the same socket answers
# Busy, also when that older fix was asked through a symlink (the journal names the
# socket as its caller wrote it, the running fix holds the resolved path). Two nginx
# consumers of the seed socket, A (the stack's) and B (a second instance, stopped so
# that its fix waits), each fixed on its own with the consumer option.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-revert-busy

stack_use_web_user "sfx-rba-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
user_b=sfx-rbb-$$
h_ensure_user "$user_b"
h_at_exit "gpasswd -d '$S_WEB_USER' www-data > /dev/null 2>&1; gpasswd -d '$user_b' www-data > /dev/null 2>&1; true"
ln -s "$S_SOCK" "$S_SOCK_DIR/alias.sock"
stack_extra_nginx nginx-b "$user_b" "$S_SOCK"
h_is "$(h_http_status "$S_URL")" 502 "A: HTTP 502"
h_is "$(h_http_status "$X_URL")" 502 "B: HTTP 502"

h_fix "$H_T/fix-a.json" "$S_SOCK_DIR/alias.sock" member "{\"consumer\": \"$S_WEB_USER\"}"
h_is "$(h_answer_of "$H_T/fix-a.json")" applied "Fix(member) for A, through the symlink: applied"
tx_a=$(h_json "$H_T/fix-a.json" 'r["transaction"]')
h_is "$(h_http_status "$S_URL")" 200 "A: HTTP 200"

kill -STOP "$X_NGINX_PID"
h_at_exit "kill -CONT '$X_NGINX_PID' 2> /dev/null; true"
h_fix_async "$H_T/fix-b.json" "$S_SOCK" member "{\"consumer\": \"$user_b\"}"
fix_b=$H_LAST_PID
running() {
        h_call "$H_T/tx.json" ListTransactions '{}' 2> /dev/null &&
                [[ $(h_json "$H_T/tx.json" 'len(r) == 2 and r[-1]["outcome"] == "incomplete"' 2> /dev/null) == [Tt]rue ]]
}
h_ok "Fix(member) for B runs, waiting for B's stopped master" h_wait_for 100 running
h_revert "$H_T/revert-a.json" "$tx_a"
h_is "$(h_answer_of "$H_T/revert-a.json")" org.sockfix.SockFix1.Error.Busy "Revert of A's fix while B's runs: Busy"
h_ok "  A is still in www-data" bash -c "id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx www-data"
h_ok "  B's fix is still waiting" h_alive "$fix_b"

kill -CONT "$X_NGINX_PID"
h_ok "B's fix answered once its nginx could reload" h_wait_gone "$fix_b" 150
wait "$fix_b" 2> /dev/null
h_forget_pid "$fix_b"
h_is "$(h_answer_of "$H_T/fix-b.json")" applied "  applied"
h_is "$(h_http_status "$X_URL")" 200 "B: HTTP 200"
h_revert "$H_T/revert-a2.json" "$tx_a"
h_is "$(h_answer_of "$H_T/revert-a2.json")" reverted "then Revert of A's fix: reverted"
h_ok "  A is no longer in www-data" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx www-data"
h_done
