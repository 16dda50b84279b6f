#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# bench/run.sh [N...]  (as root; default N = 100 1000 5000)
#
# The hosting-scale benchmark of issue 4: for each N, a real host (one php-fpm master
# with N pm=ondemand pools, half of them broken as in the seed, one pm=static pool, one
# nginx with a location per pool), sockfixd on a private system bus with the real
# polkitd, and side by side: DiagnoseAll, the kernel's floor, the shell way, Diagnose vs
# Peer.Ping (root and a polkit-granted user) vs polkit's own CheckAuthorization, RSS,
# readiness, and the php-fpm children a sweep must not fork. Prints one table.
#
# Exit: 0 when every answer was right and no sweep forked a PHP worker (a missed
# performance target is reported as MISS, not an error); 3 on a wrong verdict or a side
# effect; 1 when the setup failed.
#
# Environment: BENCH_REPS (timed repetitions, default 7; one warm-up on top),
#   BENCH_PAIR_REPS (CheckAuthorization + granted Diagnose pairs, default 3 × BENCH_REPS),
#   BENCH_SHELL_BUDGET (seconds the shell way may take per N before it is measured on a
#   sample and extrapolated, default 60), BENCH_OUT (also write the table there),
#   BENCH_PROFILE_DIR (perf record -g of sockfixd during extra DiagnoseAll calls, report
#   per N written there), SOCKFIX_BENCH_BUILD_DIR (default build-bench),
#   BENCH_ISOLATE=0 (run in the host's PID and network namespaces instead of private
#   ones), SOCKFIX_TEST_KEEP=1 (keep the temp dir).

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SOCKFIX_SOURCE_DIR=$BENCH_SRC
export SOCKFIX_BUILD_DIR=${SOCKFIX_BENCH_BUILD_DIR:-$BENCH_SRC/build-bench}

# Unless BENCH_ISOLATE=0: run everything in a PID and network namespace of its own
# (a fresh /proc, /proc/net/unix with only our sockets, loopback up), so other stacks
# running on a shared machine are neither discovered nor counted; the file system, the
# users and the bus socket path are the host's. When this script (PID 1 there) exits,
# the kernel ends whatever is left in the namespace.
if [[ ${BENCH_ISOLATE:-1} == 1 && -z ${BENCH_IN_NS:-} ]]; then
        export BENCH_IN_NS=1
        exec unshare --pid --fork --mount-proc --net -- \
                /bin/bash -c 'ip link set lo up && exec "$0" "$@"' "$(readlink -f "${BASH_SOURCE[0]}")" "$@"
fi

# The tests' helpers: private bus, polkitd, users, process control, cleanup trap.
# (harness.sh re-executes this script as a child subreaper first.)
# shellcheck source=../tests/lib/harness.sh
source "$BENCH_SRC/tests/lib/harness.sh"
# shellcheck source=../tests/lib/stack.sh
source "$BENCH_SRC/tests/lib/stack.sh"

