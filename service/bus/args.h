/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Argument checks shared by the method handlers: every malformed argument is an
 * InvalidArgs error naming it, raised before authorization and before any work,
 * so a typo can never change what a call does. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

/* One key of an a{sv} options argument, stored at `offset` into the caller's
 * options struct: 's' -> const char * (borrowed from the message), 'b' -> bool,
 * 'a' -> an `as` whose strings are handed one by one to parse_item (nothing is
 * allocated, so a huge list costs the reader no memory). */
typedef struct BusOption {
        const char *name;
        char type;
        size_t offset;
        int (*parse_item)(const char *item, void *dest, sd_bus_error *error);
} BusOption;

/* Reads a{sv} at the message's read position. Unknown keys, a key given twice, a
 * variant of the wrong type, an empty string and an empty list are InvalidArgs. */
int bus_read_options(sd_bus_message *m, const BusOption *table, size_t n_table, void *options,
                     sd_bus_error *error);

/* An absolute path of at most PATH_MAX-1 bytes. */
int bus_check_socket_path(const char *path, sd_bus_error *error);

/* One of the contract's strategy names (SOCKFIX_STRATEGIES). */
int bus_check_strategy(const char *strategy, sd_bus_error *error);

/* Fix's activation option: NULL or "auto" -> false, "none" -> true. */
int bus_parse_activation(const char *activation, bool *ret_none, sd_bus_error *error);

/* A transaction id as Fix hands it out: 32 lower-case hex digits. */
int bus_check_transaction_id(const char *id, sd_bus_error *error);
