#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The clients real users have, each calling Diagnose on a real seed-case stack (nginx as
# `nginx`, socket www-data:www-data 0660) and each reading verdict `denied`: busctl,
# gdbus, python3-dbus, Perl Net::DBus, and sockfixctl (--json, human output, exit codes).
# dbus-send cannot build an a{sv} (no variants inside containers), so it reads a
# property and gets a clear InvalidArgs for the closest it can send.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init clients

stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"

# busctl
busctl --system --json=short call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{sv}' "$S_SOCK" 0 \
        > "$H_T/busctl.raw" 2>&1
h_is "$?" 0 "busctl call Diagnose"
"$H_PY" "$H_LIB_DIR/sfjson.py" unwrap < "$H_T/busctl.raw" > "$H_T/busctl.json" 2>&1
h_json_is "$H_T/busctl.json" 'r["verdict"]' denied "busctl: verdict denied"
busctl --system --json=short call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{sv}' "$S_SOCK" 1 evidence b true \
        2>&1 | "$H_PY" "$H_LIB_DIR/sfjson.py" unwrap > "$H_T/busctl-ev.json" 2>&1
h_json_ok "$H_T/busctl-ev.json" 'any("Permission denied" in l for l in r.get("evidence", []))' "busctl: evidence option works"

# gdbus (GVariant text)
gdbus call --system --dest "$H_BUS_NAME" --object-path "$H_OBJECT" --method "$H_IFACE.Diagnose" \
        "$S_SOCK" '@a{sv} {}' > "$H_T/gdbus.txt" 2>&1
h_is "$?" 0 "gdbus call Diagnose"
h_like "$(cat "$H_T/gdbus.txt")" "'verdict': <'denied'>" "gdbus: verdict denied"

# python3-dbus, through the proxy object as a panel would write it
"$H_PY" - "$S_SOCK" > "$H_T/python.txt" 2>&1 << 'PY'
import dbus, sys
bus = dbus.SystemBus()
mgr = dbus.Interface(bus.get_object("org.sockfix.SockFix1", "/org/sockfix/SockFix1"),
                     "org.sockfix.SockFix1.Manager")
report = mgr.Diagnose(sys.argv[1], dbus.Dictionary({}, signature="sv"))
print(report["verdict"])
print(",".join(str(f["code"]) for f in report.get("findings", [])))
PY
h_is "$(head -n 1 "$H_T/python.txt")" denied "python3-dbus: verdict denied"
h_like "$(sed -n 2p "$H_T/python.txt")" socket-group-mismatch "python3-dbus: finding socket-group-mismatch"

# Perl Net::DBus (the binding of many hosting panels)
perl -MNet::DBus -e '
my $bus = Net::DBus->system;
my $svc = $bus->get_service("org.sockfix.SockFix1");
my $mgr = $svc->get_object("/org/sockfix/SockFix1", "org.sockfix.SockFix1.Manager");
my $r = $mgr->Diagnose($ARGV[0], {});
print $r->{verdict}, "\n";' "$S_SOCK" > "$H_T/perl.txt" 2>&1
h_is "$(head -n 1 "$H_T/perl.txt")" denied "Perl Net::DBus: verdict denied"
[[ $(head -n 1 "$H_T/perl.txt") == denied ]] || sed 's/^/#   /' "$H_T/perl.txt"

# dbus-send: a property, and the closest Diagnose it can marshal (a{ss}) is refused clearly
dbus-send --system --print-reply --dest="$H_BUS_NAME" "$H_OBJECT" org.freedesktop.DBus.Properties.Get \
        string:"$H_IFACE" string:Version > "$H_T/dbus-send.txt" 2>&1
h_is "$?" 0 "dbus-send: Get Version"
h_like "$(cat "$H_T/dbus-send.txt")" 'variant +string "[0-9]' "dbus-send: Version is a string"
dbus-send --system --print-reply --dest="$H_BUS_NAME" "$H_OBJECT" "$H_IFACE.Diagnose" \
        string:"$S_SOCK" dict:string:string: > "$H_T/dbus-send-diag.txt" 2>&1
h_like "$(cat "$H_T/dbus-send-diag.txt")" '^Error org\.freedesktop\.DBus\.Error\.InvalidArgs' "dbus-send: Diagnose with a{ss} -> InvalidArgs"
h_ok "sockfixd still owns its name" h_has_name "$H_BUS_NAME"

# sockfixctl
ctl=$SOCKFIX_BUILD_DIR/client/sockfixctl
if [[ ! -x $ctl ]]; then
        h_fail "sockfixctl is built ($ctl)"
        h_done
