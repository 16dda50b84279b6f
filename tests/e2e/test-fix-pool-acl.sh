#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fix pool-acl on the seed case (socket www-data:www-data 0660, nginx's workers as a web
# user outside www-data, HTTP 502): Fix(auto) over python3-dbus picks pool-acl, applies,
# verifies; HTTP 200 at once (no restart); after php-fpm's full stop and start still 200:
# the pool file names the web user AND the old owner www-data in listen.acl_users and the
# old group in listen.acl_groups, and www-data can still connect. `sockfixctl --json
# revert` restores the pool file byte for byte; after the next php-fpm start, 502 again.
# The socket is never other-writable. The audit trail, as journald receives it: the fix's
# and the revert's entries (strategy, outcome, caller) and one per change.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-pool-acl

stack_use_web_user "sfx-acl-$$"

# No journald runs here (no systemd as PID 1): a stand-in listens where sd_journal_send()
# writes. A host with a journal keeps it, and these checks are skipped.
journal=/run/systemd/journal/socket audit=
# A socket left by a run that was killed answers nobody: it is taken over.
if [[ -S $journal ]] && ! "$H_PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).connect(sys.argv[1])' \
        "$journal" 2> /dev/null; then
        rm -f "$journal"
fi
if [[ ! -e $journal ]]; then
        made=$(for d in /run/systemd /run/systemd/journal; do [[ -d $d ]] || echo "$d"; done | tac | tr '\n' ' ')
        mkdir -p /run/systemd/journal
        h_at_exit "rm -f '$journal'; rmdir $made 2> /dev/null; true"
        h_spawn journal "$H_T/journal.log" "$H_PY" "$H_LIB_DIR/journal-listen.py" "$journal" "$H_T/journal.jsonl"
        h_wait_for 50 grep -q listening "$H_T/journal.log"
        audit=$H_T/journal.jsonl
fi
# audit_has OUT MESSAGE_ID WHAT OUTCOME: the transaction $tx's entries of that message id
# (the fix's or revert's own, then one per change: waited for) as a JSON array in OUT;
# checks its own entry (socket, strategy, outcome, caller uid 0) and a change entry for
# the pool file.
audit_has() {
        local out=$1 id=$2 what=$3 outcome=$4
        h_wait_for 20 grep -q "pool-config.*$id.*$tx" "$audit"
        "$H_PY" -c 'import json, sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$audit" > "$out"
        local mine="[e for e in r if e.get('MESSAGE_ID') == '$id' and e.get('SOCKFIX_TRANSACTION') == '$tx']"
        h_json_is "$out" "[(e['SOCKFIX_SOCKET'], e['SOCKFIX_STRATEGY'], e['SOCKFIX_OUTCOME'], e['SOCKFIX_CALLER_UID']) for e in $mine if 'SOCKFIX_OUTCOME' in e]" \
                "[[\"$S_SOCK\", \"pool-acl\", \"$outcome\", \"0\"]]" "the journal has the $what: socket, strategy, outcome, caller uid 0"
        h_json_ok "$out" "any('pool-config' in e['MESSAGE'] for e in $mine if 'SOCKFIX_OUTCOME' not in e)" \
                "  and an entry per change (the pool file's among them)"
}
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
stack_assert_not_other_writable "before the fix"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"
fpm_before=$S_FPM_PID nginx_before=$S_NGINX_PID

h_fix "$H_T/fix.json" "$S_SOCK" auto
h_is "$(h_answer_of "$H_T/fix.json")" applied "Fix(auto): outcome applied"
h_json_is "$H_T/fix.json" 'r.get("verified")' true "Fix(auto): verified true"
h_json_is "$H_T/fix.json" 'r.get("strategy")' pool-acl "Fix(auto): strategy pool-acl"
h_json_is "$H_T/fix.json" 'r.get("verdict_before")' denied "Fix(auto): verdict_before denied"
h_json_is "$H_T/fix.json" 'r.get("verdict_after")' ok "Fix(auto): verdict_after ok"
tx=$(h_json "$H_T/fix.json" 'r.get("transaction", "")')
h_like "$tx" '^[0-9a-f]{32}$' "Fix(auto): a transaction id"

