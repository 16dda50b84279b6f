#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Who may ask, with the real polkitd and the project's policy:
#   root -> Diagnose works (uid 0 passes without asking);
#   a panel account granted by the example rules file (its group) -> works, through
#     busctl and python3-dbus under runuser;
#   an outsider -> org.freedesktop.DBus.Error.AccessDenied or InteractiveAuthorizationRequired;
#   nobody but root may own org.sockfix.SockFix1 (bus policy);
#   malformed arguments -> org.freedesktop.DBus.Error.InvalidArgs;
#   callers that leave mid-call (also mid-authorization) do not hurt the daemon, and one
#   that leaves while polkit decides has its query dropped at once;
#   polkit answering too late -> AccessDenied at the call timeout (sockfixd runs with
#     SYSTEMD_BUS_TIMEOUT=2 here), root served meanwhile;
#   polkitd gone -> non-root callers get a clear denial, root is still served.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init authorization

# Per-run names: another session may run this test at the same time.
panel=sfx-panel-$$ outsider=sfx-out-$$
# pm=ondemand: a connection to the pool forks a PHP worker, so a probe shows.
stack_up --owner www-data --group www-data --mode 0660 --pm ondemand
# The non-interactive authorization timeout, sd-bus's call timeout: 2 s, so that a 3 s
# polkit rule below outlasts it. Set for the daemon only (clients keep 25 s).
SYSTEMD_BUS_TIMEOUT=2 h_sockfix_up

# as USER [CMD...]: runs CMD as USER with USER's groups (runuser, not setpriv).
as() { local u=$1; shift; runuser -u "$u" -- "$@"; }
# sfcall OUT USER METHOD ARGS...: python3-dbus call as USER, JSON reply or error in OUT.
sfcall() { local out=$1 u=$2; shift 2; as "$u" "$H_PY" "$H_LIB_DIR/sfjson.py" call "$@" > "$out"; }
is_auth_error() { [[ $1 == org.freedesktop.DBus.Error.AccessDenied || $1 == org.freedesktop.DBus.Error.InteractiveAuthorizationRequired ]]; }
diag_json() { echo "\"$1\""; }

# --- root
h_diagnose "$H_T/root.json" "$S_SOCK"
h_is "$?" 0 "root: Diagnose answers"
h_json_is "$H_T/root.json" 'r["verdict"]' denied "root: the report has verdict denied"
busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{sv}' "$S_SOCK" 0 > "$H_T/root.busctl" 2>&1
h_is "$?" 0 "root: busctl call Diagnose answers"

# --- accounts
# The example rules file grants the group "sockfix". Other sessions on a shared machine
# create and delete that group too, so the test installs the shipped file with the group
# renamed to its own (the rule's logic is the shipped one, byte for byte otherwise).
group=sfxg-$$
h_ensure_group "$group"
h_ensure_user "$panel" "$group"
h_ensure_user "$outsider"
if rules=$(h_example_rules_file); then
        h_pass "the example rules file ships in polkit/ ($(basename "$rules"))"
        h_ok "the example rules file grants the group sockfix" grep -q 'isInGroup("sockfix")' "$rules"
        sed "s/isInGroup(\"sockfix\")/isInGroup(\"$group\")/" "$rules" > "$H_T/rules.js"
        h_install_rules "$H_T/rules.js"
else
        h_fail "the example rules file ships in polkit/"
fi

