# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# The web stack sockfix diagnoses, for real: php-fpm (one pool, user www-data) and nginx
# (`user nginx;`, a system user that is not in www-data) passing .php to the pool's unix
# socket, everything under the test's temp dir. Sourced after harness.sh.
#
#   stack_up [POOL-OPTIONS] [--sock-dir NAME] [--sock-dir-mode M] [--sock-name NAME]
#            [--nginx-sock PATH] [--no-nginx]
#   POOL-OPTIONS (first): [--owner U] [--group G] [--mode M] [--acl-users L]
#            [--acl-groups L] [--pm static|ondemand] [--backlog N]
#
# sets S_SOCK (the pool's socket), S_SOCK_DIR, S_POOL_CONF, S_FPM_PID, S_FPM_LOG,
# S_NGINX_CONF, S_NGINX_PID (master), S_NGINX_ERRLOG, S_PORT, S_URL (index.php),
# S_NGINX_SOCK (the path nginx's fastcgi_pass names).

S_WEB_USER=nginx
S_POOL_USER=www-data
S_CRIT_RE='\[crit\] [0-9]+#[0-9]+: \*[0-9]+ connect\(\) to unix:%s failed \(13: Permission denied\) while connecting to upstream'

stack_ensure_web_user() {
        h_ensure_user "$S_WEB_USER"
        if id -nG "$S_WEB_USER" | tr ' ' '\n' | grep -qx "$S_POOL_USER"; then
                h_die "user $S_WEB_USER is in group $S_POOL_USER (left over?); the scenarios need it outside"
        fi
}

# stack_write_pool FILE: the php-fpm config for the S_* options below.
stack_write_pool() {
        {
                echo "[global]"
                echo "pid = $H_T/fpm/php-fpm.pid"
                echo "error_log = $S_FPM_LOG"
                echo "daemonize = no"
                echo
                echo "[sockfix-test]"
                echo "user = $S_POOL_USER"
                echo "group = $S_POOL_USER"
                echo "listen = $S_SOCK"
                [[ -n $S_OWNER ]] && echo "listen.owner = $S_OWNER"
                [[ -n $S_GROUP ]] && echo "listen.group = $S_GROUP"
                [[ -n $S_MODE ]] && echo "listen.mode = $S_MODE"
                [[ -n $S_ACL_USERS ]] && echo "listen.acl_users = $S_ACL_USERS"
                [[ -n $S_ACL_GROUPS ]] && echo "listen.acl_groups = $S_ACL_GROUPS"
                [[ -n $S_BACKLOG ]] && echo "listen.backlog = $S_BACKLOG"
                echo "pm = $S_PM"
                echo "pm.max_children = 1"
                [[ $S_PM == ondemand ]] && echo "pm.process_idle_timeout = 10s"
                echo "catch_workers_output = yes"
        } > "$1"
}

# nginx_conf FILE DIR USER PORT SOCK: an nginx config under DIR (pid, logs, temp
# paths) with workers as USER, on 127.0.0.1:PORT, passing .php to unix:SOCK.
nginx_conf() {
        local file=$1 d=$2 user=$3 port=$4 sock=$5
        mkdir -p "$d/logs" "$d/tmp"
        cat > "$file" << EOF
user $user;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log info;
events { worker_connections 64; }
http {
    access_log $d/logs/access.log;
    client_body_temp_path $d/tmp/client_body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $H_T/www;
        index index.php;
        location ~ \.php\$ {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_pass unix:$sock;
        }
    }
}
EOF
}

stack_write_nginx() {
        nginx_conf "$S_NGINX_CONF" "$H_T/nginx" "$S_WEB_USER" "$S_PORT" "$S_NGINX_SOCK"
}

