/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Linked into the targets instead of fuzz-main.c when libFuzzer drives them. */

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        if (geteuid() == 0)
                fprintf(stderr, "fuzz: dropping root to uid 65534: give -artifact_prefix= and the corpus "
                                "directory write access for it\n");
        fuzz_drop_root();
        return 0;
}
