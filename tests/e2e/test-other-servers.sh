#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The seed case behind the other web servers sockfix reads: one pool's socket
# (www-data:www-data 0660) behind a real Apache (mpm_event, root master, workers as
# sfx-apache), a real lighttpd (drops root to sfx-lighty: one process, not root's) and a
# real Caddy (run as Debian's `caddy`, never root), each with its own config and error
# log, answering real HTTP. Apache and lighttpd answer 503; Caddy's user is in www-data
# on Debian, and its answer decides what the report must say of it.
# - Diagnose: every server is a consumer, with the credentials its running processes
#   hold; verdict denied; socket-group-mismatch for sfx-apache and sfx-lighty; the
#   evidence quotes Apache's and lighttpd's own error lines.
# - A lighttpd that spawns php-cgi itself (bin-path): its socket is PATH-0, ok, and the
#   php-cgi processes are not its workers.
# - A lighttpd that another user starts with root's config (as that user, not as the
#   config's), an Apache another user starts with a config of root's that names that
#   user, and a lighttpd in a mount namespace of its own are no consumers: a Fix would
#   otherwise grant a user of their choice the site's socket.
# - Fix member is refused (lighttpd cannot be reloaded), nothing changed; Fix auto
#   applies pool-acl; Apache answers 200 at once and lighttpd once it retries the backend
#   it disabled, no server restarted.
# - Revert: 503 again at once.
# - Apache's and lighttpd's users added to www-data, nothing restarted: stale
#   credentials. With Apache's configuration broken, refresh answers ConfigTestFailed
#   (apache2 -t) and Apache keeps running; refresh for lighttpd is refused; auto
#   reloads Apache (new workers hold the group) and grants lighttpd by pool-acl.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-other-servers

for p in apache2 lighttpd caddy php-cgi; do command -v "$p" > /dev/null || h_die "$p is not installed (scripts/install-deps.sh)"; done
id caddy > /dev/null 2>&1 || h_die "no user caddy (Debian's caddy package makes it)"
apache_user=sfx-apa-$$ lighty_user=sfx-lig-$$ other_user=sfx-oth-$$
for u in "$apache_user" "$lighty_user" "$other_user"; do h_ensure_user "$u"; done
H_SNAPSHOT_NAMES+=" $apache_user $lighty_user caddy"

stack_up --owner www-data --group www-data --mode 0660 --no-nginx

# Apache: only the modules it needs, everything under the temp dir.
A=$H_T/apache ap=$(h_free_port)
mkdir -p "$A/run" "$A/logs"
cat > "$A/apache2.conf" << EOF
ServerRoot $A
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_fcgi_module /usr/lib/apache2/modules/mod_proxy_fcgi.so
User $apache_user
Group $apache_user
Listen 127.0.0.1:$ap
ServerName localhost
PidFile $A/run/apache2.pid
DefaultRuntimeDir $A/run
Mutex file:$A/run default
ErrorLog $A/logs/error.log
DocumentRoot $H_T/www
<Directory $H_T/www>
    Require all granted
</Directory>
<FilesMatch "\.php\$">
    SetHandler "proxy:unix:$S_SOCK|fcgi://localhost"
</FilesMatch>
EOF
h_spawn apache2 "$A/stdout.log" apache2 -f "$A/apache2.conf" -DFOREGROUND
apache_pid=$H_LAST_PID