BENCH_NS=("$@")
[[ ${#BENCH_NS[@]} -gt 0 ]] || BENCH_NS=(100 1000 5000)
for n in "${BENCH_NS[@]}"; do
        [[ $n =~ ^[1-9][0-9]*$ && $n -ge 2 && $n -le 9000 ]] || h_die "N must be an integer in 2..9000: $n"
done
REPS=${BENCH_REPS:-7}
# A granted user's Diagnose beside CheckAuthorization: polkit's time varies by a third
# from call to call, so these pairs get more repetitions.
PAIR_REPS=${BENCH_PAIR_REPS:-$((3 * REPS))}
SHELL_BUDGET=${BENCH_SHELL_BUDGET:-60}
CPU_CALLS=${BENCH_CPU_CALLS:-200} # calls per CPU-per-call figure (the kernel counts CPU in 10 ms ticks)
# What a panel polling a large host asks DiagnoseAll for (the `fields` option), measured
# beside the full reports: "which sites are broken" (the floor's question: one verdict per
# socket), and "which, and why".
VERDICT_FIELDS=verdict
BRIEF_FIELDS=verdict,findings
BENCH_USER=sfbench # the non-root caller the polkit rule grants
BENCH_FAILED=0     # a wrong verdict or a side effect

declare -A R # results: R[N.key]=value

b_log() { echo "# $*" >&2; }
b_wrong() { echo "WRONG: $*" >&2; BENCH_FAILED=1; }

# calc AWK-EXPR: a number printed with 2 decimals ("-" when an operand is missing).
calc() { awk "BEGIN { printf \"%.2f\", $1 }" 2>/dev/null || echo -; }
ge() { awk "BEGIN { exit !(($1) >= ($2)) }"; }
le() { awk "BEGIN { exit !(($1) <= ($2)) }"; }

# ---------------------------------------------------------------------------------------
# Build: -O2, no sanitizers, no tests.

bench_build() {
        if [[ -f $SOCKFIX_BUILD_DIR/build.ninja ]]; then
                meson configure "$SOCKFIX_BUILD_DIR" -Dbuildtype=release -Doptimization=2 \
                        -Db_sanitize=none -Dtests=disabled > /dev/null || h_die "meson configure"
        else
                meson setup "$SOCKFIX_BUILD_DIR" "$BENCH_SRC" --buildtype=release -Doptimization=2 \
                        -Db_sanitize=none -Dtests=disabled > "$H_T/meson-setup.log" 2>&1 ||
                        { cat "$H_T/meson-setup.log"; h_die "meson setup"; }
        fi
        ninja -C "$SOCKFIX_BUILD_DIR" > "$H_T/ninja.log" 2>&1 || { tail -n 40 "$H_T/ninja.log"; h_die "build failed"; }
        SFD=$SOCKFIX_BUILD_DIR/service/sockfixd
        CLIENT=$SOCKFIX_BUILD_DIR/bench/bench-client
        FLOOR=$SOCKFIX_BUILD_DIR/bench/bench-floor
        LOOKUP=$SOCKFIX_BUILD_DIR/bench/bench-lookup
}

machine() {
        local model mem
        model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
        mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
        echo "$(nproc) CPUs (${model:-unknown}), $mem RAM, kernel $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")"
}

# ---------------------------------------------------------------------------------------
# Users, polkit

bench_setup_auth() {
        # Tests of other sessions may hold nginx in www-data for a while (a `member` fix):
        # wait for them rather than fail.
        local n=1200
        while getent passwd "$S_WEB_USER" > /dev/null && id -nG "$S_WEB_USER" | tr ' ' '\n' | grep -qx "$S_POOL_USER" &&
                ((n-- > 0)); do
                ((n % 100 == 0)) && b_log "user $S_WEB_USER is in $S_POOL_USER (another test?): waiting"
                sleep 0.1
        done
        stack_ensure_web_user # the system user nginx, not in www-data (created if missing)
        h_ensure_user "$BENCH_USER"
        h_start_bus
        # The actions under a file name of our own: the tests install and remove
        # org.sockfix.SockFix1.policy, and other sessions may run them meanwhile.
        local policy=$SOCKFIX_BUILD_DIR/polkit/org.sockfix.SockFix1.policy
        [[ -f $policy ]] || policy=$BENCH_SRC/polkit/org.sockfix.SockFix1.policy
        h_install_file "$policy" "/usr/share/polkit-1/actions/org.sockfix.SockFix1.bench-$$.policy"
        h_start_polkitd
        cat > "$H_T/bench.rules" << EOF
// sockfix benchmark: the user $BENCH_USER may diagnose (installed for the run only)
polkit.addRule(function(action, subject) {
        if (action.id == "org.sockfix.SockFix1.diagnose" && subject.user == "$BENCH_USER")
                return polkit.Result.YES;
});
EOF
        h_install_rules "$H_T/bench.rules"
}

# Stops PID and drops it from the harness's list (no stale pid is signalled at exit).
bench_stop() {
        local pid=$1 i
        h_stop "$pid"
        for i in "${!H_PIDS[@]}"; do [[ ${H_PIDS[i]} == "$pid" ]] && unset 'H_PIDS[i]'; done
        H_PIDS=("${H_PIDS[@]}")
}

# ---------------------------------------------------------------------------------------
# The host: one php-fpm master, N ondemand pools + one static pool, one nginx.
#   pool i even: listen.owner/group www-data, 0660 -> nginx denied (the seed)
#   pool i % 4 == 1: listen.group nginx -> ok;  i % 4 == 3: listen.acl_users nginx -> ok

bench_host_up() {
        local n=$1 t=$2 i name sock fd_limit
        mkdir -p "$t/sock" "$t/fpm/pool.d" "$t/nginx/logs" "$t/nginx/tmp" "$t/www"
        chmod 0755 "$t" "$t/sock"
        echo '<?php echo "ok";' > "$t/www/index.php"
        chmod 0644 "$t/www/index.php"
        fd_limit=$(ulimit -Hn)
        [[ $fd_limit == unlimited || $fd_limit -gt 65536 ]] && fd_limit=65536
        ulimit -n "$fd_limit" || h_die "ulimit -n $fd_limit"
        ((fd_limit > n + 1000)) || h_die "the fd limit ($fd_limit) is too low for $n pools"

        : > "$t/truth"
        local locations=$t/nginx/locations.conf
        : > "$locations"
        for ((i = 0; i < n; i++)); do
                printf -v name 'site%05d' "$i"
                sock=$t/sock/$name.sock
                {
                        echo "[$name]"
                        echo "user = www-data"
                        echo "group = www-data"
                        echo "listen = $sock"
                        case $((i % 4)) in
                        0 | 2) printf 'listen.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660\n' ;;
                        1) printf 'listen.owner = www-data\nlisten.group = nginx\nlisten.mode = 0660\n' ;;
                        3) printf 'listen.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660\nlisten.acl_users = nginx\n' ;;
                        esac
                        echo "pm = ondemand"
                        echo "pm.max_children = 2"
                        echo "pm.process_idle_timeout = 120s"
                } > "$t/fpm/pool.d/$name.conf"
                if ((i % 2 == 0)); then echo "$sock denied"; else echo "$sock ok"; fi >> "$t/truth"
                echo "        location = /$name.php { fastcgi_pass unix:$sock; }" >> "$locations"
        done
        BENCH_STATIC_SOCK=$t/sock/static.sock
        cat > "$t/fpm/pool.d/static.conf" << EOF
[static]
user = www-data
group = www-data
listen = $BENCH_STATIC_SOCK
listen.owner = www-data
listen.group = nginx
listen.mode = 0660
pm = static
pm.max_children = 2
EOF
        echo "$BENCH_STATIC_SOCK ok" >> "$t/truth"
        echo "        location = /static.php { fastcgi_pass unix:$BENCH_STATIC_SOCK; }" >> "$locations"
        BENCH_DENIED_SOCK=$t/sock/site00000.sock

        cat > "$t/fpm/php-fpm.conf" << EOF
