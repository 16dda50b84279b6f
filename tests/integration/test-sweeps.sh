#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The sweeps and the edges of Diagnose, on a seed-case stack whose pool is pm=ondemand
# (each connect to it forks a PHP worker, so a connect shows as a new child):
#   ListSockets and DiagnoseAll list the pool's socket with the verdict Diagnose gives,
#     and never connect (no worker forked), and change nothing;
#   Diagnose through a symlink reports it as asked, resolved to the socket;
#   a regular file -> not-a-socket, a path nothing references -> missing: every absolute
#     path gets a verdict, not an error, and a finding that says why (what stands there,
#     or what its lookup met: a loop, a file where a directory should be);
#   the consumer option restricts the consumers; naming no user, it is InvalidArgs;
#   the fields option sends socket and exactly the keys asked for (python3-dbus, busctl,
#     sockfixctl --fields), with the same verdict and findings as the full report;
#   sockets whose names are not UTF-8 or hold terminal escapes break no sweep;
#   reading the Strategies property, which needs no polkit, never rebuilds the model.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init sweeps

stack_up --owner www-data --group www-data --mode 0660 --pm ondemand
h_sockfix_up
h_is "$(stack_children "$S_FPM_PID" | wc -l)" 0 "the ondemand pool has no worker yet"
stack_snapshot before

h_call "$H_T/list.json" ListSockets '{}'
h_is "$?" 0 "ListSockets answers"
sel="[s for s in r if s.get('path') == '$S_SOCK']"
h_json_is "$H_T/list.json" "len($sel)" 1 "ListSockets has one record for the pool's socket"
h_json_is "$H_T/list.json" "${sel}[0]['verdict']" denied "ListSockets: verdict denied"
h_json_is "$H_T/list.json" "${sel}[0]['owner'] + ':' + ${sel}[0]['group']" www-data:www-data "ListSockets: owner and group"
h_json_is "$H_T/list.json" "${sel}[0]['mode']" 432 "ListSockets: mode 0660"
h_json_is "$H_T/list.json" "${sel}[0]['listening']" true "ListSockets: listening"
h_json_is "$H_T/list.json" "${sel}[0]['listener']['pid']" "$S_FPM_PID" "ListSockets: listener is the php-fpm master"
h_json_ok "$H_T/list.json" "'nginx' in ${sel}[0]['servers']" "ListSockets: servers include nginx"

h_call "$H_T/all.json" DiagnoseAll '{}'
h_is "$?" 0 "DiagnoseAll answers"
sel="[s for s in r if s.get('socket') == '$S_SOCK' or s.get('resolved') == '$S_SOCK']"
h_json_is "$H_T/all.json" "len($sel)" 1 "DiagnoseAll has one report for the pool's socket"
h_json_is "$H_T/all.json" "${sel}[0]['verdict']" denied "DiagnoseAll: verdict denied"
h_json_ok "$H_T/all.json" "'socket-group-mismatch' in [f['code'] for f in ${sel}[0]['findings']]" "DiagnoseAll: finding socket-group-mismatch"
h_json_ok "$H_T/all.json" "all('probe_errno' not in c for c in ${sel}[0]['consumers'])" "DiagnoseAll: no probe_errno (sweeps do not connect)"
h_json_ok "$H_T/all.json" "'fastcgi' not in ${sel}[0]" "DiagnoseAll: no fastcgi key"

sleep 0.3
h_is "$(stack_children "$S_FPM_PID" | wc -l)" 0 "the sweeps forked no PHP worker (they never connected)"
stack_snapshot after-sweeps
h_assert_unchanged before after-sweeps "the sweeps changed nothing"

