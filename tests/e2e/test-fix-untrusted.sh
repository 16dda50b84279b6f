#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Where a path or a file is not root's alone, Fix changes nothing (UnsafePath), on the
# seed stack (socket www-data:www-data 0660, the web user outside www-data):
#  (a) a path through a root-only directory and back out with '..' (/secret/../run/x.sock):
#      the web user cannot search /secret, yet Fix never opens a directory the socket is
#      not in; the finding names the path to use instead, and has no remedy;
#  (b) the same through a symlink any user could plant in a sticky directory;
#  (c) the pool file in a directory others can write (the file could be swapped for a
#      link to any file between the check and the write): no pool edit, no php-fpm -t;
#      once the directory is root's again, the same Fix applies (HTTP 200);
#  (d) a second nginx that a user runs, whose config names the socket: not read (its
#      config is the user's choice, of any size), so never granted (its workers would
#      run PHP as the pool's user);
#  (e) a php-fpm that a user runs, behind an nginx of root's: not read either, and its
#      socket gets no member (the group is the user's choice).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-untrusted

stack_use_web_user "sfx-unt-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"

secret=$H_T/secret
mkdir -m 0700 "$secret" "$secret/sub"
snap() { stack_files_snapshot "$1"; h_snapshot "$1-secret" "$secret/sub"; }
unchanged() { stack_files_snapshot "$1"; h_snapshot "$1-secret" "$secret/sub"; h_assert_unchanged "$2" "$1" "$3"; h_assert_unchanged "$2-secret" "$1-secret" "  and $secret"; }

# --- (a) '..' out of a root-only directory
dotdot=$secret/../run/php8.2-fpm.sock
stack_diagnose dotdot "$dotdot"
r=$H_T/dotdot.json
h_json_is "$r" 'r.get("resolved")' "$S_SOCK" "Diagnose $dotdot: resolved to the socket"
h_json_is "$r" 'r.get("verdict")' denied "  verdict denied"
sel="[f for f in r['findings'] if f['code'] == 'dir-no-search']"
h_json_is "$r" "','.join(f['path'] for f in $sel)" "$secret" "  dir-no-search on $secret"
h_json_is "$r" "[f['remedies'] for f in $sel]" '[[]]' "  with no remedy: that directory does not hold the socket"
h_json_ok "$r" "'$S_SOCK' in $sel[0].get('detail', '')" "  its detail names the path to use: $S_SOCK"
snap before-a
for strategy in auto dir-search; do
        h_fix "$H_T/fix-dotdot-$strategy.json" "$dotdot" "$strategy"
done
h_is "$(h_answer_of "$H_T/fix-dotdot-auto.json")" org.sockfix.SockFix1.Error.UnsafePath "Fix(auto) $dotdot: UnsafePath"
h_json_ok "$H_T/fix-dotdot-auto.json" "'$secret' in r.get('message', '') and '$S_SOCK' in r.get('message', '')" \
        "  the message names $secret and the path to use"
h_is "$(h_answer_of "$H_T/fix-dotdot-dir-search.json")" org.sockfix.SockFix1.Error.StrategyUnavailable \
        "Fix(dir-search) $dotdot: StrategyUnavailable (no finding lists it)"
unchanged after-a before-a "the refused Fixes changed nothing: no ACL on $secret, socket and pool as they were"
h_is "$(getfacl -cp "$secret" 2>/dev/null | grep -c '^user:[^:]')" 0 "$secret has no named ACL entry"

# --- (b) the same through a symlink planted by nobody in a sticky directory
mkdir -m 1777 "$H_T/tmp"
runuser -u nobody -- ln -s "$secret/sub/../../run/php8.2-fpm.sock" "$H_T/tmp/evil.sock"
h_ok "nobody planted $H_T/tmp/evil.sock" test -L "$H_T/tmp/evil.sock"
h_fix "$H_T/fix-link.json" "$H_T/tmp/evil.sock" auto
h_is "$(h_answer_of "$H_T/fix-link.json")" org.sockfix.SockFix1.Error.UnsafePath "Fix(auto) through nobody's link: UnsafePath"
unchanged after-b before-a "  nothing changed"

# --- (c) the pool file in a directory others can write
chmod 0777 "$H_T/fpm"
snap before-c
# member edits no pool file, but the socket's group is the pool file's choice.
for strategy in auto pool-acl pool-group member; do
        h_fix "$H_T/fix-open-$strategy.json" "$S_SOCK" "$strategy"
        h_is "$(h_answer_of "$H_T/fix-open-$strategy.json")" org.sockfix.SockFix1.Error.UnsafePath \
                "pool directory 0777, Fix($strategy): UnsafePath"
done
h_json_ok "$H_T/fix-open-auto.json" "'$H_T/fpm' in r.get('message', '') and 'writable by others' in r.get('message', '')" \
        "  the message names the directory and why"