[global]
pid = $t/fpm/php-fpm.pid
error_log = $t/fpm/php-fpm.log
daemonize = no
rlimit_files = $fd_limit
process.max = 0
include = $t/fpm/pool.d/*.conf
EOF
        local t0=$EPOCHREALTIME
        h_spawn php-fpm "$t/fpm/stdout.log" php-fpm8.2 -F -y "$t/fpm/php-fpm.conf"
        BENCH_FPM_PID=$H_LAST_PID
        if ! h_wait_for $((600 + n / 5)) grep -qs 'ready to handle connections' "$t/fpm/php-fpm.log"; then
                tail -n 20 "$t/fpm/php-fpm.log" "$t/fpm/stdout.log"
                h_die "php-fpm did not start with $n pools"
        fi
        h_wait_for 100 stack_has_children "$BENCH_FPM_PID" || h_die "php-fpm spawned no static child"
        b_log "php-fpm master $BENCH_FPM_PID with $((n + 1)) pools ready in $(calc "$EPOCHREALTIME - $t0") s"

        BENCH_PORT=$(h_free_port)
        cat > "$t/nginx/nginx.conf" << EOF
user $S_WEB_USER;
worker_processes 1;
worker_rlimit_nofile $fd_limit;
pid $t/nginx/nginx.pid;
error_log $t/nginx/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $t/nginx/tmp/client_body;
    proxy_temp_path $t/nginx/tmp/proxy;
    fastcgi_temp_path $t/nginx/tmp/fastcgi;
    uwsgi_temp_path $t/nginx/tmp/uwsgi;
    scgi_temp_path $t/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$BENCH_PORT;
        root $t/www;
        include /etc/nginx/fastcgi_params;
        fastcgi_param SCRIPT_FILENAME \$document_root/index.php;
        include $locations;
    }
}
EOF
        h_spawn nginx "$t/nginx/stdout.log" nginx -c "$t/nginx/nginx.conf" -p "$t/nginx/" -g 'daemon off;'
        BENCH_NGINX_PID=$H_LAST_PID
        if ! h_wait_for 300 h_port_listening "$BENCH_PORT" || ! h_wait_for 100 stack_has_children "$BENCH_NGINX_PID"; then
                cat "$t/nginx/stdout.log" "$t/nginx/logs/error.log"
                h_die "nginx did not start"
        fi
        BENCH_WORKER=$(stack_children "$BENCH_NGINX_PID" | head -n 1)
        b_log "nginx master $BENCH_NGINX_PID, worker $BENCH_WORKER on 127.0.0.1:$BENCH_PORT"
        # The seed's symptom, once: a broken pool answers 502, a working one 200.
        R[$n.http_denied]=$(h_http_status "http://127.0.0.1:$BENCH_PORT/site00000.php")
        R[$n.http_ok]=$(h_http_status "http://127.0.0.1:$BENCH_PORT/static.php")
}

# Live children of the php-fpm master (ondemand pools have none until connected to).
fpm_children() { stack_children "$BENCH_FPM_PID" | wc -l; }

# kv_load N FILE: key=value tokens of FILE into R[N.key].
kv_load() {
        local n=$1 tok
        # shellcheck disable=SC2013
        for tok in $(cat "$2"); do
                [[ $tok == *=* ]] && R[$n.${tok%%=*}]=${tok#*=}
        done
}

# CPU time of a process so far, utime + stime, in µs (exited threads included).
cpu_us() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) * 1000000 / hz }' "/proc/$1/stat"; }

# cpu_per_call N NAME CMD...: CMD makes CPU_CALLS + 1 calls; sockfixd's and polkitd's
# CPU per call into R[N.cpu_NAME_sfd], R[N.cpu_NAME_pk] (µs).
cpu_per_call() {
        local n=$1 name=$2; shift 2
        local s0 p0 s1 p1
        s0=$(cpu_us "$BENCH_SFD_PID") p0=$(cpu_us "$H_POLKITD_PID")
        "$@" > /dev/null 2>&1 || h_die "N=$n cpu $name failed: $*"
        s1=$(cpu_us "$BENCH_SFD_PID") p1=$(cpu_us "$H_POLKITD_PID")
        R[$n.cpu_${name}_sfd]=$(calc "($s1 - $s0) / ($CPU_CALLS + 1)")
        R[$n.cpu_${name}_pk]=$(calc "($p1 - $p0) / ($CPU_CALLS + 1)")
}

# run_helper N OUTNAME CMD...: runs a helper, loads its output; a
# status 2 (wrong answer) marks the run failed, other failures abort.
run_helper() {
        local n=$1 out=$2; shift 2
        local rc
        "$@" > "$BENCH_T/$out.out" 2> "$BENCH_T/$out.err"
        rc=$?
        kv_load "$n" "$BENCH_T/$out.out"
        if [[ $rc -eq 2 ]]; then
                b_wrong "N=$n $out: $(head -n 5 "$BENCH_T/$out.err" | tr '\n' ' ')"
        elif [[ $rc -ne 0 ]]; then
                cat "$BENCH_T/$out.err" >&2
                h_die "N=$n $out failed ($rc): $*"
        fi
}

# The shell way, over the sockets listed in FILE: prints seconds and the number of
# answers that disagree with the truth.
shell_way() {
        local file=$1 sock verdict t0 bad=0 w
        t0=$EPOCHREALTIME
        while read -r sock verdict; do
                namei -l "$sock" > /dev/null
                if runuser -u "$S_WEB_USER" -- test -w "$sock"; then w=ok; else w=denied; fi
                [[ $w == "$verdict" ]] || bad=$((bad + 1))
        done < "$file"
        echo "$(calc "$EPOCHREALTIME - $t0") $bad"
}

bench_shell() {
        local n=$1 t=$BENCH_T secs bad sample reps i
        local total=$((n + 1))
        local -a runs=()
        # Measure every socket when the estimate fits the budget, else a sample.
        if [[ -n ${SHELL_PER_SOCKET:-} ]] && ! le "$SHELL_PER_SOCKET * $total" "$SHELL_BUDGET"; then
                sample=200
                R[$n.shell_how]="extrapolated from $sample"
        else
                sample=$total
                R[$n.shell_how]=measured
        fi
        shuf -n "$sample" --random-source=/dev/zero "$t/truth" > "$t/shell.list"
        reps=1
        ((sample <= 200)) && reps=3
        for ((i = 0; i < reps; i++)); do
                read -r secs bad < <(shell_way "$t/shell.list")
                runs+=("$secs")
                ((bad == 0)) || b_log "shell way: $bad answers differ from the truth (N=$n)"
                R[$n.shell_bad]=$bad
        done
        secs=$(printf '%s\n' "${runs[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
        SHELL_PER_SOCKET=$(awk "BEGIN { printf \"%.6f\", $secs / $sample }")
        R[$n.shell_ms]=$(calc "$secs * 1000 * $total / $sample")
        R[$n.shell_per_socket_ms]=$(calc "$SHELL_PER_SOCKET * 1000")
        R[$n.shell_reps]=$reps
}

# perf_record NAME PERF-RECORD-OPTIONS... -- CMD...: perf record with those options into
# $BENCH_PROFILE_DIR/NAME.data while CMD runs (started half a second before it).
perf_record() {
        local name=$1 perf_pid opts=(); shift
        while [[ $1 != -- ]]; do opts+=("$1"); shift; done
        shift
        perf record "${opts[@]}" -o "$BENCH_PROFILE_DIR/$name.data" > "$BENCH_PROFILE_DIR/$name.log" 2>&1 &
        perf_pid=$!
        sleep 0.5
        "$@" > /dev/null 2>&1
        kill -INT "$perf_pid"
        wait "$perf_pid"
}

# perf_during NAME CMD...: samples sockfixd (DWARF call graphs: the release build has no
# frame pointers) while CMD runs; writes NAME.self.txt (flat, self time) and
# NAME.children.txt (inclusive time per function, sockfixd's own code).
perf_during() {
        local name=$1 dir=$BENCH_PROFILE_DIR; shift
        perf_record "$name" --call-graph dwarf,32768 -F 999 -p "$BENCH_SFD_PID" -- "$@"
        perf report -i "$dir/$name.data" --no-children --sort symbol --percent-limit 0.7 --stdio -g none \
                > "$dir/$name.self.txt" 2> /dev/null
        perf report -i "$dir/$name.data" --children --sort dso,symbol --percent-limit 1.5 --stdio -g none \
                > "$dir/$name.children.txt" 2> /dev/null
        # keep $name.data for perf report -i ...
}

# perf_system NAME CMD...: every CPU while CMD runs (sockfixd, dbus-daemon and the client
# share the call's time); NAME.comm.txt splits it by process, NAME.self.txt by function.
perf_system() {
        local name=$1 dir=$BENCH_PROFILE_DIR; shift
        perf_record "$name" -a -g -F 1999 -- "$@"
        perf report -i "$dir/$name.data" --no-children --sort comm --stdio -g none \
                > "$dir/$name.comm.txt" 2> /dev/null
        perf report -i "$dir/$name.data" --no-children --sort comm,dso,symbol --percent-limit 0.5 \
                --stdio -g none > "$dir/$name.self.txt" 2> /dev/null
}

bench_profile() {
        local n=$1
        mkdir -p "$BENCH_PROFILE_DIR"
        perf_system "perf-$n-diagnose-all-system" "$CLIENT" diagnose-all 40 "$BENCH_T/sock/" "$BENCH_T/truth"
        perf_during "perf-$n-diagnose-all" "$CLIENT" diagnose-all 40 "$BENCH_T/sock/" "$BENCH_T/truth"
        perf_during "perf-$n-diagnose-all-brief" "$CLIENT" diagnose-all 40 "$BENCH_T/sock/" "$BENCH_T/truth" "$BRIEF_FIELDS"
        perf_during "perf-$n-diagnose" "$CLIENT" diagnose 300 "$BENCH_DENIED_SOCK" denied
        perf_during "perf-$n-diagnose-user" runuser -u "$BENCH_USER" -- "$CLIENT" diagnose 300 "$BENCH_DENIED_SOCK" denied
        b_log "profiles of N=$n in $BENCH_PROFILE_DIR/perf-$n-*.txt"
}

bench_n() {
        local n=$1
        BENCH_T=$H_T/n$n
        b_log "=== N=$n: building the host"
        bench_host_up "$n" "$BENCH_T"

        export STATE_DIRECTORY=$BENCH_T/state RUNTIME_DIRECTORY=$BENCH_T/runtime
        mkdir -p "$STATE_DIRECTORY" "$RUNTIME_DIRECTORY"
        unset SOCKFIX_DEBUG

        b_log "N=$n: readiness ($REPS cold starts)"
        run_helper "$n" ready "$CLIENT" ready "$REPS" "$SFD" --no-distro-defaults

        h_spawn sockfixd "$BENCH_T/sockfixd.log" "$SFD" --no-distro-defaults
        BENCH_SFD_PID=$H_LAST_PID
        h_wait_for 100 h_has_name "$H_BUS_NAME" || { cat "$BENCH_T/sockfixd.log"; h_die "sockfixd did not start"; }
        R[$n.rss_idle]=$(awk '/^VmRSS/ {print $2}' "/proc/$BENCH_SFD_PID/status")
        # One Diagnose builds the host model that later calls keep: the RSS of an idle
        # daemon that has served (the peak above it is what one sweep costs).
        run_helper "$n" model "$CLIENT" first 1 "$BENCH_DENIED_SOCK" denied
        R[$n.rss_model]=$(awk '/^VmRSS/ {print $2}' "/proc/$BENCH_SFD_PID/status")

        R[$n.children_before]=$(fpm_children)
        b_log "N=$n: DiagnoseAll"
        run_helper "$n" all "$CLIENT" diagnose-all "$REPS" "$BENCH_T/sock/" "$BENCH_T/truth"
        R[$n.rss_after_all]=$(awk '/^VmRSS/ {print $2}' "/proc/$BENCH_SFD_PID/status")
        R[$n.hwm_after_all]=$(awk '/^VmHWM/ {print $2}' "/proc/$BENCH_SFD_PID/status")
        b_log "N=$n: DiagnoseAll fields=$VERDICT_FIELDS"
        run_helper "$n" verdicts "$CLIENT" diagnose-all "$REPS" "$BENCH_T/sock/" "$BENCH_T/truth" "$VERDICT_FIELDS" verdicts
        b_log "N=$n: DiagnoseAll fields=$BRIEF_FIELDS"
        run_helper "$n" brief "$CLIENT" diagnose-all "$REPS" "$BENCH_T/sock/" "$BENCH_T/truth" "$BRIEF_FIELDS"
        R[$n.children_after_sweep]=$(fpm_children)

        b_log "N=$n: floor"
        run_helper "$n" floor "$FLOOR" "$REPS" "$BENCH_WORKER" "$BENCH_T/sock/" "$BENCH_T/truth"

        b_log "N=$n: single socket, root"
        run_helper "$n" ping "$CLIENT" ping "$REPS"
        R[$n.ping_root]=${R[$n.ping_median_us]} R[$n.ping_root_min]=${R[$n.ping_min_us]}
        run_helper "$n" diag_denied "$CLIENT" diagnose "$REPS" "$BENCH_DENIED_SOCK" denied
        R[$n.diag_denied_root]=${R[$n.diagnose_median_us]} R[$n.diag_denied_root_min]=${R[$n.diagnose_min_us]}
        run_helper "$n" diag_static "$CLIENT" diagnose "$REPS" "$BENCH_STATIC_SOCK" ok
        R[$n.diag_static_root]=${R[$n.diagnose_median_us]} R[$n.diag_static_root_min]=${R[$n.diagnose_min_us]}

        b_log "N=$n: single socket, user $BENCH_USER (polkit rule)"
        run_helper "$n" ping_user runuser -u "$BENCH_USER" -- "$CLIENT" ping "$REPS"
        R[$n.ping_user]=${R[$n.ping_median_us]}
        # Each granted Diagnose right after one CheckAuthorization for the same caller, in
        # one series: polkitd's time per check drifts by a third between series a few
        # seconds apart, more than the margin the target allows. PAIR_REPS pairs.
        run_helper "$n" diag_static_user "$CLIENT" check-auth "$PAIR_REPS" "$BENCH_USER" "$BENCH_STATIC_SOCK" ok
        R[$n.diag_static_user]=${R[$n.diagnose_median_us]} R[$n.diag_static_user_min]=${R[$n.diagnose_min_us]}
        R[$n.checkauth_static_us]=${R[$n.checkauth_median_us]}
        run_helper "$n" checkauth "$CLIENT" check-auth "$PAIR_REPS" "$BENCH_USER" "$BENCH_DENIED_SOCK" denied
        R[$n.diag_denied_user]=${R[$n.diagnose_median_us]} R[$n.diag_denied_user_min]=${R[$n.diagnose_min_us]}

        # Where an authorized call's time goes: CPU (utime + stime of the whole process,
        # exited threads included) of sockfixd and polkitd over CPU_CALLS calls each.
        b_log "N=$n: CPU per call ($CPU_CALLS calls each)"
        cpu_per_call "$n" root_diag "$CLIENT" diagnose "$CPU_CALLS" "$BENCH_DENIED_SOCK" denied
        cpu_per_call "$n" user_diag runuser -u "$BENCH_USER" -- "$CLIENT" diagnose "$CPU_CALLS" "$BENCH_DENIED_SOCK" denied
        cpu_per_call "$n" checkauth "$CLIENT" check-auth "$CPU_CALLS" "$BENCH_USER" "$BENCH_DENIED_SOCK"

        R[$n.children_after]=$(fpm_children)
        R[$n.rss_after]=$(awk '/^VmRSS/ {print $2}' "/proc/$BENCH_SFD_PID/status")
        R[$n.hwm_after]=$(awk '/^VmHWM/ {print $2}' "/proc/$BENCH_SFD_PID/status")
        # shellcheck disable=SC2055 # either difference is a side effect
        if [[ ${R[$n.children_before]} != "${R[$n.children_after_sweep]}" || ${R[$n.children_before]} != "${R[$n.children_after]}" ]]; then
                b_wrong "N=$n: php-fpm children ${R[$n.children_before]} before, ${R[$n.children_after_sweep]} after the sweeps, ${R[$n.children_after]} at the end"
        fi

        b_log "N=$n: the shell way"
        bench_shell "$n"

        # A user per site, as hosting panels set pools up: what a sweep's user and group
        # lookups cost with N of them (bench-lookup: its own mount namespace and databases).
        b_log "N=$n: passwd/group lookups with $n site users"
        run_helper "$n" lookup "$LOOKUP" "$n" "$REPS"

        # A Fix that edits a pool file runs php-fpm -t of the whole installation (every
        # pool file) before and after the edit, and its Revert restores the file: each
        # while a second connection pings sockfixd back to back. After the sweeps' side
        # effect checks: its verification connects, and php-fpm may fork a worker for that.
        b_log "N=$n: Fix(pool-acl) and its Revert, pinging meanwhile"
        run_helper "$n" serving "$CLIENT" serving 1 "$BENCH_DENIED_SOCK" pool-acl

        [[ -n ${BENCH_PROFILE_DIR:-} ]] && bench_profile "$n"

        bench_stop "$BENCH_SFD_PID"
        bench_stop "$BENCH_NGINX_PID"
        bench_stop "$BENCH_FPM_PID"
        [[ ${SOCKFIX_TEST_KEEP:-0} == 1 ]] || rm -rf "$BENCH_T"
}

# ---------------------------------------------------------------------------------------
# The table

# row LABEL FORMAT-FN: one line, a column per N.
row() {
        local label=$1 fn=$2 n
        printf '%-44s' "$label"
        for n in "${BENCH_NS[@]}"; do printf '%21s' "$($fn "$n")"; done
        printf '\n'
}
v() { local x=${R[$1]:-}; echo "${x:--}"; }
ms() { local x=${R[$1]:-}; [[ -n $x ]] && calc "$x / 1000" || echo -; }

c_all() { echo "$(ms "$1.all_median_us") ms"; }
c_all_call() { echo "$(ms "$1.all_call_median_us") ms"; }
c_all_minmax() { echo "$(ms "$1.all_min_us")-$(ms "$1.all_max_us")"; }
c_per_socket_all() { echo "$(calc "${R[$1.all_median_us]} / ($1 + 1)") us"; }
c_verdicts() { echo "$(v "$1.all_ok")/$(v "$1.all_denied")/$(v "$1.all_other") $( ((${R[$1.all_wrong]:-1} + ${R[$1.all_missing]:-1} == 0)) && echo right || echo WRONG)"; }
c_reports() { echo "$(v "$1.all_under_prefix") of $(v "$1.all_reports")"; }
c_reply() { echo "$(calc "${R[$1.all_reply_body_bytes]} / 1024") KiB"; }
c_verdicts_only() { echo "$(ms "$1.verdicts_median_us") ms"; }
c_verdicts_only_call() { echo "$(ms "$1.verdicts_call_median_us") ms"; }
c_verdicts_only_check() { echo "$(v "$1.verdicts_ok")/$(v "$1.verdicts_denied")/$(v "$1.verdicts_other") $( ((${R[$1.verdicts_wrong]:-1} + ${R[$1.verdicts_missing]:-1} + ${R[$1.verdicts_odd_keys]:-1} == 0)) && echo right || echo WRONG)"; }
c_verdicts_only_reply() { echo "$(calc "${R[$1.verdicts_reply_body_bytes]} / 1024") KiB"; }
c_verdicts_only_floor() { echo "$(calc "${R[$1.verdicts_median_us]} / ${R[$1.floor_median_us]}")x"; }
c_brief() { echo "$(ms "$1.brief_median_us") ms"; }
c_brief_call() { echo "$(ms "$1.brief_call_median_us") ms"; }
c_brief_verdicts() { echo "$(v "$1.brief_ok")/$(v "$1.brief_denied")/$(v "$1.brief_other") $( ((${R[$1.brief_wrong]:-1} + ${R[$1.brief_missing]:-1} + ${R[$1.brief_odd_keys]:-1} == 0)) && echo right || echo WRONG)"; }
c_brief_reply() { echo "$(calc "${R[$1.brief_reply_body_bytes]} / 1024") KiB"; }
c_brief_floor() { echo "$(calc "${R[$1.brief_median_us]} / ${R[$1.floor_median_us]}")x"; }
c_floor() { echo "$(ms "$1.floor_median_us") ms"; }
c_floor_n() { echo "$(v "$1.floor_sockets") sockets"; }
c_all_floor() { echo "$(calc "${R[$1.all_median_us]} / ${R[$1.floor_median_us]}")x"; }
c_shell() { echo "$(calc "${R[$1.shell_ms]} / 1000") s"; }
c_shell_how() { echo "${R[$1.shell_how]:-}"; }
c_shell_bad() { v "$1.shell_bad"; }
c_shell_per() { echo "$(v "$1.shell_per_socket_ms") ms"; }
c_shell_all() { echo "$(calc "${R[$1.shell_ms]} * 1000 / ${R[$1.all_median_us]}")x"; }
us() { echo "$(v "$1") us"; }
c_ping_root() { us "$1.ping_root"; }
c_dd_root() { echo "$(v "$1.diag_denied_root") ($(calc "${R[$1.diag_denied_root]} / ${R[$1.ping_root]}")x)"; }
c_ds_root() { echo "$(v "$1.diag_static_root") ($(calc "${R[$1.diag_static_root]} / ${R[$1.ping_root]}")x)"; }
c_ping_user() { us "$1.ping_user"; }
c_checkauth() { echo "$(v "$1.checkauth_median_us") ($(calc "${R[$1.checkauth_median_us]} / ${R[$1.ping_root]}")x)"; }
c_dd_user() { echo "$(v "$1.diag_denied_user") ($(calc "${R[$1.diag_denied_user]} / ${R[$1.ping_root]}")x)"; }
c_ds_user() { echo "$(v "$1.diag_static_user") ($(calc "${R[$1.diag_static_user]} / ${R[$1.ping_root]}")x)"; }
c_dd_extra() { echo "$(calc "${R[$1.diag_denied_user]} - ${R[$1.checkauth_median_us]}") us"; }
c_cpu_root() { echo "$(v "$1.cpu_root_diag_sfd") us"; }
c_cpu_user() { echo "$(v "$1.cpu_user_diag_sfd")/$(v "$1.cpu_user_diag_pk") us"; }
c_cpu_check() { echo "$(v "$1.cpu_checkauth_pk") us"; }
c_min_root() { echo "$(ms "$1.ping_root_min")/$(ms "$1.diag_denied_root_min")/$(ms "$1.diag_static_root_min")"; }
c_min_user() { echo "$(ms "$1.checkauth_min_us")/$(ms "$1.diag_denied_user_min")/$(ms "$1.diag_static_user_min")"; }
c_rss() { echo "$(v "$1.rss_idle")/$(v "$1.rss_after")/$(v "$1.hwm_after")"; }
c_lookup_one() { echo "$(ms "$1.lookup_one_by_one_median_us") ms"; }
c_lookup_sweep() { echo "$(ms "$1.lookup_sweep_median_us") ms"; }
c_rss_model() { echo "$(v "$1.rss_model") KiB"; }
c_model_build() { echo "$(ms "$1.first_us") ms"; }
c_rss_all() { echo "$(v "$1.rss_after_all")/$(v "$1.hwm_after_all")"; }
c_ready() { echo "$(ms "$1.ready_median_us") ms"; }
c_ready_rss() { echo "$(v "$1.ready_rss_kib") KiB"; }
c_children() { echo "$(v "$1.children_before")->$(v "$1.children_after_sweep")->$(v "$1.children_after")"; }
c_http() { echo "$(v "$1.http_denied")/$(v "$1.http_ok")"; }
c_fix() { echo "$(v "$1.fix_ms") ms"; }
c_fix_ping() { echo "$(calc "${R[$1.fix_ping_median_us]} / 1000")/$(calc "${R[$1.fix_ping_max_us]} / 1000") x$(v "$1.fix_ping_reps")"; }
c_revert() { echo "$(v "$1.revert_ms") ms"; }
c_revert_ping() { echo "$(calc "${R[$1.revert_ping_median_us]} / 1000")/$(calc "${R[$1.revert_ping_max_us]} / 1000") x$(v "$1.revert_ping_reps")"; }

# target LABEL OK-CONDITION-AWK-EXPR VALUE-TEXT
target() {
        local label=$1 cond=$2 text=$3 verdict
        if [[ $cond == - ]]; then verdict="n/a (not run)"; elif awk "BEGIN { exit !($cond) }" 2>/dev/null; then verdict=PASS; else verdict=MISS; fi
        printf '  %-64s %-30s %s\n' "$label" "$text" "$verdict"
}

has() { local n; for n in "${BENCH_NS[@]}"; do [[ $n == "$1" ]] && return 0; done; return 1; }

print_table() {
        local n
        echo
        echo "sockfix benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git -C "$BENCH_SRC" rev-parse --short HEAD 2>/dev/null)$(git -C "$BENCH_SRC" diff --quiet HEAD -- service 2>/dev/null || echo '+dirty service/')"
        echo "machine: $(machine)"
        echo "build: $SOCKFIX_BUILD_DIR (release, -O2); medians of $REPS runs after 1 warm-up; times in us unless marked"
        if [[ -n ${BENCH_IN_NS:-} ]]; then
                echo "namespaces: own PID + network namespace (only this benchmark's processes and sockets are seen)"
        else
                echo "namespaces: the host's (BENCH_ISOLATE=0): sockfixd and the floor also see every other stack running here"
        fi
        echo
        printf '%-44s' "pools (N, + 1 static)"; for n in "${BENCH_NS[@]}"; do printf '%21s' "N=$n"; done; printf '\n'
        row "DiagnoseAll, root (call + parse)" c_all
        row "  of it, until the reply arrived" c_all_call
        row "  min-max (ms)" c_all_minmax
        row "  per socket" c_per_socket_all
        row "  verdicts ok/denied/other vs truth" c_verdicts
        row "  reports of ours / all sockfixd found" c_reports
        row "  reply body" c_reply
        row "DiagnoseAll fields=$VERDICT_FIELDS" c_verdicts_only
        row "  of it, until the reply arrived" c_verdicts_only_call
        row "  verdicts, only the asked keys, vs truth" c_verdicts_only_check
        row "  reply body" c_verdicts_only_reply
        row "DiagnoseAll fields=$BRIEF_FIELDS" c_brief
        row "  of it, until the reply arrived" c_brief_call
        row "  verdicts, only the asked keys, vs truth" c_brief_verdicts
        row "  reply body" c_brief_reply
        row "floor: /proc/net/unix + access() as nginx" c_floor
        row "  sockets checked (whole host)" c_floor_n
        row "DiagnoseAll / floor" c_all_floor
        row "DiagnoseAll fields=$VERDICT_FIELDS / floor" c_verdicts_only_floor
        row "DiagnoseAll fields=$BRIEF_FIELDS / floor" c_brief_floor
        row "shell: namei -l + runuser test -w" c_shell
        row "  how" c_shell_how
        row "  per socket" c_shell_per
        row "  answers differing from the truth (last)" c_shell_bad
        row "shell / DiagnoseAll" c_shell_all
        row "Peer.Ping to sockfixd, root" c_ping_root
        row "Diagnose denied, root (xPing)" c_dd_root
        row "Diagnose pm=static ok, root (xPing)" c_ds_root
        row "Peer.Ping, user $BENCH_USER" c_ping_user
        row "polkit CheckAuthorization (xPing root)" c_checkauth
        row "Diagnose denied, $BENCH_USER (xPing root)" c_dd_user
        row "Diagnose pm=static ok, $BENCH_USER (xPing)" c_ds_user
        row "  denied: $BENCH_USER minus CheckAuthorization" c_dd_extra
        row "CPU/call: sockfixd, root Diagnose denied" c_cpu_root
        row "CPU/call: sockfixd/polkitd, $BENCH_USER Diagnose" c_cpu_user
        row "CPU/call: polkitd, one CheckAuthorization" c_cpu_check
        row "min ms: Ping/Diagnose denied/static, root" c_min_root
        row "min ms: CheckAuth/denied/static, $BENCH_USER" c_min_user
        row "sockfixd KiB RSS idle/after/peak(HWM)" c_rss
        row "  RSS idle with the host model (1 Diagnose)" c_rss_model
        row "first Diagnose (builds the host model)" c_model_build
        row "  RSS/HWM right after the DiagnoseAll runs" c_rss_all
        row "ready: exec to owning the name" c_ready
        row "  RSS when ready" c_ready_rss
        row "php-fpm children before->sweeps->end" c_children
        row "HTTP status broken/static pool (502/200)" c_http
        row "lookups, N site users: one by one (before)" c_lookup_one
        row "  a sweep's caches (one pass when many)" c_lookup_sweep
        row "Fix pool-acl (php-fpm -t before+after)" c_fix
        row "  Ping meanwhile: median/max ms x count" c_fix_ping
        row "its Revert" c_revert
        row "  Ping meanwhile: median/max ms x count" c_revert_ping
        echo
        echo "targets (issue 4):"
        local base=1000
        has 1000 || base=${BENCH_NS[-1]}
        if [[ -n ${R[$base.all_median_us]:-} ]]; then
                target "DiagnoseAll($base) <= 5x floor (full reports)" "${R[$base.all_median_us]} <= 5 * ${R[$base.floor_median_us]}" "$(c_all_floor "$base")"
                target "DiagnoseAll($base) fields=$VERDICT_FIELDS <= 5x floor" "${R[$base.verdicts_median_us]} <= 5 * ${R[$base.floor_median_us]}" "$(c_verdicts_only_floor "$base")"
                target "DiagnoseAll($base) fields=$BRIEF_FIELDS <= 5x floor" "${R[$base.brief_median_us]} <= 5 * ${R[$base.floor_median_us]}" "$(c_brief_floor "$base")"
                target "DiagnoseAll($base) >= 100x faster than the shell way" "${R[$base.shell_ms]} * 1000 >= 100 * ${R[$base.all_median_us]}" "$(c_shell_all "$base")"
        fi
        if has 1000 && has 5000; then
                target "DiagnoseAll(5000) <= 6x DiagnoseAll(1000)" "${R[5000.all_median_us]} <= 6 * ${R[1000.all_median_us]}" \
                        "$(calc "${R[5000.all_median_us]} / ${R[1000.all_median_us]}")x"
        fi
        for n in "${BENCH_NS[@]}"; do
                target "N=$n Diagnose denied, root <= 6x Ping" "${R[$n.diag_denied_root]} <= 6 * ${R[$n.ping_root]}" \
                        "$(calc "${R[$n.diag_denied_root]} / ${R[$n.ping_root]}")x"
                target "N=$n Diagnose pm=static ok, root <= 10x Ping" "${R[$n.diag_static_root]} <= 10 * ${R[$n.ping_root]}" \
                        "$(calc "${R[$n.diag_static_root]} / ${R[$n.ping_root]}")x"
                target "N=$n Diagnose denied, $BENCH_USER <= CheckAuth + root Diagnose" \
                        "${R[$n.diag_denied_user]} <= ${R[$n.checkauth_median_us]} + ${R[$n.diag_denied_root]}" \
                        "$(v "$n.diag_denied_user") vs $(calc "${R[$n.checkauth_median_us]} + ${R[$n.diag_denied_root]}") us"
                target "N=$n Diagnose static, $BENCH_USER <= CheckAuth + root Diagnose" \
                        "${R[$n.diag_static_user]} <= ${R[$n.checkauth_static_us]} + ${R[$n.diag_static_root]}" \
                        "$(v "$n.diag_static_user") vs $(calc "${R[$n.checkauth_static_us]} + ${R[$n.diag_static_root]}") us"
                target "N=$n ready on the bus <= 50 ms" "${R[$n.ready_median_us]} <= 50000" "$(c_ready "$n")"
        done
        if has 1000; then
                target "peak RSS (VmHWM) <= 8 MiB after DiagnoseAll(1000)" "${R[1000.hwm_after_all]} <= 8192" "$(v 1000.hwm_after_all) KiB"
        fi
        if has 5000; then
                target "N=5000 peak - idle RSS <= 2x reply size" \
                        "(${R[5000.hwm_after_all]} - ${R[5000.rss_idle]}) * 1024 <= 2 * ${R[5000.all_reply_body_bytes]}" \
                        "$((R[5000.hwm_after_all] - R[5000.rss_idle])) KiB vs 2x $(c_reply 5000)"
                target "N=5000 peak - idle RSS with the host model <= 2x reply size" \
                        "(${R[5000.hwm_after_all]} - ${R[5000.rss_model]}) * 1024 <= 2 * ${R[5000.all_reply_body_bytes]}" \
                        "$((R[5000.hwm_after_all] - R[5000.rss_model])) KiB vs 2x $(c_reply 5000)"
        fi
        echo
        echo "correctness (failures make the exit status non-zero):"
        for n in "${BENCH_NS[@]}"; do
                printf '  N=%-6s verdicts: %-22s with fields: %-22s %-22s floor agrees: %-4s lookups right: %-4s fix+revert right: %-4s php-fpm children unchanged: %s\n' "$n" \
                        "$(c_verdicts "$n")" "$(c_verdicts_only_check "$n")" "$(c_brief_verdicts "$n")" \
                        "$( ((${R[$n.floor_wrong]:-1} + ${R[$n.floor_missing]:-1} == 0)) && echo yes || echo NO)" \
                        "$( ((${R[$n.lookup_wrong]:-1} == 0)) && echo yes || echo NO)" \
                        "$( ((${R[$n.serving_wrong]:-1} == 0)) && echo yes || echo NO)" \
                        "$([[ ${R[$n.children_before]:-x} == "${R[$n.children_after_sweep]:-y}" && ${R[$n.children_before]:-x} == "${R[$n.children_after]:-y}" ]] && echo yes || echo NO)"
        done
}

# ---------------------------------------------------------------------------------------

h_init bench
bench_build
b_log "machine: $(machine)"
bench_setup_auth
for n in "${BENCH_NS[@]}"; do bench_n "$n"; done
if [[ -n ${BENCH_OUT:-} ]]; then
        print_table | tee "$BENCH_OUT"
else
        print_table
fi
if [[ $BENCH_FAILED -ne 0 ]]; then
        echo "FAILED: a wrong verdict or a side effect (see WRONG: above)"
        exit 3
fi
exit 0
