#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Interactive polkit authentication from sockfixctl on a terminal, end to end: a user
# whom a rules file asks for its OWN password (AUTH_SELF) runs `sockfixctl diagnose` in a
# real pty (a tmux session of the test's own); sockfixctl spawns pkttyagent, polkit's
# setuid helper checks the password with PAM and answers polkitd over
# /run/dbus/system_bus_socket (it ignores DBUS_SYSTEM_BUS_ADDRESS, so the private bus
# listens there too, only when no bus serves it already):
#   the right password -> the prompt, then the report (verdict denied), exit 1;
#   a wrong password   -> not authorized (exit 4), no report;
#   --no-ask-password  -> no prompt at all, exit 4 at once;
#   after each run no process of the user is left (the client kills and reaps its agent).
# Skips (exit 77, meson's SKIP) when /run/dbus/system_bus_socket is served by a bus, or
# pkttyagent, polkit-agent-helper-1 or tmux are missing.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"

skip() { echo "1..0 # SKIP $*"; exit 77; }

helper=
for f in /usr/lib/polkit-1/polkit-agent-helper-1 /usr/libexec/polkit-agent-helper-1 \
        /usr/lib/policykit-1/polkit-agent-helper-1; do
        [[ -x $f ]] && { helper=$f; break; }
done
command -v pkttyagent > /dev/null || skip "pkttyagent is not installed (Debian: pkexec)"
[[ -n $helper ]] || skip "polkit-agent-helper-1 is not installed (Debian: polkitd)"
[[ -u $helper ]] || skip "$helper is not setuid root"
command -v tmux > /dev/null || skip "tmux is not installed"
h_system_bus_socket_served && skip "a system bus already serves $H_SYSTEM_BUS_SOCKET"

h_init agent
h_bus_listen_system_socket || skip "$H_SYSTEM_BUS_SOCKET is served by another bus or test"

# Per-run names: another session may run tests at the same time.
u=sfx-ag-$$
pw="Ag3nt-pw-$$-$RANDOM"
wrong="wrong-$pw"
ctl=$SOCKFIX_BUILD_DIR/client/sockfixctl
[[ -x $ctl ]] || h_die "$ctl not built"

stack_use_web_user "sfx-agw-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_ok "$H_SYSTEM_BUS_SOCKET reaches the test's private bus" h_system_socket_is_ours

# --- the user, with a password of its own (never root's)
useradd --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u" ||
        h_die "useradd $u"
h_at_exit "userdel '$u' 2>/dev/null; groupdel '$u' 2>/dev/null; true"
echo "$u:$pw" | chpasswd || h_die "chpasswd $u"
h_log "created user $u ($(id "$u"))"

# --- polkit asks that user for its own password (AUTH_SELF, no _KEEP: every call asks).
# The revert rule is a marker: it turns the default challenge into a plain "no", so the
# test can see that polkitd has loaded the file before anyone types a password.
cat > "$H_T/agent.rules" << EOF
polkit.addRule(function(action, subject) {
    if (action.id == "org.sockfix.SockFix1.diagnose" && subject.user == "$u")
        return polkit.Result.AUTH_SELF;
    if (action.id == "org.sockfix.SockFix1.revert" && subject.user == "$u")
        return polkit.Result.NO;
});
EOF
h_install_rules "$H_T/agent.rules"
# pkcheck as the user for its own process: 1 (not authorized) once the rules are in, 2
# (challenge: the policy's auth_admin_keep) before.
rules_loaded() {
        runuser -u "$u" -- sh -c 'exec pkcheck --action-id org.sockfix.SockFix1.revert --process $$' > "$H_T/pkcheck.out" 2>&1
        local rc=$?
        echo "exit $rc" >> "$H_T/pkcheck.out"
        [[ $rc -eq 1 ]]
}
t_rules=$(date +%s%N)
if h_wait_for 100 rules_loaded; then
        h_pass "polkitd has loaded the test's rules ($((($(date +%s%N) - t_rules) / 1000000)) ms)"
else
        h_fail "polkitd has loaded the test's rules"
        sed 's/^/#   pkcheck: /' "$H_T/pkcheck.out"
        sed 's/^/#   polkitd: /' "$H_T/polkitd.log" | tail -n 20
        find /etc/polkit-1/rules.d -maxdepth 1 -type f -printf '#   rules.d: %m %u %f\n'
fi

# --- a tmux session of our own: its own server socket, killed at exit (the server forks
# away; as our subreaper's orphan it stays our child)
tm() { tmux -S "$H_T/tmux.sock" "$@"; }
tm new-session -d -s agent -x 250 -y 50 \
        "exec env HISTFILE= PS1='agent\$ ' TERM=screen bash --norc --noprofile" ||
        h_die "tmux new-session failed"
