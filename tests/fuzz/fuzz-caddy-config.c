/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* caddy_config_parse_string(): a Caddyfile a site owner may write. */

#include "fuzz-web-config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_web_config(data, size, caddy_config_parse_string, "caddy", FUZZ_CONF("caddy/Caddyfile"));
        return 0;
}
