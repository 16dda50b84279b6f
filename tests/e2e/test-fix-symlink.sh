#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Debian's /run/php/php-fpm.sock: the pool listens on REAL (php8.2-fpm.sock) and nginx's
# fastcgi_pass names a symlink LINK (php-fpm.sock -> REAL). Seed case otherwise, with a
# web user of the test's own:
#  - Diagnose LINK: socket LINK, resolved REAL, verdict denied, consumer nginx (the web
#    user), listener our php-fpm pool;
#  - Fix(auto, LINK): applied, verified; its changes target REAL (never LINK); the symlink
#    itself untouched (lstat: still a symlink, same target, inode, owner, mode, ctime);
#    HTTP 200; Revert: reverted, pool file byte-identical, REAL's ACL entry gone, HTTP 502,
#    the symlink still untouched;
#  - a symlink to a root-only regular file of the test's own: Fix with every strategy
#    answers NotASocket and the file (and the symlink) stay unchanged.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-symlink

stack_use_web_user "sfx-sym-$$"
stack_up --owner www-data --group www-data --mode 0660 --nginx-sock "$H_T/run/php-fpm.sock"
REAL=$S_SOCK LINK=$S_NGINX_SOCK
ln -s "$REAL" "$LINK"
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "the seed case through the symlink: HTTP 502"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"

# link_state: the symlink itself (lstat) and where it points.
link_state() { stat -c '%F %a %u:%g inode=%i ctime=%z' "$LINK"; readlink "$LINK"; }
link_state > "$H_T/link.before"
h_is "$(head -n 1 "$H_T/link.before" | cut -d' ' -f1-2)" "symbolic link" "LINK is a symlink"

# --- Diagnose LINK
stack_diagnose diag "$LINK"
f=$H_T/diag.json
h_json_is "$f" 'r["socket"]' "$LINK" "Diagnose: socket as asked (the symlink)"
h_json_is "$f" 'r["resolved"]' "$REAL" "Diagnose: resolved is the pool's real socket"
h_json_is "$f" 'r["verdict"]' denied "Diagnose: verdict denied"
h_json_is "$f" '[r["owner"], r["group"], r["mode"]]' '["www-data", "www-data", 432]' \
        "Diagnose: owner, group, mode are the real socket's (www-data:www-data 0660)"
h_json_is "$f" "[(c['server'], c['can_connect']) for c in r['consumers'] if c.get('user') == '$S_WEB_USER']" \
        '[["nginx", false]]' "Diagnose: consumer nginx ($S_WEB_USER), cannot connect"
h_json_is "$f" 'r["listener"]["config"]' "$S_POOL_CONF" "Diagnose: the listener is our pool"

# --- Fix(auto, LINK)
h_fix "$H_T/fix.json" "$LINK" auto
h_is "$(h_answer_of "$H_T/fix.json")" applied "Fix(auto, LINK): outcome applied"
h_json_is "$H_T/fix.json" 'r.get("verified")' true "Fix(auto, LINK): verified"
h_json_is "$H_T/fix.json" 'r.get("verdict_after")' ok "Fix(auto, LINK): verdict_after ok"
tx=$(h_json "$H_T/fix.json" 'r.get("transaction", "")' 2> /dev/null)
h_like "$tx" '^[0-9a-f]{32}$' "Fix(auto, LINK): a transaction id"
h_json_ok "$H_T/fix.json" "any(c['kind'].startswith('socket-') and c['target'] == '$REAL' for c in r.get('changes', []))" \
        "Fix: a socket change targets the resolved $REAL"
h_json_ok "$H_T/fix.json" "all(c['kind'] == 'pool-config' or c['target'] == '$REAL' for c in r.get('changes', []))" \
        "Fix: every change is the pool file's or the real socket's"
h_json_ok "$H_T/fix.json" "not any('$LINK' in c.get('target', '') for c in r.get('changes', []))" \
        "Fix: no change targets the symlink"
link_state > "$H_T/link.fixed"
h_ok "the symlink is untouched (lstat, target)" diff -u "$H_T/link.before" "$H_T/link.fixed"
h_like "$(getfacl -p "$REAL" 2> /dev/null)" "user:$S_WEB_USER:rw" "the real socket's ACL names the web user"
h_is "$(h_http_status "$S_URL")" 200 "after the fix: HTTP 200 through the symlink"
stack_assert_not_other_writable "after the fix"

h_revert "$H_T/revert.json" "$tx"
h_is "$(h_answer_of "$H_T/revert.json")" reverted "Revert: reverted"
h_ok "the pool file is byte-identical to before the fix" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_ok "the real socket's ACL entry for the web user is gone" bash -c "! getfacl -p '$REAL' 2> /dev/null | grep -q '^user:$S_WEB_USER:'"
h_is "$(stat -c '%U:%G %a' "$REAL")" "www-data:www-data 660" "the real socket: www-data:www-data 0660 again"
h_is "$(h_http_status "$S_URL")" 502 "after the revert: HTTP 502 again"
link_state > "$H_T/link.reverted"
h_ok "the symlink is still untouched after the revert" diff -u "$H_T/link.before" "$H_T/link.reverted"

# --- a symlink to a root-only regular file
secret=$H_T/secret.conf bad=$S_SOCK_DIR/secret.sock
echo 'root only' > "$secret"
chmod 0600 "$secret"
ln -s "$secret" "$bad"
h_perm_state "$bad" > "$H_T/secret.before"
for strategy in auto pool-acl pool-group member dir-search refresh; do
        h_fix "$H_T/bad-$strategy.json" "$bad" "$strategy"
        h_is "$(h_answer_of "$H_T/bad-$strategy.json")" org.sockfix.SockFix1.Error.NotASocket \
                "Fix($strategy) on a symlink to a root-only file: NotASocket"
done
h_json_ok "$H_T/bad-auto.json" "'$bad' in r.get('message', '')" "the NotASocket message names the path"
h_perm_state "$bad" > "$H_T/secret.after"
h_ok "the file and its symlink are unchanged (mode, owner, ACL, ctime, content)" \
        diff -u "$H_T/secret.before" "$H_T/secret.after"
h_call "$H_T/tx.json" ListTransactions '{}'
h_json_is "$H_T/tx.json" '[t["transaction"] for t in r]' "[\"$tx\"]" "the refused Fixes recorded no transaction"
h_ok "sockfixd still owns its name" h_has_name "$H_BUS_NAME"
h_done