tmux_pid=$(tm display-message -p '#{pid}')
H_PIDS+=("$tmux_pid") # stopped with the services (its pane's processes get SIGHUP)
h_at_exit "tmux -S '$H_T/tmux.sock' kill-server 2>/dev/null; h_wait_gone '$tmux_pid' 50; true"
tm set-option -g history-limit 10000 > /dev/null
h_log "tmux server $tmux_pid, session agent"

# section N: what the pane shows after step N's BEGIN marker (the typed command line
# starts with the prompt, so only the echoed marker matches).
section() {
        tm capture-pane -p -J -S - -E - -t agent 2> /dev/null |
                awk -v b="BEGIN-$1" '$0 == b {keep = 1; text = ""; next} keep {text = text $0 "\n"} END {printf "%s", text}'
}
# has N ERE: step N's section has a line matching ERE.
has() { section "$1" | grep -Eq -- "$2"; }
# step N ARGS...: types `runuser ... sockfixctl ARGS; echo END-N EXIT=$? MS=...` in the pane.
step() {
        local n=$1; shift
        tm send-keys -t agent -l "echo BEGIN-$n; t0=\$(date +%s%N); runuser -u $u -- env DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS $ctl $*; rc=\$?; echo \"END-$n EXIT=\$rc MS=\$(( (\$(date +%s%N) - t0) / 1000000 ))\""
        tm send-keys -t agent Enter
}
# exit_of N / ms_of N: step N's exit code and duration (empty until it ended).
exit_of() { section "$1" | sed -nE "s/^END-$1 EXIT=([0-9]+) MS=[0-9]+\$/\\1/p"; }
ms_of() { section "$1" | sed -nE "s/^END-$1 EXIT=[0-9]+ MS=([0-9]+)\$/\\1/p"; }
ended() { [[ -n $(exit_of "$1") ]]; }
# The password prompt (the pane's last line; capture-pane drops its trailing blank).
prompted() { section "$1" | grep -v '^$' | tail -n 1 | grep -Eq '^Password: ?$'; }
prompted_or_ended() { prompted "$1" || ended "$1"; }
# The prompt asks for the test user's password (never anyone else's: root's).
asks_user() { has "$1" "^Authenticating as: .*\\b$u\\b"; }
# answer N PASSWORD: types PASSWORD only into a prompt for the test user; else ^C.
answer() {
        if asks_user "$1"; then
                tm send-keys -t agent -l "$2"
                tm send-keys -t agent Enter
        else
                h_log "step $1: the prompt is not for $u; not typing a password"
                tm send-keys -t agent C-c
        fi
}
# When no prompt came: why polkit may have had no agent.
no_prompt_hint() {
        echo "#   (no prompt: sockfixctl ended without one. polkitd uses a pkttyagent registered"
        echo "#    with --fallback only when the caller has a logind session; here: $(loginctl list-sessions --no-legend 2>&1 | head -n 1))"
}
dump() { section "$1" | grep -v '^$' | sed 's/^/#   | /'; }
# step_done N FAILS-BEFORE: shows step N's terminal once if any of its assertions failed.
step_done() { [[ $H_NFAIL -eq $2 ]] || { h_log "step $1 on the terminal:"; dump "$1"; }; }
# The user's processes (any state, zombies too): none once a step has ended.
user_procs() { ps -u "$u" -o pid=,ppid=,stat=,args= 2> /dev/null; }
assert_no_user_procs() {
        local left
        left=$(user_procs)
        if [[ -z $left ]]; then h_pass "$1: no process of $u left (no pkttyagent)"; else
                h_fail "$1: no process of $u left (no pkttyagent)"; echo "$left" | sed 's/^/#   left: /'; fi
}
# The step's agent: a pkttyagent of the user, a child of sockfixctl, for its pid.
assert_agent_running() {
        local line pid ppid
        line=$(ps -u "$u" -o pid=,ppid=,args= | awk '$3 == "pkttyagent" || $3 ~ /\/pkttyagent$/' | head -n 1)
        if [[ -z $line ]]; then
                h_fail "$1: pkttyagent runs as $u while the prompt shows"; user_procs | sed 's/^/#   /'
                return
        fi
        read -r pid ppid _ <<< "$line"
        h_pass "$1: pkttyagent runs as $u while the prompt shows (pid $pid)"
        h_is "$(cat "/proc/$ppid/comm" 2> /dev/null)" sockfixctl "$1: pkttyagent is sockfixctl's child"
        h_like "$line" "--notify-fd [0-9]+ (--fallback )?--process $ppid( |\$)" "$1: pkttyagent --notify-fd N [--fallback] --process <sockfixctl's pid>"
}
assert_no_sanitizer() {
        if has "$1" 'Sanitizer|runtime error:'; then h_fail "$1: no sanitizer report on the terminal"; else
                h_pass "$1: no sanitizer report on the terminal"; fi
}

