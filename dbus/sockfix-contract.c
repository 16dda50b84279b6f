/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "sockfix-contract.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "sockfix-bus.h"

const char *sockfix_check_socket_path(const char *path, char *buf, size_t size) {
        if (!path || !*path)
                snprintf(buf, size, "Socket path is empty");
        else if (strlen(path) > PATH_MAX - 1)
                snprintf(buf, size, "Socket path %.64s... is %zu bytes long, longer than %d", path, strlen(path),
                         PATH_MAX - 1);
        else if (path[0] != '/')
                snprintf(buf, size, "Socket path %.64s%s is not absolute", path, strlen(path) > 64 ? "..." : "");
        else
                return NULL;
        return buf;
}

static const char *const known_strategies[] = { SOCKFIX_STRATEGIES };
#define N_KNOWN_STRATEGIES (sizeof(known_strategies) / sizeof(known_strategies[0]))

bool sockfix_strategy_is_known(const char *strategy) {
        for (size_t i = 0; i < N_KNOWN_STRATEGIES; i++)
                if (strategy && strcmp(strategy, known_strategies[i]) == 0)
                        return true;
        return false;
}

const char *sockfix_check_strategy(const char *strategy, char *buf, size_t size) {
        if (sockfix_strategy_is_known(strategy))
                return NULL;
        /* The list from SOCKFIX_STRATEGIES itself, so that it names every one there is. */
        int k = snprintf(buf, size, "Unknown strategy '%.64s' (", strategy ? strategy : "");
        for (size_t i = 0; i < N_KNOWN_STRATEGIES && k >= 0 && (size_t) k < size; i++)
                k += snprintf(buf + k, size - (size_t) k, "%s%s", i ? ", " : "", known_strategies[i]);
        if (k >= 0 && (size_t) k < size)
                snprintf(buf + k, size - (size_t) k, ")");
        return buf;
}

const char *sockfix_check_transaction_id(const char *id, char *buf, size_t size) {
        size_t len = id ? strlen(id) : 0;

        if (len == 32 && strspn(id, "0123456789abcdef") == len)
                return NULL;
        snprintf(buf, size, "Transaction id '%.64s' is not 32 lower-case hex digits", id ? id : "");
        return buf;
}
