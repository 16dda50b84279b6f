#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The write half of the bus contract on the real seed case (nginx's workers as a user
# outside www-data, pool socket www-data:www-data 0660, HTTP 502), through the clients
# users have:
#   a dry run (busctl) plans and changes nothing; a misspelt option changes nothing;
#   Fix auto (python3-dbus) applies pool-acl, verifies, HTTP 200, TransactionFinished;
#   ListTransactions lists it; Revert restores the pool file byte for byte and the 502
#   comes back after php-fpm's next start; an unauthorized caller changes nothing;
#   sockfixctl --json fix --dry-run; a regular file and a symlink to /etc/shadow are
#   NotASocket and stay unchanged; member (a fix that waits for nginx's reload) applies
#   and reverts, with Diagnose served meanwhile; with activation none (sockfixctl
#   --no-reload) nothing is reloaded or verified, and verdict_after says what the
#   kernel's rule gives now (ok for pool-acl's live ACL, denied for a membership).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init fix-bus

ctl=$SOCKFIX_BUILD_DIR/client/sockfixctl
# A web-server user of our own: the member fix below changes its groups, and the
# machine's shared `nginx` user must not be touched while other tests use it.
S_WEB_USER=sfx-fixbus-web
H_SNAPSHOT_NAMES+=" $S_WEB_USER"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"

sock_json() { echo "\"$1\""; }
# fix OUT SOCKET STRATEGY [OPTIONS-JSON]: Fix over python3-dbus, reply or error in OUT.
fix() { h_call "$1" Fix "$(sock_json "$2")" "\"$3\"" "${4:-{\}}"; }
error_of() { h_json "$1" 'r.get("error", "")'; }
is_hex_id() { [[ $1 =~ ^[0-9a-f]{32}$ ]]; }

# The signal, as a panel would receive it: python3-dbus with the GLib main loop.
h_spawn signal-receiver "$H_T/signals.txt" "$H_PY" -u -c '
import dbus, dbus.mainloop.glib
from gi.repository import GLib
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SystemBus()
def finished(tx, sock, outcome):
    print("signal", tx, sock, outcome, flush=True)
bus.add_signal_receiver(finished, signal_name="TransactionFinished",
                        dbus_interface="org.sockfix.SockFix1.Manager", path="/org/sockfix/SockFix1")
print("ready", flush=True)
GLib.MainLoop().run()'
h_wait_for 50 grep -q '^ready' "$H_T/signals.txt" || h_die "the signal receiver did not start"

# --- (a) a dry run through busctl: the full plan, nothing changed
stack_snapshot before-dry
workers_before=$(stack_worker_pids | paste -sd, -)
busctl --system --json=short call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Fix 'ssa{sv}' "$S_SOCK" auto \
        1 dry_run b true > "$H_T/dry.raw" 2>&1
h_is "$?" 0 "busctl Fix dry_run answers"
"$H_PY" "$H_LIB_DIR/sfjson.py" unwrap < "$H_T/dry.raw" > "$H_T/dry.json" 2>&1
h_json_is "$H_T/dry.json" 'r["outcome"]' planned "dry run: outcome planned"
h_json_ok "$H_T/dry.json" 'len(r["changes"]) > 0' "dry run: the plan lists changes"
h_json_ok "$H_T/dry.json" 'all(set(c) >= {"kind", "target", "before", "after"} for c in r["changes"])' \
        "dry run: each change has kind, target, before, after"
h_json_is "$H_T/dry.json" 'r["transaction"]' "" "dry run: empty transaction"
h_json_is "$H_T/dry.json" 'r["verdict_before"]' denied "dry run: verdict_before denied"
stack_snapshot after-dry
h_assert_unchanged before-dry after-dry "dry run changed nothing (socket, pool file, nginx config, users)"
h_is "$(stack_worker_pids | paste -sd, -)" "$workers_before" "dry run reloaded nothing (same nginx workers)"
h_is "$(h_http_status "$S_URL")" 502 "after the dry run: still HTTP 502"

