#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A Fix that edits the pool file runs php-fpm -t of the edited file before it changes
# the live socket, and that test runs while sockfixd serves (on a host of 5,000 pools it
# takes about a second). Here php-fpm's configuration includes a FIFO, so each php-fpm -t
# blocks until the test writes to it. During the Fix(pool-acl)'s second php-fpm -t the
# pool file is already edited: Peer.Ping and Diagnose answer in < 2 s (the socket still
# denied), and a second Fix answers Busy. The test's reader then gets a line php-fpm
# rejects: the Fix answers rolled-back, says why, and the pool file is back byte for
# byte, the socket untouched, HTTP still 502. A second Fix, whose tests both pass, is
# applied: HTTP 200. The seed case, with a web user of the test's own.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-pool-test

stack_use_web_user "sfx-fpt-$$"
stack_up --owner www-data --group www-data --mode 0660
fifo=$H_T/fpm/slow.conf
mkfifo -m 0600 "$fifo"
h_stop "$S_FPM_PID"
sed -i "s|^daemonize = no|daemonize = no\ninclude = $fifo|" "$S_POOL_CONF"
# feed TEXT: the next reader of the FIFO (php-fpm's start, a php-fpm -t) gets TEXT, in
# the background. One write per reader, each once the last reader is done: a second
# writer would meet the first reader's still open end.
feed() {
        (echo "$1" > "$fifo") &
        h_at_exit "kill $! 2> /dev/null; true"
}
feed "; sockfix test"
stack_start_fpm
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"
fpm_master=$S_FPM_PID
h_sockfix_up

fpm_tests() { ps -eo args | grep -c '^/usr/sbin/php-fpm8.2 -t\|^php-fpm8.2 -t'; }
testing() { [[ $(fpm_tests) -gt 0 ]]; }
not_testing() { [[ $(fpm_tests) -eq 0 ]]; }

h_fix_async "$H_T/fix.json" "$S_SOCK" pool-acl
fix_client=$H_LAST_PID
h_wait_for 100 testing
h_ok "the Fix's php-fpm -t before any change runs, blocked on the FIFO" testing
h_ok "  the pool file is not edited yet" cmp -s "$S_POOL_CONF" "$H_T/pool.orig"
feed "; sockfix test"
h_wait_for 100 not_testing
edited() { grep -q "^listen.acl_users = .*$S_WEB_USER" "$S_POOL_CONF" && testing; }
h_wait_for 100 edited
h_ok "then the pool file is edited, and php-fpm -t of it runs, blocked on the FIFO" edited
h_serves_meanwhile "$H_T/during.json" "$S_SOCK"
h_json_is "$H_T/during.json" 'r["verdict"]' denied "  still denied: the live socket is changed only after the test"
h_unlike "$(getfacl -p "$S_SOCK" 2> /dev/null)" "user:$S_WEB_USER" "  the socket has no ACL entry for the web user"
h_fix "$H_T/second.json" "$S_SOCK" auto
h_is "$(h_error_of "$H_T/second.json")" org.sockfix.SockFix1.Error.Busy "a second Fix of the socket: Busy"
h_ok "the first Fix still waits" h_alive "$fix_client"

feed "sockfix_rejected_directive = yes"
h_async_answered "$fix_client" "the Fix"
h_json_is "$H_T/fix.json" 'r.get("outcome")' rolled-back "php-fpm -t rejected the edited file: Fix rolled-back"
h_json_ok "$H_T/fix.json" "'the edited pool file is rejected: php-fpm -t -y' in r.get('reason', '')" \
        "  its reason says why ($(h_json "$H_T/fix.json" 'r.get("reason", "")' | head -c 160))"
h_ok "the pool file is back, byte for byte" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_unlike "$(getfacl -p "$S_SOCK" 2> /dev/null)" "user:$S_WEB_USER" "the socket was never changed"
h_is "$(h_http_status "$S_URL")" 502 "HTTP still 502"
h_is "$S_FPM_PID" "$fpm_master" "php-fpm's master still runs"
h_ok "  and is alive" h_alive "$fpm_master"

h_fix_async "$H_T/fix2.json" "$S_SOCK" pool-acl
fix_client=$H_LAST_PID
# each test in turn: a reader that has not closed the FIFO yet would take the next line too
for i in 1 2; do
        h_wait_for 100 testing
        feed "; sockfix test"
        h_wait_for 100 not_testing
done
h_async_answered "$fix_client" "the second Fix"
h_json_is "$H_T/fix2.json" '(r.get("outcome"), r.get("strategy"), r.get("verified"))' '["applied", "pool-acl", true]' \
        "a Fix whose tests pass: pool-acl applied, verified"
h_is "$(h_http_status "$S_URL")" 200 "HTTP 200"
h_done
