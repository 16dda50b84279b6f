# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# Sourced by the integration and e2e tests and by scripts/demo.sh. Runs real parts only:
# a private system-like dbus-daemon, the real polkitd, sockfixd, php-fpm and nginx, all as
# children of the test script. One EXIT trap stops every process the test started and
# removes every file, user and group it installed, pass or fail.
#
# The machine's PID 1 does not reap orphans, so the test script makes itself a child
# subreaper (re-exec through prctl(PR_SET_CHILD_SUBREAPER), which survives execve): a
# php-fpm child whose master was SIGKILLed is re-parented to us and bash reaps it.
# Processes are waited for by watching /proc/PID vanish, never with kill -0 (true for
# zombies).
#
# Environment: SOCKFIX_BUILD_DIR (meson sets it; default build-ci), SOCKFIX_SOURCE_DIR.
#   SOCKFIX_TEST_KEEP=1 keeps the temp dir for a post-mortem.

if [[ ${SOCKFIX_SUBREAPER:-} != "$$" ]]; then
        export SOCKFIX_SUBREAPER=$$ # exec keeps the pid: marks this very process
        exec /usr/bin/python3 -c '
import ctypes, os, sys
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
os.execv(sys.argv[1], sys.argv[1:])' "$BASH" "$0" "$@"
fi

set -uo pipefail

H_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${SOCKFIX_SOURCE_DIR:=$(cd "$H_LIB_DIR/../.." && pwd)}"
: "${SOCKFIX_BUILD_DIR:=$SOCKFIX_SOURCE_DIR/build-ci}"
export SOCKFIX_SOURCE_DIR SOCKFIX_BUILD_DIR
H_PY=/usr/bin/python3 # Debian's python, the one with python3-dbus (not pyenv's)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# shellcheck disable=SC2034 # used by the scripts that source this file
H_BUS_NAME=org.sockfix.SockFix1
H_OBJECT=/org/sockfix/SockFix1
H_IFACE=org.sockfix.SockFix1.Manager

H_T=             # the test's temp dir
H_PIDS=()        # processes we started, in start order
H_CLEANUPS=()    # commands run at exit, last registered first
H_NTEST=0
H_NFAIL=0
H_DBUS_PID='' H_POLKITD_PID='' H_SOCKFIXD_PID=''

h_log() { echo "# $*"; }
h_die() { echo "Bail out! $*"; exit 1; }

# ---------------------------------------------------------------------------------------
# TAP assertions. Each prints "ok N - desc" or "not ok N - desc"; h_done prints the plan,
# "N passed, M failed", and exits 1 on any failure.

h_pass() { H_NTEST=$((H_NTEST + 1)); echo "ok $H_NTEST - $*"; }
h_fail() { H_NTEST=$((H_NTEST + 1)); H_NFAIL=$((H_NFAIL + 1)); echo "not ok $H_NTEST - $*"; }

# h_ok DESC CMD...: passes when CMD exits 0.
h_ok() {
        local desc=$1; shift
        if "$@"; then h_pass "$desc"; else h_fail "$desc"; echo "#   command failed: $*"; fi
}

# h_is GOT EXPECTED DESC
h_is() {
        if [[ $1 == "$2" ]]; then h_pass "$3"; else
                h_fail "$3"; echo "#   got:      '$1'"; echo "#   expected: '$2'"; fi
}

# h_isnt GOT UNEXPECTED DESC
h_isnt() {
        if [[ $1 != "$2" ]]; then h_pass "$3"; else h_fail "$3"; echo "#   got the unexpected '$1'"; fi
}

# h_like GOT ERE DESC
h_like() {
        if [[ $1 =~ $2 ]]; then h_pass "$3"; else
                h_fail "$3"; echo "#   got:      '${1:0:2000}'"; echo "#   expected to match: $2"; fi
}

# h_file_like FILE ERE DESC: some line of FILE matches.
h_file_like() {
        if grep -Eq -- "$2" "$1" 2>/dev/null; then h_pass "$3"; else
                h_fail "$3"; echo "#   no line of $1 matches: $2"; sed 's/^/#   | /' "$1" 2>/dev/null | tail -n 20; fi
}

