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
        const char *arrow;  /* "→" on a UTF-8 terminal, else "->" */
} RenderContext;

void render_status(const RenderContext *ctx, json_object *status);
void render_socket_list(const RenderContext *ctx, json_object *sockets);
void render_report(const RenderContext *ctx, json_object *report);
/* Fix: the outcome, the strategy and why, each change and activation in words,
 * verification, the verdicts, and how to undo it. `socket` as asked. */
void render_fix_result(const RenderContext *ctx, const char *socket, json_object *result);
void render_revert_result(const RenderContext *ctx, json_object *result);
/* history: one table row per transaction. */
void render_transactions(const RenderContext *ctx, json_object *transactions);
/* Paths, program names and log lines in the records are bytes any local user chose:
 * printed raw, ESC sequences in them would clear an admin's screen or rewrite what it
 * shows. Every string in o gets each control character (C0, DEL, C1) as \xHH. */
void render_sanitize(json_object *o);
/* A copy of s with control characters as \xHH (NULL: out of memory). */
char *render_escape(const char *s);
/* Plain words for a strategy name; NULL if unknown. */
const char *remedy_to_text(const char *strategy);
