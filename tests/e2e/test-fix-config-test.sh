#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A Fix's configuration test runs while sockfixd serves. On a hosting server nginx -t
# reads thousands of site files and takes seconds; here nginx's configuration includes
# a FIFO, so the nginx -t of a Fix(member) blocks until the test writes to it. Meanwhile
# Peer.Ping and Diagnose answer in < 2 s and a second Fix of the socket answers Busy;
# once the FIFO is written, nginx -t passes and the Fix answers applied, verified:
# HTTP 200. Its Revert's nginx -t (before nginx is reloaded to drop the group) blocks
# the same way while sockfixd serves (a second Revert of it meanwhile: Busy); then nginx
# is reloaded: HTTP 502. So does the nginx -t of a Fix's rollback, which reloads nginx
# once more after the membership is taken back; SIGTERM then refuses new fixes and
# reverts with Busy, and sockfixd exits once the rollback is done. A Revert cut short by
# a crash while its nginx -t waits leaves the record incomplete, and the next Revert
# reloads nginx. The seed case, with a web user of the test's own.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-config-test

stack_use_web_user "sfx-cft-$$"
stack_up --owner www-data --group www-data --mode 0660 --no-nginx
h_at_exit "gpasswd -d '$S_WEB_USER' www-data > /dev/null 2>&1; true"
stack_write_nginx
fifo=$H_T/nginx/slow.conf
mkfifo -m 0600 "$fifo"
sed -i "s|^http {|http {\n    include $fifo;|" "$S_NGINX_CONF"
# feed N: the next N readers of the FIFO (nginx's start, nginx -t, the reload) get an
# empty configuration, in the background.
feed() { (for ((i = 0; i < $1; i++)); do echo "# sockfix test" > "$fifo"; done) & h_at_exit "kill $! 2> /dev/null; true"; }
feed 1
stack_start_nginx
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
h_sockfix_up

h_fix_async "$H_T/fix.json" "$S_SOCK" member
fix_client=$H_LAST_PID
# nginx -t has opened the FIFO and waits for a writer.
h_wait_for 100 bash -c "ps -eo args | grep -q '^nginx -t\\|^/usr/sbin/nginx -t'"
h_ok "the Fix's nginx -t runs, blocked on the FIFO" bash -c "ps -eo args | grep -q '^nginx -t\\|^/usr/sbin/nginx -t'"
h_serves_meanwhile "$H_T/during.json" "$S_SOCK"
h_json_is "$H_T/during.json" 'r["verdict"]' denied "  still denied: nothing changed before the test passed"
h_fix "$H_T/second.json" "$S_SOCK" auto
h_is "$(h_error_of "$H_T/second.json")" org.sockfix.SockFix1.Error.Busy "a second Fix of the socket: Busy"
h_ok "the first Fix still waits" h_alive "$fix_client"

# One write per reader: a second writer would meet nginx -t's still open end too.
feed 1
h_ok "nginx -t has read it and ended" h_wait_for 100 bash -c "! ps -eo args | grep -q '^nginx -t\|^/usr/sbin/nginx -t'"
feed 1 # the master's own read, at its reload
h_async_answered "$fix_client" "the Fix"
h_json_is "$H_T/fix.json" '(r.get("outcome"), r.get("strategy"), r.get("verified"))' '["applied", "member", true]' \
        "once nginx -t passed: Fix(member) applied, verified"
h_is "$(h_http_status "$S_URL")" 200 "HTTP 200"

