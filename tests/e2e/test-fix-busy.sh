#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A fix that reloads nginx, and what happens meanwhile (issue 3: "verify only once the old
# workers are gone or the new ones hold the group"; "A second Fix on a socket whose fix
# is still running gets Busy; diagnoses keep being answered while a fix waits for a
# reload"). The seed case with a web user of the test's own.
# A. An old worker finishing a long request (stack_hold_worker: its header never ends)
#    does not hold the fix up: Fix(member) answers applied, verified, while that worker is
#    still alive, and when it answers that worker no longer listens (ss -ltnp): every
#    request from then on reaches a new worker and gets HTTP 200.
# B. The nginx master stopped (SIGSTOP) so the reload cannot happen yet: the Fix(member),
#    asked through a symlink, waits. Meanwhile a second Fix on the same socket (auto,
#    refresh, through the symlink) and a Revert of the running transaction answer Busy,
#    promptly; Diagnose, ListSockets and ListTransactions answer in < 2 s.
#    SIGCONT: the first Fix answers applied, verified; HTTP 200. Busy is gone: Revert
#    answers reverted, then a dry run answers planned.
# C. The old worker stopped (SIGSTOP) before it could handle nginx's quit signal: it still
#    holds the listening socket, so a request could still land on it and get the old 502.
#    The fix waits while it listens, though the new workers hold the group; SIGCONT: it
#    closes its listeners, the Fix answers applied, verified; HTTP 200 every time.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-busy

stack_use_web_user "sfx-busy-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
www_gid=$(getent group www-data | cut -d: -f3)
h_at_exit "gpasswd -d '$S_WEB_USER' www-data > /dev/null 2>&1; true" # should the revert fail
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
ln -s "$S_SOCK" "$S_SOCK_DIR/alias.sock"

# --- A: an old worker busy with a long request does not hold the fix up
stack_hold_worker
held=$(stack_worker_pids | paste -sd' ' -)
h_fix "$H_T/fixA.json" "$S_SOCK" member
h_is "$(h_answer_of "$H_T/fixA.json")" applied "Fix(member) with a request held on the old worker: applied"
h_json_is "$H_T/fixA.json" 'r.get("verified")' true "... and verified through the new worker"
held_alive() { local w; for w in $held; do h_alive "$w" || return 1; done; }
h_ok "the old worker ($held) is still finishing its request" held_alive
# listening_pids: the processes holding nginx's listening socket, as an admin sees them.
listening_pids() { ss -Hltnp "sport = :$S_PORT" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un | paste -sd' ' -; }
# none_of "A B" "C D": no pid of the first list in the second.
none_of() { local p; for p in $1; do [[ " $2 " == *" $p "* ]] && return 1; done; return 0; }
h_ok "when Fix answered, the old worker no longer listened (listeners: $(listening_pids))" \
        none_of "$held" "$(listening_pids)"
http_200_times() {
        local i
        for ((i = 0; i < $1; i++)); do [[ $(h_http_status "$S_URL") == 200 ]] || return 1; done
}
h_ok "HTTP 200 from the new worker, ten times out of ten" http_200_times 10
txA=$(h_json "$H_T/fixA.json" 'r.get("transaction", "")' 2> /dev/null)
stack_release_worker
h_revert "$H_T/revertA.json" "$txA"
h_is "$(h_answer_of "$H_T/revertA.json")" reverted "Revert of it: reverted"
workers_after_revert=$(stack_worker_pids | paste -sd' ' -)
fresh_without_gid() { stack_only_fresh_workers "$1" && stack_no_worker_holds_gid "$www_gid"; }
h_ok "the seed case again: fresh workers without www-data's gid" h_wait_for 100 fresh_without_gid "$held"
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 again"

