#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A user database that does not answer: nsswitch.conf names, after files, a source that
# hangs (tests/lib/nss-sfhang.c, as an LDAP or sssd server that stopped answering),
# bound over /etc/nsswitch.conf in a mount namespace of this test's own, and loaded by
# sockfixd only (LD_LIBRARY_PATH). The seed's 502: nginx's workers fall in "other" of a
# www-data socket, and every Diagnose asks the database for nginx's group list, which
# reaches that source.
#   the first Diagnose answers within a few seconds, with the kernel's verdict (denied),
#     the same primary finding, owner and group names (from /etc/group), and no stale
#     credentials claimed; a Ping sent meanwhile is answered once sockfixd gives up;
#   while that lookup waits, Diagnose and DiagnoseAll answer at once, and none asks the
#     source again or leaves another thread waiting;
#   Fix(member), which must know nginx's groups, answers StrategyUnavailable saying the
#     database did not answer, and changes nothing; Fix(pool-acl), which needs no group
#     list, fixes the 502, and its Revert brings it back;
#   once the source answers, lookups reach it again and sockfixd logs so;
#   a host model built while the source hangs (a second nginx started then, whose
#     workers' user only the source knows) names them by number, no Fix is planned on
#     it, and it is built again, with their name, once the source answers.
# Without the bound, the first Diagnose never returns and sockfixd answers nobody.
if [[ -z ${SOCKFIX_TEST_NSS_NS:-} ]]; then
        exec unshare --mount --propagation private env SOCKFIX_TEST_NSS_NS=1 bash "$0" "$@"
fi
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init nss-hung

module_dir=$SOCKFIX_BUILD_DIR/tests/lib
[[ -f $module_dir/libnss_sfhang.so.2 ]] || h_die "$module_dir/libnss_sfhang.so.2 not built"
# Everything this test starts sees this nsswitch.conf; only sockfixd can load the source.
{
        printf 'passwd: files sfhang\ngroup: files sfhang\n'
        grep -Ev '^[[:space:]]*(passwd|group)[[:space:]]*:' /etc/nsswitch.conf
} > "$H_T/nsswitch.conf"
mount --bind "$H_T/nsswitch.conf" /etc/nsswitch.conf || h_die "cannot bind nsswitch.conf"
gate=$H_T/nss-gate
asked=$H_T/nss-asked

stack_up --owner www-data --group www-data --mode 0660
ldap_user=ldapweb:4242:4242 # known to the source only
LD_LIBRARY_PATH=$module_dir SFHANG_GATE=$gate SFHANG_LOG=$asked SFHANG_USER=$ldap_user h_sockfix_up
threads() { awk '/^Threads:/ { print $2 }' "/proc/$H_SOCKFIXD_PID/status"; }
asked_lines() { cat "$asked" 2> /dev/null | wc -l; }
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 (the seed)"

stack_diagnose before "$S_SOCK"
h_json_is "$H_T/before.json" 'r["verdict"]' denied "while the source answers: verdict denied"
stack_assert_primary "$H_T/before.json" socket-group-mismatch
h_ok "  the source was asked (nginx's group list)" grep -qx 'initgroups nginx' "$asked"
# (each lookup ran on a thread of its own, which may take a moment to leave the count)
h_wait_for 20 eval '[[ $(threads) == 1 ]]'
h_is "$(threads)" 1 "sockfixd runs one thread"

# The source stops answering.
: > "$gate"
: > "$asked"
stack_snapshot before
h_diagnose_pinged "$H_T/hung.json" "$S_SOCK" "the database"
h_is "$H_RC" 0 "Diagnose answers while the source does not (in $H_MS ms)"
h_ok "  within 5 s" test "$H_MS" -lt 5000
h_ok "  after waiting for it (at least 1.5 s)" test "$H_MS" -ge 1500
r=$H_T/hung.json
h_json_is "$r" 'r["verdict"]' denied "  verdict denied: the kernel's rule needs no database"
stack_assert_primary "$r" socket-group-mismatch
h_json_is "$r" '(r["owner"], r["group"])' '["www-data", "www-data"]' "  owner and group named, from /etc/passwd and /etc/group"
h_json_is "$r" '[c.get("stale_credentials") for c in r["consumers"]]' '[false]' "  no stale credentials claimed"
h_wait_for 20 eval '[[ $(threads) == 2 ]]'
h_is "$(threads)" 2 "  one thread waits for the lookup"
h_file_like "$H_T/sockfixd.log" 'databases did not answer within 2000 ms' "  sockfixd logs that the database did not answer"

