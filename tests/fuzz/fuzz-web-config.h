/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What holds for the WebConfig of every web server parser, whatever the input. */

#include <stddef.h>
#include <stdint.h>

#include "host/web-config.h"

/* Aborts (FUZZ_CHECK) unless c is a well-formed result of server's parser run on
 * main_file; frees nothing. */
void fuzz_check_web_config(const WebConfig *c, const char *server, const char *main_file);

/* Runs parse on the input as text under main_file, checks the result and frees it. */
typedef int (*WebConfigParse)(const char *text, const char *name, WebConfig *ret);
void fuzz_web_config(const uint8_t *data, size_t size, WebConfigParse parse, const char *server,
                     const char *main_file);
