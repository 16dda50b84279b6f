/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fuzz-web-config.h"

#include "fuzz.h"
#include "util/util.h"

void fuzz_check_web_config(const WebConfig *c, const char *server, const char *main_file) {
        FUZZ_CHECK(streq_ptr(c->server, server));
        FUZZ_CHECK(streq_ptr(c->main_file, main_file));
        FUZZ_CHECK(c->files && streq_ptr(c->files[0], main_file));
        for (char **f = c->files; *f; f++)
                for (char **g = c->files; g < f; g++)
                        FUZZ_CHECK(!streq_ptr(*f, *g));
        /* nginx sets user and group together (group defaults to the user). */
        FUZZ_CHECK(!streq_ptr(server, "nginx") || !c->user == !c->group);
        for (char **l = c->error_logs; l && *l; l++)
                FUZZ_CHECK((*l)[0] == '/');

        FUZZ_CHECK((c->n_refs == 0) == !c->refs);
        for (size_t i = 0; i < c->n_refs; i++) {
                const UnixRef *ref = &c->refs[i];
                /* Every reference is a socket path the engine may walk: absolute, always. */
                FUZZ_CHECK(ref->path && ref->path[0] == '/');
                FUZZ_CHECK(!isempty(ref->directive));
                FUZZ_CHECK(fuzz_is_entry_of(c->files, ref->file));
                FUZZ_CHECK(!ref->path_shared); /* only a host model shares paths */
                FUZZ_CHECK(ref->line > 0);
        }
        size_t n_errors = strv_length(c->errors);
        /* CONF_MAX_ERRORS messages, then one "too many errors". */
        FUZZ_CHECK(n_errors <= 1001);
        for (size_t i = 0; i < n_errors; i++)
                FUZZ_CHECK(c->errors[i][0]);
}

void fuzz_web_config(const uint8_t *data, size_t size, WebConfigParse parse, const char *server,
                     const char *main_file) {
        _cleanup_free_ char *text = fuzz_text(data, size);
        WebConfig c;

        if (!text)
                return;
        int r = parse(text, main_file, &c);
        /* Only memory exhaustion fails a parse; everything else is an entry in c.errors. */
        FUZZ_CHECK(r == 0 || r == -ENOMEM);
        if (r < 0)
                return;
        fuzz_check_web_config(&c, server, main_file);
        web_config_done(&c);
}
