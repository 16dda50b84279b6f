/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fpm_config_parse_string(): php-fpm pool files a site owner may write. */

#include "fuzz.h"
#include "host/fpm-config.h"
#include "util/util.h"

static void check_pool(const FpmConfig *c, const FpmPool *p) {
        FUZZ_CHECK(!isempty(p->name));
        FUZZ_CHECK(!strchr(p->name, ']'));
        FUZZ_CHECK(fuzz_is_entry_of(c->files, p->file));
        FUZZ_CHECK(p->line > 0);
        FUZZ_CHECK(p->keys); /* the pool's block: also its name */
        for (size_t j = 0; j < p->n_keys; j++) {
                const FpmKey *k = &p->keys[j];
                FUZZ_CHECK(!isempty(fpm_key_name(k)));
                FUZZ_CHECK(fpm_key_value(p, k));
                FUZZ_CHECK(fuzz_is_entry_of(c->files, k->file));
                FUZZ_CHECK(k->line > 0);
                /* A repeated key keeps one entry. */
                FUZZ_CHECK(fpm_pool_key(p, fpm_key_name(k)) == k);
        }
        const char *unix_path = fpm_pool_unix_path(p);
        FUZZ_CHECK(!unix_path || (unix_path[0] == '/' && unix_path == fpm_pool_get(p, "listen")));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_text(data, size);
        FpmConfig c;

        if (!text)
                return 0;
        int r = fpm_config_parse_string(text, FUZZ_CONF("fpm/php-fpm.conf"), &c);
        /* Include loops and too many files or pools are refused as a whole. */
        FUZZ_CHECK(r == 0 || r == -ELOOP || r == -E2BIG || r == -ENOMEM);
        if (r < 0)
                return 0;

        FUZZ_CHECK(streq_ptr(c.main_file, FUZZ_CONF("fpm/php-fpm.conf")));
        FUZZ_CHECK(c.prefix && c.prefix[0] == '/');
        FUZZ_CHECK(c.files && streq_ptr(c.files[0], c.main_file));
        FUZZ_CHECK(!c.pid_file || c.pid_file[0] == '/');
        FUZZ_CHECK(!c.error_log || c.error_log[0] == '/');
        FUZZ_CHECK((c.n_pools == 0) == !c.pools);
        for (size_t i = 0; i < c.n_pools; i++) {
                check_pool(&c, &c.pools[i]);
                /* A repeated [name] continues the same pool. */
                for (size_t j = 0; j < i; j++)
                        FUZZ_CHECK(!streq_ptr(c.pools[i].name, c.pools[j].name));
        }
        for (char **e = c.errors; e && *e; e++)
                FUZZ_CHECK(**e);
        fpm_config_done(&c);
        return 0;
}
