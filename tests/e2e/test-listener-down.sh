#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# (h) php-fpm killed with SIGKILL (master and children, as a crash would): the socket
# file stays, nothing listens -> 502 with (111: Connection refused) at [error]; verdict
# refused, finding listener-down, which must never blame permissions.
. "$(dirname "${BASH_SOURCE[0]}")/../lib/harness.sh"
. "$H_LIB_DIR/stack.sh"
h_init e2e-listener-down

stack_ensure_web_user
stack_up --acl-users nginx,www-data
h_sockfix_up
h_is "$(h_http_status "$S_URL")" 200 "HTTP 200 while the pool runs"
stack_kill9_fpm
h_ok "the socket file remains after SIGKILL" test -S "$S_SOCK"
h_is "$(h_http_status "$S_URL")" 502 "HTTP 502 once the pool is gone"
h_file_like "$S_NGINX_ERRLOG" 'connect\(\) to unix:.* failed \(111: Connection refused\)' \
        "nginx logged (111: Connection refused)"

stack_snapshot before
stack_diagnose report "$S_SOCK"
r=$H_T/report.json
h_json_is "$r" 'r["verdict"]' refused "verdict refused"
stack_assert_finding "$r" listener-down error
h_json_is "$r" "sorted(set(x['code'] for x in r.get('findings', []) if x.get('severity') == 'error'))" \
        '["listener-down"]' "listener-down is the only error finding"
h_json_is "$r" "[c.get('errno') for c in r['consumers'] if c.get('user') == 'nginx']" "[111]" "nginx errno 111"
h_json_is "$r" "[c.get('stale_credentials', False) for c in r['consumers'] if c.get('user') == 'nginx']" "[false]" "nginx not stale"
h_json_is "$r" "[f for f in r['findings'] if f['code'] == 'listener-down'][0].get('remedies', [])" "[]" \
        "listener-down offers no permission remedy"
stack_snapshot after
h_assert_unchanged before after "the diagnosis changed nothing"
h_done