h_done() {
        h_check_sockfixd_sanitizers
        echo "1..$H_NTEST"
        echo "$((H_NTEST - H_NFAIL)) passed, $H_NFAIL failed"
        [[ $H_NFAIL -eq 0 ]] && exit 0
        exit 1
}

# ---------------------------------------------------------------------------------------
# JSON. Reports are turned into plain JSON files, then queried with Python expressions
# over `r` (the document), e.g. h_json F 'r["verdict"]'. Strings print bare, everything
# else as JSON; a missing key prints nothing and fails.

h_json() { "$H_PY" "$H_LIB_DIR/sfjson.py" query "$@"; }

# h_json_is FILE EXPR EXPECTED DESC
h_json_is() {
        local got
        got=$(h_json "$1" "$2" 2>&1)
        h_is "$got" "$3" "$4"
}

# h_json_ok FILE PYTHON-BOOLEAN-EXPR DESC
h_json_ok() {
        local got
        got=$(h_json "$1" "bool($2)" 2>&1)
        if [[ $got == true ]]; then h_pass "$3"; else
                h_fail "$3"; echo "#   false: $2 ($got)"; h_json_dump "$1" | head -n 60 | sed 's/^/#   | /'; fi
}

h_json_dump() { "$H_PY" -m json.tool "$1" 2>/dev/null || cat "$1"; }

# h_call OUT METHOD ARGS... : calls the service with python3-dbus and writes the reply as
# plain JSON to OUT ({"error": NAME, "message": M} on a D-Bus error). Arguments are JSON
# (see sfjson.py call). Returns 0 on a reply, 1 on an error.
h_call() {
        local out=$1; shift
        "$H_PY" "$H_LIB_DIR/sfjson.py" call "$@" > "$out"
}

# h_diagnose OUT SOCKET [OPTIONS-JSON]
h_diagnose() { h_call "$1" Diagnose "\"$2\"" "${3:-{\}}"; }

# ---------------------------------------------------------------------------------------
# Temp dir, processes, cleanup.

h_init() {
        [[ $(id -u) -eq 0 ]] || h_die "tests run as root"
        mkdir -p /run/sockfix-tests
        chmod 0755 /run/sockfix-tests
        # Under /run like /run/php: every parent is searchable by the web-server user.
        H_T=$(mktemp -d "/run/sockfix-tests/${1:-test}.XXXXXX") || h_die "mktemp"
        chmod 0755 "$H_T"
        trap h_cleanup EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP
        h_remove_stale_rules
        h_log "temp dir $H_T"
}

# h_at_exit CMD...: run at exit (reverse order of registration), as a single string.
h_at_exit() { H_CLEANUPS+=("$*"); }

# h_spawn NAME LOG CMD...: starts CMD in the background as our child, records its pid in
# H_LAST_PID (and the stop list). Output goes to LOG.
h_spawn() {
        local name=$1 log=$2; shift 2
        "$@" > "$log" 2>&1 &
        H_LAST_PID=$!
        H_PIDS+=("$H_LAST_PID")
        h_log "started $name pid $H_LAST_PID: $*"
}

h_alive() { # a zombie does not count
        local st
        [[ -r /proc/$1/stat ]] || return 1
        st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
        [[ -n $st && $st != Z && $st != X ]]
}

# h_wait_gone PID [TENTHS]: until /proc/PID vanishes (bash reaps our children and the
# orphans we adopted as subreaper).
h_wait_gone() {
        local pid=$1 n=${2:-50}
        while [[ -e /proc/$pid ]] && ((n-- > 0)); do sleep 0.1; done
        [[ ! -e /proc/$pid ]]
}

# h_stop PID: SIGCONT (it may be stopped), SIGTERM, wait; SIGKILL after 5 s.
h_stop() {
        local pid=$1
        [[ -n $pid && -e /proc/$pid ]] || { wait "$pid" 2>/dev/null; return 0; }
        kill -CONT "$pid" 2>/dev/null
        kill -TERM "$pid" 2>/dev/null
        if ! h_wait_gone "$pid" 50; then
                h_log "pid $pid ignored SIGTERM, killing"
                kill -KILL "$pid" 2>/dev/null
                h_wait_gone "$pid" 50 || h_log "pid $pid still in /proc: $(cat "/proc/$pid/stat" 2>/dev/null)"
        fi
        wait "$pid" 2>/dev/null
        return 0
}