fi
"$ctl" --json diagnose "$S_SOCK" > "$H_T/ctl.json" 2> "$H_T/ctl.err"
h_is "$?" 1 "sockfixctl diagnose: exit 1 (problem found)"
h_json_ok "$H_T/ctl.json" 'isinstance(r, dict)' "sockfixctl --json diagnose SOCK prints one JSON object"
h_json_is "$H_T/ctl.json" 'r["verdict"]' denied "sockfixctl --json: verdict denied"
h_json_is "$H_T/ctl.json" 'type(r["mode"]).__name__' int "sockfixctl --json: mode is a number"
h_json_is "$H_T/ctl.json" 'r["mode"]' 432 "sockfixctl --json: mode 432 (0660)"
h_json_ok "$H_T/ctl.json" '[f["code"] for f in r["findings"]].count("socket-group-mismatch") >= 1' "sockfixctl --json: finding socket-group-mismatch"
"$ctl" --json diagnose --evidence "$S_SOCK" > "$H_T/ctl-ev.json" 2> /dev/null
h_json_ok "$H_T/ctl-ev.json" 'any("Permission denied" in l for l in r.get("evidence", []))' "sockfixctl diagnose --evidence"
"$ctl" diagnose "$S_SOCK" > "$H_T/ctl.txt" 2>&1
h_is "$?" 1 "sockfixctl diagnose (human): exit 1"
h_like "$(cat "$H_T/ctl.txt")" 'denied' "sockfixctl diagnose (human) says denied"
h_like "$(cat "$H_T/ctl.txt")" 'socket-group-mismatch' "sockfixctl diagnose (human) names the finding"
"$ctl" --json diagnose "$S_SOCK" "$S_SOCK" > "$H_T/ctl-two.json" 2> /dev/null
h_json_ok "$H_T/ctl-two.json" 'isinstance(r, list) and len(r) == 2' "sockfixctl --json diagnose with two sockets prints an array"
"$ctl" --json status > "$H_T/ctl-status.json" 2> /dev/null
h_is "$?" 0 "sockfixctl status: exit 0"
h_json_ok "$H_T/ctl-status.json" '"version" in r and isinstance(r.get("strategies"), list)' "sockfixctl --json status: version and strategies"
"$ctl" --json list > "$H_T/ctl-list.json" 2> /dev/null
h_json_ok "$H_T/ctl-list.json" "isinstance(r, list) and any(s.get('path') == '$S_SOCK' for s in r)" "sockfixctl --json list includes the pool's socket"
"$ctl" --json diagnose relative.sock > /dev/null 2>&1
h_is "$?" 5 "sockfixctl diagnose RELATIVE: exit 5 (bad input)"
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$H_T/no-such-bus "$ctl" --json diagnose "$S_SOCK" > /dev/null 2>&1
h_is "$?" 6 "sockfixctl with no bus: exit 6 (service unreachable)"
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$H_T/no-such-bus "$ctl" diagnose > "$H_T/ctl-noargs.txt" 2>&1
h_is "$?" 5 "sockfixctl diagnose without a socket, and no bus: exit 5 (bad input comes first)"
h_file_like "$H_T/ctl-noargs.txt" '^sockfixctl: diagnose takes SOCKET\.\.\. or --all$' "  and says what it takes"
# The contract's rules for values (dbus/sockfix-contract.c) apply before connecting too.
for bad in "diagnose relative.sock:is not absolute" "fix --strategy=bogus /x.sock:Unknown strategy 'bogus'" \
        "revert NOTHEX:is not 32 lower-case hex digits"; do
        DBUS_SYSTEM_BUS_ADDRESS=unix:path=$H_T/no-such-bus "$ctl" ${bad%%:*} > "$H_T/ctl-bad.txt" 2>&1
        h_is "$?" 5 "sockfixctl ${bad%%:*}, no bus: exit 5 (bad input comes first)"
        h_file_like "$H_T/ctl-bad.txt" "${bad#*:}" "  with the service's own words: ${bad#*:}"
done
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$H_T/no-such-bus "$ctl" diagnose "$S_SOCK" > "$H_T/ctl-nobus.txt" 2>&1
h_file_like "$H_T/ctl-nobus.txt" "cannot connect to the system bus .unix:path=$H_T/no-such-bus." \
        "with no bus: the message names the bus's address, not the socket"
"$ctl" list --evidence > "$H_T/ctl-list-ev.txt" 2>&1
h_is "$?" 5 "sockfixctl list --evidence: exit 5 (socket records carry no log lines)"
h_file_like "$H_T/ctl-list-ev.txt" '^sockfixctl: list does not take --evidence$' "  and says so"
"$ctl" status --consumer=nginx > "$H_T/ctl-status-c.txt" 2>&1
h_is "$?" 5 "sockfixctl status --consumer: exit 5 (status reads properties only)"
"$ctl" --json list --consumer=nginx > "$H_T/ctl-list-c.json" 2> /dev/null
h_is "$?" 0 "sockfixctl list --consumer=nginx: exit 0"
"$ctl" --frob status > "$H_T/ctl-frob.txt" 2>&1
h_is "$?" 5 "sockfixctl --frob: exit 5"
h_file_like "$H_T/ctl-frob.txt" "^sockfixctl: bad option '--frob'; see --help$" "  named as sockfixctl, not by its path"
# -H over ssh to a host that does not resolve: the connection fails, not the service.
"$ctl" -H sockfix-no-such-host.invalid status > "$H_T/ctl-host.txt" 2>&1
h_is "$?" 6 "sockfixctl -H to a host that cannot be reached: exit 6 (service unreachable)"
h_file_like "$H_T/ctl-host.txt" 'can sockfix-no-such-host\.invalid be reached over ssh' "  and asks whether the host can be reached"
h_ensure_user "sfx-ctl-$$"
runuser -u "sfx-ctl-$$" -- "$ctl" --no-ask-password --json diagnose "$S_SOCK" > /dev/null 2>&1
h_is "$?" 4 "sockfixctl as an unauthorized user: exit 4 (not authorized)"

# Now a healthy pool: nginx is named in the socket's ACL.
stack_restart_fpm --acl-users nginx,www-data
h_is "$(h_http_status "$S_URL")" 200 "the pool re-created its socket with nginx in the ACL: HTTP 200"
"$ctl" --json diagnose "$S_SOCK" > "$H_T/ctl-ok.json" 2> /dev/null
h_is "$?" 0 "sockfixctl diagnose of a healthy socket: exit 0"
h_json_is "$H_T/ctl-ok.json" 'r["verdict"]' ok "sockfixctl --json: verdict ok"
h_done
