#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A transaction interrupted by a crash (issue 3, section 3: "a transaction interrupted by
# a crash is listed as incomplete at start and Revert still restores it"), on the seed
# case with a web user of the test's own:
#  1. Fix(pool-acl) applies; sockfixd stopped; its record edited to what a crash after the
#     changes and before journal_finish leaves (journal.c: "state" "in-progress", no
#     "outcome", every change's status as it was); sockfixd started again on the same
#     STATE_DIRECTORY: ListTransactions and `sockfixctl --json history` list it as
#     incomplete; Revert answers reverted, the pool file is byte-identical to before the
#     fix, the live socket's ACL entry for the web user is gone, HTTP 502 again.
#  2. A real crash: Fix(member) while the nginx master is stopped (the fix has made
#     its changes and signalled nginx, and waits for the reload); sockfixd SIGKILLed
#     there; started again: the transaction is incomplete; Revert removes the membership
#     and reloads nginx; HTTP 502 again.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-crash

stack_use_web_user "sfx-crash-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_at_exit "gpasswd -d '$S_WEB_USER' www-data > /dev/null 2>&1; true" # should a revert fail
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"
acl_of_socket() { getfacl -p "$S_SOCK" 2> /dev/null; }
acl_names_web_user() { acl_of_socket | grep -q "^user:$S_WEB_USER:"; }

# outcome_of FILE TX: the outcome of TX in a ListTransactions / history array.
outcome_of() { h_json "$1" "[t['outcome'] for t in r if t['transaction'] == '$2']"; }

# --- 1. pool-acl, the record made to look like a crash before journal_finish
h_fix "$H_T/fix.json" "$S_SOCK" pool-acl
h_is "$(h_answer_of "$H_T/fix.json")" applied "Fix(pool-acl): outcome applied"
tx=$(h_json "$H_T/fix.json" 'r.get("transaction", "")' 2> /dev/null)
h_like "$tx" '^[0-9a-f]{32}$' "Fix(pool-acl): a transaction id"
h_is "$(h_http_status "$S_URL")" 200 "after the fix: HTTP 200"
h_ok "the live socket's ACL names the web user" acl_names_web_user
rec=$(h_tx_record "$tx")
h_ok "the journal holds the record $rec" test -f "$rec"
h_json_is "$rec" '[r.get("state"), r.get("outcome")]' '["finished", "applied"]' "the record: finished, applied"
h_json_ok "$rec" 'len(r["changes"]) >= 2 and all(c.get("status") == "done" for c in r["changes"])' \
        "the record: every change done"

h_stop_sockfixd
# What a crash after the changes, before journal_finish, leaves: journal_finish is the
# only writer of "outcome" and of "state": "finished".
"$H_PY" - "$rec" << 'PY' || h_die "cannot edit $rec"
import json, os, sys
p = sys.argv[1]
r = json.load(open(p))
r["state"] = "in-progress"
r.pop("outcome", None)
tmp = os.path.join(os.path.dirname(p), ".crash.tmp")
with open(tmp, "w") as f:
    json.dump(r, f, separators=(",", ":"))
os.chmod(tmp, 0o600)
os.rename(tmp, p)
PY
h_json_is "$rec" '[r.get("state"), "outcome" in r]' '["in-progress", false]' "the record now looks interrupted"
h_start_sockfixd
h_json_is "$rec" 'r.get("state")' finished "at start sockfixd closed the interrupted record (state finished)"
h_call "$H_T/tx1.json" ListTransactions '{}'
h_is "$(outcome_of "$H_T/tx1.json" "$tx")" '["incomplete"]' "ListTransactions: the interrupted transaction is incomplete"
sel="[t for t in r if t['transaction'] == '$tx']"
h_json_is "$H_T/tx1.json" "[(t['socket'], t['strategy']) for t in $sel]" "[[\"$S_SOCK\", \"pool-acl\"]]" \
        "ListTransactions: its socket and strategy kept"
h_json_ok "$H_T/tx1.json" "len(${sel}[0]['changes']) == len([c for c in $(h_json "$H_T/fix.json" 'r["changes"]') ])" \
        "ListTransactions: its changes kept"
h_ctl --json history > "$H_T/hist1.json" 2> "$H_T/hist1.err"
h_is "$?" 0 "sockfixctl --json history: exit 0"
h_is "$(outcome_of "$H_T/hist1.json" "$tx")" '["incomplete"]' "sockfixctl --json history: incomplete"