# Its Revert takes the membership back and reloads nginx after nginx -t: that test too
# runs while sockfixd serves.
tx=$(h_json "$H_T/fix.json" 'r.get("transaction", "")')
www_gid=$(getent group www-data | cut -d: -f3)
workers_fixed=$(stack_worker_pids | paste -sd' ' -)
h_revert_async "$H_T/revert.json" "$tx"
revert_client=$H_LAST_PID
h_wait_for 100 bash -c "ps -eo args | grep -q '^nginx -t\|^/usr/sbin/nginx -t'"
h_ok "the Revert's nginx -t runs, blocked on the FIFO" bash -c "ps -eo args | grep -q '^nginx -t\|^/usr/sbin/nginx -t'"
h_serves_meanwhile "$H_T/during-revert.json" "$S_SOCK"
h_ok "  the membership is already gone (id -nG)" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx www-data"
h_is "$(stack_worker_pids | paste -sd' ' -)" "$workers_fixed" "  nginx not reloaded yet"
h_revert "$H_T/revert-again.json" "$tx"
h_is "$(h_error_of "$H_T/revert-again.json")" org.sockfix.SockFix1.Error.Busy \
        "a second Revert of it: Busy (the first one owns the record until its reload)"
h_ok "the first Revert still waits" h_alive "$revert_client"
feed 1
h_ok "nginx -t has read it and ended" h_wait_for 100 bash -c "! ps -eo args | grep -q '^nginx -t\|^/usr/sbin/nginx -t'"
feed 1 # the master's own read, at its reload
h_async_answered "$revert_client" "the Revert"
h_json_is "$H_T/revert.json" '(r.get("outcome"), r.get("reason"))' \
        '["reverted", "every change of the transaction was undone"]' "Revert: reverted, nothing left alone"
h_revert "$H_T/revert-again.json" "$tx"
h_is "$(h_error_of "$H_T/revert-again.json")" org.sockfix.SockFix1.Error.UnknownTransaction \
        "  then a second Revert of it: UnknownTransaction (already reverted)"
# the workers are all new (an old one still running would serve with the group), and
# none holds www-data's gid
lacks_gid() {
        local now
        now=$(stack_worker_pids | paste -sd' ' -)
        [[ -n $now ]] && ! comm -12 <(tr ' ' '\n' <<< "$workers_fixed" | sort) <(tr ' ' '\n' <<< "$now" | sort) | grep -q . &&
                for w in $now; do ! stack_worker_field "$w" Groups | tr ' ' '\n' | grep -qx "$www_gid" || return 1; done
}
h_wait_for 100 lacks_gid
h_ok "nginx was reloaded: its workers are new and lack www-data's gid" lacks_gid
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 again"

# A Fix(member) rolled back after its reload, the socket's directory closed while nginx
# reloads (its master blocked on the FIFO): the membership is taken back and nginx is
# reloaded once more, after an nginx -t that again runs while sockfixd serves.
nginx_testing() { ps -eo args | grep -q '^nginx -t\|^/usr/sbin/nginx -t'; }
not_nginx_testing() { ! nginx_testing; }
is_member() { id -nG "$S_WEB_USER" | tr ' ' '\n' | grep -qx www-data; }
h_fix_async "$H_T/fix3.json" "$S_SOCK" member
fix_client=$H_LAST_PID
h_wait_for 100 nginx_testing
feed 1 # the Fix's nginx -t
h_wait_for 100 not_nginx_testing
h_wait_for 100 is_member
h_ok "the third Fix made $S_WEB_USER a member and signalled nginx" is_member
workers_fixed=$(stack_worker_pids | paste -sd' ' -) # its reload has not spawned any yet
chmod 0700 "$S_SOCK_DIR"
h_at_exit "chmod 0755 '$S_SOCK_DIR'"
feed 1 # the master's own read: its new workers hold www-data, and meet the closed directory
h_wait_for 100 nginx_testing
h_ok "verification failed: the rollback's nginx -t runs, blocked on the FIFO" nginx_testing
h_ok "  the membership is already taken back" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx www-data"
h_serves_meanwhile "$H_T/during-rollback.json" "$S_SOCK"
h_fix "$H_T/fix4.json" "$S_SOCK" auto
h_is "$(h_error_of "$H_T/fix4.json")" org.sockfix.SockFix1.Error.Busy "another Fix of the socket: Busy"
h_ok "the third Fix still waits" h_alive "$fix_client"
# SIGTERM meanwhile: the running job goes on, a new Fix or Revert answers Busy, and
# sockfixd exits once the job is done.
sockfixd=$H_SOCKFIXD_PID
kill -TERM "$sockfixd"
h_fix "$H_T/fix5.json" "$S_SOCK" auto
h_is "$(h_error_of "$H_T/fix5.json")" org.sockfix.SockFix1.Error.Busy "sockfixd stopping: a new Fix answers Busy"
h_revert "$H_T/revert5.json" "$tx"
h_is "$(h_error_of "$H_T/revert5.json")" org.sockfix.SockFix1.Error.Busy "  and so does a Revert"
h_ok "  sockfixd still runs, for the Fix it has begun" h_alive "$sockfixd"
feed 1 # the rollback's nginx -t
h_wait_for 100 not_nginx_testing
feed 1 # the master's read at that reload
h_async_answered "$fix_client" "the third Fix"
h_ok "sockfixd exited once it was done" h_wait_gone "$sockfixd" 100
wait "$sockfixd" 2> /dev/null
h_is "$?" 0 "  with status 0"
h_json_is "$H_T/fix3.json" 'r.get("outcome")' rolled-back "Fix(member): rolled-back"
h_json_ok "$H_T/fix3.json" "r.get('reason', '').startswith('verification failed') and 'everything was undone' in r.get('reason', '')" \
        "  its reason: verification failed, everything was undone ($(h_json "$H_T/fix3.json" 'r.get("reason", "")'))"
