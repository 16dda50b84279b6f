/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bus-json.h"

static void json_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(json_putp)))

static int read_basic(sd_bus_message *m, char type, json_object **ret) {
        union {
                uint8_t y;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                int b;
                const char *s;
        } v;
        json_object *o;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;

        switch (type) {
        case 'y': o = json_object_new_int64(v.y); break;
        case 'n': o = json_object_new_int64(v.n); break;
        case 'q': o = json_object_new_int64(v.q); break;
        case 'i': o = json_object_new_int64(v.i); break;
        case 'u': o = json_object_new_int64(v.u); break;
        case 'x': o = json_object_new_int64(v.x); break;
        case 't': o = json_object_new_uint64(v.t); break;
        case 'd': o = json_object_new_double(v.d); break;
        case 'b': o = json_object_new_boolean(v.b); break;
        case 's':
        case 'o':
        case 'g': o = json_object_new_string(v.s); break;
        default: return -EOPNOTSUPP; /* unix fds are not part of the contract */
        }
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

static int read_dict(sd_bus_message *m, const char *contents, json_object **ret) {
        _cleanup_json_ json_object *obj = json_object_new_object();
        char entry[256];
        int r;

        if (!obj)
                return -ENOMEM;
        /* contents is "{kv}"; the entry container wants "kv". */
        if (strlen(contents) < 3 || strlen(contents) - 2 >= sizeof(entry))
                return -EBADMSG;
        memcpy(entry, contents + 1, strlen(contents) - 2);
        entry[strlen(contents) - 2] = 0;

        while ((r = sd_bus_message_enter_container(m, 'e', entry)) > 0) {
                _cleanup_json_ json_object *key = NULL, *value = NULL;

                r = bus_message_read_json(m, &key);
                if (r < 0)
                        return r;
                r = bus_message_read_json(m, &value);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;

                if (json_object_object_add(obj, json_object_get_string(key), value) < 0)
                        return -ENOMEM;
                value = NULL;
        }
        if (r < 0)
                return r;

        *ret = obj;
        obj = NULL;
        return 0;
}

static int read_list(sd_bus_message *m, json_object **ret) {
        _cleanup_json_ json_object *arr = json_object_new_array();
        int r;

        if (!arr)
                return -ENOMEM;
        while ((r = sd_bus_message_at_end(m, false)) == 0) {
                _cleanup_json_ json_object *item = NULL;

                r = bus_message_read_json(m, &item);
                if (r < 0)
                        return r;
                if (json_object_array_add(arr, item) < 0)
                        return -ENOMEM;
                item = NULL;
        }
        if (r < 0)
                return r;

        *ret = arr;
        arr = NULL;
        return 0;
}

int bus_message_read_json(sd_bus_message *m, json_object **ret) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENXIO;

        if (!strchr("arve", type))
                return read_basic(m, type, ret);

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        if (type == 'v')
                r = bus_message_read_json(m, ret);
        else if (type == 'a' && contents[0] == '{')
                r = read_dict(m, contents, ret);
        else
                r = read_list(m, ret);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}