h_revert "$H_T/revert.json" "$tx"
h_is "$(h_answer_of "$H_T/revert.json")" reverted "Revert of the incomplete transaction: reverted"
h_ok "the pool file is byte-identical to before the fix" cmp "$S_POOL_CONF" "$H_T/pool.orig"
if acl_names_web_user; then
        h_fail "the live socket's ACL entry for the web user is gone"; acl_of_socket | sed 's/^/#   /'
else
        h_pass "the live socket's ACL entry for the web user is gone"
fi
h_is "$(stat -c '%U:%G %a' "$S_SOCK")" "www-data:www-data 660" "the live socket: www-data:www-data 0660 again"
h_is "$(h_http_status "$S_URL")" 502 "after the revert: HTTP 502 again"
h_call "$H_T/tx2.json" ListTransactions '{}'
h_is "$(outcome_of "$H_T/tx2.json" "$tx")" '["reverted"]' "ListTransactions: reverted"

# --- 2. a real crash: sockfixd SIGKILLed while its Fix(member) waits for its reload (the
# nginx master is stopped, so the reload cannot happen yet)
www_gid=$(getent group www-data | cut -d: -f3)
is_member() { id -nG "$S_WEB_USER" | tr ' ' '\n' | grep -qx www-data; }
kill -STOP "$S_NGINX_PID"
h_at_exit "kill -CONT '$S_NGINX_PID' 2> /dev/null; true"
h_fix_async "$H_T/fix-kill.json" "$S_SOCK" member
client_pid=$H_LAST_PID
running_tx() { find "$H_T/state/transactions" -maxdepth 1 -name "*.json" ! -name "$tx.json" -printf "%f\n" | sed "s/\.json$//"; }
has_running_tx() { [[ -n $(running_tx) ]] && is_member; }
h_ok "Fix(member) made its changes (a record, the membership) and waits for the reload" h_wait_for 100 has_running_tx
h_ok "Fix(member) is still waiting" h_alive "$client_pid"
h_ok "the membership was added" is_member
tx2=$(running_tx)
h_like "$tx2" '^[0-9a-f]{32}$' "the running fix has a record ($tx2)"
h_json_ok "$(h_tx_record "$tx2")" 'r.get("state") == "in-progress" and "outcome" not in r and r["changes"] and all(c.get("status") == "done" for c in r["changes"])' \
        "its record: in-progress, changes done"
h_stop_sockfixd --kill
h_ok "the Fix client got an answer (an error) once sockfixd died" h_wait_gone "$client_pid" 100
wait "$client_pid" 2> /dev/null
h_forget_pid "$client_pid"
h_like "$(h_answer_of "$H_T/fix-kill.json")" '^org\.freedesktop\.DBus\.Error\.' "the Fix client: a D-Bus error ($(h_answer_of "$H_T/fix-kill.json"))"
kill -CONT "$S_NGINX_PID"
h_start_sockfixd
h_call "$H_T/tx3.json" ListTransactions '{}'
h_is "$(outcome_of "$H_T/tx3.json" "$tx2")" '["incomplete"]' "after the SIGKILL and a start: the transaction is incomplete"
h_ctl --json history > "$H_T/hist3.json" 2> /dev/null
h_is "$(outcome_of "$H_T/hist3.json" "$tx2")" '["incomplete"]' "sockfixctl --json history: incomplete"
workers_before_revert=$(stack_worker_pids | paste -sd' ' -)
h_revert "$H_T/revert2.json" "$tx2"
h_is "$(h_answer_of "$H_T/revert2.json")" reverted "Revert of the SIGKILLed transaction: reverted"
h_ok "the membership is gone" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx www-data"
# Only fresh workers (an old one may still accept a connection until it exits), none
# with the gid.
fresh_without_gid() { stack_only_fresh_workers "$workers_before_revert" && stack_no_worker_holds_gid "$www_gid"; }
h_ok "Revert reloaded nginx: only fresh workers, none with www-data's gid" h_wait_for 100 fresh_without_gid
h_is "$(h_http_status "$S_URL")" 502 "after the revert: HTTP 502 again"
h_ok "the pool file is still byte-identical to before the first fix" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_ok "sockfixd still owns its name" h_has_name "$H_BUS_NAME"
h_done
