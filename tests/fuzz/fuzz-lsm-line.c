/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lsm_parse_line(): audit and kernel log lines, whose names and comm any local user sets. */

#include "engine/lsm.h"
#include "fuzz.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *line = fuzz_text(data, size);
        LsmDenial d;

        if (!line)
                return 0;
        int r = lsm_parse_line(line, &d);
        FUZZ_CHECK(r == 0 || r == 1 || r == -ENOMEM);
        if (r <= 0) {
                /* Nothing is handed back for a line that is not a denial. */
                FUZZ_CHECK(!d.path && !d.comm && !d.scontext && !d.tcontext && !d.tclass && !d.perm && !d.profile);
                return 0;
        }

        FUZZ_CHECK(d.kind == LSM_SELINUX || d.kind == LSM_APPARMOR);
        FUZZ_CHECK(d.pid >= 0);
        if (d.kind == LSM_SELINUX) {
                /* Only the two denials that block a connect to a unix socket are recognised. */
                FUZZ_CHECK((streq_ptr(d.tclass, "unix_stream_socket") && streq_ptr(d.perm, "connectto")) ||
                           (streq_ptr(d.tclass, "sock_file") && streq_ptr(d.perm, "write")));
                FUZZ_CHECK(!d.profile);
        } else
                FUZZ_CHECK(!d.permissive && !d.scontext && !d.tcontext);

        /* Matching a denial against sockets must cope with whatever path was logged. */
        (void) lsm_denial_matches(&d, "/run/php/php8.2-fpm.sock", "/run/php/php8.2-fpm.sock");
        (void) lsm_denial_matches(&d, "/", NULL);
        if (d.path)
                FUZZ_CHECK(lsm_denial_matches(&d, d.path, NULL));
        lsm_denial_done(&d);
        FUZZ_CHECK(!d.path && !d.comm);
        return 0;
}