# --- B: the master stopped, so the fix waits for its reload
old_workers=$(stack_worker_pids | paste -sd' ' -)
kill -STOP "$S_NGINX_PID"
h_at_exit "kill -CONT '$S_NGINX_PID' 2> /dev/null; true"
# Through the symlink: the journal names the socket as written, the running fix holds
# the resolved path; a Revert of its transaction must still find it running.
h_fix_async "$H_T/fix1.json" "$S_SOCK_DIR/alias.sock" member
fix1_pid=$H_LAST_PID
# It has applied its changes and sent SIGHUP once its record is in the journal.
running() {
        h_call "$H_T/tx-poll.json" ListTransactions '{}' 2> /dev/null &&
                [[ $(h_json "$H_T/tx-poll.json" 'len(r) == 2 and r[-1]["outcome"] == "incomplete"' 2> /dev/null) == [Tt]rue ]]
}
h_ok "the first Fix is running (its record is in the journal, unfinished)" h_wait_for 100 running
old_alive() { local w; for w in $old_workers; do h_alive "$w" || return 1; done; }
h_ok "the old worker is still the only one (the stopped master cannot reload)" old_alive
h_ok "the first Fix is still waiting (its client has no answer yet)" h_alive "$fix1_pid"

# --- while it waits
ms=$(h_elapsed_ms h_fix "$H_T/fix2.json" "$S_SOCK" auto)
h_is "$(h_answer_of "$H_T/fix2.json")" org.sockfix.SockFix1.Error.Busy "a second Fix(auto) on the same socket: Busy"
h_ok "the second Fix answered promptly (${ms} ms < 2000)" test "$ms" -lt 2000
h_json_ok "$H_T/fix2.json" "'$S_SOCK' in r.get('message', '')" "the Busy message names the socket"

# refresh is what the diagnosis now lists (the old worker lacks the new group); an explicit
# strategy no finding lists would answer StrategyUnavailable first: Fix checks the strategy before Busy.
h_fix "$H_T/fix3.json" "$S_SOCK" refresh
h_is "$(h_answer_of "$H_T/fix3.json")" org.sockfix.SockFix1.Error.Busy "a second Fix(refresh) on the same socket: Busy"
h_fix "$H_T/fix4.json" "$S_SOCK_DIR/alias.sock" auto
h_is "$(h_answer_of "$H_T/fix4.json")" org.sockfix.SockFix1.Error.Busy "a Fix(auto) through a symlink to the same socket: Busy"
h_fix "$H_T/fix5.json" "$S_SOCK" auto '{"dry_run": true}'
# A dry run changes nothing: Busy (the table's order) or its plan are both answers.
h_like "$(h_answer_of "$H_T/fix5.json")" '^(org\.sockfix\.SockFix1\.Error\.Busy|planned)$' \
        "a dry run while the fix runs is answered ($(h_answer_of "$H_T/fix5.json"))"

ms=$(h_elapsed_ms h_diagnose "$H_T/diag.json" "$S_SOCK")
h_is "$?" 0 "Diagnose of the same socket answered with a report"
h_ok "Diagnose answered promptly (${ms} ms < 2000)" test "$ms" -lt 2000
h_json_is "$H_T/diag.json" 'r["socket"]' "$S_SOCK" "the report names the socket"
old_sel="[c for c in r.get('consumers', []) if c.get('pids') == [$old_workers]]"
h_json_is "$H_T/diag.json" "[c.get('stale_credentials', False) for c in $old_sel]" '[true]' \
        "the report shows the old worker ($old_workers) with stale credentials"
ms=$(h_elapsed_ms h_call "$H_T/list.json" ListSockets '{}')
h_is "$?" 0 "ListSockets answered"
h_ok "ListSockets answered promptly (${ms} ms < 2000)" test "$ms" -lt 2000
h_json_ok "$H_T/list.json" "any(s.get('path') == '$S_SOCK' for s in r)" "ListSockets lists the socket"
h_call "$H_T/tx-during.json" ListTransactions '{}'
h_is "$?" 0 "ListTransactions answered"
h_json_is "$H_T/tx-during.json" '[t["outcome"] for t in r]' '["reverted", "incomplete"]' \
        "ListTransactions: part A's, and the running fix's record, not finished yet (incomplete)"
running_tx=$(h_json "$H_T/tx-during.json" 'r[-1].get("transaction", "")')
h_revert "$H_T/revert-running.json" "$running_tx"
h_is "$(h_answer_of "$H_T/revert-running.json")" org.sockfix.SockFix1.Error.Busy \
        "Revert of the running fix's transaction (started through the symlink): Busy"
h_ok "the first Fix is still waiting after all that" h_alive "$fix1_pid"