ms=$(h_elapsed_ms h_diagnose "$H_T/hung2.json" "$S_SOCK")
h_json_is "$H_T/hung2.json" 'r["verdict"]' denied "a second Diagnose: denied"
h_ok "  at once ($ms ms, under 1 s)" test "$ms" -lt 1000
ms=$(h_elapsed_ms h_call "$H_T/all.json" DiagnoseAll '{}')
h_json_is "$H_T/all.json" "[x['verdict'] for x in r if x['socket'] == '$S_SOCK']" '["denied"]' "DiagnoseAll: denied"
h_ok "  at once ($ms ms, under 1 s)" test "$ms" -lt 1000
h_is "$(threads)" 2 "  no other lookup waits"
h_is "$(asked_lines)" 1 "  the source was asked once"

h_fix "$H_T/member.json" "$S_SOCK" member
h_json_is "$H_T/member.json" 'r.get("error")' org.sockfix.SockFix1.Error.StrategyUnavailable \
        "Fix(member) needs nginx's group list: StrategyUnavailable"
h_json_ok "$H_T/member.json" "'did not answer' in r.get('message', '')" "  saying the database did not answer"
stack_snapshot after
h_assert_unchanged before after "  nothing changed"
h_is "$(ls "$H_T/state/transactions" 2> /dev/null | wc -l)" 0 "  no transaction recorded"

h_fix "$H_T/acl.json" "$S_SOCK" pool-acl
h_json_is "$H_T/acl.json" 'r.get("outcome")' applied "Fix(pool-acl), which needs no group list: applied"
h_is "$(h_http_status "$S_URL")" 200 "  HTTP 200"
tx=$(h_json "$H_T/acl.json" 'r["transaction"]')
h_revert "$H_T/revert.json" "$tx"
h_json_is "$H_T/revert.json" 'r.get("outcome")' reverted "  its Revert: reverted"
h_is "$(h_http_status "$S_URL")" 502 "  HTTP 502 again"
h_is "$(asked_lines)" 1 "  the source was not asked meanwhile"

# The source answers again: the lookup given up on ends, and lookups reach it again.
rm -f "$gate"
h_wait_for 50 eval '[[ $(threads) == 1 ]]'
h_is "$(threads)" 1 "once the source answers, the waiting thread ends"
ms=$(h_elapsed_ms h_diagnose "$H_T/after.json" "$S_SOCK")
h_json_is "$H_T/after.json" 'r["verdict"]' denied "Diagnose: denied (in $ms ms)"
h_ok "  at once (under 1 s)" test "$ms" -lt 1000
h_ok "  and the source is asked again" test "$(asked_lines)" -ge 2
h_file_like "$H_T/sockfixd.log" 'databases answer again' "  sockfixd logs that the database answers again"

# A host model built while the source does not answer holds numbers where names belong,
# and is built again once it answers: a second nginx, started while the source hangs,
# whose workers run as a user only the source knows (nginx itself loads the source,
# which answers it at once).
: > "$gate"
LD_LIBRARY_PATH=$module_dir SFHANG_USER=$ldap_user stack_extra_nginx ldap-nginx "ldapweb nogroup" "$S_SOCK"
stack_diagnose ldap-hung "$S_SOCK"
h_json_is "$H_T/ldap-hung.json" "[c['user'] for c in r['consumers'] if c['uid'] == 4242]" '["4242"]' \
        "  while the source hangs, the new nginx's workers (uid 4242) are named by number"
stack_snapshot ldap-before
h_fix "$H_T/ldap-fix.json" "$S_SOCK" pool-acl
h_json_is "$H_T/ldap-fix.json" 'r.get("error")' org.sockfix.SockFix1.Error.StrategyUnavailable \
        "  a Fix planned on that model is refused: StrategyUnavailable"
h_json_ok "$H_T/ldap-fix.json" "'did not answer' in r.get('message', '')" "  saying the database did not answer"
stack_snapshot ldap-after
h_assert_unchanged ldap-before ldap-after "  nothing changed"
rm -f "$gate"
h_wait_for 50 eval '[[ $(threads) == 1 ]]'
stack_diagnose ldap-back "$S_SOCK"
h_json_is "$H_T/ldap-back.json" "[c['user'] for c in r['consumers'] if c['uid'] == 4242]" '["ldapweb"]' \
        "  once it answers, the host model is built again: they are ldapweb's"

h_check_sockfixd_sanitizers
h_done
