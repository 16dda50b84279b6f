#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A Fix's configuration test runs while sockfixd serves. On a hosting server nginx -t
# reads thousands of site files and takes seconds; here nginx's configuration includes
# a FIFO, so the nginx -t of a Fix(member) blocks until the test writes to it. Meanwhile
# Peer.Ping and Diagnose answer in < 2 s and a second Fix of the socket answers Busy;
# once the FIFO is written, nginx -t passes and the Fix answers applied, verified:
# HTTP 200. The seed case, with a web user of the test's own.
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
ms=$(h_elapsed_ms busctl --system call "$H_BUS_NAME" "$H_OBJECT" org.freedesktop.DBus.Peer Ping)
h_ok "Peer.Ping answers meanwhile ($ms ms)" test "$ms" -lt 2000
ms=$(h_elapsed_ms h_diagnose "$H_T/during.json" "$S_SOCK")
h_ok "Diagnose answers meanwhile ($ms ms)" test "$ms" -lt 2000
h_json_is "$H_T/during.json" 'r["verdict"]' denied "  still denied: nothing changed before the test passed"
h_fix "$H_T/second.json" "$S_SOCK" auto
h_is "$(h_error_of "$H_T/second.json")" org.sockfix.SockFix1.Error.Busy "a second Fix of the socket: Busy"
h_ok "the first Fix still waits" h_alive "$fix_client"

# One write per reader: a second writer would meet nginx -t's still open end too.
feed 1
h_ok "nginx -t has read it and ended" h_wait_for 100 bash -c "! ps -eo args | grep -q '^nginx -t\|^/usr/sbin/nginx -t'"
feed 1 # the master's own read, at its reload
h_ok "the Fix answered" h_wait_gone "$fix_client" 300
wait "$fix_client" 2> /dev/null
h_forget_pid "$fix_client"
h_json_is "$H_T/fix.json" '(r.get("outcome"), r.get("strategy"), r.get("verified"))' '["applied", "member", true]' \
        "once nginx -t passed: Fix(member) applied, verified"
h_is "$(h_http_status "$S_URL")" 200 "HTTP 200"
h_done
