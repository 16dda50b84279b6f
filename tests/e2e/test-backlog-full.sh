#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (j) The listen queue is full: verdict overloaded, finding backlog-full.
#
# Made deterministic without timing: the pool is pm=static with one child and
# listen.backlog = 1; SIGSTOP of the php-fpm master and its child means nothing accepts,
# then a /usr/bin/python3 helper fills the queue with non-blocking raw connects until
# the kernel answers EAGAIN, and holds them open. While it holds them, nginx's connect
# gets EAGAIN too (502, "(11: Resource temporarily unavailable)" at [error]), and so
# does sockfixd's probe. Then the helper exits and SIGCONT lets the pool drain: 200.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-backlog-full

stack_ensure_web_user
stack_up --acl-users nginx,www-data --pm static --backlog 1
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 200 "HTTP 200 before the queue fills"

fpm_procs="$S_FPM_PID $(stack_children "$S_FPM_PID" | tr '\n' ' ')"
h_at_exit "kill -CONT $fpm_procs 2>/dev/null; true"
# shellcheck disable=SC2086
kill -STOP $fpm_procs
h_spawn queue-filler "$H_T/filler.log" "$H_PY" -c '
import signal, socket, sys
path, out = sys.argv[1], sys.argv[2]
held = []
while len(held) < 4096:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect(path)
    except BlockingIOError:  # EAGAIN: the listen queue is full
        s.close()
        break
    held.append(s)
with open(out + ".tmp", "w") as f:
    f.write(str(len(held)))
import os; os.rename(out + ".tmp", out)
signal.pause()
' "$S_SOCK" "$H_T/filler.count"
filler=$H_LAST_PID
h_wait_for 50 test -s "$H_T/filler.count"
h_like "$(cat "$H_T/filler.count" 2>/dev/null)" '^[1-9][0-9]*$' "the queue filled after $(cat "$H_T/filler.count" 2>/dev/null) connects"
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 while the queue is full"
h_file_like "$S_NGINX_ERRLOG" 'connect\(\) to unix:.* failed \(11: Resource temporarily unavailable\)' \
        "nginx logged (11: Resource temporarily unavailable)"

stack_snapshot before
stack_diagnose report "$S_SOCK"
r=$H_T/report.json
h_json_is "$r" 'r["verdict"]' overloaded "verdict overloaded"
stack_assert_finding "$r" backlog-full error
h_json_is "$r" "sorted(set(x['code'] for x in r.get('findings', []) if x.get('severity') == 'error'))" \
        '["backlog-full"]' "backlog-full is the only error finding"
h_json_is "$r" "[c.get('errno') for c in r['consumers'] if c.get('user') == 'nginx']" "[11]" "nginx errno 11"
stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing"

h_stop "$filler"
# shellcheck disable=SC2086
kill -CONT $fpm_procs
h_is "$(h_http_status "$S_URL")" 200 "HTTP 200 once the pool runs again"
h_done
