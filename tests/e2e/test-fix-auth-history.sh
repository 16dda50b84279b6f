#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Who may fix, and the journal across a daemon restart, on the real seed case:
#  - a fresh non-root account without authorization (runuser): Fix over python3-dbus and
#    `sockfixctl fix` are refused (AccessDenied / InteractiveAuthorizationRequired), and
#    nothing changed;
#  - an account in group sockfix, granted by the shipped example rules file: Fix over
#    busctl (as that account) applies; HTTP 200; ListTransactions and `sockfixctl --json
#    history` list it with its caller uid;
#  - sockfixd stopped and started again with the same STATE_DIRECTORY: history still lists
#    the transaction with the same id and outcome, and Revert of it works (outcome
#    reverted, pool file byte-identical, HTTP 502 after php-fpm's next start);
#  - the account's own history lists its transactions only, not root's, and it cannot
#    revert root's (UnknownTransaction).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-auth-history

stack_use_web_user "sfx-ah-$$"
outsider=sfx-aho-$$ panel=sfx-ahp-$$
H_SNAPSHOT_NAMES+=" $outsider $panel sockfix"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"
is_auth_error() { [[ $1 =~ ^org\.freedesktop\.DBus\.Error\.(AccessDenied|InteractiveAuthorizationRequired)$ ]]; }

# --- an account without authorization
h_ensure_user "$outsider"
stack_snapshot before-outsider
runuser -u "$outsider" -- "$H_PY" "$H_LIB_DIR/sfjson.py" call Fix "\"$S_SOCK\"" '"auto"' '{}' > "$H_T/out.json" 2>&1
err=$(h_error_of "$H_T/out.json" 2> /dev/null)
h_ok "outsider: python3-dbus Fix(auto) refused by polkit ($err)" is_auth_error "$err"
runuser -u "$outsider" -- "$H_PY" "$H_LIB_DIR/sfjson.py" call Fix "\"$S_SOCK\"" '"member"' '{}' > "$H_T/out-member.json" 2>&1
err=$(h_error_of "$H_T/out-member.json" 2> /dev/null)
h_ok "outsider: python3-dbus Fix(member) refused ($err)" is_auth_error "$err"
runuser -u "$outsider" -- "$SOCKFIX_BUILD_DIR/client/sockfixctl" --no-ask-password fix "$S_SOCK" > "$H_T/out-ctl.txt" 2>&1
h_is "$?" 4 "outsider: sockfixctl --no-ask-password fix: exit 4 (not authorized)"
stack_snapshot after-outsider
h_assert_unchanged before-outsider after-outsider "the unauthorized calls changed nothing (files, group db, processes)"
h_call "$H_T/tx0.json" ListTransactions '{}'
h_json_is "$H_T/tx0.json" 'len(r)' 0 "no transaction was recorded for the refused calls"
h_is "$(h_http_status "$S_URL")" 502 "still HTTP 502"

# --- an account granted by the example rules file (group sockfix)
h_ensure_group sockfix
h_ensure_user "$panel" sockfix
rules=$(h_example_rules_file) || h_die "no example rules file in polkit/"
h_install_rules "$rules"
panel_uid=$(id -u "$panel")
panel_fix() {
        runuser -u "$panel" -- busctl --system --json=short call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Fix 'ssa{sv}' \
                "$S_SOCK" auto 0 > "$H_T/panel.raw" 2> "$H_T/panel.err"
}
# polkitd reads the new rules within about a second; an auth error until then is no change.
n=30
until panel_fix || ((--n == 0)); do
        grep -Eq 'AccessDenied|InteractiveAuthorizationRequired|Interactive authentication required|Access denied' "$H_T/panel.err" || break
        sleep 0.2
done
h_ok "panel account: busctl Fix(auto) answered ($(head -c 200 "$H_T/panel.err"))" test -s "$H_T/panel.raw"
"$H_PY" "$H_LIB_DIR/sfjson.py" unwrap < "$H_T/panel.raw" > "$H_T/panel.json" 2> /dev/null
h_is "$(h_answer_of "$H_T/panel.json")" applied "panel account: outcome applied"
h_json_is "$H_T/panel.json" 'r.get("verified")' true "panel account: verified"
tx=$(h_json "$H_T/panel.json" 'r.get("transaction", "")' 2> /dev/null)
h_like "$tx" '^[0-9a-f]{32}$' "panel account: a transaction id"
h_is "$(h_http_status "$S_URL")" 200 "after the panel's fix: HTTP 200"