if [[ -n $audit ]]; then audit_has "$H_T/audit-fix.json" 5a3c1f0e8d7b4b62a1f09c2e7d4b8a31 fix applied; fi

h_is "$(h_http_status "$S_URL")" 200 "right after the fix: HTTP 200"
h_is "$(cat "$H_T/http.body")" ok "index.php answered ok"
h_is "$S_FPM_PID/$S_NGINX_PID" "$fpm_before/$nginx_before" "no restart: same php-fpm and nginx masters"

h_like "$(getfacl -p "$S_SOCK" 2>/dev/null)" "user:$S_WEB_USER:rw" "the live socket's ACL names the web user rw"
stack_assert_not_other_writable "after the fix"
h_ok "www-data can still connect (live socket)" stack_connect_as www-data

# The pool file: the web user and the old owner in acl_users, the old group in acl_groups.
pool_get() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$S_POOL_CONF" | tail -n 1 | tr -d ' '; }
list_has() { tr ',' '\n' <<< "$1" | grep -qx "$2"; }
acl_users=$(pool_get 'listen\.acl_users') acl_groups=$(pool_get 'listen\.acl_groups')
h_ok "listen.acl_users ($acl_users) has the web user" list_has "$acl_users" "$S_WEB_USER"
h_ok "listen.acl_users ($acl_users) keeps the old owner www-data" list_has "$acl_users" www-data
h_ok "listen.acl_groups ($acl_groups) keeps the old group www-data" list_has "$acl_groups" www-data
h_is "$(pool_get 'listen\.mode')" 0660 "listen.mode stays 0660"
h_ok "the pool file still passes php-fpm -t" bash -c "php-fpm8.2 -t -y '$S_POOL_CONF' > /dev/null 2>&1"

stack_cycle_fpm
h_isnt "$S_FPM_PID" "$fpm_before" "php-fpm fully stopped and started (new master)"
h_is "$(h_http_status "$S_URL")" 200 "after php-fpm's stop and start: still HTTP 200 (the pool edit persisted)"
stack_assert_not_other_writable "after php-fpm's restart"
h_like "$(getfacl -p "$S_SOCK" 2>/dev/null)" "user:$S_WEB_USER:rw" "the re-created socket's ACL names the web user"
h_ok "www-data can still connect after the restart (nobody lost access)" stack_connect_as www-data
h_ok "the web user can connect after the restart" stack_connect_as "$S_WEB_USER"

# Revert through sockfixctl --json.
h_ctl --json revert "$tx" > "$H_T/revert.json" 2> "$H_T/revert.err"
h_is "$?" 0 "sockfixctl --json revert: exit 0"
h_json_is "$H_T/revert.json" 'r.get("outcome")' reverted "Revert: outcome reverted"
if [[ -n $audit ]]; then audit_has "$H_T/audit-revert.json" 9b2e4d6c1a8f4e07b3c5d9e1f2a4b6c8 revert reverted; fi
h_ok "the pool file is byte-identical to the copy taken before the fix" cmp "$S_POOL_CONF" "$H_T/pool.orig"
stack_assert_not_other_writable "after the revert"
# php-fpm re-created the socket since the fix: Revert leaves that inode to the restored
# pool file, which decides from the next start on (so no HTTP check here).
# ext4 gives the re-created socket the freed inode number again: Revert must tell it
# apart (by its listener) and not put the old owner, group and ACL on it.
h_is "$(stat -c '%U:%G' "$S_SOCK")" "root:root" "Revert left the socket php-fpm re-created untouched (root:root)"
h_like "$(getfacl -p "$S_SOCK" 2>/dev/null)" "user:$S_WEB_USER:rw" \
        "the re-created socket keeps the ACL php-fpm gave it until its next start"
h_json_ok "$H_T/revert.json" '"re-created" in r.get("reason", "")' "Revert says it left the re-created socket alone"
stack_cycle_fpm
h_is "$(h_http_status "$S_URL")" 502 "after the revert and php-fpm's next start: HTTP 502 again"
stack_assert_not_other_writable "after the last restart"
h_ok "sockfixd still owns its name" h_has_name "$H_BUS_NAME"
h_done