# lighttpd_conf FILE PORT USER ERRORLOG: lighttpd passing .php to the pool's socket.
L=$H_T/lighttpd
mkdir -p "$L"
lighttpd_conf() {
        cat > "$1" << EOF
server.document-root = "$H_T/www"
server.bind = "127.0.0.1"
server.port = $2
server.username = "$3"
server.groupname = "$3"
server.errorlog = "$4"
server.modules += ( "mod_fastcgi" )
fastcgi.server = ( ".php" => (( "socket" => "$S_SOCK", "check-local" => "disable" )) )
EOF
}
lp=$(h_free_port) op=$(h_free_port)
lighttpd_conf "$L/lighttpd.conf" "$lp" "$lighty_user" "$L/error.log"
install -o "$lighty_user" -m 0644 /dev/null "$L/error.log"
h_spawn lighttpd "$L/stdout.log" lighttpd -D -f "$L/lighttpd.conf"
lighty_pid=$H_LAST_PID
# The same binary and a config of root's, started by another user: it runs as that user.
lighttpd_conf "$L/other.conf" "$op" "$lighty_user" "$L/other-error.log"
install -o "$other_user" -m 0644 /dev/null "$L/other-error.log"
h_spawn "lighttpd of $other_user" "$L/other-stdout.log" setpriv --reuid="$other_user" --regid="$other_user" \
        --clear-groups lighttpd -D -f "$L/other.conf"
other_pid=$H_LAST_PID

# lighttpd spawning its backend itself, as Debian's fastcgi-php module does (bin-path):
# php-cgi binds the socket's path + "-0", never the path as written.
sp=$(h_free_port)
install -d -o "$lighty_user" "$L/run"
install -o "$lighty_user" -m 0644 /dev/null "$L/spawn-error.log"
cat > "$L/spawn.conf" << EOF
server.document-root = "$H_T/www"
server.bind = "127.0.0.1"
server.port = $sp
server.username = "$lighty_user"
server.groupname = "$lighty_user"
server.errorlog = "$L/spawn-error.log"
server.modules += ( "mod_fastcgi" )
fastcgi.server = ( ".php" => ((
        "bin-path" => "/usr/bin/php-cgi",
        "socket" => "$L/run/php.socket",
        "max-procs" => 1,
        "bin-environment" => ( "PHP_FCGI_CHILDREN" => "2" )
)) )
EOF
h_spawn "lighttpd spawning php-cgi" "$L/spawn-stdout.log" lighttpd -D -f "$L/spawn.conf"
spawn_pid=$H_LAST_PID

# The user of a real lighttpd, in a mount namespace of its own (where any binary can
# stand at /usr/sbin/lighttpd), and an Apache another user runs with a config of root's
# that names that user: neither is what root runs.
np=$(h_free_port)
lighttpd_conf "$L/ns.conf" "$np" "$lighty_user" "$L/ns-error.log"
install -o "$lighty_user" -m 0644 /dev/null "$L/ns-error.log"
h_spawn "lighttpd in a mount namespace" "$L/ns-stdout.log" unshare --mount --propagation private \
        setpriv --reuid="$lighty_user" --regid="$lighty_user" --clear-groups lighttpd -D -f "$L/ns.conf"
ns_pid=$H_LAST_PID
oa=$H_T/other-apache oap=$(h_free_port)
install -d -o "$other_user" "$oa"
sed -e "s|^User .*|User $other_user|; s|^Group .*|Group $other_user|; s|^Listen .*|Listen 127.0.0.1:$oap|" \
        -e "s|$A/run|$oa|g; s|$A/logs|$oa|g" "$A/apache2.conf" > "$H_T/other-apache.conf"
h_spawn "apache2 of $other_user" "$oa/stdout.log" setpriv --reuid="$other_user" --regid="$other_user" --clear-groups \
        apache2 -f "$H_T/other-apache.conf" -DFOREGROUND

# Caddy as Debian's unit runs it (User=caddy), with its state under the temp dir.
C=$H_T/caddy cp=$(h_free_port)
mkdir -p "$C/home"
chown caddy "$C/home"
cat > "$C/Caddyfile" << EOF
{
	admin off
	auto_https off
	storage file_system $C/home
}
http://127.0.0.1:$cp {
	root * $H_T/www
	php_fastcgi unix/$S_SOCK
}
EOF
h_spawn caddy "$C/stdout.log" setpriv --reuid=caddy --regid=caddy --init-groups \
        env HOME="$C/home" XDG_DATA_HOME="$C/home" XDG_CONFIG_HOME="$C/home" \
        caddy run --config "$C/Caddyfile" --adapter caddyfile
caddy_pid=$H_LAST_PID

