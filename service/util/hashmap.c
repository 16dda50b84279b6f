/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hashmap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Linear probing over a power-of-two table: a lookup is a mask and a short scan of
 * adjacent slots. Removal shifts the following entries back, so no tombstones are
 * needed either. Which slots are taken is a bitmap after the slots (one allocation):
 * a flag in each entry made it 24 bytes instead of 16, and the host model of a large
 * host keeps several tables of thousands of entries (keyed maps go down to 8). */

typedef struct Entry {
        union {
                uint64_t u64;
                const char *str;
        } key;
        void *value;
} Entry;

struct Hashmap {
        void *slots;     /* Entry[capacity], or for a keyed map the values alone */
        uint64_t *used;  /* capacity bits, right after the slots */
        size_t capacity; /* 0 or a power of two */
        size_t size;
        bool str_keys;
        /* Keyed maps: the key is the value's own (a pool's path, a socket's inode), so a
         * slot holds the value only: 8 bytes instead of 16, for the host model's tables
         * of thousands of pools and sockets. */
        const char *(*key_str)(const void *value);
        uint64_t (*key_u64)(const void *value);
};

#define INITIAL_CAPACITY 16u

static Hashmap *hashmap_new(bool str_keys) {
        Hashmap *h = calloc(1, sizeof(Hashmap));
        if (h)
                h->str_keys = str_keys;
        return h;
}

Hashmap *hashmap_new_u64(void) {
        return hashmap_new(false);
}

Hashmap *hashmap_new_str(void) {
        return hashmap_new(true);
}

Hashmap *hashmap_new_u64_keyed(uint64_t (*key_of)(const void *value)) {
        Hashmap *h = hashmap_new(false);
        if (h)
                h->key_u64 = key_of;
        return h;
}

Hashmap *hashmap_new_str_keyed(const char *(*key_of)(const void *value)) {
        Hashmap *h = hashmap_new(true);
        if (h)
                h->key_str = key_of;
        return h;
}

Hashmap *hashmap_free(Hashmap *h) {
        if (h) {
                free(h->slots); /* and the bitmap */
                free(h);
        }
        return NULL;
}

static bool bit_set(const uint64_t *bits, size_t i) {
        return (bits[i / 64] >> (i % 64)) & 1;
}

static bool slot_used(const Hashmap *h, size_t i) {
        return bit_set(h->used, i);
}