# --- (b) malformed options and arguments: InvalidArgs, nothing changed
fix "$H_T/typo.json" "$S_SOCK" auto '{"dryrun": true}'
h_is "$(error_of "$H_T/typo.json")" org.freedesktop.DBus.Error.InvalidArgs "unknown option key dryrun: InvalidArgs"
fix "$H_T/type.json" "$S_SOCK" auto '{"dry_run": "yes"}'
h_is "$(error_of "$H_T/type.json")" org.freedesktop.DBus.Error.InvalidArgs "dry_run of type s: InvalidArgs"
fix "$H_T/strategy.json" "$S_SOCK" chmod-777 '{}'
h_is "$(error_of "$H_T/strategy.json")" org.freedesktop.DBus.Error.InvalidArgs "unknown strategy: InvalidArgs"
fix "$H_T/activation.json" "$S_SOCK" auto '{"activation": "later"}'
h_is "$(error_of "$H_T/activation.json")" org.freedesktop.DBus.Error.InvalidArgs "activation 'later': InvalidArgs"
fix "$H_T/relative.json" run/php8.2-fpm.sock auto '{}'
h_is "$(error_of "$H_T/relative.json")" org.freedesktop.DBus.Error.InvalidArgs "relative socket path: InvalidArgs"
busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Fix 'ssa{sv}' "$S_SOCK" auto \
        2 dry_run b true dry_run b true > "$H_T/dup.txt" 2>&1
h_like "$(cat "$H_T/dup.txt")" "given twice" "an option given twice: refused"
stack_snapshot after-typos
h_assert_unchanged before-dry after-typos "malformed calls changed nothing"

# --- (f) an unauthorized caller (before anything was fixed)
runuser -u nobody -- "$H_PY" "$H_LIB_DIR/sfjson.py" call Fix "$(sock_json "$S_SOCK")" '"auto"' '{}' \
        > "$H_T/nobody.json" 2>&1
err=$(error_of "$H_T/nobody.json")
h_like "$err" '^org\.freedesktop\.DBus\.Error\.(AccessDenied|InteractiveAuthorizationRequired)$' \
        "nobody: Fix refused by polkit ($err)"
runuser -u nobody -- "$H_PY" "$H_LIB_DIR/sfjson.py" call Fix "$(sock_json "$S_SOCK")" '"auto"' '{"dry_run": true}' \
        > "$H_T/nobody-dry.json" 2>&1
err=$(error_of "$H_T/nobody-dry.json")
h_like "$err" '^org\.freedesktop\.DBus\.Error\.(AccessDenied|InteractiveAuthorizationRequired)$' \
        "nobody: a dry run is refused too (diagnose action) ($err)"
stack_snapshot after-nobody
h_assert_unchanged before-dry after-nobody "the unauthorized caller changed nothing"
h_is "$(h_http_status "$S_URL")" 502 "after the unauthorized call: still HTTP 502"

# --- (g) sockfixctl: the dry run as JSON, and human words
"$ctl" --json fix --dry-run "$S_SOCK" > "$H_T/ctl-dry.json" 2> "$H_T/ctl-dry.err"
h_is "$?" 0 "sockfixctl --json fix --dry-run: exit 0"
h_json_ok "$H_T/ctl-dry.json" 'isinstance(r, dict)' "sockfixctl --json fix prints one JSON object"
h_json_is "$H_T/ctl-dry.json" 'r["outcome"]' planned "sockfixctl --json fix --dry-run: outcome planned"
h_json_is "$H_T/ctl-dry.json" 'type(r["verified"]).__name__' bool "sockfixctl --json: verified is a boolean"
"$ctl" fix --dry-run "$S_SOCK" > "$H_T/ctl-dry.txt" 2>&1
h_is "$?" 0 "sockfixctl fix --dry-run (human): exit 0"
h_like "$(cat "$H_T/ctl-dry.txt")" "planned" "sockfixctl fix --dry-run says planned"
h_like "$(cat "$H_T/ctl-dry.txt")" "socket-acl $S_SOCK: " "sockfixctl fix --dry-run names the socket-acl change"
"$ctl" fix --strategy=chmod-777 "$S_SOCK" > /dev/null 2>&1
h_is "$?" 5 "sockfixctl fix --strategy=unknown: exit 5 (bad input)"
"$ctl" diagnose --dry-run "$S_SOCK" > /dev/null 2>&1
h_is "$?" 5 "sockfixctl diagnose --dry-run: exit 5 (usage)"
"$ctl" revert 0123456789abcdef0123456789abcdef > /dev/null 2> "$H_T/ctl-unknown.err"
h_is "$?" 8 "sockfixctl revert UNKNOWN-ID: exit 8 (refused by sockfix)"
"$ctl" revert not-an-id > /dev/null 2>&1
h_is "$?" 5 "sockfixctl revert MALFORMED-ID: exit 5 (bad input)"
stack_snapshot after-ctl
h_assert_unchanged before-dry after-ctl "sockfixctl dry runs and refusals changed nothing"