for port in "$ap" "$lp" "$op" "$sp" "$np" "$oap" "$cp"; do
        h_wait_for 100 h_port_listening "$port" || { cat "$A/stdout.log" "$L/"*stdout.log "$C/stdout.log" | sed 's/^/# /'; h_die "a web server did not start (port $port)"; }
done
h_wait_for 50 stack_has_children "$apache_pid" || h_die "Apache started no worker"
apache_workers=$(stack_children "$apache_pid" | sort -n | tr '\n' ' ')
h_log "Apache master $apache_pid, workers $apache_workers; lighttpd $lighty_pid; $other_user's lighttpd $other_pid; lighttpd in its own mount namespace $ns_pid; Caddy $caddy_pid"
url() { echo "http://127.0.0.1:$1/index.php"; }
answers() { [[ $(h_http_status "$(url "$1")") == "$2" ]]; }
h_is "$(h_http_status "$(url "$ap")")" 503 "Apache answers 503"
h_is "$(h_http_status "$(url "$lp")")" 503 "lighttpd answers 503"
caddy_status=$(h_http_status "$(url "$cp")")
caddy_ok=$([[ $caddy_status == 200 ]] && echo True || echo False)
h_log "Caddy answers $caddy_status (caddy's groups: $(id -nG caddy))"

h_sockfix_up
stack_snapshot before
stack_diagnose report "$S_SOCK" '{"evidence": true}'
r=$H_T/report.json
h_json_is "$r" 'r["verdict"]' denied "verdict denied"
h_json_is "$r" 'sorted(c["server"] for c in r["consumers"])' '["apache2", "caddy", "lighttpd"]' \
        "consumers: Apache, Caddy and lighttpd; not the lighttpd and Apache $other_user started, nor the lighttpd in a mount namespace of its own"
cons() { echo "[c for c in r['consumers'] if c['server'] == '$1'][0]"; }
h_json_is "$r" "($(cons apache2)['user'], sorted($(cons apache2)['pids']), $(cons apache2)['errno'])" \
        "[\"$apache_user\", [$(echo "$apache_workers" | xargs | tr ' ' ',' | sed 's/,/, /g')], 13]" \
        "Apache's consumer: its workers (not the root master), $apache_user, EACCES"
h_json_is "$r" "($(cons lighttpd)['user'], $(cons lighttpd)['pids'], $(cons lighttpd)['uid'], $(cons lighttpd)['errno'])" \
        "[\"$lighty_user\", [$lighty_pid], $(id -u "$lighty_user"), 13]" \
        "lighttpd's consumer: the process itself, as the user it dropped root for, EACCES"
h_json_is "$r" "($(cons caddy)['user'], $(cons caddy)['uid'], $(cons caddy)['can_connect'])" \
        "[\"caddy\", $(id -u caddy), $(echo $caddy_ok | tr TF tf)]" \
        "Caddy's consumer: user caddy, can connect exactly when Caddy answers 200"
mismatched=$(printf '%s\n' "$apache_user" "$lighty_user" $([[ $caddy_ok == False ]] && echo caddy) | sort |
        "$H_PY" -c 'import json, sys; print(json.dumps(sys.stdin.read().split()))')
h_json_is "$r" 'sorted(f["consumer"] for f in r["findings"] if f["code"] == "socket-group-mismatch")' "$mismatched" \
        "socket-group-mismatch for the users that cannot connect: $mismatched"
h_json_ok "$r" 'any("AH02454" in l and "(13)Permission denied" in l for l in r["evidence"])' \
        "the evidence quotes Apache's AH02454 (13)Permission denied line"
h_json_ok "$r" 'any("establishing connection failed" in l and "Permission denied" in l for l in r["evidence"])' \
        "the evidence quotes lighttpd's connection failure"
"$SOCKFIX_BUILD_DIR/client/sockfixctl" --json list > "$H_T/list.json"
h_json_is "$H_T/list.json" "sorted([s for s in r if s['path'] == '$S_SOCK'][0]['servers'])" \
        '["apache2", "caddy", "lighttpd"]' "ListSockets: the socket is used by apache2, caddy and lighttpd"

