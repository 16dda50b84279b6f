#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The seed case with nginx in a mount namespace of its own (as in a container that
# shares the host's /run): what sockfixd sees at /usr/sbin/nginx and /etc may not be what
# that master runs, so nginx -t could not test its configuration before a reload.
# Diagnose still answers for its workers (EACCES); Fix member, which needs a reload, is
# refused with StrategyUnavailable and changes nothing; Fix auto grants the workers by
# pool-acl, which needs none: HTTP 200, the same workers.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-namespace

stack_use_web_user "sfx-ns-$$"
stack_up --owner www-data --group www-data --mode 0660 --no-nginx
stack_write_nginx
h_spawn "nginx in a mount namespace" "$H_T/nginx/stdout.log" unshare --mount --propagation private \
        nginx -c "$S_NGINX_CONF" -p "$H_T/nginx/" -g 'daemon off;'
h_wait_for 100 h_port_listening "$S_PORT" || h_die "nginx did not start"
# unshare execs nginx: the pid is the master's.
S_NGINX_PID=$H_LAST_PID
h_wait_for 50 stack_has_children "$S_NGINX_PID" || h_die "nginx started no worker"
workers=$(stack_worker_pids | paste -sd' ' -)
h_isnt "$(readlink "/proc/$S_NGINX_PID/ns/mnt")" "$(readlink /proc/self/ns/mnt)" "nginx runs in a mount namespace of its own"
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
h_sockfix_up

stack_diagnose report "$S_SOCK"
h_json_is "$H_T/report.json" '(r["verdict"], [(c["server"], c["user"], c["errno"]) for c in r["consumers"]])' \
        "[\"denied\", [[\"nginx\", \"$S_WEB_USER\", 13]]]" "Diagnose: denied, nginx's workers EACCES"

stack_snapshot before
h_fix "$H_T/member.json" "$S_SOCK" member
h_json_ok "$H_T/member.json" 'r.get("error", "").endswith("StrategyUnavailable") and "mount namespace of its own" in r["message"] and "activation none" in r["message"]' \
        "Fix member: StrategyUnavailable (nginx -t could not test what that master runs), naming activation none"
stack_snapshot after
h_assert_unchanged before after "  nothing changed, no nginx reloaded"
h_ok "  $S_WEB_USER not added to www-data" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx www-data"

h_fix "$H_T/fix.json" "$S_SOCK" auto
h_json_is "$H_T/fix.json" '(r.get("outcome"), r.get("strategy"), r.get("verified"))' '["applied", "pool-acl", true]' \
        "Fix(auto): pool-acl (no reload needed), applied and verified"
h_is "$(h_http_status "$S_URL")" 200 "HTTP 200"
h_is "$(stack_worker_pids | paste -sd' ' -)" "$workers" "  from the same workers"
h_done