h_call "$H_T/tx1.json" ListTransactions '{}'
sel="[t for t in r if t.get('transaction') == '$tx']"
h_json_is "$H_T/tx1.json" "len($sel)" 1 "ListTransactions lists the panel's transaction"
h_json_is "$H_T/tx1.json" "${sel}[0]['uid']" "$panel_uid" "the record's caller uid is the panel account's ($panel_uid)"
h_json_is "$H_T/tx1.json" "${sel}[0]['outcome']" applied "the record's outcome is applied"
h_json_is "$H_T/tx1.json" "${sel}[0]['socket']" "$S_SOCK" "the record names the socket"
h_ctl --json history > "$H_T/hist1.json" 2> "$H_T/hist1.err"
h_is "$?" 0 "sockfixctl --json history: exit 0"
h_json_ok "$H_T/hist1.json" "any(t['transaction'] == '$tx' and t['outcome'] == 'applied' for t in r)" \
        "sockfixctl --json history lists it as applied"
record() { h_json "$1" "[(t['transaction'], t['uid'], t['socket'], t['strategy'], t['outcome'], t['time']) for t in r if t['transaction'] == '$tx']"; }
record "$H_T/hist1.json" > "$H_T/record.before"

# --- sockfixd restarted on the same state directory
old_pid=$H_SOCKFIXD_PID
h_restart_sockfixd
h_isnt "$H_SOCKFIXD_PID" "$old_pid" "sockfixd runs again (new pid $H_SOCKFIXD_PID)"
h_ctl --json history > "$H_T/hist2.json" 2> "$H_T/hist2.err"
h_is "$?" 0 "after the restart: sockfixctl --json history: exit 0"
record "$H_T/hist2.json" > "$H_T/record.after"
h_is "$(cat "$H_T/record.after")" "$(cat "$H_T/record.before")" \
        "after the restart: the same record (id, uid, socket, strategy, outcome, time)"
h_json_is "$H_T/hist2.json" "[t['outcome'] for t in r if t['transaction'] == '$tx']" '["applied"]' \
        "after the restart: still listed as applied"
h_is "$(h_http_status "$S_URL")" 200 "after the restart: still HTTP 200"

h_revert "$H_T/revert.json" "$tx"
h_is "$(h_answer_of "$H_T/revert.json")" reverted "after the restart: Revert answers reverted"
h_json_is "$H_T/revert.json" 'r.get("transaction")' "$tx" "Revert names the transaction"
h_ok "the pool file is byte-identical to before the fix" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_ctl --json history > "$H_T/hist3.json" 2> /dev/null
h_json_is "$H_T/hist3.json" "[t['outcome'] for t in r if t['transaction'] == '$tx']" '["reverted"]' \
        "history now says reverted"

# A caller other than root is told of its own transactions only: root's record would say
# where root changed what.
h_fix "$H_T/root-fix.json" "$S_SOCK" auto
rtx=$(h_json "$H_T/root-fix.json" 'r.get("transaction", "")')
h_like "$rtx" '^[0-9a-f]{32}$' "root's own Fix(auto): a transaction"
runuser -u "$panel" -- "$SOCKFIX_BUILD_DIR/client/sockfixctl" --json history > "$H_T/panel-hist.json" 2> /dev/null
h_json_is "$H_T/panel-hist.json" "[t['transaction'] for t in r]" "[\"$tx\"]" \
        "panel account: sockfixctl history lists its own transaction, not root's"
h_ctl --json history > "$H_T/root-hist.json" 2> /dev/null
h_json_ok "$H_T/root-hist.json" "set(t['transaction'] for t in r) == {'$tx', '$rtx'}" "root: history lists both"
runuser -u "$panel" -- "$SOCKFIX_BUILD_DIR/client/sockfixctl" revert "$rtx" > "$H_T/panel-revert.txt" 2>&1
h_is "$?" 8 "panel account: sockfixctl revert of root's transaction: exit 8 (refused)"
h_file_like "$H_T/panel-revert.txt" "no transaction $rtx" "  it is no transaction, to the panel account"
h_json_is "$H_T/root-hist.json" "[t['outcome'] for t in r if t['transaction'] == '$rtx']" '["applied"]' \
        "  and root's transaction stands"
h_revert "$H_T/root-revert.json" "$rtx"
h_is "$(h_answer_of "$H_T/root-revert.json")" reverted "root's transaction reverted"
stack_cycle_fpm
h_is "$(h_http_status "$S_URL")" 502 "after php-fpm's next start: HTTP 502 again"
h_ok "sockfixd still owns its name" h_has_name "$H_BUS_NAME"
h_done