spawned=$L/run/php.socket-0
h_is "$(h_http_status "$(url "$sp")")" 200 "the lighttpd that spawns php-cgi answers 200"
h_json_is "$H_T/list.json" "[(s['path'], s['verdict'], s['servers'], s['listener']['program']) for s in r if s['path'].startswith('$L/run/')]" \
        "[[\"$spawned\", \"ok\", [\"lighttpd\"], \"php-cgi\"]]" \
        "ListSockets: its php-cgi's socket $spawned, ok; not $L/run/php.socket, which nothing binds"
stack_diagnose spawned "$spawned"
h_json_is "$H_T/spawned.json" '[(c["server"], c["pids"], c["can_connect"]) for c in r["consumers"]]' "[[\"lighttpd\", [$spawn_pid], true]]" \
        "  its consumer: that lighttpd alone (the php-cgi it spawned are not its workers)"

h_fix "$H_T/member.json" "$S_SOCK" member
h_is "$(h_error_of "$H_T/member.json")" org.sockfix.SockFix1.Error.StrategyUnavailable \
        "Fix member: StrategyUnavailable"
h_json_ok "$H_T/member.json" '"lighttpd" in r["message"] and "sockfix cannot reload it" in r["message"] and "activation none" in r["message"]' \
        "  naming lighttpd, which sockfix cannot reload, and activation none"
stack_snapshot after-member
h_assert_unchanged before after-member "the refused Fix changed nothing"

h_fix "$H_T/fix.json" "$S_SOCK" auto
h_is "$(h_answer_of "$H_T/fix.json")" applied "Fix(auto): applied"
h_json_is "$H_T/fix.json" '(r.get("strategy"), r.get("verified"), r.get("verdict_after"))' '["pool-acl", true, "ok"]' \
        "Fix(auto): pool-acl, verified, verdict ok"
h_json_ok "$H_T/fix.json" '"lighttpd answers 503 until it retries" in r["reason"]' \
        "  its reason warns that lighttpd answers 503 until it retries the backend"
h_is "$(h_http_status "$(url "$ap")")" 200 "Apache answers 200 at once"
# lighttpd disables a backend that failed for its disable-time (1 s by default) and
# answers 503 until it tries again.
start=$(date +%s%N)
h_wait_for 100 answers "$lp" 200
h_is "$(h_http_status "$(url "$lp")")" 200 "lighttpd answers 200 (after $((($(date +%s%N) - start) / 1000000)) ms: its disable-time)"
h_is "$(h_http_status "$(url "$cp")")" 200 "Caddy answers 200"
h_is "$(stack_children "$apache_pid" | sort -n | tr '\n' ' ')" "$apache_workers" "Apache's workers are the same (nothing reloaded)"
h_ok "lighttpd still runs (nothing restarted)" h_alive "$lighty_pid"
h_ok "Caddy still runs" h_alive "$caddy_pid"
stack_assert_not_other_writable "after the fix"

tx=$(h_json "$H_T/fix.json" 'r.get("transaction", "")')
h_revert "$H_T/revert.json" "$tx"
h_is "$(h_answer_of "$H_T/revert.json")" reverted "Revert: reverted"
h_is "$(h_http_status "$(url "$ap")")" 503 "Apache answers 503 again"
h_is "$(h_http_status "$(url "$lp")")" 503 "lighttpd answers 503 again"

# Stale credentials: Apache's and lighttpd's users join www-data in the group database;
# the running processes do not hold it. Apache can be reloaded: refresh, after apache2 -t
# with the master's own options and environment (a bare graceful restart exits on a
# broken configuration). lighttpd cannot: its finding offers the pool strategies.
gpasswd -a "$apache_user" www-data > /dev/null
gpasswd -a "$lighty_user" www-data > /dev/null
h_at_exit "gpasswd -d '$apache_user' www-data > /dev/null 2>&1; gpasswd -d '$lighty_user' www-data > /dev/null 2>&1"
h_is "$(h_http_status "$(url "$ap")")" 503 "Apache's user in www-data, its workers unchanged: still 503"
stack_diagnose stale "$S_SOCK"
stale_of() { echo "($(cons "$1")['stale_credentials'], [(f['code'], f['remedies']) for f in r['findings'] if f.get('consumer') == '$2'])"; }
h_json_is "$H_T/stale.json" "$(stale_of apache2 "$apache_user")" '[true, [["stale-credentials", ["refresh"]]]]' \
        "Apache's consumer: stale credentials, remedy refresh"