# --- (h) not sockets: a regular file, and a symlink to /etc/shadow
echo data > "$S_SOCK_DIR/regular.sock"
fix "$H_T/regular.json" "$S_SOCK_DIR/regular.sock" auto
h_is "$(error_of "$H_T/regular.json")" org.sockfix.SockFix1.Error.NotASocket "a regular file: NotASocket"
# What a fix could do to a file: mode, owner, group, ACL. (Its content and inode are
# not compared: other sessions on a shared machine add users meanwhile.)
perm_stat() { stat -c '%a %U:%G' "$1"; getfacl -p "$1" 2>/dev/null; }
perm_stat /etc/shadow > "$H_T/shadow.before"
ln -s /etc/shadow "$S_SOCK_DIR/shadow.sock"
for strategy in auto pool-acl pool-group member dir-search; do
        fix "$H_T/shadow-$strategy.json" "$S_SOCK_DIR/shadow.sock" "$strategy"
        h_is "$(error_of "$H_T/shadow-$strategy.json")" org.sockfix.SockFix1.Error.NotASocket \
                "a symlink to /etc/shadow, $strategy: NotASocket"
done
perm_stat /etc/shadow > "$H_T/shadow.after"
h_ok "/etc/shadow unchanged (mode, owner, group, ACL)" cmp -s "$H_T/shadow.before" "$H_T/shadow.after"
# A root-only file of our own, where nothing else can change a byte.
echo secret > "$H_T/victim" && chmod 0600 "$H_T/victim"
victim_stat() { stat -c '%a %U:%G %s %Y %Z %i' "$H_T/victim"; getfacl -p "$H_T/victim" 2>/dev/null; sha256sum "$H_T/victim"; }
victim_stat > "$H_T/victim.before"
ln -s "$H_T/victim" "$S_SOCK_DIR/victim.sock"
fix "$H_T/victim.json" "$S_SOCK_DIR/victim.sock" auto
h_is "$(error_of "$H_T/victim.json")" org.sockfix.SockFix1.Error.NotASocket "a symlink to a root-only file: NotASocket"
victim_stat > "$H_T/victim.after"
h_ok "the root-only file is unchanged (stat, ACL, content)" cmp -s "$H_T/victim.before" "$H_T/victim.after"
h_like "$(h_json "$H_T/shadow-auto.json" 'r["message"]')" "shadow\.sock" "the NotASocket message names the path"

# --- (c) Fix auto through python3-dbus: pool-acl, verified, HTTP 200, the signal
fix "$H_T/fix.json" "$S_SOCK" auto
h_is "$?" 0 "python3-dbus Fix auto answers"
h_json_is "$H_T/fix.json" 'r["outcome"]' applied "Fix auto: outcome applied"
h_json_is "$H_T/fix.json" 'r["verified"]' true "Fix auto: verified"
h_json_is "$H_T/fix.json" 'r["strategy"]' pool-acl "Fix auto: strategy pool-acl"
h_json_is "$H_T/fix.json" 'r["verdict_after"]' ok "Fix auto: verdict_after ok"
h_json_ok "$H_T/fix.json" 'len(r["reason"]) > 0' "Fix auto: a reason"
h_json_ok "$H_T/fix.json" 'any(c["kind"] == "socket-acl" for c in r["changes"]) and any(c["kind"] == "pool-config" for c in r["changes"])' \
        "Fix auto: changed the live socket and the pool file"