# Children of this shell left after the known ones stopped: orphans we adopted as
# subreaper, or processes a test forgot. (The $(...) subshell calling this may show in
# the list; it is gone by the time the caller looks.)
h_stray_children() {
        [[ -n $H_T && -d $H_T ]] || return 0
        ps --ppid "$$" -o pid=,comm= > "$H_T/.children" 2>/dev/null
        awk '$2 != "ps" {print $1}' "$H_T/.children"
}

h_cleanup() {
        local rc=$? i pid
        # A second signal (meson's timeout, ^C) must not cut the cleanup short.
        trap - EXIT
        trap '' INT TERM HUP
        set +e
        for ((i = ${#H_PIDS[@]} - 1; i >= 0; i--)); do h_stop "${H_PIDS[i]}"; done
        for pid in $(h_stray_children); do
                [[ -e /proc/$pid ]] || continue
                h_log "stopping stray child $pid ($(cat "/proc/$pid/comm" 2>/dev/null))"
                h_stop "$pid"
        done
        for ((i = ${#H_CLEANUPS[@]} - 1; i >= 0; i--)); do
                eval "${H_CLEANUPS[i]}" || h_log "cleanup failed: ${H_CLEANUPS[i]}"
        done
        if [[ -n $H_T && -d $H_T ]]; then
                if [[ ${SOCKFIX_TEST_KEEP:-0} == 1 ]]; then h_log "kept $H_T"; else rm -rf "$H_T"; fi
        fi
        exit "$rc"
}

# h_wait_for TENTHS CMD...: polls CMD every 0.1 s.
h_wait_for() {
        local n=$1; shift
        while ((n-- > 0)); do "$@" && return 0; sleep 0.1; done
        "$@"
}

h_free_port() {
        "$H_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

h_port_listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# ---------------------------------------------------------------------------------------
# Users and groups. Created ones are removed at exit; existing ones are never touched.

# h_ensure_group NAME
h_ensure_group() {
        getent group "$1" > /dev/null && return 0
        groupadd --system "$1" || h_die "groupadd $1"
        h_at_exit "groupdel '$1' 2>/dev/null"
        h_log "created group $1"
}

# h_ensure_user NAME [EXTRA-GROUP...]: a system user with its own group, no home, no shell.
h_ensure_user() {
        local u=$1; shift
        if ! getent passwd "$u" > /dev/null; then
                useradd --system --user-group --no-create-home --home-dir /nonexistent \
                        --shell /usr/sbin/nologin "$u" || h_die "useradd $u"
                h_at_exit "userdel '$u' 2>/dev/null; groupdel '$u' 2>/dev/null; true"
                h_log "created user $u"
        fi
        local g
        for g in "$@"; do
                if ! id -nG "$u" | tr ' ' '\n' | grep -qx "$g"; then
                        gpasswd -a "$u" "$g" > /dev/null || h_die "gpasswd -a $u $g"
                        h_at_exit "gpasswd -d '$u' '$g' >/dev/null 2>&1; true"
                fi
        done
}

# h_install_file SRC DEST [MODE]: installs DEST; at exit restores what was there before.
h_install_file() {
        local src=$1 dest=$2 mode=${3:-0644} backup
        if [[ -e $dest ]]; then
                backup=$H_T/.backup.$(echo "$dest" | tr / _)
                cp -a "$dest" "$backup"
                h_at_exit "cp -a '$backup' '$dest'"
        else
                h_at_exit "rm -f '$dest'"
        fi
        # Whole and readable at once: polkitd (not root) reloads on the create, and a
        # file it cannot read yet is skipped with no later reload. A dot-name it ignores,
        # then a rename.
        local tmp
        tmp=$(dirname "$dest")/.$(basename "$dest").tmp
        install -m "$mode" "$src" "$tmp" || h_die "install $tmp"
        mv -f "$tmp" "$dest" || h_die "mv $tmp $dest"
}

# ---------------------------------------------------------------------------------------
# The private system bus, polkitd, sockfixd.

# The built bus policy, else the source one.
h_bus_policy_file() {
        local f
        for f in "$SOCKFIX_BUILD_DIR/dbus/org.sockfix.SockFix1.conf" \
                "$SOCKFIX_SOURCE_DIR/dbus/org.sockfix.SockFix1.conf"; do
                [[ -f $f ]] && { echo "$f"; return 0; }
        done
        return 1
}

h_start_bus() {
        local conf=$H_T/bus/system.conf policy
        mkdir -p "$H_T/bus/system.d"
        chmod 0755 "$H_T/bus"
        policy=$(h_bus_policy_file) || h_die "no org.sockfix.SockFix1.conf in the build or source dir"
        cp "$policy" "$H_T/bus/system.d/"
        # The stock default policy of /usr/share/dbus-1/system.conf, without <user>, <fork>,
        # activation and syslog: the bus runs as root in the foreground.
        cat > "$conf" << EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$H_T/bus/system_bus_socket</listen>$(h_bus_extra_listen_xml)
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"
          send_member="UpdateActivationEnvironment"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Debug.Stats"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.systemd1.Activator"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>$H_T/bus/system.d</includedir>
</busconfig>
EOF
        h_spawn dbus-daemon "$H_T/bus/dbus-daemon.log" \
                dbus-daemon --config-file="$conf" --nofork --nopidfile --print-address=1
        H_DBUS_PID=$H_LAST_PID
        h_wait_for 50 test -S "$H_T/bus/system_bus_socket" || h_die "dbus-daemon did not start: $(cat "$H_T/bus/dbus-daemon.log")"
        export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$H_T/bus/system_bus_socket
        h_wait_for 50 busctl --system status org.freedesktop.DBus > /dev/null 2>&1 || h_die "bus not answering"
        h_log "DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS"
}

# The project's polkit actions, built copy first (it may be generated), else the source.
h_install_polkit_policy() {
        local f src=
        for f in "$SOCKFIX_BUILD_DIR/polkit/org.sockfix.SockFix1.policy" \
                "$SOCKFIX_SOURCE_DIR/polkit/org.sockfix.SockFix1.policy"; do
                [[ -f $f ]] && { src=$f; break; }
        done
        [[ -n $src ]] || h_die "no polkit/org.sockfix.SockFix1.policy"
        # A per-test file name: tests of other sessions running at the same time install
        # and remove their own copy (polkitd keys actions by id, not by file name).
        h_install_file "$src" "/usr/share/polkit-1/actions/org.sockfix.SockFix1.$H_FILE_TAG.policy"
}

# The example rules file shipped in polkit/ (grants the group sockfix).
h_example_rules_file() {
        local f
        for f in "$SOCKFIX_SOURCE_DIR"/polkit/*.rules* "$SOCKFIX_BUILD_DIR"/polkit/*.rules*; do
                [[ -f $f ]] && { echo "$f"; return 0; }
        done
        return 1
}

# Installed polkit files are named after the test's pid and its pid namespace (tests in
# another pid namespace see other pids): test-NSINODE-PID.
H_FILE_TAG=test-$(stat -Lc %i /proc/self/ns/pid)-$$

# Rules and action files of tests that were SIGKILLed (meson's timeout ends with SIGKILL
# 0.5 s after SIGTERM) would stay forever: remove those of our pid namespace whose test
# is gone.
h_remove_stale_rules() {
        local f pid prefix=${H_FILE_TAG%-*}-
        for f in /etc/polkit-1/rules.d/49-sockfix-"$prefix"*.rules \
                /usr/share/polkit-1/actions/org.sockfix.SockFix1."$prefix"*.policy; do
                [[ -e $f ]] || continue
                pid=${f##*"$prefix"}; pid=${pid%.*}
                [[ $pid =~ ^[0-9]+$ ]] && ! h_alive "$pid" && rm -f "$f" && h_log "removed stale $f"
        done
        return 0
}

# h_install_rules SRC: into /etc/polkit-1/rules.d under a per-test name. polkitd picks
# it up within about a second: wait 1 s, and poll for the effect where it matters.
h_install_rules() {
        local dest=/etc/polkit-1/rules.d/49-sockfix-$H_FILE_TAG.rules
        h_install_file "$1" "$dest" 0644
        sleep 1
}

h_start_polkitd() {
        h_spawn polkitd "$H_T/polkitd.log" /usr/lib/polkit-1/polkitd --no-debug
        H_POLKITD_PID=$H_LAST_PID
        gdbus wait --system --timeout 10 org.freedesktop.PolicyKit1 ||
                h_die "polkitd did not appear on the bus: $(cat "$H_T/polkitd.log")"
}

# h_has_name NAME / h_has_no_name NAME: whether someone owns NAME on the bus.
h_has_name() { busctl --system status "$1" > /dev/null 2>&1; }
h_has_no_name() { ! h_has_name "$1"; }

h_stop_polkitd() { h_stop "$H_POLKITD_PID"; H_POLKITD_PID=; }

# h_start_sockfixd [--defaults] [ARGS...]: without --defaults the daemon ignores the
# distro's stock configs (the test's stack is all it should see).
h_start_sockfixd() {
        local args=(--no-distro-defaults)
        if [[ ${1:-} == --defaults ]]; then args=(); shift; fi
        local exe=$SOCKFIX_BUILD_DIR/service/sockfixd
        [[ -x $exe ]] || h_die "$exe not built"
        mkdir -p "$H_T/state" "$H_T/runtime"
        # systemd's names for StateDirectory= / RuntimeDirectory=, so no test touches /var/lib/sockfix
        STATE_DIRECTORY=$H_T/state RUNTIME_DIRECTORY=$H_T/runtime SOCKFIX_DEBUG=1 \
                h_spawn sockfixd "$H_T/sockfixd.log" "$exe" "${args[@]}" "$@"
        H_SOCKFIXD_PID=$H_LAST_PID
        local n=100
        while ((n-- > 0)); do
                busctl --system status "$H_BUS_NAME" > /dev/null 2>&1 && break
                h_alive "$H_SOCKFIXD_PID" || break
                sleep 0.1
        done
        if ! busctl --system status "$H_BUS_NAME" > /dev/null 2>&1; then
                sed 's/^/# sockfixd: /' "$H_T/sockfixd.log"
                h_die "sockfixd did not take $H_BUS_NAME"
        fi
}

# Stops sockfixd (if running) and fails the test on a sanitizer report in its log.
h_check_sockfixd_sanitizers() {
        [[ -n $H_SOCKFIXD_PID ]] || return 0
        h_stop "$H_SOCKFIXD_PID"
        H_SOCKFIXD_PID=
        if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$H_T/sockfixd.log"; then
                h_fail "sockfixd ran without sanitizer reports"
                grep -E -A 30 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$H_T/sockfixd.log" |
                        head -n 60 | sed 's/^/#   | /'
        else
                h_pass "sockfixd ran without sanitizer reports"
        fi
}

# h_sockfix_up [--defaults]: bus + polkit policy + polkitd + sockfixd.
h_sockfix_up() {
        h_start_bus
        h_install_polkit_policy
        h_start_polkitd
        h_start_sockfixd "$@"
}

# ---------------------------------------------------------------------------------------
# Snapshots: what a diagnosis must never change.

# h_snapshot NAME PATH...: for each PATH its type, mode, owner and ACL, and for every
# parent directory too; for regular files their checksum; plus, from the user and group
# databases (/etc/passwd, shadow, group, gshadow), the entries of the scenario's users and
# groups (H_SNAPSHOT_NAMES, the paths' owners and groups) and every group listing one of
# them as a member, with member lists cut to those names. Not whole-file checksums: on a
# shared machine other sessions add and remove their own users and members meanwhile;
# SOCKFIX_TEST_STRICT_DB=1 adds the whole files' checksums (right for CI, where nothing
# else runs).
H_SNAPSHOT_NAMES="nginx www-data root"
h_snapshot() {
        local name=$1 out=$H_T/snapshot.$1 p d names=$H_SNAPSHOT_NAMES; shift
        : > "$out"
        for p in "$@"; do
                d=$p
                while [[ -n $d && $d != / ]]; do
                        names+=" $(stat -c '%U %G' "$d" 2>/dev/null)"
                        stat -c '%n %F %a %U:%G' "$d" >> "$out" 2>&1
                        echo "$d acl $(getfacl -p --absolute-names "$d" 2>/dev/null | grep -v '^#' | grep . | paste -sd' ' -)" >> "$out"
                        [[ -f $d && ! -L $d ]] && sha256sum "$d" >> "$out"
                        d=$(dirname "$d")
                done
        done
        awk -F: -v names="$names" '
                BEGIN { n = split(names, a, " "); for (i = 1; i <= n; i++) want[a[i]] = 1 }
                FILENAME ~ /passwd|shadow/ && FILENAME !~ /gshadow/ { if ($1 in want) print FILENAME ": " $0; next }
                {       # groups: only the members that are the scenario'"'"'s names
                        m = split($NF, mem, ","); kept = ""
                        for (i = 1; i <= m; i++) if (mem[i] in want) kept = kept (kept == "" ? "" : ",") mem[i]
                        if (($1 in want) || kept != "") { $NF = kept; print FILENAME ": " $0 }
                }' OFS=: /etc/passwd /etc/shadow /etc/group /etc/gshadow >> "$out"
        if [[ ${SOCKFIX_TEST_STRICT_DB:-0} == 1 ]]; then
                sha256sum /etc/group /etc/gshadow /etc/passwd /etc/shadow >> "$out" 2>&1
        fi
        sort -u -o "$out" "$out"
}

# h_assert_unchanged A B DESC
h_assert_unchanged() {
        if diff -u "$H_T/snapshot.$1" "$H_T/snapshot.$2" > "$H_T/snapshot.diff"; then
                h_pass "$3"
        else
                h_fail "$3"; sed 's/^/#   /' "$H_T/snapshot.diff"
        fi
}

# ---------------------------------------------------------------------------------------
# HTTP

# h_http_status URL: prints the status code (000 when no answer).
h_http_status() {
        curl -s -o "$H_T/http.body" -w '%{http_code}' --max-time 10 "$1" || true
}

# ---------------------------------------------------------------------------------------
# The write half: Fix, Revert, the journal across a daemon restart.

# h_fix OUT SOCKET STRATEGY [OPTIONS-JSON]: Fix over python3-dbus (h_call): the result or
# {"error": ...} in OUT.
h_fix() { h_call "$1" Fix "\"$2\"" "\"$3\"" "${4:-{\}}"; }

# h_revert OUT TRANSACTION: Revert over python3-dbus.
h_revert() { h_call "$1" Revert "\"$2\"" '{}'; }

# h_error_of FILE: the D-Bus error name in an h_call answer ("" for a reply).
h_error_of() { h_json "$1" 'r.get("error", "") if isinstance(r, dict) else ""'; }

# h_answer_of FILE: a Fix/Revert answer in one word: its outcome, else its error name.
# An empty or non-JSON file (a client that printed nothing) answers "(no JSON answer)".
h_answer_of() {
        h_json "$1" 'r.get("outcome", r.get("error", "?")) if isinstance(r, dict) else "?"' 2> /dev/null ||
                echo "(no JSON answer)"
}

# h_ctl ARGS...: the built sockfixctl.
h_ctl() { "$SOCKFIX_BUILD_DIR/client/sockfixctl" "$@"; }

# h_forget_pid PID: drops PID from the stop list once the test stopped it itself (a
# recycled pid must not be signalled at exit).
h_forget_pid() {
        local i
        for i in "${!H_PIDS[@]}"; do [[ ${H_PIDS[i]} == "$1" ]] && unset 'H_PIDS[i]'; done
        H_PIDS=("${H_PIDS[@]}")
}

# h_restart_sockfixd [ARGS...]: stops sockfixd (its log checked for sanitizer reports and
# kept as sockfixd.log.N), starts it again with the same STATE_DIRECTORY and arguments.
H_SOCKFIXD_RESTARTS=0
h_restart_sockfixd() {
        local pid=$H_SOCKFIXD_PID
        h_check_sockfixd_sanitizers
        h_forget_pid "$pid"
        H_SOCKFIXD_RESTARTS=$((H_SOCKFIXD_RESTARTS + 1))
        mv "$H_T/sockfixd.log" "$H_T/sockfixd.log.$H_SOCKFIXD_RESTARTS"
        h_wait_for 50 h_has_no_name "$H_BUS_NAME" || h_log "$H_BUS_NAME still owned after sockfixd stopped"
        h_start_sockfixd "$@"
}

# h_perm_state PATH: what a fix could change on one file, not following a symlink at PATH
# and then the file it points to: type, mode, owner, group, inode, ctime (any chmod,
# chown or ACL write moves it, even to the same value), size, ACL, content checksum.
h_perm_state() {
        local p=$1
        stat -c '%n %F %a %u:%g inode=%i ctime=%Z size=%s' "$p"
        if [[ -L $p ]]; then
                echo "-> $(readlink "$p")"
                stat -L -c 'target %F %a %u:%g inode=%i ctime=%Z size=%s' "$p"
        fi
        getfacl -p --absolute-names "$p" 2>&1 | grep -v '^# file'
        if [[ -f $p ]]; then sha256sum < "$p"; fi
}

# h_fix_async OUT SOCKET STRATEGY [OPTIONS-JSON]: h_fix in the background, as our child
# (H_LAST_PID is the client's pid): the answer is in OUT once the client has exited.
h_fix_async() {
        local out=$1 sock=$2 strategy=$3 opts=${4:-{\}}
        h_spawn "Fix($strategy) client" "$out" "$H_PY" "$H_LIB_DIR/sfjson.py" call Fix "\"$sock\"" "\"$strategy\"" "$opts"
}

# h_serves_meanwhile OUT SOCKET: checks that sockfixd answers Peer.Ping and a Diagnose
# of SOCKET (into OUT) within 2 s each, while a job of it waits.
h_serves_meanwhile() {
        local ms
        ms=$(h_elapsed_ms busctl --system call "$H_BUS_NAME" "$H_OBJECT" org.freedesktop.DBus.Peer Ping)
        h_ok "Peer.Ping answers meanwhile ($ms ms)" test "$ms" -lt 2000
        ms=$(h_elapsed_ms h_diagnose "$1" "$2")
        h_ok "Diagnose answers meanwhile ($ms ms)" test "$ms" -lt 2000
}

# h_diagnose_pinged OUT SOCKET WHAT: Diagnose of SOCKET (into OUT) in the background, and
# 0.3 s later a Peer.Ping, which must be answered within 4 s while sockfixd waits for a
# lookup WHAT does not answer (it gives up after 2 s). Sets H_RC to the Diagnose's exit
# status and H_MS to its time in ms.
h_diagnose_pinged() {
        local t0 bg ms
        t0=$(date +%s%N)
        h_diagnose "$1" "$2" &
        bg=$!
        sleep 0.3
        ms=$(h_elapsed_ms busctl --system call "$H_BUS_NAME" "$H_OBJECT" org.freedesktop.DBus.Peer Ping)
        h_is "$?" 0 "a Ping sent while sockfixd waits for $3 is answered (after $ms ms)"
        h_ok "  within 4 s" test "$ms" -lt 4000
        wait "$bg"
        H_RC=$?
        H_MS=$((($(date +%s%N) - t0) / 1000000))
}

# h_async_answered PID WHAT: a check that the client h_fix_async or h_revert_async
# started (PID) answered within 30 s; it is reaped and forgotten.
h_async_answered() {
        h_ok "$2 answered" h_wait_gone "$1" 300
        wait "$1" 2> /dev/null
        h_forget_pid "$1"
}

# h_revert_async OUT TRANSACTION: Revert in the background (H_LAST_PID), as h_fix_async.
h_revert_async() {
        h_spawn "Revert client" "$1" "$H_PY" "$H_LIB_DIR/sfjson.py" call Revert "\"$2\"" '{}'
}

# h_stop_sockfixd [--kill]: stops sockfixd and keeps its log as sockfixd.log.N (as
# h_restart_sockfixd does); start it again with h_start_sockfixd on the same
# STATE_DIRECTORY. With --kill: SIGKILL, a crash (no sanitizer check: the process had no
# chance to report).
h_stop_sockfixd() {
        local pid=$H_SOCKFIXD_PID
        if [[ ${1:-} == --kill ]]; then
                kill -KILL "$pid" 2> /dev/null
                { wait "$pid"; } 2> /dev/null # reaped here: bash reports no "Killed"
                H_SOCKFIXD_PID=
        else
                h_check_sockfixd_sanitizers
        fi
        h_forget_pid "$pid"
        H_SOCKFIXD_RESTARTS=$((H_SOCKFIXD_RESTARTS + 1))
        mv "$H_T/sockfixd.log" "$H_T/sockfixd.log.$H_SOCKFIXD_RESTARTS"
        h_wait_for 50 h_has_no_name "$H_BUS_NAME" || h_log "$H_BUS_NAME still owned after sockfixd stopped"
}

# h_tx_record ID: the journal's record file of transaction ID.
h_tx_record() { echo "$H_T/state/transactions/$1.json"; }

# h_elapsed_ms CMD...: runs CMD (its output discarded), prints how long it took in ms;
# returns CMD's status.
h_elapsed_ms() {
        local t0 t1 rc
        t0=$(date +%s%N)
        "$@" > /dev/null 2>&1
        rc=$?
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
        return "$rc"
}

# ---------------------------------------------------------------------------------------
# The well-known system bus socket. polkit's setuid polkit-agent-helper-1 ignores
# DBUS_SYSTEM_BUS_ADDRESS and answers polkitd over /run/dbus/system_bus_socket, so a test
# of interactive authentication (pkttyagent) needs the private bus to listen there too.

H_SYSTEM_BUS_SOCKET=/run/dbus/system_bus_socket
H_BUS_EXTRA_LISTEN=()   # more unix socket paths h_start_bus listens on; none by default

# The <listen> elements of H_BUS_EXTRA_LISTEN, each on its own line (nothing when empty).
h_bus_extra_listen_xml() {
        local p
        for p in "${H_BUS_EXTRA_LISTEN[@]}"; do printf '\n  <listen>unix:path=%s</listen>' "$p"; done
}

# h_system_bus_socket_served: exit 0 when something accepts connections on
# /run/dbus/system_bus_socket (the machine's system bus, or another test's).
h_system_bus_socket_served() {
        [[ -S $H_SYSTEM_BUS_SOCKET ]] || return 1
        "$H_PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(2)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)' "$H_SYSTEM_BUS_SOCKET"
}

# h_bus_listen_system_socket: call before h_start_bus (or h_sockfix_up) to make the private
# bus listen on /run/dbus/system_bus_socket as well. Returns 1, changing nothing, when a
# bus already serves it (never take a real system bus's place). Creates /run/dbus if
# missing; the socket (and a directory it created) are removed at exit. Holds a lock for
# the rest of the test so that two tests of other sessions never listen there at once
# (dbus-daemon would replace the other's socket); waits for it up to LOCK-WAIT seconds
# (default 60) and returns 1 if it stays taken.
h_bus_listen_system_socket() {
        local wait=${1:-60} dir=${H_SYSTEM_BUS_SOCKET%/*}
        exec {H_SYSTEM_BUS_LOCK_FD}> /run/lock/sockfix-tests-system-bus-socket.lock ||
                h_die "cannot open the lock file"
        if ! flock -w "$wait" "$H_SYSTEM_BUS_LOCK_FD"; then
                h_log "another test holds $H_SYSTEM_BUS_SOCKET"
                return 1
        fi
        if h_system_bus_socket_served; then
                h_log "a bus already serves $H_SYSTEM_BUS_SOCKET"
                return 1
        fi
        if [[ -e $H_SYSTEM_BUS_SOCKET || -L $H_SYSTEM_BUS_SOCKET ]]; then
                [[ -S $H_SYSTEM_BUS_SOCKET && ! -L $H_SYSTEM_BUS_SOCKET ]] ||
                        h_die "$H_SYSTEM_BUS_SOCKET exists and is not a socket"
                h_log "removing the stale $H_SYSTEM_BUS_SOCKET (nothing listens on it)"
                rm -f "$H_SYSTEM_BUS_SOCKET"
        fi
        if [[ ! -d $dir ]]; then
                mkdir -p "$dir" || h_die "mkdir $dir"
                chmod 0755 "$dir"
                h_at_exit "rmdir '$dir' 2>/dev/null; true"
        fi
        h_at_exit "rm -f '$H_SYSTEM_BUS_SOCKET'"
        H_BUS_EXTRA_LISTEN+=("$H_SYSTEM_BUS_SOCKET")
}

# h_system_socket_is_ours: exit 0 when /run/dbus/system_bus_socket reaches our private bus
# (the same bus id as DBUS_SYSTEM_BUS_ADDRESS).
h_system_socket_is_ours() {
        local ours theirs
        ours=$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId 2> /dev/null) || return 1
        theirs=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=$H_SYSTEM_BUS_SOCKET busctl --system call \
                org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId 2> /dev/null) || return 1
        [[ $ours == "$theirs" ]]
}

