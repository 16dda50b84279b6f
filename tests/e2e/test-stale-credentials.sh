#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (f) The textbook fix half done: `gpasswd -a nginx www-data`, nginx not reloaded. The
# group database lets nginx in, the running workers' Groups: lack www-data -> still 502;
# verdict denied, primary finding stale-credentials, consumer stale_credentials true.
# Then `kill -HUP` of the nginx master spawns workers with fresh groups -> 200, verdict ok.
# This test changes the group database by design; it restores it (and checks it did).
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-stale

stack_up --owner www-data --group www-data --mode 0660
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 before the group change"
stack_files_snapshot original

gpasswd -a nginx www-data > /dev/null || h_die "gpasswd -a nginx www-data"
h_at_exit "gpasswd -d nginx www-data >/dev/null 2>&1; true"
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 after gpasswd -a, before the reload"
w=$(stack_worker_pids | head -n 1)
h_like " $(stack_worker_field "$w" Groups) " '^ +[0-9 ]*$' "worker groups readable"
h_ok "the running worker lacks www-data (33) in /proc Groups:" \
        bash -c "! grep -Eq '^Groups:.*\\b33\\b' /proc/$w/status"

stack_snapshot before
stack_diagnose stale "$S_SOCK"
r=$H_T/stale.json
h_json_is "$r" 'r["verdict"]' denied "verdict denied while the workers are stale"
stack_assert_consumer "$r" true
stack_assert_errno "$r" 13
stack_assert_primary "$r" stale-credentials
h_json_ok "$r" '"refresh" in [x for x in r["findings"] if x["code"] == "stale-credentials"][0]["remedies"]' \
        "stale-credentials offers refresh"
stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing"

stack_reload_nginx
h_is "$(h_http_status "$S_URL")" 200 "HTTP 200 after kill -HUP of the nginx master"
h_is "$(cat "$H_T/http.body")" ok "index.php answered ok"
stack_diagnose fresh "$S_SOCK"
r=$H_T/fresh.json
h_json_is "$r" 'r["verdict"]' ok "verdict ok after the reload"
stack_assert_consumer "$r" false
stack_assert_errno "$r" 0

gpasswd -d nginx www-data > /dev/null
stack_files_snapshot restored
h_assert_unchanged original restored "the group database is restored"
h_done
