#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A socket path on a file system that does not answer: real FUSE mounts whose daemons
# never reply, as a hung NFS server or a stuck FUSE daemon leaves every lookup there.
#   root's Diagnose of a path on one answers within a few seconds with
#     org.freedesktop.DBus.Error.TimedOut, saying why, through python3-dbus, busctl and
#     sockfixctl (exit 7); Fix fails the same way; a call made while sockfixd waits for
#     that lookup is answered once it gives up;
#   while that lookup still waits, the mount is not waited for again: later calls that
#     reach it fail at once, and start no thread;
#   paths that do not reach such a mount are answered at once, leaving nothing waiting;
#   DiagnoseAll and ListSockets answer for nginx's socket on a hung mount too (verdict
#     not-a-socket, finding path-lookup-failed: its file system does not answer), the
#     first within the bound and the next at once; the Strategies property at once;
#   a caller polkit refuses, naming the path nginx's config points at, costs no lookup
#     (none is made before a grant where it could hang) and holds nobody up;
#   a rename above the mount (which changes its path in the mount table, unannounced)
#     does not hide it;
#   once the file systems answer (here: their daemons die), the lookups given up on end;
#   a socket on a FUSE file system that answers is diagnosed without a connect probe;
#   an errno that file system answers (ENOMEM, EAGAIN) is the lookup's result
#     (path-lookup-failed), not sockfixd's own failure;
#   a file bind-mounted over a pool's socket from a FUSE file system that then stops
#     answering (the pool's directory itself is local) holds no sweep: DiagnoseAll
#     answers within the bound, that path not-a-socket, path-lookup-failed.
# Without the bound, the first Diagnose never returns and sockfixd answers nobody.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init hung-mount

[[ -c /dev/fuse ]] || { echo "1..0 # SKIP no /dev/fuse"; exit 77; }

# nginx's fastcgi_pass names a socket on the mount (nginx only connects on a request).
mnt=$H_T/outer/hung
sock=$mnt/php/www.sock
stack_up --owner www-data --group www-data --mode 0660 --nginx-sock "$sock"
h_sockfix_up

threads() { awk '/^Threads:/ { print $2 }' "/proc/$H_SOCKFIXD_PID/status"; }
# threads_are N: sockfixd's thread count is N within 2 s (a finished thread takes a
# moment to leave the count).
threads_are() { h_wait_for 20 eval '[[ $(threads) == '"$1"' ]]'; }
h_is "$(threads)" 1 "sockfixd runs one thread before"

# Two FUSE "daemons" that mount, then never read /dev/fuse, so the kernel's INIT and
# every request after it wait for an answer that does not come: one where nginx's
# config points (the sweeps walk it), one that no config names.
mnt2=$H_T/outer/hung2
sock2=$mnt2/php/www.sock
h_at_exit "for m in '$mnt' '$mnt2' '$H_T/moved/hung' '$H_T/moved/hung2'; do umount -l \$m 2> /dev/null; done; true"
hang() { # hang NAME MOUNTPOINT: FUSE_PID
        mkdir -p "$2"
        h_spawn "$1" "$H_T/$1.log" "$H_PY" "$H_LIB_DIR/fuse-socket.py" "$2" --hang
        FUSE_PID=$H_LAST_PID
        h_wait_for 50 grep -q mounted "$H_T/$1.log"
        if ! grep -qx mounted "$H_T/$1.log"; then
                sed 's/^/# /' "$H_T/$1.log"
                echo "1..0 # SKIP cannot mount FUSE here"
                exit 77
        fi
}
hang fuse-hang "$mnt"
FUSE_NGINX=$FUSE_PID
hang fuse-hang2 "$mnt2"
FUSE_OTHER=$FUSE_PID
h_ok "the FUSE mounts are in the mount table" \
        bash -c "grep -q ' $mnt .* - fuse.sockfix-hang ' /proc/self/mountinfo && grep -q ' $mnt2 .* - fuse.sockfix-hang ' /proc/self/mountinfo"

# root, python3-dbus; a call that arrives while sockfixd waits is answered once it gives up.
h_diagnose_pinged "$H_T/d1.json" "$sock2" "a lookup"
h_is "$H_RC" 1 "root: Diagnose of $sock2 fails (took $H_MS ms)"
h_ok "  within 6 s" test "$H_MS" -lt 6000
h_ok "  after waiting for the lookup (at least 1.5 s)" test "$H_MS" -ge 1500
h_json_is "$H_T/d1.json" 'r.get("error")' org.freedesktop.DBus.Error.TimedOut "  error TimedOut"
h_json_ok "$H_T/d1.json" "'does not answer' in r.get('message', '') and '$sock2' in r.get('message', '')" \
        "  the message names the path and says its file system does not answer"