h_wait_for 100 lacks_gid
h_ok "nginx was reloaded again: its workers are new and lack www-data's gid" lacks_gid

# A Revert cut short by a crash while its nginx -t waits: the membership is gone, nginx
# not reloaded. The next Revert of the transaction reloads it.
chmod 0755 "$S_SOCK_DIR"
h_start_sockfixd
h_fix_async "$H_T/fix6.json" "$S_SOCK" member
fix_client=$H_LAST_PID
h_wait_for 100 nginx_testing
feed 1 # the Fix's nginx -t
h_wait_for 100 not_nginx_testing
feed 1 # the master's read at its reload
h_async_answered "$fix_client" "a fourth Fix"
h_is "$(h_answer_of "$H_T/fix6.json")" applied "  Fix(member): applied"
tx=$(h_json "$H_T/fix6.json" 'r.get("transaction", "")')
h_wait_for 100 stack_workers_hold_gid "$www_gid"
workers_fixed=$(stack_worker_pids | paste -sd' ' -)
h_revert_async "$H_T/revert6.json" "$tx"
revert_client=$H_LAST_PID
h_wait_for 100 nginx_testing
h_ok "its Revert's nginx -t runs, blocked on the FIFO" nginx_testing
h_stop_sockfixd --kill
h_async_answered "$revert_client" "the Revert's client, sockfixd killed,"
pkill -KILL -f "^(/usr/sbin/)?nginx -t .*$H_T/nginx/nginx.conf" # orphaned, blocked on the FIFO
h_wait_for 100 not_nginx_testing
h_ok "the membership is gone" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx www-data"
h_is "$(stack_worker_pids | paste -sd' ' -)" "$workers_fixed" "  nginx was not reloaded"
h_start_sockfixd
h_call "$H_T/tx6.json" ListTransactions '{}'
h_json_is "$H_T/tx6.json" "[t['outcome'] for t in r if t['transaction'] == '$tx']" '["incomplete"]' \
        "after the restart, the transaction is incomplete"
h_revert_async "$H_T/revert7.json" "$tx"
revert_client=$H_LAST_PID
h_wait_for 100 nginx_testing
h_ok "a new Revert of it runs nginx -t" nginx_testing
feed 1 # its nginx -t
h_wait_for 100 not_nginx_testing
feed 1 # the master's read at the reload
h_async_answered "$revert_client" "the new Revert"
h_is "$(h_answer_of "$H_T/revert7.json")" reverted "  Revert: reverted"
h_wait_for 100 lacks_gid
h_ok "nginx was reloaded: its workers are new and lack www-data's gid" lacks_gid
h_done
