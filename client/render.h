/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Human-readable rendering of the contract's records (as converted by
 * bus-json.h). Keys may be absent; rendering skips what is not there. */

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

typedef struct RenderContext {
        FILE *f;
        bool resolve_names; /* look gids up locally: not when talking to another host */
} RenderContext;

void render_status(const RenderContext *ctx, json_object *status);
void render_socket_list(const RenderContext *ctx, json_object *sockets);
void render_report(const RenderContext *ctx, json_object *report);
/* Plain words for a strategy name; NULL if unknown. */
const char *remedy_to_text(const char *strategy);