# --- let it finish
kill -CONT "$S_NGINX_PID"
h_ok "the first Fix answered once nginx could reload" h_wait_gone "$fix1_pid" 150
wait "$fix1_pid" 2> /dev/null
h_forget_pid "$fix1_pid"
h_is "$(h_answer_of "$H_T/fix1.json")" applied "the first Fix(member): outcome applied"
h_json_is "$H_T/fix1.json" 'r.get("verified")' true "the first Fix(member): verified"
h_json_is "$H_T/fix1.json" 'r.get("strategy")' member "the first Fix(member): strategy member"
tx=$(h_json "$H_T/fix1.json" 'r.get("transaction", "")' 2> /dev/null)
h_like "$tx" '^[0-9a-f]{32}$' "the first Fix: a transaction id"
gone() { local w; for w in $old_workers; do h_alive "$w" && return 1; done; return 0; }
h_ok "the old worker is gone" h_wait_for 100 gone
h_ok "every worker holds www-data's gid" stack_workers_hold_gid "$www_gid"
h_is "$(h_http_status "$S_URL")" 200 "after the fix: HTTP 200"
h_call "$H_T/tx-after.json" ListTransactions '{}'
h_json_is "$H_T/tx-after.json" "[t['outcome'] for t in r if t['transaction'] == '$tx']" '["applied"]' \
        "ListTransactions: applied"
h_json_is "$H_T/tx-after.json" 'len(r)' 2 "the refused Fixes recorded no transaction"

# --- Busy is gone
workers_before_revert=$(stack_worker_pids | paste -sd' ' -)
h_revert "$H_T/revert.json" "$tx"
h_is "$(h_answer_of "$H_T/revert.json")" reverted "Revert after the fix: reverted (not Busy)"
not_member() { ! id -nG "$S_WEB_USER" | tr ' ' '\n' | grep -qx www-data; }
h_ok "the membership is gone" not_member
# the seed case again once only fresh workers (without the gid) run
h_ok "Revert reloaded nginx: only fresh workers, none with www-data's gid" \
        h_wait_for 100 fresh_without_gid "$workers_before_revert"
h_is "$(h_http_status "$S_URL")" 502 "after the revert: HTTP 502 again"
h_fix "$H_T/dry.json" "$S_SOCK" auto '{"dry_run": true}'
h_is "$(h_answer_of "$H_T/dry.json")" planned "a dry run afterwards: planned (not Busy)"

# --- C: an old worker that has not yet closed its listening socket holds the fix
stopped=$(stack_worker_pids | paste -sd' ' -)
kill -STOP $stopped
h_at_exit "kill -CONT $stopped 2> /dev/null; true"
h_fix_async "$H_T/fixC.json" "$S_SOCK" member
fixC_pid=$H_LAST_PID
fresh_with_gid() { local p; for p in $(stack_worker_pids); do none_of "$p" "$stopped" && stack_worker_field "$p" Groups | tr ' ' '\n' | grep -qx "$www_gid" && return 0; done; return 1; }
h_ok "nginx reloaded: a fresh worker holds www-data's gid" h_wait_for 100 fresh_with_gid
sleep 1
still_listens() { ! none_of "$stopped" "$(listening_pids)"; }
h_ok "the stopped old worker ($stopped) still listens" still_listens
h_ok "so the Fix is still waiting" h_alive "$fixC_pid"
kill -CONT $stopped
h_ok "the Fix answered once the old worker let go of the listener" h_wait_gone "$fixC_pid" 150
wait "$fixC_pid" 2> /dev/null
h_forget_pid "$fixC_pid"
h_is "$(h_answer_of "$H_T/fixC.json")" applied "Fix(member): outcome applied"
h_json_is "$H_T/fixC.json" 'r.get("verified")' true "Fix(member): verified"
h_ok "when it answered no old worker listened (listeners: $(listening_pids))" none_of "$stopped" "$(listening_pids)"
h_ok "HTTP 200, ten times out of ten" http_200_times 10
txC=$(h_json "$H_T/fixC.json" 'r.get("transaction", "")' 2> /dev/null)
h_revert "$H_T/revertC.json" "$txC"
h_is "$(h_answer_of "$H_T/revertC.json")" reverted "Revert of it: reverted"
h_ok "sockfixd still owns its name" h_has_name "$H_BUS_NAME"
h_done