tx=$(h_json "$H_T/fix.json" 'r["transaction"]')
h_ok "Fix auto: a transaction id ($tx)" is_hex_id "$tx"
h_is "$(h_http_status "$S_URL")" 200 "after the fix: HTTP 200 through nginx"
h_is "$(( 8#$(stat -c %a "$S_SOCK") & 2 ))" 0 "the socket is not other-writable"
h_wait_for 50 grep -q "^signal $tx $S_SOCK applied$" "$H_T/signals.txt"
h_file_like "$H_T/signals.txt" "^signal $tx $S_SOCK applied$" "TransactionFinished($tx, socket, applied) received"

# --- (d) ListTransactions, and sockfixctl history
h_call "$H_T/list.json" ListTransactions '{}'
h_is "$?" 0 "ListTransactions answers"
sel="[t for t in r if t['transaction'] == '$tx']"
h_json_is "$H_T/list.json" "len($sel)" 1 "ListTransactions lists the transaction"
h_json_is "$H_T/list.json" "$sel[0]['socket']" "$S_SOCK" "the record names the socket"
h_json_is "$H_T/list.json" "$sel[0]['strategy']" pool-acl "the record names the strategy"
h_json_is "$H_T/list.json" "$sel[0]['outcome']" applied "the record's outcome is applied"
h_json_is "$H_T/list.json" "$sel[0]['uid']" 0 "the record's caller uid is root's"
h_json_ok "$H_T/list.json" "$sel[0]['time'] > 1600000000 * 10**6 and len($sel[0]['changes']) > 0" \
        "the record has a time in microseconds and the changes"
h_call "$H_T/list-typo.json" ListTransactions '{"all": true}'
h_is "$(error_of "$H_T/list-typo.json")" org.freedesktop.DBus.Error.InvalidArgs "ListTransactions with an option: InvalidArgs"
"$ctl" --json history > "$H_T/ctl-history.json" 2>&1
h_is "$?" 0 "sockfixctl --json history: exit 0"
h_json_ok "$H_T/ctl-history.json" "isinstance(r, list) and any(t['transaction'] == '$tx' and isinstance(t['time'], int) for t in r)" \
        "sockfixctl --json history: an array, time a number"
"$ctl" history > "$H_T/ctl-history.txt" 2>&1
h_like "$(cat "$H_T/ctl-history.txt")" "$tx +0 +$S_SOCK +pool-acl +applied" "sockfixctl history: a table row for it"

# --- (e) Revert: the pool file byte for byte, and the 502 after php-fpm's next start
h_call "$H_T/revert-typo.json" Revert "\"$tx\"" '{"force": true}'
h_is "$(error_of "$H_T/revert-typo.json")" org.freedesktop.DBus.Error.InvalidArgs "Revert with an option: InvalidArgs"
h_call "$H_T/revert-bad.json" Revert '"0123456789ABCDEF0123456789ABCDEF"' '{}'
h_is "$(error_of "$H_T/revert-bad.json")" org.freedesktop.DBus.Error.InvalidArgs "Revert of an upper-case id: InvalidArgs"
h_call "$H_T/revert.json" Revert "\"$tx\"" '{}'
h_is "$?" 0 "Revert answers"
h_json_is "$H_T/revert.json" 'r["outcome"]' reverted "Revert: outcome reverted"
h_json_is "$H_T/revert.json" 'r["transaction"]' "$tx" "Revert: names the transaction"
h_json_ok "$H_T/revert.json" 'len(r["changes"]) > 0' "Revert: lists what it undid"
h_ok "the pool file is byte-identical to before the fix" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_wait_for 50 grep -q "^signal $tx $S_SOCK reverted$" "$H_T/signals.txt"
h_file_like "$H_T/signals.txt" "^signal $tx $S_SOCK reverted$" "TransactionFinished($tx, socket, reverted) received"
h_call "$H_T/revert-again.json" Revert "\"$tx\"" '{}'
h_is "$(error_of "$H_T/revert-again.json")" org.sockfix.SockFix1.Error.UnknownTransaction "a second Revert: UnknownTransaction"
h_stop "$S_FPM_PID"
stack_start_fpm
h_is "$(h_http_status "$S_URL")" 502 "after php-fpm's full stop and start: HTTP 502 again"
h_call "$H_T/list2.json" ListTransactions '{}'
h_json_is "$H_T/list2.json" "[t['outcome'] for t in r if t['transaction'] == '$tx'][0]" reverted "the record now says reverted"

