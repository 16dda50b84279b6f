#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What Fix must not change, on a real stack (web user of the test's own):
#  (a) dry runs (python3-dbus, every applicable strategy) return the plan and change
#      nothing: no file, no membership, no reload;
#  (b) a dead listener (php-fpm SIGKILLed, the socket file left): outcome not-permissions,
#      no permission change;
#  (c) a pool with listen.group = adm (a privileged group): Fix(member) -> RefusedGroup and
#      nobody is added to adm; Fix(auto) still fixes it another way (pool-acl) -> HTTP 200;
#  (d) a regular file, a symlink to a root-only file, and a symlink (referenced by a second
#      nginx's fastcgi_pass) to another service's root-only socket that is not FastCGI:
#      every strategy answers NotASocket / UnknownSocket and the targets stay unchanged.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-refusals

stack_use_web_user "sfx-rfs-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
in_group() { id -nG "$1" | tr ' ' '\n' | grep -qx "$2"; }
h_at_exit "gpasswd -d '$S_WEB_USER' www-data > /dev/null 2>&1; gpasswd -d '$S_WEB_USER' adm > /dev/null 2>&1; true"

# --- (a) dry runs
stack_snapshot before-dry
for strategy in auto pool-acl pool-group member; do
        h_fix "$H_T/dry-$strategy.json" "$S_SOCK" "$strategy" '{"dry_run": true}'
        h_is "$(h_answer_of "$H_T/dry-$strategy.json")" planned "dry run $strategy: outcome planned"
        h_json_ok "$H_T/dry-$strategy.json" 'len(r.get("changes", [])) > 0 and r.get("transaction", "") == ""' \
                "dry run $strategy: the plan lists changes, no transaction"
        h_json_is "$H_T/dry-$strategy.json" 'r.get("verified", False)' false "dry run $strategy: not verified"
done
h_json_ok "$H_T/dry-member.json" 'len(r.get("activations", [])) >= 1' "dry run member: the plan lists nginx's reload"
h_json_ok "$H_T/dry-member.json" "any(c.get('kind') == 'group-member' for c in r['changes'])" "dry run member: the plan lists the membership"
h_json_ok "$H_T/dry-auto.json" "r.get('strategy') == 'pool-acl' and any(c.get('kind') == 'pool-config' for c in r['changes'])" \
        "dry run auto: the plan is pool-acl with the pool file edit"
stack_snapshot after-dry
h_assert_unchanged before-dry after-dry "the dry runs changed nothing (socket, pool, nginx config, group db, processes)"
h_ok "the web user is not in www-data" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx www-data"
h_is "$(h_http_status "$S_URL")" 502 "after the dry runs: still HTTP 502"
h_call "$H_T/tx-dry.json" ListTransactions '{}'
h_json_is "$H_T/tx-dry.json" 'len(r)' 0 "the dry runs left no transaction"

# --- (b) a dead listener
stack_kill9_fpm 2> /dev/null
h_forget_pid "$S_FPM_PID"
h_ok "the socket file is left behind" test -S "$S_SOCK"
stack_snapshot before-dead
stack_diagnose dead-report "$S_SOCK"
h_json_is "$H_T/dead-report.json" 'r.get("verdict")' refused "Diagnose of the dead listener: verdict refused (listener-down)"
h_fix "$H_T/dead.json" "$S_SOCK" auto
h_is "$(h_answer_of "$H_T/dead.json")" not-permissions "dead listener, Fix(auto): outcome not-permissions"
h_json_ok "$H_T/dead.json" 'len(r.get("reason", "")) > 0 and r.get("transaction", "") == "" and not r.get("changes")' \
        "dead listener: a reason, no transaction, no changes"
h_fix "$H_T/dead-acl.json" "$S_SOCK" pool-acl
h_is "$(h_answer_of "$H_T/dead-acl.json")" not-permissions "dead listener, Fix(pool-acl): outcome not-permissions"
h_ctl --json fix --strategy=member "$S_SOCK" > "$H_T/dead-member.json" 2> "$H_T/dead-member.err"
h_is "$?" 2 "dead listener, sockfixctl fix --strategy=member: exit 2 (not-permissions)"
h_is "$(h_answer_of "$H_T/dead-member.json")" not-permissions \
        "dead listener, sockfixctl --json fix --strategy=member: outcome not-permissions ($(head -c 300 "$H_T/dead-member.err"))"
stack_snapshot after-dead
h_assert_unchanged before-dead after-dead "the dead listener got no permission change"
h_ok "the web user is not in www-data" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx www-data"