threads_are 2
h_is "$(threads)" 2 "  one thread waits for that lookup"

# While that lookup waits, the mount is not waited for again.
ms=$(h_elapsed_ms h_diagnose "$H_T/d2.json" "$sock2")
h_json_is "$H_T/d2.json" 'r.get("error")' org.freedesktop.DBus.Error.TimedOut "the second Diagnose: TimedOut too"
h_ok "  at once ($ms ms, under 1 s): the mount still does not answer the first" test "$ms" -lt 1000
h_is "$(threads)" 2 "  and no second lookup waits"
ms=$(h_elapsed_ms h_diagnose "$H_T/other.json" "$S_SOCK")
h_is "$?" 0 "a Diagnose of the pool's own socket, elsewhere, answers (in $ms ms)"
h_ok "  at once (under 1 s)" test "$ms" -lt 1000
# (nginx points at the socket on the mount, so this one has no consumer)
h_json_is "$H_T/other.json" 'r["verdict"]' no-consumer "  with its verdict"
# (That it ran on the loop's own thread, the unit test test-slow-fs shows: a walk is
# handed off only at a slow mount point.)
h_is "$(threads)" 2 "  and leaves no lookup waiting"

# busctl and sockfixctl
busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{sv}' "$sock2" 0 > "$H_T/d3.busctl" 2>&1
h_isnt "$?" 0 "busctl call Diagnose fails"
h_file_like "$H_T/d3.busctl" 'does not answer' "  and shows why"
h_ctl diagnose "$sock2" > "$H_T/d4.out" 2> "$H_T/d4.err"
h_is "$?" 7 "sockfixctl diagnose: exit 7 (a failure other than the listed ones)"
h_file_like "$H_T/d4.err" 'does not answer' "  the message says the file system does not answer"

# Fix looks the path up first: the same bound, and nothing done.
h_fix "$H_T/fix.json" "$sock2" auto
h_is "$?" 1 "Fix(auto) of $sock2 fails"
h_json_is "$H_T/fix.json" 'r.get("error")' org.freedesktop.DBus.Error.TimedOut "  error TimedOut"
h_is "$(ls "$H_T/state/transactions" 2> /dev/null | wc -l)" 0 "  no transaction was recorded"

# The sweeps answer for every path the configs name, the one on a mount that does not
# answer included: its walk is bounded like a Diagnose's, and gets a verdict.
ms=$(h_elapsed_ms h_call "$H_T/all.json" DiagnoseAll '{}')
h_is "$?" 0 "DiagnoseAll answers, nginx's socket on the hung mount included (in $ms ms)"
h_ok "  within 6 s" test "$ms" -lt 6000
h_json_is "$H_T/all.json" "[(x['verdict'], [f['code'] for f in x['findings']]) for x in r if x['socket'] == '$sock']" \
        '[["not-a-socket", ["path-lookup-failed"]]]' "  $sock: not-a-socket, path-lookup-failed"
h_json_ok "$H_T/all.json" "[f['summary'] for x in r if x['socket'] == '$sock' for f in x['findings'] if 'does not answer' in f['summary']]" \
        "  whose summary says its file system does not answer"
h_json_is "$H_T/all.json" "[x['verdict'] for x in r if x['socket'] == '$S_SOCK']" '["no-consumer"]' \
        "  the pool's own socket: its verdict as before"
threads_are 3
h_is "$(threads)" 3 "  one more lookup waits (the nginx mount's)"
ms=$(h_elapsed_ms h_call "$H_T/all2.json" DiagnoseAll '{}')
h_is "$?" 0 "a second DiagnoseAll answers (in $ms ms)"
h_ok "  at once (under 1 s): the mount is not waited for again" test "$ms" -lt 1000
ms=$(h_elapsed_ms h_call "$H_T/list.json" ListSockets '{}')
h_json_is "$H_T/list.json" "[x['verdict'] for x in r if x['path'] == '$sock']" '["not-a-socket"]' \
        "ListSockets answers at once ($ms ms), $sock not-a-socket"