static void slot_mark(Hashmap *h, size_t i, bool used) {
        if (used)
                h->used[i / 64] |= UINT64_C(1) << (i % 64);
        else
                h->used[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static bool keyed(const Hashmap *h) {
        return h->key_str || h->key_u64;
}

static size_t slot_size(const Hashmap *h) {
        return keyed(h) ? sizeof(void *) : sizeof(Entry);
}

static Entry slot_entry(const Hashmap *h, size_t i) {
        if (!keyed(h))
                return ((const Entry *) h->slots)[i];
        void *value = ((void *const *) h->slots)[i];
        Entry e = { .value = value };
        if (h->key_str)
                e.key.str = h->key_str(value);
        else
                e.key.u64 = h->key_u64(value);
        return e;
}

static void slot_store(Hashmap *h, size_t i, const Entry *e) {
        if (keyed(h))
                ((void **) h->slots)[i] = e->value;
        else
                ((Entry *) h->slots)[i] = *e;
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->size : 0;
}

/* Keys such as inode numbers and pids are dense and sequential; the splitmix64
 * finaliser spreads them over the low bits the mask keeps. */
static uint64_t hash_u64(uint64_t x) {
        x ^= x >> 30;
        x *= UINT64_C(0xbf58476d1ce4e5b9);
        x ^= x >> 27;
        x *= UINT64_C(0x94d049bb133111eb);
        x ^= x >> 31;
        return x;
}

/* Keys are paths of 30-60 bytes looked up several times per socket in a sweep: take
 * them 8 bytes at a time (byte-wise FNV-1a was 5% of a sweep's CPU), then the u64
 * finaliser spreads the bits. Stored keys come from root-owned configs, not callers. */
static uint64_t hash_str(const char *s) {
        size_t n = strlen(s);
        uint64_t x = UINT64_C(0x9e3779b97f4a7c15) ^ n, w;

        for (; n >= 8; s += 8, n -= 8) {
                memcpy(&w, s, 8);
                x = (x ^ w) * UINT64_C(0xff51afd7ed558ccd);
                x ^= x >> 32;
        }
        if (n > 0) {
                w = 0;
                memcpy(&w, s, n);
                x = (x ^ w) * UINT64_C(0xff51afd7ed558ccd);
        }
        return hash_u64(x);
}

static uint64_t entry_hash(const Hashmap *h, const Entry *e) {
        return h->str_keys ? hash_str(e->key.str) : hash_u64(e->key.u64);
}

static bool key_equal(const Hashmap *h, const Entry *e, const Entry *probe) {
        return h->str_keys ? strcmp(e->key.str, probe->key.str) == 0 : e->key.u64 == probe->key.u64;
}

/* Returns the slot holding the key, or the empty slot where it belongs. The load
 * limit guarantees an empty slot exists. */
static size_t find_slot(const Hashmap *h, const Entry *probe) {
        size_t mask = h->capacity - 1;
        for (size_t i = entry_hash(h, probe) & mask;; i = (i + 1) & mask) {
                if (!slot_used(h, i))
                        return i;
                Entry e = slot_entry(h, i);
                if (key_equal(h, &e, probe))
                        return i;
        }
}

static int hashmap_resize(Hashmap *h, size_t capacity) {
        Hashmap old = *h;
        size_t words = (capacity + 63) / 64;

        char *slots = calloc(1, capacity * slot_size(h) + words * sizeof(uint64_t));
        if (!slots)
                return -ENOMEM;
        h->slots = slots;
        h->used = (uint64_t *) (void *) (slots + capacity * slot_size(h));
        h->capacity = capacity;
        for (size_t i = 0; i < old.capacity; i++)
                if (slot_used(&old, i)) {
                        Entry e = slot_entry(&old, i);
                        size_t j = find_slot(h, &e);
                        slot_store(h, j, &e);
                        slot_mark(h, j, true);
                }
        free(old.slots);
        return 0;
}

static int hashmap_put(Hashmap *h, const Entry *probe) {
        /* Grow before inserting so the table never exceeds 70% load. */
        if ((h->size + 1) * 10 > h->capacity * 7) {
                if (h->capacity > SIZE_MAX / 4 / slot_size(h))
                        return -ENOMEM;
                int r = hashmap_resize(h, h->capacity ? h->capacity * 2 : INITIAL_CAPACITY);
                if (r < 0)
                        return r;
        }

        size_t i = find_slot(h, probe);
        if (!slot_used(h, i)) {
                h->size++;
                slot_mark(h, i, true);
        }
        slot_store(h, i, probe);
        return 0;
}

static void *hashmap_get(const Hashmap *h, const Entry *probe) {
        if (!h || h->size == 0)
                return NULL;
        size_t i = find_slot(h, probe);
        return slot_used(h, i) ? slot_entry(h, i).value : NULL;
}

int hashmap_put_u64(Hashmap *h, uint64_t key, void *value) {
        return hashmap_put(h, &(Entry) { .key.u64 = key, .value = value });
}

void *hashmap_get_u64(const Hashmap *h, uint64_t key) {
        return hashmap_get(h, &(Entry) { .key.u64 = key });
}

int hashmap_put_str(Hashmap *h, const char *key, void *value) {
        return hashmap_put(h, &(Entry) { .key.str = key, .value = value });
}

void *hashmap_get_str(const Hashmap *h, const char *key) {
        return hashmap_get(h, &(Entry) { .key.str = key });
}

/* Backward-shift deletion: every entry after the hole that may sit there (its home
 * slot is not between the hole and itself) moves back, so probes never stop early. */
static void *hashmap_remove(Hashmap *h, const Entry *probe) {
        if (!h || h->size == 0)
                return NULL;
        size_t hole = find_slot(h, probe), mask = h->capacity - 1;
        if (!slot_used(h, hole))
                return NULL;
        void *value = slot_entry(h, hole).value;
        for (size_t i = (hole + 1) & mask; slot_used(h, i); i = (i + 1) & mask) {
                Entry e = slot_entry(h, i);
                size_t home = entry_hash(h, &e) & mask;
                /* Distance from home to i versus from hole to i, cyclically. */
                if (((i - home) & mask) >= ((i - hole) & mask)) {
                        slot_store(h, hole, &e);
                        hole = i;
                }
        }
        slot_store(h, hole, &(Entry) {});
        slot_mark(h, hole, false);
        h->size--;
        return value;
}

void *hashmap_remove_u64(Hashmap *h, uint64_t key) {
        return hashmap_remove(h, &(Entry) { .key.u64 = key });
}

void *hashmap_remove_str(Hashmap *h, const char *key) {
        return hashmap_remove(h, &(Entry) { .key.str = key });
}
