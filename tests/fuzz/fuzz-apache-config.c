/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* apache_config_parse_string(): an Apache configuration a site owner may write. */

#include "fuzz-web-config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        fuzz_web_config(data, size, apache_config_parse_string, "apache2", FUZZ_CONF("apache/apache2.conf"));
        return 0;
}