h_fix "$H_T/fix-open-dry.json" "$S_SOCK" auto '{"dry_run": true}'
h_is "$(h_answer_of "$H_T/fix-open-dry.json")" org.sockfix.SockFix1.Error.UnsafePath "  a dry run says so too"
unchanged after-c before-c "  nothing changed: pool file, socket, nginx config"
h_call "$H_T/tx-c.json" ListTransactions '{}'
h_json_is "$H_T/tx-c.json" 'len(r)' 0 "  and no transaction was recorded"
chmod 0755 "$H_T/fpm"
# An ACL entry that lets one user write shows as group write (the mask): refused too.
snap before-acl
setfacl -m u:nobody:rwx "$H_T/fpm"
h_fix "$H_T/fix-acl-dir.json" "$S_SOCK" auto
h_is "$(h_answer_of "$H_T/fix-acl-dir.json")" org.sockfix.SockFix1.Error.UnsafePath "pool directory with u:nobody:rwx: UnsafePath"
setfacl -b "$H_T/fpm"
setfacl -m u:nobody:rw "$S_POOL_CONF"
h_fix "$H_T/fix-acl-file.json" "$S_SOCK" auto
h_is "$(h_answer_of "$H_T/fix-acl-file.json")" org.sockfix.SockFix1.Error.UnsafePath "pool file with u:nobody:rw: UnsafePath"
setfacl -b "$S_POOL_CONF"
unchanged after-acl before-acl "  nothing changed"
h_fix "$H_T/fix-root.json" "$S_SOCK" auto
h_is "$(h_answer_of "$H_T/fix-root.json")" applied "the directory root's again: Fix(auto) applied"
h_is "$(h_http_status "$S_URL")" 200 "  HTTP 200"
tx=$(h_json "$H_T/fix-root.json" 'r["transaction"]')
h_revert "$H_T/revert-root.json" "$tx"
h_is "$(h_answer_of "$H_T/revert-root.json")" reverted "  and Revert undoes it"
h_is "$(h_http_status "$S_URL")" 502 "  HTTP 502 again"

# --- (d) an nginx a user runs, pointing at the socket
evil=sfx-unt-ev-$$
h_ensure_user "$evil"
ed=$H_T/evil-nginx
evil_port=$(h_free_port)
nginx_conf "$ed/nginx.conf" "$ed" "$evil" "$evil_port" "$S_SOCK"
chown -R "$evil" "$ed"
h_spawn "nginx run by $evil" "$ed/stdout.log" runuser -u "$evil" -- nginx -c "$ed/nginx.conf" -p "$ed/" -g 'daemon off;'
h_ok "nginx run by $evil listens on $evil_port" h_wait_for 100 h_port_listening "$evil_port"
stack_diagnose evil "$S_SOCK"
h_json_ok "$H_T/evil.json" "not any(c['user'] == '$evil' for c in r['consumers'])" "Diagnose: $evil's nginx is not read, so no consumer"
h_fix "$H_T/fix-evil.json" "$S_SOCK" auto
h_is "$(h_answer_of "$H_T/fix-evil.json")" applied "Fix(auto): applied for the nginx root runs"
h_json_ok "$H_T/fix-evil.json" "'$evil' not in str(r.get('changes'))" "  no change names $evil"
h_ok "  the pool file does not name $evil" bash -c "! grep -q '$evil' '$S_POOL_CONF'"
h_ok "  the socket's ACL does not name $evil" bash -c "! getfacl -cp '$S_SOCK' 2>/dev/null | grep -q '$evil'"
h_is "$(h_http_status "$S_URL")" 200 "  HTTP 200 through root's nginx"
h_is "$(h_http_status "http://127.0.0.1:$evil_port/index.php")" 502 "  HTTP 502 through $evil's"

# --- (e) a php-fpm a user runs, from a configuration only root can change, behind a
# second nginx of root's: its socket gets no edit (that php-fpm is the user's, and so
# is whatever it would make of the file at its next start).
ef=$H_T/evil-fpm
mkdir -p "$ef/run"
chown "$evil" "$ef/run"
printf '%s\n' "[global]" "error_log = $ef/run/php-fpm.log" "daemonize = no" "[evil]" \
        "listen = $ef/run/php.sock" "listen.mode = 0660" "pm = ondemand" "pm.max_children = 1" > "$ef/php-fpm.conf"
h_spawn "php-fpm run by $evil" "$ef/stdout.log" runuser -u "$evil" -- php-fpm8.2 -F -y "$ef/php-fpm.conf"
h_ok "php-fpm run by $evil listens on $ef/run/php.sock" h_wait_for 100 test -S "$ef/run/php.sock"
stack_extra_nginx nginx2 "$S_WEB_USER" "$ef/run/php.sock"
h_is "$(h_http_status "$X_URL")" 502 "HTTP 502 through root's second nginx"
h_snapshot before-e "$ef/php-fpm.conf" "$ef/run/php.sock"
h_fix "$H_T/fix-userfpm.json" "$ef/run/php.sock" auto
h_is "$(h_answer_of "$H_T/fix-userfpm.json")" org.sockfix.SockFix1.Error.UnsafePath "Fix(auto) of its socket: UnsafePath"
h_json_ok "$H_T/fix-userfpm.json" "'does not run as root' in r.get('message', '')" "  saying its php-fpm does not run as root"
h_fix "$H_T/fix-userfpm-member.json" "$ef/run/php.sock" member
h_is "$(h_answer_of "$H_T/fix-userfpm-member.json")" org.sockfix.SockFix1.Error.UnsafePath \
        "Fix(member) of its socket: UnsafePath (the group would be the user's choice)"
h_ok "  the web user is not in $evil's group" bash -c "! id -nG '$S_WEB_USER' | tr ' ' '\n' | grep -qx '$evil'"
h_snapshot after-e "$ef/php-fpm.conf" "$ef/run/php.sock"
h_assert_unchanged before-e after-e "  its configuration and socket are unchanged"
h_ok "sockfixd still owns its name" h_has_name org.sockfix.SockFix1
h_done
