#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Apache as Debian runs a second instance: a copy of the stock /etc/apache2 as
# /etc/apache2-NAME, started by `APACHE_CONFDIR=/etc/apache2-NAME apache2ctl start`, which
# sources that instance's envvars (APACHE_RUN_USER, and log and run directories suffixed
# -NAME by shell code) and runs `apache2 -d /etc/apache2-NAME -k start`. The stock
# php8.2-fpm.conf (a2enconf) and proxy_fcgi (a2enmod) are enabled, pointing at the seed
# case's socket (www-data:www-data 0660); the instance's user is outside www-data: 503.
# - Diagnose reads the instance's own config (-d moves the config file with ServerRoot:
#   a handler only its apache2.conf has is listed) with the master's environment: the consumer is the user envvars names, and the
#   evidence quotes the instance's error log, /var/log/apache2-NAME/error.log.
# - Fix auto: pool-acl, 200 at once from the same workers; Revert: 503 again.
# - Its user joins www-data: Fix auto refreshes it (apache2 -t with the master's -d and
#   environment, then a graceful restart): new workers hold the group, 200.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-apache-instance

command -v apache2ctl > /dev/null || h_die "apache2 is not installed (scripts/install-deps.sh)"
[[ -f /etc/apache2/conf-available/php8.2-fpm.conf ]] || h_die "no /etc/apache2/conf-available/php8.2-fpm.conf (php8.2-fpm)"
web_user=sfx-ain-$$ name=sfx$$
h_ensure_user "$web_user"
stack_up --owner www-data --group www-data --mode 0660 --no-nginx

conf=/etc/apache2-$name
for d in "$conf" "/var/log/apache2-$name" "/run/apache2-$name" "/run/lock/apache2-$name"; do
        [[ -e $d ]] && h_die "$d exists"
        h_at_exit "rm -rf '$d'"
done
# As Debian's setup-instance script makes one: the config copied, its own log directory.
cp -a /etc/apache2 "$conf"
install -d -o root -g adm -m 0750 "/var/log/apache2-$name"
# Only the stock site: whatever else this host enables is not the scenario's.
find "$conf/sites-enabled" -mindepth 1 ! -name 000-default.conf -delete
# What an administrator edits: the instance's user, its port, its document root.
sed -i "s/^export APACHE_RUN_USER=.*/export APACHE_RUN_USER=$web_user/; s/^export APACHE_RUN_GROUP=.*/export APACHE_RUN_GROUP=$web_user/" \
        "$conf/envvars"
port=$(h_free_port)
echo "Listen 127.0.0.1:$port" > "$conf/ports.conf"
sed -i "s|<VirtualHost \*:80>|<VirtualHost *:$port>|; s|DocumentRoot /var/www/html|DocumentRoot $H_T/www|" \
        "$conf/sites-available/000-default.conf"
printf '<Directory %s>\n    Require all granted\n</Directory>\n' "$H_T/www" > "$conf/conf-available/sfx-www.conf"
sed -i "s|/run/php/php8.2-fpm.sock|$S_SOCK|" "$conf/conf-available/php8.2-fpm.conf"
# The instance's own main file differs from the default instance's: a status page.
status_sock=$S_SOCK_DIR/status.sock
printf '<Location "/fpm-status">\n    SetHandler "proxy:unix:%s|fcgi://localhost"\n</Location>\n' "$status_sock" >> "$conf/apache2.conf"
# a2enconf php8.2-fpm sfx-www; a2enmod proxy_fcgi (and proxy, which it needs).
for c in php8.2-fpm sfx-www; do ln -s "../conf-available/$c.conf" "$conf/conf-enabled/$c.conf"; done
for m in proxy.load proxy.conf proxy_fcgi.load; do ln -sf "../mods-available/$m" "$conf/mods-enabled/$m"; done

