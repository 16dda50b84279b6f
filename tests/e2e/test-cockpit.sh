#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Cockpit page (cockpit/) in a real browser: cockpit-ws with a local cockpit-bridge
# session as a user that a polkit rule grants diagnose and fix (as a hosting panel's
# account would be), headless Chromium driven over the DevTools protocol. The seed case
# (nginx's workers denied, HTTP 502): the page lists the socket as denied with the
# finding that says why; its Details button shows the full diagnosis (listener, the
# workers' credentials and connect results, findings with remedies); its Preview button
# shows what a fix would change (a dry run:
# nothing changes); its Fix button fixes it (pool-acl, through the bus, authorized
# by polkit for that user); the page then shows ok, and nginx answers 200. Its list of
# fixes shows that one, applied; its Revert button reverts it (the pool file as before,
# the socket denied again, HTTP 502).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-cockpit

ws_bin=/usr/lib/cockpit/cockpit-ws
[[ -x $ws_bin && -x /usr/bin/cockpit-bridge ]] || { echo "1..0 # SKIP cockpit-ws/cockpit-bridge not installed"; exit 77; }
command -v chromium > /dev/null || { echo "1..0 # SKIP chromium not installed"; exit 77; }

stack_use_web_user "sfx-ckw-$$"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"

# The panel's account: no root, granted diagnose, fix and revert by a rule, as an
# administrator would grant a panel.
user=sfx-ck-$$
h_ensure_user "$user"
cat > "$H_T/rules.js" << EOF
polkit.addRule(function (action, subject) {
        if (subject.user == "$user" &&
            (action.id == "org.sockfix.SockFix1.diagnose" || action.id == "org.sockfix.SockFix1.fix" ||
             action.id == "org.sockfix.SockFix1.revert"))
                return polkit.Result.YES;
});
EOF
h_install_rules "$H_T/rules.js"

# The package where cockpit-bridge looks for the user's own ($XDG_DATA_HOME/cockpit).
pkg=$H_T/xdg/cockpit/sockfix
mkdir -p "$pkg" "$H_T/ck-run"
cp "$SOCKFIX_SOURCE_DIR"/cockpit/{manifest.json,index.html,sockfix.js,sockfix.css} "$pkg/"
chown -R "$user" "$H_T/xdg" "$H_T/ck-run"
chmod o+x "$H_T"

port=$(h_free_port)
h_spawn cockpit-ws "$H_T/cockpit-ws.log" runuser -u "$user" -- env -i PATH=/usr/bin:/bin \
        DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" XDG_DATA_HOME="$H_T/xdg" XDG_RUNTIME_DIR="$H_T/ck-run" \
        "$ws_bin" --no-tls --address 127.0.0.1 --port "$port" --local-session=cockpit-bridge
h_wait_for 100 h_port_listening "$port"
h_ok "cockpit-ws listens on 127.0.0.1:$port, as $user" h_port_listening "$port"

url=http://127.0.0.1:$port/cockpit/@localhost/sockfix/index.html
h_is "$(curl -s -o /dev/null -w '%{http_code}' "$url")" 200 "cockpit-ws serves the package's page"

cdp_port=$(h_free_port)
h_spawn chromium "$H_T/chromium.log" chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --disable-dev-shm-usage \
        --user-data-dir="$H_T/chromium" --remote-debugging-port="$cdp_port" "$url"
cdp() { "$H_PY" "$H_LIB_DIR/cdp.py" "$cdp_port" "$@"; }
# cdp_text EXPR: a string the page's expression gives, decoded from its JSON.
cdp_text() { cdp eval "$1" | "$H_PY" -c 'import json, sys; print(json.load(sys.stdin))'; }

row="document.querySelector('#sockets tr[data-socket=\"$S_SOCK\"]')"
status=$(cdp wait "document.querySelector('#status').dataset.state != 'loading' && document.querySelector('#status').textContent" 30)
h_like "$status" '^[0-9]+ sockets?, [1-9][0-9]* denied$' "the page lists the host's sockets ($status)"
h_is "$(cdp eval "$row && $row.dataset.verdict" | tr -d '"')" denied "  the pool's socket: denied"
why=$(cdp eval "$row && $row.querySelector('td.why').textContent")
h_like "$why" 'socket-group-mismatch' "  with the finding that says why ($why)"
cdp screenshot "$H_T/before.png" > /dev/null 2>&1

# Details: the full Diagnose of that socket, as a panel would show it.
cdp eval "$row.querySelector('button.details').click(), true" > /dev/null
cdp wait "['done', 'error'].includes(document.querySelector('#details').dataset.state) && 1" 30 > /dev/null
details=$(cdp_text "document.querySelector('#details').innerText")
h_like "$details" "Listener"$'\n'"+php-fpm8.2 pid $S_FPM_PID, pool sockfix-test" "its Details button: the listener, php-fpm's pid and pool"
h_like "$details" "nginx: user $S_WEB_USER \\(uid $(id -u "$S_WEB_USER"), groups [0-9 ]+\\), 1 worker\\(s\\): cannot connect \\(errno 13\\); real connect: errno 13" \
        "  nginx's workers as a consumer: cannot connect, EACCES, the real connect too"
