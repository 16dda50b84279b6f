/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* D-Bus values -> json-c, generically: a{sv} becomes an object, other arrays and
 * structs arrays, variants their content, integers numbers. The client so prints
 * every key the service sends, including keys added after it was built. */

#include <json-c/json.h>
#include <systemd/sd-bus.h>

/* Reads one complete value at the message's read position. */
int bus_message_read_json(sd_bus_message *m, json_object **ret);
