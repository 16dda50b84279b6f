#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The main job, end to end (as root on Debian 12): reproduce the classic
#   connect() to unix:.../php8.2-fpm.sock failed (13: Permission denied) while connecting to upstream
# with a real nginx (user nginx) and php-fpm (socket www-data:www-data 0660), show the 502
# and the [crit] line, ask sockfix why, let it fix it (HTTP 200, surviving a php-fpm
# restart), then revert it (502 again). Everything runs under a temp dir on a private
# system bus (the host's own bus, nginx and php-fpm are not touched) and is stopped and
# removed at exit, pass or fail. SOCKFIX_DEMO_PAUSE=1 keeps it all up at the end, until
# Enter is pressed, to try sockfixctl and busctl on it from another shell.
set -uo pipefail
repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)

# Before the harness (it needs Debian's python3): dependencies and a release-ish build.
# The harness re-executes this script once (as a child subreaper); do this part once.
if [[ ${SOCKFIX_SUBREAPER:-} != "$$" ]]; then
        "$repo/scripts/install-deps.sh" || exit 1
        # The build's output is shown only when it fails.
        build_log=$(mktemp) || exit 1
        echo "demo.sh: building sockfixd and sockfixctl in build-demo (debugoptimized)"
        if ! {
                if [[ -f $repo/build-demo/meson-private/coredata.dat ]]; then
                        meson setup "$repo/build-demo" "$repo" -Dbuildtype=debugoptimized --reconfigure ||
                                meson setup "$repo/build-demo" "$repo" -Dbuildtype=debugoptimized --wipe
                else
                        meson setup "$repo/build-demo" "$repo" -Dbuildtype=debugoptimized
                fi && meson compile -C "$repo/build-demo" sockfixd sockfixctl
        } > "$build_log" 2>&1; then
                cat "$build_log" >&2
                rm -f "$build_log"
                echo "demo.sh: the build failed (its output is above)" >&2
                exit 1
        fi
        rm -f "$build_log"
fi

export SOCKFIX_BUILD_DIR=$repo/build-demo SOCKFIX_SOURCE_DIR=$repo
. "$repo/tests/lib/harness.sh"
. "$repo/tests/lib/stack.sh"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
ctl=$SOCKFIX_BUILD_DIR/client/sockfixctl
status=0

h_init demo
step "The seed case: php-fpm pool socket www-data:www-data 0660, nginx workers run as 'nginx'"
stack_up --owner www-data --group www-data --mode 0660
ls -l "$S_SOCK"
id nginx
grep -E '^listen' "$S_POOL_CONF"
grep -E '^user|fastcgi_pass' "$S_NGINX_CONF"

step "The symptom: HTTP 502, and nginx's [crit] line"
code=$(h_http_status "$S_URL")
echo "\$ curl -s -o /dev/null -w '%{http_code}' $S_URL"
echo "$code"
grep -F '[crit]' "$S_NGINX_ERRLOG" | tail -n 1
if [[ $code != 502 ]] || ! grep -Eq "$(stack_crit_re)" "$S_NGINX_ERRLOG"; then
        echo "demo: the seed case did not reproduce" >&2
        status=1
fi

step "sockfix: a private system bus, the real polkitd, sockfixd"
h_sockfix_up
echo "DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS"
run busctl --system status org.sockfix.SockFix1 | grep -E '^(PID|Comm|UID)=' || true

step "Why? (sockfixctl diagnose, as root)"
run "$ctl" diagnose "$S_SOCK"
rc=$?
echo "(exit code $rc: 1 = a problem was found)"
[[ $rc -eq 1 ]] || status=1

step "The same as JSON, only the keys a panel polling many sites needs (--fields)"
printf '$ %s\n' "$ctl --json diagnose --fields=verdict,findings $S_SOCK"
"$ctl" --json diagnose --fields=verdict,findings "$S_SOCK" | tee "$H_T/report.json"
"$H_PY" -c 'import json, sys; assert json.load(open(sys.argv[1]))["verdict"] == "denied"' "$H_T/report.json" ||
        status=1

step "What would the fix change? (a dry run changes nothing)"
run "$ctl" fix --dry-run "$S_SOCK" || status=1

cp "$S_POOL_CONF" "$H_T/pool.conf.before"
step "Fix it: least privilege, live and persistent, no restart"
run "$ctl" fix "$S_SOCK"
rc=$?
[[ $rc -eq 0 ]] || status=1
tx=$("$ctl" --json history | "$H_PY" -c 'import json, sys; print(json.load(sys.stdin)[-1]["transaction"])')

step "HTTP 200 at once; what changed on the socket and in the pool file"
code=$(h_http_status "$S_URL")
echo "\$ curl -s -o /dev/null -w '%{http_code}' $S_URL"
echo "$code"
[[ $code == 200 ]] || status=1
run ls -l "$S_SOCK"
run getfacl -p "$S_SOCK" 2> /dev/null
diff -u "$H_T/pool.conf.before" "$S_POOL_CONF" | sed -n '3,$p'

# A restart that keeps the pool file as it is now (stack_restart_fpm would rewrite it).
restart_fpm() {
        h_stop "$S_FPM_PID"
        stack_start_fpm
}

step "A full php-fpm stop and start re-creates the socket from the pool file: still 200"
restart_fpm
ls -l "$S_SOCK"
echo "(root:root with an ACL: php-fpm ignores listen.owner/group once listen.acl_* is set, which is"
echo " why the fix carried www-data into listen.acl_users/acl_groups: nobody lost access)"
code=$(h_http_status "$S_URL")
echo "HTTP $code"
[[ $code == 200 ]] || status=1

step "The journal keeps every transaction"
run "$ctl" history

step "Revert it"
echo "(the pool file is restored; the live socket, re-created by that restart, is not the one the"
echo " fix changed, so it is left alone: php-fpm's next start re-creates it from the restored file)"
run "$ctl" revert "$tx" || status=1
if cmp -s "$H_T/pool.conf.before" "$S_POOL_CONF"; then
        echo "the pool file is byte for byte what it was"
else
        echo "demo: the pool file differs after revert" >&2
        status=1
fi

step "After php-fpm's next start the socket is www-data:www-data 0660 again: 502 again"
restart_fpm
ls -l "$S_SOCK"
code=$(h_http_status "$S_URL")
echo "HTTP $code"
[[ $code == 502 ]] || status=1

if [[ ${SOCKFIX_DEMO_PAUSE:-0} == 1 ]]; then
        step "Paused: the private bus, polkitd, sockfixd, nginx and php-fpm stay up"
        echo "In another shell, as root (the socket is broken again, as in the seed case):"
        echo "  export DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS"
        echo "  $ctl list"
        echo "  $ctl diagnose $S_SOCK"
        echo "  busctl --system call org.sockfix.SockFix1 /org/sockfix/SockFix1 org.sockfix.SockFix1.Manager Diagnose 'sa{sv}' $S_SOCK 0"
        echo "  curl -s -o /dev/null -w '%{http_code}\\n' $S_URL"
        { read -r -p "Press Enter to clean up. " _ < /dev/tty; } 2> /dev/null || echo "(no terminal to wait on)"
fi
step "Cleaning up (every process, user and file the demo created)"
exit "$status"
