#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A path swapped under the fixer: while a background process keeps renaming over the
# pool's socket path, in turn, a hard link of the real socket and a symlink to a victim
# (a root-owned 0600 file of the test's own) -- the path always exists -- Fix(auto) and
# Fix(pool-acl) run 20 times (applied ones reverted at once). Every Fix answers an
# outcome or a contract error, the daemon stays up, and the victim's mode, owner, group,
# ACL, ctime and content never change. (Changes go through O_PATH|O_NOFOLLOW fds.)
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-race

stack_use_web_user "sfx-race-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"

victim=$H_T/victim
echo "the victim's secret" > "$victim"
chmod 0600 "$victim"
h_perm_state "$victim" > "$H_T/victim.before"
ln "$S_SOCK" "$S_SOCK_DIR/real.sock" || h_die "hard link of the socket"

cat > "$H_T/swapper.py" << 'PY'
import os, sys
path, real, victim = sys.argv[1:4]
tmp_s, tmp_l = path + ".swap-s", path + ".swap-l"
n = 0
while True:
    for tmp in (tmp_s, tmp_l):
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    os.link(real, tmp_s)
    os.rename(tmp_s, path)      # the real socket
    os.symlink(victim, tmp_l)
    os.rename(tmp_l, path)      # a symlink to the victim
    n += 1
    if n % 2000 == 0:
        with open(sys.argv[4], "w") as f:
            f.write(str(n))
PY
h_spawn swapper "$H_T/swapper.log" "$H_PY" "$H_T/swapper.py" "$S_SOCK" "$S_SOCK_DIR/real.sock" "$victim" "$H_T/swaps"
swapper=$H_LAST_PID
h_wait_for 50 test -s "$H_T/swaps" || h_log "the swapper has not counted yet"

# The real socket's inode stays reachable at real.sock whatever the swapper does: after a
# Fix answered rolled-back, or a Revert answered reverted, the web user's ACL entry that
# the transaction added must be gone from it.
granted_on_real() { getfacl -p "$S_SOCK_DIR/real.sock" 2>/dev/null | grep -q "^user:$S_WEB_USER:"; }
leftover=()
allowed_re='^(applied|rolled-back|failed|already-ok|not-permissions|org\.sockfix\.SockFix1\.Error\.(NotASocket|UnknownSocket|UnsafePath|NoConsumer|StrategyUnavailable|Busy|ConfigTestFailed))$'
bad=() txs=() answers=()
for i in $(seq 1 20); do
        strategy=auto
        ((i % 2 == 0)) && strategy=pool-acl
        # An entry left by an earlier transaction whose revert failed (the path was a
        # symlink at that moment; its record stays incomplete) is not this fix's.
        had_entry=0
        granted_on_real && had_entry=1
        h_fix "$H_T/race-$i.json" "$S_SOCK" "$strategy"
        a=$(h_answer_of "$H_T/race-$i.json")
        answers+=("$strategy:$a")
        [[ $a =~ $allowed_re ]] || bad+=("$i $strategy: $a $(head -c 300 "$H_T/race-$i.json")")
        if [[ $a == rolled-back ]] && ((had_entry == 0)) && granted_on_real; then
                leftover+=("fix $i ($strategy) answered rolled-back, its ACL entry is still on the socket")
        fi
        tx=$(h_json "$H_T/race-$i.json" 'r.get("transaction", "") if isinstance(r, dict) else ""' 2> /dev/null)
        if [[ -n $tx ]]; then
                txs+=("$tx")
                if [[ $a == applied || $a == failed ]]; then
                        h_revert "$H_T/race-revert-$i.json" "$tx"
                        ra=$(h_answer_of "$H_T/race-revert-$i.json")
                        answers+=("revert:$ra")
                        if [[ $ra == reverted ]] && ((had_entry == 0)) && granted_on_real; then
                                leftover+=("revert of fix $i answered reverted, its ACL entry is still on the socket")
                        fi
                        [[ $ra =~ ^(reverted|failed|org\.sockfix\.SockFix1\.Error\.(Conflict|Busy|UnknownTransaction))$ ]] ||
                                bad+=("revert $i: $ra")
                fi
        fi
done
h_log "answers: ${answers[*]}"
h_ok "the swapper ran all along (swaps: $(cat "$H_T/swaps" 2>/dev/null))" h_alive "$swapper"
h_stop "$swapper"
h_forget_pid "$swapper"
h_ok "the swapper is stopped" bash -c "! test -e /proc/$swapper"
h_is "${bad[*]}" "" "every Fix and Revert answered an outcome or a contract error"
h_is "$(printf '%s\n' "${leftover[@]}" | grep . | paste -sd';' -)" "" \
        "a Fix answering rolled-back, or a Revert answering reverted, left no ACL entry on the live socket"

# The real socket back at its path, then every transaction still open reverted.
"$H_PY" -c 'import os, sys; os.link(sys.argv[2], sys.argv[1] + ".fin"); os.rename(sys.argv[1] + ".fin", sys.argv[1])' \
        "$S_SOCK" "$S_SOCK_DIR/real.sock"
h_ok "the pool's socket is a socket again" test -S "$S_SOCK" -a ! -L "$S_SOCK"
h_call "$H_T/tx.json" ListTransactions '{}'
for tx in $(h_json "$H_T/tx.json" "' '.join(t['transaction'] for t in r if t['outcome'] in ('applied', 'failed', 'incomplete'))"); do
        h_revert "$H_T/final-revert-$tx.json" "$tx"
        h_is "$(h_answer_of "$H_T/final-revert-$tx.json")" reverted "left-over transaction $tx reverted once the path is still"
done

h_perm_state "$victim" > "$H_T/victim.after"
if diff -u "$H_T/victim.before" "$H_T/victim.after" > "$H_T/victim.diff"; then
        h_pass "the victim is unchanged: mode, owner, group, ACL, ctime, content"
else
        h_fail "the victim is unchanged: mode, owner, group, ACL, ctime, content"; sed 's/^/#   /' "$H_T/victim.diff"
fi
h_ok "sockfixd is still alive" h_alive "$H_SOCKFIXD_PID"
stack_diagnose after "$S_SOCK"
h_json_is "$H_T/after.json" 'r.get("verdict")' denied "the daemon still answers Diagnose: verdict denied (every fix reverted)"
h_ok "the pool file is byte-identical to before" cmp "$S_POOL_CONF" "$H_T/pool.orig"
stack_assert_not_other_writable "after the race"
h_done
