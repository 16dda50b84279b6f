#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fix member on the seed case, with a web user of the test's own (never the shared
# `nginx`): `sockfixctl --json fix --strategy=member` adds exactly that membership
# (gpasswd): getent's www-data member list gains the web user and nothing else, and of
# /etc/group only the www-data line changed; nginx's master SIGHUPed: same master, fresh
# workers whose /proc Groups: hold www-data's gid; the result's activations list the
# reload; HTTP 200. Revert (python3-dbus) removes the membership and reloads nginx again
# (fresh workers without the gid). The socket is never other-writable. A second fix,
# reverted while nginx's configuration fails nginx -t: the membership goes, nginx is not
# reloaded (a reload would fail, and a broken config must not be loaded), and the
# revert's reason says so.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-member

stack_use_web_user "sfx-mem-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
www_gid=$(getent group www-data | cut -d: -f3)
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
stack_assert_not_other_writable "before the fix"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"
h_at_exit "gpasswd -d '$S_WEB_USER' www-data > /dev/null 2>&1; true" # should the revert fail

# members GROUP: its getent member list, sorted, one a line.
members() { getent group "$1" | cut -d: -f4 | tr ',' '\n' | grep . | sort; }
# group_lines FILE: /etc/group as "name:members" lines (the gid and password fields
# cannot change here). On a shared machine other sessions create and remove their own
# users meanwhile: unless SOCKFIX_TEST_STRICT_DB=1, groups that exist in only one of the
# two copies and other tests' sfx-* members are left out.
group_db_diff() {
        "$H_PY" - "$1" "$2" "$S_WEB_USER" "${SOCKFIX_TEST_STRICT_DB:-0}" << 'PY'
import sys
a, b, me, strict = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
def load(p):
    d = {}
    for line in open(p):
        f = line.rstrip("\n").split(":")
        if len(f) >= 4:
            mem = [m for m in f[3].split(",") if m and (strict or m == me or not m.startswith("sfx-"))]
            d[f[0]] = (f[2], mem)
    return d
A, B = load(a), load(b)
names = sorted(set(A) | set(B)) if strict else sorted(set(A) & set(B))
for n in names:
    if A.get(n) != B.get(n):
        ga, ma = A.get(n, ("", []))
        gb, mb = B.get(n, ("", []))
        print(f"{n}: gid {ga}->{gb} added {sorted(set(mb) - set(ma))} removed {sorted(set(ma) - set(mb))} order {ma}->{mb}")
PY
}
members www-data > "$H_T/members.before"
cp /etc/group "$H_T/group.before"
master=$S_NGINX_PID
workers_before=$(stack_worker_pids | paste -sd' ' -)

h_ctl --json fix --strategy=member "$S_SOCK" > "$H_T/fix.json" 2> "$H_T/fix.err"
h_is "$?" 0 "sockfixctl --json fix --strategy=member: exit 0"
h_is "$(h_answer_of "$H_T/fix.json")" applied "Fix(member): outcome applied"
h_json_is "$H_T/fix.json" 'r.get("strategy")' member "Fix(member): strategy member"
h_json_is "$H_T/fix.json" 'r.get("verified")' true "Fix(member): verified true"
h_json_ok "$H_T/fix.json" 'any(c.get("kind") and "'"$S_WEB_USER"'" in c.get("target", "") + c.get("after", "") for c in r.get("changes", []))' \
        "Fix(member): a change names the web user"
h_json_ok "$H_T/fix.json" "any(c.get('kind') == 'group-member' for c in r.get('changes', []))" "Fix(member): a group-member change"
h_json_ok "$H_T/fix.json" 'len(r.get("activations", [])) >= 1 and all(set(a) >= {"target", "action"} for a in r["activations"])' \
        "Fix(member): activations list the reload (target, action)"
h_json_ok "$H_T/fix.json" 'any("'"$master"'" in a["target"] or "nginx" in a["target"] for a in r.get("activations", []))' \
        "Fix(member): the activation names nginx"
tx=$(h_json "$H_T/fix.json" 'r.get("transaction", "")')

h_is "$(h_http_status "$S_URL")" 200 "after the fix: HTTP 200"
stack_assert_not_other_writable "after the fix"
members www-data > "$H_T/members.after"
# added/removed members, other sessions' transient sfx-* users aside (our user kept)
added() { comm -13 "$1" "$2" | grep -v -e '^sfx-' -e "^$S_WEB_USER\$" ; comm -13 "$1" "$2" | grep -x "$S_WEB_USER"; }
h_is "$(added "$H_T/members.before" "$H_T/members.after" | paste -sd, -)" "$S_WEB_USER" "getent group www-data gained exactly $S_WEB_USER"
h_is "$(comm -23 "$H_T/members.before" "$H_T/members.after" | grep -v '^sfx-')" "" "getent group www-data lost nobody"
cp /etc/group "$H_T/group.after"
h_is "$(group_db_diff "$H_T/group.before" "$H_T/group.after" | sed 's/ order .*//')" \
        "www-data: gid $www_gid->$www_gid added ['$S_WEB_USER'] removed []" \
        "/etc/group: only the www-data line changed, by $S_WEB_USER"
