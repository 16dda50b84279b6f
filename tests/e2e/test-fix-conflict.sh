#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A pool file edited by someone else after a fix (issue 3: "Revert undoes only its own
# keys, and answers Conflict where those keys changed"):
# 1. an admin adds an unrelated key after Fix(pool-acl): Revert answers reverted, takes
#    out only the fix's keys (listen.acl_*) and keeps the admin's line; the live socket
#    loses the fix's ACL entry.
# 2. an admin changes one of the fix's keys after another Fix(pool-acl): Revert answers
#    org.sockfix.SockFix1.Error.Conflict naming the key, and changes nothing: the pool
#    file and the live socket stay as they were; the transaction stays open (applied).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-conflict

stack_use_web_user "sfx-conflict-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
cp -a "$S_POOL_CONF" "$H_T/pool.orig"
has_entry() { getfacl -p "$S_SOCK" 2> /dev/null | grep -q "^user:$S_WEB_USER:rw"; }

# --- 1. an unrelated edit since the fix
h_fix "$H_T/fix1.json" "$S_SOCK" pool-acl
h_is "$(h_answer_of "$H_T/fix1.json")" applied "Fix(pool-acl): applied"
tx1=$(h_json "$H_T/fix1.json" 'r.get("transaction", "")')
h_ok "the live socket names the web user" has_entry
echo "pm.max_requests = 500 ; added by the admin" >> "$S_POOL_CONF"
h_revert "$H_T/revert1.json" "$tx1"
h_is "$(h_answer_of "$H_T/revert1.json")" reverted "Revert after an unrelated edit: reverted"
h_ok "the admin's line is kept" grep -qx "pm.max_requests = 500 ; added by the admin" "$S_POOL_CONF"
h_ok "the fix's keys are gone" bash -c "! grep -q '^listen.acl_' '$S_POOL_CONF'"
expected=$H_T/pool.expected
{ cat "$H_T/pool.orig"; echo "pm.max_requests = 500 ; added by the admin"; } > "$expected"
h_ok "the pool file is the original plus the admin's line, byte for byte" cmp "$S_POOL_CONF" "$expected"
h_ok "the live socket lost the fix's ACL entry" bash -c "! getfacl -p '$S_SOCK' 2>/dev/null | grep -q '^user:$S_WEB_USER:'"
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 again"

# --- 2. one of the fix's own keys changed since
h_fix "$H_T/fix2.json" "$S_SOCK" pool-acl
h_is "$(h_answer_of "$H_T/fix2.json")" applied "a second Fix(pool-acl): applied"
tx2=$(h_json "$H_T/fix2.json" 'r.get("transaction", "")')
sed -i 's/^listen.acl_users = .*/listen.acl_users = www-data/' "$S_POOL_CONF"
cp -a "$S_POOL_CONF" "$H_T/pool.edited"
acl_before=$(getfacl -cp "$S_SOCK" 2> /dev/null)
h_revert "$H_T/revert2.json" "$tx2"
h_is "$(h_answer_of "$H_T/revert2.json")" org.sockfix.SockFix1.Error.Conflict "Revert after the fix's key changed: Conflict"
h_json_ok "$H_T/revert2.json" "'listen.acl_users' in r.get('message', '')" "the Conflict names the key"
h_ok "the pool file is untouched by the refused Revert" cmp "$S_POOL_CONF" "$H_T/pool.edited"
h_is "$(getfacl -cp "$S_SOCK" 2> /dev/null)" "$acl_before" "the live socket is untouched by the refused Revert"
h_call "$H_T/tx.json" ListTransactions '{}'
h_json_is "$H_T/tx.json" "[t['outcome'] for t in r if t['transaction'] == '$tx2']" '["applied"]' \
        "the transaction stays applied (nothing was undone)"
stack_assert_not_other_writable "after the refused Revert"
h_done
