#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fix pool-group on the seed case (socket www-data:www-data 0660, nginx's workers as a
# web user outside www-data, HTTP 502): Fix(pool-group) over busctl applies: listen.group
# becomes the web user's primary group, listen.owner kept, mode 0660; HTTP 200 at once,
# still 200 after php-fpm's full stop and start; Revert (python3-dbus) restores the pool
# file byte for byte, and after the next php-fpm start HTTP 502 again. The socket is never
# other-writable.
# Then a second consumer: another nginx instance whose user IS in www-data and reaches the
# same socket through the group today. pool-group would cut it off: StrategyUnavailable,
# and nothing changed.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-fix-pool-group

stack_use_web_user "sfx-pg-$$"
other=sfx-pg2-$$
H_SNAPSHOT_NAMES+=" $other"
stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
web_group=$(id -gn "$S_WEB_USER")
h_is "$(h_http_status "$S_URL")" 502 "the seed case: HTTP 502"
stack_assert_not_other_writable "before the fix"
cp -a "$S_POOL_CONF" "$H_T/pool.orig"
fpm_before=$S_FPM_PID

# busctl call ... Fix, the reply unwrapped to plain JSON.
busctl_fix() {
        local out=$1 sock=$2 strategy=$3
        busctl --system --json=short call "$H_BUS_NAME" "$H_OBJECT" "$H_IFACE" Fix 'ssa{sv}' \
                "$sock" "$strategy" 0 > "$out.raw" 2> "$out.err"
        local rc=$?
        if [[ $rc -eq 0 ]]; then
                "$H_PY" "$H_LIB_DIR/sfjson.py" unwrap < "$out.raw" > "$out"
        else
                echo "{\"error\": \"busctl failed\", \"message\": $("$H_PY" -c 'import json,sys; print(json.dumps(sys.stdin.read()))' < "$out.err")}" > "$out"
        fi
        return $rc
}

busctl_fix "$H_T/fix.json" "$S_SOCK" pool-group
h_is "$?" 0 "busctl Fix(pool-group) answers"
h_is "$(h_answer_of "$H_T/fix.json")" applied "Fix(pool-group): outcome applied"
h_json_is "$H_T/fix.json" 'r.get("verified")' true "Fix(pool-group): verified true"
h_json_is "$H_T/fix.json" 'r.get("strategy")' pool-group "Fix(pool-group): strategy pool-group"
tx=$(h_json "$H_T/fix.json" 'r.get("transaction", "")')
h_like "$tx" '^[0-9a-f]{32}$' "Fix(pool-group): a transaction id"
h_is "$(h_http_status "$S_URL")" 200 "right after the fix: HTTP 200 (no restart)"
h_is "$S_FPM_PID" "$fpm_before" "same php-fpm master"
h_is "$(stat -c '%U:%G %a' "$S_SOCK")" "www-data:$web_group 660" "the live socket: owner kept, group $web_group, 0660"
stack_assert_not_other_writable "after the fix"

pool_get() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$S_POOL_CONF" | tail -n 1 | tr -d ' '; }
h_is "$(pool_get 'listen\.group')" "$web_group" "pool file: listen.group is the web user's primary group"
h_is "$(pool_get 'listen\.owner')" www-data "pool file: listen.owner kept"
h_is "$(pool_get 'listen\.mode')" 0660 "pool file: listen.mode 0660"
h_is "$(grep -c 'listen\.acl' "$S_POOL_CONF")" 0 "pool file: no listen.acl_* added"

stack_cycle_fpm
h_is "$(h_http_status "$S_URL")" 200 "after php-fpm's stop and start: still HTTP 200"
h_is "$(stat -c '%U:%G %a' "$S_SOCK")" "www-data:$web_group 660" "the re-created socket: www-data:$web_group 0660"
stack_assert_not_other_writable "after php-fpm's restart"

h_revert "$H_T/revert.json" "$tx"
h_is "$(h_answer_of "$H_T/revert.json")" reverted "Revert: outcome reverted"
h_ok "the pool file is byte-identical to the copy taken before the fix" cmp "$S_POOL_CONF" "$H_T/pool.orig"
stack_assert_not_other_writable "after the revert"
stack_cycle_fpm
h_is "$(h_http_status "$S_URL")" 502 "after the revert and php-fpm's next start: HTTP 502 again"
h_is "$(stat -c '%U:%G %a' "$S_SOCK")" "www-data:www-data 660" "the socket is www-data:www-data 0660 again"

# --- a second consumer that connects today through the group
h_ensure_user "$other" www-data
stack_extra_nginx second "$other" "$S_SOCK"
h_is "$(h_http_status "$X_URL")" 200 "the second nginx (user in www-data) gets HTTP 200 through the group"
h_is "$(h_http_status "$S_URL")" 502 "the first nginx still gets 502"
stack_snapshot before-refusal
fpm_pid=$S_FPM_PID
h_fix "$H_T/cutoff.json" "$S_SOCK" pool-group
h_is "$(h_answer_of "$H_T/cutoff.json")" org.sockfix.SockFix1.Error.StrategyUnavailable \
        "Fix(pool-group) that would cut off the second consumer: StrategyUnavailable"
h_like "$(h_json "$H_T/cutoff.json" 'r.get("message", "")')" "$S_SOCK" "the error message names the socket"
stack_snapshot after-refusal
h_assert_unchanged before-refusal after-refusal "the refused pool-group changed nothing (socket, pool file, users)"
h_ok "the pool file is still the original" cmp "$S_POOL_CONF" "$H_T/pool.orig"
h_is "$(h_http_status "$X_URL")" 200 "the second consumer still gets HTTP 200"
h_is "$S_FPM_PID" "$fpm_pid" "php-fpm untouched"
stack_assert_not_other_writable "after the refusal"
h_ok "sockfixd still owns its name" h_has_name "$H_BUS_NAME"
h_done
