/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Open-addressing hash maps for the lookups discovery does per socket (inode ->
 * listener, path -> pool, pid -> process), so a host with thousands of pools is
 * matched in linear time. Keys are not copied: string keys must outlive the map. */

#include <stdint.h>
#include <stddef.h>

typedef struct Hashmap Hashmap;

Hashmap *hashmap_new_u64(void);
Hashmap *hashmap_new_str(void);
/* Maps whose values carry their own key (a pool its socket path, a socket its inode):
 * a slot holds only the value, half the memory. Values are never NULL, and the key put
 * with a value is key_of(value). */
Hashmap *hashmap_new_u64_keyed(uint64_t (*key_of)(const void *value));
Hashmap *hashmap_new_str_keyed(const char *(*key_of)(const void *value));
Hashmap *hashmap_free(Hashmap *h);
static inline void hashmap_freep(Hashmap **h) {
        hashmap_free(*h);
}

/* Replaces an existing value. 0 or -ENOMEM. */
int hashmap_put_u64(Hashmap *h, uint64_t key, void *value);
void *hashmap_get_u64(const Hashmap *h, uint64_t key);
int hashmap_put_str(Hashmap *h, const char *key, void *value);
void *hashmap_get_str(const Hashmap *h, const char *key);
size_t hashmap_size(const Hashmap *h);
/* Removes the key; returns its value (NULL if absent). */
void *hashmap_remove_u64(Hashmap *h, uint64_t key);
void *hashmap_remove_str(Hashmap *h, const char *key);