# --- member: a fix that waits for nginx's reload (the asynchronous path)
stack_snapshot before-member
h_at_exit "gpasswd -d $S_WEB_USER www-data > /dev/null 2>&1; true"
fix "$H_T/member.json" "$S_SOCK" member > /dev/null &
member_pid=$!
h_diagnose "$H_T/during.json" "$S_SOCK"
h_is "$?" 0 "Diagnose is answered while a fix runs"
wait "$member_pid"
h_json_is "$H_T/member.json" 'r.get("outcome", r.get("error"))' applied "Fix member: outcome applied"
h_json_is "$H_T/member.json" 'r["verified"]' true "Fix member: verified after nginx's reload"
h_json_ok "$H_T/member.json" 'len(r["activations"]) > 0' "Fix member: reports the reload"
mtx=$(h_json "$H_T/member.json" 'r["transaction"]')
h_is "$(h_http_status "$S_URL")" 200 "after member: HTTP 200"
in_www_data() { id -nG "$S_WEB_USER" | tr ' ' '\n' | grep -qx www-data; }
h_ok "$S_WEB_USER is now in www-data" in_www_data
h_wait_for 50 grep -q "^signal $mtx $S_SOCK applied$" "$H_T/signals.txt"
h_file_like "$H_T/signals.txt" "^signal $mtx $S_SOCK applied$" "TransactionFinished for the member fix"
"$ctl" revert "$mtx" > "$H_T/ctl-revert.txt" 2>&1
h_is "$?" 0 "sockfixctl revert: exit 0"
h_like "$(cat "$H_T/ctl-revert.txt")" "reverted" "sockfixctl revert says reverted"
not_in_www_data() { ! in_www_data; }
h_ok "$S_WEB_USER is no longer in www-data" not_in_www_data

# --- activation none (sockfixctl --no-reload): nothing is reloaded and nothing verified,
# but verdict_after says what the kernel's rule gives now: the live ACL of pool-acl lets
# the workers in at once; a membership waits for the reload that was not made.
one_worker() { [[ $(stack_worker_pids | wc -l) -eq 1 ]]; } # the revert's reload has settled
h_wait_for 100 one_worker
workers=$(stack_worker_pids | tr '\n' ' ')
"$ctl" --json fix --no-reload --strategy=pool-acl "$S_SOCK" > "$H_T/noreload.json" 2> "$H_T/noreload.err"
h_is "$?" 0 "sockfixctl fix --no-reload --strategy=pool-acl: exit 0"
h_json_is "$H_T/noreload.json" '[r["outcome"], r["verified"], r["verdict_before"], r.get("verdict_after")]' \
        '["applied", false, "denied", "ok"]' "  applied, not verified, verdict denied before and ok after"
h_is "$(stack_worker_pids | tr '\n' ' ')" "$workers" "  no reload: the same nginx workers"
h_is "$(h_http_status "$S_URL")" 200 "  HTTP 200 at once"
"$ctl" revert "$(h_json "$H_T/noreload.json" 'r["transaction"]')" > /dev/null 2>&1
h_is "$?" 0 "  and reverted"
"$ctl" --json fix --no-reload --strategy=member "$S_SOCK" > "$H_T/noreload-member.json" 2>&1
h_is "$?" 0 "sockfixctl fix --no-reload --strategy=member: exit 0"
h_json_is "$H_T/noreload-member.json" '[r["outcome"], r["verified"], r.get("verdict_after")]' \
        '["applied", false, "denied"]' "  applied, not verified, verdict_after denied: the workers lack the group until a reload"
h_ok "  $S_WEB_USER is in www-data" in_www_data
h_is "$(stack_worker_pids | tr '\n' ' ')" "$workers" "  and nginx was not reloaded"
"$ctl" revert "$(h_json "$H_T/noreload-member.json" 'r["transaction"]')" > /dev/null 2>&1
h_is "$?" 0 "  reverted"
h_ok "  $S_WEB_USER is no longer in www-data" not_in_www_data

h_ok "sockfixd still owns its name" h_has_name "$H_BUS_NAME"
h_done
