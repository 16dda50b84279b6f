/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lighttpd_config_parse_string(): a lighttpd configuration a site owner may write. */

#include "fuzz-web-config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_web_config(data, size, lighttpd_config_parse_string, "lighttpd", FUZZ_CONF("lighttpd/lighttpd.conf"));
        return 0;
}
