#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (i) nginx points at php8.1-fpm.sock, the pool listens on php8.2-fpm.sock (a PHP upgrade
# left the config behind) -> 502 with (2: No such file or directory); verdict missing,
# finding socket-missing, and `candidates` names the real socket.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-socket-missing

stack_ensure_web_user
stack_up --acl-users nginx,www-data --nginx-sock "$H_T/run/php8.1-fpm.sock"
h_sockfix_up
h_ok "nothing at nginx's path" test ! -e "$S_NGINX_SOCK"
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502"
h_file_like "$S_NGINX_ERRLOG" 'connect\(\) to unix:.*php8\.1-fpm\.sock failed \(2: No such file or directory\)' \
        "nginx logged (2: No such file or directory)"

stack_snapshot before
stack_diagnose report "$S_NGINX_SOCK"
r=$H_T/report.json
h_json_is "$r" 'r["socket"]' "$S_NGINX_SOCK" "report socket as asked"
h_json_is "$r" 'r["verdict"]' missing "verdict missing"
stack_assert_finding "$r" socket-missing error
h_json_ok "$r" "'$S_SOCK' in r.get('candidates', [])" "candidates include the pool's real socket"
h_json_ok "$r" "'$S_NGINX_SOCK' not in r.get('candidates', [])" "candidates do not include the missing path"
h_json_ok "$r" "any(c.get('user') == 'nginx' for c in r.get('consumers', []))" "nginx is a consumer (its config names the path)"
stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing"

# The list is the kernel's at the call, not the kept model's: a socket that starts
# listening after the model was built is named, and one that stopped is not.
newer=$H_T/run/php8.3-fpm.sock
h_spawn "listener on $newer" "$H_T/newer.out" "$H_PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
print("listening", flush=True)
time.sleep(60)' "$newer"
newer_pid=$H_LAST_PID
listening() { grep -q listening "$H_T/newer.out"; }
h_ok "a listener on php8.3-fpm.sock started after the model was built" h_wait_for 50 listening
stack_diagnose report-newer "$S_NGINX_SOCK"
h_json_ok "$H_T/report-newer.json" "'$newer' in r.get('candidates', [])" "candidates name the new listener"
h_stop "$newer_pid"
stack_diagnose report-gone "$S_NGINX_SOCK"
h_json_ok "$H_T/report-gone.json" "'$newer' not in r.get('candidates', [])" "and not once it stopped listening (the file stays)"
h_json_ok "$H_T/report-gone.json" "'$S_SOCK' in r.get('candidates', [])" "  the pool's socket is still named"
h_done
