/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nginx_config_parse_string(): an nginx configuration a site owner may write. */

#include "fuzz-web-config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_web_config(data, size, nginx_config_parse_string, "nginx", FUZZ_CONF("nginx/nginx.conf"));
        return 0;
}