ms=$(h_elapsed_ms busctl --system get-property "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Strategies)
h_is "$?" 0 "the Strategies property is read (in $ms ms)"
h_ok "  at once (under 1 s)" test "$ms" -lt 1000
stuck=$(threads)
h_is "$stuck" 3 "two lookups wait, one per hung mount"

# A caller polkit refuses, naming the path nginx points at (before a grant sockfixd reads
# only such paths), makes sockfixd look nothing up where it could hang.
outsider=sfx-hung-$$
h_ensure_user "$outsider"
h_ok "nginx's config names $sock" grep -qF "unix:$sock" "$S_NGINX_CONF"
t0=$(date +%s%N)
runuser -u "$outsider" -- busctl --system call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Diagnose 'sa{sv}' "$sock" 0 \
        > "$H_T/out.busctl" 2>&1
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
h_isnt "$rc" 0 "an unauthorized user's Diagnose is refused ($(head -c 120 "$H_T/out.busctl"))"
h_ok "  at once ($ms ms, under 1 s)" test "$ms" -lt 1000
h_is "$(threads)" "$stuck" "  and started no lookup"
h_file_like "$H_T/sockfixd.log" "waits for polkit's answer" "  sockfixd left it for after the grant"

# A rename of a directory above the mount changes its mount point's path, and the kernel
# announces no change of the mount table: sockfixd still knows the mount (by its id), so
# the path is neither walked without bound nor waited for again.
mv "$H_T/outer" "$H_T/moved"
moved=$H_T/moved/hung2/php/www.sock
ms=$(h_elapsed_ms h_diagnose "$H_T/d5.json" "$moved")
h_is "$?" 1 "after a rename above the mount, Diagnose of $moved fails too (took $ms ms)"
h_ok "  within 6 s" test "$ms" -lt 6000
h_json_is "$H_T/d5.json" 'r.get("error")' org.freedesktop.DBus.Error.TimedOut "  error TimedOut"
h_is "$(threads)" "$stuck" "  and no more lookups wait"

# The file systems answer at last (their daemons die: the kernel fails the waiting
# requests): the threads given up on end, and the paths are looked up again.
h_stop "$FUSE_NGINX"
h_stop "$FUSE_OTHER"
threads_are 1
h_is "$(threads)" 1 "once the file systems answer, the waiting lookups end"
h_diagnose "$H_T/after.json" "$moved"
h_is "$?" 0 "a Diagnose of the path answers now, with a verdict ($(h_json "$H_T/after.json" 'r.get("verdict")'))"
h_ok "sockfixd is alive" h_alive "$H_SOCKFIXD_PID"

# A FUSE file system that does answer (tests/lib/fuse-socket.py: one socket inode),
# mounted where nginx's config points: the socket is diagnosed, but its connect probe,
# which would look the path up again with nothing to bound it, is not made.
umount -l "$H_T/moved/hung"
mkdir -p "$mnt"
h_spawn fuse-answer "$H_T/fuse2.log" "$H_PY" "$H_LIB_DIR/fuse-socket.py" "$mnt"
answering() { grep -q mounted "$H_T/fuse2.log"; }
h_wait_for 50 answering
h_ok "a FUSE file system that answers is mounted at $mnt" grep -qx mounted "$H_T/fuse2.log"
h_diagnose "$H_T/answer.json" "$sock"
h_is "$?" 0 "Diagnose of $sock on it answers"
h_json_is "$H_T/answer.json" 'r["verdict"]' refused "  verdict refused (a socket inode nothing listens on)"
h_json_ok "$H_T/answer.json" "any(c['user'] == 'nginx' for c in r['consumers'])" "  nginx's workers are its consumers"
h_json_ok "$H_T/answer.json" "all('probe_errno' not in c for c in r['consumers']) and 'fastcgi' not in r" \
        "  and no connect probe was made (no probe_errno, no fastcgi)"
h_is "$(threads)" 1 "  and no lookup waits"

# A file system may answer any errno. ENOMEM or EAGAIN from its daemon, for a lookup,
# the attributes after it or a link's target, is what a connect() there would meet too
# (path-lookup-failed), not sockfixd's own failure (NoMemory) nor a walk to wait for.
for case in "nomem.sock:Cannot allocate memory" "again.sock:Resource temporarily unavailable" \
        "getattr-nomem.sock:Cannot allocate memory" "nomem-link:Cannot allocate memory" \
        "acl-nomem.sock:Cannot allocate memory"; do
        name=${case%%:*} why=${case#*:}
        h_diagnose "$H_T/err-$name.json" "$mnt/php/$name"
        h_is "$?" 0 "Diagnose of $mnt/php/$name, whose file system answers '$why', answers ($(head -c 100 "$H_T/err-$name.json"))"
        h_json_is "$H_T/err-$name.json" "(r['verdict'], [f['code'] for f in r['findings']])" \
                '["not-a-socket", ["path-lookup-failed"]]' "  not-a-socket, path-lookup-failed"
        h_json_ok "$H_T/err-$name.json" "any('$why' in f['summary'] for f in r['findings'])" "  which says: $why"
done
# A sweep meets the same, and answers for every other path: nginx's config now names
# two of them (sockfixd reads it again; nginx itself need not reload).
sed -i "s|^        location ~ |        location = /nomem.php { fastcgi_pass unix:$mnt/php/nomem.sock; }\n        location = /acl.php { fastcgi_pass unix:$mnt/php/acl-nomem.sock; }\n        location ~ |" \
        "$S_NGINX_CONF"
h_ok "nginx's config names $mnt/php/nomem.sock and acl-nomem.sock" grep -q "acl-nomem.sock" "$S_NGINX_CONF"
h_call "$H_T/all-err.json" DiagnoseAll '{}'
h_is "$?" 0 "DiagnoseAll answers ($(head -c 100 "$H_T/all-err.json"))"
h_json_is "$H_T/all-err.json" "sorted([x['socket'].rsplit('/', 1)[1], x['verdict'], [f['code'] for f in x['findings']]] for x in r if 'nomem' in x['socket'])" \
        '[["acl-nomem.sock", "not-a-socket", ["path-lookup-failed"]], ["nomem.sock", "not-a-socket", ["path-lookup-failed"]]]' \
        "  both paths: not-a-socket, path-lookup-failed"
h_json_is "$H_T/all-err.json" "[x['verdict'] for x in r if x['socket'] == '$S_SOCK']" '["no-consumer"]' \
        "  the pool's own socket: its verdict as before"
h_is "$(threads)" 1 "  and no lookup waits"

# The pool's own socket, in a local directory, covered by a file bind-mounted from a FUSE
# file system that then stops answering: the sweeps' cached walk looks up only the last
# component of each path, and that lookup is what would wait.
mnt3=$H_T/fuse3
mkdir -p "$mnt3"
h_at_exit "umount -l '$S_SOCK' 2> /dev/null; umount -l '$mnt3' 2> /dev/null; true"
h_spawn fuse-stuck "$H_T/fuse3.log" "$H_PY" "$H_LIB_DIR/fuse-socket.py" "$mnt3" --hang-on-usr1
FUSE_STUCK=$H_LAST_PID
h_wait_for 50 grep -q mounted "$H_T/fuse3.log"
h_ok "a third FUSE file system answers at $mnt3" grep -qx mounted "$H_T/fuse3.log"
h_ok "its socket inode is bind-mounted over the pool's socket $S_SOCK" mount --bind "$mnt3/php/www.sock" "$S_SOCK"
kill -USR1 "$FUSE_STUCK"
{ timeout -s KILL 2 stat "$S_SOCK" > /dev/null 2>&1; } 2> /dev/null # (bash reports no "Killed")
h_is "$?" 137 "once told to, it answers nothing: a stat of $S_SOCK waits (killed after 2 s)"
ms=$(h_elapsed_ms h_call "$H_T/all3.json" DiagnoseAll '{}')
h_is "$?" 0 "DiagnoseAll answers (in $ms ms)"
h_ok "  within 6 s" test "$ms" -lt 6000
h_json_is "$H_T/all3.json" "[(x['verdict'], [f['code'] for f in x['findings']]) for x in r if x['socket'] == '$S_SOCK']" \
        '[["not-a-socket", ["path-lookup-failed"]]]' "  $S_SOCK: not-a-socket, path-lookup-failed"
h_json_ok "$H_T/all3.json" "[f for x in r if x['socket'] == '$S_SOCK' for f in x['findings'] if 'does not answer' in f['summary']]" \
        "  whose summary says its file system does not answer"
h_is "$(threads)" 2 "  one lookup waits, for that file"
ms=$(h_elapsed_ms h_diagnose "$H_T/d6.json" "$S_SOCK")
h_json_is "$H_T/d6.json" 'r.get("error")' org.freedesktop.DBus.Error.TimedOut \
        "root's Diagnose of $S_SOCK: TimedOut, at once ($ms ms): the full walk stops at that mount too"
h_ok "  (under 1 s)" test "$ms" -lt 1000
ms=$(h_elapsed_ms h_call "$H_T/list3.json" ListSockets '{}')
h_json_is "$H_T/list3.json" "[x['verdict'] for x in r if x['path'] == '$S_SOCK']" '["not-a-socket"]' \
        "ListSockets answers at once ($ms ms), $S_SOCK not-a-socket"
h_ok "  (under 1 s)" test "$ms" -lt 1000
h_stop "$FUSE_STUCK"
threads_are 1
h_is "$(threads)" 1 "once its daemon is gone, the lookup ends"
umount -l "$S_SOCK"
h_call "$H_T/all4.json" DiagnoseAll '{}'
h_json_is "$H_T/all4.json" "[x['verdict'] for x in r if x['socket'] == '$S_SOCK']" '["no-consumer"]' \
        "  and with the bind mount gone, $S_SOCK has its verdict as before"
h_ok "sockfixd is alive" h_alive "$H_SOCKFIXD_PID"

h_done