# Pool options: sets S_OWNER... from the leading pool options; S_NPOOLOPTS = how many
# arguments it consumed.
stack_pool_opts() {
        S_OWNER='' S_GROUP='' S_MODE='' S_ACL_USERS='' S_ACL_GROUPS='' S_BACKLOG='' S_PM=static
        S_NPOOLOPTS=0
        while [[ $# -gt 1 ]]; do
                case $1 in
                --owner) S_OWNER=$2 ;;
                --group) S_GROUP=$2 ;;
                --mode) S_MODE=$2 ;;
                --acl-users) S_ACL_USERS=$2 ;;
                --acl-groups) S_ACL_GROUPS=$2 ;;
                --backlog) S_BACKLOG=$2 ;;
                --pm) S_PM=$2 ;;
                *) return 0 ;;
                esac
                shift 2
                S_NPOOLOPTS=$((S_NPOOLOPTS + 2))
        done
}

stack_up() {
        stack_pool_opts "$@"
        shift "$S_NPOOLOPTS"
        local sock_dir=run sock_dir_mode=0755 sock_name=php8.2-fpm.sock nginx=1 nginx_sock=
        while [[ $# -gt 0 ]]; do
                case $1 in
                --sock-dir) sock_dir=$2; shift ;;
                --sock-dir-mode) sock_dir_mode=$2; shift ;;
                --sock-name) sock_name=$2; shift ;;
                --nginx-sock) nginx_sock=$2; shift ;;
                --no-nginx) nginx=0 ;;
                *) h_die "stack_up: unknown option $1" ;;
                esac
                shift
        done
        stack_ensure_web_user

        S_SOCK_DIR=$H_T/$sock_dir
        S_SOCK=$S_SOCK_DIR/$sock_name
        S_NGINX_SOCK=${nginx_sock:-$S_SOCK}
        mkdir -p "$S_SOCK_DIR" "$H_T/fpm" "$H_T/www"
        chown root:root "$S_SOCK_DIR"
        chmod "$sock_dir_mode" "$S_SOCK_DIR"
        echo '<?php echo "ok";' > "$H_T/www/index.php"
        echo '<?php sleep(30); echo "slept";' > "$H_T/www/sleep.php"
        chmod 0644 "$H_T/www/"*.php

        S_POOL_CONF=$H_T/fpm/php-fpm.conf
        S_FPM_LOG=$H_T/fpm/php-fpm.log
        stack_write_pool "$S_POOL_CONF"
        stack_start_fpm

        S_NGINX_CONF=$H_T/nginx/nginx.conf
        S_NGINX_ERRLOG=$H_T/nginx/logs/error.log
        S_PORT=$(h_free_port)
        S_URL=http://127.0.0.1:$S_PORT/index.php
        S_NGINX_PID=
        if [[ $nginx -eq 1 ]]; then
                stack_write_nginx
                stack_start_nginx
        fi
}

stack_start_fpm() {
        : > "$S_FPM_LOG"
        h_spawn php-fpm "$H_T/fpm/stdout.log" php-fpm8.2 -F -y "$S_POOL_CONF"
        S_FPM_PID=$H_LAST_PID
        if ! h_wait_for 100 grep -q 'ready to handle connections' "$S_FPM_LOG"; then
                sed 's/^/# php-fpm: /' "$S_FPM_LOG" "$H_T/fpm/stdout.log"
                h_die "php-fpm did not start"
        fi
        if [[ $S_PM == static ]]; then
                h_wait_for 50 stack_has_children "$S_FPM_PID" || h_die "php-fpm spawned no child"
        fi
        h_log "php-fpm master $S_FPM_PID, socket $(stat -c '%U:%G %a' "$S_SOCK") $S_SOCK"
}