h_like "$details" "error socket-group-mismatch: .*; remedies: pool-acl, pool-group, member" \
        "  the finding with the strategies that mend it"
cdp screenshot "$H_T/details.png" > /dev/null 2>&1

# Preview: the same Fix as a dry run. It shows what would change, and changes nothing.
result_text="['done', 'error'].includes(document.querySelector('#result').dataset.state) ? document.querySelector('#result').textContent : ''"
changes="Array.from(document.querySelectorAll('#changes li')).map(li => li.textContent).join('\\n')"
cdp eval "$row.querySelector('button.preview').click(), true" > /dev/null
result=$(cdp wait "$result_text" 60)
h_like "$result" "^$S_SOCK: planned \\(pool-acl\\)" "its Preview button: planned, pool-acl ($result)"
h_like "$(cdp_text "$changes")" "pool-config [^ ]*php-fpm.conf \\[sockfix-test\\] listen.acl_users: \\(unset\\) → www-data,$S_WEB_USER" \
        "  listing the pool file's listen.acl_users as it would become"
h_like "$(cdp_text "$changes")" "socket-acl $S_SOCK: .* \\+u:$S_WEB_USER:rw-" "  and the socket's ACL entry for the web user"
h_ok "  the pool file is unchanged" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_is "$(h_http_status "$S_URL")" 502 "  nginx still answers 502"
h_is "$(h_ctl --json history | "$H_PY" -c 'import json, sys; print(len(json.load(sys.stdin)))')" 0 "  and nothing was journaled"

cdp eval "document.querySelector('#result').dataset.state = ''; $row.querySelector('button.fix').click(), true" > /dev/null
result=$(cdp wait "$result_text" 60)
h_like "$result" "^$S_SOCK: applied \\(pool-acl\\)" "its Fix button: applied, pool-acl ($result)"
h_like "$(cdp_text "$changes")" "socket-acl $S_SOCK: .* \\+u:$S_WEB_USER:rw-" "  the page lists the changes made"
h_is "$(cdp wait "(d => d.dataset.state == 'done' && d.innerText.includes('can connect; real connect: errno 0') && 'fresh')(document.querySelector('#details'))" 30 | tr -d '"')" \
        fresh "  and the details shown, diagnosed again: nginx's workers can connect"
h_is "$(cdp wait "(r => r && r.dataset.verdict == 'ok' && 'ok')($row)" 30 | tr -d '"')" ok "  and the page shows the socket ok"
cdp screenshot "$H_T/after.png" > /dev/null 2>&1
h_is "$(h_http_status "$S_URL")" 200 "nginx answers 200"
h_like "$(getfacl -p "$S_SOCK" 2> /dev/null)" "user:$S_WEB_USER:rw" "the socket's ACL names the web user"
h_is "$(h_ctl --json history | "$H_PY" -c 'import json, sys; print([t["uid"] for t in json.load(sys.stdin)])')" \
        "[$(id -u "$user")]" "the journal records the fix as the panel account's"
tx=$(h_ctl --json history | "$H_PY" -c 'import json, sys; print(json.load(sys.stdin)[0]["transaction"])')

# Its list of fixes, and Revert.
hrow="document.querySelector('#history tr[data-transaction=\"$tx\"]')"
h_is "$(cdp wait "(r => r && r.dataset.outcome)($hrow)" 30 | tr -d '"')" applied "the page's list of fixes shows it, applied"
h_is "$(cdp eval "$hrow.querySelector('td.strategy').textContent" | tr -d '"')" pool-acl "  with its strategy"
cdp eval "document.querySelector('#result').dataset.state = ''; $hrow.querySelector('button.revert').click(), true" > /dev/null
result=$(cdp wait "['done', 'error'].includes(document.querySelector('#result').dataset.state) ? document.querySelector('#result').textContent : ''" 60)
h_like "$result" "^$S_SOCK: reverted: " "its Revert button: reverted ($result)"
h_is "$(cdp wait "(r => r && r.dataset.outcome == 'reverted' && 'reverted')($hrow)" 30 | tr -d '"')" reverted \
        "  and the list shows it reverted"
h_is "$(cdp eval "$hrow.querySelector('button.revert') == null")" true "  with no Revert button left"
h_ok "the pool file is as it was before the fix" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_is "$(cdp wait "(r => r && r.dataset.verdict == 'denied' && 'denied')($row)" 30 | tr -d '"')" denied \
        "the page shows the socket denied again (its live ACL was taken back too)"
h_is "$(h_http_status "$S_URL")" 502 "and nginx answers 502 again"
cdp screenshot "$H_T/reverted.png" > /dev/null 2>&1
# cockpit-bridge starts a session bus and an ssh-agent for the account, which outlive it
# (re-parented to this test): stopped at exit with the rest, not as strays.
session=$(pgrep -u "$user" | tr '\n' ' ')
h_log "the Cockpit session's processes, stopped at exit: $(for p in $session; do printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2> /dev/null)"; done)"
# shellcheck disable=SC2206 # pids: split on purpose
H_PIDS+=($session)
h_done
