/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static const char *program = "sockfix";

void log_set_program(const char *name) {
        program = name;
}

int log_full_errno(int level, int error, const char *fmt, ...) {
        int saved = errno;
        va_list ap;

        if (level == LOG_DEBUG && !getenv("SOCKFIX_DEBUG"))
                goto finish;

        /* journald parses the prefix on a stream it owns ($JOURNAL_STREAM); a terminal
         * reader wants the program name instead. */
        if (getenv("JOURNAL_STREAM"))
                fprintf(stderr, "<%d>", level);
        else
                fprintf(stderr, "%s: ", program);

        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        if (error != 0)
                fprintf(stderr, ": %s", strerror(abs(error)));
        fputc('\n', stderr);

finish:
        errno = saved;
        return error == 0 ? 0 : -abs(error);
}