h_is "$(group_db_diff "$H_T/group.before" "$H_T/group.after" | wc -l)" 1 "/etc/group: exactly one group line changed"
h_is "$(stat -c '%U:%G %a' "$S_SOCK")" "www-data:www-data 660" "the socket itself unchanged"
h_ok "the pool file unchanged" cmp "$S_POOL_CONF" "$H_T/pool.orig"

h_is "$S_NGINX_PID" "$master" "the nginx master pid is unchanged"
h_ok "the nginx master is still alive" h_alive "$master"
workers_after=$(stack_worker_pids | paste -sd' ' -)
no_common() { [[ -n $2 ]] && ! comm -12 <(tr ' ' '\n' <<< "$1" | sort) <(tr ' ' '\n' <<< "$2" | sort) | grep -q .; }
h_ok "nginx runs fresh workers ($workers_before -> $workers_after)" no_common "$workers_before" "$workers_after"
h_ok "every fresh worker holds www-data's gid $www_gid in /proc Groups:" stack_workers_hold_gid "$www_gid"

# --- revert
h_revert "$H_T/revert.json" "$tx"
h_is "$(h_answer_of "$H_T/revert.json")" reverted "Revert: outcome reverted"
not_member() { ! id -nG "$S_WEB_USER" | tr ' ' '\n' | grep -qx www-data; }
h_ok "the membership is gone (id -nG)" not_member
members www-data > "$H_T/members.reverted"
h_is "$(grep -x "$S_WEB_USER" "$H_T/members.reverted")" "" "getent group www-data no longer lists $S_WEB_USER"
h_is "$(comm -3 "$H_T/members.before" "$H_T/members.reverted" | grep -v '^[[:space:]]*sfx-')" "" "www-data's members are as before the fix"
lacks_gid() { ! stack_workers_hold_gid "$www_gid" && [[ -n $(stack_worker_pids) ]]; }
reloaded_again() {
        local now
        now=$(stack_worker_pids | paste -sd' ' -)
        no_common "$workers_after" "$now" && lacks_gid
}
h_wait_for 100 reloaded_again
h_ok "nginx reloaded again on revert: fresh workers ($workers_after -> $(stack_worker_pids | paste -sd' ' -))" \
        no_common "$workers_after" "$(stack_worker_pids | paste -sd' ' -)"
h_ok "the new workers lack www-data's gid" lacks_gid
h_is "$S_NGINX_PID" "$master" "the nginx master pid is still unchanged"
h_is "$(h_http_status "$S_URL")" 502 "after the revert: HTTP 502 again"
stack_assert_not_other_writable "after the revert"
h_ok "the pool file unchanged" cmp "$S_POOL_CONF" "$H_T/pool.orig"

# member_fix N WHAT: Fix(member) number N, applied; its transaction in $tx and the new
# workers in $workers_fixed.
member_fix() {
        h_fix "$H_T/fix$1.json" "$S_SOCK" member
        h_is "$(h_answer_of "$H_T/fix$1.json")" applied "$2 Fix(member): applied"
        tx=$(h_json "$H_T/fix$1.json" 'r.get("transaction", "")')
        h_wait_for 100 stack_workers_hold_gid "$www_gid"
        workers_fixed=$(stack_worker_pids | paste -sd' ' -)
}
# revert_unreloaded N WHY: Revert number N of $tx takes the membership back, sends nginx
# no reload, and its reason says so with WHY.
revert_unreloaded() {
        h_revert "$H_T/revert$1.json" "$tx"
        h_is "$(h_answer_of "$H_T/revert$1.json")" reverted "Revert: reverted (the membership is gone)"
        h_ok "  the membership is gone (id -nG)" not_member
        h_json_ok "$H_T/revert$1.json" "\"was not reloaded ($2)\" in r.get('reason', '')" \
                "  its reason says nginx was not reloaded, and why ($(h_json "$H_T/revert$1.json" 'r.get("reason")'))"
        sleep 0.5
        h_is "$(stack_worker_pids | paste -sd' ' -)" "$workers_fixed" "  nginx's workers are the same: no reload was sent"
}

# --- a second fix, reverted while nginx's configuration is broken
member_fix 2 "a second"
cp -a "$S_NGINX_CONF" "$H_T/nginx.conf.good"
echo "sockfix_test_broken_directive;" >> "$S_NGINX_CONF"
h_isnt "$(nginx -t -c "$S_NGINX_CONF" -p "$H_T/nginx/" > /dev/null 2>&1; echo $?)" 0 "nginx's configuration now fails nginx -t"
revert_unreloaded 2 "nginx -t fails"
cp -a "$H_T/nginx.conf.good" "$S_NGINX_CONF"
stack_reload_nginx
h_ok "once the admin reloads it, the workers lack www-data's gid" lacks_gid

# --- a third, reverted once nginx's configuration is no longer root's alone: its
# nginx -t, run as root, would read what another user wrote, so nothing is run
member_fix 3 "a third"
chmod o+w "$S_NGINX_CONF"
revert_unreloaded 3 "its binary or configuration is not root's alone, so nginx -t is not run"
chmod o-w "$S_NGINX_CONF"
stack_reload_nginx
h_ok "once the admin reloads it, the workers lack www-data's gid" lacks_gid
h_done
