#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A Revert whose socket sits on a file system that stopped answering (here a FUSE mount
# whose daemon never replies, mounted over the socket's directory after the fix, as a
# hung NFS server leaves every lookup there):
#   the Revert answers within seconds, outcome failed, its reason naming the change left
#     and why; what it could undo (the pool file) is undone; the record says incomplete;
#   sockfixd keeps answering (Ping) and nothing of the socket's ACL was touched;
#   once the file system is gone, a second Revert finishes: the live socket's ACL entry
#     is removed and the record says reverted.
# Without the bound, the Revert never returns and sockfixd answers nobody.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-revert-hung

[[ -c /dev/fuse ]] || { echo "1..0 # SKIP no /dev/fuse"; exit 77; }

stack_use_web_user "sfx-rh-$$"
stack_up --owner www-data --group www-data --mode 0660 --sock-dir run/sock
h_sockfix_up
cp -a "$S_POOL_CONF" "$H_T/pool.orig"

h_fix "$H_T/fix.json" "$S_SOCK" pool-acl
h_is "$(h_answer_of "$H_T/fix.json")" applied "Fix(pool-acl): applied"
tx=$(h_json "$H_T/fix.json" 'r.get("transaction", "")')
h_like "$(getfacl -p "$S_SOCK" 2>/dev/null)" "user:$S_WEB_USER:rw" "the live socket's ACL names the web user"
h_isnt "$(cat "$S_POOL_CONF")" "$(cat "$H_T/pool.orig")" "the pool file was edited"

# The socket's directory now lies under a file system that does not answer.
h_spawn fuse-hang "$H_T/fuse.log" "$H_PY" "$H_LIB_DIR/fuse-socket.py" "$S_SOCK_DIR" --hang
FUSE_PID=$H_LAST_PID
h_at_exit "umount -l '$S_SOCK_DIR' 2> /dev/null || true" # after the spawned processes are stopped
mounted() { grep -q mounted "$H_T/fuse.log"; }
h_wait_for 50 mounted
if ! grep -qx mounted "$H_T/fuse.log"; then
        sed 's/^/# /' "$H_T/fuse.log"
        echo "1..0 # SKIP cannot mount FUSE here"
        exit 77
fi

ms=$(h_elapsed_ms h_revert "$H_T/revert1.json" "$tx")
h_is "$(h_answer_of "$H_T/revert1.json")" failed "Revert with the socket's file system hung: outcome failed (took $ms ms)"
h_ok "  within 10 s" test "$ms" -lt 10000
h_json_ok "$H_T/revert1.json" "'does not answer' in r.get('reason', '') and '$S_SOCK' in r.get('reason', '')" \
        "  its reason names the socket and says its file system does not answer"
h_is "$(cat "$S_POOL_CONF")" "$(cat "$H_T/pool.orig")" "  the pool file, which it could reach, is restored byte for byte"
h_call "$H_T/list.json" ListTransactions '{}'
h_json_is "$H_T/list.json" "[t['outcome'] for t in r if t['transaction'] == '$tx']" '["incomplete"]' \
        "  the transaction is recorded incomplete"
h_ok "sockfixd still answers Ping" busctl --system call "$H_BUS_NAME" "$H_OBJECT" org.freedesktop.DBus.Peer Ping

# The file system goes (its daemon dies, the mount is detached): a second Revert finishes.
h_stop "$FUSE_PID"
umount -l "$S_SOCK_DIR"
h_like "$(getfacl -p "$S_SOCK" 2>/dev/null)" "user:$S_WEB_USER:rw" "the first Revert left the socket's ACL as it was"
h_revert "$H_T/revert2.json" "$tx"
h_is "$(h_answer_of "$H_T/revert2.json")" reverted "a second Revert, once the path answers: outcome reverted"
h_json_ok "$H_T/revert2.json" "any(c['target'] == '$S_SOCK' for c in r.get('changes', []))" \
        "  its changes name the socket's ACL"
h_ok "the live socket's ACL no longer names the web user" \
        bash -c "! getfacl -p '$S_SOCK' 2>/dev/null | grep -q 'user:$S_WEB_USER:'"
h_call "$H_T/list2.json" ListTransactions '{}'
h_json_is "$H_T/list2.json" "[t['outcome'] for t in r if t['transaction'] == '$tx']" '["reverted"]' \
        "  and the transaction is recorded reverted"
h_is "$(cat "$S_POOL_CONF")" "$(cat "$H_T/pool.orig")" "the pool file is still the original"
h_done