# Diagnose connects once; the verdict is the same as the sweeps'.
stack_diagnose report "$S_SOCK"
h_json_is "$H_T/report.json" 'r["verdict"]' denied "Diagnose: the same verdict as the sweeps"
# The probe forks nothing (sockfixd takes the workers' ids for its connect() alone):
# sockfixd has no child, zombie or not.
sfd_children() { cat /proc/"$H_SOCKFIXD_PID"/task/*/children 2> /dev/null | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }
no_children() { [[ -z $(sfd_children) ]]; }
h_wait_for 10 no_children
h_is "$(sfd_children)" "" "Diagnose: sockfixd has no child left"

# Through a symlink (as /run/php/php-fpm.sock is on Debian).
ln -s "$S_SOCK" "$H_T/run/php-fpm.sock"
stack_diagnose link "$H_T/run/php-fpm.sock"
h_json_is "$H_T/link.json" 'r["socket"]' "$H_T/run/php-fpm.sock" "symlink: socket as asked"
h_json_is "$H_T/link.json" 'r["resolved"]' "$S_SOCK" "symlink: resolved to the pool's socket"
h_json_is "$H_T/link.json" 'r["verdict"]' denied "symlink: verdict denied"

# Every absolute path gets a verdict.
echo not-a-socket > "$H_T/plain-file"
stack_diagnose file "$H_T/plain-file"
h_json_is "$H_T/file.json" 'r["verdict"]' not-a-socket "a regular file: verdict not-a-socket"
h_json_is "$H_T/file.json" '[(f["code"], f["summary"]) for f in r["findings"]]' \
        "[[\"not-a-socket\", \"$H_T/plain-file is a regular file, not a socket\"]]" "  and its one finding says what stands there"
# A path whose lookup fails gets a verdict too, and the finding says what the lookup met.
ln -s loop "$H_T/loop"
stack_diagnose loop "$H_T/loop"
h_json_is "$H_T/loop.json" '[r["verdict"]] + [(f["code"], f["summary"]) for f in r["findings"]]' \
        "[\"not-a-socket\", [\"path-lookup-failed\", \"$H_T/loop has too many levels of symbolic links (a loop)\"]]" \
        "a symlink loop: not-a-socket, path-lookup-failed names the loop"
stack_diagnose notdir "$H_T/plain-file/php.sock"
h_json_is "$H_T/notdir.json" '[r["verdict"]] + [(f["code"], f["summary"]) for f in r["findings"]]' \
        "[\"not-a-socket\", [\"path-lookup-failed\", \"a component of $H_T/plain-file/php.sock is not a directory\"]]" \
        "a file where a directory should be: not-a-socket, path-lookup-failed says so"
h_ctl diagnose "$H_T/plain-file/php.sock" > "$H_T/notdir.txt" 2>&1
h_is "$?" 1 "sockfixctl diagnose of it exits 1 (a problem found)"
h_file_like "$H_T/notdir.txt" 'path-lookup-failed.*is not a directory' "  and prints the finding"
h_fix "$H_T/notdir-fix.json" "$H_T/plain-file/php.sock" auto '{"dry_run": true}'
h_is "$(h_answer_of "$H_T/notdir-fix.json")" org.sockfix.SockFix1.Error.NotASocket "  a Fix dry run of it: NotASocket"
stack_diagnose nothing "$H_T/run/nothing-here.sock"
h_json_is "$H_T/nothing.json" 'r["verdict"]' missing "a path that does not exist: verdict missing"

# The consumer option.
stack_diagnose only-nginx "$S_SOCK" '{"consumer": "nginx"}'
h_json_is "$H_T/only-nginx.json" '[c["user"] for c in r["consumers"]]' '["nginx"]' "consumer=nginx: only nginx"
stack_diagnose only-other "$S_SOCK" '{"consumer": "www-data"}'
h_json_is "$H_T/only-other.json" '[c["user"] for c in r.get("consumers", [])]' '[]' "consumer=www-data (not a web server here): no consumers"
# A consumer no user has is a typo, not a filter that matches nothing.
h_call "$H_T/nouser.json" Diagnose "\"$S_SOCK\"" '{"consumer": "sfx-no-such-user"}'
h_json_ok "$H_T/nouser.json" "r.get('error') == 'org.freedesktop.DBus.Error.InvalidArgs' and 'sfx-no-such-user' in r.get('message', '')" \
        "consumer=sfx-no-such-user: InvalidArgs naming it"
h_call "$H_T/nouser-all.json" DiagnoseAll '{"consumer": "sfx-no-such-user"}'
h_json_is "$H_T/nouser-all.json" 'r.get("error")' org.freedesktop.DBus.Error.InvalidArgs "  DiagnoseAll: InvalidArgs too"
h_call "$H_T/nouser-list.json" ListSockets '{"consumer": "sfx-no-such-user"}'
h_json_is "$H_T/nouser-list.json" 'r.get("error")' org.freedesktop.DBus.Error.InvalidArgs "  ListSockets: InvalidArgs too"
h_ctl diagnose --consumer=sfx-no-such-user "$S_SOCK" > "$H_T/nouser.txt" 2>&1
h_is "$?" 5 "  sockfixctl diagnose --consumer=sfx-no-such-user: exit 5 (bad input)"
h_file_like "$H_T/nouser.txt" "no user 'sfx-no-such-user'" "  and says why"

# The fields option: socket and the keys asked for, nothing else, the same answers.
h_call "$H_T/brief.json" DiagnoseAll '{"fields": ["verdict"]}'
h_is "$?" 0 "DiagnoseAll fields=[verdict] answers"
h_json_ok "$H_T/brief.json" "all(sorted(s) == ['socket', 'verdict'] for s in r)" "DiagnoseAll fields=[verdict]: every report has socket and verdict only"
h_json_is "$H_T/brief.json" "[s['verdict'] for s in r if s['socket'] == '$S_SOCK']" '["denied"]' "DiagnoseAll fields=[verdict]: verdict denied"
h_json_is "$H_T/brief.json" "len(r)" "$(h_json "$H_T/all.json" 'len(r)')" "DiagnoseAll fields=[verdict]: as many reports as the full sweep"
stack_diagnose findings-only "$S_SOCK" '{"fields": ["findings"]}'
h_json_is "$H_T/findings-only.json" 'sorted(r)' '["findings", "socket"]' "Diagnose fields=[findings]: socket and findings only"
h_json_is "$H_T/findings-only.json" 'r["findings"]' "$(h_json "$H_T/report.json" 'r["findings"]')" "Diagnose fields=[findings]: the full report's findings"
busctl --system --json=short call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" DiagnoseAll 'a{sv}' 1 fields as 2 verdict findings \
        > "$H_T/busctl-brief.raw" 2>&1
h_is "$?" 0 "busctl DiagnoseAll fields=[verdict, findings]"
"$H_PY" "$H_LIB_DIR/sfjson.py" unwrap < "$H_T/busctl-brief.raw" > "$H_T/busctl-brief.json"
h_json_ok "$H_T/busctl-brief.json" "all(sorted(s) == ['findings', 'socket', 'verdict'] for s in r)" "busctl: socket, verdict and findings only"
h_json_ok "$H_T/busctl-brief.json" "['socket-group-mismatch'] == [f['code'] for s in r if s['socket'] == '$S_SOCK' for f in s['findings'] if f['severity'] == 'error']" "busctl: the pool's error finding is socket-group-mismatch"
busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" DiagnoseAll 'a{sv}' 1 fields as 0 > "$H_T/busctl-empty.txt" 2>&1
h_is "$?" 1 "busctl DiagnoseAll with an empty fields list fails"
h_like "$(cat "$H_T/busctl-empty.txt")" 'empty list' "  with a message that says the list is empty"
ctl=$SOCKFIX_BUILD_DIR/client/sockfixctl
"$ctl" --json diagnose --fields=findings "$S_SOCK" > "$H_T/ctl-brief.json"
h_is "$?" 1 "sockfixctl diagnose --fields=findings: exit 1 (problem found)"
h_json_is "$H_T/ctl-brief.json" 'sorted(r)' '["findings", "socket", "verdict"]' "sockfixctl --fields=findings: socket, findings and verdict (for the exit status)"
"$ctl" diagnose --fields=verdicts "$S_SOCK" > /dev/null 2> "$H_T/ctl-badfield.txt"
h_is "$?" 5 "sockfixctl --fields with an unknown key: exit 5 (bad input)"
h_like "$(cat "$H_T/ctl-badfield.txt")" "Unknown report field 'verdicts'" "  naming the key"

# Any user can bind a socket at a path that is not UTF-8 from a process named php-fpm:
# the bus takes only UTF-8, and that one socket must not take the sweeps down with it.
odd=sfx-swp-odd-$$
h_ensure_user "$odd"
mkdir -m 1777 "$H_T/tmp"
runuser -u "$odd" -- "$H_PY" -c '
import ctypes, socket, sys, time
ctypes.CDLL(None).prctl(15, b"php-fpm", 0, 0, 0)
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1].encode() + b"/caf\xe9.sock")
s.listen()
t = socket.socket(socket.AF_UNIX)
t.bind(sys.argv[1].encode() + b"/\x1b[2J\x1b]0;owned\x07.sock")
t.listen()
print("listening", flush=True)
time.sleep(60)' "$H_T/tmp" > "$H_T/odd.out" 2>&1 &
H_PIDS+=($!)
odd_listening() { grep -q listening "$H_T/odd.out"; }
h_ok "$odd's php-fpm listens on $H_T/tmp/caf\xe9.sock" h_wait_for 50 odd_listening
for m in ListSockets DiagnoseAll; do
        h_call "$H_T/odd-$m.json" "$m" '{}'
        h_is "$?" 0 "$m still answers"
        h_json_ok "$H_T/odd-$m.json" "any(s.get('path', s.get('socket')) == '$H_T/tmp/caf\\\\xe9.sock' for s in r)" \
                "  with the odd socket's path, its byte escaped as \\xe9"
done
"$ctl" list > "$H_T/odd-ctl.txt" 2>&1
h_ok "sockfixctl list still answers" test "$?" -le 1
# A second socket of that process has terminal escapes in its name (clear the screen,
# set the window title): sockfixctl shows them as text, never sends them to a terminal.
h_ok "  it prints no control character" bash -c "! LC_ALL=C grep -q '[[:cntrl:]]' <(tr -d '\n' < '$H_T/odd-ctl.txt')"
h_ok "  and shows the escapes as text" grep -qF '\x1b[2J\x1b]0;owned\x07.sock' "$H_T/odd-ctl.txt"

# Anyone may read the Strategies property (polkit is not asked), so sockfixd answers it
# from the model it keeps, worked out once per model: a reader must not make it rebuild
# a stale model or walk the pools' directories on each read. After a config change, 40
# reads by an unprivileged user must read less from files (/proc included) than the one
# Diagnose that then rebuilds the model.
rchar() { awk '/^rchar:/ { print $2 }' "/proc/$H_SOCKFIXD_PID/io"; }
strategies_as_nobody() {
        runuser -u nobody -- busctl --system get-property "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Strategies
}
strategies_as_nobody > "$H_T/strategies-0.txt" 2>&1
h_is "$?" 0 "nobody may read the Strategies property ($(head -c 120 "$H_T/strategies-0.txt"))"
touch "$S_POOL_CONF" # the kept model is stale from here
r0=$(rchar)
for _ in $(seq 40); do strategies_as_nobody > "$H_T/strategies-n.txt" 2>&1 || break; done
r1=$(rchar)
stack_diagnose rebuilt "$S_SOCK"
r2=$(rchar)
h_log "sockfixd read $((r1 - r0)) bytes for 40 reads of Strategies, $((r2 - r1)) for the Diagnose that rebuilt its model"
h_ok "  40 reads of a stale model's Strategies read less than a fifth of one rebuild" \
        test $(((r1 - r0) * 5)) -lt $((r2 - r1))
h_ok "  the 40th read gives the same strategies" cmp -s "$H_T/strategies-0.txt" "$H_T/strategies-n.txt"
h_done