# stack_restart_fpm [POOL-OPTIONS]: stops the pool, rewrites its listen.* options, starts
# it again (php-fpm re-creates the socket from the config only on a full start).
stack_restart_fpm() {
        stack_pool_opts "$@"
        [[ $S_NPOOLOPTS -eq $# ]] || h_die "stack_restart_fpm: only pool options: $*"
        h_stop "$S_FPM_PID"
        stack_write_pool "$S_POOL_CONF"
        stack_start_fpm
}

stack_has_children() { [[ -n $(stack_children "$1") ]]; }

# stack_children PID: its live child processes, one per line.
stack_children() {
        local c
        for c in $(ps --ppid "$1" -o pid= 2>/dev/null); do h_alive "$c" && echo "$c"; done
}

stack_start_nginx() {
        h_spawn nginx "$H_T/nginx/stdout.log" \
                nginx -c "$S_NGINX_CONF" -p "$H_T/nginx/" -g 'daemon off;'
        S_NGINX_PID=$H_LAST_PID
        if ! h_wait_for 100 h_port_listening "$S_PORT" || ! h_wait_for 50 stack_has_children "$S_NGINX_PID"; then
                sed 's/^/# nginx: /' "$H_T/nginx/stdout.log" "$S_NGINX_ERRLOG"
                h_die "nginx did not start"
        fi
        h_log "nginx master $S_NGINX_PID on 127.0.0.1:$S_PORT, workers $(stack_children "$S_NGINX_PID" | tr '\n' ' ')"
}

stack_worker_pids() { stack_children "$S_NGINX_PID" | sort -n; }

# stack_worker_field PID FIELD: Uid/Gid/Groups from /proc/PID/status.
stack_worker_field() { awk -v f="$2:" '$1 == f {$1 = ""; print}' "/proc/$1/status"; }

# stack_reload_nginx: SIGHUP to the master; waits until only new workers run.
stack_reload_nginx() {
        local old
        old=$(stack_worker_pids | tr '\n' ' ')
        kill -HUP "$S_NGINX_PID"
        local n=100 w fresh
        while ((n-- > 0)); do
                fresh=1
                for w in $old; do h_alive "$w" && fresh=0; done
                [[ $fresh -eq 1 && -n $(stack_worker_pids) ]] && break
                sleep 0.1
        done
        h_log "nginx reloaded: workers $old-> $(stack_worker_pids | tr '\n' ' ')"
}

# stack_kill9_fpm: SIGKILL the php-fpm master and its children together, as a crash or
# the OOM killer would. The socket file stays; nothing listens on it any more. The
# children, orphaned, are re-parented to the test (subreaper) and reaped.
stack_kill9_fpm() {
        local kids
        kids=$(stack_children "$S_FPM_PID" | tr '\n' ' ')
        # shellcheck disable=SC2086
        kill -STOP "$S_FPM_PID" $kids 2>/dev/null
        # shellcheck disable=SC2086
        kill -KILL "$S_FPM_PID" $kids 2>/dev/null
        local p
        for p in $S_FPM_PID $kids; do h_wait_gone "$p" 50 || h_log "pid $p did not vanish"; done
        wait "$S_FPM_PID" 2>/dev/null
}

# stack_files_snapshot NAME: the stack's files (h_snapshot).
stack_files_snapshot() {
        h_snapshot "$1" "$S_SOCK" "$S_POOL_CONF" "${S_NGINX_CONF:-$S_POOL_CONF}"
}

# stack_snapshot NAME: what a diagnosis of this stack must not change: the files, and
# the processes (a diagnosis reloads nothing: same nginx master and workers, same
# php-fpm master).
stack_snapshot() {
        stack_files_snapshot "$1"
        {
                [[ -n ${S_NGINX_PID:-} ]] && echo "process nginx master $S_NGINX_PID workers $(stack_worker_pids | paste -sd' ' -)"
                h_alive "$S_FPM_PID" && echo "process php-fpm master $S_FPM_PID"
        } >> "$H_T/snapshot.$1"
}

# shellcheck disable=SC2059,SC2016 # the format is ours; the sed script is literal
stack_crit_re() { printf "$S_CRIT_RE" "$(printf '%s' "${1:-$S_SOCK}" | sed 's/[.[\*^$()+?{|]/\\&/g')"; }

# ---------------------------------------------------------------------------------------
# Report checks shared by the e2e scenarios (over a plain-JSON report file).

# stack_assert_consumer REPORT [STALE]: the report's nginx consumer holds exactly the
# running workers' credentials, as /proc shows them.
stack_assert_consumer() {
        local f=$1 stale=${2:-false} w uid gid groups pids
        w=$(stack_worker_pids | head -n 1)
        uid=$(id -u "$S_WEB_USER")
        gid=$(stack_worker_field "$w" Gid | awk '{print $1}')
        groups=$(stack_worker_field "$w" Groups | tr ' ' '\n' | grep . | sort -n | paste -sd, -)
        pids=$(stack_worker_pids | paste -sd, -)
        local c='[c for c in r["consumers"] if c.get("user") == "nginx"][0]'
        h_json_is "$f" "len([c for c in r['consumers'] if c.get('user') == 'nginx'])" 1 "one consumer for user nginx"
        h_json_is "$f" "${c}[\"server\"]" nginx "consumer server is nginx"
        h_json_is "$f" "${c}[\"uid\"]" "$uid" "consumer uid is nginx's ($uid)"
        h_json_is "$f" "${c}[\"gid\"]" "$gid" "consumer gid as in /proc ($gid)"
        h_json_is "$f" "','.join(str(g) for g in sorted(${c}[\"groups\"]))" "$groups" "consumer groups as in /proc/$w/status ($groups)"
        h_json_is "$f" "','.join(str(p) for p in sorted(${c}[\"pids\"]))" "$pids" "consumer pids are the running workers ($pids)"
        h_json_is "$f" "$c.get(\"stale_credentials\", False)" "$stale" "consumer stale_credentials $stale"
}

# stack_assert_finding REPORT CODE SEVERITY [PATH]: a finding CODE with that severity
# (and path).
stack_assert_finding() {
        local f=$1 code=$2 sev=$3 path=${4:-}
        local sel="[x for x in r.get('findings', []) if x.get('code') == '$code']"
        h_json_ok "$f" "len($sel) >= 1" "finding $code present"
        h_json_is "$f" "${sel}[0]['severity']" "$sev" "finding $code has severity $sev"
        if [[ -n $path ]]; then
                h_json_is "$f" "${sel}[0]['path']" "$path" "finding $code has path $path"
        fi
}

# stack_assert_primary REPORT CODE: CODE is nginx's one primary (error) finding: it names
# consumer nginx, and no other error-severity code does.
stack_assert_primary() {
        local f=$1 code=$2
        local sel="[x for x in r.get('findings', []) if x.get('code') == '$code']"
        stack_assert_finding "$f" "$code" error
        h_json_ok "$f" "any(x.get('consumer') == 'nginx' for x in $sel)" "finding $code names consumer nginx"
        h_json_is "$f" "sorted(set(x['code'] for x in r.get('findings', []) if x.get('severity') == 'error' and x.get('consumer') == 'nginx'))" \
                "[\"$code\"]" "nginx's only primary finding is $code"
}

# stack_diagnose NAME SOCKET [OPTIONS-JSON]: Diagnose over python3-dbus into
# $H_T/NAME.json; asserts a report came back (not a D-Bus error).
stack_diagnose() {
        local f=$H_T/$1.json
        if h_diagnose "$f" "$2" "${3:-{\}}"; then
                h_pass "Diagnose $2 ${3:-} answered"
        else
                h_fail "Diagnose $2 ${3:-} answered"; sed 's/^/#   /' "$f"
        fi
}

# stack_assert_errno REPORT ERRNO [PROBE-ERRNO]: nginx's errno by the kernel's rule, the
# real connect's (Diagnose), and can_connect to match.
stack_assert_errno() {
        local f=$1 e=$2 pe=${3:-$2} can=false
        [[ $e -eq 0 ]] && can=true
        local c='[c for c in r["consumers"] if c.get("user") == "nginx"][0]'
        h_json_is "$f" "${c}[\"can_connect\"]" "$can" "nginx can_connect $can"
        if [[ $e -eq 0 ]]; then
                h_json_is "$f" "$c.get(\"errno\", 0)" 0 "nginx errno absent or 0"
                h_json_is "$f" "$c.get(\"probe_errno\", 0)" 0 "nginx probe_errno absent or 0"
        else
                h_json_is "$f" "${c}[\"errno\"]" "$e" "nginx errno $e (the kernel's rule)"
                h_json_is "$f" "${c}[\"probe_errno\"]" "$pe" "nginx probe_errno $pe (the real connect)"
        fi
}

# stack_assert_listener REPORT: the listener is our php-fpm master and its pool file.
stack_assert_listener() {
        local f=$1
        h_json_is "$f" 'r["listener"]["pid"]' "$S_FPM_PID" "listener pid is the php-fpm master"
        h_json_ok "$f" '"php-fpm" in r["listener"]["program"]' "listener program is php-fpm"
        h_json_is "$f" 'r["listener"]["pool"]' sockfix-test "listener pool is sockfix-test"
        h_json_is "$f" 'r["listener"]["config"]' "$S_POOL_CONF" "listener config is the pool file"
}

# stack_assert_socket_fields REPORT: socket, resolved, owner, group, mode as on disk.
stack_assert_socket_fields() {
        local f=$1 sock=${2:-$S_SOCK}
        h_json_is "$f" 'r["socket"]' "$sock" "report socket as asked"
        h_json_is "$f" 'r["resolved"]' "$(readlink -f "$sock")" "report resolved path"
        h_json_is "$f" 'r["owner"]' "$(stat -c %U "$sock")" "report owner as on disk"
        h_json_is "$f" 'r["group"]' "$(stat -c %G "$sock")" "report group as on disk"
        h_json_is "$f" 'r["mode"]' "$((8#$(stat -c %a "$sock")))" "report mode as on disk ($(stat -c %a "$sock"))"
}

# ---------------------------------------------------------------------------------------
# The fix scenarios (tests/e2e/test-fix-*.sh).

# stack_use_web_user NAME: nginx's workers run as NAME, a user of the test's own (created
# by stack_up, removed at exit): a fix may change its groups, and the machine's shared
# `nginx` user must not be touched while other tests use it.
stack_use_web_user() {
        S_WEB_USER=$1
        H_SNAPSHOT_NAMES+=" $1"
}

# stack_cycle_fpm: php-fpm's full stop and start with the pool file as it is now (unlike
# stack_restart_fpm, which rewrites it): the socket is created again from the config.
stack_cycle_fpm() {
        local old=$S_FPM_PID
        h_stop "$old"
        h_forget_pid "$old"
        stack_start_fpm
}

# stack_socket_other_writable [PATH]: exit 0 when the socket has the other-write bit.
# shellcheck disable=SC2120 # PATH is for callers with another socket
stack_socket_other_writable() { (( 8#$(stat -L -c %a "${1:-$S_SOCK}") & 2 )); }

# stack_assert_not_other_writable WHEN: the socket's mode has no other-write bit.
stack_assert_not_other_writable() {
        if stack_socket_other_writable; then
                h_fail "$1: the socket is not other-writable"; echo "#   mode $(stat -L -c %a "$S_SOCK")"
        else
                h_pass "$1: the socket is not other-writable ($(stat -L -c %a "$S_SOCK"))"
        fi
}

# stack_connect_as USER [PATH]: exit 0 when USER (with its groups, runuser) can connect()
# to the unix socket PATH (default the pool's).
stack_connect_as() {
        runuser -u "$1" -- "$H_PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.close()' "${2:-$S_SOCK}" 2> /dev/null
}

# stack_workers_hold_gid GID [MASTER]: every live worker of the nginx MASTER (default
# ours) has GID in /proc/PID/status Groups:, and there is at least one.
stack_workers_hold_gid() {
        local w n=0
        for w in $(stack_children "${2:-$S_NGINX_PID}"); do
                n=$((n + 1))
                stack_worker_field "$w" Groups | tr ' ' '\n' | grep -qx "$1" || return 1
        done
        [[ $n -gt 0 ]]
}

# stack_extra_nginx NAME USER SOCK: a second nginx instance (its own dir $H_T/NAME, port,
# pid and logs) whose workers run as USER and whose fastcgi_pass names SOCK. Sets
# X_NGINX_PID, X_PORT, X_URL.
stack_extra_nginx() {
        local name=$1 user=$2 sock=$3 d=$H_T/$1
        X_PORT=$(h_free_port)
        X_URL=http://127.0.0.1:$X_PORT/index.php
        nginx_conf "$d/nginx.conf" "$d" "$user" "$X_PORT" "$sock"
        h_spawn "nginx ($name)" "$d/stdout.log" nginx -c "$d/nginx.conf" -p "$d/" -g 'daemon off;'
        X_NGINX_PID=$H_LAST_PID
        if ! h_wait_for 100 h_port_listening "$X_PORT" || ! h_wait_for 50 stack_has_children "$X_NGINX_PID"; then
                sed 's/^/# nginx: /' "$d/stdout.log" "$d/logs/error.log"
                h_die "nginx ($name) did not start"
        fi
        h_log "nginx ($name) master $X_NGINX_PID as $user on 127.0.0.1:$X_PORT -> unix:$sock"
}

# stack_hold_worker: a client that keeps a request to nginx's current worker in flight:
# the request line and one header sent, the header never finished. On a reload that
# worker becomes old and, shutting down gracefully, waits for the request (nginx closes
# only idle connections; client_header_timeout is 60 s), so it outlives the reload until
# stack_release_worker. Returns once the worker has read what was sent. Sets S_HOLD_PID.
stack_hold_worker() {
        h_spawn "held request" "$H_T/hold.log" "$H_PY" -c 'import socket, sys, time; s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(b"GET /index.php HTTP/1.1\r\nHost: localhost\r\n"); print("held", flush=True); time.sleep(60)' "$S_PORT"
        S_HOLD_PID=$H_LAST_PID
        h_wait_for 50 grep -q held "$H_T/hold.log" || h_die "the held request did not connect"
        # nginx's side of the connection has read everything (Recv-Q 0)
        h_wait_for 50 stack_port_recvq_empty || h_die "nginx did not read the held request"
}

stack_port_recvq_empty() {
        local q
        q=$(ss -Htn state established "sport = :$S_PORT" 2> /dev/null | awk '{print $1}')
        [[ -n $q && $q == 0 ]]
}

# stack_release_worker: ends the held request (the client exits, nginx sees EOF).
stack_release_worker() {
        [[ -n ${S_HOLD_PID:-} ]] || return 0
        h_stop "$S_HOLD_PID"
        h_forget_pid "$S_HOLD_PID"
        S_HOLD_PID=
}

# stack_new_workers OLD-PIDS: the nginx master's live children not in OLD-PIDS (a
# space-separated list), one a line.
stack_new_workers() {
        local w
        for w in $(stack_worker_pids); do
                [[ " $1 " == *" $w "* ]] || echo "$w"
        done
}

# stack_only_fresh_workers OLD-PIDS: exit 0 when nginx runs workers and none of OLD-PIDS
# (a space-separated list) is alive any more (an old worker may still accept a connection
# until it exits).
stack_only_fresh_workers() {
        local w
        for w in $1; do h_alive "$w" && return 1; done
        [[ -n $(stack_worker_pids) ]]
}

# stack_no_worker_holds_gid GID: exit 0 when nginx runs workers and none has GID in its
# /proc Groups:.
stack_no_worker_holds_gid() {
        local w
        [[ -n $(stack_worker_pids) ]] || return 1
        for w in $(stack_worker_pids); do
                stack_worker_field "$w" Groups | tr ' ' '\n' | grep -qx "$1" && return 1
        done
        return 0
}