h_ok "the pane's shell is ready" h_wait_for 50 eval "tm capture-pane -p -t agent | grep -q 'agent\\$'"

# --- 1: the right password
f0=$H_NFAIL
step 1 diagnose "$S_SOCK"
h_wait_for 100 prompted_or_ended 1
if prompted 1; then
        h_pass "right password: pkttyagent asks for the password on the terminal"
        assert_agent_running "right password"
        answer 1 "$pw"
else
        h_fail "right password: pkttyagent asks for the password on the terminal"; no_prompt_hint 1
fi
h_ok "right password: the prompt names the action" has 1 '==== AUTHENTICATING FOR org\.sockfix\.SockFix1\.diagnose ===='
h_ok "right password: it asks $u for its own password" asks_user 1
h_wait_for 100 ended 1 || h_log "step 1 did not end"
h_is "$(exit_of 1)" 1 "right password: exit 1 (problem found)"
h_ok "right password: polkit's agent reports success" has 1 '==== AUTHENTICATION COMPLETE ===='
h_ok "right password: the diagnosis is printed (verdict denied)" has 1 "^$S_SOCK: denied\$"
h_ok "right password: the report names the finding socket-group-mismatch" has 1 'socket-group-mismatch'
h_ok "right password: the report names the consumer sfx-agw-$$" has 1 "consumer .*sfx-agw-$$"
if has 1 "$pw"; then h_fail "right password: the password was not echoed"; else h_pass "right password: the password was not echoed"; fi
assert_no_sanitizer 1
h_wait_for 20 test -z "$(user_procs)"
assert_no_user_procs "right password"
step_done 1 "$f0"

# --- 2: a wrong password (pam_unix delays its failure about 2 s)
f0=$H_NFAIL
step 2 diagnose "$S_SOCK"
h_wait_for 100 prompted_or_ended 2
if prompted 2; then
        h_pass "wrong password: the prompt appears"
        h_ok "wrong password: it asks $u for its own password" asks_user 2
        assert_agent_running "wrong password"
        answer 2 "$wrong"
else
        h_fail "wrong password: the prompt appears"; no_prompt_hint 2
fi
if ! h_wait_for 100 ended 2; then
        h_log "step 2 did not end (a second prompt?); ^C"
        tm send-keys -t agent C-c
        h_wait_for 50 ended 2
fi
h_is "$(exit_of 2)" 4 "wrong password: exit 4 (not authorized)"
h_ok "wrong password: polkit's agent reports the failure" has 2 '==== AUTHENTICATION FAILED ===='
if has 2 "^$S_SOCK: |verdict|consumer |socket-group-mismatch"; then
        h_fail "wrong password: nothing was diagnosed (no report printed)"
else
        h_pass "wrong password: nothing was diagnosed (no report printed)"
fi
h_ok "wrong password: sockfixctl says why" has 2 '^sockfixctl: .*([Dd]enied|[Nn]ot authori[sz]ed)'
if has 2 "$wrong"; then h_fail "wrong password: the password was not echoed"; else h_pass "wrong password: the password was not echoed"; fi
assert_no_sanitizer 2
h_wait_for 20 test -z "$(user_procs)"
assert_no_user_procs "wrong password"
step_done 2 "$f0"

# --- 3: --no-ask-password
f0=$H_NFAIL
step 3 --no-ask-password diagnose "$S_SOCK"
h_wait_for 100 ended 3 || { h_log "step 3 did not end; ^C"; tm send-keys -t agent C-c; h_wait_for 50 ended 3; }
h_is "$(exit_of 3)" 4 "--no-ask-password: exit 4 (not authorized)"
if has 3 'Password:|AUTHENTICAT'; then h_fail "--no-ask-password: no prompt at all"; else
        h_pass "--no-ask-password: no prompt at all"; fi
ms=$(ms_of 3)
if [[ -n $ms && $ms -lt 3000 ]]; then h_pass "--no-ask-password: answered promptly (${ms} ms)"; else
        h_fail "--no-ask-password: answered promptly (under 3000 ms; got '${ms}' ms)"; fi
if has 3 "^$S_SOCK: |consumer "; then h_fail "--no-ask-password: nothing was diagnosed"; else
        h_pass "--no-ask-password: nothing was diagnosed"; fi
assert_no_sanitizer 3
h_wait_for 20 test -z "$(user_procs)"
assert_no_user_procs "--no-ask-password"
step_done 3 "$f0"

h_ok "sockfixd is still running" h_alive "$H_SOCKFIXD_PID"
h_done
