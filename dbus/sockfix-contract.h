/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The contract's rules for argument values (sockfixd(8)), one copy for both ends:
 * sockfixd answers a value they refuse with InvalidArgs, sockfixctl refuses it before
 * it connects (exit 5). Each returns NULL for a good value, else why not, written into
 * buf (truncated to size). */

#include <stdbool.h>
#include <stddef.h>

#define SOCKFIX_WHY_MAX 192

const char *sockfix_check_socket_path(const char *path, char *buf, size_t size);
const char *sockfix_check_strategy(const char *strategy, char *buf, size_t size);
/* The same rule as a yes or no, for the engine's own check (SOCKFIX_STRATEGIES). */
bool sockfix_strategy_is_known(const char *strategy);
/* Only the shape: whether the transaction exists is the service's to say. */
const char *sockfix_check_transaction_id(const char *id, char *buf, size_t size);
