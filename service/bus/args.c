/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "sockfix-bus.h"
#include "sockfix-contract.h"

#include "args.h"
#include "util/util.h"

static const BusOption *find_option(const BusOption *table, size_t n, const char *key, size_t *ret_index) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(table[i].name, key) == 0) {
                        *ret_index = i;
                        return &table[i];
                }
        return NULL;
}

static int read_option_list(sd_bus_message *m, const BusOption *o, void *dest, sd_bus_error *error) {
        const char *item;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'v', "as");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "s");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read_basic(m, 's', &item)) > 0) {
                r = o->parse_item(item, dest, error);
                if (r < 0)
                        return r;
                n++;
        }
        if (r < 0)
                return r;
        if (n == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option '%s' is an empty list; leave it out instead", o->name);
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_option_value(sd_bus_message *m, const BusOption *o, void *options, sd_bus_error *error) {
        char contents[3] = { o->type, o->type == 'a' ? 's' : 0, 0 };
        int r;

        r = sd_bus_message_verify_type(m, 'v', contents);
        if (r < 0)
                return r;
        if (r == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option '%s' must be of type '%s'", o->name, contents);

        if (o->type == 's') {
                const char **s = (const char **) ((uint8_t *) options + o->offset);

                r = sd_bus_message_read(m, "v", "s", s);
                if (r < 0)
                        return r;
                if (isempty(*s))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Option '%s' is empty; leave it out instead", o->name);
                return 0;
        }

        if (o->type == 'a')
                return read_option_list(m, o, (uint8_t *) options + o->offset, error);

        if (o->type == 'b') {
                bool *b = (bool *) ((uint8_t *) options + o->offset);
                int v;

                r = sd_bus_message_read(m, "v", "b", &v);
                if (r < 0)
                        return r;
                *b = v;
                return 0;
        }

        return -EINVAL; /* a table entry of a type this reader does not know */
}

int bus_read_options(sd_bus_message *m, const BusOption *table, size_t n_table, void *options,
                     sd_bus_error *error) {
        uint64_t seen = 0;
        int r;

        if (n_table > 64)
                return -E2BIG;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;

        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const BusOption *o;
                const char *key;
                size_t i;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;

                o = find_option(table, n_table, key, &i);
                if (!o)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option '%s'", key);
                if (seen & (UINT64_C(1) << i))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option '%s' given twice", key);
                seen |= UINT64_C(1) << i;

                r = read_option_value(m, o, options, error);
                if (r < 0)
                        return r;

                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;

        return sd_bus_message_exit_container(m);
}

/* A refusal by the contract's rules (dbus/sockfix-contract.c) as InvalidArgs. */
static int invalid_args(const char *why, sd_bus_error *error) {
        return why ? sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, why) : 0;
}

int bus_check_socket_path(const char *path, sd_bus_error *error) {
        char buf[SOCKFIX_WHY_MAX];
        return invalid_args(sockfix_check_socket_path(path, buf, sizeof(buf)), error);
}

int bus_check_strategy(const char *strategy, sd_bus_error *error) {
        char buf[SOCKFIX_WHY_MAX];
        return invalid_args(sockfix_check_strategy(strategy, buf, sizeof(buf)), error);
}

int bus_parse_activation(const char *activation, bool *ret_none, sd_bus_error *error) {
        if (!activation || streq_ptr(activation, "auto")) {
                *ret_none = false;
                return 0;
        }
        if (streq_ptr(activation, "none")) {
                *ret_none = true;
                return 0;
        }
        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                 "Option 'activation' must be 'auto' or 'none', not '%s'", activation);
}

int bus_check_transaction_id(const char *id, sd_bus_error *error) {
        char buf[SOCKFIX_WHY_MAX];
        return invalid_args(sockfix_check_transaction_id(id, buf, sizeof(buf)), error);
}