h_json_is "$H_T/stale.json" "$(stale_of lighttpd "$lighty_user")" '[true, [["stale-credentials", ["pool-acl", "pool-group"]]]]' \
        "lighttpd's: stale credentials, remedies pool-acl and pool-group (sockfix cannot reload it)"
h_json_ok "$H_T/stale.json" "any(f['code'] == 'stale-credentials' and f['detail'].startswith('lighttpd must be restarted to pick up the group') for f in r['findings'] if f.get('consumer') == '$lighty_user')" \
        "  its advice: lighttpd must be restarted, or its workers granted as they are"

cp -a "$A/apache2.conf" "$H_T/apache2.conf.good"
echo "BogusDirective on" >> "$A/apache2.conf"
stack_snapshot before-refresh
h_fix "$H_T/refresh-bad.json" "$S_SOCK" refresh "{\"consumer\": \"$apache_user\"}"
h_json_ok "$H_T/refresh-bad.json" 'r.get("error", "").endswith("ConfigTestFailed") and "apache2 -t" in r["message"] and "BogusDirective" in r["message"]' \
        "Fix refresh with Apache's configuration broken: ConfigTestFailed, quoting apache2 -t"
stack_snapshot after-refresh
h_assert_unchanged before-refresh after-refresh "  nothing changed"
h_ok "  and Apache still runs (its graceful restart would have stopped it)" h_alive "$apache_pid"
h_is "$(stack_children "$apache_pid" | sort -n | tr '\n' ' ')" "$apache_workers" "  with the same workers"
cp -a "$H_T/apache2.conf.good" "$A/apache2.conf"

h_fix "$H_T/refresh-lighty.json" "$S_SOCK" refresh "{\"consumer\": \"$lighty_user\"}"
h_json_ok "$H_T/refresh-lighty.json" 'r.get("error", "").endswith("StrategyUnavailable") and "refresh is a reload of lighttpd" in r["message"] and "sockfix cannot reload it" in r["message"]' \
        "Fix refresh for lighttpd's user: StrategyUnavailable, saying why"

h_fix "$H_T/stale-fix.json" "$S_SOCK" auto
h_json_is "$H_T/stale-fix.json" '(r.get("outcome"), r.get("strategy"), r.get("verified"))' '["applied", "refresh+pool-acl", true]' \
        "Fix(auto): refresh+pool-acl (Apache reloaded, lighttpd granted as it is), applied and verified"
h_is "$(h_http_status "$(url "$ap")")" 200 "Apache answers 200"
new_workers=$(stack_children "$apache_pid" | sort -n | tr '\n' ' ')
h_isnt "$new_workers" "$apache_workers" "  from new workers ($new_workers), under the same master"
h_ok "  which hold www-data" stack_workers_hold_gid "$(getent group www-data | cut -d: -f3)" "$apache_pid"
h_wait_for 100 answers "$lp" 200
h_is "$(h_http_status "$(url "$lp")")" 200 "lighttpd answers 200"
h_ok "  from the same process" h_alive "$lighty_pid"
h_revert "$H_T/stale-revert.json" "$(h_json "$H_T/stale-fix.json" 'r.get("transaction", "")')"
h_is "$(h_answer_of "$H_T/stale-revert.json")" reverted "Revert: reverted"
h_is "$(h_http_status "$(url "$lp")")" 503 "lighttpd answers 503 again (its ACL entry taken back)"
h_is "$(h_http_status "$(url "$ap")")" 200 "Apache still 200 (its workers hold the group the database grants)"
h_done
