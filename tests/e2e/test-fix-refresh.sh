#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fix refresh: the textbook fix half done with a web user of the test's own: `gpasswd -a`
# into www-data, nginx not reloaded (stale-credentials): HTTP 502. Fix(auto) through
# `sockfixctl --json` picks refresh, reports the reload in activations, and changes no
# file: same nginx master, fresh workers whose /proc Groups: hold www-data's gid, HTTP 200.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-refresh

stack_use_web_user "sfx-ref-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
www_gid=$(getent group www-data | cut -d: -f3)
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"

gpasswd -a "$S_WEB_USER" www-data > /dev/null || h_die "gpasswd -a $S_WEB_USER www-data"
h_at_exit "gpasswd -d '$S_WEB_USER' www-data > /dev/null 2>&1; true"
h_is "$(h_http_status "$S_URL")" 502 "after gpasswd -a, before any reload: still HTTP 502"
stack_diagnose stale "$S_SOCK"
h_json_ok "$H_T/stale.json" "any(x.get('code') == 'stale-credentials' and x.get('consumer') == '$S_WEB_USER' for x in r.get('findings', []))" \
        "Diagnose: stale-credentials for $S_WEB_USER"
master=$S_NGINX_PID
workers_before=$(stack_worker_pids | paste -sd' ' -)
cp -a "$S_POOL_CONF" "$H_T/pool.orig"
h_perm_state "$S_SOCK" > "$H_T/sock.before"
cp /etc/group "$H_T/group.before"

h_ctl --json fix "$S_SOCK" > "$H_T/fix.json" 2> "$H_T/fix.err"
h_is "$?" 0 "sockfixctl --json fix: exit 0"
h_is "$(h_answer_of "$H_T/fix.json")" applied "Fix(auto): outcome applied"
h_json_is "$H_T/fix.json" 'r.get("strategy")' refresh "Fix(auto): strategy refresh"
h_json_is "$H_T/fix.json" 'r.get("verified")' true "Fix(auto): verified true"
h_json_ok "$H_T/fix.json" 'len(r.get("activations", [])) >= 1' "Fix(auto): activations show the reload"
h_json_ok "$H_T/fix.json" 'all(c.get("kind") not in ("socket-acl", "socket-mode", "socket-group", "pool-config", "group-member", "dir-acl") for c in r.get("changes", []))' \
        "Fix(auto): no permission or config change in the result"

h_is "$(h_http_status "$S_URL")" 200 "after the fix: HTTP 200"
h_is "$S_NGINX_PID" "$master" "the nginx master pid is unchanged"
workers_after=$(stack_worker_pids | paste -sd' ' -)
no_common() { [[ -n $2 ]] && ! comm -12 <(tr ' ' '\n' <<< "$1" | sort) <(tr ' ' '\n' <<< "$2" | sort) | grep -q .; }
h_ok "nginx runs fresh workers ($workers_before -> $workers_after)" no_common "$workers_before" "$workers_after"
h_ok "every fresh worker holds www-data's gid $www_gid in /proc Groups:" stack_workers_hold_gid "$www_gid"
h_ok "the pool file unchanged" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_perm_state "$S_SOCK" > "$H_T/sock.after"
h_ok "the socket unchanged (mode, owner, ACL, ctime)" cmp "$H_T/sock.before" "$H_T/sock.after"
stack_assert_not_other_writable "after the fix"
h_ok "/etc/group unchanged by the refresh" bash -c "diff <(grep '^www-data:' '$H_T/group.before') <(grep '^www-data:' /etc/group)"
h_done
