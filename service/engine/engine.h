/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The engine's entry points, one per bus method. The engine never includes sd-bus
 * headers: it takes plain arguments and returns reports; the bus adapter checks
 * arguments, authorizes and marshals. */

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

typedef struct Engine Engine;

typedef struct EngineConfig {
        const char *proc_root;   /* "/proc" */
        const char *state_dir;   /* journal lives here */
        const char *runtime_dir;
        bool scan_distro_defaults; /* also read configs of stopped installations at distro paths */
} EngineConfig;

typedef struct DiagnoseOptions {
        const char *consumer; /* only that web-server user; NULL for all */
        bool evidence;        /* add error-log lines */
} DiagnoseOptions;

int engine_new(const EngineConfig *cfg, Engine **ret);
Engine *engine_free(Engine *e);

/* One socket, with the real connect probe. Fails only with -ENOMEM (every path gets a verdict). */
int engine_diagnose(Engine *e, const char *socket, const DiagnoseOptions *o, Report **ret);
/* Every known socket, without connecting to any. */
int engine_diagnose_all(Engine *e, const DiagnoseOptions *o, Report ***ret, size_t *n);

/* Strategy names usable for at least one pool on this host (the Strategies property). */
char **engine_strategies(Engine *e);