# --- the panel account (group sockfix, granted by the rules file)
panel_busctl() { as "$panel" busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{sv}' "$S_SOCK" 0 > "$H_T/panel.busctl" 2>&1; }
h_wait_for 50 panel_busctl # polkitd reads new rules within about a second
rc=$?
h_is "$rc" 0 "panel account: busctl Diagnose answers"
[[ $rc -eq 0 ]] || sed 's/^/#   /' "$H_T/panel.busctl"
sfcall "$H_T/panel.json" "$panel" Diagnose "$(diag_json "$S_SOCK")" '{}'
h_json_is "$H_T/panel.json" 'r.get("verdict", r.get("error"))' denied "panel account: python3-dbus Diagnose gives verdict denied"
sfcall "$H_T/panel-list.json" "$panel" ListSockets '{}'
h_json_ok "$H_T/panel-list.json" 'isinstance(r, list)' "panel account: ListSockets answers"
# Beyond sockets a report would be a stat() and a readlink() of any path. In a directory
# every user may search, a link to /etc/shadow: the panel learns only that it is no
# socket (as ls -l would show it the link is there); root sees the rest.
mkdir -m 0755 "$H_T/open"
ln -s /etc/shadow "$H_T/open/key"
sfcall "$H_T/panel-open.json" "$panel" Diagnose "$(diag_json "$H_T/open/key")" '{}'
h_json_is "$H_T/panel-open.json" 'r.get("verdict", r.get("error"))' not-a-socket "panel account: a link to /etc/shadow is not-a-socket"
h_json_is "$H_T/panel-open.json" 'sorted(k for k in ("resolved", "owner", "group", "mode") if k in r)' '[]' \
        "  and the report says nothing of its target, owner, group or mode"
h_json_is "$H_T/panel-open.json" '[(f["code"], f["summary"], f["path"]) for f in r["findings"]]' \
        "[[\"not-a-socket\", \"$H_T/open/key is not a socket\", \"$H_T/open/key\"]]" \
        "  its finding says only that the path as asked is no socket"
sfcall "$H_T/panel-open-fix.json" "$panel" Fix "$(diag_json "$H_T/open/key")" '"auto"' '{"dry_run": true}'
h_json_ok "$H_T/panel-open-fix.json" "'shadow' not in r.get('message', '') and r.get('error', '').endswith('UnsafePath')" \
        "  a Fix dry run (the diagnose action) answers UnsafePath (a link: name the socket itself), without the target"
# A dangling link: the panel learns that nothing is there, not the name it points at.
ln -s /etc/sockfix-secret-name "$H_T/open/dangling"
sfcall "$H_T/panel-dangling.json" "$panel" Diagnose "$(diag_json "$H_T/open/dangling")" '{}'
h_json_is "$H_T/panel-dangling.json" 'r.get("verdict", r.get("error"))' missing "panel account: a dangling link is missing"
h_json_ok "$H_T/panel-dangling.json" '"secret" not in str(r) and "resolved" not in r' \
        "  and nothing in the report names its target"
# Behind a directory closed to others, not even that: whether a file, a socket or
# nothing is there is root's to know (else any granted user could map /root).
mkdir -m 0700 "$H_T/private"
ln -s /etc/shadow "$H_T/private/key"
bind_sock() { "$H_PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$1"; }
bind_sock "$H_T/private/bound.sock"
# Spelled to leave the closed directory again, or through a link there to a socket
# anyone may diagnose: what lies behind it still decides the answer, so no answer.
mkdir "$H_T/private/sub"
ln -s "$S_SOCK" "$H_T/private/to-pool"
rel_sock=${S_SOCK#"$H_T"/}
for p in key bound.sock nothing-here nothing/deeper sub/../../$rel_sock nosub/../../$rel_sock to-pool; do
        sfcall "$H_T/panel-private.json" "$panel" Diagnose "$(diag_json "$H_T/private/$p")" '{}'
        h_json_ok "$H_T/panel-private.json" "r.get('error') == 'org.freedesktop.DBus.Error.AccessDenied' and 'closed to you or to other users' in r.get('message', '') and 'shadow' not in str(r)" \
                "panel account: Diagnose of private/$p in a root-only directory: AccessDenied, saying why"
done
sfcall "$H_T/panel-private-fix.json" "$panel" Fix "$(diag_json "$H_T/private/key")" '"auto"' '{"dry_run": true}'
h_json_is "$H_T/panel-private-fix.json" 'r.get("error")' org.freedesktop.DBus.Error.AccessDenied \
        "  a Fix dry run of private/key: AccessDenied too"
# Closed to the caller, not to others: by its group's class (0705), or a named ACL entry
# (u:PANEL:--- on a 0755 directory, whose mask then stays r-x).
mkdir -m 0705 "$H_T/group-closed"
mkdir -m 0755 "$H_T/acl-closed"
chgrp "$group" "$H_T/group-closed"
setfacl -m "u:$panel:---" "$H_T/acl-closed"
for d in group-closed acl-closed; do
        ln -s /etc/shadow "$H_T/$d/key"
        sfcall "$H_T/panel-$d.json" "$panel" Diagnose "$(diag_json "$H_T/$d/key")" '{}'
        h_json_is "$H_T/panel-$d.json" 'r.get("error")' org.freedesktop.DBus.Error.AccessDenied \
                "panel account: behind a directory closed to it ($d), open to others: AccessDenied"
done
h_diagnose "$H_T/root-private.json" "$H_T/private/key"
h_json_is "$H_T/root-private.json" '[r.get("resolved"), r.get("owner")]' '["/etc/shadow", "root"]' "root: the same report names the target and its owner"
h_diagnose "$H_T/root-bound.json" "$H_T/private/bound.sock"
h_json_is "$H_T/root-bound.json" 'r.get("verdict")' refused "root: the socket there is refused (nothing listens)"
# A path nginx names, in a directory a user controls: the user makes it a link into the
# closed directory. The name in a config does not make what lies behind it public; and a
# link to "/" does not make every line of nginx's error log its evidence.
mkdir -m 0755 "$H_T/userdir"
ln -s "$H_T/private/key" "$H_T/userdir/app.sock"
stack_extra_nginx nginx-userdir "$S_WEB_USER" "$H_T/userdir/app.sock"
h_http_status "$X_URL" > /dev/null # a line that names the path, beside nginx's start-up notices
for target in "$H_T/private/key" "$H_T/private/nothing-here"; do
        ln -sfn "$target" "$H_T/userdir/app.sock"
        sfcall "$H_T/panel-userdir.json" "$panel" Diagnose "$(diag_json "$H_T/userdir/app.sock")" '{}'
        h_json_is "$H_T/panel-userdir.json" 'r.get("error")' org.freedesktop.DBus.Error.AccessDenied \
                "panel account: nginx's socket path made a link to ${target#"$H_T"/}: AccessDenied"
done
ln -sfn / "$H_T/userdir/app.sock"
sfcall "$H_T/panel-root-link.json" "$panel" Diagnose "$(diag_json "$H_T/userdir/app.sock")" '{"evidence": true}'
h_json_ok "$H_T/panel-root-link.json" "r.get('verdict') == 'not-a-socket' and all('$H_T/userdir/app.sock' in l for l in r.get('evidence', []))" \
        "panel account: made a link to /, it is not-a-socket, and its evidence only lines that name it"
h_diagnose "$H_T/root-root-link.json" "$H_T/userdir/app.sock" '{"evidence": true}'
h_json_ok "$H_T/root-root-link.json" "len(r.get('evidence', [])) >= 1 and all('$H_T/userdir/app.sock' in l for l in r['evidence'])" \
        "  root's evidence too: '/' is not found in every date of the log"
# The log holds other sites' clients and requests: a caller other than root gets lines
# only of logs it may read itself.
chmod 0600 "$H_T/nginx-userdir/logs/error.log"
sfcall "$H_T/panel-closed-log.json" "$panel" Diagnose "$(diag_json "$H_T/userdir/app.sock")" '{"evidence": true}'
h_json_ok "$H_T/panel-closed-log.json" "r.get('verdict') == 'not-a-socket' and not r.get('evidence')" \
        "panel account: with nginx's error log 0600, no evidence"
h_diagnose "$H_T/root-closed-log.json" "$H_T/userdir/app.sock" '{"evidence": true}'
h_json_ok "$H_T/root-closed-log.json" "len(r.get('evidence', [])) >= 1" "  root's evidence still quotes it"
h_stop "$X_NGINX_PID"
# A config only root can change vouches for a path in the closed directory; one the user
# may write does not: there the path is the user's choice.
stack_extra_nginx nginx-private "$S_WEB_USER" "$H_T/private/named.sock"
sfcall "$H_T/panel-named.json" "$panel" Diagnose "$(diag_json "$H_T/private/named.sock")" '{}'
h_json_is "$H_T/panel-named.json" 'r.get("verdict", r.get("error"))' missing \
        "panel account: a path a root-owned nginx config names, in the closed directory: its verdict (missing)"
chown "$panel" "$H_T/nginx-private/nginx.conf"
sfcall "$H_T/panel-named2.json" "$panel" Diagnose "$(diag_json "$H_T/private/named.sock")" '{}'
h_json_is "$H_T/panel-named2.json" 'r.get("error")' org.freedesktop.DBus.Error.AccessDenied \
        "  the same config made the panel account's own: AccessDenied"
h_stop "$X_NGINX_PID"

# The connect probe runs as nginx's workers, by path: a caller who may write a directory
# on the path could make it lead, by then, where the workers may look and the caller may
# not. For such a caller, no probe; for a path only others can change, the probe as ever.
sfcall "$H_T/panel-probe.json" "$panel" Diagnose "$(diag_json "$S_SOCK")" '{}'
h_json_ok "$H_T/panel-probe.json" "all(c.get('probe_errno') == 13 for c in r['consumers'])" \
        "panel account: the pool's socket is probed (probe_errno 13)"
mkdir -m 0755 "$H_T/panel-own"
chown "$panel" "$H_T/panel-own"
ln -s "$S_SOCK" "$H_T/panel-own/php.sock"
sfcall "$H_T/panel-noprobe.json" "$panel" Diagnose "$(diag_json "$H_T/panel-own/php.sock")" '{}'
h_json_ok "$H_T/panel-noprobe.json" "r['verdict'] == 'denied' and len(r['consumers']) > 0 and all('probe_errno' not in c for c in r['consumers'])" \
        "  through a link in a directory the panel owns: verdict denied, no probe"
# polkit grants the path as written: through a link of its own, a caller other than root
# could lead a Fix to another site's socket, pool and directories.
sfcall "$H_T/panel-link-fix.json" "$panel" Fix "$(diag_json "$H_T/panel-own/php.sock")" '"auto"' '{"dry_run": true}'
h_json_ok "$H_T/panel-link-fix.json" "r.get('error', '').endswith('UnsafePath') and 'name the socket itself' in r.get('message', '')" \
        "  a Fix dry run through that link: UnsafePath, name the socket itself"
sfcall "$H_T/panel-direct-fix.json" "$panel" Fix "$(diag_json "$S_SOCK")" '"auto"' '{"dry_run": true}'
h_json_is "$H_T/panel-direct-fix.json" 'r.get("outcome", r.get("error"))' planned "  of the socket itself: planned"
h_fix "$H_T/root-link-fix.json" "$H_T/panel-own/php.sock" auto '{"dry_run": true}'
h_is "$(h_answer_of "$H_T/root-link-fix.json")" planned "  root's dry run through the link: planned"
h_diagnose "$H_T/root-probe.json" "$H_T/panel-own/php.sock"
h_json_ok "$H_T/root-probe.json" "all(c.get('probe_errno') == 13 for c in r['consumers'])" "  root's Diagnose of it is probed"

# What nginx's config names stays the panel's to diagnose, behind a closed directory too.
chmod 0700 "$S_SOCK_DIR"
sfcall "$H_T/panel-closed.json" "$panel" Diagnose "$(diag_json "$S_SOCK")" '{}'
chmod 0755 "$S_SOCK_DIR"
h_json_ok "$H_T/panel-closed.json" "r.get('verdict') == 'denied' and any(f['code'] == 'dir-no-search' for f in r['findings'])" \
        "panel account: nginx's socket behind a directory closed to others: verdict denied, dir-no-search"

# --- an outsider
sfcall "$H_T/out.json" "$outsider" Diagnose "$(diag_json "$S_SOCK")" '{}'
err=$(h_json "$H_T/out.json" 'r.get("error", "")')
h_ok "outsider: Diagnose refused with AccessDenied or InteractiveAuthorizationRequired (got '$err')" is_auth_error "$err"
sfcall "$H_T/out-all.json" "$outsider" DiagnoseAll '{}'
err=$(h_json "$H_T/out-all.json" 'r.get("error", "")')
h_ok "outsider: DiagnoseAll refused (got '$err')" is_auth_error "$err"
sfcall "$H_T/out-list.json" "$outsider" ListSockets '{}'
err=$(h_json "$H_T/out-list.json" 'r.get("error", "")')
h_ok "outsider: ListSockets refused (got '$err')" is_auth_error "$err"
as "$outsider" busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{sv}' "$S_SOCK" 0 > "$H_T/out.busctl" 2>&1
h_isnt "$?" 0 "outsider: busctl Diagnose fails ($(head -c 200 "$H_T/out.busctl"))"
# Properties are readable by anyone the bus policy lets in.
as "$outsider" busctl --system get-property "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Version > "$H_T/out.version" 2>&1
h_is "$?" 0 "outsider: may read the Version property"

# --- owning the name
as nobody "$H_PY" -c '
import dbus, sys
try:
    dbus.SystemBus().request_name("org.sockfix.SockFix1", dbus.bus.NAME_FLAG_DO_NOT_QUEUE)
except dbus.exceptions.DBusException as e:
    print(e.get_dbus_name()); sys.exit(0)
print("owned")' > "$H_T/own.txt" 2>&1
h_is "$(cat "$H_T/own.txt")" org.freedesktop.DBus.Error.AccessDenied "nobody cannot own org.sockfix.SockFix1"
h_ok "sockfixd still owns the name" h_has_name "$H_BUS_NAME"

# --- malformed arguments (as root, so authorization cannot hide them)
long=/$(head -c 4200 /dev/zero | tr '\0' a)
invalid() { # DESC METHOD ARGS...
        local desc=$1; shift
        h_call "$H_T/inval.json" "$@"
        h_json_is "$H_T/inval.json" 'r.get("error", "no error")' org.freedesktop.DBus.Error.InvalidArgs "$desc -> InvalidArgs"
}
invalid "Diagnose relative path" Diagnose '"php8.2-fpm.sock"' '{}'
invalid "Diagnose empty path" Diagnose '""' '{}'
invalid "Diagnose path over PATH_MAX" Diagnose "\"$long\"" '{}'
invalid "Diagnose unknown option key" Diagnose "\"$S_SOCK\"" '{"evidnce": true}'
invalid "Diagnose evidence as a string" Diagnose "\"$S_SOCK\"" '{"evidence": "yes"}'
invalid "Diagnose consumer as an int" Diagnose "\"$S_SOCK\"" '{"consumer": 5}'
invalid "DiagnoseAll unknown option key" DiagnoseAll '{"evidense": true}'
invalid "ListSockets wrong option type" ListSockets '{"consumer": true}'
invalid "DiagnoseAll unknown report field" DiagnoseAll '{"fields": ["verdict", "verdicts"]}'
invalid "Diagnose fields as a string" Diagnose "\"$S_SOCK\"" '{"fields": "verdict"}'
invalid "ListSockets fields (reports only)" ListSockets '{"fields": ["verdict"]}'
h_json_ok "$H_T/inval.json" 'len(r.get("message", "")) > 0' "InvalidArgs carries a message"
busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{ss}' "$S_SOCK" 0 > "$H_T/sig.txt" 2>&1
h_isnt "$?" 0 "a wrong signature (sa{ss}) is refused"
if busctl --system --xml-interface introspect "$H_BUS_NAME" "$H_OBJECT" | grep -q 'method name="Fix"'; then
        # A typo must never turn a dry run into a change.
        invalid "Fix with dry_run misspelled" Fix "\"$S_SOCK\"" '"auto"' '{"dryrun": true}'
        invalid "Fix with dry_run as a string" Fix "\"$S_SOCK\"" '"auto"' '{"dry_run": "true"}'
fi

# --- callers that leave mid-call
leave_early() { # as USER: send Diagnose on a private connection, close it before the reply
        as "$1" "$H_PY" -c '
import dbus, dbus.lowlevel, os, sys
c = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
for i in range(5):
    m = dbus.lowlevel.MethodCallMessage("org.sockfix.SockFix1", "/org/sockfix/SockFix1",
                                        "org.sockfix.SockFix1.Manager", "Diagnose")
    m.append(sys.argv[1], dbus.Dictionary({}, signature="sv"), signature="sa{sv}")
    c.send_message(m)
c.flush()
c.close()' "$S_SOCK"
}
leave_early root
h_is "$?" 0 "root: 5 Diagnose calls sent, connection closed before the replies"
leave_early "$outsider"
h_is "$?" 0 "outsider: 5 Diagnose calls sent, connection closed mid-authorization"
leave_early "$panel"
h_is "$?" 0 "panel: 5 Diagnose calls sent, connection closed before the replies"
for i in 1 2 3; do
        busctl --system --expect-reply=no call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{sv}' "$S_SOCK" 0
done
h_pass "busctl --expect-reply=no: 3 calls sent, busctl gone"
sleep 1
h_ok "sockfixd is still running" h_alive "$H_SOCKFIXD_PID"
h_diagnose "$H_T/after-leave.json" "$S_SOCK"
h_json_is "$H_T/after-leave.json" 'r.get("verdict", r.get("error"))' denied "root: Diagnose still answers after the leavers"
sfcall "$H_T/after-leave-panel.json" "$panel" Diagnose "$(diag_json "$S_SOCK")" '{}'
h_json_is "$H_T/after-leave-panel.json" 'r.get("verdict", r.get("error"))' denied "panel: Diagnose still answers after the leavers"
h_log "panel groups now: $(id -nG "$panel" 2>&1); rules: $(ls /etc/polkit-1/rules.d/ | paste -sd' ' -)"

# A caller that leaves while polkit is still deciding: its query is dropped then, not
# when polkit answers. A rule that takes 3 s over its answer stands in for a person
# at a password prompt (polkitd runs rules on its own thread, with a 15 s limit).
# install_slow_rule USER MS: the rules above, plus one that grants USER the diagnose
# action after MS milliseconds of polkit's time.
install_slow_rule() {
        {
                cat "$H_T/rules.js"
                cat << JS
polkit.addRule(function(action, subject) {
    if (action.id == "org.sockfix.SockFix1.diagnose" && subject.user == "$1") {
        var t = Date.now();
        while (Date.now() - t < $2) {}
        return polkit.Result.YES;
    }
});
JS
        } > "$H_T/rules-$1.js"
        h_install_rules "$H_T/rules-$1.js"
}
slow=sfx-slow-$$
h_ensure_user "$slow"
install_slow_rule "$slow" 3000
as "$slow" "$H_PY" -c '
import dbus, dbus.lowlevel, os, sys, time
c = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
m = dbus.lowlevel.MethodCallMessage("org.sockfix.SockFix1", "/org/sockfix/SockFix1",
                                    "org.sockfix.SockFix1.Manager", "Diagnose")
m.append(sys.argv[1], dbus.Dictionary({}, signature="sv"), signature="sa{sv}")
c.send_message(m)
c.flush()
print(c.get_unique_name(), flush=True)
time.sleep(0.5)
c.close()' "$S_SOCK" > "$H_T/slow.name"
h_is "$?" 0 "slow-rule user: Diagnose sent, connection closed 0.5 s later, while polkit decides"
slow_name=$(cat "$H_T/slow.name")
dropped() { grep -qF "Caller $slow_name left the bus during authorization of org.sockfix.SockFix1.diagnose, dropping the query" "$H_T/sockfixd.log"; }
h_ok "sockfixd dropped $slow_name's query when it left, before polkit's answer" h_wait_for 20 dropped
h_diagnose "$H_T/after-slow.json" "$S_SOCK"
h_json_is "$H_T/after-slow.json" 'r.get("verdict", r.get("error"))' denied "root: Diagnose answers meanwhile"
# The same slow rule for a caller that waits: polkit's 3 s outlast the 2 s timeout.
t0=$EPOCHREALTIME
sfcall "$H_T/slow-wait.json" "$slow" Diagnose "$(diag_json "$S_SOCK")" '{}' &
slow_pid=$!
sleep 0.5
h_diagnose "$H_T/during-slow.json" "$S_SOCK"
h_json_is "$H_T/during-slow.json" 'r.get("verdict", r.get("error"))' denied "root: Diagnose answers while a query waits for polkit"
wait "$slow_pid"
elapsed=$(awk "BEGIN { print $EPOCHREALTIME - $t0 }")
h_json_is "$H_T/slow-wait.json" 'r.get("error", "")' org.freedesktop.DBus.Error.AccessDenied "polkit too slow: AccessDenied"
h_like "$(h_json "$H_T/slow-wait.json" 'r.get("message", "")')" 'no answer in time' "  saying polkit did not answer in time"
# The message proves the deadline fired before polkit's answer (a late YES would be a
# verdict); the time shows it waited for the deadline (the client's own start counts too).
h_ok "  after the 2 s timeout (took $elapsed s)" awk "BEGIN { exit !($elapsed >= 1.9 && $elapsed < 6) }"
sleep 1.2 # polkit's late answer arrives and must be ignored
h_ok "sockfixd is still running after polkit's late answer" h_alive "$H_SOCKFIXD_PID"
h_diagnose "$H_T/after-late.json" "$S_SOCK"
h_json_is "$H_T/after-late.json" 'r.get("verdict", r.get("error"))' denied "root: Diagnose answers after the late answer"

# One user's checks pending at once are bounded (32): the bus lets sockfixd wait for
# at most 128 replies in all, and checks a user's own agent holds would otherwise use
# them up for everyone. 60 calls at once, each check held 50 ms of polkitd's CPU by a
# rule: those past 32 pending are refused at once, saying why; root is served meanwhile.
# (On a slow machine some may also reach the 2 s timeout: refused too, for another reason.)
burst=sfx-burst-$$
h_ensure_user "$burst"
install_slow_rule "$burst" 50
sleep 1.2 # polkitd has read the rules
mkdir "$H_T/burst"
burst_pids=()
for i in $(seq 60); do
        as "$burst" busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{sv}' "$S_SOCK" 0 \
                > "$H_T/burst/$i" 2>&1 &
        burst_pids+=($!)
done
sleep 0.3
h_diagnose "$H_T/during-burst.json" "$S_SOCK"
h_json_is "$H_T/during-burst.json" 'r.get("verdict", r.get("error"))' denied "root: Diagnose answers during a burst of 60 calls of one user"
wait "${burst_pids[@]}"
# busctl shows every AccessDenied as "Access denied"; sockfixd's debug log says why.
n_refused=$(grep -c "Refusing org.sockfix.SockFix1.diagnose for .*: 32 checks of uid $(id -u "$burst") pending" "$H_T/sockfixd.log")
n_denied=$(grep -l 'Access denied' "$H_T/burst/"* | wc -l)
n_reports=$(grep -l '"verdict" s "denied"' "$H_T/burst/"* | wc -l)
h_ok "  $n_refused refused at once, each with 32 checks of that user pending already" test "$n_refused" -ge 1
h_ok "  busctl saw each of them refused ($n_denied AccessDenied in all)" test "$n_denied" -ge "$n_refused"
h_is "$((n_reports + n_denied))" 60 "  every call answered: $n_reports with a report, $n_denied refused"
h_ok "sockfixd is still running after the burst" h_alive "$H_SOCKFIXD_PID"

# sockfixd diagnoses while polkit decides, and probes only once granted: a refused
# caller must not make it connect, with the socket open to nginx (0666) and a pool
# that forks a worker on each connection.
n_prepared() { grep -c "Diagnosed $S_SOCK for .* while polkit decides" "$H_T/sockfixd.log"; }
n_workers() { stack_children "$S_FPM_PID" | wc -l; }
# A refused caller's work waits when the kept model is stale, and the pid counter
# (pid_max 32768 here) wrapping since the last call makes it stale. Root's Diagnose of
# a missing path rebuilds the model without a probe (no worker forked).
current_model() { h_diagnose "$H_T/refresh.json" "$H_T/missing.sock"; }
chmod 0666 "$S_SOCK"
h_is "$(n_workers)" 0 "php-fpm (ondemand) has no worker before the refused calls"
current_model
before=$(n_prepared)
sfcall "$H_T/out-open.json" "$outsider" Diagnose "$(diag_json "$S_SOCK")" '{}'
h_ok "outsider: Diagnose of the open socket refused" is_auth_error "$(h_json "$H_T/out-open.json" 'r.get("error", "")')"
h_ok "  sockfixd had diagnosed while polkit decided ($before -> $(n_prepared) such log lines)" \
        test "$(n_prepared)" -gt "$before"
sleep 0.3
h_is "$(n_workers)" 0 "  and made no connection: php-fpm forked no worker"
chmod 0660 "$S_SOCK"
# Before the answer, only what costs about as much as polkit's check, and only on a
# path the host's configs name: a path none names (a lookup there could block on a hung
# mount), a listener the host model does not know (it would take a rebuild), the
# evidence option (a megabyte of each error log), a path of many directories or a
# missing one (its candidates read the socket table) waits for the answer, so the
# outsider makes sockfixd do nothing of it. Three more nginx name those paths.
n_waits() { grep -c "Diagnosis of $1 for .* waits for polkit's answer" "$H_T/sockfixd.log"; }
deep=$H_T/deep$(printf '/d%.0s' {1..70})
mkdir -p "$deep"
ln -s "$deep/php.sock" "$H_T/deeplink.sock"
for named in new.sock deeplink.sock run/php7.4-fpm.sock; do
        stack_extra_nginx "nginx-${named//\//-}" "$S_WEB_USER" "$H_T/$named"
done
current_model
"$H_PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
print("listening", flush=True)
time.sleep(60)' "$H_T/new.sock" > "$H_T/new.out" &
new_pid=$!
listening() { grep -q listening "$H_T/new.out"; }
h_wait_for 50 listening
sfcall "$H_T/out-new.json" "$outsider" Diagnose "$(diag_json "$H_T/new.sock")" '{}'
h_ok "outsider: Diagnose of a new listener refused" is_auth_error "$(h_json "$H_T/out-new.json" 'r.get("error", "")')"
h_is "$(n_waits "$H_T/new.sock")" 1 "  sockfixd left it for after the answer: the model does not know that listener"
# Earlier calls on this socket may have waited too (a model gone stale meanwhile), so
# count the lines this call adds.
before=$(n_waits "$S_SOCK")
sfcall "$H_T/out-ev.json" "$outsider" Diagnose "$(diag_json "$S_SOCK")" '{"evidence": true}'
h_ok "outsider: Diagnose with evidence refused" is_auth_error "$(h_json "$H_T/out-ev.json" 'r.get("error", "")')"
h_is "$(n_waits "$S_SOCK")" $((before + 1)) "  sockfixd left it for after the answer: evidence reads the error logs"
sfcall "$H_T/out-deep.json" "$outsider" Diagnose "$(diag_json "$H_T/deeplink.sock")" '{}'
h_ok "outsider: Diagnose of a link to a path 70 directories deep refused" is_auth_error "$(h_json "$H_T/out-deep.json" 'r.get("error", "")')"
h_is "$(n_waits "$H_T/deeplink.sock")" 1 "  sockfixd left it for after the answer: more lookups than a socket path needs"
touch "$H_T/unnamed"
sfcall "$H_T/out-unnamed.json" "$outsider" Diagnose "$(diag_json "$H_T/unnamed")" '{}'
h_ok "outsider: Diagnose of a path no config names refused" is_auth_error "$(h_json "$H_T/out-unnamed.json" 'r.get("error", "")')"
h_is "$(n_waits "$H_T/unnamed")" 1 "  sockfixd left it for after the answer: a lookup there could block on a hung mount"
sfcall "$H_T/out-missing.json" "$outsider" Diagnose "$(diag_json "$H_T/run/php7.4-fpm.sock")" '{}'
h_ok "outsider: Diagnose of a missing path refused" is_auth_error "$(h_json "$H_T/out-missing.json" 'r.get("error", "")')"
h_is "$(n_waits "$H_T/run/php7.4-fpm.sock")" 1 "  sockfixd left it for after the answer: its candidates read the socket table"
# Deeper than any walk goes (300 directories; it would hold an fd on each): root gets
# a verdict, and sockfixd keeps serving.
deeper=$H_T/deeper$(printf '/d%.0s' {1..300})
mkdir -p "$deeper"
h_diagnose "$H_T/root-deeper.json" "$deeper/php.sock"
h_json_is "$H_T/root-deeper.json" 'r.get("verdict", r.get("error"))' not-a-socket \
        "root: a path 300 directories deep is not walked: verdict not-a-socket"
h_json_is "$H_T/root-deeper.json" '[f["code"] for f in r["findings"]]' '["path-lookup-failed"]' \
        "  its finding: path-lookup-failed (too long or too deep)"
h_fix "$H_T/root-deeper-fix.json" "$deeper/php.sock" auto '{"dry_run": true}'
h_is "$(h_answer_of "$H_T/root-deeper-fix.json")" org.sockfix.SockFix1.Error.UnsafePath "  a Fix dry run of it: UnsafePath"
h_diagnose "$H_T/root-new.json" "$H_T/new.sock"
h_json_is "$H_T/root-new.json" 'r.get("listener", {}).get("program", r.get("error"))' python3 \
        "root: Diagnose of the new listener finds its program, python3 (the model rebuilt for root)"
kill "$new_pid"; wait "$new_pid" 2>/dev/null

# An answer that takes longer than a moment (here a rule that grants after 1 s, a
# person typing a password) must not get the report made before it: the socket changes
# meanwhile, and the report shows the socket as it is when the answer comes.
late=sfx-late-$$
h_ensure_user "$late"
install_slow_rule "$late" 1000
sleep 1.2 # polkitd has read the rules
current_model
before=$(n_prepared)
sfcall "$H_T/late.json" "$late" Diagnose "$(diag_json "$S_SOCK")" '{}' &
late_pid=$!
prepared() { (($(n_prepared) > before)); }
h_ok "late-granted user: sockfixd diagnosed while polkit decided" h_wait_for 50 prepared
chmod 0666 "$S_SOCK"
wait "$late_pid"
h_json_is "$H_T/late.json" 'r.get("mode", r.get("error"))' 438 \
        "late-granted user: the report shows the socket as it was at polkit's answer (mode 0666, changed meanwhile)"
h_file_like "$H_T/sockfixd.log" 'Authorization of org.sockfix.SockFix1.diagnose came [0-9]+ ms after the work prepared meanwhile: doing it again' \
        "  sockfixd did the diagnosis again"
h_wait_for 20 stack_has_children "$S_FPM_PID"
h_is "$(n_workers)" 1 "  and probed once granted: php-fpm forked the worker for its connection"
chmod 0660 "$S_SOCK"
h_json_is "$H_T/panel.json" 'r.get("mode", r.get("error"))' 432 "panel account (answered at once): the report has the socket's mode 0660"
h_install_rules "$H_T/rules.js"

# --- polkitd gone
h_stop_polkitd
h_ok "polkitd left the bus" h_has_no_name org.freedesktop.PolicyKit1
sfcall "$H_T/nopk.json" "$outsider" Diagnose "$(diag_json "$S_SOCK")" '{}'
err=$(h_json "$H_T/nopk.json" 'r.get("error", "")')
h_ok "no polkitd: outsider denied with AccessDenied or InteractiveAuthorizationRequired (got '$err')" is_auth_error "$err"
h_json_ok "$H_T/nopk.json" 'len(r.get("message", "")) > 0' "no polkitd: the denial says why ($(h_json "$H_T/nopk.json" 'r.get("message", "")'))"
sfcall "$H_T/nopk-panel.json" "$panel" Diagnose "$(diag_json "$S_SOCK")" '{}'
err=$(h_json "$H_T/nopk-panel.json" 'r.get("error", "")')
h_ok "no polkitd: panel account denied too (got '$err')" is_auth_error "$err"
h_diagnose "$H_T/nopk-root.json" "$S_SOCK"
h_json_is "$H_T/nopk-root.json" 'r.get("verdict", r.get("error"))' denied "no polkitd: root is still served"
h_ok "sockfixd is still running" h_alive "$H_SOCKFIXD_PID"
h_done