# Under systemd as PID 1, apache2ctl would hand the start to `systemctl start apache2@NAME`:
# the test starts the instance itself, as its child, as the unit would.
APACHE_CONFDIR=$conf APACHE_STARTED_BY_SYSTEMD=true apache2ctl start > "$H_T/apache2ctl.log" 2>&1 || { sed 's/^/# /' "$H_T/apache2ctl.log"; h_die "apache2ctl start failed"; }
h_wait_for 100 test -s "/run/apache2-$name/apache2.pid" || h_die "no pid file /run/apache2-$name/apache2.pid"
master=$(cat "/run/apache2-$name/apache2.pid")
H_PIDS+=("$master") # re-parented to the test (subreaper): stopped and waited for at exit
h_wait_for 100 h_port_listening "$port" && h_wait_for 50 stack_has_children "$master" || h_die "the instance did not start"
workers=$(stack_children "$master" | sort -n | tr '\n' ' ')
h_log "instance $name: master $master ($(tr '\0' ' ' < "/proc/$master/cmdline")), workers $workers"
url=http://127.0.0.1:$port/index.php
h_is "$(h_http_status "$url")" 503 "the instance answers 503"
h_file_like "/var/log/apache2-$name/error.log" 'AH02454: FCGI: attempt to connect to Unix domain socket .* failed' \
        "  and logs AH02454 in its own error log"

h_sockfix_up
stack_diagnose report "$S_SOCK" '{"evidence": true}'
r=$H_T/report.json
h_json_is "$r" 'r["verdict"]' denied "verdict denied"
h_json_is "$r" '[(c["server"], c["user"], sorted(c["pids"]), c["errno"]) for c in r["consumers"]]' \
        "[[\"apache2\", \"$web_user\", [$(echo "$workers" | xargs | sed 's/ /, /g')], 13]]" \
        "one consumer: the instance's workers (as the user its envvars names), EACCES"
h_json_ok "$r" 'any(f["code"] == "socket-group-mismatch" and f["consumer"] == "'"$web_user"'" for f in r["findings"])' \
        "socket-group-mismatch for $web_user"
# envvars works the log directory out with shell code (SUFFIX); only the master's
# environment says /var/log/apache2-NAME.
h_json_ok "$r" 'any("AH02454" in l and "Permission denied" in l for l in r["evidence"])' \
        "the evidence quotes the instance's own error log (/var/log/apache2-$name, from the master's environment)"

h_ctl --json list > "$H_T/list.json"
h_json_is "$H_T/list.json" "[(s['servers'], s['verdict']) for s in r if s['path'] == '$status_sock']" '[[["apache2"], "missing"]]' \
        "ListSockets: the handler in the instance's own apache2.conf (not /etc/apache2's), its socket missing"

h_fix "$H_T/fix.json" "$S_SOCK" auto
h_json_is "$H_T/fix.json" '(r.get("outcome"), r.get("strategy"), r.get("verified"))' '["applied", "pool-acl", true]' \
        "Fix(auto): pool-acl, applied, verified"
h_is "$(h_http_status "$url")" 200 "the instance answers 200 at once"
h_is "$(stack_children "$master" | sort -n | tr '\n' ' ')" "$workers" "  from the same workers"
h_revert "$H_T/revert.json" "$(h_json "$H_T/fix.json" 'r.get("transaction", "")')"
h_is "$(h_answer_of "$H_T/revert.json")" reverted "Revert: reverted"
h_is "$(h_http_status "$url")" 503 "503 again"

# The instance's user joins www-data; its workers do not hold it. refresh: apache2 -t
# with the master's -d and environment (Debian's configuration names ${APACHE_RUN_DIR},
# ${APACHE_LOCK_DIR}, ${APACHE_LOG_DIR}...: without them the test fails), then a graceful
# restart of this instance alone.
gpasswd -a "$web_user" www-data > /dev/null
h_at_exit "gpasswd -d '$web_user' www-data > /dev/null 2>&1"
h_fix "$H_T/refresh.json" "$S_SOCK" auto
h_json_is "$H_T/refresh.json" '(r.get("outcome"), r.get("strategy"), r.get("verified"))' '["applied", "refresh", true]' \
        "stale credentials: Fix(auto) refreshes the instance (apache2 -t with its environment passed), verified"
h_is "$(h_http_status "$url")" 200 "the instance answers 200"
h_ok "  from the same master" h_alive "$master"
h_isnt "$(stack_children "$master" | sort -n | tr '\n' ' ')" "$workers" "  and new workers"
h_ok "  which hold www-data" stack_workers_hold_gid "$(getent group www-data | cut -d: -f3)" "$master"
h_done
