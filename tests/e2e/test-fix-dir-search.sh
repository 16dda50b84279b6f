#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fix dir-search: the pool's socket sits in a 0700 root-owned directory; the socket itself
# would let the web user in (group = the web user's primary group, 0660), so only the
# directory blocks: dir-no-search. Fix(auto) over python3-dbus picks dir-search alone,
# applies, HTTP 200; getfacl of the directory shows u:WEBUSER:--x, its other bits stay as
# they were, the socket and pool file are untouched. `sockfixctl --json revert` puts the
# directory's ACL back exactly (getfacl before == after) and the 502 comes back.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-dir-search

stack_use_web_user "sfx-dir-$$"
stack_ensure_web_user
web_group=$(id -gn "$S_WEB_USER")
stack_up --owner www-data --group "$web_group" --mode 0660 --sock-dir private --sock-dir-mode 0700
h_sockfix_up
h_is "$(stat -c '%U:%G %a' "$S_SOCK_DIR")" "root:root 700" "the socket's directory is root:root 0700"
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502: the directory blocks the web user"
stack_assert_not_other_writable "before the fix"

stack_diagnose before "$S_SOCK"
h_json_ok "$H_T/before.json" "any(x.get('code') == 'dir-no-search' and x.get('path') == '$S_SOCK_DIR' for x in r.get('findings', []))" \
        "Diagnose: dir-no-search on $S_SOCK_DIR"
h_json_is "$H_T/before.json" "sorted(set(x['code'] for x in r.get('findings', []) if x.get('severity') == 'error'))" \
        '["dir-no-search"]' "Diagnose: only the directory blocks"

dir_acl() { getfacl -p --absolute-names "$S_SOCK_DIR" 2>/dev/null | grep -v '^# file'; }
other_bits() { echo $(( 8#$(stat -c %a "$S_SOCK_DIR") & 7 )); }
dir_acl > "$H_T/dir-acl.before"
other_before=$(other_bits)
cp -a "$S_POOL_CONF" "$H_T/pool.orig"
h_perm_state "$S_SOCK" > "$H_T/sock.before"

h_fix "$H_T/fix.json" "$S_SOCK" auto
h_is "$(h_answer_of "$H_T/fix.json")" applied "Fix(auto): outcome applied"
h_json_is "$H_T/fix.json" 'r.get("strategy")' dir-search "Fix(auto): strategy dir-search (the socket needs nothing)"
h_json_is "$H_T/fix.json" 'r.get("verified")' true "Fix(auto): verified true"
h_json_ok "$H_T/fix.json" "all(c.get('target') == '$S_SOCK_DIR' for c in r.get('changes', [])) and len(r.get('changes', [])) >= 1" \
        "Fix(auto): every change targets the blocking directory"
tx=$(h_json "$H_T/fix.json" 'r.get("transaction", "")')
h_is "$(h_http_status "$S_URL")" 200 "after the fix: HTTP 200"
h_like "$(dir_acl)" "(^|$(printf '\n'))user:$S_WEB_USER:--x($|$(printf '\n'))" "getfacl of the directory shows user:$S_WEB_USER:--x"
h_is "$(dir_acl | grep '^other::')" "$(grep '^other::' "$H_T/dir-acl.before")" "the directory's other:: entry unchanged"
h_is "$(other_bits)" "$other_before" "the directory's mode bits for others unchanged"
h_is "$(stat -c %U:%G "$S_SOCK_DIR")" root:root "the directory's owner unchanged"
h_is "$(dir_acl | grep -c '^user:[^:]')" 1 "exactly one named user entry on the directory"
h_is "$(dir_acl | grep -c '^default:')" 0 "no default ACL on the directory"
h_ok "the pool file unchanged" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_perm_state "$S_SOCK" > "$H_T/sock.after"
h_ok "the socket unchanged (mode, owner, ACL, ctime)" cmp "$H_T/sock.before" "$H_T/sock.after"
stack_assert_not_other_writable "after the fix"

h_ctl --json revert "$tx" > "$H_T/revert.json" 2> "$H_T/revert.err"
h_is "$?" 0 "sockfixctl --json revert: exit 0"
h_is "$(h_answer_of "$H_T/revert.json")" reverted "Revert: outcome reverted"
dir_acl > "$H_T/dir-acl.after"
if diff -u "$H_T/dir-acl.before" "$H_T/dir-acl.after" > "$H_T/dir-acl.diff"; then
        h_pass "the directory's ACL is exactly as before (getfacl)"
else
        h_fail "the directory's ACL is exactly as before (getfacl)"; sed 's/^/#   /' "$H_T/dir-acl.diff"
fi
h_is "$(stat -c '%U:%G %a' "$S_SOCK_DIR")" "root:root 700" "the directory is root:root 0700 again"
h_is "$(h_http_status "$S_URL")" 502 "after the revert: HTTP 502 again"
h_done