# --- (c) a privileged group: listen.group = adm
stack_restart_fpm --owner www-data --group adm --mode 0660
h_is "$(stat -c '%U:%G %a' "$S_SOCK")" "www-data:adm 660" "the pool's socket is www-data:adm 0660"
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 with the adm socket"
getent group adm > "$H_T/adm.before"
stack_snapshot before-adm
h_fix "$H_T/adm-member.json" "$S_SOCK" member
h_is "$(h_answer_of "$H_T/adm-member.json")" org.sockfix.SockFix1.Error.RefusedGroup "Fix(member) into adm: RefusedGroup"
h_like "$(h_json "$H_T/adm-member.json" 'r.get("message", "")')" "adm" "the RefusedGroup message names the group"
h_fix "$H_T/adm-member-dry.json" "$S_SOCK" member '{"dry_run": true}'
h_is "$(h_answer_of "$H_T/adm-member-dry.json")" org.sockfix.SockFix1.Error.RefusedGroup "Fix(member, dry_run) into adm: RefusedGroup"
h_is "$(getent group adm)" "$(cat "$H_T/adm.before")" "getent group adm unchanged"
h_ok "the web user is not in adm" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx adm"
stack_snapshot after-adm
h_assert_unchanged before-adm after-adm "the refused member fix changed nothing"
h_fix "$H_T/adm-auto.json" "$S_SOCK" auto
h_is "$(h_answer_of "$H_T/adm-auto.json")" applied "Fix(auto) on the adm socket: applied"
h_json_is "$H_T/adm-auto.json" 'r.get("strategy")' pool-acl "Fix(auto) on the adm socket: strategy pool-acl"
h_is "$(h_http_status "$S_URL")" 200 "Fix(auto) on the adm socket: HTTP 200"
h_is "$(getent group adm)" "$(cat "$H_T/adm.before")" "getent group adm still unchanged"
stack_assert_not_other_writable "after the adm fix"
adm_tx=$(h_json "$H_T/adm-auto.json" 'r.get("transaction", "")')
h_revert "$H_T/adm-revert.json" "$adm_tx"
h_is "$(h_answer_of "$H_T/adm-revert.json")" reverted "the adm fix reverted"

# --- (d) not the pool's socket
strategies="auto pool-acl pool-group member dir-search refresh"
echo "regular data" > "$S_SOCK_DIR/regular.sock"
echo "root only secret" > "$H_T/root-only" && chmod 0600 "$H_T/root-only"
ln -s "$H_T/root-only" "$S_SOCK_DIR/root-only.sock"
# Another service's socket: a root-only unix stream listener that is not FastCGI.
mkdir -m 0755 "$H_T/other"
cat > "$H_T/other/listener.py" << 'PY'
import os, socket, sys
os.umask(0o177)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.close()
PY
h_spawn other-service "$H_T/other/log" "$H_PY" -u "$H_T/other/listener.py" "$H_T/other/service.sock"
h_wait_for 50 grep -q ready "$H_T/other/log" || h_die "the other service did not start"
ln -s "$H_T/other/service.sock" "$S_SOCK_DIR/other.sock"
stack_extra_nginx other-site "$S_WEB_USER" "$S_SOCK_DIR/other.sock"
h_is "$(stat -c '%U:%G %a' "$H_T/other/service.sock")" "root:root 600" "the other service's socket is root:root 0600"

state_all() {
        local p
        for p in "$S_SOCK_DIR/regular.sock" "$S_SOCK_DIR/root-only.sock" "$H_T/root-only" \
                "$S_SOCK_DIR/other.sock" "$H_T/other/service.sock" "$H_T/other" "$S_SOCK_DIR"; do
                h_perm_state "$p"
        done
        getent group www-data adm "$(id -gn "$S_WEB_USER")" | cut -d: -f1,3,4
}
cp -a "$S_POOL_CONF" "$H_T/pool.d"
state_all > "$H_T/targets.before"
workers=$(stack_worker_pids | paste -sd' ' -) xworkers=$(stack_children "$X_NGINX_PID" | paste -sd' ' -)
for strategy in $strategies; do
        h_fix "$H_T/regular-$strategy.json" "$S_SOCK_DIR/regular.sock" "$strategy"
        h_is "$(h_answer_of "$H_T/regular-$strategy.json")" org.sockfix.SockFix1.Error.NotASocket \
                "a regular file, $strategy: NotASocket"
        h_fix "$H_T/rootonly-$strategy.json" "$S_SOCK_DIR/root-only.sock" "$strategy"
        h_is "$(h_answer_of "$H_T/rootonly-$strategy.json")" org.sockfix.SockFix1.Error.NotASocket \
                "a symlink to a root-only file, $strategy: NotASocket"
        h_fix "$H_T/other-$strategy.json" "$S_SOCK_DIR/other.sock" "$strategy"
        h_is "$(h_answer_of "$H_T/other-$strategy.json")" org.sockfix.SockFix1.Error.UnknownSocket \
                "a symlink to another service's socket, $strategy: UnknownSocket"
        h_fix "$H_T/otherdirect-$strategy.json" "$H_T/other/service.sock" "$strategy"
        h_is "$(h_answer_of "$H_T/otherdirect-$strategy.json")" org.sockfix.SockFix1.Error.UnknownSocket \
                "another service's socket by its own path, $strategy: UnknownSocket"
done
busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Fix 'ssa{sv}' "$S_SOCK_DIR/other.sock" auto 0 > "$H_T/other-busctl.txt" 2>&1
h_like "$(cat "$H_T/other-busctl.txt")" "other\.sock|service\.sock" "busctl Fix on the other service: the error names the path"
state_all > "$H_T/targets.after"
if diff -u "$H_T/targets.before" "$H_T/targets.after" > "$H_T/targets.diff"; then
        h_pass "every target unchanged (type, mode, owner, ACL, ctime, content), and no membership added"
else
        h_fail "every target unchanged (type, mode, owner, ACL, ctime, content), and no membership added"
        sed 's/^/#   /' "$H_T/targets.diff"
fi
h_ok "the pool file unchanged by the refusals" cmp "$S_POOL_CONF" "$H_T/pool.d"
h_is "$(stack_worker_pids | paste -sd' ' -)/$(stack_children "$X_NGINX_PID" | paste -sd' ' -)" "$workers/$xworkers" \
        "no nginx was reloaded by the refusals"
h_call "$H_T/tx.json" ListTransactions '{}'
h_json_ok "$H_T/tx.json" "all(t['socket'] == '$S_SOCK' for t in r)" "no transaction names a refused path"
h_ok "sockfixd still owns its name" h_has_name "$H_BUS_NAME"
h_done
